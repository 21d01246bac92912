"""ndsampler_torch: DataLoader throughput with 0 / 1 / 2 workers vs the plain sampler, and RSS per worker.

Two cases, each measured in the same run as its references:

- **real**: a ``CocoSampler`` over generated large images (12 PNGs of 2048², 100 shapes each,
  npy and cog caches prepared first), balanced 256² windows with their annotations, batch 32. The
  plain sampler rate (``load_sample`` on the plan's targets, no torch) is the per-process limit.
  The npy case runs ``im_dtype='float32'`` and ``'native'`` (uint8, 4x fewer bytes from the
  workers) interleaved in the same passes. The cog case runs twice: with GDAL's default block
  cache (which holds this whole small dataset, and each worker fills its own) and with a 16 MiB
  one, as for a dataset much larger than the cache (every window decodes its tiles).
- **synthetic**: 100k images and 1M annotations in an in-memory kwcoco dataset, no files (a
  ``SyntheticSampler`` paints the boxes of each 64² window found by its ``CocoRegions``): the torch
  adapter, regions draws and worker transport, and per-worker memory, not image decoding; the
  dataset's pickle as a plain ``pickle.dumps`` and as multiprocessing pickles it for a spawned worker.
- **warm**: each pass a fresh sampler, as a training script builds one, and a fresh DataLoader with 2 forked
  workers (an epoch): a user's own Dataset over ``load_sample`` cold (the fork hook of
  ``ndsampler.sampler._warm`` disabled for it: each worker builds the lookups and imports), warmed by
  that hook (no call: what a user gets) and with ``sampler.warmup()`` called first,
  ``SamplerDataset`` (``im_dtype='native'``) and a plain memmap-crop Dataset. Per worker, the time
  its first batch takes to compute vs the median of its later ones (measured in the worker), and the
  epoch rate (first batch included) against the memmap one.

``/proc/loadavg`` is printed before and after (other work on the machine skews the ratios).
``--profile`` adds, for the real case with 2 workers, where the *main* process spends its time
per batch (cProfile, top functions by own time).

Usage: ``python -m benchmarks torch [--quick] [--profile]``.
"""
from __future__ import annotations

import cProfile
import gc
import io
import multiprocessing
import multiprocessing.context
import pickle
import pstats
import statistics
import tempfile
import time
from pathlib import Path

import kwimage
import numpy as np
import psutil
import rasterio
import torch

from ndsampler import CocoSampler
from ndsampler.delayed.readers import reader_pool
from ndsampler.sampler import _warm
from ndsampler.demodata import demo_images
from ndsampler_torch import SamplerDataset, SyntheticSampler, collate

from ._timing import loadavg, worker_memory

BATCH = 32
#: GDAL block cache of the second cog case (every window decodes its tiles)
_SMALL_GDAL_CACHE = 16 * 2 ** 20


def _mib(n_bytes: float) -> str:
    return f'{n_bytes / 2 ** 20:.1f} MiB'


def _sampler_rate(dataset: SamplerDataset, n_items: int) -> float:
    """Items/s of the bare sampler on the plan's windows (no tensors, no DataLoader), after its first batch.

    Starts with this process's readers closed, as a fresh worker does (see :func:`_loader_rate`).
    """
    sampler, plan = dataset.sampler, dataset.plan
    reader_pool.clear(keep_marks=True)
    for i in range(BATCH):
        sampler.load_sample(plan[i])
    start = time.perf_counter()
    for i in range(BATCH, BATCH + n_items):
        sampler.load_sample(plan[i])
    return n_items / (time.perf_counter() - start)


