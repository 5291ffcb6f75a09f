# Real client libraries against real servers (docs/guide-clients.md): the adapters of
# examples/clients (braid_pg.hpp, braid_redis.hpp) tested in-process, and the example
# programs (the hooked blocking APIs and their controls) run as child processes. Each test
# starts the server it needs (redis-server, PostgreSQL's initdb + postgres, an HTTP page
# server) on a free loopback port and stops it at the end: see redis_server.hpp and
# postgres_server.hpp. A test file whose client library is missing is left out.
# Included from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
include(${PROJECT_SOURCE_DIR}/examples/clients/client_libs.cmake)

if(TARGET braid_net AND TARGET braid_process)
  set(clients_dir ${CMAKE_CURRENT_SOURCE_DIR}/clients)
  set(clients_sources "")
  set(clients_libs "")
  foreach(pair "pg;LIBPQ" "redis;HIREDIS" "curl;LIBCURL")
    list(GET pair 0 prefix)
    list(GET pair 1 lib)
    if(TARGET PkgConfig::BRAID_CLIENT_${lib})
      file(GLOB found CONFIGURE_DEPENDS ${clients_dir}/${prefix}_*_test.cpp)
      if(NOT BRAID_BUILD_EXAMPLES)  # the *_examples_test.cpp run the example programs
        list(FILTER found EXCLUDE REGEX "_examples_test\\.cpp$")
      endif()
      list(APPEND clients_sources ${found})
      list(APPEND clients_libs PkgConfig::BRAID_CLIENT_${lib})
    endif()
  endforeach()
  if(clients_sources)
    add_executable(clients_tests ${clients_sources})
    target_link_libraries(clients_tests PRIVATE braid_test_main braid::braid ${clients_libs}
                                                braid_build_flags)
    target_include_directories(clients_tests PRIVATE ${PROJECT_SOURCE_DIR}/examples/clients
                                                     ${PROJECT_SOURCE_DIR}/tests/seeds)
    target_compile_definitions(clients_tests PRIVATE
      BRAID_EXAMPLES_DIR="${PROJECT_BINARY_DIR}/examples"
      BRAID_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    catch_discover_tests(clients_tests TEST_PREFIX "clients." PROPERTIES TIMEOUT 120)
    if(BRAID_BUILD_EXAMPLES)
      add_dependencies(clients_tests braid_examples)
    endif()
  endif()
endif()
