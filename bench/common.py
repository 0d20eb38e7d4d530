"""Helpers shared by the benchmark scripts (run them as `python bench/NAME.py`, which puts this folder on the path)."""
import statistics, time

def timeit(f, reps:int, warmup:int=1):
    "Median seconds of `reps` calls of `f` after `warmup` calls."
    for _ in range(warmup): f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)
