"""Frame cache benchmark: prepare time, disk size and random-window read rates per backend.

Run::

    .venv/bin/python -m benchmarks frames            # six 4096x4096 RGB PNGs
    .venv/bin/python -m benchmarks frames --quick    # six 1024x1024 PNGs (smoke run)

The images (smooth multi-scale noise plus sharp edges, saved as PNG) are generated
once and kept in ``$NDSAMPLER_BENCH_DPATH/frames`` (default ``~/.cache/ndsampler/bench/frames``).

Reported, each a median over rounds measured in this run:

- ``prepare``: seconds and bytes on disk for the ``cog`` backend (lossless ZSTD with
  overviews, the default level 1 and GDAL's level 9 for reference) and the ``npy`` backend,
  with 1 and 2 worker processes (fresh cache each time).
- ``reads``: random 256x256 windows per second through ``Frames.load_region`` for each
  backend, against two references on the same files: (a) a raw rasterio window read of the
  same COG with the dataset kept open, (b) a numpy memmap crop copy of the same ``.npy``.
  The cases take turns round by round (so machine load hits them alike) and all run in one
  process, under one GDAL block cache setting: warm with GDAL's default cache, warm with a
  1 MiB cache (every read decodes its tiles), and cold (``posix_fadvise(DONTNEED)`` on our
  own cache files before every read, 1 MiB cache).

Targets: npy >= 0.7x the memmap crop; COG >= 0.8x raw rasterio; COG prepare of the six
images <= 6 s with 2 workers.
"""
from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.windows import Window

from ndsampler.backends import coerce_backend
from ndsampler.frames import SimpleFrames

from ._timing import loadavg

WINDOW = 256


def _bench_dpath() -> Path:
    base = os.environ.get('NDSAMPLER_BENCH_DPATH', os.path.expanduser('~/.cache/ndsampler/bench'))
    return Path(base) / 'frames'


