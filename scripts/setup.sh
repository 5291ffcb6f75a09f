#!/usr/bin/env bash
# Installs the Debian 12 packages braid needs to build, test and benchmark.
# Does nothing when they are all present. Usage: scripts/setup.sh [--bench]
#   --bench  also installs the benchmark baselines (python3-gevent, gnuplot).
set -euo pipefail

required=(
  cmake ninja-build g++ pkg-config
  libboost1.81-dev libboost-context1.81-dev libboost-stacktrace1.81-dev
  libboost-program-options1.81-dev libboost-json1.81-dev
  libspdlog-dev libfmt-dev catch2 libcereal-dev libbenchmark-dev liburing-dev
  python3
  # TLS (braid::net::TlsStream) and the real client libraries and servers that
  # examples/clients and tests/clients drive (issue: cooperative C libraries).
  libssl-dev openssl libcurl4-openssl-dev libhiredis-dev redis-server libpq-dev postgresql
)
optional_bench=(python3-gevent gnuplot-nox)

want=("${required[@]}")
if [[ "${1:-}" == "--bench" ]]; then want+=("${optional_bench[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
