# Installs headers, libraries, the CMake package (find_package(braid CONFIG) -> braid::braid)
# and a pkg-config file. Never install a sanitized build: consumers could not link it.
include(CMakePackageConfigHelpers)
set(braid_cfgdir ${CMAKE_INSTALL_LIBDIR}/cmake/braid)
set(braid_install_targets braid_abi_flags braid_stack_flags braid_braid)
set(braid_install_includes "")
foreach(m ${braid_modules})
  list(APPEND braid_install_targets braid_${m})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${m}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
# braid_hooks (opt-in): the OBJECT library's objects travel with the package, so a
# consumer linking braid::hooks gets the definitions in its own executable; the preload
# library goes next to the others.
if(TARGET braid_hooks)
  list(APPEND braid_install_targets braid_hooks braid_hooks_preload)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/hooks/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endif()
install(TARGETS ${braid_install_targets} EXPORT braidTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        OBJECTS DESTINATION ${CMAKE_INSTALL_LIBDIR}/braid_objects)
install(DIRECTORY ${PROJECT_BINARY_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT braidTargets NAMESPACE braid:: DESTINATION ${braid_cfgdir})

set(braid_config_extra "")
if(TARGET braid_process)
  set(braid_config_extra "find_dependency(cereal)\n")
endif()
if(BRAID_IO_URING)
  string(APPEND braid_config_extra
         "find_dependency(PkgConfig)\npkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing)\n")
endif()
file(WRITE ${PROJECT_BINARY_DIR}/braidConfig.cmake
"include(CMakeFindDependencyMacro)
find_dependency(Boost 1.81 CONFIG COMPONENTS context stacktrace_backtrace)
find_dependency(fmt)
find_dependency(spdlog)
find_dependency(Threads)
find_dependency(OpenSSL)
${braid_config_extra}include(\${CMAKE_CURRENT_LIST_DIR}/braidTargets.cmake)
")
write_basic_package_version_file(${PROJECT_BINARY_DIR}/braidConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/braidConfig.cmake ${PROJECT_BINARY_DIR}/braidConfigVersion.cmake
        DESTINATION ${braid_cfgdir})

set(braid_pc_libs "")
list(REVERSE braid_modules)
foreach(m ${braid_modules})
  string(APPEND braid_pc_libs " -lbraid_${m}")
endforeach()
list(REVERSE braid_modules)
# The reactor choice changes Asio's ABI: consumers must compile with the same definitions.
set(braid_pc_requires "fmt spdlog openssl")  # openssl: braid_net's TlsStream
set(braid_pc_defines "")
if(BRAID_SELECT_REACTOR OR BRAID_IO_URING)
  string(APPEND braid_pc_defines " -DBOOST_ASIO_DISABLE_EPOLL=1")
endif()
if(BRAID_IO_URING)
  string(APPEND braid_pc_defines " -DBOOST_ASIO_HAS_IO_URING=1")
  string(APPEND braid_pc_requires " liburing")
endif()
# Big frames in the consumer's code must probe the guard under coroutine stacks too.
set(braid_pc_cflags "${BRAID_STACK_CLASH_FLAG}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/braid.pc.in ${PROJECT_BINARY_DIR}/braid.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/braid.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
