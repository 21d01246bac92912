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
