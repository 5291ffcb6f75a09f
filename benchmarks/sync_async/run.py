#!/usr/bin/env python3
"""Runs the sync-vs-async benchmark: braid's program (sync_vs_async) and its Python twin
(sync_vs_async.py: gevent + multiprocessing, when /usr/bin/python3 has gevent), prints one
table with braid/Python ratios, writes it as markdown, and plots it with gnuplot.

Usage: run.py --bin BUILD/benchmarks/sync_vs_async [--quick] [--markdown FILE]
              [--plot PREFIX]   (writes PREFIX.png and PREFIX.svg)
              [--max-other-cpu PCT] [--max-retries N]

Each program runs inside a noise-rejecting window (benchmarks/common/noise.py): a run
during which other processes used more than --max-other-cpu % of a core is re-run, at
most --max-retries times, then reported NOISY. The machine state is written above the
table. Unpinned: the pool rows need both CPUs.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "common"))
import noise  # noqa: E402
PYTHON = "/usr/bin/python3"


def run_json(cmd, gate, label):
    return gate.measure(lambda window: run_json_once(cmd), label=label).result


def run_json_once(cmd):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    try:
        subprocess.run(cmd + ["--json", path], check=True, stdout=sys.stderr)
        with open(path) as f:
            return json.load(f)["rows"]
    finally:
        os.unlink(path)


def have_gevent():
    if not os.path.exists(PYTHON):
        return False
    return subprocess.run([PYTHON, "-c", "import gevent"], capture_output=True).returncode == 0


def merge(braid_rows, py_rows):
    py = {(r["workload"].split(" x ")[0] if "sum of" in r["workload"] else r["workload"],
           r["mode"].split(" of ")[0]): r for r in py_rows}
    out = []
    for r in braid_rows:
        key = (r["workload"].split(" x ")[0] if "sum of" in r["workload"] else r["workload"],
               r["mode"].split(" of ")[0])
        p = py.get(key)
        out.append((r, p))
    return out


def fmt_kib(v):
    return f"{v:.2f}" if v is not None and v >= 0 else "-"


def iterations(workload):
    """Millions of loop iterations per task in a CPU row ("4 x sum of 300M ints"), else None."""
    m = re.search(r"sum of (\d+)M", workload)
    return int(m.group(1)) if m else None


def table(merged):
    lines = ["| workload | mode | braid s | braid KiB/task | Python s | Python KiB/task | Python / braid |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r, p in merged:
        ps = f"{p['seconds']:.3f}" if p else "n/a"
        ratio = f"{p['seconds'] / r['seconds']:.2f}x" if p and r["seconds"] > 0 else "n/a"
        name = r["workload"]
        bi, pi = iterations(r["workload"]), iterations(p["workload"]) if p else None
        if p and bi and pi and bi != pi:
            # Python runs the seed's size (10x fewer iterations): compare time per iteration.
            name = f"{r['workload']} (Python: {pi}M each)"
            ratio = f"{(p['seconds'] / pi) / (r['seconds'] / bi):.1f}x per iteration"
        pk = fmt_kib(p["kib_per_task"]) if p else "n/a"
        lines.append(f"| {name} | {r['mode']} | {r['seconds']:.3f} | "
                     f"{fmt_kib(r['kib_per_task'])} | {ps} | {pk} | {ratio} |")
    return "\n".join(lines)


def speedups(rows):
    """Sequential time / concurrent time per workload that has both."""
    seq = {r["workload"]: r["seconds"] for r in rows if r["mode"] == "sequential"}
    out = []
    for r in rows:
        if r["mode"] != "sequential" and r["workload"] in seq:
            out.append((r["workload"], seq[r["workload"]] / r["seconds"]))
    return out


def plot(braid_rows, py_rows, prefix):
    if not shutil.which("gnuplot"):
        print("gnuplot not found: no plot", file=sys.stderr)
        return
    b = speedups(braid_rows)
    p = dict(speedups(py_rows)) if py_rows else {}
    p_by_kind = {}
    for k, v in p.items():
        p_by_kind[k.split(" x ")[0] if "sum of" in k else k] = v
    data = os.path.join(tempfile.mkdtemp(), "speedup.dat")
    with open(data, "w") as f:
        for name, s in b:
            key = name.split(" x ")[0] if "sum of" in name else name
            f.write(f"\"{name}\" {s:.3f} {p_by_kind.get(key, 0):.3f}\n")
    for term, ext in (("pngcairo size 900,500" if _has_cairo() else "png size 900,500", "png"),
                      ("svg size 900,500", "svg")):
        script = f"""
set terminal {term}
set output '{prefix}.{ext}'
set title 'Sync vs async: speed-up over running the tasks one after another'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel 'speed-up (sequential time / concurrent time), log scale'
set logscale y
set yrange [0.5:*]
set xtics rotate by -15 font ',9'
set key top right
plot '{data}' using 2:xtic(1) title 'braid', '' using 3 title 'Python (gevent / multiprocessing)'
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"plot: {prefix}.png, {prefix}.svg", file=sys.stderr)


def _has_cairo():
    r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (r.stdout + r.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--markdown", help="also write the machine state and the table to this file")
    ap.add_argument("--json", help="write the machine state to this file")
    ap.add_argument("--plot")
    noise.add_arguments(ap, quick_help="smaller workloads (the programs' own --quick)")
    args = ap.parse_args()
    gate = noise.gate_from_args(args)
    extra = ["--quick"] if args.quick else []
    braid_rows = run_json([args.bin] + extra, gate, "braid")
    py_rows = []
    if have_gevent():
        py_rows = run_json([PYTHON, os.path.join(HERE, "sync_vs_async.py")] + extra, gate, "python")
    else:
        print("python3-gevent is not installed: Python columns are n/a", file=sys.stderr)
    noise.report(gate, "unpinned (the pool rows use both CPUs)", table(merge(braid_rows, py_rows)),
                 out=args.markdown, json_out=args.json)
    if args.plot:
        os.makedirs(os.path.dirname(os.path.abspath(args.plot)), exist_ok=True)
        plot(braid_rows, py_rows, args.plot)


if __name__ == "__main__":
    main()
