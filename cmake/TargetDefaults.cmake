# Flags every quantnoise target gets: warnings, optional -Werror, CPU tuning.
function(qn_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wno-unknown-pragmas
                                           $<$<BOOL:${QN_WERROR}>:-Werror>)
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
