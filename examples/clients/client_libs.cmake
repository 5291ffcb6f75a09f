# The C client libraries of examples/clients and tests/clients, found with pkg-config
# (Debian: libcurl4-openssl-dev, libhiredis-dev, libpq-dev). Each found one becomes a
# global imported target; a missing one leaves its target undefined, and the examples and
# tests that need it are skipped with a configure-time message, not failed.
# Included from examples/clients/CMakeLists.txt and tests/clients/tests.cmake.
include_guard(GLOBAL)

find_package(PkgConfig QUIET)
foreach(lib libcurl hiredis libpq)
  string(TOUPPER "BRAID_CLIENT_${lib}" var)
  if(PkgConfig_FOUND)
    pkg_check_modules(${var} QUIET IMPORTED_TARGET GLOBAL ${lib})
  endif()
  if(NOT ${var}_FOUND)
    message(STATUS "braid clients: ${lib} not found with pkg-config: its examples and tests are skipped")
  endif()
endforeach()