def _realistic_image(size: int, seed: int) -> np.ndarray:
    """Smooth multi-scale noise (upsampled random fields) plus random sharp-edged shapes."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((size, size, 3), np.float32)
    for cells, weight in [(4, 90.0), (16, 45.0), (64, 20.0), (256, 8.0), (size // 4, 4.0)]:
        field = rng.normal(0, 1, size=(cells, cells, 3)).astype(np.float32)
        acc += weight * cv2.resize(field, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(40):
        x, y = rng.integers(0, size, 2)
        r = int(rng.integers(size // 64, size // 8))
        color = tuple(float(c) for c in rng.normal(0, 60, 3))
        cv2.rectangle(acc, (int(x), int(y)), (int(x) + r, int(y) + r // 2), color, -1)
        cv2.circle(acc, (int(y), int(x)), r // 2, color, -1)
    acc += rng.normal(0, 2, size=acc.shape).astype(np.float32)
    return np.clip(acc + 128, 0, 255).astype(np.uint8)


def _images(size: int, count: int = 6) -> Dict[int, str]:
    dpath = _bench_dpath() / f'png_{size}'
    dpath.mkdir(parents=True, exist_ok=True)
    out = {}
    for gid in range(count):
        fpath = dpath / f'img_{gid}.png'
        if not fpath.exists():
            tmp = dpath / f'.img_{gid}.tmp.png'
            cv2.imwrite(str(tmp), _realistic_image(size, gid)[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
            os.replace(tmp, fpath)
        out[gid] = str(fpath)
    return out


def _du(dpath: Path) -> int:
    return sum(p.stat().st_size for p in dpath.rglob('*') if p.is_file() and not p.name.endswith('.lock'))


def _drop_cache(fpath: str) -> None:
    fd = os.open(fpath, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _rates(cases: Dict[str, Tuple[Callable[[int, int], object], Optional[Callable[[], None]]]], size: int,
           rounds: int, per_round: int, seed: int) -> Dict[str, float]:
    """Median windows/second per case; the cases take turns round by round on the same random windows.

    Interleaving the cases makes them share the machine's load (other processes) alike.
    """
    rng = np.random.default_rng(seed)
    rates: Dict[str, List[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        corners = [(int(y), int(x)) for y, x in rng.integers(0, size - WINDOW, size=(per_round, 2))]
        for name, (read, before) in cases.items():
            start = time.perf_counter()
            for y, x in corners:
                if before is not None:
                    before()
                read(y, x)
            rates[name].append(per_round / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def _prepare_table(sources: Dict[int, str], work: Path, reps: int) -> None:
    print(f'\n-- prepare (median of {reps} run(s), fresh cache each) --')
    print(f'{"backend":30} {"workers":>7} {"seconds":>8} {"MiB":>8}')
    specs = [('cog', 'cog'), ('cog_level9', {'type': 'cog', 'config': {'level': 9}}), ('npy', 'npy')]
    for name, spec in specs:
        backend = coerce_backend(spec)
        label = name if backend.name != 'cog' else f'{name} ({backend.config["compress"]} {backend.config["level"]})'
        for workers in [1, 2]:
            times = []
            for rep in range(reps):
                wd = work / f'{name}_{workers}_{rep}'
                shutil.rmtree(wd, ignore_errors=True)
                summary = SimpleFrames(sources, workdir=wd, backend=backend).prepare(workers=workers, progress=False)
                assert summary.ok, str(summary)
                times.append(summary.seconds)
            mib = _du(wd / '_cache') / 2 ** 20
            print(f'{label:30} {workers:7d} {statistics.median(times):8.2f} {mib:8.1f}')
    png_mib = sum(os.path.getsize(p) for p in sources.values()) / 2 ** 20
    print(f'(source PNGs: {png_mib:.1f} MiB; target: lossless cog, 2 workers <= 6 s)')


def main(argv: List[str]) -> None:
    quick = '--quick' in argv
    size = 1024 if quick else 4096
    sources = _images(size)
    work = Path(tempfile.mkdtemp(prefix='bench_frames_'))
    print(f'six {size}x{size} RGB uint8 PNGs in {_bench_dpath()}; scratch {work}')
    print(f'load average: {loadavg()}')
    try:
        _prepare_table(sources, work, reps=2 if quick else 1)
        frames_by = {name: SimpleFrames(sources, workdir=work / f'{name}_2_0', backend=name) for name in ['cog', 'npy']}
        frames_by['none'] = SimpleFrames(sources, backend=None)
        cog_fpath = frames_by['cog'].cache_fpaths(0)[0]
        npy_fpath = frames_by['npy'].cache_fpaths(0)[0]
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', NotGeoreferencedWarning)
            raw_cog = rasterio.open(cog_fpath)
        memmap = np.load(npy_fpath, mmap_mode='r')

        def raw_rasterio(y, x):
            return raw_cog.read(window=Window(x, y, WINDOW, WINDOW))

        def memmap_crop(y, x):
            return np.array(memmap[y:y + WINDOW, x:x + WINDOW])

        def via_frames(name):
            frames = frames_by[name]
            return lambda y, x: frames.load_region(0, (slice(y, y + WINDOW), slice(x, x + WINDOW)))

        for name in ['cog', 'npy', 'none']:  # build trees, open handles, decode the PNG for 'none'
            via_frames(name)(0, 0)
        rounds, per_round = (7, 100) if quick else (7, 200)
        default_cache = os.environ.get('GDAL_CACHEMAX', "GDAL's default, 5% of RAM")
        variants = [
            ('warm', None, False),
            ('warm, GDAL_CACHEMAX=1 MiB (every read decodes its tiles)', 1 << 20, False),
            ('cold: posix_fadvise(DONTNEED) before each read, GDAL_CACHEMAX=1 MiB', 1 << 20, True),
        ]
        for label, cachemax, cold in variants:
            env = rasterio.Env() if cachemax is None else rasterio.Env(GDAL_CACHEMAX=cachemax)
            with env:
                print(f'\n-- random {WINDOW}x{WINDOW} reads/s, {label} --')
                if cachemax is None:
                    print(f'   (GDAL_CACHEMAX: {default_cache}, the same for both COG readers: one process)')
                cog_before = partial_drop(cog_fpath) if cold else None
                npy_before = partial_drop(npy_fpath) if cold else None
                cases = {
                    'raw rasterio (COG, kept open)': (raw_rasterio, cog_before),
                    'memmap crop copy (npy)': (memmap_crop, npy_before),
                    'frames cog': (via_frames('cog'), cog_before),
                    'frames npy': (via_frames('npy'), npy_before),
                }
                if not cold and cachemax is None:
                    cases['frames none (PNG decoded once, pooled)'] = (via_frames('none'), None)
                rates = _rates(cases, size, rounds, per_round // 3 if cold else per_round, seed=0)
                for case, rate in rates.items():
                    print(f'  {case:42} {rate:10.0f}/s')
                print(f'  ratio cog / raw rasterio  = {rates["frames cog"] / rates["raw rasterio (COG, kept open)"]:.2f}'
                      '  (target >= 0.8)')
                print(f'  ratio npy / memmap crop   = {rates["frames npy"] / rates["memmap crop copy (npy)"]:.2f}'
                      '  (target >= 0.7)')
        raw_cog.close()
        print(f'\nload average: {loadavg()}')
    finally:
        shutil.rmtree(work, ignore_errors=True)


def partial_drop(fpath: str) -> Callable[[], None]:
    """A callable dropping ``fpath`` from the page cache (for the cold variant)."""
    return lambda: _drop_cache(fpath)
