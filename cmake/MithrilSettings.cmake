# Project-wide policy as INTERFACE targets, linked PRIVATE by our own code
# only (never by third-party code such as BLAKE3).
add_library(mithril_warnings INTERFACE)
target_compile_options(mithril_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wformat=2)
if(MITHRIL_WERROR)
  target_compile_options(mithril_warnings INTERFACE -Werror)
endif()

add_library(mithril_settings INTERFACE)
if(MITHRIL_SANITIZE)
  target_compile_options(mithril_settings INTERFACE -fsanitize=${MITHRIL_SANITIZE} -fno-omit-frame-pointer
                                                    -fno-sanitize-recover=all)
  target_link_options(mithril_settings INTERFACE -fsanitize=${MITHRIL_SANITIZE})
endif()

# Coverage instrumentation for libFuzzer (tests/fuzz); needs clang.
if(MITHRIL_FUZZ)
  target_compile_options(mithril_settings INTERFACE -fsanitize=fuzzer-no-link)
endif()
