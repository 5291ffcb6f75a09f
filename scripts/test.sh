#!/usr/bin/env bash
# Sets up a Debian 12 machine (missing packages only), then builds and runs braid's whole
# test suite once per reactor and build flavour:
#   asan     AddressSanitizer + UBSan, epoll
#   select   Asio's select reactor (BOOST_ASIO_DISABLE_EPOLL)
#   uring    Asio's io_uring backend, where the kernel allows io_uring (skipped otherwise)
#   release  optimised, epoll
# Ends with ctest's summary of the last preset, after one line with the others' results. Exit status: 0 only if every run passes.
#   BRAID_TEST_PRESETS="release"   run a subset of the presets
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "test.sh: setting up the build dependencies failed" >&2; exit 1; }

# io_uring_setup(2) is syscall 425 on every Linux architecture; containers and hardened
# kernels (kernel.io_uring_disabled) may refuse it.
io_uring_refused() {
  python3 - <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 4, params)
if fd < 0:
    print(os.strerror(ctypes.get_errno()))
    sys.exit(0)
os.close(fd)
sys.exit(1)
PY
}

presets=${BRAID_TEST_PRESETS:-"asan select uring release"}
status=0
results=()
for preset in $presets; do
  if [[ $preset == uring ]] && why=$(io_uring_refused); then
    echo "=== braid: skipping the 'uring' preset: this kernel refuses io_uring_setup ($why)"
    results+=("uring: skipped ($why)")
    continue
  fi
  echo "=== braid: building the '$preset' preset"
  if ! cmake --preset "$preset" >/dev/null || ! cmake --build --preset "$preset"; then
    echo "test.sh: the '$preset' build failed" >&2
    results+=("$preset: build failed")
    status=1
    continue
  fi
  if [[ $preset == "${presets##* }" && ${#results[@]} -gt 0 ]]; then
    (IFS=";"; echo "=== braid: the presets before this one: ${results[*]}")
  fi
  echo "=== braid: testing the '$preset' preset"
  if ctest --preset "$preset"; then results+=("$preset: passed"); else results+=("$preset: FAILED"); status=1; fi
done
exit $status
