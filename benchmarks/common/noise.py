"""Noise-rejecting measurement windows, shared by every benchmark driver.

A benchmark on a shared machine measures its neighbours too. Every driver runs each
measurement inside a window (Gate.measure): the window records the 1-minute load
average and the CPU time the *other* processes used meanwhile, i.e. the machine's busy
time (/proc/stat) minus the benchmark's own (this process and its reaped children by
getrusage, plus any still-running processes the driver names, from /proc/PID/stat).
A window where others used more than `limit_pct` % of one core is rejected and
re-measured; after `max_retries` re-measurements the least disturbed attempt is kept and
reported as NOISY, never silently accepted. The gate counts rejections and NOISY results
and describes the machine state (load, other CPU, CPU model, cores, pinning, date,
commit) for the report written beside each table.

Python standard library only. Every /proc path is read under `ProcReader.root`, so the
unit tests (tests/benchmarks/) feed synthetic samples.
"""
import datetime
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_LIMIT_PCT = 15.0
DEFAULT_MAX_RETRIES = 3


class ProcReader:
    """The /proc files the gate reads, under a root a test can replace."""

    def __init__(self, root="/proc", clk_tck=None):
        self.root = Path(root)
        self.clk_tck = clk_tck or os.sysconf("SC_CLK_TCK")

    def busy_seconds(self):
        """CPU time all CPUs spent not idle (first line of /proc/stat: every field but
        idle and iowait; guest time is already inside user/nice)."""
        fields = (self.root / "stat").read_text().split("\n", 1)[0].split()
        ticks = [int(x) for x in fields[1:9]]
        return (sum(ticks) - ticks[3] - ticks[4]) / self.clk_tck

    def load1(self):
        return float((self.root / "loadavg").read_text().split()[0])

    def pid_cpu_seconds(self, pid):
        """utime + stime of a live process (all its threads), or None once it is gone."""
        try:
            text = (self.root / str(pid) / "stat").read_text()
        except OSError:
            return None
        fields = text.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
        return (int(fields[11]) + int(fields[12])) / self.clk_tck

    def children(self, pid):
        """Direct children of every thread of pid."""
        out = []
        try:
            tasks = os.listdir(self.root / str(pid) / "task")
        except OSError:
            return out
        for tid in tasks:
            try:
                out += [int(x) for x in (self.root / str(pid) / "task" / tid / "children").read_text().split()]
            except OSError:
                pass
        return out

    def tree(self, pids):
        """pids and all their live descendants."""
        seen, todo = [], list(pids)
        while todo:
            pid = todo.pop()
            if pid not in seen:
                seen.append(pid)
                todo += self.children(pid)
        return seen


