#!/usr/bin/env bash
# Re-measures every figure docs/benchmarks*.md quotes, with the noise-rejecting drivers
# (benchmarks/common/noise.py), on an optimised tree. The deliberate way to refresh the
# documented figures: scripts/run.sh and the drivers on their own write into the build tree.
#
#   scripts/update_benchmark_docs.sh [--write-docs] [--build-dir DIR] [--uring] [--quick]
#
# Without --write-docs every table (each with the machine state above it) goes to
# DIR/bench-figures/ and nothing tracked changes. With --write-docs the generated pages
# (docs/benchmarks-coro.md, docs/benchmarks-subprocess.md) and the plots in docs/img/ are
# rewritten in place; the hand-written pages (benchmarks.md, -net, -fairness, -pool,
# -process) take their tables from DIR/bench-figures/ by hand, with their prose.
# Run it on a quiet machine (load average < 0.3): a window in which other processes use
# more than 15% of a core is re-measured, and reported NOISY after 3 retries.
# --uring: also build DIR-uring with Asio's io_uring backend (BRAID_IO_URING) and measure
# its echo_server beside braid on epoll (issue 15's io_uring row; needs liburing).
# --quick: every driver's smoke-test size (checks the pipeline, measures nothing).
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/bench-docs
write_docs=0
uring=0
quick=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --write-docs) write_docs=1 ;;
    --build-dir) build=${2:?--build-dir needs a folder}; shift ;;
    --quick) quick=(--quick) ;;
    --uring) uring=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "update_benchmark_docs.sh: unknown argument '$1' (--help lists them)" >&2; exit 2 ;;
  esac
  shift
done

echo "=== building the benchmarks in $build (Release)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBRAID_BUILD_BENCHMARKS=ON \
  -DBRAID_BUILD_EXAMPLES=ON -DBRAID_BUILD_TESTS=OFF >/dev/null
cmake --build "$build"
if [[ $uring == 1 ]]; then
  cmake -S . -B "$build-uring" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBRAID_IO_URING=ON \
    -DBRAID_BUILD_BENCHMARKS=OFF -DBRAID_BUILD_EXAMPLES=ON -DBRAID_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build-uring" --target echo_server
fi

figs=$build/bench-figures
mkdir -p "$figs"
bin=$build/benchmarks
if [[ $write_docs == 1 ]]; then docs=docs; img=docs/img; else docs=$figs; img=$figs/img; fi

run() {  # run NAME CMD...: the driver's stdout to $figs/NAME.md, its log to $figs/NAME.log
  local name=$1; shift
  echo "=== $name: $*"
  "$@" >"$figs/$name.md" 2> >(tee "$figs/$name.log" >&2)
}

run sync_vs_async python3 benchmarks/sync_async/run.py --bin "$bin/sync_vs_async" \
  --plot "$img/sync_vs_async" "${quick[@]}"
run coro python3 benchmarks/run_coro_benchmarks.py --build-dir "$build" \
  --out "$docs/benchmarks-coro.md" --img-dir "$img" --json-out "$figs/coro.json" "${quick[@]}"
servers=(--server "epoll=$bin/epoll_echo --port 0" --server "asio_spawn=$bin/asio_spawn_echo --port 0"
         --server "braid=$build/examples/echo_server --port 0")
if [[ -x $bin/uring_echo ]]; then servers+=(--server "uring_c=$bin/uring_echo --port 0"); fi
if [[ $uring == 1 ]]; then servers+=(--server "braid_uring=$build-uring/examples/echo_server --port 0"); fi
run echo python3 benchmarks/echo/run_echo_bench.py --build-dir "$build" \
  --connections 1000 --sizes 64 --reps 3 --duration 5 --warmup 1 "${servers[@]}" \
  --json "$figs/echo.json" --plot "$figs/echo" "${quick[@]}"
run fairness python3 benchmarks/fairness/run_fairness_bench.py --build-dir "$build" \
  --out "$figs/fairness-table.md" "${quick[@]}"
run pool python3 benchmarks/pool/run_pool_bench.py --bin "$bin" --rounds 5 --spins 0 "${quick[@]}"
run process python3 benchmarks/process/run_process_bench.py --bin "$bin" --rounds 7 "${quick[@]}"
run subprocess python3 benchmarks/subprocess/run_subprocess_bench.py --bin-dir "$bin" \
  --rounds 15 -n 200 --out "$docs/benchmarks-subprocess.md" "${quick[@]}"

echo
echo "=== tables in $figs (one per driver, each with its machine state):"
ls "$figs"/*.md
grep -h "window(s) rejected" "$figs"/*.log || true
if [[ $write_docs == 1 ]]; then
  echo "rewrote docs/benchmarks-coro.md, docs/benchmarks-subprocess.md and docs/img/; paste the"
  echo "other tables into their pages, then review: git diff docs/"
fi
