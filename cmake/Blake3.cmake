# Builds the BLAKE3 reference C implementation from the sources Debian's
# librust-blake3-dev installs (dpkg -L librust-blake3-dev), with its runtime
# SIMD dispatch. Nothing is copied into this repository.
set(MITHRIL_BLAKE3_DIR "" CACHE PATH "Directory holding blake3.c (BLAKE3's c/ folder)")
if(NOT MITHRIL_BLAKE3_DIR)
  file(GLOB _blake3_candidates "/usr/share/cargo/registry/blake3-*/c/blake3.c")
  list(SORT _blake3_candidates)
  list(REVERSE _blake3_candidates)
  list(GET _blake3_candidates 0 _blake3_c)
  if(NOT _blake3_c)
    message(FATAL_ERROR "BLAKE3 C sources not found: apt-get install librust-blake3-dev "
                        "or set -DMITHRIL_BLAKE3_DIR=<path to BLAKE3/c>")
  endif()
  get_filename_component(MITHRIL_BLAKE3_DIR "${_blake3_c}" DIRECTORY)
endif()
message(STATUS "BLAKE3 sources: ${MITHRIL_BLAKE3_DIR}")

set(_b3 "${MITHRIL_BLAKE3_DIR}")
set(_b3_sources "${_b3}/blake3.c" "${_b3}/blake3_dispatch.c" "${_b3}/blake3_portable.c")
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  enable_language(ASM)
  list(APPEND _b3_sources
       "${_b3}/blake3_sse2_x86-64_unix.S" "${_b3}/blake3_sse41_x86-64_unix.S"
       "${_b3}/blake3_avx2_x86-64_unix.S" "${_b3}/blake3_avx512_x86-64_unix.S")
  set(_b3_defs "")
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  list(APPEND _b3_sources "${_b3}/blake3_neon.c")
  set(_b3_defs BLAKE3_USE_NEON=1)
else()
  set(_b3_defs BLAKE3_NO_SSE2 BLAKE3_NO_SSE41 BLAKE3_NO_AVX2 BLAKE3_NO_AVX512)
endif()

add_library(mithril_blake3 OBJECT ${_b3_sources})
target_include_directories(mithril_blake3 SYSTEM PUBLIC "${_b3}")
target_compile_definitions(mithril_blake3 PRIVATE ${_b3_defs})
set_target_properties(mithril_blake3 PROPERTIES POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)
