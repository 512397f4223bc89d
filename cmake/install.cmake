# Install rules, the CMake package (kerosene::kerosene), kerosene.pc, and the Debian packages.
#   cmake --install build [--prefix /opt/kerosene]     cd build && cpack -G DEB
# A consumer writes two lines: find_package(kerosene REQUIRED) and
# target_link_libraries(app PRIVATE kerosene::kerosene). See README, "Use kerosene in your project".
include(CMakePackageConfigHelpers)

set(KEROSENE_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/kerosene")
get_target_property(KEROSENE_LIBRARY_TYPE kerosene TYPE)
if(KEROSENE_LIBRARY_TYPE STREQUAL "SHARED_LIBRARY")
  set(KEROSENE_SHARED 1)
else()
  set(KEROSENE_SHARED 0)
endif()

# Components: "runtime" (the tool, libkerosene.so.N, the CUDA plugin) and "dev" (headers, the
# static library or the .so link, the CMake package, kerosene.pc).
install(TARGETS kerosene EXPORT keroseneTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(DIRECTORY include/kerosene DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)

if(TARGET kerosene_cli)
  if(KEROSENE_SHARED)
    # The tool finds libkerosene.so in <prefix>/<libdir> wherever the prefix is moved.
    file(RELATIVE_PATH bin_to_lib "/prefix/${CMAKE_INSTALL_BINDIR}" "/prefix/${CMAKE_INSTALL_LIBDIR}")
    set_target_properties(kerosene_cli PROPERTIES INSTALL_RPATH "$ORIGIN/${bin_to_lib}")
  endif()
  install(TARGETS kerosene_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

if(TARGET kerosene_cuda)
  # <libdir>/kerosene/libkerosene_cuda.so: where the loader looks relative to libkerosene.so and
  # to programs in <prefix>/bin (src/backends/cuda_plugin/plugin_loader.h).
  install(TARGETS kerosene_cuda LIBRARY DESTINATION ${KEROSENE_INSTALL_PLUGIN_DIR} COMPONENT cuda)
  set(KEROSENE_HAS_CUDA_PLUGIN 1)
else()
  set(KEROSENE_HAS_CUDA_PLUGIN 0)
endif()

install(EXPORT keroseneTargets NAMESPACE kerosene:: DESTINATION ${KEROSENE_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(cmake/keroseneConfig.cmake.in "${PROJECT_BINARY_DIR}/keroseneConfig.cmake"
  INSTALL_DESTINATION ${KEROSENE_CMAKE_DIR})
# 0.x: a minor version may change the API, so only the same minor version is compatible.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/keroseneConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/keroseneConfig.cmake" "${PROJECT_BINARY_DIR}/keroseneConfigVersion.cmake"
  cmake/kerosene_hdf5.cmake DESTINATION ${KEROSENE_CMAKE_DIR} COMPONENT dev)

# kerosene.pc, relocatable (prefix from ${pcfiledir}). A static libkerosene lists what it needs
# in Libs (a plain `pkg-config --libs kerosene` must link), a shared one in Libs.private.
file(RELATIVE_PATH pc_to_prefix "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" pc_to_prefix "${pc_to_prefix}")
set(KEROSENE_PC_PREFIX "\${pcfiledir}/${pc_to_prefix}")
get_target_property(dnnl_location DNNL::dnnl LOCATION)
get_filename_component(dnnl_dir "${dnnl_location}" DIRECTORY)
set(private_libs "")
if(NOT dnnl_dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
  list(APPEND private_libs "-L${dnnl_dir}")
endif()
list(APPEND private_libs -ldnnl ${OpenMP_CXX_FLAGS} -lz)
# HDF5's C library lives in a directory of its own on Debian (hdf5/serial).
get_filename_component(hdf5_dir "${kerosene_HDF5_LIBRARY}" DIRECTORY)
if(hdf5_dir AND NOT hdf5_dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
  list(APPEND private_libs "-L${hdf5_dir}")
endif()
# -l with the name of the file found (libhdf5_serial.so or libhdf5.so).
get_filename_component(hdf5_name "${kerosene_HDF5_LIBRARY}" NAME_WE)
string(REGEX REPLACE "^lib" "" hdf5_name "${hdf5_name}")
list(APPEND private_libs "-l${hdf5_name}")
foreach(zip_dir ${LIBZIP_LIBRARY_DIRS})
  if(NOT zip_dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
    list(APPEND private_libs "-L${zip_dir}")
  endif()
endforeach()
list(TRANSFORM LIBZIP_LIBRARIES PREPEND "-l" OUTPUT_VARIABLE zip_flags)
list(APPEND private_libs ${zip_flags})
if(KEROSENE_BUILT_WITH_MPI)
  list(APPEND private_libs ${MPI_CXX_LIBRARIES})
endif()
if(KEROSENE_BUILT_WITH_CURL)
  list(APPEND private_libs -lcurl)
endif()
list(APPEND private_libs -pthread ${CMAKE_DL_LIBS})
list(TRANSFORM private_libs REPLACE "^dl$" "-ldl")
list(JOIN private_libs " " private_libs)
if(KEROSENE_SHARED)
  set(KEROSENE_PC_LIBS "-L\${libdir} -lkerosene -pthread")
  set(KEROSENE_PC_LIBS_PRIVATE "${private_libs}")
else()
  set(KEROSENE_PC_LIBS "-L\${libdir} -lkerosene ${private_libs}")
  if(KEROSENE_HAS_CUDA_PLUGIN)
    # A static consumer's program finds the plugin through its RUNPATH wherever it is installed.
    string(APPEND KEROSENE_PC_LIBS " -Wl,-rpath,\${libdir}/kerosene")
  endif()
  set(KEROSENE_PC_LIBS_PRIVATE "")
endif()
configure_file(cmake/kerosene.pc.in "${PROJECT_BINARY_DIR}/kerosene.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/kerosene.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# Debian packages (cpack -G DEB): kerosene (the tool; libkerosene.so.N when shared),
# libkerosene-dev (headers, library, CMake package, kerosene.pc), and, where the plugin is built,
# kerosene-cuda (libkerosene_cuda.so, which needs NVIDIA's cuBLAS and cuDNN at run time).
set(CPACK_PACKAGE_NAME kerosene)
set(CPACK_PACKAGE_VENDOR "kerosene")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Keras-style deep learning in C++")
set(CPACK_PACKAGE_CONTACT "kerosene developers <kerosene@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME kerosene)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION science)
# dpkg-shlibdeps reads the tool's and library's NEEDED entries: libdnnl2, libgomp1, zlib1g,
# libhdf5-103-1, libzip4, libopenmpi3 (when MPI is built), libstdc++6, libc6.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libkerosene-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(dev_depends "libdnnl-dev, zlib1g-dev, libhdf5-dev, libzip-dev")
if(KEROSENE_BUILT_WITH_MPI)
  string(APPEND dev_depends ", libopenmpi-dev")
endif()
if(KEROSENE_BUILT_WITH_CURL)
  string(APPEND dev_depends ", libcurl4-openssl-dev | libcurl-dev")
endif()
if(KEROSENE_SHARED)
  set(dev_depends "kerosene (= ${PROJECT_VERSION}), ${dev_depends}")
endif()
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "${dev_depends}")
set(CPACK_DEBIAN_DEV_PACKAGE_RECOMMENDS "cmake, pkg-config, g++")
set(CPACK_COMPONENT_RUNTIME_DESCRIPTION "Keras-style deep learning in C++: the kerosene tool")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "Keras-style deep learning in C++: headers, library, CMake package (find_package(kerosene)) and kerosene.pc")
if(KEROSENE_HAS_CUDA_PLUGIN)
  list(APPEND CPACK_COMPONENTS_ALL cuda)
  set(CPACK_DEBIAN_CUDA_PACKAGE_NAME kerosene-cuda)
  set(CPACK_DEBIAN_CUDA_PACKAGE_SECTION science)
  # Its cuBLAS/cuDNN come from NVIDIA's repositories, not Debian's: no shlibdeps.
  set(CPACK_DEBIAN_CUDA_PACKAGE_SHLIBDEPS OFF)
  set(CPACK_COMPONENT_CUDA_DESCRIPTION
      "kerosene's CUDA plugin (libkerosene_cuda.so); needs NVIDIA's driver, cuBLAS and cuDNN ${KEROSENE_BUILD_CUDNN_VERSION}")
endif()
include(CPack)
