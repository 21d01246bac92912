"""SQL-backed datasets: ``CocoSampler`` over kwcoco's SQL view (SQLite) vs the same dataset in JSON.

A generated dataset of 100k images and 1M box annotations (``--quick``: 10k / 100k; ``--size
IMAGES,ANNOTS`` for another size) written as plain dicts, its images symlinks to 8 real 512² PNGs.
The JSON file is converted to SQLite once (``dset.view_sql()``, timed). Then each variant runs in
a fresh process, as a training job starts:

- **open**: read the JSON file (``kwcoco.CocoDataset``), or connect to the SQLite view read-only;
- **sampler**: ``CocoSampler(dset)`` (the regions index over every annotation);
- **first positive**: ``load_positive(0)`` (pixels and annotations);
- **plan**: ``SamplerDataset(sampler, 'positives')``;
- **loader**: a ``DataLoader`` with 2 forked workers, random positives (64² windows, batch 32):
  time to the first batch, items/s over the next batches, and each worker's memory then: RSS,
  unique (USS: what the worker costs on its own, pages it copied or allocated) and proportional
  (PSS). ``main RSS`` is the parent after building the sampler.

``/proc/loadavg`` is printed before and after (other work on the machine skews the figures).

Usage: ``python -m benchmarks sql [--quick] [--size IMAGES,ANNOTS]``.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ._timing import loadavg, worker_memory

REPO = Path(__file__).resolve().parents[1]
BATCH = 32
N_BATCHES = 20
N_CLASSES = 10
N_SOURCES = 8
SOURCE_SIZE = 512


def _mib(n_bytes: float) -> str:
    return f'{n_bytes / 2 ** 20:.0f} MiB'


def write_dataset(dpath: Path, n_images: int, n_annots: int, seed: int = 0) -> Path:
    """A kwcoco JSON file of ``n_images`` (sharing :data:`N_SOURCES` real PNGs) and ``n_annots`` boxes."""
    from ndsampler.demodata import demo_images

    demo_images(dpath, num_images=N_SOURCES, dsize=(SOURCE_SIZE, SOURCE_SIZE), num_objects=4, seed=seed)
    sources = sorted((dpath / 'images').glob('*.png'))
    links = dpath / 'links'  # kwcoco's SQL schema wants unique file names: one symlink per image
    links.mkdir()
    for g in range(1, n_images + 1):
        os.symlink(sources[g % len(sources)], links / f'{g}.png')
    rng = np.random.default_rng(seed)
    gids = rng.integers(1, n_images + 1, size=n_annots).tolist()
    cids = rng.integers(1, N_CLASSES + 1, size=n_annots).tolist()
    wh = rng.uniform(8, 64, size=(n_annots, 2))
    xy = rng.uniform(0, SOURCE_SIZE - 64, size=(n_annots, 2))
    boxes = np.round(np.concatenate([xy, wh], axis=1), 2).tolist()
    data = {
        'categories': [{'id': c, 'name': f'class_{c}'} for c in range(1, N_CLASSES + 1)],
        'images': [{'id': g, 'file_name': f'links/{g}.png', 'width': SOURCE_SIZE, 'height': SOURCE_SIZE,
                    'channels': 'red|green|blue'} for g in range(1, n_images + 1)],
        'annotations': [{'id': a, 'image_id': g, 'category_id': c, 'bbox': b, 'area': b[2] * b[3]}
                        for a, (g, c, b) in enumerate(zip(gids, cids, boxes), start=1)],
    }
    fpath = dpath / 'big.kwcoco.json'
    with open(fpath, 'w') as file:
        json.dump(data, file)
    return fpath


def _measure(variant: str, fpath: str, db_fpath: str) -> dict:
    """One variant in this (fresh) process; the figures as a dict."""
    import kwcoco
    import psutil
    import torch

    from ndsampler import CocoSampler
    from ndsampler_torch import SamplerDataset, collate

    out: dict = {}
    start = time.perf_counter()
    if variant == 'json':
        dset = kwcoco.CocoDataset(fpath)
    else:
        dset = kwcoco.CocoSqlDatabase(db_fpath, img_root=os.path.dirname(fpath))
        dset.connect(readonly=True)
    out['open'] = time.perf_counter() - start
    start = time.perf_counter()
    sampler = CocoSampler(dset, backend=None)
    out['sampler'] = time.perf_counter() - start
    start = time.perf_counter()
    sample = sampler.load_positive(0)
    out['first positive'] = time.perf_counter() - start
    assert sample['im'].size and len(sample['annots']['aids'])
    out['main rss'] = psutil.Process().memory_info().rss
    start = time.perf_counter()
    dataset = SamplerDataset(sampler, 'positives', window_dims=(64, 64), seed=0)
    out['plan'] = time.perf_counter() - start
    order = torch.utils.data.RandomSampler(dataset, generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, sampler=order, collate_fn=collate,
                                         num_workers=2, multiprocessing_context='fork')
    start = time.perf_counter()
    it = iter(loader)
    next(it)
    out['first batch'] = time.perf_counter() - start
    start = time.perf_counter()
    n = sum(len(batch['boxes']) for _, batch in zip(range(N_BATCHES), it))
    out['items/s'] = n / (time.perf_counter() - start)
    out['workers'] = worker_memory()
    del it
    return out


def _run_variant(variant: str, fpath: Path, db_fpath: Path) -> dict:
    proc = subprocess.run([sys.executable, '-m', 'benchmarks.bench_sql', '--child', variant, str(fpath),
                           str(db_fpath)], cwd=REPO, capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise RuntimeError(f'{variant} run failed:\n{proc.stderr[-4000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _report(results: dict[str, dict]) -> None:
    rows = ['open', 'sampler', 'first positive', 'plan', 'first batch']
    print(f'  {"":16s} {"json":>10s} {"sql":>10s} {"sql/json":>9s}')
    for key in rows:
        j, s = results['json'][key], results['sql'][key]
        print(f'  {key + " (s)":16s} {j:10.2f} {s:10.2f} {s / j:9.2f}')
    j, s = results['json']['items/s'], results['sql']['items/s']
    print(f'  {"items/s":16s} {j:10.0f} {s:10.0f} {s / j:9.2f}')
    j, s = results['json']['main rss'], results['sql']['main rss']
    print(f'  {"main RSS":16s} {_mib(j):>10s} {_mib(s):>10s} {s / j:9.2f}')
    for k in range(2):
        for what in ('rss', 'uss', 'pss'):
            j, s = results['json']['workers'][k][what], results['sql']['workers'][k][what]
            print(f'  {f"worker {k} {what.upper()}":16s} {_mib(j):>10s} {_mib(s):>10s} {s / j:9.2f}')


def main(argv: list[str]) -> None:
    if '--child' in argv:
        variant, fpath, db_fpath = argv[argv.index('--child') + 1:][:3]
        print(json.dumps(_measure(variant, fpath, db_fpath)))
        return
    n_images, n_annots = (10_000, 100_000) if '--quick' in argv else (100_000, 1_000_000)
    for arg in argv:
        if arg.startswith('--size='):
            n_images, n_annots = map(int, arg.split('=', 1)[1].split(','))
    import kwcoco

    print(f'loadavg {loadavg()}')
    with tempfile.TemporaryDirectory(prefix='bench_sql_') as tmp:
        start = time.perf_counter()
        fpath = write_dataset(Path(tmp), n_images, n_annots)
        print(f'dataset: {n_images} images, {n_annots} annotations, {_mib(fpath.stat().st_size)} of JSON, '
              f'written in {time.perf_counter() - start:.1f} s')
        start = time.perf_counter()
        with open(os.devnull, 'w') as quiet, contextlib.redirect_stdout(quiet):  # kwcoco's progress lines
            sql = kwcoco.CocoDataset(fpath).view_sql()
        db_fpath = Path(sql.uri)
        print(f'SQLite view (once): {time.perf_counter() - start:.1f} s (JSON read + conversion), '
              f'{_mib(db_fpath.stat().st_size)}')
        del sql
        results = {variant: _run_variant(variant, fpath, db_fpath) for variant in ('json', 'sql')}
    print('fresh process per variant; loader: 2 forked workers, random positives 64x64, batch 32, '
          f'{N_BATCHES} batches')
    _report(results)
    print(f'loadavg {loadavg()}')


if __name__ == '__main__':
    main(sys.argv[1:])
