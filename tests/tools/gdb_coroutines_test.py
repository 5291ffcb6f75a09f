#!/usr/bin/env python3
"""Runs tools/braid-gdb.py's `braid coroutines` in gdb's batch mode against park_three.

Usage: gdb_coroutines_test.py PARK_THREE BRAID_GDB_PY core|no-core|no-debug-info

Each check is a gdb session whose output must list park_three's four parked coroutines
(three on the main thread's hub, one on a second thread's) with their names, states, wait
reasons, and a backtrace through the function each parked in:
  live      gdb attaches to `park_three --wait` (every build);
  core      park_three aborts in main and gdb reads its core file;
  core, abort in a coroutine: the same, aborted from a fifth coroutine, which must be
            listed as running, with the main context's hub loop suspended under it and
            backtraced down to main.
The core checks run in `core` mode only: not under ASan, whose shadow memory makes core
dumps off by default and huge otherwise. `no-debug-info` (a build without -g: gdb cannot
name braid's types) skips everything. Exit 0 when the checks pass, 1 on a failure, 77
(ctest's SKIP_RETURN_CODE) when gdb, its Python, ptrace or core dumps are unavailable so
that nothing could be checked.
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


def run_gdb(gdb, script, args, commands=("braid coroutines",)):
    cmd = [gdb, "-nx", "-batch", "-ex", "source " + script]
    for command in commands:
        cmd += ["-ex", command]
    cmd += args
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


def check(output, stderr, what, main_hub_count=3):
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
    if not re.search(r"thread \d+ \(LWP \d+\): hub 0x[0-9a-f]+, %d live coroutines"
                     % main_hub_count, output):
        errors.append("no hub with the main thread's %d coroutines" % main_hub_count)
    if not re.search(r"thread \d+ \(LWP \d+\): hub 0x[0-9a-f]+, 1 live coroutine\b", output):
        errors.append("no hub with the second thread's coroutine")
    for bad in ("Traceback", "Python Exception", "backtrace failed"):
        if bad in output or bad in stderr:
            errors.append("gdb reported an error (%s)" % bad)
    fail_if(errors, what, output, stderr)
    print("%s: ok (%d parked coroutines, each with a backtrace)" % (what, len(EXPECTED)))


def fail_if(errors, what, output, stderr):
    if errors:
        raise AssertionError("%s: %s\n--- gdb stdout ---\n%s--- gdb stderr ---\n%s" % (
            what, "; ".join(errors), output, stderr))


def check_running(output, stderr, what):
    """The aborter is running; the main context's loop is suspended under it."""
    errors = []
    aborter = re.search(r'coroutine (\d+) "aborter"\s+running\b.*\(current\)\n'
                        r"\s+running: its stack is the thread's", output)
    if aborter is None:
        errors.append("coroutine 'aborter' not listed as the running one")
    else:
        loop = re.search(r"main context: its hub loop is suspended while coroutine %s runs\n"
                         r"((?:\s+(?:#|\.\.\.).*\n)+)" % aborter.group(1), output)
        if loop is None:
            errors.append("no backtrace of the main context suspended under the aborter")
        elif not re.search(r"\bin main at\b", loop.group(1)) or "braid::" not in loop.group(1):
            errors.append("the main context's backtrace does not go through braid:: to main")
    fail_if(errors, what, output, stderr)
    print("%s: ok (the running coroutine, and the hub loop under it)" % what)


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
        # One hub named on the command line: the second thread's, as its t_hub.
        out, err = run_gdb(gdb, script, ["-p", str(proc.pid)], [
            "thread 2", "braid coroutines 'braid::(anonymous namespace)::t_hub'",
            "braid coroutines 0"])
        errors = []
        if not re.search(r"^hub 0x[0-9a-f]+, 1 live coroutine\n"
                         r'\s+coroutine \d+ "other-thread"\s+parked\s+waits on: sleep\n'
                         r"(?s:.*)park_on_other_thread", out, re.M):
            errors.append("`braid coroutines HUB` did not list that hub's coroutine")
        if "braid: HUB '0' is a null pointer" not in err:
            errors.append("`braid coroutines 0` did not say that 0 is a null pointer")
        fail_if(errors, "live process, HUB argument", out, err)
        print("live process, HUB argument: ok")
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def core_check(gdb, program, script, args=(), what="core file", main_hub_count=3):
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern:
        raise Skip("core files do not land in the working directory (core_pattern %r)" % pattern)
    hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
    if hard == 0:
        raise Skip("core dumps are forbidden here (hard limit 0: ulimit -Hc)")
    with tempfile.TemporaryDirectory(prefix="braid-gdb-") as tmp:
        def unlimited_core():  # as `ulimit -c unlimited`, up to the hard limit
            resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
        proc = subprocess.run([program, *args], cwd=tmp, preexec_fn=unlimited_core, timeout=30,
                              capture_output=True, text=True)
        if proc.returncode != -6:
            raise AssertionError("park_three should die of SIGABRT, got %d: %s" % (
                proc.returncode, proc.stderr))
        cores = [n for n in os.listdir(tmp) if n.startswith("core")]
        if not cores:
            raise Skip("SIGABRT left no core file (core_pattern %r)" % pattern)
        out, err = run_gdb(gdb, script, [program, os.path.join(tmp, cores[0])])
        check(out, err, what, main_hub_count)
        return out, err


def core_running_check(gdb, program, script):
    what = "core file, abort in a coroutine"
    out, err = core_check(gdb, program, script, ["--abort-in-coroutine"], what, 4)
    check_running(out, err, what)


def no_target_check(gdb, program, script):
    out, err = run_gdb(gdb, script, [program])
    if "braid: no process or core file" not in err:
        fail_if(["`braid coroutines` without a process did not say so"], "no process", out, err)
    print("no process: ok (a clear error)")


def main():
    program, script, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "no-debug-info":
        print("SKIPPED: braid is built without debug info (-g), which the gdb helper needs")
        return SKIP
    gdb = shutil.which("gdb")
    if gdb is None:
        print("SKIPPED: gdb is not installed")
        return SKIP
    checks = [("live process", live_check)]
    if mode == "core":
        checks.append(("core file", core_check))
        checks.append(("core file, abort in a coroutine", core_running_check))
    passed = 0
    try:
        no_target_check(gdb, program, script)
    except Skip as e:
        print("SKIPPED: %s" % e)
        return SKIP
    except AssertionError as e:
        print("FAILED: %s" % e)
        return 1
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
