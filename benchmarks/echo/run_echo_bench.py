#!/usr/bin/env python3
"""Echo-server benchmark driver: every server under the same load, as ratios.

For each scenario (connections x message size), each repetition and each
server (the order rotates between repetitions, so drift and neighbours' noise
spread over all servers), it:

  1. starts the server pinned to its CPU set (`taskset -c 0` by default) and
     waits for its "listening on PORT" line;
  2. reads the server's VmRSS (before any connection);
  3. starts echo_loadgen pinned to its CPU set (`taskset -c 1` by default), which
     connects, warms up and then prints {"phase":"measure"} ... {"phase":"end"};
  4. at those two lines reads utime+stime (/proc/PID/stat) and VmRSS of the
     server's whole process tree -- the server and every descendant (pre-forked
     workers), found through /proc/PID/task/*/children -- so CPU time covers only
     the measured window and the RSS peak is taken while every connection is
     open; a process that appears or vanishes between the two samples is noted;
  5. stops the server (SIGTERM).

--server-cpus and --load-cpus take CPU lists ("0,1"): a multi-process or
multi-threaded server can be given every CPU. When the two sets overlap the load
generator shares CPUs with the server, and the report says so: throughput then
counts both sides' CPU, and only the CPU per message is the server's own.

Reports per scenario and server: median msgs/s, median server CPU us per echoed
message, KiB resident per connection, and the ratios of the first two to the
reference server (`epoll` by default). Markdown goes to stdout, progress to
stderr; --json writes every run and the summary; --plot writes PNG+SVG charts
when gnuplot is installed.

Server commands are given as NAME=CMD (split like a shell would, not run by one):
CMD must listen on 127.0.0.1 and print "listening on PORT"; `--port 0` is the
convention for an ephemeral port. Without --server, the three baselines are taken
from --build-dir. A server whose command is missing, or which exits before
listening, is skipped with a note (gevent_echo.py exits 77 without gevent).

Each run's measured window goes through the shared noise gate
(benchmarks/common/noise.py): other CPU = the machine's busy time minus the server's
tree, the load generator and this driver; a window above --max-other-cpu % of a core is
rejected and the run redone (at most --max-retries times, then reported NOISY). The
machine state is printed above the table. --quick: 10 connections x 64 B, one 0.5 s rep.

Python standard library only. Everything runs over 127.0.0.1, and every step
has a time limit.
"""
import argparse
import json
import os
import re
import resource
import selectors
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks" / "common"))
import noise  # noqa: E402
LISTENING_RE = re.compile(r"listening on (\d+)")
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_START_TIMEOUT_S = 15.0
SERVER_STOP_TIMEOUT_S = 5.0
LOADGEN_SLACK_S = 30.0  # beyond connect timeout + warm-up + duration
SKIP_EXIT_CODE = 77


class SkipServer(Exception):
    """The server cannot run here (missing command, no gevent...): skip it."""


class RunFailed(Exception):
    """One run went wrong; the others go on."""


@dataclass
class ServerSpec:
    name: str
    argv: list


@dataclass
class Run:
    server: str
    connections: int
    size: int
    rep: int
    msgs_per_s: float = 0.0
    cpu_us_per_msg: float = 0.0
    kib_per_conn: float = 0.0
    p50_us: float = 0.0
    p99_us: float = 0.0
    server_cpu_pct: float = 0.0  # of one core, over the measured window (process tree)
    loadgen_cpu_pct: float = 0.0
    other_cpu_pct: float = 0.0   # everything else on the machine: noise
    server_procs: int = 0        # processes in the server's tree during the window
    thread_cpu_pct: list = field(default_factory=list)  # per busy thread of the tree, descending
    tree_changes: str = ""       # processes that appeared or vanished mid-window
    load_avg: float = 0.0        # 1-minute load average when the window opened
    messages: int = 0
    server_exit: int = 0
    noisy: bool = False          # every attempt was disturbed: the least disturbed is kept
    error: str = ""


