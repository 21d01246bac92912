"""Remote COG benchmark: random 256x256 windows over HTTP with 20 ms per request, ours vs rasterio.

Run::

    .venv/bin/python -m benchmarks remote            # six 4096x4096 RGB COGs
    .venv/bin/python -m benchmarks remote --quick    # six 1024x1024 COGs (smoke run)

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
    """In a fresh process: seconds of the cold pass, the warm pass, and the first window."""
    warnings.simplefilter('ignore')
    import rasterio
    from rasterio.windows import Window

    from ndsampler.delayed.readers import get_reader, remote_config
    from ndsampler.io import gdal_env
    remote_config.header_dpath = header_dpath
    env = gdal_env()
    env.__enter__()
    handles = {}

    def read(name, y, x):
        if case == 'open-per-window':
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


def main(argv: list[str]) -> None:
    quick = '--quick' in argv
    size = 1024 if quick else 4096
    dpath, names = _make_cogs(size)
    ctx = multiprocessing.get_context('spawn')
    counter = ctx.Value('i', 0)
    port_queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(str(dpath), counter, port_queue), daemon=True)
    server.start()
    base = f'http://127.0.0.1:{port_queue.get(timeout=30)}'
    n_windows = 30 if quick else 60
    windows = _windows(size, names, n_windows)
    print(f'six {size}x{size} RGB COGs (ZSTD, 256^2 tiles), {DELAY * 1000:.0f} ms per request, '
          f'{n_windows} random {WINDOW}^2 windows per case; load {loadavg()}')
    results = {}
    try:
        with tempfile.TemporaryDirectory() as tmp, ctx.Pool(1, maxtasksperchild=1) as pool:
            header_dpath = str(Path(tmp) / 'remote_headers')
            # one earlier worker leaves the headers on disk
            pool.apply(_run_case, ('ours', base, windows[:1] + [(n, 0, 0) for n in names], header_dpath))
            cases = [('rasterio open-per-window', 'open-per-window', windows[:max(10, n_windows // 3)], None),
                     ('rasterio keep-open', 'keep-open', windows, None),
                     ('ours, no header cache', 'ours', windows, None),
                     ('ours', 'ours', windows, header_dpath)]
            for label, case, case_windows, hdr in cases:
                before = counter.value
                times = pool.apply(_run_case, (case, base, case_windows, hdr))
                times['requests'] = counter.value - before
                firsts, requests = [], []
                for k in range(1, 4):  # fresh workers' first samples alone: time and requests
                    before = counter.value
                    firsts.append(pool.apply(_run_case, (case, base, windows[-k:][:1], hdr))['first'])
                    requests.append(counter.value - before)
                times['first'], times['first_requests'] = statistics.median(firsts), statistics.median(requests)
                results[label] = times
    finally:
        server.terminate()
        server.join(5)
    print(f'{"case":28s} {"cold win/s":>11s} {"warm win/s":>11s} {"requests":>9s} {"first sample":>13s} '
          f'{"its requests":>13s}')
    for label, t in results.items():
        cold, warm = t['cold_n'] / t['cold'], t['warm_n'] / t['warm']
        t['cold_rate'], t['warm_rate'] = cold, warm
        print(f'{label:28s} {cold:11.1f} {warm:11.1f} {t["requests"]:9d} {t["first"] * 1000:10.0f} ms '
              f'{t["first_requests"]:13.0f}')
    ours, per_window, keep = results['ours'], results['rasterio open-per-window'], results['rasterio keep-open']
    print(f'ours cold / open-per-window cold: {ours["cold_rate"] / per_window["cold_rate"]:.1f}x (goal >= 5x)')
    print(f'ours cold / keep-open cold: {ours["cold_rate"] / keep["cold_rate"]:.1f}x')
    print(f'ours warm / keep-open warm: {ours["warm_rate"] / keep["warm_rate"]:.2f}x (goal >= 1x)')
    nocache = results['ours, no header cache']
    print(f'ours first sample in a fresh worker: {ours["first"] * 1000:.0f} ms = {ours["first"] / DELAY:.1f} request '
          f'delays (header cache on disk), {nocache["first"] * 1000:.0f} ms = {nocache["first"] / DELAY:.1f} without it '
          f'(goal <= 2 round trips); rasterio {per_window["first"] * 1000:.0f} ms = {per_window["first"] / DELAY:.1f}')


if __name__ == '__main__':
    import sys
    main(sys.argv[1:])
