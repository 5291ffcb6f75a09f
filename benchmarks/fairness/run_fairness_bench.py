#!/usr/bin/env python3
"""Fairness benchmark driver: is a due timer or a new coroutine served on time
while the server's loop is saturated with echo traffic?

Three echo servers carry the same probe (benchmarks/fairness/probe.hpp and
gevent_fair_echo.py): a ticker that sleeps --tick-ms in a loop and records its
lateness (wake - deadline), and a spawner that every --spawn-every-ms spawns a
coroutine (greenlet) and records the delay to its first run. For each round
and server (the order rotates between rounds), it:

  1. starts the server pinned to one CPU (taskset -c 0), waits for
     "listening on PORT";
  2. starts echo_loadgen pinned to another CPU (taskset -c 1) in streaming mode
     (--pipeline N messages in flight on each of --connections connections, so
     the server always has data waiting and never idles);
  3. when the load generator opens its measured window, tells the server
     "start" on its stdin and samples the server's and the load generator's
     CPU time (/proc/PID/stat), the machine's busy time (/proc/stat) and the
     load average; at the window's end, "stop", the same samples, and reads the
     server's JSON line of percentiles;
  4. other CPU = the machine's busy time in the window minus the server's and
     the load generator's, in % of one core. A window above --max-other-cpu is
     noisy: it is rejected and the run redone (benchmarks/common/noise.py; up to --max-retries times; if
     every attempt is noisy the least noisy is kept and marked).

Prints a markdown table (medians over the rounds) on stdout and writes it, with
every run as JSON, under the build directory (--out). Builds nothing: build the
`fairness_bench` target (braid_fair_echo, asio_fair_echo, echo_loadgen) first.
Python standard library only; helpers shared with benchmarks/echo/run_echo_bench.py.
"""
import argparse
import contextlib
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks" / "echo"))
import run_echo_bench as echo  # noqa: E402  (shared /proc readers and process handling)

REPORT_TIMEOUT_S = 10.0
CONTRACT_US = 1000.0  # docs/design.md: p99 within 1 ms plus the longest single handler


@dataclass
class Run:
    server: str
    round: int
    attempt: int = 0
    lateness: dict = field(default_factory=dict)  # the probe's percentiles, µs
    spawn: dict = field(default_factory=dict)
    window_s: float = 0.0
    ticks_per_s: float = 0.0
    msgs_per_s: float = 0.0
    cpu_us_per_msg: float = 0.0
    server_cpu_pct: float = 0.0
    loadgen_cpu_pct: float = 0.0
    other_cpu_pct: float = 0.0
    loadavg: list = field(default_factory=list)  # 1-minute load average at window start, end
    noisy: bool = False
    error: str = ""


# ---------------------------------------------------------------- one run

class ProbedServer(echo.Server):
    """A server whose stdin is the probe's command channel (start, stop, EOF = exit)."""

    def __init__(self, spec, cpu, nice, workdir):
        self.spec = spec
        self.out_path = Path(workdir) / f"{spec.name}.out"
        self.err_path = Path(workdir) / f"{spec.name}.err"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(echo.pinned(spec.argv, cpu, nice), stdin=subprocess.PIPE,
                                         stdout=out, stderr=err, start_new_session=bool(nice))
        set_autogroup_nice(self.proc.pid, nice)
        self.port = self._wait_listening()

    def command(self, word):
        try:
            self.proc.stdin.write(f"{word}\n".encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise echo.RunFailed(f"server exited before '{word}': {echo.tail(self.err_path)}") from None

    def read_report(self):
        """The probe's JSON line, written by its own thread, so it comes even if the
        server's loop is stuck."""
        deadline = time.monotonic() + REPORT_TIMEOUT_S
        while time.monotonic() < deadline:
            for line in self.out_path.read_text(errors="replace").splitlines():
                if line.startswith("{"):
                    return json.loads(line)
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        raise echo.RunFailed(f"no report from the server: {echo.tail(self.err_path)}")

    def stop(self):
        """EOF on stdin ends the server at once; SIGTERM/SIGKILL if it does not."""
        try:
            self.proc.stdin.close()
            self.proc.wait(echo.SERVER_STOP_TIMEOUT_S)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            pass
        return echo.stop_process(self.proc)


def set_autogroup_nice(pid, nice):
    """With autogroup scheduling (kernel.sched_autogroup_enabled), a niceness counts only
    within the process's session: other sessions' builds still get an equal share of the
    CPU. The process runs in a session of its own (start_new_session), whose autogroup
    gets the niceness too."""
    if not nice:
        return
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))
    except OSError as exc:  # no autogroup support (then plain nice is enough), or not root
        echo.log(f"  note: could not set the autogroup niceness of {pid}: {exc}")