@dataclass
class Summary:
    server: str
    connections: int
    size: int
    runs: int
    msgs_per_s: float
    cpu_us_per_msg: float
    kib_per_conn: float
    p50_us: float
    p99_us: float
    server_cpu_pct: float
    loadgen_cpu_pct: float
    other_cpu_pct: float
    load_avg: float
    server_procs: int
    throughput_ratio: float = None  # vs the reference server
    cpu_ratio: float = None
    failed_runs: list = field(default_factory=list)
    tree_changes: list = field(default_factory=list)
    noisy_runs: int = 0  # runs kept although every attempt was disturbed


# ---------------------------------------------------------------- /proc readers

def stat_cpu_seconds(path):
    """utime + stime from a /proc stat file (a process's: all its threads, dead
    ones included; or one task's), in seconds."""
    with open(path) as f:
        stat = f.read()
    # The command name may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of proc(5)


def proc_cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    return stat_cpu_seconds(f"/proc/{pid}/stat")


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RunFailed(f"no VmRSS for pid {pid}")


def proc_children(pid):
    """Direct children of every thread of pid (/proc/PID/task/TID/children)."""
    kids = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:  # the thread ended meanwhile
            pass
    return kids


def proc_tree(root):
    """root and all its live descendants, root first."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        try:
            todo += proc_children(pid)
        except OSError:  # gone meanwhile: a child that vanished is no longer in the tree
            if pid == root:
                raise
            continue
        pids.append(pid)
    return pids


def tree_sample(root):
    """Per-process CPU seconds and VmRSS, and per-thread CPU seconds, of root's
    process tree. Processes that vanish while being read are left out; the root
    vanishing raises OSError."""
    cpu, rss, threads = {}, {}, {}
    for pid in proc_tree(root):
        try:
            cpu[pid] = proc_cpu_seconds(pid)
            rss[pid] = proc_rss_kib(pid)
            for tid in os.listdir(f"/proc/{pid}/task"):
                threads[(pid, int(tid))] = stat_cpu_seconds(f"/proc/{pid}/task/{tid}/stat")
        except (OSError, RunFailed):
            if pid == root:
                raise OSError(f"server {root} gone") from None
    return {"cpu": cpu, "rss": rss, "threads": threads}


def machine_busy_seconds():
    """CPU time spent not idle by all CPUs together (/proc/stat, first line)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


# ---------------------------------------------------------------- processes

def raise_fd_limit(connections):
    """Loadgen and server each hold one fd per connection; children inherit this."""
    need = connections + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))  # root only
            return
        except (ValueError, OSError):
            log(f"warning: fd limit {hard} < {need}; runs with {connections} connections may fail")
            need = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def cpu_list(cpus):
    """taskset's form of one CPU (an int) or a list of them."""
    return str(cpus) if isinstance(cpus, int) else ",".join(str(c) for c in cpus)


def pinned(argv, cpus, nice=0):
    """taskset and nice both exec their command, so the child's pid stays the
    benchmarked program's own; a server's forked workers inherit the CPU set.
    cpus: one CPU, a list, or None (unpinned)."""
    if nice:
        argv = ["nice", "-n", str(nice)] + argv
    return ["taskset", "-c", cpu_list(cpus)] + argv if cpus is not None else argv


