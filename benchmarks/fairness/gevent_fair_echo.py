#!/usr/bin/python3
"""gevent_fair_echo: the gevent echo server with the fairness probe inside.

A gevent StreamServer (a greenlet per connection, recv(4096) + sendall), plus
  - a ticker greenlet: gevent.sleep(tick) in a loop, lateness = wake - deadline;
  - a spawner greenlet: every spawn period, gevent.spawn a greenlet and measure
    the delay from the spawn call to its first line.
Same protocol as the C++ servers (benchmarks/fairness/probe.hpp): prints
"listening on PORT", then a plain thread (gevent does not patch threading here)
takes commands on stdin: "start" opens the window, "stop" prints one JSON line,
EOF exits. A wake or first run still pending at "stop" counts as a sample.

Run it with the system interpreter (/usr/bin/python3, where Debian's
python3-gevent lives). Exits 77 (the "skipped" code) without gevent.

Usage: /usr/bin/python3 gevent_fair_echo.py [--port P] [--tick-ms T] [--spawn-every-ms S]
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

try:
    import gevent
    from gevent.server import StreamServer
except ImportError as exc:  # let the benchmark driver report a skip, not a crash
    print(f"gevent_fair_echo: gevent is not available: {exc}", file=sys.stderr)
    sys.exit(77)

# The echo handler is the echo benchmark's (recv(4096) + sendall, TCP_NODELAY).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "baselines"))
from gevent_echo import echo  # noqa: E402
now_ns = time.monotonic_ns  # CLOCK_MONOTONIC, as the runner's and the C++ servers'


class Probe:
    """Samples from the loop; report() runs on the control thread. Every update is
    one bytecode-level operation or under the lock, so the GIL keeps them whole."""

    def __init__(self, tick_s, spawn_every_s):
        self.tick_s, self.spawn_every_s = tick_s, spawn_every_s
        self.lock = threading.Lock()
        self.recording = False
        self.window_start = 0
        self.ticker_deadline = 0  # 0: the ticker is not sleeping
        self.spawn_id = 0
        self.pending = {}  # spawn id -> when spawned
        self.lateness, self.spawn_delay = [], []

    def ticker(self):
        while True:
            self.ticker_deadline = now_ns() + int(self.tick_s * 1e9)
            gevent.sleep(self.tick_s)
            now = now_ns()
            with self.lock:
                if self.recording:
                    self.lateness.append(max(0, now - self.ticker_deadline))
                self.ticker_deadline = 0

    def spawner(self):
        while True:
            gevent.sleep(self.spawn_every_s)
            self.spawn_id += 1
            self.pending[self.spawn_id] = now_ns()
            gevent.spawn(self.spawned, self.spawn_id)

    def spawned(self, spawn_id):
        now = now_ns()
        with self.lock:
            at = self.pending.pop(spawn_id, None)
            if at is not None and self.recording and at >= self.window_start:
                self.spawn_delay.append(now - at)

    def start_window(self):
        with self.lock:
            self.lateness, self.spawn_delay = [], []
            self.window_start = now_ns()
            self.recording = True

    def report(self):
        with self.lock:
            end = now_ns()
            self.recording = False
            lateness, delay = self.lateness, self.spawn_delay
            self.lateness, self.spawn_delay = [], []
            pending_ticks = pending_spawns = 0
            if 0 < self.ticker_deadline < end:
                lateness.append(end - self.ticker_deadline)
                pending_ticks = 1
            for at in list(self.pending.values()):
                if at >= self.window_start:
                    delay.append(end - at)
                    pending_spawns += 1
        line = {"server": "gevent", "window_s": round((end - self.window_start) / 1e9, 3),
                "tick_ms": self.tick_s * 1e3, "spawn_every_ms": self.spawn_every_s * 1e3,
                "lateness": percentiles(lateness, pending_ticks),
                "spawn": percentiles(delay, pending_spawns)}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    def control_loop(self):
        for line in sys.stdin:
            if line.strip() == "start":
                self.start_window()
            elif line.strip() == "stop":
                self.report()
        sys.stdout.flush()
        os._exit(0)


def percentiles(samples, pending):
    """Nearest rank on (n - 1), as the C++ probe's."""
    samples.sort()
    out = {"count": len(samples), "pending": pending}
    for name, q in (("p50_us", 0.5), ("p90_us", 0.9), ("p99_us", 0.99), ("p999_us", 0.999)):
        out[name] = round(samples[int(q * (len(samples) - 1))] / 1e3, 1) if samples else 0.0
    out["max_us"] = round(samples[-1] / 1e3, 1) if samples else 0.0
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tick-ms", type=float, default=1.0)
    parser.add_argument("--spawn-every-ms", type=float, default=10.0)
    args = parser.parse_args()
    if args.tick_ms <= 0 or args.spawn_every_ms <= 0:
        parser.error("--tick-ms and --spawn-every-ms must be positive")

    probe = Probe(args.tick_ms / 1e3, args.spawn_every_ms / 1e3)
    server = StreamServer(("127.0.0.1", args.port), echo, backlog=socket.SOMAXCONN)
    server.start()
    gevent.spawn(probe.ticker)
    gevent.spawn(probe.spawner)
    threading.Thread(target=probe.control_loop, daemon=True).start()
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