def _consume(batch: dict) -> int:
    """What a training step does at least: read every page of the images (one value per 4 KiB).

    A uint8 batch is not converted here: a training loop converts it on its device.
    """
    im = batch['im']
    float(im.view(-1)[::4096 // im.element_size()].sum())
    return len(batch['boxes'])


def _loader_rate(dataset: SamplerDataset, workers: int, n_batches: int, report_memory: bool = False) -> float:
    """Items/s over ``n_batches`` consumed batches of a fresh loader, after its first batch.

    The workers start (and open their handles) before the clock does, and are shut down after it
    stops, so no abandoned prefetch runs during another case's measurement. Every case starts
    cold in the same way: forked workers open their own readers (no GDAL block decoded yet), and
    with 0 workers this process's readers are closed first, so the in-process rate is not that of
    tiles an earlier case decoded (the windows are the same in every case).
    """
    if not workers:
        reader_pool.clear(keep_marks=True)
    it = iter(_loader(dataset, workers))
    next(it)  # workers started, first batch in flight: measure the steady state
    start = time.perf_counter()
    n = 0
    for _, batch in zip(range(n_batches), it):
        n += _consume(batch)
    rate = n / (time.perf_counter() - start)
    if report_memory:
        for k, row in enumerate(worker_memory()):
            print(f'  worker {k}: RSS {_mib(row["rss"])}, unique (USS) {_mib(row["uss"])}, '
                  f'proportional (PSS) {_mib(row["pss"])}')
    del it
    return rate


def _loader(dataset: SamplerDataset, workers: int) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=False, collate_fn=collate,
                                       num_workers=workers, multiprocessing_context='fork' if workers else None)


def _throughput(datasets: dict[str, SamplerDataset], n_batches: int, repeats: int, title: str,
                report_memory: bool = False) -> None:
    """Median items/s of the plain sampler and of loaders with 0, 1 and 2 workers per dataset, printed.

    ``datasets`` share one sampler (``im_dtype`` variants): its plain rate is measured once per
    pass. Each pass measures every case in turn (interleaved), so a change of machine load during
    the run shifts all cases rather than one.
    """
    first = next(iter(datasets.values()))
    runs: dict[str, list[float]] = {'sampler': []}
    for rep in range(repeats):
        runs['sampler'].append(_sampler_rate(first, n_batches * BATCH))
        for label, dataset in datasets.items():
            for workers in (0, 1, 2):
                memory = report_memory and workers == 2 and rep == 0 and dataset is first
                runs.setdefault(f'{label}{workers} workers', []).append(
                    _loader_rate(dataset, workers, n_batches, memory))
    rates = {name: statistics.median(values) for name, values in runs.items()}
    print(f'{title} (median of {repeats} interleaved passes of {n_batches} batches of {BATCH}, items/s):')
    print(f'  {"plain sampler":>24}: {rates["sampler"]:8.1f}')
    for label in datasets:
        base = rates[f'{label}0 workers']
        for workers in (0, 1, 2):
            rate = rates[f'{label}{workers} workers']
            print(f'  {label + str(workers) + " workers":>24}: {rate:8.1f}   x{rate / base:.2f} vs 0 workers')
        two = rates[f'{label}2 workers']
        per_pass = sorted(a / b for a, b in zip(runs[f'{label}2 workers'], runs[f'{label}0 workers']))
        print(f'  {label}2 workers / 0 workers = {two / base:.2f} (target >= 1.6 on 2 cores; per pass '
              f'{per_pass[0]:.2f}..{per_pass[-1]:.2f}); 2 workers / plain sampler = {two / rates["sampler"]:.2f}')
    if len(datasets) > 1:
        ref = next(iter(datasets))
        for label in list(datasets)[1:]:
            print('  ' + ', '.join(f'{workers} workers {label.strip()} / {ref.strip()} = '
                                   f'{rates[f"{label}{workers} workers"] / rates[f"{ref}{workers} workers"]:.2f}'
                                   for workers in (0, 1, 2)))


def _profile_main(dataset: SamplerDataset, n_batches: int) -> None:
    """Top functions of the main process while it consumes ``n_batches`` from 2 workers."""
    loader = _loader(dataset, 2)
    it = iter(loader)
    next(it)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _, batch in zip(range(n_batches), it):
        _consume(batch)
    profiler.disable()
    per_batch = (time.perf_counter() - start) / n_batches
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats('tottime').print_stats(8)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    print(f'main process with 2 workers: {per_batch * 1e3:.1f} ms per batch; top functions by own time:')
    print('\n'.join('  ' + line for line in lines[-10:]))


def _real_case(quick: bool, profile: bool) -> None:
    n_batches, repeats = (5, 3) if quick else (40, 7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        dset = demo_images(root / 'bundle', num_images=12, dsize=(2048, 2048), num_objects=100,
                           radius_range=(12, 64), seed=0)
        print(f'real: {dset.n_images} images 2048^2, {dset.n_annots} annotations generated in '
              f'{time.perf_counter() - start:.1f} s')
        for backend in ('npy', 'cog'):
            sampler = CocoSampler(dset, workdir=root / 'work', backend=backend)
            start = time.perf_counter()
            sampler.frames.prepare(progress=False)
            print(f'  {backend} cache prepared in {time.perf_counter() - start:.1f} s')
            im_dtypes = ('float32', 'native') if backend == 'npy' else ('float32',)
            datasets = {f'{im_dtype} ': SamplerDataset(sampler, 'balanced', window_dims=(256, 256), seed=0,
                                                       plan_kw={'neg_to_pos_ratio': 0.5}, im_dtype=im_dtype)
                        for im_dtype in im_dtypes}
            title = f'real CocoSampler, backend={backend}, window 256x256'
            _throughput(datasets, n_batches, repeats, title)
            if backend == 'cog':
                # Each process has its own GDAL block cache: here (151 MB of decoded pixels, 1280 windows
                # per case) one process decodes a tile once where two workers each decode it. With a
                # dataset much larger than the cache every window decodes its own tiles in any process:
                with rasterio.Env(GDAL_CACHEMAX=_SMALL_GDAL_CACHE):
                    _throughput(datasets, n_batches, repeats, f'{title}, GDAL_CACHEMAX={_mib(_SMALL_GDAL_CACHE)} '
                                                              f'(as for a dataset much larger than the block cache)')
            if profile and backend == 'npy':
                for label, dataset in datasets.items():
                    print(f'im_dtype={label.strip()}: ', end='')
                    _profile_main(dataset, 2 * n_batches)


def _synthetic_case(quick: bool) -> None:
    n_images, n_annots = (10_000, 100_000) if quick else (100_000, 1_000_000)
    n_batches, repeats = (10, 3) if quick else (150, 5)
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    start = time.perf_counter()
    sampler = SyntheticSampler.demo(n_images=n_images, n_annots=n_annots, n_classes=10, image_dsize=(1024, 1024),
                                    box_size=(8, 64), seed=0)
    dataset = SamplerDataset(sampler, 'balanced', window_dims=(64, 64), with_masks=True,
                             seed=0, plan_kw={'neg_to_pos_ratio': 0.5})
    built = time.perf_counter() - start
    start = time.perf_counter()
    n_pickled = len(pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL))
    print(f'synthetic: kwcoco dataset + regions index: {n_images} images, {n_annots} annotations built in '
          f'{built:.2f} s; main RSS +{_mib(proc.memory_info().rss - rss0)}; pickled dataset {_mib(n_pickled)} '
          f'in {time.perf_counter() - start:.2f} s')
    n_dset = len(pickle.dumps(sampler.dset, protocol=pickle.HIGHEST_PROTOCOL))
    multiprocessing.context.set_spawning_popen(object())  # as while a spawned worker's arguments are pickled
    try:
        n_spawn = len(pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        multiprocessing.context.set_spawning_popen(None)
    print(f'  what a spawned worker receives: {_mib(n_spawn)} (the kwcoco dataset alone: {_mib(n_dset)}; '
          f'the regions table and box index are mapped from files)')
    _throughput({'': dataset}, n_batches, repeats, 'synthetic sampler, window 64x64, masks on', report_memory=True)


#: per worker process: when the batch being computed started (set by its first item, cleared by the collate)
_BATCH_T0: list[float] = []


class _OwnDataset(torch.utils.data.Dataset):
    """A user's own Dataset over ``load_sample`` (fixed windows), or memmap crops of the same windows."""

    def __init__(self, windows: list[dict], sampler: CocoSampler | None = None, arrays: dict | None = None):
        self.windows, self.sampler, self.arrays = windows, sampler, arrays

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict:
        w = self.windows[index]
        if self.sampler is not None:
            im = self.sampler.load_sample(dict(w))['im']
        else:
            x0, y0 = int(w['cx']) - 128, int(w['cy']) - 128
            im = self.arrays[w['gid']][y0:y0 + 256, x0:x0 + 256]
        return {'im': torch.from_numpy(np.ascontiguousarray(np.asarray(im).transpose(2, 0, 1)))}


class _Timed(torch.utils.data.Dataset):
    """``dataset`` whose first item of each batch notes the time (see :func:`_timed`)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        if not _BATCH_T0:
            _BATCH_T0.append(time.perf_counter())
        return self.dataset[index]


def _timed(collate_fn):
    """``collate_fn`` that also returns the worker's id and the seconds it computed the batch."""
    def timed(items):
        batch = collate_fn(items)
        info = torch.utils.data.get_worker_info()
        batch['compute_s'], batch['worker'] = time.perf_counter() - _BATCH_T0.pop(), (info.id if info else 0)
        return batch
    return timed


def _default_collate(items):
    return {'im': torch.stack([item['im'] for item in items])}


def _two_epochs(dataset, collate_fn) -> tuple[float, float, float, float | None]:
    """:func:`_epoch` twice (fresh workers each time, as without ``persistent_workers``).

    (first epoch's first-batch ratio, first epoch's items/s, second epoch's items/s, ``warm_s``)
    """
    first, rate1, warm_s = _epoch(dataset, collate_fn)
    _, rate2, _ = _epoch(dataset, collate_fn)
    return first, rate1, rate2, warm_s


def _epoch(dataset, collate_fn) -> tuple[float, float, float | None]:
    """(worst first-batch / later-batch compute ratio over the 2 workers, items/s of the epoch, ``warm_s``)"""
    loader = torch.utils.data.DataLoader(_Timed(dataset), batch_size=BATCH, num_workers=2, multiprocessing_context='fork',
                                         collate_fn=_timed(collate_fn))
    per_worker: dict[int, list[float]] = {}
    n = 0
    start = time.perf_counter()
    for batch in loader:
        im = batch['im']
        float(im.view(-1)[::4096 // im.element_size()].sum())  # read every page, as _consume does
        n += len(im)
        per_worker.setdefault(batch['worker'], []).append(batch['compute_s'])
    rate = n / (time.perf_counter() - start)
    worst = max(t[0] / statistics.median(t[1:]) for t in per_worker.values())
    return worst, rate, getattr(dataset, 'warm_s', None)


def _in_fresh_process(fn):
    """``fn()`` in a process forked from this one (which has sampled nothing yet), as a training script starts."""
    context = multiprocessing.get_context('fork')
    queue = context.SimpleQueue()
    proc = context.Process(target=lambda: queue.put(fn()))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def _warm_case(quick: bool) -> None:
    n_img, side, n_batches, repeats = (4, 1024, 8, 5) if quick else (6, 2048, 16, 5)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dset = demo_images(root / 'bundle', num_images=n_img, dsize=(side, side), num_objects=100,
                           radius_range=(12, 64), seed=0)
        CocoSampler(dset, workdir=root / 'work', backend='npy').frames.prepare(progress=False)
        gc.collect()  # that sampler (its cycles) gone: the fork hook of ndsampler.sampler._warm must not warm it here
        for gid in dset.imgs:  # the memmap reference: the same pixels as plain .npy files
            np.save(root / f'{gid}.npy', kwimage.imread(dset.get_image_fpath(gid)))
        arrays = {gid: np.load(root / f'{gid}.npy', mmap_mode='r') for gid in dset.imgs}
        rng = np.random.default_rng(0)
        n = n_batches * BATCH
        windows = [{'gid': int(g), 'cx': float(x), 'cy': float(y), 'width': 256, 'height': 256}
                   for g, x, y in zip(rng.choice(sorted(dset.imgs), n), rng.integers(128, side - 128, n),
                                      rng.integers(128, side - 128, n))]

        def fresh():
            return CocoSampler(dset.copy(), workdir=root / 'work', backend='npy')

        def cold():  # as before the fork hook: nothing warms the sampler before its workers fork
            sampler = fresh()
            _warm._PENDING.discard(sampler)
            return sampler

        def warmed():
            sampler = fresh()
            start = time.perf_counter()
            sampler.warmup()
            dataset = _OwnDataset(windows, sampler)
            dataset.warm_s = time.perf_counter() - start
            return dataset

        cases = {
            'memmap crops': lambda: (_OwnDataset(windows, arrays=arrays), _default_collate),
            'own Dataset, cold': lambda: (_OwnDataset(windows, cold()), _default_collate),
            'own Dataset, fork hook': lambda: (_OwnDataset(windows, fresh()), _default_collate),
            'own Dataset + warmup()': lambda: (warmed(), _default_collate),
            'SamplerDataset native': lambda: (SamplerDataset(fresh(), 'random', window_dims=(256, 256), seed=0,
                                                             im_dtype='native', plan_kw={'length': n}), collate),
        }
        runs: dict[str, list[tuple[float, float, float | None]]] = {name: [] for name in cases}
        for _ in range(repeats):
            for name, make in cases.items():
                runs[name].append(_in_fresh_process(lambda: _two_epochs(*make())))
        refs = [statistics.median(v[k] for v in runs['memmap crops']) for k in (1, 2)]
        print(f'warm: {n_img} images {side}^2, an epoch of {n_batches} batches of {BATCH} 256^2 windows, 2 forked '
              f'workers, each pass in a fresh process (nothing sampled or imported lazily yet) running two epochs '
              f'(fresh workers each), median (min-max) of {repeats} passes')
        for name, values in runs.items():
            firsts = [v[0] for v in values]
            warm = [v[3] for v in values if v[3] is not None]
            epochs = []
            for k, ref in zip((1, 2), refs):
                rates = [v[k] for v in values]
                epochs.append(f'epoch {k} {statistics.median(rates):6.0f} items/s ({min(rates):.0f}-{max(rates):.0f}) '
                              f'x{statistics.median(rates) / ref:.2f}')
            print(f'  {name:>22}: first batch / later (worst worker) {statistics.median(firsts):5.2f} '
                  f'({min(firsts):.2f}-{max(firsts):.2f}); ' + '; '.join(epochs) + ' memmap crops'
                  + (f'; warmup() in the parent {statistics.median(warm) * 1e3:.0f} ms' if warm else ''))


def main(argv: list[str]) -> None:
    quick = '--quick' in argv
    print(f'load average before: {loadavg()}')
    _warm_case(quick)
    _real_case(quick, '--profile' in argv)
    _synthetic_case(quick)
    print(f'load average after: {loadavg()}')