def stop_process(proc):
    """SIGTERM, then SIGKILL if it lingers; returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def tail(path, lines=3):
    try:
        text = Path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


class Server:
    """A server process whose stdout/stderr go to files, so it can never block
    on a full pipe however much it prints."""

    def __init__(self, spec, cpus, nice, workdir):
        self.spec = spec
        self.out_path = Path(workdir) / f"{spec.name}.out"
        self.err_path = Path(workdir) / f"{spec.name}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(pinned(spec.argv, cpus, nice), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL)
        self.port = self._wait_listening()

    def _wait_listening(self):
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            match = LISTENING_RE.search(self.out_path.read_text(errors="replace"))
            if match:
                return int(match.group(1))
            if self.proc.poll() is not None:
                code = self.proc.returncode
                why = "reported itself unavailable" if code == SKIP_EXIT_CODE else f"exited with {code}"
                raise SkipServer(f"{why} before listening: {tail(self.err_path)}")
            time.sleep(0.01)
        stop_process(self.proc)
        raise SkipServer(f"did not print 'listening on PORT' within {SERVER_START_TIMEOUT_S:.0f} s")

    @property
    def pid(self):
        # taskset execs the command, so this is the server itself.
        return self.proc.pid

    def stop(self):
        return stop_process(self.proc)


class LineReader:
    """Lines from a child's stdout pipe, each awaited with a deadline."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        os.set_blocking(self.fd, False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)
        self.buffer = b""

    def readline(self, deadline):
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RunFailed("load generator timed out")
            if not self.selector.select(remaining):
                continue
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise RunFailed("load generator exited early")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def read_json(self, deadline):
        line = self.readline(deadline)
        try:
            return json.loads(line)
        except json.JSONDecodeError:
            raise RunFailed(f"load generator printed {line!r}") from None


# ---------------------------------------------------------------- one run

def loadgen_argv(args, port, connections, size):
    return [args.loadgen, "--host", "127.0.0.1", "--port", str(port),
            "--connections", str(connections), "--size", str(size),
            "--duration", str(args.duration), "--warmup", str(args.warmup),
            "--connect-timeout", str(args.connect_timeout)]


def window_sample(pid):
    try:
        sample = tree_sample(pid)
    except OSError:  # /proc/PID is gone
        raise RunFailed("the server died during the run") from None
    sample["machine"] = machine_busy_seconds()
    sample["load_avg"] = os.getloadavg()[0]
    return sample


