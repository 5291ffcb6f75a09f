#!/usr/bin/env python3
"""Runs process_bench one round per noise-checked window and prints the medians.

    python3 benchmarks/process/run_process_bench.py --bin BUILD/benchmarks [--rounds 7]
        [--out FILE] [--quick] [--max-other-cpu 15] [--max-retries 3]

process_bench measures braid and its baseline alternately inside each round (Process
start+join vs fork+_exit+waitpid, Pipe round trip vs a raw pipe ping-pong, Queue vs
Python's multiprocessing.Queue). Here every round is its own run (`--rounds 1
--start-round K`, K keeping the braid/baseline order alternating) inside a window of the
shared noise gate (benchmarks/common/noise.py): a round during which other processes used
more than --max-other-cpu % of a core is re-run, at most --max-retries times, then
reported NOISY. The parent runs on CPU 0 and the ping-pong peers on CPU 1
(BRAID_BENCH_CPUS=0,1). The machine state is written above the table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "common"))
import noise  # noqa: E402


def run_round(bench, r, args):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        cmd = [bench, "--rounds", "1", "--start-round", str(r), "--json", f.name, "--python", args.python]
        if args.quick:
            cmd.append("--quick")
        env = {**os.environ, "BRAID_BENCH_CPUS": args.cpus}
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, timeout=600)
        return json.load(open(f.name))


def table(rounds):
    med = statistics.median

    def series(key, side, what):
        return [x for r in rounds for x in r[key][side][what]]

    lines = ["| benchmark | variant | median per op | median CPU per op |", "|---|---|---|---|"]
    for key, what, braid, base, target in (
            ("spawn", "Process start+join", "braid Process", "fork+_exit+waitpid", "≤ 1.5×"),
            ("pingpong", "Pipe round trip", "braid Pipe send/recv<int>", "raw pipe ping-pong", "≤ 1.5×")):
        wa, ca = med(series(key, "braid", "wall_us")), med(series(key, "braid", "cpu_us"))
        wb, cb = med(series(key, "baseline", "wall_us")), med(series(key, "baseline", "cpu_us"))
        lines += [f"| {what} | {braid} | {wa:.1f} µs | {ca:.1f} µs CPU |",
                  f"| {what} | {base} | {wb:.1f} µs | {cb:.1f} µs CPU |",
                  f"| {what} | **ratio braid / baseline** | **{wa / wb:.2f}×** (target {target}) | {ca / cb:.2f}× CPU |"]
    rate = med([1e6 / w for w in series("queue", "braid", "wall_us")])
    cpu = med(series("queue", "braid", "cpu_us"))
    lines.append(f"| Queue throughput | braid Queue<int>, 1 producer process | {rate:.0f} items/s | "
                 f"{cpu:.2f} µs CPU/item |")
    py = [x for r in rounds for x in r["python_queue_items_per_s"]]
    if py:
        lines += [f"| Queue throughput | Python multiprocessing.Queue | {med(py):.0f} items/s | |",
                  f"| Queue throughput | **ratio braid / Python** | **{rate / med(py):.1f}×** (target ≥ 10×) | |"]
    else:
        lines.append("| Queue throughput | Python multiprocessing.Queue | (not runnable) | |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--bin", required=True, help="folder with process_bench")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--python", default="/usr/bin/python3", help="interpreter for the Queue baseline")
    ap.add_argument("--cpus", default="0,1", help="BRAID_BENCH_CPUS: parent CPU, peer CPU (default 0,1)")
    ap.add_argument("--out", help="also write the machine state and the table here")
    noise.add_arguments(ap, quick_help="one round of a tenth of the operations (smoke test)")
    args = ap.parse_args()
    gate = noise.gate_from_args(args)
    if args.quick:
        args.rounds = 1
    bench = os.path.join(args.bin, "process_bench")
    if not os.access(bench, os.X_OK):
        sys.exit(f"process_bench not found in {args.bin} (build the process_bench target)")
    rounds = []
    for r in range(args.rounds):
        rounds.append(gate.measure(lambda window: run_round(bench, r, args), label=f"round {r + 1}").result)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    parent, peer = args.cpus.split(",")
    noise.report(gate, f"parent on CPU {parent}, ping-pong peers on CPU {peer}",
                 f"Medians of {args.rounds} alternating rounds.\n\n" + table(rounds), out=args.out)


if __name__ == "__main__":
    main()
