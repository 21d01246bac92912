"""Delayed operations: the SPEC §4 worked example optimized vs not, and the pure-crop fast path.

``python -m benchmarks delayed`` prints medians (ms / µs) and ratios measured in the same run:

* finalize of the worked example with ``optimize=False`` vs ``optimize=True``;
* build + optimize + finalize of a 256x256 crop of a memory-mapped 4096x4096x3
  uint8 ``.npy`` vs a plain numpy slice copy of the same window (the limit).
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ndsampler.delayed import DelayedLoad
from ndsampler.io import write_cog

from ._timing import median_seconds

QUANT = {'orig_min': 0.0, 'orig_max': 1.0, 'quant_min': 0, 'quant_max': 255}


def _worked_example(fpath: Path):
    node = DelayedLoad(fpath, channels='r|g|b').prepare().dequantize(QUANT)
    node = node.scale(1.1).scale(1.1)[0:500, 0:500]
    node = node.scale(0.5)[0:200, 0:200]
    node = node.scale(0.5)[0:100, 0:100]
    return node.scale(0.5).scale(1.1).scale(1.1).scale(2.1)[0:50, 0:50][5:40, 2:30]


def bench_worked_example(dpath: Path, repeat: int) -> None:
    rng = np.random.default_rng(0)
    fpath = write_cog(dpath / 'example.tif', rng.integers(0, 255, (512, 512, 3), dtype=np.uint8), overviews=3)
    node = _worked_example(fpath)
    slow = median_seconds(lambda: node.finalize(optimize=False), repeat)
    fast = median_seconds(lambda: node.finalize(optimize=True), repeat)
    print(f'worked example finalize: unoptimized {slow * 1e3:.2f} ms, optimized {fast * 1e3:.2f} ms, '
          f'speedup {slow / fast:.1f}x (median of {repeat})')


def bench_pure_crop(dpath: Path, repeat: int) -> None:
    fpath = dpath / 'big.npy'
    data = np.lib.format.open_memmap(fpath, mode='w+', dtype=np.uint8, shape=(4096, 4096, 3))
    data[:] = np.random.default_rng(0).integers(0, 255, (4096, 1, 3), dtype=np.uint8)
    data.flush()
    del data
    mm = np.load(fpath, mmap_mode='r')
    rng = np.random.default_rng(1)
    corners = rng.integers(0, 4096 - 256, (repeat, 2)).tolist()
    meta = dict(channels='r|g|b', dsize=(4096, 4096), num_overviews=0, dtype='uint8')

    def delayed(y, x):
        return DelayedLoad(fpath, **meta)[y:y + 256, x:x + 256].finalize()

    def plain(y, x):
        return np.array(mm[y:y + 256, x:x + 256])

    for y, x in corners[:20]:  # warm the page cache and the reader pool
        assert np.array_equal(delayed(y, x), plain(y, x))
    t_delayed, t_plain = [], []
    for i, (y, x) in enumerate(corners):
        # alternate which runs first so neither gains from the other touching the pages
        order = [(plain, t_plain), (delayed, t_delayed)][::1 if i % 2 else -1]
        for fn, times in order:
            t0 = time.perf_counter()
            fn(y, x)
            times.append(time.perf_counter() - t0)
    med_d, med_p = statistics.median(t_delayed), statistics.median(t_plain)
    print(f'256x256 crop of a 4096x4096x3 npy memmap: delayed build+optimize+finalize {med_d * 1e6:.1f} µs, '
          f'numpy slice copy {med_p * 1e6:.1f} µs, ratio {med_d / med_p:.2f}x (target < 2x; median of {repeat})')


def main(argv: list[str]) -> None:
    quick = '--quick' in argv
    with tempfile.TemporaryDirectory() as tmp:
        dpath = Path(tmp)
        bench_worked_example(dpath, repeat=5 if quick else 30)
        bench_pure_crop(dpath, repeat=200 if quick else 2000)
