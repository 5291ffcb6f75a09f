# The benchmark drivers' shared noise gate (benchmarks/common/noise.py): unit tests on
# synthetic /proc samples. With the benchmarks built, one smoke test per driver runs it in
# --quick mode (a few seconds each) and checks that it reports the machine state and its
# rejected windows. Included from tests/CMakeLists.txt (CMAKE_CURRENT_SOURCE_DIR is tests/).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_FOUND)
  add_test(NAME benchmarks.noise_gate
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/benchmarks/noise_test.py)
  set_tests_properties(benchmarks.noise_gate PROPERTIES TIMEOUT 60 LABELS benchmarks)
  if(BRAID_BUILD_BENCHMARKS AND TARGET braid_net AND TARGET braid_process)
    foreach(driver sync_async echo fairness pool process subprocess coro diagnostics)
      add_test(NAME benchmarks.smoke_${driver}
               COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/benchmarks/driver_smoke.py
                       ${driver} ${PROJECT_BINARY_DIR})
      set_tests_properties(benchmarks.smoke_${driver} PROPERTIES TIMEOUT 120 LABELS benchmarks)
    endforeach()
  endif()
endif()
