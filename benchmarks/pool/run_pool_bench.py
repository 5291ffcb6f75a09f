#!/usr/bin/env python3
"""Runs the Pool benchmarks and their baselines alternately and prints a Markdown report.

    python3 benchmarks/pool/run_pool_bench.py --bin build-pool-bench/benchmarks \
        [--rounds 5] [--spins 0,5,20,50] [--out docs/benchmarks-pool.md]

Each round runs every program once, in turn, so slow drifts of a shared VM hit all of
them alike; the report gives the median over rounds and the ratios of the medians.
Round trips are measured three ways, the same for braid and the baselines: the two
processes on different CPUs (BRAID_BENCH_CPUS=0,1: parent on CPU 0, peer on CPU 1, the
pinning the DESIGN.md target is about), both on one CPU (taskset -c 0), and unpinned.
Each also reports the CPU time of both processes per round trip.

Every program runs inside a noise-rejecting window (benchmarks/common/noise.py): a run
during which other processes used more than --max-other-cpu % of a core is re-run (at most
--max-retries times, then reported NOISY); the machine state is written above the report.
--quick: one round, 1/20 of the sizes, one spin value (a smoke test, not figures).
"""
import argparse
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "common"))
import noise  # noqa: E402


PINNINGS = (("two cpus", {"BRAID_BENCH_CPUS": "0,1"}, None),
            ("one cpu", {}, "0"),
            ("unpinned", {}, None))


GATE = noise.Gate()


def run(cmd, env_extra=None, pin=None):
    return GATE.measure(lambda window: run_once(cmd, env_extra, pin), label=noise.label(cmd)).result


def run_once(cmd, env_extra=None, pin=None):
    env = dict(os.environ)
    env.pop("BRAID_BENCH_CPUS", None)
    env.update(env_extra or {})
    if pin is not None:
        cmd = ["taskset", "-c", pin] + cmd
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True,
                         timeout=600).stdout
    fields = out.split()
    return {fields[i]: fields[i + 1] for i in range(0, len(fields) - 1, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="folder with pool_bench and pipe_pingpong")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--spins", default="0,5,20,50", help="BRAID_POOL_SPIN_US values")
    ap.add_argument("--out", default=None, help="also write the report (with the machine state) here")
    noise.add_arguments(ap)
    args = ap.parse_args()
    global GATE
    GATE = noise.gate_from_args(args)
    scale = 20 if args.quick else 1
    if args.quick:
        args.rounds, args.spins = 1, args.spins.split(",")[0]
    pool_bench = os.path.join(args.bin, "pool_bench")
    pingpong = os.path.join(args.bin, "pipe_pingpong")
    python = "/usr/bin/python3"
    pybench = os.path.join(HERE, "python_pool.py")
    spins = [s for s in args.spins.split(",") if s != ""]

    res = {}

    def add(key, value):
        res.setdefault(key, []).append(float(value))

    load_before = os.getloadavg()
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
        for tag, env, pin in PINNINGS:
            for key, cmd, extra in (
                    (("pipe", tag), [pingpong, str(20000 // scale), str(1000 // scale)], {}),
                    (("socket", tag), [pingpong, str(20000 // scale), str(1000 // scale), "socket"], {}),
                    *(((("braid", tag, s), [pool_bench, "rtt", str(20000 // scale), str(1000 // scale)],
                        {"BRAID_POOL_SPIN_US": s}) for s in spins))):
                out = run(cmd, {**env, **extra}, pin=pin)
                add(key, out["rtt_us"])
                add(("cpu",) + key, out["cpu_us"])
        add(("python rtt",), run([python, pybench, "rtt", str(5000 // scale), str(500 // scale)])["rtt_us"])
        add(("python map",), run([python, pybench, "map", str(1000000 // scale), "5"])["map_items_per_s"])
        for s in dict.fromkeys(spins[:1] + spins[-1:]):
            add(("braid map", s), run([pool_bench, "map", str(1000000 // scale), "5"],
                                      {"BRAID_POOL_SPIN_US": s})["map_items_per_s"])
        cpu = run([pool_bench, "cpu", "16", str(25 // scale or 1)])
        add(("cpu seq",), cpu["seq_s"])
        add(("cpu pool",), cpu["pool_s"])
        add(("cpu speedup",), cpu["speedup"])

    load_after = os.getloadavg()
    med = {k: statistics.median(v) for k, v in res.items()}
    ncpu = os.cpu_count()
    lines = []
    lines.append("## Worker pool\n")
    lines.append(f"Machine: {ncpu} CPUs. Medians of {args.rounds} alternating rounds; "
                 "each round runs every program once. Load average "
                 f"{load_before[0]:.1f} before, {load_after[0]:.1f} after.\n")
    lines.append("Reproduce (optimised build, -O2):\n")
    lines.append("```sh\n"
                 "cmake -S . -B build/h-proc -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo\n"
                 "ninja -C build/h-proc pool_bench pipe_pingpong\n"
                 f"python3 benchmarks/pool/run_pool_bench.py --bin build/h-proc/benchmarks "
                 f"--rounds {args.rounds} --spins {args.spins}\n```\n")
    lines.append("### `apply` round trip (1 worker, trivial task)\n")
    lines.append("Wall time per round trip, and (second line) CPU time of both processes "
                 "per round trip.\n")
    lines.append("| pinning | | raw pipe ping-pong | raw socketpair ping-pong | braid spin (µs) "
                 "| braid `apply` | ratio to pipe | ratio to socketpair |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for tag, _, _ in PINNINGS:
        for what, pre in (("wall", ()), ("CPU", ("cpu",))):
            base = med[pre + ("pipe", tag)]
            sock = med[pre + ("socket", tag)]
            for s in spins:
                b = med[pre + ("braid", tag, s)]
                lines.append(f"| {tag} | {what} | {base:.1f} µs | {sock:.1f} µs | {s} "
                             f"| {b:.1f} µs | {b / base:.2f}× | {b / sock:.2f}× |")
    lines.append(f"\nPython `Pool.apply` (unpinned): {med[('python rtt',)]:.1f} µs.\n")
    lines.append("### `map` over 1,000,000 trivial items (default chunking, all CPUs)\n")
    lines.append("| program | items/s | ratio to Python |")
    lines.append("|---|---:|---:|")
    py = med[("python map",)]
    lines.append(f"| Python `multiprocessing.Pool.map` | {py / 1e6:.2f} M | 1.00× |")
    for s in dict.fromkeys(spins[:1] + spins[-1:]):
        b = med[("braid map", s)]
        lines.append(f"| braid `Pool::map` (spin {s} µs) | {b / 1e6:.2f} M | {b / py:.1f}× |")
    lines.append("\n### CPU-bound speed-up (16 tasks of ~25 ms)\n")
    lines.append(f"Sequential {med[('cpu seq',)]:.3f} s, pool of {ncpu} "
                 f"{med[('cpu pool',)]:.3f} s: speed-up {med[('cpu speedup',)]:.2f}× "
                 f"(ideal {ncpu}×).\n")
    noise.report(GATE, "round trips: see each row (two cpus: parent on CPU 0, worker on CPU 1); "
                 "map and the CPU-bound rows unpinned", "\n".join(lines), out=args.out)
    print("raw:", {str(k): v for k, v in res.items()}, file=sys.stderr)


if __name__ == "__main__":
    main()
