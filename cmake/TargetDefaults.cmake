# Flags every quantnoise target gets: warnings, optional -Werror, CPU tuning.
function(qn_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wno-unknown-pragmas
                                           $<$<BOOL:${QN_WERROR}>:-Werror>)
  # GCC 12's libstdc++ trips its own -Wrestrict/-Warray-bounds inside std::string and vector::insert
  # (GCC bugs 105329, 107852); fixed in GCC 13. Off for GCC 12 only.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-restrict -Wno-array-bounds -Wno-stringop-overread)
  endif()
  if(QN_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  # No errno from math functions, so loops over exp/sqrt vectorize; IEEE semantics are otherwise kept.
  target_compile_options(${target} PRIVATE -fno-math-errno)
endfunction()

# qn_add_library(name SOURCES ... DEPS ...): one static library per folder.
function(qn_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  qn_target_defaults(${name})
endfunction()
