# Finds HDF5's C library (1.10 or newer) and defines the imported target hdf5::hdf5, the name
# CMake's FindHDF5 gives it. Used by kerosene's own build and by its installed package
# (keroseneConfig.cmake, for a static libkerosene). Not FindHDF5 itself: its compiler-wrapper probe
# try_compiles a C file, so it fails in a consumer project declared with LANGUAGES CXX, and a
# C++ program that uses kerosene must not need a C compiler.
# Sets kerosene_HDF5_FOUND, kerosene_HDF5_LIBRARY, kerosene_HDF5_VERSION and, when not found,
# kerosene_HDF5_REASON.
set(kerosene_HDF5_FOUND FALSE)
if(TARGET hdf5::hdf5)
  set(kerosene_HDF5_FOUND TRUE)
  return()
endif()

# Debian and Ubuntu keep the serial library in hdf5/serial; other systems in the usual places.
find_path(kerosene_HDF5_INCLUDE_DIR NAMES hdf5.h PATH_SUFFIXES hdf5/serial hdf5)
find_library(kerosene_HDF5_LIBRARY NAMES hdf5_serial hdf5 PATH_SUFFIXES hdf5/serial)
mark_as_advanced(kerosene_HDF5_INCLUDE_DIR kerosene_HDF5_LIBRARY)
if(NOT kerosene_HDF5_INCLUDE_DIR OR NOT kerosene_HDF5_LIBRARY)
  set(kerosene_HDF5_REASON "HDF5's C library was not found (hdf5.h: ${kerosene_HDF5_INCLUDE_DIR}, "
      "libhdf5: ${kerosene_HDF5_LIBRARY}); on Debian: apt install libhdf5-dev")
  return()
endif()

file(STRINGS "${kerosene_HDF5_INCLUDE_DIR}/H5public.h" _kerosene_h5_version
     REGEX "^#define H5_VERS_(MAJOR|MINOR|RELEASE)[ \t]+[0-9]+")
set(kerosene_HDF5_VERSION "")
foreach(_part MAJOR MINOR RELEASE)
  string(REGEX MATCH "H5_VERS_${_part}[ \t]+([0-9]+)" _match "${_kerosene_h5_version}")
  list(APPEND kerosene_HDF5_VERSION "${CMAKE_MATCH_1}")
endforeach()
string(REPLACE ";" "." kerosene_HDF5_VERSION "${kerosene_HDF5_VERSION}")
unset(_kerosene_h5_version)
unset(_match)
unset(_part)
if(kerosene_HDF5_VERSION VERSION_LESS 1.10)
  set(kerosene_HDF5_REASON "HDF5 ${kerosene_HDF5_VERSION} in ${kerosene_HDF5_LIBRARY} is too old: "
      "kerosene needs 1.10 or newer")
  return()
endif()

add_library(hdf5::hdf5 UNKNOWN IMPORTED)
set_target_properties(hdf5::hdf5 PROPERTIES
  IMPORTED_LOCATION "${kerosene_HDF5_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${kerosene_HDF5_INCLUDE_DIR}")
set(kerosene_HDF5_FOUND TRUE)