def sample(server_pid, loadgen_pid):
    try:
        return {"server": echo.proc_cpu_seconds(server_pid), "loadgen": echo.proc_cpu_seconds(loadgen_pid),
                "machine": echo.machine_busy_seconds(), "load1": os.getloadavg()[0],
                "t": time.monotonic()}
    except OSError:  # /proc/PID is gone
        raise echo.RunFailed("the server or the load generator died during the run") from None


def loadgen_argv(args, port):
    return [args.loadgen, "--host", "127.0.0.1", "--port", str(port), "--connections", str(args.connections),
            "--size", str(args.size), "--pipeline", str(args.pipeline), "--duration", str(args.duration),
            "--warmup", str(args.warmup), "--connect-timeout", str(args.connect_timeout)]


@contextlib.contextmanager
def load_generator(args, port, err_path):
    """echo_loadgen, pinned; killed on the way out if it is still running."""
    with open(err_path, "wb") as err:
        lg = subprocess.Popen(echo.pinned(loadgen_argv(args, port), args.load_cpu, args.nice),
                              stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                              start_new_session=bool(args.nice))
    set_autogroup_nice(lg.pid, args.nice)
    try:
        yield lg
    finally:
        if lg.poll() is None:
            lg.kill()
            lg.wait()
        lg.stdout.close()


def measure(server, args, run, workdir, window):
    """Opens the probe's window with the load generator's, samples CPU times at both
    ends, then collects the probe's report and the load generator's result."""
    err_path = Path(workdir) / "loadgen.err"
    deadline = time.monotonic() + args.connect_timeout + args.warmup + args.duration + echo.LOADGEN_SLACK_S
    with load_generator(args, server.port, err_path) as lg:
        try:
            reader = echo.LineReader(lg.stdout)
            echo.expect_phase(reader, deadline, "measure", err_path)
            server.command("start")
            window.open([server.pid, lg.pid])
            start = sample(server.pid, lg.pid)
            echo.expect_phase(reader, deadline, "end", err_path)
            server.command("stop")
            end = sample(server.pid, lg.pid)
            window.close()
            report = server.read_report()
            result = reader.read_json(deadline)
            lg.wait(max(0.1, deadline - time.monotonic()))
        except (echo.RunFailed, subprocess.TimeoutExpired) as exc:
            raise echo.RunFailed(f"{exc}; loadgen stderr: {echo.tail(err_path)}") from None
    if lg.returncode != 0 or result.get("errors"):
        why = result.get("error") or echo.tail(err_path)
        raise echo.RunFailed(f"load generator failed ({lg.returncode}): {why}")
    fill_run(run, report, result, start, end)


def fill_run(run, report, result, start, end):
    secs = end["t"] - start["t"]
    server_cpu = end["server"] - start["server"]
    loadgen_cpu = end["loadgen"] - start["loadgen"]
    if result["messages"] == 0:
        raise echo.RunFailed("no message echoed in the measured window")
    run.lateness, run.spawn, run.window_s = report["lateness"], report["spawn"], report["window_s"]
    run.ticks_per_s = run.lateness["count"] / max(run.window_s, 1e-9)
    run.msgs_per_s = result["msgs_per_s"]
    run.cpu_us_per_msg = server_cpu * 1e6 / result["messages"]
    run.server_cpu_pct = 100 * server_cpu / secs
    run.loadgen_cpu_pct = 100 * loadgen_cpu / secs
    run.other_cpu_pct = max(0.0, 100 * ((end["machine"] - start["machine"]) - server_cpu - loadgen_cpu) / secs)
    run.loadavg = [start["load1"], end["load1"]]


def run_once(spec, args, rnd, attempt, window):
    run = Run(server=spec.name, round=rnd, attempt=attempt)
    with tempfile.TemporaryDirectory(prefix="fair-bench-") as workdir:
        server = ProbedServer(spec, args.server_cpu, args.nice, workdir)
        try:
            measure(server, args, run, workdir, window)
        except echo.RunFailed as exc:
            run.error = str(exc)
        finally:
            server.stop()
    return run


