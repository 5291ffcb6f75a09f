#!/usr/bin/env python3
"""Runs tools/braid-gdb.py's `braid coroutines` in gdb's batch mode against park_three.

Usage: gdb_coroutines_test.py PARK_THREE BRAID_GDB_PY core|no-core

Two checks, each a gdb session whose output must list park_three's four coroutines
(three on the main thread's hub, one on a second thread's) with their names, states, wait
reasons, and a backtrace through the function each parked in:
  live  gdb attaches to `park_three --wait` (every build);
  core  park_three aborts and gdb reads its core file (`core`: not under ASan, whose
        shadow memory makes core dumps off by default and huge otherwise).
Exit 0 when they pass, 1 on a failure, 77 (ctest's SKIP_RETURN_CODE) when gdb, its
Python, ptrace or core dumps are unavailable so that nothing could be checked.
"""

import os
import re
import resource
import select
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
GDB_TIMEOUT = 60

# (name, wait reason, the function it parked in) for each coroutine park_three parks.
EXPECTED = [
    ("sleeper", r"sleep", "park_in_sleep"),
    ("event-waiter", r"Event\.wait", "park_in_event"),
    ("pipe-reader", r"fd readable \d+", "park_in_pipe"),
    ("other-thread", r"sleep", "park_on_other_thread"),
]


class Skip(Exception):
    pass


def run_gdb(gdb, script, args):
    cmd = [gdb, "-nx", "-batch", "-ex", "source " + script, "-ex", "braid coroutines"] + args
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=GDB_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("gdb did not finish within %d s: %s\n%s" % (
            GDB_TIMEOUT, " ".join(cmd), e.stdout or ""))
    text = proc.stdout + proc.stderr
    if "Python scripting is not supported" in text:
        raise Skip("this gdb has no Python support")
    return proc.stdout, proc.stderr


def blocks(output):
    """{coroutine name: (header line, the lines under it)} from `braid coroutines`."""
    found = {}
    current = None
    for line in output.splitlines():
        m = re.match(r'\s*coroutine \d+ "([^"]*)"', line)
        if m:
            current = m.group(1)
            found[current] = (line, [])
        elif re.match(r"\s*(main context|thread \d+)", line):
            current = None
        elif current is not None:
            found[current][1].append(line)
    return found


def check(output, stderr, what):
    errors = []
    found = blocks(output)
    for name, wait, function in EXPECTED:
        if name not in found:
            errors.append("coroutine %r not listed" % name)
            continue
        header, frames = found[name]
        if not re.search(r"\bparked\s+waits on: %s\b" % wait, header):
            errors.append("%r: expected state parked, waiting on %r: %r" % (name, wait, header))
        if not any(function in f for f in frames):
            errors.append("%r: no frame in %s in its backtrace" % (name, function))
        if not any(re.search(r"\bbraid::", f) for f in frames):
            errors.append("%r: no braid:: frame in its backtrace" % name)
    if not re.search(r"thread \d+ \(LWP \d+\): hub 0x[0-9a-f]+, 3 live coroutines", output):
        errors.append("no hub with the main thread's 3 coroutines")
    if not re.search(r"thread \d+ \(LWP \d+\): hub 0x[0-9a-f]+, 1 live coroutine\b", output):
        errors.append("no hub with the second thread's coroutine")
    for bad in ("Traceback", "Python Exception", "backtrace failed"):
        if bad in output or bad in stderr:
            errors.append("gdb reported an error (%s)" % bad)
    if errors:
        raise AssertionError("%s: %s\n--- gdb stdout ---\n%s--- gdb stderr ---\n%s" % (
            what, "; ".join(errors), output, stderr))
    print("%s: ok (%d coroutines, each with a backtrace)" % (what, len(EXPECTED)))


def live_check(gdb, program, script):
    proc = subprocess.Popen([program, "--wait"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline() if ready else ""
        if line.strip() != "ready":
            raise AssertionError("park_three --wait did not print ready (got %r)" % line)
        out, err = run_gdb(gdb, script, ["-p", str(proc.pid)])
        if re.search(r"ptrace: Operation not permitted|Could not attach", out + err):
            raise Skip("gdb may not attach to a process here: " + err.strip().splitlines()[-1])
        check(out, err, "live process")
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def core_check(gdb, program, script):
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern:
        raise Skip("core files do not land in the working directory (core_pattern %r)" % pattern)
    with tempfile.TemporaryDirectory(prefix="braid-gdb-") as tmp:
        def unlimited_core():
            resource.setrlimit(resource.RLIMIT_CORE,
                               (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        proc = subprocess.run([program], cwd=tmp, preexec_fn=unlimited_core, timeout=30,
                              capture_output=True, text=True)
        if proc.returncode != -6:
            raise AssertionError("park_three should die of SIGABRT, got %d: %s" % (
                proc.returncode, proc.stderr))
        cores = [n for n in os.listdir(tmp) if n.startswith("core")]
        if not cores:
            raise Skip("SIGABRT left no core file (core_pattern %r)" % pattern)
        out, err = run_gdb(gdb, script, [program, os.path.join(tmp, cores[0])])
        check(out, err, "core file")


def main():
    program, script, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    gdb = shutil.which("gdb")
    if gdb is None:
        print("SKIPPED: gdb is not installed")
        return SKIP
    checks = [("live process", live_check)]
    if mode == "core":
        checks.append(("core file", core_check))
    passed = 0
    for what, fn in checks:
        try:
            fn(gdb, program, script)
            passed += 1
        except Skip as e:
            print("%s: skipped: %s" % (what, e))
        except AssertionError as e:
            print("FAILED: %s" % e)
            return 1
    if passed == 0:
        print("SKIPPED: nothing could be checked")
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
