"""Baseline for process_bench: multiprocessing.Queue throughput, one producer process,
the parent consuming. Prints the elapsed seconds for N items (argv[1])."""
import multiprocessing as mp
import sys
import time


def producer(q, n):
    for i in range(n):
        q.put(i)


if __name__ == "__main__":
    n = int(sys.argv[1])
    q = mp.Queue()
    t0 = time.perf_counter()
    p = mp.Process(target=producer, args=(q, n))
    p.start()
    total = 0
    for _ in range(n):
        total += q.get()
    t1 = time.perf_counter()
    p.join()
    assert total == n * (n - 1) // 2
    print(f"{t1 - t0:.6f}")
