# Included from tests/CMakeLists.txt after the per-module test binaries exist. The process
# tests use braid::net::select on Process::sentinel() descriptors: link braid::net too.
if(TARGET process_tests AND TARGET braid_net)
  target_link_libraries(process_tests PRIVATE braid::net)
endif()

# exit_scenarios: a program that leaves a braid object alive past main; exit_static_test.cpp
# runs it and checks that it exits cleanly.
if(TARGET process_tests AND TARGET braid_net)
  add_executable(exit_scenarios ${CMAKE_CURRENT_SOURCE_DIR}/process/exit_scenarios.cpp)
  target_link_libraries(exit_scenarios PRIVATE braid::process braid::net braid_build_flags)
  add_dependencies(process_tests exit_scenarios)
  target_compile_definitions(process_tests PRIVATE
    BRAID_EXIT_SCENARIOS="$<TARGET_FILE:exit_scenarios>")
endif()
