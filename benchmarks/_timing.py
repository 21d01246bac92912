"""Timing helpers shared by the benchmarks (not a benchmark: ``python -m benchmarks`` runs ``bench_*`` only)."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable


def median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    """Median wall time in seconds of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (``/proc/loadavg``): other work on the machine skews ratios."""
    with open('/proc/loadavg') as file:
        return ' '.join(file.read().split()[:3])


def worker_memory() -> list[dict[str, float]]:
    """RSS, unique (USS) and proportional (PSS, nan where the OS has none) bytes of each child process."""
    import psutil

    rows = []
    for child in psutil.Process().children():
        info = child.memory_full_info()
        rows.append({'rss': info.rss, 'uss': info.uss, 'pss': getattr(info, 'pss', float('nan'))})
    return rows
