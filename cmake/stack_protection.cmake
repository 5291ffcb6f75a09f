# braid_stack_flags (exported as braid::stack_flags): -fstack-clash-protection for braid
# itself and for every target that links a braid module.
#
# Why consumers need it: each coroutine stack has a guard region under it, and an overflow
# is reported only if the first access past the stack lands in that guard. A function whose
# frame is larger than the guard (a 200 KiB local array on a 128 KiB stack) moves the stack
# pointer straight over it and writes into the neighbouring coroutine's stack: silent
# corruption. With -fstack-clash-protection the compiler touches every page of a frame
# larger than its probe interval, top down, so the first access past the stack is always
# inside the guard (see guard_size() in runtime/src/stack_pool.cpp for the sizes it
# assumes). The large frames are in the user's code, hence the INTERFACE option.
#
# The flag is probed per language with the compilers braid is built with (GCC >= 8 and
# Clang >= 11 on x86-64, GCC >= 9 on AArch64; a Clang that cannot probe for the target
# warns "argument unused", which the probe counts as a failure). If a compiler lacks it,
# the option is not exported and configuration says so.
include(CheckCompilerFlag)

option(BRAID_STACK_CLASH_PROTECTION
       "Compile braid and its consumers with -fstack-clash-protection (big frames hit the guard)" ON)

add_library(braid_stack_flags INTERFACE)
set_target_properties(braid_stack_flags PROPERTIES EXPORT_NAME stack_flags)
set(BRAID_STACK_CLASH_FLAG "")  # what braid.pc adds to Cflags
if(BRAID_STACK_CLASH_PROTECTION)
  foreach(lang CXX C)
    check_compiler_flag(${lang} -fstack-clash-protection BRAID_${lang}_HAS_STACK_CLASH_PROTECTION)
    if(BRAID_${lang}_HAS_STACK_CLASH_PROTECTION)
      target_compile_options(braid_stack_flags INTERFACE
                             $<$<COMPILE_LANGUAGE:${lang}>:-fstack-clash-protection>)
    else()
      message(WARNING "The ${lang} compiler (${CMAKE_${lang}_COMPILER_ID} "
                      "${CMAKE_${lang}_COMPILER_VERSION}) does not support "
                      "-fstack-clash-protection: a stack frame larger than the guard "
                      "under a coroutine stack can overwrite another coroutine's stack "
                      "without being reported.")
    endif()
  endforeach()
  if(BRAID_CXX_HAS_STACK_CLASH_PROTECTION)
    set(BRAID_STACK_CLASH_FLAG " -fstack-clash-protection")
  endif()
endif()
