"""Unit tests of the benchmark drivers' noise gate (benchmarks/common/noise.py), on
synthetic /proc samples: a fake /proc tree in a temporary folder whose counters each
test advances as if the window's work had run."""
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "common"))
import noise  # noqa: E402

TCK = 100  # jiffies per second in the synthetic /proc


class FakeMachine:
    """A /proc with /proc/stat, /proc/loadavg and /proc/cpuinfo, a clock and an rusage
    counter, all advanced by hand."""

    def __init__(self, root):
        self.root = Path(root)
        self.busy_jiffies = 0
        self.load = 0.2
        self.now = 100.0
        self.own = 0.0
        (self.root / "cpuinfo").write_text("processor : 0\nmodel name : Synthetic CPU @ 1 GHz\n")
        self.write()

    def write(self):
        # user nice system idle iowait irq softirq steal: the busy share is in user only.
        (self.root / "stat").write_text(f"cpu  {self.busy_jiffies} 0 0 500000 700 0 0 0 0 0\ncpu0 0 0 0 0\n")
        (self.root / "loadavg").write_text(f"{self.load:.2f} 0.10 0.05 1/100 4242\n")

    def process(self, pid, utime, stime, children=()):
        task = self.root / str(pid) / "task" / str(pid)
        task.mkdir(parents=True, exist_ok=True)
        # The name holds spaces and a parenthesis, as a real comm may.
        fields = ["S"] + ["0"] * 10 + [str(utime), str(stime)] + ["0"] * 30
        (self.root / str(pid) / "stat").write_text(f"{pid} (a (b) c) " + " ".join(fields) + "\n")
        (task / "children").write_text(" ".join(map(str, children)))

    def run(self, seconds, own_cpu, other_cpu):
        """The window's work: `own_cpu` seconds by the benchmark (rusage), `other_cpu` by others."""
        self.now += seconds
        self.own += own_cpu
        self.busy_jiffies += round((own_cpu + other_cpu) * TCK)
        self.write()

    def meter(self):
        return noise.Meter(proc=noise.ProcReader(self.root, clk_tck=TCK), clock=lambda: self.now,
                           rusage=lambda: self.own)


class GateTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.machine = FakeMachine(self.tmp.name)
        self.logs = []

    def tearDown(self):
        self.tmp.cleanup()

    def gate(self, **kw):
        return noise.Gate(meter=self.machine.meter(), log=self.logs.append, **kw)

    def test_quiet_window_is_accepted_first_time(self):
        gate = self.gate(limit_pct=15, max_retries=3)
        calls = []

        def work(window):
            calls.append(1)
            self.machine.run(seconds=2.0, own_cpu=2.0, other_cpu=0.1)  # others: 5% of a core
            return "figures"

        m = gate.measure(work)
        self.assertEqual(m.result, "figures")
        self.assertEqual(len(calls), 1)
        self.assertFalse(m.noisy)
        self.assertEqual(m.rejected, 0)
        self.assertAlmostEqual(m.window.other_pct, 5.0, places=3)
        self.assertAlmostEqual(m.window.own_pct, 100.0, places=3)
        self.assertAlmostEqual(m.window.load1, 0.2)
        self.assertEqual((gate.rejected, gate.noisy), (0, 0))
        self.assertEqual(self.logs, [])

    def test_busy_window_is_rejected_and_retried(self):
        gate = self.gate(limit_pct=15, max_retries=3)
        others = iter([0.8, 0.1])  # 40% of a core, then 5%

        def work(window):
            self.machine.run(seconds=2.0, own_cpu=1.0, other_cpu=next(others))
            return len(gate.windows)

        m = gate.measure(work, label="braid")
        self.assertFalse(m.noisy)
        self.assertEqual(m.rejected, 1)
        self.assertAlmostEqual(m.window.other_pct, 5.0, places=3)
        self.assertEqual((gate.rejected, gate.noisy), (1, 0))
        self.assertEqual(len(self.logs), 1)
        self.assertIn("braid: noisy window rejected", self.logs[0])
        self.assertIn("40% of a core", self.logs[0])

    def test_retry_cap_reports_noisy_with_the_least_disturbed_attempt(self):
        gate = self.gate(limit_pct=15, max_retries=2)
        others = iter([0.9, 0.5, 0.7])  # 45%, 25%, 35% of a core: never quiet
        attempts = []

        def work(window):
            self.machine.run(seconds=2.0, own_cpu=1.0, other_cpu=next(others))
            attempts.append(len(attempts))
            return attempts[-1]

        m = gate.measure(work)
        self.assertEqual(len(attempts), 3)  # 1 + max_retries, then it stops
        self.assertTrue(m.noisy)
        self.assertEqual(m.result, 1)
        self.assertEqual(m.rejected, 3)
        self.assertAlmostEqual(m.window.other_pct, 25.0, places=3)
        self.assertEqual((gate.rejected, gate.noisy), (3, 1))
        self.assertEqual(len(gate.windows), 1)
        self.assertIn("NOISY", self.logs[-1])
        self.assertIn("NOISY", gate.counts_line().upper())

    def test_zero_retries_measures_once(self):
        gate = self.gate(limit_pct=15, max_retries=0)

        def work(window):
            self.machine.run(seconds=1.0, own_cpu=0.0, other_cpu=1.0)

        m = gate.measure(work)
        self.assertTrue(m.noisy)
        self.assertEqual((gate.rejected, gate.noisy), (1, 1))

    def test_named_processes_count_as_own_cpu(self):
        """A server still running when the window closes is the benchmark's, not noise;
        its children (pre-forked workers) too."""
        gate = self.gate(limit_pct=15, max_retries=0)
        self.machine.process(500, utime=100, stime=50, children=[501])
        self.machine.process(501, utime=10, stime=0)

        def work(window):
            window.open([500])
            self.machine.run(seconds=1.0, own_cpu=0.0, other_cpu=1.6)  # 1.6 s busy in all
            self.machine.process(500, utime=180, stime=50, children=[501])  # +0.8 s
            self.machine.process(501, utime=80, stime=0)  # +0.7 s
            window.close()

        m = gate.measure(work)
        self.assertFalse(m.noisy)
        self.assertAlmostEqual(m.window.other_pct, 10.0, places=3)

    def test_reaped_process_is_not_counted_twice(self):
        """A named process that exits and is reaped in the window shows up in the children's
        rusage with its whole life: what it had used before the window is taken out."""
        self.machine.process(600, utime=300, stime=0)  # 3 s before the window
        meter = self.machine.meter()
        start = meter.sample([600])
        self.machine.own += 3.0  # reaped: the children's rusage gets its whole 3.5 s life ...
        self.machine.run(seconds=1.0, own_cpu=0.5, other_cpu=0.0)  # ... 0.5 s of it in the window
        import shutil
        shutil.rmtree(Path(self.tmp.name) / "600")
        end = meter.sample([600])
        self.assertAlmostEqual(noise.own_cpu_delta(start, end), 0.5)
        self.assertAlmostEqual(noise.window_stats(start, end).other_pct, 0.0, places=3)

    def test_machine_state_describes_the_windows(self):
        gate = self.gate(limit_pct=15, max_retries=1)
        others = iter([0.1, 0.9, 0.2])
        for _ in range(2):
            gate.measure(lambda w: self.machine.run(seconds=2.0, own_cpu=1.0, other_cpu=next(others)))
        state = noise.machine_state(gate, "server on CPU 0, load on CPU 1")
        self.assertEqual(state["windows_kept"], 2)
        self.assertEqual(state["windows_rejected"], 1)
        self.assertEqual(state["results_noisy"], 0)
        self.assertAlmostEqual(state["other_cpu_pct_max"], 10.0, places=3)
        text = noise.machine_state_markdown(state)
        for part in ("Machine state:", "server on CPU 0, load on CPU 1", "rejected 1", "NOISY results 0",
                     "load average (1 min) 0.20"):
            self.assertIn(part, text)

    def test_alternation_rotates_the_order(self):
        self.assertEqual(noise.alternate(["a", "b", "c"], 2),
                         [(0, "a"), (0, "b"), (0, "c"), (1, "b"), (1, "c"), (1, "a")])

    def test_busy_seconds_excludes_idle_and_iowait(self):
        reader = noise.ProcReader(self.tmp.name, clk_tck=TCK)
        self.machine.run(seconds=1, own_cpu=0, other_cpu=2.5)
        self.assertAlmostEqual(reader.busy_seconds(), 2.5)

    def test_pid_cpu_of_a_missing_process_is_none(self):
        self.assertIsNone(noise.ProcReader(self.tmp.name).pid_cpu_seconds(99999))


if __name__ == "__main__":
    unittest.main()
