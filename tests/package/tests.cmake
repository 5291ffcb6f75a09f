# Installs this build into a scratch prefix and builds examples/consumer against it with
# find_package(braid CONFIG). Skipped for sanitized builds, which are never installed.
if(BRAID_INSTALL AND NOT BRAID_SANITIZE)
  set(pkg_prefix ${CMAKE_CURRENT_BINARY_DIR}/package-prefix)
  add_test(NAME package.install
           COMMAND ${CMAKE_COMMAND} --install ${PROJECT_BINARY_DIR} --prefix ${pkg_prefix})
  add_test(NAME package.find_package_consumer
           COMMAND ${CMAKE_CTEST_COMMAND}
                   --build-and-test ${PROJECT_SOURCE_DIR}/examples/consumer
                                    ${CMAKE_CURRENT_BINARY_DIR}/consumer-build
                   --build-generator ${CMAKE_GENERATOR}
                   --build-options -DCMAKE_PREFIX_PATH=${pkg_prefix}
                                   -DCMAKE_CXX_COMPILER=${CMAKE_CXX_COMPILER}
                                   -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
                   --test-command consumer)
  set_tests_properties(package.install PROPERTIES FIXTURES_SETUP braid_package)
  set_tests_properties(package.find_package_consumer PROPERTIES
                       FIXTURES_REQUIRED braid_package TIMEOUT 600
                       PASS_REGULAR_EXPRESSION "braid [0-9.]+: 42")
endif()
