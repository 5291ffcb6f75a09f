#!/usr/bin/env python3
"""Smoke test of one benchmark driver: runs it in its --quick mode with no retries
against a build tree, and checks that it finished and reported what every driver must
report: the machine state beside its table and the count of rejected windows.
The figures mean nothing here (a Debug build on a shared machine).

    driver_smoke.py DRIVER BUILD_DIR      (DRIVER: one of DRIVERS below)
"""
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"


def drivers(build, tmp):
    b = build / "benchmarks"
    return {
        "sync_async": [BENCH / "sync_async/run.py", "--bin", b / "sync_vs_async", "--markdown", tmp / "t.md"],
        "echo": [BENCH / "echo/run_echo_bench.py", "--build-dir", build, "--server",
                 f"asio_spawn={b / 'asio_spawn_echo'} --port 0"],
        "fairness": [BENCH / "fairness/run_fairness_bench.py", "--build-dir", build, "--only", "braid,asio_spawn",
                     "--out", tmp / "fairness.md"],
        "pool": [BENCH / "pool/run_pool_bench.py", "--bin", b],
        "process": [BENCH / "process/run_process_bench.py", "--bin", b],
        "subprocess": [BENCH / "subprocess/run_subprocess_bench.py", "--bin-dir", b, "--pin-cpu", "-1"],
        "coro": [BENCH / "run_coro_benchmarks.py", "--build-dir", build, "--no-gevent", "--out", tmp / "coro.md",
                 "--img-dir", tmp],
        "diagnostics": [BENCH / "run_diagnostics_cost.py", "--base", b / "coro_bench", "--head", b / "coro_bench"],
    }


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    name, build = sys.argv[1], Path(sys.argv[2]).resolve()
    with tempfile.TemporaryDirectory(prefix="bench-smoke-") as tmp:
        table = drivers(build, Path(tmp))
        if name not in table:
            sys.exit(f"unknown driver {name!r}; known: {', '.join(table)}")
        cmd = [sys.executable, *map(str, table[name]), "--quick", "--max-retries", "0"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=110)
    out = p.stdout + p.stderr
    problems = []
    if p.returncode != 0:
        problems.append(f"exit code {p.returncode}")
    if "Machine state:" not in p.stdout:
        problems.append("no machine state on stdout")
    if "window(s) rejected" not in p.stderr:
        problems.append("no rejection count on stderr")
    if problems:
        print(" ".join(cmd) + "\n" + out[-4000:])
        sys.exit(f"{name}: " + "; ".join(problems))
    print(f"{name}: ok\n" + "\n".join(line for line in out.splitlines()
                                      if "Machine state" in line or "window(s) rejected" in line))


if __name__ == "__main__":
    main()
