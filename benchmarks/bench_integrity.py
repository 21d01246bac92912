"""What the per-read integrity checks cost: the source ``stat`` (stale reads) and the block checksums.

Run::

    .venv/bin/python -m benchmarks integrity            # one 4096x4096 RGB PNG
    .venv/bin/python -m benchmarks integrity --quick    # one 1024x1024 PNG (smoke run)

The image is the frames benchmark's first one (generated once, kept in
``$NDSAMPLER_BENCH_DPATH/frames``); it is cached with the ``npy`` and ``cog`` backends
in a scratch folder. Random 256x256 windows are read through the reader pool
(``get_reader(fpath).read(window)``, the path every sample read takes; a read-only
memmap view is copied, as the sampler's reads copy it), with the
cache file marked four ways, the cases taking turns round by round (in an order rotated
each round, so no case always goes first); each round reads
its windows once untimed (file open, tiles decoded into GDAL's cache, pages cached),
then again timed, so the checks are measured against the cheapest reads there are:

- ``no checks``: ``mark_immutable(fpath)`` (no per-read stat, no verification: before issue 12),
- ``source stat``: plus the source to stat on every read (the stale-read check),
- ``stat + verified blocks``: plus the frame's verifier, every block already verified
  (the steady state: a bounds computation per read),
- ``stat + first touch``: a fresh verifier each round, so each round pays the first
  verification (sidecar load, ``pread`` + CRC32 of every block its windows touch)
  amortized over its reads.

Printed: median microseconds per read over the rounds (>= 5) and each ratio of reads
per second against ``no checks`` measured in the same run.
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np

from ndsampler.backends import source_identity
from ndsampler.backends._checksums import BlockVerifier
from ndsampler.delayed.readers import reader_pool
from ndsampler.frames import SimpleFrames

from ._timing import loadavg
from .bench_frames import WINDOW, _images


class _Resettable:
    """A verifier that can start over (a fresh :class:`BlockVerifier`) without a new mark, so the pooled
    reader and its decoded-tile cache stay as they are."""

    def __init__(self, fpath: str):
        self.fpath = fpath
        self.reset()

    def reset(self) -> None:
        self.inner = BlockVerifier(self.fpath)

    def __call__(self, overview: int, sl_y: slice, sl_x: slice) -> None:
        self.inner(overview, sl_y, sl_x)


def _marks(fpath: str, source: str) -> Dict[str, Tuple[Callable[[], None], Callable[[], None] | None]]:
    """Per case, how to mark the cache file, and what to do before timing a round (None: nothing)."""
    ident = source_identity(source)
    steady = BlockVerifier(fpath)
    steady(0, slice(0, 1 << 30), slice(0, 1 << 30))  # verifies every full-resolution block once
    fresh = _Resettable(fpath)
    return {
        'no checks': (lambda: reader_pool.mark_immutable(fpath), None),
        'source stat': (lambda: reader_pool.mark_immutable(fpath, source=ident.path, source_stamp=ident.stamp),
                        None),
        'stat + verified blocks': (lambda: reader_pool.mark_immutable(
            fpath, source=ident.path, source_stamp=ident.stamp, verify=steady), None),
        'stat + first touch': (lambda: reader_pool.mark_immutable(
            fpath, source=ident.path, source_stamp=ident.stamp, verify=fresh), fresh.reset),
    }


def _read_all(fpath: str, corners: List[Tuple[int, int]]) -> None:
    for y, x in corners:
        arr = reader_pool.get(fpath).read((slice(y, y + WINDOW), slice(x, x + WINDOW)))
        if not arr.flags.writeable:  # a memmap view: copied, as the sampler's reads do
            arr = arr.copy()


def _table(fpath: str, source: str, size: int, rounds: int, per_round: int) -> None:
    marks = _marks(fpath, source)
    rng = np.random.default_rng(0)
    micros: Dict[str, List[float]] = {name: [] for name in marks}
    names = list(marks)
    for round_ in range(rounds):
        corners = [(int(y), int(x)) for y, x in rng.integers(0, size - WINDOW, size=(per_round, 2))]
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:  # each case in each position
            mark, before = marks[name]
            reader_pool.forget(fpath)
            mark()
            _read_all(fpath, corners)  # untimed: opens the file, decodes (and caches) the round's tiles
            if before is not None:
                before()
            start = time.perf_counter()
            _read_all(fpath, corners)
            micros[name].append((time.perf_counter() - start) / per_round * 1e6)
    base = statistics.median(micros['no checks'])
    for name, values in micros.items():
        median = statistics.median(values)
        print(f'  {name:24} {median:9.1f} us/read   ratio vs no checks {base / median:5.3f}'
              f'   (+{median - base:7.1f} us)')


def main(argv: List[str]) -> None:
    quick = '--quick' in argv
    size = 1024 if quick else 4096
    source = _images(size, count=1)[0]
    work = Path(tempfile.mkdtemp(prefix='bench_integrity_'))
    print(f'one {size}x{size} RGB uint8 PNG ({source}); scratch {work}')
    print(f'load average: {loadavg()}')
    rounds, per_round = (8, 200) if quick else (8, 300)
    try:
        for backend in ['npy', 'cog']:
            frames = SimpleFrames({0: source}, workdir=work / backend, backend=backend)
            assert frames.prepare(progress=False).ok
            (fpath,) = frames.cache_fpaths(0)
            print(f'\n-- {backend}: random {WINDOW}x{WINDOW} windows, median of {rounds} rounds of '
                  f'{per_round} reads --')
            _table(fpath, source, size, rounds, per_round)
    finally:
        shutil.rmtree(work, ignore_errors=True)
