# `cmake --install` of the C++ library: libmithril.a and libmithril.so in
# lib/, the public headers in include/mithril/, the CMake package
# (lib/cmake/mithril/: mithril::mithril is the shared library,
# mithril::mithril_static the static one) and lib/pkgconfig/mithril.pc.
# The package is relocatable: install it with --prefix anywhere.
include(CMakePackageConfigHelpers)

set(MITHRIL_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/mithril")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/mithril" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.h")
install(FILES "${PROJECT_BINARY_DIR}/include/mithril/version.h"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/mithril")

# Two export sets: a consumer of the shared library needs none of the
# third-party development packages the static one links.
install(TARGETS mithril EXPORT mithrilStaticTargets ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(EXPORT mithrilStaticTargets NAMESPACE mithril:: DESTINATION "${MITHRIL_CMAKE_DIR}")
if(MITHRIL_BUILD_SHARED)
  install(TARGETS mithril_shared EXPORT mithrilSharedTargets
          LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  install(EXPORT mithrilSharedTargets NAMESPACE mithril:: DESTINATION "${MITHRIL_CMAKE_DIR}")
endif()

configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/mithrilConfig.cmake.in"
                              "${PROJECT_BINARY_DIR}/mithrilConfig.cmake" INSTALL_DESTINATION "${MITHRIL_CMAKE_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/mithrilConfigVersion.cmake"
                                 VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/mithrilConfig.cmake" "${PROJECT_BINARY_DIR}/mithrilConfigVersion.cmake"
        DESTINATION "${MITHRIL_CMAKE_DIR}")

# mithril.pc finds its prefix from its own location (${pcfiledir}).
file(RELATIVE_PATH MITHRIL_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" MITHRIL_PC_TO_PREFIX "${MITHRIL_PC_TO_PREFIX}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/mithril.pc.in" "${PROJECT_BINARY_DIR}/mithril.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/mithril.pc" DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