def measure(server, args, run, workdir, window):
    """Drives the load generator against a listening server and fills `run`."""
    rss_idle = sum(window_sample(server.pid)["rss"].values())
    err_path = Path(workdir) / "loadgen.err"
    budget = args.connect_timeout + args.warmup + args.duration + LOADGEN_SLACK_S
    deadline = time.monotonic() + budget
    with open(err_path, "wb") as err:
        lg = subprocess.Popen(pinned(loadgen_argv(args, server.port, run.connections, run.size), args.load_cpus,
                                     args.nice),
                              stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
    try:
        reader = LineReader(lg.stdout)
        expect_phase(reader, deadline, "measure", err_path)
        window.open([server.pid, lg.pid])
        start = window_sample(server.pid)
        expect_phase(reader, deadline, "end", err_path)
        end = window_sample(server.pid)
        window.close()
        result = reader.read_json(deadline)
        lg.wait(max(0.1, deadline - time.monotonic()))
    except (RunFailed, subprocess.TimeoutExpired) as exc:
        raise RunFailed(f"{exc}; loadgen stderr: {tail(err_path)}") from None
    finally:
        if lg.poll() is None:
            lg.kill()
            lg.wait()
        lg.stdout.close()
    if lg.returncode != 0 or result.get("errors"):
        raise RunFailed(f"load generator failed ({lg.returncode}): {result.get('error') or tail(err_path)}")
    fill_run(run, result, start, end, rss_idle)


def expect_phase(reader, deadline, phase, err_path):
    while True:
        msg = reader.read_json(deadline)
        if msg.get("phase") == phase:
            return
        if "errors" in msg:  # the result line came early: the run failed
            raise RunFailed(msg.get("error") or tail(err_path))


def tree_cpu_seconds(start, end):
    """The tree's CPU time in the window, and a note on processes that appeared
    (counted whole: they started inside the window) or vanished (counted up to
    the first sample only: their later CPU is lost)."""
    total, notes = 0.0, []
    for pid, cpu in end["cpu"].items():
        if pid in start["cpu"]:
            total += cpu - start["cpu"][pid]
        else:
            total += cpu
            notes.append(f"pid {pid} appeared")
    notes += [f"pid {pid} vanished" for pid in start["cpu"] if pid not in end["cpu"]]
    return total, ", ".join(notes)


def thread_cpu_split(start, end, secs):
    """% of a core per thread of the tree that used over 1%, busiest first:
    shows how evenly workers (or threads) shared the load."""
    pcts = [100 * (cpu - start["threads"].get(key, 0.0)) / secs for key, cpu in end["threads"].items()]
    return sorted((round(p, 1) for p in pcts if p >= 1.0), reverse=True)


def fill_run(run, result, start, end, rss_idle):
    secs = result["duration"]
    server_cpu, run.tree_changes = tree_cpu_seconds(start, end)
    run.server_procs = len(set(start["cpu"]) | set(end["cpu"]))
    run.thread_cpu_pct = thread_cpu_split(start, end, secs)
    run.load_avg = start["load_avg"]
    run.messages = result["messages"]
    if run.messages == 0:
        raise RunFailed("no message echoed in the measured window")
    run.msgs_per_s = result["msgs_per_s"]
    run.p50_us, run.p99_us = result["p50_us"], result["p99_us"]
    run.cpu_us_per_msg = server_cpu * 1e6 / run.messages
    rss_peak = max(sum(start["rss"].values()), sum(end["rss"].values()))
    run.kib_per_conn = (rss_peak - rss_idle) / run.connections
    run.server_cpu_pct = 100 * server_cpu / secs
    run.loadgen_cpu_pct = 100 * result["client_cpu_s"] / secs
    other = (end["machine"] - start["machine"]) - server_cpu - result["client_cpu_s"]
    run.other_cpu_pct = max(0.0, 100 * other / secs)


def run_once(spec, args, connections, size, rep, window):
    run = Run(server=spec.name, connections=connections, size=size, rep=rep)
    with tempfile.TemporaryDirectory(prefix="echo-bench-") as workdir:
        server = Server(spec, args.server_cpus, args.nice, workdir)
        try:
            measure(server, args, run, workdir, window)
        except RunFailed as exc:
            run.error = str(exc)
        finally:
            run.server_exit = server.stop()
        if run.server_exit not in (0, -signal.SIGTERM) and not run.error:
            run.error = f"server exited with {run.server_exit} on SIGTERM: {tail(server.err_path)}"
    return run


# ---------------------------------------------------------------- noise control

def wait_for_quiet(max_wait, threshold_pct):
    """On a machine shared with builds, starting while a compiler holds a core
    only measures the compiler: wait (bounded) until the machine is nearly idle."""
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_busy_seconds()
        time.sleep(0.5)
        busy_pct = 100 * (machine_busy_seconds() - before) / 0.5
        if busy_pct <= threshold_pct:
            return
        if time.monotonic() >= deadline:
            log(f"  machine still {busy_pct:.0f}% busy after {max_wait:g} s: running anyway")
            return


def run_quietly(spec, args, connections, size, rep):
    """A run disturbed by other processes is redone by the gate (bounded); the least
    disturbed attempt is kept, and its other-CPU figure says how clean it was."""
    def attempt(window):
        if args.quiet_wait > 0:
            wait_for_quiet(args.quiet_wait, args.max_other_cpu)
            window.open()  # the wait is not part of the run
        return run_once(spec, args, connections, size, rep, window)

    m = args.gate.measure(attempt, label=spec.name)
    if not m.result.error:
        m.result.other_cpu_pct, m.result.load_avg = m.window.other_pct, m.window.load1
    m.result.noisy = m.noisy
    return m.result


# ---------------------------------------------------------------- the matrix

def run_matrix(servers, args):
    runs, skipped = [], {}
    for connections in args.connections:
        for size in args.sizes:
            for rep in range(args.reps):
                # Rotate the order so no server always runs first (or right after another).
                shift = rep % len(servers)
                for spec in servers[shift:] + servers[:shift]:
                    if spec.name in skipped:
                        continue
                    log(f"[{connections} conns, {size} B, rep {rep + 1}/{args.reps}] {spec.name} ...")
                    try:
                        run = run_quietly(spec, args, connections, size, rep)
                    except SkipServer as exc:
                        skipped[spec.name] = str(exc)
                        log(f"  skipping {spec.name}: {exc}")
                        continue
                    runs.append(run)
                    log(f"  {describe(run)}")
    return runs, skipped


def describe(run):
    if run.error:
        return f"FAILED: {run.error}"
    tree = ""
    if run.server_procs > 1 or len(run.thread_cpu_pct) > 1:
        procs = f"{run.server_procs} process" + ("es" if run.server_procs != 1 else "")
        tree = (f" ({procs}; busy threads "
                + "/".join(f"{p:.0f}" for p in run.thread_cpu_pct) + "%)")
    changes = f"; mid-window: {run.tree_changes}" if run.tree_changes else ""
    return (f"{run.msgs_per_s:,.0f} msgs/s, {run.cpu_us_per_msg:.2f} us CPU/msg, "
            f"{run.kib_per_conn:.2f} KiB/conn, server CPU {run.server_cpu_pct:.0f}%{tree}, "
            f"loadgen CPU {run.loadgen_cpu_pct:.0f}%, other {run.other_cpu_pct:.0f}%{changes}")


def summarize(runs, servers, reference):
    summaries = []
    for key in sorted({(r.connections, r.size) for r in runs}):
        by_server = {}
        for spec in servers:
            group = [r for r in runs if (r.connections, r.size) == key and r.server == spec.name]
            good = [r for r in group if not r.error]
            if not group:
                continue
            med = (lambda attr: statistics.median(getattr(r, attr) for r in good)) if good else (lambda attr: 0.0)
            by_server[spec.name] = Summary(
                server=spec.name, connections=key[0], size=key[1], runs=len(good),
                msgs_per_s=med("msgs_per_s"), cpu_us_per_msg=med("cpu_us_per_msg"),
                kib_per_conn=med("kib_per_conn"), p50_us=med("p50_us"), p99_us=med("p99_us"),
                server_cpu_pct=med("server_cpu_pct"), loadgen_cpu_pct=med("loadgen_cpu_pct"),
                other_cpu_pct=med("other_cpu_pct"), load_avg=med("load_avg"),
                server_procs=max((r.server_procs for r in good), default=0),
                failed_runs=[r.error for r in group if r.error], noisy_runs=sum(r.noisy for r in good),
                tree_changes=[f"rep {r.rep + 1}: {r.tree_changes}" for r in good if r.tree_changes])
        ref = by_server.get(reference)
        for s in by_server.values():
            if ref and ref.runs and s.runs:
                s.throughput_ratio = s.msgs_per_s / ref.msgs_per_s
                s.cpu_ratio = s.cpu_us_per_msg / ref.cpu_us_per_msg
            summaries.append(s)
    return summaries


# ---------------------------------------------------------------- reports

def ratio(value):
    return "n/a" if value is None else f"{value:.2f}×"


def placement(args):
    if not args.server_cpus:
        return "server and load generator unpinned"
    text = f"server on CPU {cpu_list(args.server_cpus)}, load generator on CPU {cpu_list(args.load_cpus)}"
    shared = sorted(set(args.server_cpus) & set(args.load_cpus))
    if shared:
        text += (f" (the load generator shares CPU {cpu_list(shared)} with the server: throughput counts "
                 "both sides' CPU time; CPU per message is the server's own)")
    return text


def markdown(summaries, skipped, args):
    ref = args.reference
    lines = [
        f"Echo benchmark: {args.reps} repetition(s) of {args.duration:g} s after {args.warmup:g} s warm-up; "
        f"{placement(args)}" + (f", both at nice {args.nice}" if args.nice else "") + "; medians. "
        "Server CPU and KiB/conn are summed over the server's process tree (procs = its processes). "
        "KiB/conn = (server VmRSS with all connections open - before any) / connections: "
        "meaningful at many connections only. Other CPU % = the rest of the machine's busy time "
        "in the window (neighbours, interrupts): noise. Load = 1-minute load average as the window opened.",
        "",
        f"| conns | size B | server | procs | msgs/s | vs {ref} | server CPU µs/msg | vs {ref} | KiB/conn "
        "| p50 µs | p99 µs | server CPU % | loadgen CPU % | other CPU % | load |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        if not s.runs:
            lines.append(f"| {s.connections} | {s.size} | {s.server} | | failed | | | | | | | | | | |")
            continue
        lines.append(
            f"| {s.connections} | {s.size} | {s.server} | {s.server_procs} | {s.msgs_per_s:,.0f} "
            f"| {ratio(s.throughput_ratio)} | {s.cpu_us_per_msg:.2f} | {ratio(s.cpu_ratio)} | {s.kib_per_conn:.2f} "
            f"| {s.p50_us:,.0f} | {s.p99_us:,.0f} | {s.server_cpu_pct:.0f} | {s.loadgen_cpu_pct:.0f} "
            f"| {s.other_cpu_pct:.0f} | {s.load_avg:.1f} |")
    lines += notes(summaries, skipped, args)
    return "\n".join(lines) + "\n"


def notes(summaries, skipped, args):
    out = []
    for name, why in skipped.items():
        out.append(f"- **{name} skipped**: {why}")
    for s in summaries:
        for err in s.failed_runs:
            out.append(f"- {s.server} at {s.connections} conns / {s.size} B: a run failed: {err}")
        for change in s.tree_changes:
            out.append(f"- {s.server} at {s.connections} conns / {s.size} B: the process tree changed "
                       f"mid-window ({change}): its CPU time is approximate.")
        if s.runs and s.loadgen_cpu_pct >= 95:
            out.append(f"- {s.server} at {s.connections} conns / {s.size} B: the load generator was saturated "
                       f"({s.loadgen_cpu_pct:.0f}% CPU): throughput is capped by it; CPU/msg still holds.")
        if s.noisy_runs:
            out.append(f"- {s.server} at {s.connections} conns / {s.size} B: NOISY: {s.noisy_runs} of "
                       f"{s.runs} run(s) disturbed in every attempt (the least disturbed kept).")
        if s.runs and s.other_cpu_pct > args.max_other_cpu:
            out.append(f"- {s.server} at {s.connections} conns / {s.size} B: other processes used "
                       f"{s.other_cpu_pct:.0f}% of a core during the window: expect noise.")
    return ["", "Notes:"] + out if out else []


def write_json(path, runs, summaries, skipped, servers, args):
    doc = {
        "config": {k: v for k, v in vars(args).items() if k not in ("server", "gate")},
        "servers": {s.name: s.argv for s in servers},
        "machine": {**noise.machine_state(args.gate, placement(args)), "kernel": os.uname().release},
        "runs": [asdict(r) for r in runs],
        "summary": [asdict(s) for s in summaries],
        "skipped": skipped,
    }
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")


PLOT_METRICS = [("msgs_per_s", "messages/s (higher is better)"),
                ("cpu_us_per_msg", "server CPU µs per message (lower is better)"),
                ("kib_per_conn", "KiB resident per connection (lower is better)")]
MEMORY_METRIC = "kib_per_conn"  # plotted at the largest connection count only


def write_plot(prefix, summaries, servers):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        log("gnuplot not found: no plot")
        return
    names = [s.name for s in servers if any(x.server == s.name and x.runs for x in summaries)]
    data_path = Path(f"{prefix}.dat")
    most = write_plot_data(data_path, summaries, names)
    titles = [title + (f" at {most} connections" if metric == MEMORY_METRIC else "")
              for metric, title in PLOT_METRICS]
    for terminal, ext in (("pngcairo size 1500,480 font ',10'", "png"), ("svg size 1500,480", "svg")):
        script = gnuplot_script(terminal, f"{prefix}.{ext}", data_path, len(names), titles)
        subprocess.run([gnuplot], input=script, text=True, check=True, timeout=60)
    log(f"plots: {prefix}.png {prefix}.svg (data {data_path})")


def write_plot_data(path, summaries, names):
    """One gnuplot data block per metric; returns the largest connection count."""
    scenarios = sorted({(s.connections, s.size) for s in summaries})
    table = {(s.connections, s.size, s.server): s for s in summaries}
    most = max(c for c, _ in scenarios)
    blocks = []
    for metric, _ in PLOT_METRICS:
        rows = ["scenario " + " ".join(names)]
        # A handful of connections spreads the server's fixed start-up growth
        # (a Python heap, say) over too few to mean anything per connection.
        for c, size in (s for s in scenarios if metric != MEMORY_METRIC or s[0] == most):
            cells = [str(getattr(table[(c, size, n)], metric)) if (c, size, n) in table else "NaN" for n in names]
            rows.append(f'"{c}c/{size}B" ' + " ".join(cells))
        blocks.append("\n".join(rows))
    path.write_text("\n\n\n".join(blocks) + "\n")
    return most


def gnuplot_script(terminal, out, data_path, nservers, titles):
    panels = []
    for i, title in enumerate(titles):
        panels.append(f"set title '{title}'\n"
                      f"plot for [col=2:{nservers + 1}] '{data_path}' index {i} using col:xtic(1) title columnheader")
    return (f"set terminal {terminal}\nset output '{out}'\n"
            "set style data histogram\nset style histogram cluster gap 1\n"
            "set style fill solid 0.8 border -1\nset grid ytics\nset yrange [0:*]\n"
            "set termoption noenhanced\nset key above\nset xtics rotate by -30\n"
            f"set multiplot layout 1,{len(titles)}\n" + "\n".join(panels) + "\nunset multiplot\n")


# ---------------------------------------------------------------- command line

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def int_list(text):
    return [int(x) for x in text.split(",") if x]


def parse_server(text):
    name, sep, cmd = text.partition("=")
    if not sep or not name or not cmd.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=CMD, got {text!r}")
    return ServerSpec(name, shlex.split(cmd))


def default_servers(build_dir):
    bench = Path(build_dir) / "benchmarks"
    servers = [ServerSpec("epoll", [str(bench / "epoll_echo"), "--port", "0"])]
    # The io_uring ceiling is built only where liburing is installed.
    if (bench / "uring_echo").exists():
        servers.append(ServerSpec("uring_c", [str(bench / "uring_echo"), "--port", "0"]))
    return servers + [
            ServerSpec("asio_spawn", [str(bench / "asio_spawn_echo"), "--port", "0"]),
            ServerSpec("gevent", ["/usr/bin/python3", str(REPO / "benchmarks/baselines/gevent_echo.py"),
                                  "--port", "0"])]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--server", action="append", type=parse_server, metavar="NAME=CMD",
                   help="a server to measure (repeatable); default: the baselines in --build-dir")
    p.add_argument("--build-dir", default=str(REPO / "build"), help="where benchmarks/ binaries are")
    p.add_argument("--loadgen", help="echo_loadgen binary (default: BUILD_DIR/benchmarks/echo_loadgen)")
    p.add_argument("--connections", type=int_list, default=[1, 100, 1000], help="comma list (default 1,100,1000)")
    p.add_argument("--sizes", type=int_list, default=[64, 4096], help="message sizes, comma list (default 64,4096)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per run (default 2)")
    p.add_argument("--connect-timeout", type=float, default=30.0, help="seconds to open all connections")
    p.add_argument("--reps", type=int, default=3, help="repetitions per scenario and server (default 3)")
    p.add_argument("--reference", default="epoll", help="server the ratios are taken against (default epoll)")
    p.add_argument("--server-cpus", "--server-cpu", type=int_list, default=[0],
                   help="CPUs for the server and its workers, comma list (default 0)")
    p.add_argument("--load-cpus", "--load-cpu", type=int_list, default=[1],
                   help="CPUs for the load generator, comma list (default 1); may overlap "
                        "--server-cpus, e.g. both 0,1 to give a multi-process server every CPU")
    p.add_argument("--nice", type=int, default=0,
                   help="niceness for server and load generator, e.g. -10 (root) on a machine shared "
                        "with builds: they then yield their CPUs to the benchmark (default 0)")
    noise.add_arguments(p, quick_help="10 connections x 64 B, one repetition of 0.5 s (smoke test)")
    # Loopback traffic's softirq work partly runs in ksoftirqd, which counts as "other".
    p.set_defaults(max_other_cpu=30.0)
    p.add_argument("--quiet-wait", type=float, default=60.0,
                   help="before each run, wait up to this many seconds for the machine to be "
                        "no busier than --max-other-cpu (0: don't wait; default 60)")
    p.add_argument("--json", help="write runs and summary to this file")
    p.add_argument("--plot", metavar="PREFIX", help="write PREFIX.png and PREFIX.svg (needs gnuplot)")
    args = p.parse_args(argv)
    args.loadgen = args.loadgen or str(Path(args.build_dir) / "benchmarks" / "echo_loadgen")
    args.gate = noise.gate_from_args(args)
    if args.quick:
        args.connections, args.sizes, args.reps = [10], [64], 1
        args.duration, args.warmup, args.quiet_wait = 0.5, 0.2, 0.0
    return args


def usable_servers(specs):
    """Drops servers whose executable is missing, with a note; the rest run."""
    usable, skipped = [], {}
    for spec in specs:
        if shutil.which(spec.argv[0]):
            usable.append(spec)
        else:
            skipped[spec.name] = f"command not found: {spec.argv[0]}"
            log(f"skipping {spec.name}: {skipped[spec.name]}")
    return usable, skipped


def check_cpu_sets(server_cpus, load_cpus, names=("--server-cpus", "--load-cpus")):
    """Exits on CPUs this process may not use, or on both sides confined to one
    and the same CPU (that would measure the scheduler, not the server);
    overlapping sets of several CPUs are allowed. False: no taskset, run unpinned."""
    if not shutil.which("taskset"):
        log("warning: taskset not found: running unpinned")
        return False
    allowed = os.sched_getaffinity(0)
    for name, cpus in zip(names, (server_cpus, load_cpus)):
        if not cpus or not set(cpus) <= allowed:
            sys.exit(f"{name} must list CPUs among {sorted(allowed)}, got {cpus}")
    if set(server_cpus) == set(load_cpus) and len(server_cpus) == 1:
        sys.exit(f"{names[0]} and {names[1]} are the same single CPU: server and load generator "
                 "would take turns on it")
    return True


def check_pinning(args):
    """One CPU each (args.server_cpu, args.load_cpu), as run_fairness_bench.py has them."""
    if not check_cpu_sets([args.server_cpu], [args.load_cpu], ("--server-cpu", "--load-cpu")):
        args.server_cpu = args.load_cpu = None


def check_cpus(args):
    if not check_cpu_sets(args.server_cpus, args.load_cpus):
        args.server_cpus = args.load_cpus = None
    elif set(args.server_cpus) & set(args.load_cpus):
        log(f"note: {placement(args)}")


def main(argv=None):
    args = parse_args(argv)
    if not os.access(args.loadgen, os.X_OK):
        sys.exit(f"load generator not found: {args.loadgen} (build the echo_loadgen target)")
    check_cpus(args)
    raise_fd_limit(max(args.connections))
    servers, skipped = usable_servers(args.server or default_servers(args.build_dir))
    if not servers:
        sys.exit("no server to measure")
    runs, run_skips = run_matrix(servers, args)
    skipped.update(run_skips)
    summaries = summarize(runs, servers, args.reference)
    noise.report(args.gate, placement(args), markdown(summaries, skipped, args))
    if args.json:
        write_json(args.json, runs, summaries, skipped, servers, args)
    if args.plot and summaries:
        write_plot(args.plot, summaries, servers)
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