def run_quietly(spec, args, rnd):
    """Redoes a noisy window through the shared gate (bounded). Returns the run kept and
    how many were rejected."""
    attempts = iter(range(1 + args.max_retries))

    def attempt(window):
        if args.quiet_wait > 0:
            echo.wait_for_quiet(args.quiet_wait, args.max_other_cpu)
            window.open()  # the wait is not part of the run
        return run_once(spec, args, rnd, next(attempts), window)

    m = args.gate.measure(attempt, label=spec.name)
    if not m.result.error:
        m.result.other_cpu_pct = m.window.other_pct
    m.result.noisy = m.noisy
    return m.result, m.rejected


def run_rounds(servers, args):
    runs, rejected, skipped = [], {s.name: 0 for s in servers}, {}
    for rnd in range(args.rounds):
        shift = rnd % len(servers)
        for spec in servers[shift:] + servers[:shift]:
            if spec.name in skipped:
                continue
            echo.log(f"[round {rnd + 1}/{args.rounds}] {spec.name} ...")
            try:
                run, noisy = run_quietly(spec, args, rnd)
            except echo.SkipServer as exc:
                skipped[spec.name] = str(exc)
                echo.log(f"  skipping {spec.name}: {exc}")
                continue
            runs.append(run)
            rejected[spec.name] += noisy
            echo.log(f"  {describe(run)}")
    return runs, rejected, skipped


def describe(run):
    if run.error:
        return f"FAILED: {run.error}"
    return (f"timer late p50/p99/max {ms(run.lateness, 'p50_us')}/{ms(run.lateness, 'p99_us')}/"
            f"{ms(run.lateness, 'max_us')} ms, spawn {ms(run.spawn, 'p50_us')}/{ms(run.spawn, 'p99_us')}/"
            f"{ms(run.spawn, 'max_us')} ms, {run.ticks_per_s:.0f} ticks/s, {run.msgs_per_s:,.0f} msgs/s, "
            f"{run.cpu_us_per_msg:.2f} µs CPU/msg, server CPU {run.server_cpu_pct:.0f}%, "
            f"loadgen {run.loadgen_cpu_pct:.0f}%, other {run.other_cpu_pct:.0f}%, load {run.loadavg[0]:.1f}")


def ms(percentiles, key):
    return f"{percentiles[key] / 1000:.2f}"


# ---------------------------------------------------------------- summary

@dataclass
class Summary:
    server: str
    runs: int
    lateness: dict
    spawn: dict
    ticks_per_s: float
    msgs_per_s: float
    cpu_us_per_msg: float
    server_cpu_pct: float
    other_cpu_pct: float
    noisy_kept: int
    rejected: int
    load_min: float
    load_max: float
    handler_us: float   # estimate of the longest single handler, see contract_lines()
    failed: list


PCT_KEYS = ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")


def summarize(runs, servers, rejected, args):
    out = []
    for spec in servers:
        group = [r for r in runs if r.server == spec.name]
        good = [r for r in group if not r.error]
        if not group:
            continue
        med = lambda get: statistics.median(get(r) for r in good) if good else 0.0  # noqa: E731
        cpu = med(lambda r: r.cpu_us_per_msg)
        out.append(Summary(
            server=spec.name, runs=len(good),
            lateness={k: med(lambda r, k=k: r.lateness[k]) for k in PCT_KEYS},
            spawn={k: med(lambda r, k=k: r.spawn[k]) for k in PCT_KEYS},
            ticks_per_s=med(lambda r: r.ticks_per_s), msgs_per_s=med(lambda r: r.msgs_per_s),
            cpu_us_per_msg=cpu, server_cpu_pct=med(lambda r: r.server_cpu_pct),
            other_cpu_pct=med(lambda r: r.other_cpu_pct), noisy_kept=sum(r.noisy for r in good),
            rejected=rejected.get(spec.name, 0),
            load_min=min((min(r.loadavg) for r in good), default=0.0),
            load_max=max((max(r.loadavg) for r in good), default=0.0),
            handler_us=cpu * args.pipeline, failed=[r.error for r in group if r.error]))
    return out


