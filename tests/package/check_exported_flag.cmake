# cmake -DFLAG=<flag> -DPC=<installed braid.pc> -DCOMPILE_COMMANDS=<consumer's json>
#       -DSOURCE=<consumer source file name> -P check_exported_flag.cmake
# Fails unless braid.pc's Cflags and the consumer's compile command both carry FLAG: what
# a user gets from pkg-config and from find_package(braid) + braid::braid.
foreach(v FLAG PC COMPILE_COMMANDS SOURCE)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_exported_flag: -D${v}=... is required")
  endif()
endforeach()

# Fails with `what` unless `text` is set and contains FLAG.
function(require_flag text what)
  if(text STREQUAL "")
    message(FATAL_ERROR "${what}: not found")
  endif()
  string(FIND "${text}" "${FLAG}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${what} lacks ${FLAG}: ${text}")
  endif()
  message(STATUS "${FLAG} found in ${what}")
endfunction()

file(STRINGS ${PC} cflags REGEX "^Cflags:")
require_flag("${cflags}" "the Cflags line of ${PC}")

file(READ ${COMPILE_COMMANDS} json)
string(JSON count LENGTH "${json}")
set(command "")
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON file GET "${json}" ${i} file)
  if(file MATCHES "/${SOURCE}$")
    string(JSON command GET "${json}" ${i} command)
  endif()
endforeach()
require_flag("${command}" "the compile command of ${SOURCE} in ${COMPILE_COMMANDS}")
