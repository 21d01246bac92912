"""CocoSampler throughput: random 256x256 windows from six 4096x4096 images with 300 boxes each.

Prints medians (samples/s) per backend with and without annotations, positives/s, a numpy memmap
crop of the same windows (the limit) and ratios against it; a 4096^2 region resized to 256^2 on the
COG backend against a native 256^2 window; and construction time / RSS of a sampler over a synthetic
dataset of 100k images and 1M annotations (no pixels).

Run: ``python -m benchmarks sampler [--quick]``.
"""
from __future__ import annotations

import gc
import os
import statistics
import tempfile
import time
from pathlib import Path

import kwcoco
import kwimage
import numpy as np
import psutil

from ndsampler.sampler import CocoSampler

SIZE = 4096
WIN = 256


def _make_dataset(root: Path, num_images: int, rng) -> tuple[kwcoco.CocoDataset, list[Path]]:
    dset = kwcoco.CocoDataset()
    dset.add_category('box')
    npys = []
    for index in range(num_images):
        pixels = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
        fpath = root / f'img_{index}.tif'
        kwimage.imwrite(fpath, pixels)
        npy = root / f'img_{index}.npy'
        np.save(npy, pixels)
        npys.append(npy)
        gid = dset.add_image(file_name=str(fpath), width=SIZE, height=SIZE)
        xy = rng.uniform(0, SIZE - 64, (300, 2))
        wh = rng.uniform(8, 64, (300, 2))
        for (x, y), (w, h) in zip(xy, wh):
            dset.add_annotation(gid, category_id=1, bbox=[float(x), float(y), float(w), float(h)])
    return dset, npys


def _rates(fns: dict, items, repeats: int) -> tuple[dict, dict]:
    """Median items/s of each function and median per-pass ratio to the first one.

    One untimed warm-up pass, then ``repeats`` passes; within a pass every function
    runs over all items in turn, so the reference sees the same machine load. Time is
    this process's CPU time: on a shared, loaded machine wall time mostly measures the
    other processes.
    """
    for fn in fns.values():
        for item in items:
            fn(item)
    rates = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.process_time()
            for item in items:
                fn(item)
            rates[name].append(len(items) / (time.process_time() - start))
    ref = next(iter(fns))
    ratios = {name: statistics.median(r / q for r, q in zip(rates[name], rates[ref])) for name in fns}
    return {name: statistics.median(r) for name, r in rates.items()}, ratios


def _construction(num_images: int, num_annots: int) -> None:
    rng = np.random.default_rng(1)
    images = [{'id': i + 1, 'file_name': f'missing/{i}.png', 'width': 1000, 'height': 1000} for i in range(num_images)]
    gids = rng.integers(1, num_images + 1, num_annots)
    boxes = rng.uniform(0, 900, (num_annots, 4))
    anns = [{'id': i + 1, 'image_id': int(g), 'category_id': 1, 'bbox': [b[0], b[1], 20.0, 20.0]}
            for i, (g, b) in enumerate(zip(gids.tolist(), boxes.tolist()))]
    dset = kwcoco.CocoDataset({'images': images, 'annotations': anns, 'categories': [{'id': 1, 'name': 'a'}]})
    del images, anns
    gc.collect()
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    start = time.perf_counter()
    sampler = CocoSampler(dset, workdir=tempfile.gettempdir())
    built = time.perf_counter() - start
    rss1 = proc.memory_info().rss
    start = time.perf_counter()
    sampler.load_target_annots({'gid': 1})
    first = time.perf_counter() - start
    rss2 = proc.memory_info().rss
    print(f'construction over {num_images} images / {num_annots} annots: {built * 1e3:.1f} ms, '
          f'RSS +{(rss1 - rss0) / 2 ** 20:.1f} MiB; first annotation query (builds the region index): '
          f'{first:.2f} s, RSS +{(rss2 - rss1) / 2 ** 20:.1f} MiB')


def main(argv: list[str]) -> None:
    quick = '--quick' in argv
    num_windows = 60 if quick else 300
    repeats = 5
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dset, npys = _make_dataset(root, 6, rng)
        gids = rng.integers(1, 7, num_windows)
        xy = rng.integers(0, SIZE - WIN, (num_windows, 2))
        targets = [{'gid': int(g), 'slices': (slice(int(y), int(y) + WIN), slice(int(x), int(x) + WIN))}
                   for g, (x, y) in zip(gids, xy)]

        maps = [np.load(p, mmap_mode='r') for p in npys]

        def memmap_crop(tr):
            sl = tr['slices']
            return np.ascontiguousarray(maps[tr['gid'] - 1][sl])

        print(f'{num_windows} windows {WIN}x{WIN}, median of {repeats} passes (each interleaved with its reference), '
              'rates per CPU second')
        samplers = {}
        for backend in [None, 'npy', 'cog']:
            sampler = CocoSampler(dset, workdir=root / 'work', backend=backend)
            sampler.frames.prepare(progress=False)
            samplers[backend] = sampler
            rates, ratios = _rates({
                'limit': memmap_crop,
                'with': sampler.load_sample,
                'without': lambda tr: sampler.load_sample(tr, with_annots=False),
            }, targets, repeats)
            print(f'backend={backend!s:5}: with annots {rates["with"]:8.1f}/s ({ratios["with"]:.2f}x limit), '
                  f'without {rates["without"]:8.1f}/s ({ratios["without"]:.2f}x limit); '
                  f'memmap crop (limit) {rates["limit"]:8.1f}/s')
        npy = samplers['npy']
        indexes = rng.integers(0, npy.n_positives, num_windows).tolist()
        rates, _ = _rates({'positive': lambda i: npy.load_positive(i, target={'window_dims': (WIN, WIN)})},
                          indexes, repeats)
        print(f'positives (npy, {WIN}x{WIN}): {rates["positive"]:.1f}/s')
        cog = samplers['cog']
        region = {'gid': 1, 'slices': (slice(0, SIZE), slice(0, SIZE)), 'dsize': (WIN, WIN)}
        rates, ratios = _rates({
            'native': lambda tr: cog.load_sample(tr, with_annots=False),
            'region': lambda tr: cog.load_sample(region, with_annots=False),
        }, targets[:30], repeats)
        print(f'cog: native {WIN}^2 window {1e3 / rates["native"]:.3f} ms, {SIZE}^2 region -> {WIN}^2 '
              f'{1e3 / rates["region"]:.3f} ms ({1 / ratios["region"]:.2f}x the native cost)')
    _construction(10_000 if quick else 100_000, 100_000 if quick else 1_000_000)


if __name__ == '__main__':
    main(os.sys.argv[1:])
