#!/usr/bin/env python3
"""What braid's diagnostics cost per loop turn: Hub::stats()'s counters and the stall
detector's heartbeat (always kept), and a running stall detector (BRAID_STALL_MS).

Runs benchmarks/micro/coro_bench (Google Benchmark) built from two trees, alternating:
  base   - a build of the commit before the diagnostics (no counters, no heartbeat)
  head   - this tree
  stall  - this tree with BRAID_STALL_MS=100 (the watchdog thread running)
on one pinned CPU, for the loop-turn benchmarks (an idle Hub::poll() turn, a yield round
trip, sleep(0), an Event hand-off). Every window records the load average and the CPU
other processes used meanwhile (from /proc/stat minus this benchmark's own rusage); a
window where others used more than 15% of a core is rejected and re-run (at most
--retries times). Prints a markdown table of medians and ratios.

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
import resource
import statistics
import subprocess
import sys

BENCHES = ["BM_HubPollIdleTurn", "BM_YieldRoundTrip", "BM_SleepZero", "BM_EventPingPong"]
OTHER_CPU_LIMIT = 0.15  # of one core


def cpu_jiffies():
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    vals = [int(x) for x in parts]
    idle = vals[3] + vals[4]  # idle + iowait
    return sum(vals) - idle


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def run_once(binary, cpu, env_extra, min_time):
    env = dict(os.environ)
    env.pop("BRAID_STALL_MS", None)
    env.update(env_extra)
    hz = os.sysconf("SC_CLK_TCK")
    before_busy = cpu_jiffies()
    before_self = resource.getrusage(resource.RUSAGE_CHILDREN)
    before_wall = os.times().elapsed
    out = subprocess.run(
        ["taskset", "-c", str(cpu), binary,
         "--benchmark_filter=^(" + "|".join(BENCHES) + ")$",
         "--benchmark_format=json", f"--benchmark_min_time={min_time}"],
        env=env, check=True, capture_output=True, text=True).stdout
    wall = os.times().elapsed - before_wall
    after_self = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy = (cpu_jiffies() - before_busy) / hz
    own = (after_self.ru_utime - before_self.ru_utime) + (after_self.ru_stime - before_self.ru_stime)
    other = max(0.0, busy - own) / wall if wall > 0 else 0.0
    results = {b["name"]: b["cpu_time"] for b in json.loads(out)["benchmarks"]}
    return results, other


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="coro_bench built before the diagnostics")
    ap.add_argument("--head", required=True, help="coro_bench built from this tree")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--retries", type=int, default=10)
    ap.add_argument("--cpu", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=0.3)
    args = ap.parse_args()

    configs = [("base", args.base, {}), ("head", args.head, {}),
               ("stall", args.head, {"BRAID_STALL_MS": "100"})]
    samples = {name: {b: [] for b in BENCHES} for name, _, _ in configs}
    rejected = 0
    loads, others = [], []
    for r in range(args.rounds):
        for name, binary, env in configs:
            for _ in range(args.retries + 1):
                load = loadavg()
                res, other = run_once(binary, args.cpu, env, args.min_time)
                if other <= OTHER_CPU_LIMIT:
                    break
                rejected += 1
                print(f"round {r} {name}: rejected (others used {other:.0%} of a core)", file=sys.stderr)
            else:
                sys.exit(f"{name}: the machine stayed busy for {args.retries} retries; try later")
            loads.append(load)
            others.append(other)
            for b in BENCHES:
                samples[name][b].append(res[b])

    print(f"rounds {args.rounds} (alternating base/head/stall), CPU {args.cpu}, "
          f"rejected windows {rejected}; load average {min(loads):.2f}-{max(loads):.2f}; "
          f"other processes' CPU during kept windows: median {statistics.median(others):.1%}, "
          f"max {max(others):.1%} of a core")
    print()
    print("| benchmark | base ns | head ns | head / base | stall detector on ns | on / head |")
    print("|---|---|---|---|---|---|")
    for b in BENCHES:
        base = statistics.median(samples["base"][b])
        head = statistics.median(samples["head"][b])
        stall = statistics.median(samples["stall"][b])
        print(f"| {b} | {base:.1f} | {head:.1f} | {head / base:.3f} | {stall:.1f} | {stall / head:.3f} |")


if __name__ == "__main__":
    main()
