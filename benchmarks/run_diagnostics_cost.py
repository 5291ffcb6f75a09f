#!/usr/bin/env python3
"""What braid's diagnostics cost per loop turn: Hub::stats()'s counters and the stall
detector's heartbeat (always kept), and a running stall detector (BRAID_STALL_MS).

Runs benchmarks/micro/coro_bench (Google Benchmark) built from two trees, alternating:
  base   - a build of the commit before the diagnostics (no counters, no heartbeat)
  head   - this tree
  stall  - this tree with BRAID_STALL_MS=100 (the watchdog thread running)
on one pinned CPU, for the loop-turn benchmarks (an idle Hub::poll() turn, a yield round
trip, sleep(0), an Event hand-off). Every run is a window of the shared noise gate
(benchmarks/common/noise.py): it records the load average and the CPU other processes
used meanwhile (/proc/stat minus this benchmark's own rusage); a window where others used
more than --max-other-cpu (15) % of a core is rejected and re-run (at most --max-retries
times, then reported NOISY). Prints the machine state and a markdown table of medians and
ratios. --quick: 1 round, 0.01 s per benchmark.

  git worktree add /tmp/base <commit before the diagnostics>
  cmake -S /tmp/base -B /tmp/bench-base -G Ninja -DCMAKE_BUILD_TYPE=Release -DBRAID_BUILD_BENCHMARKS=ON
  cmake -S . -B build/rel-diag -G Ninja -DCMAKE_BUILD_TYPE=Release -DBRAID_BUILD_BENCHMARKS=ON
  ninja -C /tmp/bench-base coro_bench && ninja -C build/rel-diag coro_bench
  python3 benchmarks/run_diagnostics_cost.py --base /tmp/bench-base/benchmarks/coro_bench \\
      --head build/rel-diag/benchmarks/coro_bench
(the base tree needs BM_HubPollIdleTurn: copy this tree's benchmarks/micro/coro_bench.cpp
into it first; it uses only APIs both have).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "common"))
import noise  # noqa: E402

BENCHES = ["BM_HubPollIdleTurn", "BM_YieldRoundTrip", "BM_SleepZero", "BM_EventPingPong"]


def run_once(binary, cpu, env_extra, min_time):
    env = dict(os.environ)
    env.pop("BRAID_STALL_MS", None)
    env.update(env_extra)
    out = subprocess.run(
        ["taskset", "-c", str(cpu), binary,
         "--benchmark_filter=^(" + "|".join(BENCHES) + ")$",
         "--benchmark_format=json", f"--benchmark_min_time={min_time}"],
        env=env, check=True, capture_output=True, text=True).stdout
    return {b["name"]: b["cpu_time"] for b in json.loads(out)["benchmarks"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="coro_bench built before the diagnostics")
    ap.add_argument("--head", required=True, help="coro_bench built from this tree")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cpu", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=0.3)
    noise.add_arguments(ap)
    args = ap.parse_args()
    gate = noise.gate_from_args(args)
    if args.quick:
        args.rounds, args.min_time = 1, 0.01

    configs = [("base", args.base, {}), ("head", args.head, {}),
               ("stall", args.head, {"BRAID_STALL_MS": "100"})]
    samples = {name: {b: [] for b in BENCHES} for name, _, _ in configs}
    for r in range(args.rounds):
        for name, binary, env in configs:
            res = gate.measure(lambda window: run_once(binary, args.cpu, env, args.min_time),
                               label=f"round {r + 1} {name}").result
            for b in BENCHES:
                samples[name][b].append(res[b])

    lines = [f"rounds {args.rounds} (alternating base/head/stall), medians of CPU time per iteration", "",
             "| benchmark | base ns | head ns | head / base | stall detector on ns | on / head |",
             "|---|---|---|---|---|---|"]
    for b in BENCHES:
        base = statistics.median(samples["base"][b])
        head = statistics.median(samples["head"][b])
        stall = statistics.median(samples["stall"][b])
        lines.append(f"| {b} | {base:.1f} | {head:.1f} | {head / base:.3f} | {stall:.1f} | {stall / head:.3f} |")
    noise.report(gate, f"every run on CPU {args.cpu}", "\n".join(lines))


if __name__ == "__main__":
    main()
