"""ndsampler_torch: DataLoader throughput with 0 / 1 / 2 workers vs the plain sampler, and RSS per worker.

The data is synthetic (100k images, 1M annotations in an in-memory kwcoco dataset, no files): a
``SyntheticSampler`` paints the boxes of each window found by its ``CocoRegions`` index, so the
figures measure the torch adapter and the regions draws (plans, item assembly, masks, collate, worker
transport) and per-worker memory, not image decoding.

Usage: ``python -m benchmarks torch [--quick]``.
"""
from __future__ import annotations

import pickle
import statistics
import time

import psutil
import torch

from ndsampler_torch import SamplerDataset, SyntheticSampler, collate

BATCH = 32
WINDOW = (64, 64)


def _mib(n_bytes: float) -> str:
    return f'{n_bytes / 2 ** 20:.1f} MiB'


def _sampler_rate(dataset: SamplerDataset, n_items: int) -> float:
    """Items/s of the bare sampler on the plan's windows (no tensors, no DataLoader)."""
    sampler, plan = dataset.sampler, dataset.plan
    start = time.perf_counter()
    for i in range(n_items):
        sampler.load_sample(plan[i])
    return n_items / (time.perf_counter() - start)


def _loader_rate(loader: torch.utils.data.DataLoader, n_batches: int) -> float:
    """Items/s over ``n_batches`` batches of an already started loader iterator."""
    it = iter(loader)
    next(it)  # workers started, first batch in flight: measure the steady state
    start = time.perf_counter()
    n = 0
    for _, batch in zip(range(n_batches), it):
        n += len(batch['boxes'])
    return n / (time.perf_counter() - start)


def _worker_memory() -> list[dict[str, float]]:
    rows = []
    for child in psutil.Process().children():
        info = child.memory_full_info()
        rows.append({'rss': info.rss, 'uss': info.uss, 'pss': getattr(info, 'pss', float('nan'))})
    return rows


def main(argv: list[str]) -> None:
    quick = '--quick' in argv
    n_images, n_annots = (10_000, 100_000) if quick else (100_000, 1_000_000)
    n_batches, repeats = (10, 2) if quick else (30, 3)
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    start = time.perf_counter()
    sampler = SyntheticSampler.demo(n_images=n_images, n_annots=n_annots, n_classes=10, image_dsize=(1024, 1024),
                                    box_size=(8, 64), seed=0)
    dataset = SamplerDataset(sampler, 'balanced', window_dims=WINDOW, with_masks=True,
                             seed=0, plan_kw={'neg_to_pos_ratio': 0.5})
    built = time.perf_counter() - start
    start = time.perf_counter()
    n_pickled = len(pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL))
    print(f'kwcoco dataset + regions index: {n_images} images, {n_annots} annotations built in {built:.2f} s; '
          f'main RSS +{_mib(proc.memory_info().rss - rss0)}; pickled dataset (what a spawned worker receives) '
          f'{_mib(n_pickled)} in {time.perf_counter() - start:.2f} s')

    n_items = n_batches * BATCH
    rates = {'sampler': statistics.median(_sampler_rate(dataset, n_items) for _ in range(repeats))}
    for workers in (0, 1, 2):
        loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=False, collate_fn=collate,
                                             num_workers=workers, persistent_workers=workers > 0,
                                             multiprocessing_context='fork' if workers else None)
        rates[f'{workers} workers'] = statistics.median(_loader_rate(loader, n_batches) for _ in range(repeats))
        if workers == 2:
            for k, row in enumerate(_worker_memory()):
                print(f'worker {k}: RSS {_mib(row["rss"])}, unique (USS) {_mib(row["uss"])}, '
                      f'proportional (PSS) {_mib(row["pss"])}')
        del loader
    base = rates['0 workers']
    print(f'DataLoader throughput, batch {BATCH}, window {WINDOW}, masks on (median of {repeats}, items/s):')
    for name, rate in rates.items():
        print(f'  {name:>10}: {rate:8.0f}   x{rate / base:.2f} vs 0 workers')
    print(f'2 workers / 0 workers = {rates["2 workers"] / base:.2f} (target >= 1.6 on 2 cores)')
