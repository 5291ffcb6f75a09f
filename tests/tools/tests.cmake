# The gdb helper (tools/braid-gdb.py): `braid coroutines` run by gdb in batch mode against
# park_three, a program that parks three named coroutines (and one on a second thread).
# gdb_coroutines_test.py attaches to the live process in every build, and reads a core
# file too except under AddressSanitizer (which maps terabytes of shadow memory and
# disables core dumps). Without gdb, or in a build without debug info, the test is
# skipped (exit code 77), not failed.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_executable(park_three ${CMAKE_CURRENT_SOURCE_DIR}/tools/park_three.cpp)
  target_link_libraries(park_three PRIVATE braid::coro braid_build_flags)
  set(gdb_core_mode core)
  string(TOUPPER "${CMAKE_BUILD_TYPE}" gdb_build_type)
  if(NOT "${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${gdb_build_type}}" MATCHES "(^| )-g")
    set(gdb_core_mode no-debug-info)  # Release, MinSizeRel: gdb could not name the types
  elseif("address" IN_LIST BRAID_SANITIZE)
    set(gdb_core_mode no-core)
  endif()
  add_test(NAME tools.gdb_coroutines
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/tools/gdb_coroutines_test.py
                   $<TARGET_FILE:park_three> ${PROJECT_SOURCE_DIR}/tools/braid-gdb.py
                   ${gdb_core_mode})
  set_tests_properties(tools.gdb_coroutines PROPERTIES TIMEOUT 120 SKIP_RETURN_CODE 77
                       LABELS tools)
endif()
