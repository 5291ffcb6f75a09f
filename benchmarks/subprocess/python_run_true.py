"""Python's subprocess.run(['true']) N times; prints the mean microseconds per child.

The baseline for braid's subprocess::run({"true"}) (run_subprocess_bench.py).
Usage: python3 python_run_true.py N
"""
import subprocess
import sys
import time

n = int(sys.argv[1])
subprocess.run(['true'], check=True)  # warm: imports, PATH lookups cached by the OS
start = time.perf_counter()
for _ in range(n):
    subprocess.run(['true'], check=True)
print('%.1f' % ((time.perf_counter() - start) / n * 1e6))
