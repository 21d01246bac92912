"""Remote COG benchmark: random 256x256 windows over HTTP with 20 ms per request, ours vs rasterio.

Run::

    .venv/bin/python -m benchmarks remote            # six 4096x4096 RGB COGs
    .venv/bin/python -m benchmarks remote --quick    # six 1024x1024 COGs (smoke run)
    .venv/bin/python -m benchmarks remote --passes=3 # passes (default 5): medians and spread (min-max)

The COGs (``bench_frames``' smooth noise plus sharp edges, ``write_cog`` defaults: ZSTD, 256^2 tiles,
overviews) are generated once into ``$NDSAMPLER_BENCH_DPATH/remote`` (default
``~/.cache/ndsampler/bench/remote``) and served by a loopback HTTP server in its own
process that sleeps 20 ms before answering each request (range requests, keep-alive).

Each case runs in a new process (spawned) over the same seeded random windows:

- ``rasterio open-per-window``: ``rasterio.open('/vsicurl/...')`` and one window read per
  sample, what torchgeo's ``RasterDataset`` does;
- ``rasterio keep-open``: one dataset per file kept open (``GDAL_REMOTE_OPTIONS``);
- ``ours``: ``get_reader(url).read(window)`` (:class:`RemoteCogReader`), with the header
  cache on disk left by an earlier process (as every DataLoader worker but the first
  finds it), and once without it (``ours, no header cache``).

``cold`` is the first pass over the windows in the new process, ``warm`` a second pass
over the same windows in that process (GDAL's block cache / our tile cache hold them).
``first sample`` is the median time, and requests, of the first window in three fresh
processes (the header cache on disk for ``ours``; the tiles of a window are fetched
concurrently, so several requests may be one round trip). Goals: ours cold >= 5x open-per-window, ours warm >= 1x
keep-open warm, a first sample in <= 2 round trips.
"""
from __future__ import annotations

import http.server
import multiprocessing
import os
import statistics
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

from tests.remote_http import RangeHandler

from ._timing import loadavg
from .bench_frames import _realistic_image

WINDOW = 256
DELAY = 0.020


def _bench_dpath() -> Path:
    base = os.environ.get('NDSAMPLER_BENCH_DPATH', os.path.expanduser('~/.cache/ndsampler/bench'))
    return Path(base) / 'remote'


def _make_cogs(size: int, count: int = 6) -> tuple[Path, list[str]]:
    from ndsampler.io import write_cog
    dpath = _bench_dpath() / str(size)
    dpath.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        name = f'scene_{i}.tif'
        if not (dpath / name).exists():
            write_cog(dpath / name, _realistic_image(size, seed=i))
        names.append(name)
    return dpath, names


class _SlowRangeHandler(RangeHandler):
    """The tests' range server, :data:`DELAY` seconds before each answer, requests counted across processes."""

    def account(self):
        with self.server.counter.get_lock():
            self.server.counter.value += 1
        time.sleep(DELAY)


def _serve(root: str, counter, port_queue) -> None:
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), partial(_SlowRangeHandler, directory=root))
    httpd.daemon_threads = True
    httpd.counter = counter
    port_queue.put(httpd.server_address[1])
    httpd.serve_forever()


def _windows(size: int, names: list[str], count: int, seed: int = 0) -> list[tuple[str, int, int]]:
    rng = np.random.default_rng(seed)
    return [(names[rng.integers(len(names))], int(rng.integers(0, size - WINDOW)), int(rng.integers(0, size - WINDOW)))
            for _ in range(count)]


def _run_case(case: str, base: str, windows: list, header_dpath: str | None) -> dict:
    """In a fresh process: seconds of the first window, of the cold pass over the rest, of the warm pass over all."""
    warnings.simplefilter('ignore')
    import rasterio
    from rasterio.windows import Window

    from ndsampler.delayed.readers import get_reader, remote_config
    from ndsampler.io import gdal_env
    remote_config.header_dpath = header_dpath
    if case != 'open-per-window, GDAL defaults':
        gdal_env().__enter__()
    handles = {}

    def read(name, y, x):
        if case.startswith('open-per-window'):
            with rasterio.open(f'/vsicurl/{base}/{name}') as src:
                return src.read(window=Window(x, y, WINDOW, WINDOW))
        if case == 'keep-open':
            if name not in handles:
                handles[name] = rasterio.open(f'/vsicurl/{base}/{name}')
            return handles[name].read(window=Window(x, y, WINDOW, WINDOW))
        return get_reader(f'{base}/{name}').read((slice(y, y + WINDOW), slice(x, x + WINDOW)))

    times = {}
    start = time.perf_counter()
    read(*windows[0])
    times['first'] = time.perf_counter() - start
    for label in ('cold', 'warm'):
        start = time.perf_counter()
        for window in windows[1:] if label == 'cold' else windows:
            read(*window)
        times[label] = time.perf_counter() - start
    times['cold_n'] = len(windows) - 1
    times['warm_n'] = len(windows)
    return times


