#!/usr/bin/python3
"""The sync-vs-async benchmark in Python: gevent for the sleep- and I/O-bound work,
multiprocessing for the CPU-bound work — the same workloads as sync_vs_async.cpp, so the
driver can report braid/Python ratios. Needs Debian's python3-gevent (/usr/bin/python3).

Usage: sync_vs_async.py [--quick] [--json FILE]
"""
import argparse
import json
import multiprocessing
import os
import time

import gevent
from gevent import monkey
from gevent.server import StreamServer
import gevent.socket as gsocket

SERVER_DELAY = 0.010


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def sleep_bound(rows, count, sequential_too):
    name = f"sleep 0.5 s x {count}"
    if sequential_too:
        t0 = time.perf_counter()
        for _ in range(count):
            gevent.sleep(0.5)
        rows.append({"workload": name, "mode": "sequential", "seconds": time.perf_counter() - t0,
                     "kib_per_task": -1})
    rss0 = rss_kib()
    peak = [rss0]
    t0 = time.perf_counter()
    tasks = [gevent.spawn(gevent.sleep, 0.5) for _ in range(count)]

    def sample():
        gevent.sleep(0.25)
        peak[0] = rss_kib()

    gevent.spawn(sample).join()
    gevent.joinall(tasks)
    rows.append({"workload": name, "mode": "coroutines", "seconds": time.perf_counter() - t0,
                 "kib_per_task": (peak[0] - rss0) / count})


def echo_handler(sock, _addr):
    while True:
        data = sock.recv(4096)
        if not data:
            return
        gevent.sleep(SERVER_DELAY)
        sock.sendall(data)


def serve(port_queue):
    server = StreamServer(("127.0.0.1", 0), echo_handler)
    server.start()
    port_queue.put(server.server_port)
    server.serve_forever()


def one_request(port, i):
    s = gsocket.create_connection(("127.0.0.1", port), timeout=10)
    msg = b"request %08d" % i
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        chunk = s.recv(len(msg) - len(got))
        if not chunk:
            raise RuntimeError("server closed early")
        got += chunk
    s.close()
    if got != msg:
        raise RuntimeError("echo mismatch")


def io_bound(rows, count):
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    server = ctx.Process(target=serve, args=(q,), daemon=True)
    server.start()
    port = q.get(timeout=10)
    name = f"{count} requests, 10 ms server"
    t0 = time.perf_counter()
    for i in range(count):
        one_request(port, i)
    rows.append({"workload": name, "mode": "sequential", "seconds": time.perf_counter() - t0,
                 "kib_per_task": -1})
    t0 = time.perf_counter()
    jobs = [gevent.spawn(one_request, port, i) for i in range(count)]
    gevent.joinall(jobs, raise_error=True)
    rows.append({"workload": name, "mode": "coroutines", "seconds": time.perf_counter() - t0,
                 "kib_per_task": -1})
    server.terminate()
    server.join()


def sum_loop(iterations):
    num = 0
    for i in range(iterations):
        num += i
    return num


def cpu_bound(rows, iterations, tasks):
    work = [iterations] * tasks
    name = f"{tasks} x sum of {iterations // 1_000_000}M ints"
    t0 = time.perf_counter()
    check = sum(sum_loop(n) for n in work)
    rows.append({"workload": name, "mode": "sequential", "seconds": time.perf_counter() - t0,
                 "kib_per_task": -1})
    with multiprocessing.get_context("fork").Pool() as pool:
        pool.apply(sum_loop, (1,))
        t0 = time.perf_counter()
        got = sum(pool.map(sum_loop, work, 1))
        rows.append({"workload": name, "mode": f"pool of {os.cpu_count()} processes",
                     "seconds": time.perf_counter() - t0, "kib_per_task": -1})
    if got != check:
        raise RuntimeError("pool results differ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--cpu-iterations", type=int, default=None)
    args = ap.parse_args()
    monkey.patch_all(thread=False, subprocess=False)
    rows = []
    sleep_bound(rows, 10, True)
    sleep_bound(rows, 1000 if args.quick else 10000, False)
    if not args.quick:
        sleep_bound(rows, 100000, False)
    io_bound(rows, 20 if args.quick else 100)
    # The seed's own size: task_process(3) = 30M iterations per task.
    iterations = args.cpu_iterations or (2_000_000 if args.quick else 30_000_000)
    cpu_bound(rows, iterations, 2 * os.cpu_count())
    for r in rows:
        kib = f"{r['kib_per_task']:.2f}" if r["kib_per_task"] >= 0 else "-"
        print(f"{r['workload']:34} {r['mode']:22} {r['seconds']:12.3f} {kib:>14}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
