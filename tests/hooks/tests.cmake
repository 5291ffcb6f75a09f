# braid_hooks: the hooks linked into the test binary, a plain-C blocking client in a shared
# library (calls from a library a program loads must be interposed too), and a small
# program run with LD_PRELOAD=libbraid_hooks_preload.so.
if(TARGET braid_hooks AND TARGET braid_net)
  add_library(braid_hooks_test_clib SHARED ${CMAKE_CURRENT_LIST_DIR}/blocking_client.c)
  target_link_libraries(braid_hooks_test_clib PRIVATE braid_build_flags)
  target_include_directories(braid_hooks_test_clib PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  braid_add_test_dir(hooks braid::hooks braid::net braid_hooks_test_clib)

  add_executable(hooks_preload_probe ${CMAKE_CURRENT_LIST_DIR}/preload_probe.cpp)
  target_link_libraries(hooks_preload_probe PRIVATE braid::coro braid_hooks_test_clib
                                                    braid_build_flags)
  add_dependencies(hooks_tests hooks_preload_probe braid_hooks_preload)
  target_compile_definitions(hooks_tests PRIVATE
    BRAID_HOOKS_PRELOAD="$<TARGET_FILE:braid_hooks_preload>"
    BRAID_HOOKS_PROBE="$<TARGET_FILE:hooks_preload_probe>")
endif()
