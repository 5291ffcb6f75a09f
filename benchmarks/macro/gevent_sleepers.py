#!/usr/bin/env python3
"""gevent baseline for braid's many_sleepers: N greenlets each sleep, then all are joined.

Prints the same JSON object as benchmarks/macro/many_sleepers.cpp. When gevent is not
installed it prints {"impl": "gevent", "skipped": "..."} and exits 0, so a benchmark run
on a machine without it still completes.

Usage: gevent_sleepers.py [--count N] [--sleep-ms MS]     (N = 100000, MS = 500)
"""
import argparse
import json
import resource
import sys
import time


def read_mem():
    """VmRSS, VmHWM and VmPTE of this process in KiB."""
    out = {"VmRSS": 0, "VmHWM": 0, "VmPTE": 0}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in out:
                out[key] = int(rest.split()[0])
    return out


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def count_mappings():
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--sleep-ms", type=int, default=500)
    args = ap.parse_args()
    if args.count <= 0 or args.sleep_ms < 0:
        ap.error("--count must be positive and --sleep-ms not negative")
    try:
        import gevent
    except ImportError as e:
        print(json.dumps({"impl": "gevent", "skipped": f"gevent is not installed ({e})"}))
        return 0

    nap = args.sleep_ms / 1000.0
    gevent.get_hub()  # the hub and its loop exist before the baseline reading
    before = read_mem()
    u0, s0 = cpu()
    t0 = time.monotonic()

    greenlets = [gevent.spawn(gevent.sleep, nap) for _ in range(args.count)]
    t_spawned = time.monotonic()

    sample = {}

    def sampler():
        # Greenlets start in spawn order, so every sleeper is asleep by now.
        sample["t"] = time.monotonic()
        sample["cpu"] = cpu()
        sample["mem"] = read_mem()

    gevent.joinall([gevent.spawn(sampler)])
    gevent.joinall(greenlets)
    t_done = time.monotonic()

    u1, s1 = cpu()
    after = read_mem()
    failed = sum(1 for g in greenlets if not g.successful())
    n = float(args.count)
    wall = t_done - t0
    up, sp = sample["cpu"]
    result = {
        "impl": "gevent",
        "gevent_version": gevent.__version__,
        "python": sys.version.split()[0],
        "count": args.count,
        "sleep_ms": args.sleep_ms,
        "wall_s": round(wall, 4),
        "overhead_s": round(wall - nap, 4),
        "spawn_s": round(t_spawned - t0, 4),
        "all_parked_s": round(sample["t"] - t0, 4),
        "cpu_user_s": round(u1 - u0, 4),
        "cpu_sys_s": round(s1 - s0, 4),
        "cpu_s": round(u1 - u0 + s1 - s0, 4),
        "cpu_to_parked_s": round(up - u0 + sp - s0, 4),
        "sys_to_parked_s": round(sp - s0, 4),
        "rss_before_kib": before["VmRSS"],
        "rss_sleeping_kib": sample["mem"]["VmRSS"],
        "hwm_kib": after["VmHWM"],
        "rss_per_coro_kib": round((sample["mem"]["VmRSS"] - before["VmRSS"]) / n, 3),
        "peak_per_coro_kib": round((after["VmHWM"] - before["VmRSS"]) / n, 3),
        "pte_per_coro_kib": round((sample["mem"]["VmPTE"] - before["VmPTE"]) / n, 3),
        "mappings": count_mappings(),
        "failed": failed,
    }
    print(json.dumps(result))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
