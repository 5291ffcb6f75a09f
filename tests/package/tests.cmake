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
                                   -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
                   --test-command consumer)
  set_tests_properties(package.install PROPERTIES FIXTURES_SETUP braid_package)
  set_tests_properties(package.find_package_consumer PROPERTIES
                       FIXTURES_REQUIRED braid_package FIXTURES_SETUP braid_consumer
                       TIMEOUT 600 PASS_REGULAR_EXPRESSION "braid [0-9.]+: 42")
  # A consumer's own code gets -fstack-clash-protection from the package and from
  # braid.pc: its big stack frames then hit the guard under a coroutine stack.
  if(BRAID_CXX_HAS_STACK_CLASH_PROTECTION)
    add_test(NAME package.exports_stack_clash_protection
             COMMAND ${CMAKE_COMMAND} -DFLAG=-fstack-clash-protection
                     -DPC=${pkg_prefix}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/braid.pc
                     -DCOMPILE_COMMANDS=${CMAKE_CURRENT_BINARY_DIR}/consumer-build/compile_commands.json
                     -DSOURCE=main.cpp
                     -P ${CMAKE_CURRENT_LIST_DIR}/check_exported_flag.cmake)
    set_tests_properties(package.exports_stack_clash_protection PROPERTIES
                         FIXTURES_REQUIRED "braid_package;braid_consumer")
    # The same check must fail for a flag nobody exported (it is not vacuous).
    add_test(NAME package.exported_flag_check_rejects_a_missing_flag
             COMMAND ${CMAKE_COMMAND} -DFLAG=-fbraid-no-such-flag
                     -DPC=${pkg_prefix}/${CMAKE_INSTALL_LIBDIR}/pkgconfig/braid.pc
                     -DCOMPILE_COMMANDS=${CMAKE_CURRENT_BINARY_DIR}/consumer-build/compile_commands.json
                     -DSOURCE=main.cpp
                     -P ${CMAKE_CURRENT_LIST_DIR}/check_exported_flag.cmake)
    set_tests_properties(package.exported_flag_check_rejects_a_missing_flag PROPERTIES
                         FIXTURES_REQUIRED "braid_package;braid_consumer"
                         # CMake wraps a long message: the flag may start a new line.
                         PASS_REGULAR_EXPRESSION "lacks[ \n]+-fbraid-no-such-flag")
  endif()
endif()
