"""Sliding-window prediction over a whole image: ``ndsampler_torch.predict`` against MONAI (issue 18).

One generated ``S x S`` 4-band uint8 image (default 8192; ``--quick``: 2048), a small conv net
(4 -> 16 -> 16 -> 2 channels, 3x3 convolutions) on the CPU, windows of 512 with an overlap of
0.25, batches of 8. Each run is its own subprocess (its time, and its own peak RSS: ``VmHWM``; the
workers' is ``getrusage(RUSAGE_CHILDREN)``, which counts the pages they share with their parent and
GDAL's block cache, 5% of RAM per process by default):

* ours: ``predict(..., num_workers=2)`` end to end (reading the windows through the sampler,
  the model, blending into disk canvases, writing the float32 COG asset);
* MONAI: ``sliding_window_inference`` over the image as one in-memory tensor (the time to read
  the image is reported apart), the same model, ``mode`` and ``sigma_scale=0.125``;

each after a warm-up call on a 64^2 image (first-call lazy imports are not timed), for the
gaussian and the constant blend. Prints the max |ours - MONAI| of each blend (the
goal is 1e-5), the time ratio MONAI / ours (>= 1: ours is at least as fast), and both peak RSS.
Then ours alone on an ``R x R`` 4-band float output (default 20000; ``--quick``: 4096; a cheap
identity model, since memory is the question) for its peak RSS (goal: <= 1 GiB) next to what
MONAI needs at least for that size (it keeps the float32 input, output and weight map in RAM:
some 14 GiB at 20000^2, so it is not run there).

MONAI is not a dependency: install it anywhere on the import path, e.g.
``pip install --no-deps --target /tmp/monai_pkgs monai`` and ``PYTHONPATH=/tmp/monai_pkgs``.
Without it the MONAI rows are skipped with a message. Options: ``--quick``, ``--size=S``,
``--rss-size=R``.
"""
from __future__ import annotations

import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._timing import loadavg

WINDOW = 512
OVERLAP = 0.25
BATCH = 8
WORKERS = 2
BANDS = 4
GOAL_DIFF = 1e-5
BUDGET = 2 ** 30
MIB = 2 ** 20


def _model(kind: str):
    import torch
    if kind == 'identity':
        return torch.nn.Identity()
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(BANDS, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 2, 1),
    ).eval()


def _write_image(fpath: Path, size: int, seed: int = 0) -> None:
    """A smooth-plus-noise 4-band uint8 image, written as an uncompressed tiled GeoTIFF row block by row block."""
    import rasterio
    rng = np.random.default_rng(seed)
    rows = 1024
    yy = np.arange(size, dtype=np.float32)
    with rasterio.open(fpath, 'w', driver='GTiff', width=size, height=size, count=BANDS, dtype='uint8',
                       tiled=True, blockxsize=256, blockysize=256, BIGTIFF='IF_SAFER') as dst:
        for y0 in range(0, size, rows):
            y1 = min(y0 + rows, size)
            wave = 64 + 63 * np.sin(yy[y0:y1, None] / 97.0) * np.cos(yy[None, :] / 61.0)
            block = np.empty((BANDS, y1 - y0, size), np.uint8)
            for b in range(BANDS):
                block[b] = np.clip(wave * (1 + 0.2 * b) + rng.integers(0, 64, (y1 - y0, size)), 0, 255)
            dst.write(block, window=rasterio.windows.Window(0, y0, size, y1 - y0))


def _dataset(dpath: Path, size: int) -> str:
    import kwcoco
    _write_image(dpath / 'big.tif', size)
    dset = kwcoco.CocoDataset()
    dset.fpath = str(dpath / 'data.kwcoco.json')
    dset.add_image(name='big', file_name='big.tif', width=size, height=size, channels=f'b.0:{BANDS}')
    dset.dump(dset.fpath)
    return dset.fpath


def _peak_rss() -> int:
    """This process's own peak RSS in bytes: ``VmHWM`` (``ru_maxrss`` where there is no ``/proc``).

    ``getrusage``'s ``ru_maxrss`` is not enough here: a process started with ``vfork`` + ``exec``
    (``subprocess`` does) inherits the peak of the parent's memory at the ``exec``, and the parent
    of these runs has read whole outputs to compare them.
    """
    try:
        with open('/proc/self/status') as file:
            for line in file:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rusage() -> dict:
    return {'rss_self': _peak_rss(),
            'rss_children': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}


def _child_ours(fpath: str, blend: str, model_kind: str, output: str) -> dict:
    import kwcoco
    from ndsampler.sampler import CocoSampler
    from ndsampler_torch import predict
    model = _model(model_kind)
    with tempfile.TemporaryDirectory() as tmp:  # warm up: the lazy imports of a first call are not timed
        predict(CocoSampler(kwcoco.CocoDataset(_dataset(Path(tmp), 64)), backend=None), model, 64, blend=blend,
                save=False)
    sampler = CocoSampler(kwcoco.CocoDataset(fpath), backend=None)
    start = time.perf_counter()
    summary = predict(sampler, model, WINDOW, overlap=OVERLAP, batch_size=BATCH, num_workers=WORKERS, blend=blend,
                      output=output, save=False)
    seconds = time.perf_counter() - start
    return {'seconds': seconds, 'fpath': summary.assets[0]['fpath'], **_rusage()}


