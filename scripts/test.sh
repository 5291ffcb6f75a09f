#!/usr/bin/env bash
# Sets up a Debian 12 machine (missing packages only), then builds and runs braid's whole
# test suite twice: under AddressSanitizer + UBSan, then as an optimised release build.
# Ends with ctest's summary. Exit status: 0 only if both runs pass.
#   BRAID_TEST_PRESETS="release"   run a subset of the presets (asan release select)
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "test.sh: setting up the build dependencies failed" >&2; exit 1; }

presets=${BRAID_TEST_PRESETS:-"asan release"}
status=0
for preset in $presets; do
  echo "=== braid: building the '$preset' preset"
  if ! cmake --preset "$preset" >/dev/null || ! cmake --build --preset "$preset"; then
    echo "test.sh: the '$preset' build failed" >&2
    status=1
    continue
  fi
  echo "=== braid: testing the '$preset' preset"
  ctest --preset "$preset" || status=1
done
exit $status
