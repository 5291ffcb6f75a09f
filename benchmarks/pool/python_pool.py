"""Python baselines for the pool benchmarks (multiprocessing.Pool, fork start method).

    python3 python_pool.py map [items=1000000] [repeats=7]
        -> "map_items_per_s <median> cpu_ns_per_item <parent and workers' CPU per item>"
    python3 python_pool.py rtt [iterations=5000] [block=500] -> "rtt_us <median>"
"""
import multiprocessing as mp
import os
import statistics
import sys
import time


def square(x):
    return x * x


def identity(x):
    return x


def cpu_seconds(pid):
    """User + system seconds of `pid` (0: this process), all its threads: the pool's
    task and result handler threads pickle and unpickle (/proc/<pid>/stat, in ticks)."""
    with open(f"/proc/{pid or 'self'}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "map"
    mp.set_start_method("fork")
    if mode == "map":
        items = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
        repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 7
        data = [i % 1000 for i in range(items)]
        with mp.Pool() as pool:
            pool.map(square, data)  # warm up
            procs = [0] + [p.pid for p in pool._pool]
            cpu0 = sum(cpu_seconds(p) for p in procs)
            rates = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                out = pool.map(square, data)  # default chunking
                rates.append(items / (time.perf_counter() - t0))
                assert len(out) == items
            cpu_ns = (sum(cpu_seconds(p) for p in procs) - cpu0) * 1e9 / (items * repeats)
            print(f"map_items_per_s {statistics.median(rates):.0f} cpu_ns_per_item {cpu_ns:.2f} "
                  f"workers {pool._processes}")
    else:
        iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
        block = int(sys.argv[3]) if len(sys.argv) > 3 else 500
        with mp.Pool(1) as pool:
            for i in range(500):
                pool.apply(identity, (i,))
            means = []
            for _ in range(iterations // block):
                t0 = time.perf_counter()
                for i in range(block):
                    pool.apply(identity, (i,))
                means.append((time.perf_counter() - t0) / block * 1e6)
            print(f"rtt_us {statistics.median(means):.2f}")


if __name__ == "__main__":
    main()
