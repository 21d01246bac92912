"""Stitching a huge output with disk canvases in bounded memory (SPEC §8, issue 6).

Stitches an ``H x W x 2`` float32 prediction (default 20000 x 20000, 3.2 GB) with
``CocoStitchingManager(memmap=True)`` from 1024 x 1024 windows, then finalizes it into a
quantized COG, while a thread samples this process's RSS (psutil). Prints:

* the median time to add one window to the disk canvas, and its ratio to adding the same
  window to fresh in-RAM canvases measured in the same run (the reference; both first-touch);
* finalize + write time;
* peak RSS (sampled and the kernel's ``ru_maxrss``) against the 1 GiB budget and the
  canvas size; exits non-zero (AssertionError) when the budget is exceeded.

``--size=N`` stitches an N x N output instead (e.g. ``--size=4096`` for a quick run).
"""
from __future__ import annotations

import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

import kwcoco
import numpy as np
import psutil

from ndsampler.stitch import CocoStitchingManager, Stitcher

BUDGET = 2 ** 30
WINDOW = 1024
BANDS = 2


class _RssSampler(threading.Thread):
    """Samples this process's RSS every few milliseconds and keeps the peak."""

    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = 0
        self._halt = threading.Event()
        self._proc = psutil.Process()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(self.interval)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak


def _reference_add_times(window: np.ndarray, repeats: int = 4) -> list[float]:
    """Per-window add times into fresh in-RAM canvases (4 x 4 windows each): the same first-touch work."""
    times = []
    for _ in range(repeats):
        stitcher = Stitcher((4 * WINDOW, 4 * WINDOW, BANDS))
        for y in range(0, 4 * WINDOW, WINDOW):
            for x in range(0, 4 * WINDOW, WINDOW):
                t0 = time.perf_counter()
                stitcher.add((slice(y, y + WINDOW), slice(x, x + WINDOW)), window, downweight_edges=True)
                times.append(time.perf_counter() - t0)
        del stitcher
    return times


def _parse(argv: list[str]) -> int:
    size = 20000
    for arg in argv:
        if arg.startswith('--size='):
            size = int(arg.split('=', 1)[1])
    return size


def main(argv: list[str]) -> None:
    size = _parse(argv)
    mib = 2 ** 20
    with tempfile.TemporaryDirectory(prefix='bench_stitch_') as tmp:
        dset = kwcoco.CocoDataset()
        dset.fpath = str(Path(tmp) / 'result.kwcoco.json')
        gid = dset.add_image(name='huge', width=size, height=size)
        mgr = CocoStitchingManager(dset, 'bench', 'p.0:2', memmap=Path(tmp) / 'canvas',
                                   expected_minmax=(0.0, 1.0), prob_compress='DEFLATE', prob_blocksize=256)
        window = np.random.default_rng(0).random((WINDOW, WINDOW, BANDS), dtype=np.float32)
        base_rss = psutil.Process().memory_info().rss
        sampler = _RssSampler()
        sampler.start()

        add_times = []
        starts = range(0, size, WINDOW)
        for y in starts:
            for x in starts:
                t0 = time.perf_counter()
                mgr.accumulate_image(gid, (slice(y, y + WINDOW), slice(x, x + WINDOW)), window,
                                     downweight_edges=True)
                add_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        info = mgr.finalize_image(gid)
        write_s = time.perf_counter() - t0
        peak = sampler.stop()
        kernel_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out_mib = info['fpath'].stat().st_size / mib
    ref_times = _reference_add_times(window)

    canvas = size * size * (BANDS + 1) * 4
    add_med, ref_med = statistics.median(add_times), statistics.median(ref_times)
    print(f'output {size} x {size} x {BANDS} float32, {len(add_times)} windows of {WINDOW}^2, '
          f'canvas (sum + weight) {canvas / mib:.0f} MiB on disk, COG {out_mib:.0f} MiB')
    print(f'add one window: median {add_med * 1e3:.2f} ms; in-RAM canvas reference {ref_med * 1e3:.2f} ms; '
          f'ratio {add_med / ref_med:.2f}x')
    print(f'finalize + quantize + write COG: {write_s:.1f} s')
    print(f'RSS: start {base_rss / mib:.0f} MiB, sampled peak {peak / mib:.0f} MiB, '
          f'kernel peak (ru_maxrss) {kernel_peak / mib:.0f} MiB; budget {BUDGET / mib:.0f} MiB; '
          f'peak / canvas = {peak / canvas:.3f}')
    assert peak < BUDGET, f'peak RSS {peak / mib:.0f} MiB exceeds the {BUDGET / mib:.0f} MiB budget'
