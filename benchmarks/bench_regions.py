"""Regions: index build time / memory at 100k images + 1M annotations, overlap queries/s, negatives/s.

``python -m benchmarks regions [--quick]``. Synthetic data, no pixels. Queries are 256x256
windows; the reference is a brute-force numpy scan over the same image's boxes, measured in
the same run. Negative windows (``get_negative``) are timed on a crowded set of images and on
the sparse 512x512 ones against drawing candidates one at a time and testing each with
``window_is_skipped`` (the same rule, one candidate per call).
"""
from __future__ import annotations

import time
import tracemalloc

import kwcoco
import numpy as np

from ndsampler.regions import CocoRegions, visible_fraction

from ._timing import median_seconds


def _dataset(n_images: int, n_annots: int, big_annots: int, rng) -> kwcoco.CocoDataset:
    """``n_images`` 512x512 images sharing ``n_annots`` boxes, plus one 20000^2 image with ``big_annots``."""
    sizes = np.full((n_images, 2), 512)
    sizes[0] = 20000
    images = [{'id': k + 1, 'file_name': f'{k}.tif', 'width': int(w), 'height': int(h)}
              for k, (w, h) in enumerate(sizes)]
    gids = np.concatenate([np.ones(big_annots, int), rng.integers(2, n_images + 1, size=n_annots - big_annots)])
    extent = sizes[gids - 1]
    wh = rng.uniform(4, 64, size=(n_annots, 2))
    xy = rng.uniform(0, 1, size=(n_annots, 2)) * (extent - wh)
    bbox = np.concatenate([xy, wh], axis=1).tolist()
    anns = [{'id': i + 1, 'image_id': int(g), 'category_id': 1, 'bbox': b} for i, (g, b) in enumerate(zip(gids.tolist(), bbox))]
    return kwcoco.CocoDataset({'images': images, 'annotations': anns, 'categories': [{'id': 1, 'name': 'obj'}]})


def _crowded_dataset(rng) -> kwcoco.CocoDataset:
    """12 images of 2048x2048 with 100 boxes of 24..128 pixels each: most 256x256 windows touch one."""
    dset = kwcoco.CocoDataset()
    cid = dset.add_category('obj')
    for k in range(12):
        gid = dset.add_image(name=f'crowded{k}', width=2048, height=2048)
        for x, y, side in zip(*rng.uniform(0, 2048, (2, 100)), rng.uniform(24, 128, 100)):
            dset.add_annotation(image_id=gid, category_id=cid, bbox=[float(x), float(y), float(side), float(side)])
    return dset


def _one_at_a_time_negative(regions: CocoRegions, rng, dims: tuple[int, int]) -> dict:
    """The reference: draw one candidate window (uniform over pixels), test it, repeat until one passes."""
    table = regions.table
    h, w = dims
    while True:
        slot = int(table['image_cdf'].searchsorted(rng.random(), side='right'))
        iw, ih = table['image_dsize'][slot]
        x0, y0 = np.floor(rng.random() * iw) - w // 2, np.floor(rng.random() * ih) - h // 2
        gid = int(table['image_ids'][slot])
        if not regions.window_is_skipped(gid, [x0, y0, x0 + w, y0 + h], regions.neg_thresh):
            return {'gid': gid, 'slices': (slice(y0, y0 + h), slice(x0, x0 + w))}


def _negative_rates(label: str, regions: CocoRegions, n: int) -> None:
    dims = (256, 256)
    t_ours = median_seconds(lambda: [regions.get_negative(rng=np.random.default_rng(k), window_dims=dims)
                                     for k in range(n)], 3) / n
    t_ref = median_seconds(lambda: [_one_at_a_time_negative(regions, np.random.default_rng(k), dims)
                                    for k in range(n)], 3) / n
    print(f'get_negative 256x256 on {label}: {1 / t_ours:,.0f} windows/s (median); one candidate per '
          f'window_is_skipped call {1 / t_ref:,.0f}/s; ratio {t_ref / t_ours:.2f}x')


def main(argv: list[str]) -> None:
    quick = '--quick' in argv
    n_images, n_annots, big = (10_000, 100_000, 20_000) if quick else (100_000, 1_000_000, 100_000)
    rng = np.random.default_rng(0)
    dset = _dataset(n_images, n_annots, big, rng)
    print(f'dataset: {n_images} images, {n_annots} annotations ({big} in one 20000x20000 image)')

    def build():
        regions = CocoRegions(dset)
        regions.isect_index  # noqa: B018 - forces the build
        return regions

    tracemalloc.start()
    start = time.perf_counter()
    regions = build()
    build_s = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f'index build (table + index): {build_s:.2f} s; peak traced memory {peak / 2 ** 20:.0f} MiB; '
          f'index arrays {regions.isect_index.nbytes / 2 ** 20:.0f} MiB')
    rebuild = median_seconds(lambda: CocoRegions(dset).isect_index, 3)
    print(f'index build median of 3: {rebuild:.2f} s')

    table = regions.table
    rows = np.flatnonzero(table['gid'] == 1)
    ltrb = table['ltrb'][rows]
    corners = rng.uniform(0, 20000 - 256, size=(500, 2))
    windows = np.concatenate([corners, corners + 256], axis=1)

    def indexed():
        for window in windows:
            regions.overlapping_aids(1, window)

    def brute():
        for window in windows:
            table['aid'][rows[visible_fraction(ltrb, window) > 0]].tolist()

    for window in windows[:20]:
        assert regions.overlapping_aids(1, window) == table['aid'][rows[visible_fraction(ltrb, window) > 0]].tolist()
    t_index = median_seconds(indexed, 5) / len(windows)
    t_brute = median_seconds(brute, 3) / len(windows)
    print(f'overlapping_aids 256x256 on the {len(rows)}-box image: {1 / t_index:,.0f} queries/s '
          f'(median); brute-force numpy scan {1 / t_brute:,.0f} queries/s; ratio {t_brute / t_index:.1f}x')

    small_windows = [(int(g), np.array([0, 0, 256, 256.0])) for g in rng.integers(2, n_images + 1, size=2000)]
    t_small = median_seconds(lambda: [regions.overlapping_aids(g, w) for g, w in small_windows], 5) / len(small_windows)
    print(f'overlapping_aids on 512x512 images: {1 / t_small:,.0f} queries/s (median)')
    t_neg = median_seconds(lambda: regions.preselect(n_neg=1000, window_dims=(256, 256), rng=0), 3)
    print(f'preselect 1000 negatives (256x256): {t_neg:.2f} s (median)')
    _negative_rates('the 512x512 images (about 10 boxes each)', regions, 300 if quick else 1000)
    _negative_rates('12 crowded 2048x2048 images (100 boxes each)', CocoRegions(_crowded_dataset(rng)),
                    300 if quick else 1000)