def markdown(summaries, skipped, args, started, load_before, load_after):
    lines = [
        f"Fairness under saturation: {args.connections} connections streaming {args.size} B messages, "
        f"{args.pipeline} in flight per connection; ticker every {args.tick_ms:g} ms, a spawn every "
        f"{args.spawn_every_ms:g} ms; {args.rounds} round(s) of {args.duration:g} s after {args.warmup:g} s "
        f"warm-up, servers alternating; server on CPU {args.server_cpu}, load generator on CPU {args.load_cpu}"
        + (f", both at nice {args.nice}" if args.nice else "") + "; "
        "medians over rounds (max = median of the rounds' maxima).",
        "",
        row(TABLE_COLUMNS),
        row(["---"] * 3 + ["---:"] * 6 + ["---"]),
    ]
    for s in summaries:
        lines.append(row([s.server, triple(s.lateness), triple(s.spawn), f"{s.ticks_per_s:,.0f}",
                          f"{s.msgs_per_s:,.0f}", f"{s.cpu_us_per_msg:.2f}", f"{s.server_cpu_pct:.0f}",
                          f"{s.rejected} ({s.noisy_kept})", f"{s.other_cpu_pct:.0f}",
                          f"{s.load_min:.1f}–{s.load_max:.1f}"] if s.runs else
                         [s.server, "failed", *[""] * 5, str(s.rejected), "", ""]))
    lines += ["", *contract_lines(summaries, args)]
    lines += ["", f"Machine: {os.cpu_count()} CPUs, Linux {os.uname().release}; started "
              f"{started:%Y-%m-%d %H:%M}; load average (1/5/15 min) before "
              f"{'/'.join(f'{x:.1f}' for x in load_before)}, after {'/'.join(f'{x:.1f}' for x in load_after)}. "
              f"A window counts as noisy when other processes used more than {args.max_other_cpu:g}% of a core "
              f"during it (up to {args.max_retries} retries per run)."]
    notes = [f"- **{name} skipped**: {why}" for name, why in skipped.items()]
    for s in summaries:
        notes += [f"- {s.server}: a run failed: {err}" for err in s.failed]
        if s.runs and s.server_cpu_pct < 90:
            notes.append(f"- {s.server}: server CPU {s.server_cpu_pct:.0f}% < 90%: not saturated (load generator "
                         "too slow, or the CPU shared with other processes)")
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines) + "\n"


TABLE_COLUMNS = ["server", "timer lateness p50 / p99 / max (ms)", "spawn→run p50 / p99 / max (ms)", "ticks/s",
                 "echo msgs/s", "server CPU µs/msg", "server CPU %", "noisy windows rejected (kept)",
                 "other CPU %", "load avg (1 min)"]


def row(cells):
    return "| " + " | ".join(cells) + " |"


def triple(p):
    return f"{p['p50_us'] / 1000:.2f} / {p['p99_us'] / 1000:.2f} / {p['max_us'] / 1000:.2f}"


def contract_lines(summaries, args):
    """The scheduling contract (docs/design.md): while the CPU is saturated with I/O, a
    due timer and a newly spawned coroutine run within 1 ms (p99) plus the longest single
    handler. An echo handler's activation handles at most the --pipeline messages in flight
    on its connection, so the longest one is estimated as CPU per message x pipeline."""
    out = [f"Contract: timer lateness and spawn delay p99 ≤ 1 ms + the longest single handler "
           f"(estimated as server CPU per message × {args.pipeline} messages in flight):"]
    for s in summaries:
        if not s.runs:
            continue
        bound = CONTRACT_US + s.handler_us
        ok = s.lateness["p99_us"] <= bound and s.spawn["p99_us"] <= bound
        out.append(f"- {s.server}: bound {bound / 1000:.2f} ms; timer p99 {s.lateness['p99_us'] / 1000:.2f} ms, "
                   f"spawn p99 {s.spawn['p99_us'] / 1000:.2f} ms: **{'met' if ok else 'not met'}**"
                   + (" (noisy windows kept: the CPU was shared)" if s.noisy_kept else ""))
    return out


# ---------------------------------------------------------------- command line