def own_rusage_seconds():
    """This process's CPU time plus that of its children it has reaped."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


@dataclass
class Sample:
    wall: float
    busy: float         # machine busy seconds
    rusage: float       # own_rusage_seconds()
    pids: dict          # pid -> CPU seconds of the named live processes (and descendants)
    load1: float


@dataclass
class WindowStats:
    seconds: float
    other_pct: float    # % of one core used by other processes during the window
    load1: float        # 1-minute load average as the window opened
    own_pct: float = 0.0

    def describe(self):
        return f"other processes {self.other_pct:.0f}% of a core, load {self.load1:.2f}"


def own_cpu_delta(start, end):
    """The benchmark's CPU time between two samples. A named process that vanished
    was reaped by us (its whole life is then in the children's rusage): what it had used
    before the window opened is taken back out."""
    own = end.rusage - start.rusage
    for pid, cpu in end.pids.items():
        own += cpu - start.pids.get(pid, 0.0)
    for pid, cpu in start.pids.items():
        if pid not in end.pids:
            own -= cpu
    return own


def window_stats(start, end):
    secs = max(end.wall - start.wall, 1e-9)
    own = own_cpu_delta(start, end)
    other = (end.busy - start.busy) - own
    return WindowStats(seconds=secs, other_pct=max(0.0, 100 * other / secs), load1=start.load1,
                       own_pct=max(0.0, 100 * own / secs))


class Meter:
    """Takes samples; every source is injectable for the tests."""

    def __init__(self, proc=None, clock=time.monotonic, rusage=own_rusage_seconds):
        self.proc = proc or ProcReader()
        self.clock, self.rusage = clock, rusage

    def sample(self, pids=()):
        cpu = {}
        for pid in self.proc.tree(pids):
            v = self.proc.pid_cpu_seconds(pid)
            if v is not None:
                cpu[pid] = v
        return Sample(wall=self.clock(), busy=self.proc.busy_seconds(), rusage=self.rusage(),
                      pids=cpu, load1=self.proc.load1())


class Window:
    """Handed to the measured function. By default the window spans the whole call; a
    driver whose measured phase is narrower (the echo load generator's "measure" .. "end")
    calls open() and close() itself, naming its live processes (their trees are followed)."""

    def __init__(self, meter):
        self.meter = meter
        self.start = self.end = None
        self.pids = ()

    def open(self, pids=()):
        self.pids = tuple(pids)
        self.start = self.meter.sample(self.pids)
        self.end = None

    def close(self, pids=None):
        self.end = self.meter.sample(self.pids if pids is None else pids)

    def stats(self):
        return window_stats(self.start, self.end)


@dataclass
class Measurement:
    result: object
    window: WindowStats
    rejected: int        # windows thrown away before this one
    noisy: bool          # True: every attempt was noisy; this is the least disturbed one


@dataclass
class Gate:
    limit_pct: float = DEFAULT_LIMIT_PCT
    max_retries: int = DEFAULT_MAX_RETRIES
    meter: Meter = field(default_factory=Meter)
    log: object = None           # callable(str); default: stderr
    rejected: int = 0            # windows rejected so far, over every measure()
    noisy: int = 0               # results kept although noisy
    windows: list = field(default_factory=list)  # WindowStats of every kept result

    def _log(self, msg):
        (self.log or (lambda m: print(m, file=sys.stderr, flush=True)))(msg)

    def measure(self, fn, label=""):
        """Runs fn(window) until a window is quiet (at most 1 + max_retries times)."""
        best, rejected = None, 0
        for attempt in range(1 + self.max_retries):
            window = Window(self.meter)
            window.open()
            result = fn(window)
            if window.end is None:
                window.close()
            stats = window.stats()
            if stats.other_pct <= self.limit_pct:
                return self._keep(Measurement(result, stats, rejected, noisy=False))
            rejected += 1
            self.rejected += 1
            self._log(f"  {label + ': ' if label else ''}noisy window rejected "
                      f"(attempt {attempt + 1}/{1 + self.max_retries}; {stats.describe()})")
            if best is None or stats.other_pct < best.window.other_pct:
                best = Measurement(result, stats, rejected, noisy=True)
        self.noisy += 1
        self._log(f"  {label + ': ' if label else ''}NOISY: every attempt was disturbed; keeping the "
                  f"least disturbed ({best.window.describe()})")
        best.rejected = rejected
        return self._keep(best)

    def _keep(self, m):
        self.windows.append(m.window)
        return m

    def counts_line(self):
        return (f"noise: {self.rejected} window(s) rejected, {self.noisy} result(s) NOISY "
                f"(limit {self.limit_pct:g}% of a core used by other processes, "
                f"up to {self.max_retries} retries)")


# ---------------------------------------------------------------- machine state

def cpu_model(proc_root="/proc"):
    try:
        for line in (Path(proc_root) / "cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def git_commit():
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
        return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if out.returncode == 0 else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_state(gate, pinning):
    """A dict of the conditions every figure of a table was measured in."""
    w = gate.windows
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "pinning": pinning,
        "load1_min": min((x.load1 for x in w), default=None),
        "load1_max": max((x.load1 for x in w), default=None),
        "other_cpu_pct_median": statistics.median(x.other_pct for x in w) if w else None,
        "other_cpu_pct_max": max((x.other_pct for x in w), default=None),
        "windows_kept": len(w),
        "windows_rejected": gate.rejected,
        "results_noisy": gate.noisy,
        "limit_pct": gate.limit_pct,
        "max_retries": gate.max_retries,
    }


def machine_state_markdown(state):
    """One paragraph, written beside (above) a table."""
    def rng(lo, hi, fmt):
        return "n/a" if lo is None else (format(lo, fmt) if lo == hi else f"{lo:{fmt}}–{hi:{fmt}}")
    other = ("n/a" if state["other_cpu_pct_median"] is None else
             f"median {state['other_cpu_pct_median']:.1f}%, max {state['other_cpu_pct_max']:.1f}% of a core")
    return (f"Machine state: {state['date']}, commit `{state['commit']}`, {state['cpu_model']}, "
            f"{state['cores']} cores; pinning: {state['pinning']}; load average (1 min) "
            f"{rng(state['load1_min'], state['load1_max'], '.2f')}; other processes' CPU in kept windows: "
            f"{other}; windows kept {state['windows_kept']}, rejected {state['windows_rejected']}, "
            f"NOISY results {state['results_noisy']} (limit {state['limit_pct']:g}% of a core, "
            f"{state['max_retries']} retries).")


# ---------------------------------------------------------------- shared command line and helpers

def add_arguments(parser, quick_help="a short run: small sizes, one round (smoke test)"):
    parser.add_argument("--max-other-cpu", type=float, default=DEFAULT_LIMIT_PCT,
                        help="%% of a core other processes may use in a window before it is rejected "
                             f"(default {DEFAULT_LIMIT_PCT:g})")
    parser.add_argument("--max-retries", "--noisy-retries", dest="max_retries", type=int,
                        default=DEFAULT_MAX_RETRIES,
                        help=f"re-measure a noisy window at most this many times, then report it NOISY "
                             f"(default {DEFAULT_MAX_RETRIES})")
    parser.add_argument("--quick", action="store_true", help=quick_help)


def gate_from_args(args):
    if args.max_other_cpu < 0 or args.max_retries < 0:
        sys.exit("--max-other-cpu and --max-retries must not be negative")
    return Gate(limit_pct=args.max_other_cpu, max_retries=args.max_retries)


def pinned(argv, cpu):
    """argv run on one CPU (taskset -c), or unchanged when cpu is None or there is no taskset."""
    if cpu is None or not shutil.which("taskset"):
        return list(argv)
    return ["taskset", "-c", str(cpu), *argv]


def label(cmd):
    """A short name for a command in the log: its program (or script) without a taskset prefix."""
    cmd = list(cmd)
    if cmd[:1] == ["taskset"]:
        cmd = cmd[3:]
    words = [os.path.basename(c) for c in cmd[:2]]
    return " ".join(words[1:] if words[0].startswith("python") else words[:1])


def default_cpus():
    """Server (or the measured side) on CPU 0, load on CPU 1, when both may be used."""
    allowed = os.sched_getaffinity(0)
    return (0, 1) if {0, 1} <= allowed else (None, None)


def alternate(variants, rounds):
    """[(round, name)] in an order that rotates each round, so drift and neighbours
    spread over every variant rather than always hitting the one that runs first."""
    names = list(variants)
    order = []
    for r in range(rounds):
        shift = r % len(names) if names else 0
        order += [(r, n) for n in names[shift:] + names[:shift]]
    return order


def report(gate, pinning, text, out=None, json_out=None):
    """Prints (and writes to `out`) the machine state, then the table, then the counts."""
    import json
    state = machine_state(gate, pinning)
    full = machine_state_markdown(state) + "\n\n" + text.rstrip("\n") + "\n"
    print(full, end="")
    print(gate.counts_line(), file=sys.stderr)
    if out:
        Path(out).write_text(full)
    if json_out:
        Path(json_out).write_text(json.dumps(state, indent=2) + "\n")
    return state
