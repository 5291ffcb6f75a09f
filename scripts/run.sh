#!/usr/bin/env bash
# braid's main job on a Debian 12 machine: installs what is missing (build dependencies
# and the benchmark baselines), builds an optimised tree, runs the echo server demo
# (braid's echo server under a verifying load) and the sync-vs-async benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench

echo "=== braid: building (release preset)"
cmake --preset release >/dev/null
cmake --build --preset release

bin=build/release
echo
echo "=== Echo server demo: braid's echo server, 200 connections, 64-byte messages, 3 s"
if [[ -x $bin/examples/echo_server && -x $bin/examples/echo_client ]]; then
  portfile=$(mktemp)
  $bin/examples/echo_server --host 127.0.0.1 --port 0 >"$portfile" &
  server=$!
  trap 'kill $server 2>/dev/null || true; rm -f "$portfile"' EXIT
  for _ in $(seq 100); do grep -q 'listening on' "$portfile" && break; sleep 0.05; done
  port=$(sed -n 's/.*listening on \([0-9]*\).*/\1/p' "$portfile" | head -1)
  $bin/examples/echo_client --host 127.0.0.1 --port "$port" --connections 200 --size 64 --duration 3
  kill -INT $server
  wait $server || true
  trap - EXIT
  rm -f "$portfile"
else
  echo "(the echo server examples are not built in this tree)"
fi

echo
echo "=== The sync-vs-async benchmark (braid vs Python's gevent and multiprocessing)"
python3 benchmarks/sync_async/run.py --bin "$bin/benchmarks/sync_vs_async" \
  --markdown "$bin/sync_vs_async.md" --plot "$bin/sync_vs_async"
# Results stay in the build tree: running the main job leaves `git status` clean.
# docs/benchmarks.md says how to refresh the documented figures deliberately.
echo "(table: $bin/sync_vs_async.md; plot: $bin/sync_vs_async.png and .svg)"
