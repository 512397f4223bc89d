# Every ```cpp block of README.md becomes a program that the build compiles and ctest runs
# (tests/readme/run_snippet.sh), so no snippet in the README can go stale. A block with its own
# main() is used as it is; any other is wrapped in one, after the includes and the `ks` alias
# the README's first example introduces.
file(READ "${CMAKE_SOURCE_DIR}/README.md" readme)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${CMAKE_SOURCE_DIR}/README.md")
# CMake lists are ';'-separated: hide the code's semicolons while the blocks are split out.
string(REPLACE ";" "@KS_SEMICOLON@" readme "${readme}")
# Cut at every fence: the pieces alternate between prose and the inside of a block, and a
# block's inside starts with its language.
string(REPLACE "```" ";" pieces "${readme}")
string(REGEX MATCHALL "```cpp\n" openings "${readme}")
list(LENGTH openings expected)
set(index 0)
set(inside FALSE)
foreach(piece IN LISTS pieces)
  if(inside)
    set(inside FALSE)
  else()
    set(inside TRUE)
    continue()
  endif()
  if(NOT piece MATCHES "^cpp\n")
    continue()
  endif()
  math(EXPR index "${index} + 1")
  string(REGEX REPLACE "^cpp\n" "" code "${piece}")
  string(REPLACE "@KS_SEMICOLON@" ";" code "${code}")
  if(NOT code MATCHES "int main\\(")
    set(code "// README.md snippet ${index}, wrapped in main() by cmake/readme_snippets.cmake.
#include <kerosene/kerosene.h>

#include <fstream>
#include <iostream>
#include <optional>
namespace ks = kerosene;

int main() {
${code}}
")
  endif()
  set(source "${CMAKE_BINARY_DIR}/readme_snippets/snippet_${index}.cpp")
  file(CONFIGURE OUTPUT "${source}" CONTENT "${code}" @ONLY)
  add_executable(readme_snippet_${index} "${source}")
  target_link_libraries(readme_snippet_${index} PRIVATE kerosene)
  add_test(NAME readme.snippet_${index}
           COMMAND sh "${CMAKE_SOURCE_DIR}/tests/readme/run_snippet.sh" $<TARGET_FILE:readme_snippet_${index}>)
  set_tests_properties(readme.snippet_${index} PROPERTIES TIMEOUT 300)
endforeach()
if(index EQUAL 0 OR NOT index EQUAL expected)
  message(FATAL_ERROR "cmake/readme_snippets.cmake found ${index} of the ${expected} ```cpp blocks in README.md")
endif()