def default_servers(args):
    bench = Path(args.build_dir) / "benchmarks"
    probe = ["--port", "0", "--tick-ms", f"{args.tick_ms:g}", "--spawn-every-ms", f"{args.spawn_every_ms:g}"]
    return [echo.ServerSpec("braid", [str(bench / "braid_fair_echo"), *probe]),
            echo.ServerSpec("asio_spawn", [str(bench / "asio_fair_echo"), *probe]),
            echo.ServerSpec("gevent", [args.python, str(REPO / "benchmarks/fairness/gevent_fair_echo.py"), *probe])]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--build-dir", required=True, help="build tree holding benchmarks/ (fairness_bench target)")
    p.add_argument("--loadgen", help="echo_loadgen binary (default: BUILD_DIR/benchmarks/echo_loadgen)")
    p.add_argument("--python", default="/usr/bin/python3", help="interpreter with gevent (default /usr/bin/python3)")
    p.add_argument("--only", help="comma list of servers to run (braid,asio_spawn,gevent)")
    p.add_argument("--connections", type=int, default=1000, help="default 1000")
    p.add_argument("--size", type=int, default=64, help="message bytes (default 64)")
    p.add_argument("--pipeline", type=int, default=8, help="messages in flight per connection (default 8)")
    p.add_argument("--tick-ms", type=float, default=1.0, help="ticker period (default 1)")
    p.add_argument("--spawn-every-ms", type=float, default=10.0, help="spawn period (default 10)")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per run (default 5)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per run (default 2)")
    p.add_argument("--connect-timeout", type=float, default=30.0, help="seconds to open all connections")
    p.add_argument("--rounds", type=int, default=3, help="rounds, each running every server once (default 3)")
    p.add_argument("--server-cpu", type=int, default=0, help="CPU for the server (default 0)")
    p.add_argument("--load-cpu", type=int, default=1, help="CPU for the load generator (default 1)")
    p.add_argument("--nice", type=int, default=0,
                   help="niceness for server and load generator; -20 (root) on a machine shared with "
                        "builds gives them their CPUs nearly alone, though the windows still count as "
                        "noisy (default 0)")
    echo.noise.add_arguments(p, quick_help="100 connections, one round of 0.5 s (smoke test)")
    p.add_argument("--quiet-wait", type=float, default=10.0,
                   help="before each run, wait up to this many seconds for the machine to be no busier "
                        "than --max-other-cpu (0: don't wait; default 10)")
    p.add_argument("--out", help="markdown table goes here, and every run as JSON beside it "
                                 "(default BUILD_DIR/fairness/fairness.md)")
    args = p.parse_args(argv)
    args.loadgen = args.loadgen or str(Path(args.build_dir) / "benchmarks" / "echo_loadgen")
    args.out = Path(args.out or Path(args.build_dir) / "fairness" / "fairness.md")
    args.gate = echo.noise.gate_from_args(args)
    if args.quick:
        args.connections, args.rounds, args.duration, args.warmup, args.quiet_wait = 100, 1, 0.5, 0.2, 0.0
    if min(args.connections, args.size, args.pipeline, args.rounds) < 1 or args.max_retries < 0:
        p.error("--connections, --size, --pipeline and --rounds must be positive, --max-retries >= 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    if not os.access(args.loadgen, os.X_OK):
        sys.exit(f"load generator not found: {args.loadgen} (build the fairness_bench target)")
    echo.check_pinning(args)
    echo.raise_fd_limit(args.connections)
    specs = default_servers(args)
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - {s.name for s in specs}
        if unknown:
            sys.exit(f"--only: unknown server(s) {sorted(unknown)}; known: braid, asio_spawn, gevent")
        specs = [s for s in specs if s.name in wanted]
    servers, skipped = echo.usable_servers(specs)
    if not servers:
        sys.exit("no server to measure")
    started, load_before = datetime.datetime.now(), os.getloadavg()
    runs, rejected, run_skips = run_rounds(servers, args)
    skipped.update(run_skips)
    summaries = summarize(runs, servers, rejected, args)
    table = markdown(summaries, skipped, args, started, load_before, os.getloadavg())
    table += "\nCommand: `" + shlex.join([Path(sys.argv[0]).as_posix(), *(argv or sys.argv[1:])]) + "`\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pinning = f"server on CPU {args.server_cpu}, load generator on CPU {args.load_cpu}"
    state = echo.noise.report(args.gate, pinning, table, out=args.out)
    doc = {"config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "gate"},
           "machine": {**state, "kernel": os.uname().release},
           "runs": [asdict(r) for r in runs], "summary": [asdict(s) for s in summaries], "skipped": skipped}
    args.out.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
    echo.log(f"table: {args.out}; runs: {args.out.with_suffix('.json')}")
    return 1 if any(r.error for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