def _child_monai(fpath: str, blend: str, out_npy: str) -> dict:
    import rasterio
    import torch
    from monai.inferers import sliding_window_inference
    model = _model('net')
    with torch.no_grad():  # warm up, as ours
        sliding_window_inference(torch.zeros(1, BANDS, 64, 64), (64, 64), 1, model, mode=blend, sigma_scale=0.125)
    img = str(Path(fpath).parent / 'big.tif')
    start = time.perf_counter()
    with rasterio.open(img) as src:
        inputs = torch.from_numpy(src.read().astype(np.float32))[None]
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    with torch.no_grad():
        out = sliding_window_inference(inputs, (WINDOW, WINDOW), BATCH, model, overlap=OVERLAP, mode=blend,
                                       sigma_scale=0.125, padding_mode='constant', cval=0.0)
    seconds = time.perf_counter() - start
    np.save(out_npy, out[0].permute(1, 2, 0).numpy())
    return {'seconds': seconds, 'read_seconds': read_s, **_rusage()}


def _run_child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, '-m', 'benchmarks.bench_predict', '--child', *args],
                          capture_output=True, text=True, cwd=str(Path(__file__).resolve().parents[1]))
    if proc.returncode != 0:
        raise RuntimeError(f'benchmark child {args} failed:\n{proc.stderr[-4000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _max_diff(cog: str, npy: str) -> float:
    """max |a - b| over the whole image, row block by row block (neither is loaded whole)."""
    import rasterio
    other = np.load(npy, mmap_mode='r')
    worst = 0.0
    with rasterio.open(cog) as src:
        for y0 in range(0, src.height, 1024):
            rows = rasterio.windows.Window(0, y0, src.width, min(1024, src.height - y0))
            ours = src.read(window=rows).transpose(1, 2, 0)
            worst = max(worst, float(np.abs(ours - other[y0:y0 + ours.shape[0]]).max()))
    return worst


def _parse(argv: list[str]) -> tuple[int, int]:
    quick = '--quick' in argv
    size, rss_size = (2048, 4096) if quick else (8192, 20000)
    for arg in argv:
        if arg.startswith('--size='):
            size = int(arg.split('=', 1)[1])
        elif arg.startswith('--rss-size='):
            rss_size = int(arg.split('=', 1)[1])
    return size, rss_size


def main(argv: list[str]) -> None:
    size, rss_size = _parse(argv)
    has_monai = importlib.util.find_spec('monai') is not None
    print(f'{size}^2 x {BANDS} bands, window {WINDOW}, overlap {OVERLAP}, batch {BATCH}, ours with '
          f'{WORKERS} workers; cpus {os.cpu_count()}, loadavg {loadavg()}')
    if not has_monai:
        print('MONAI is not importable: skipping the MONAI comparison '
              '(pip install --no-deps --target /tmp/monai_pkgs monai; PYTHONPATH=/tmp/monai_pkgs)')
    with tempfile.TemporaryDirectory(prefix='bench_predict_') as tmp:
        fpath = _dataset(Path(tmp), size)
        for blend in ('gaussian', 'constant'):
            ours = _run_child('ours', fpath, blend, 'net', f'ours_{blend}')
            line = (f'{blend:<8} ours {ours["seconds"]:.1f}s (peak RSS {ours["rss_self"] / MIB:.0f} MiB, '
                    f'workers {ours["rss_children"] / MIB:.0f} MiB)')
            if has_monai:
                npy = str(Path(tmp) / f'monai_{blend}.npy')
                monai = _run_child('monai', fpath, blend, npy)
                diff = _max_diff(ours['fpath'], npy)
                ratio = monai['seconds'] / ours['seconds']
                verdict = 'ok' if diff <= GOAL_DIFF else 'MISSED'
                line += (f'; MONAI {monai["seconds"]:.1f}s (+{monai["read_seconds"]:.1f}s to read the image; '
                         f'peak RSS {monai["rss_self"] / MIB:.0f} MiB); time MONAI / ours {ratio:.2f}x; '
                         f'max |ours - MONAI| {diff:.2e} (goal {GOAL_DIFF:g}: {verdict})')
                Path(npy).unlink()
            print(line, flush=True)
            Path(ours['fpath']).unlink()
    with tempfile.TemporaryDirectory(prefix='bench_predict_rss_') as tmp:
        fpath = _dataset(Path(tmp), rss_size)
        ours = _run_child('ours', fpath, 'gaussian', 'identity', 'rss')
        out_mib = rss_size * rss_size * BANDS * 4 / MIB
        verdict = 'ok' if ours['rss_self'] <= BUDGET else 'MISSED'
        # MONAI holds the float32 input, the float32 output and the float32 weight map as whole tensors
        monai_mib = rss_size * rss_size * (BANDS + BANDS + 1) * 4 / MIB
        print(f'{rss_size}^2 x {BANDS} float32 output ({out_mib:.0f} MiB), identity model: ours '
              f'{ours["seconds"]:.1f}s, peak RSS {ours["rss_self"] / MIB:.0f} MiB (workers '
              f'{ours["rss_children"] / MIB:.0f} MiB; budget {BUDGET / MIB:.0f} MiB: {verdict}); MONAI needs at least '
              f'{monai_mib:.0f} MiB for the same (input + output + weight map; not run)', flush=True)


if __name__ == '__main__':
    if sys.argv[1:2] == ['--child']:
        kind, *rest = sys.argv[2:]
        result = _child_ours(*rest) if kind == 'ours' else _child_monai(*rest)
        print(json.dumps(result))
    else:
        main(sys.argv[1:])