def _spread(values: list[float], fmt: str = '.1f') -> str:
    """``median (min-max)`` of ``values``."""
    return f'{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})'


#: (label, case, share of the windows it reads, header cache on disk). GDAL's settings are
#: ``GDAL_REMOTE_OPTIONS`` except for ``GDAL defaults`` (a plain ``rasterio.open``, as torchgeo calls it).
CASES = [('rasterio open-per-window', 'open-per-window', 3, False),
         ('rasterio open-per-window, GDAL defaults', 'open-per-window, GDAL defaults', 3, False),
         ('rasterio keep-open', 'keep-open', 1, False),
         ('ours, no header cache', 'ours', 1, False),
         ('ours', 'ours', 1, True)]


def main(argv: list[str]) -> None:
    quick = '--quick' in argv
    passes = next((int(a.split('=', 1)[1]) for a in argv if a.startswith('--passes=')), 5)
    size = 1024 if quick else 4096
    dpath, names = _make_cogs(size)
    ctx = multiprocessing.get_context('spawn')
    counter = ctx.Value('i', 0)
    port_queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(str(dpath), counter, port_queue), daemon=True)
    server.start()
    base = f'http://127.0.0.1:{port_queue.get(timeout=30)}'
    n_windows = 30 if quick else 60
    print(f'six {size}x{size} RGB COGs (ZSTD, 256^2 tiles), {DELAY * 1000:.0f} ms per request, '
          f'{n_windows} random {WINDOW}^2 windows per case (open-per-window: a third of them), {passes} passes, '
          f'each case in a new process; load {loadavg()}')
    results = {label: {'cold': [], 'warm': [], 'req': [], 'first': [], 'first_req': []} for label, *_ in CASES}
    try:
        with tempfile.TemporaryDirectory() as tmp, ctx.Pool(1, maxtasksperchild=1) as pool:
            header_dpath = str(Path(tmp) / 'remote_headers')
            for k in range(passes):
                windows = _windows(size, names, n_windows, seed=k)
                # an earlier worker (another file of the dataset) leaves the headers on disk
                pool.apply(_run_case, ('ours', base, [(n, 0, 0) for n in names], header_dpath))
                for label, case, share, cached in CASES:
                    hdr = header_dpath if cached else None
                    before = counter.value
                    t = pool.apply(_run_case, (case, base, windows[:max(10, n_windows // share)], hdr))
                    row = results[label]
                    row['cold'].append(t['cold_n'] / t['cold'])
                    row['warm'].append(t['warm_n'] / t['warm'])
                    row['req'].append((counter.value - before) / (t['cold_n'] + 1))
                    before = counter.value  # a fresh worker's first sample alone: time and requests
                    row['first'].append(pool.apply(_run_case, (case, base, windows[-1:], hdr))['first'])
                    row['first_req'].append(counter.value - before)
    finally:
        server.terminate()
        server.join(5)
    print('medians (min-max) over the passes; requests per window: the cold pass and first window '
          '(the warm pass makes none, GDAL and ours alike)')
    print(f'{"case":40s} {"cold win/s":>17s} {"ms/cold win":>8s} {"warm win/s":>22s} {"req/win":>15s} '
          f'{"first sample ms":>17s} {"its req":>8s}')
    for label, r in results.items():
        ms = 1000 / statistics.median(r['cold'])
        print(f'{label:40s} {_spread(r["cold"]):>17s} {ms:8.0f} {_spread(r["warm"], ".0f"):>22s} '
              f'{_spread(r["req"]):>15s} {_spread([f * 1000 for f in r["first"]], ".0f"):>17s} '
              f'{statistics.median(r["first_req"]):8.0f}')
    ours = results['ours']

    def ratio(metric: str, ref: str, goal: str) -> None:  # per pass, both measured in that pass
        ratios = [a / b for a, b in zip(ours[metric], results[ref][metric])]
        print(f'ours {metric} / {ref} {metric}: {_spread(ratios, ".2f")}x{goal}')

    ratio('cold', 'rasterio open-per-window', ' (goal >= 5x)')
    ratio('cold', 'rasterio open-per-window, GDAL defaults', '')
    ratio('cold', 'rasterio keep-open', '')
    ratio('warm', 'rasterio keep-open', ' (goal >= 1x)')
    first, nocache = statistics.median(ours['first']), statistics.median(results['ours, no header cache']['first'])
    rio = statistics.median(results['rasterio open-per-window']['first'])
    print(f'ours first sample in a fresh worker: {first * 1000:.0f} ms = {first / DELAY:.1f} request delays (header '
          f'cache on disk), {nocache * 1000:.0f} ms = {nocache / DELAY:.1f} without it (goal <= 2 round trips); '
          f'rasterio {rio * 1000:.0f} ms = {rio / DELAY:.1f}')


if __name__ == '__main__':
    import sys
    main(sys.argv[1:])
