"""``ndsampler bench``: windows per second per backend and plan, against the memmap-crop limit of the same run."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import kwcoco
import numpy as np
import scriptconfig as scfg

from ndsampler._typing import PathLike, Target
from ndsampler.cli._common import (CLI_BACKENDS, CommandConfig, format_table, load_dataset, parse_backend, parse_dims,
                                   parse_names)
from ndsampler.cli._show import SHOW_MODES, sample_targets
from ndsampler.errors import InvalidOptionError
from ndsampler.geometry import window_from_center
from ndsampler.sampler import CocoSampler

__all__ = ['BenchCLI', 'bench_sampling', 'format_bench', 'MEMMAP_LIMIT']

#: The ``backend`` name of the reference row: a plain crop of memory-mapped npy cache files.
MEMMAP_LIMIT = 'memmap-crop'


def _window_slices(target: Target) -> Tuple[slice, slice]:
    """The ``(y, x)`` slices of a 2D window target (``slices``, or a centre and ``window_dims``)."""
    if 'slices' in target:
        return tuple(target['slices'])[-2:]
    h, w = target['window_dims']
    return window_from_center(target['cx'], target['cy'], w, h)


def _median_rate(read: Callable[[Target], Any], targets: Sequence[Target], repeats: int) -> float:
    """Windows per second: median over ``repeats`` passes over ``targets`` (after one warm-up read)."""
    read(targets[0])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for target in targets:
            read(target)
        times.append(time.perf_counter() - start)
    return len(targets) / max(statistics.median(times), 1e-12)


def _memmap_reader(sampler: CocoSampler) -> Callable[[Target], np.ndarray]:
    """Crop (clipped, copied) of each image's first npy cache file, opened once: the upper bound on reads."""
    arrays: Dict[Any, np.ndarray] = {}

    def read(target: Target) -> np.ndarray:
        gid = target['gid']
        data = arrays.get(gid)
        if data is None:
            data = arrays[gid] = np.load(sampler.frames.cache_fpaths(gid)[0], mmap_mode='r')
        sl_y, sl_x = _window_slices(target)
        return np.array(data[max(sl_y.start, 0):max(sl_y.stop, 0), max(sl_x.start, 0):max(sl_x.stop, 0)])
    return read


def bench_sampling(dset: kwcoco.CocoDataset, workdir: Optional[PathLike] = None,
                   backends: Sequence[Optional[str]] = ('cog', 'npy'), plans: Sequence[str] = ('random', 'positive', 'grid'),
                   window_dims: Sequence[int] = (256, 256), num: int = 64, repeats: int = 3,
                   seed: int = 0) -> List[Dict[str, Any]]:
    """Measure ``CocoSampler.load_sample`` throughput per backend and plan.

    Every backend's cache is prepared first (not timed). Each plan's ``num`` windows (see
    :func:`ndsampler.cli._show.sample_targets`) are the same for every backend; a pass
    loads them all with their annotations, and the rate is ``num`` over the median pass
    time. The reference row per plan, ``backend == MEMMAP_LIMIT``, crops the same windows
    straight out of memory-mapped npy cache files (no padding, no annotations, no
    channels or warps): the limit a sampler over that cache can approach.

    Returns
    -------
    list of dict
        ``plan``, ``backend``, ``windows_per_s``, ``ratio`` (to the plan's memmap limit).
    """
    if int(num) < 1 or int(repeats) < 1:
        raise InvalidOptionError('num / repeats', (num, repeats), 'positive ints')
    for plan in plans:
        if plan not in SHOW_MODES:
            raise InvalidOptionError('plan', plan, SHOW_MODES)
    samplers = {name: CocoSampler(dset, workdir=workdir, backend=name) for name in dict.fromkeys([*backends, 'npy'])}
    for sampler in samplers.values():
        if sampler.backend is not None:
            summary = sampler.frames.prepare(progress=False)
            if not summary.ok:
                raise InvalidOptionError('dataset', dset.fpath, f'a dataset whose images all convert; {summary.failed}')
    first = next(iter(samplers.values()))
    limit_read = _memmap_reader(samplers['npy'])
    rows: List[Dict[str, Any]] = []
    for plan in plans:
        targets = sample_targets(first, plan, num, window_dims, seed=seed)
        limit = _median_rate(limit_read, targets, repeats)
        rows.append({'plan': plan, 'backend': MEMMAP_LIMIT, 'windows_per_s': limit, 'ratio': 1.0})
        for name in backends:
            rate = _median_rate(samplers[name].load_sample, targets, repeats)
            rows.append({'plan': plan, 'backend': str(name).lower(), 'windows_per_s': rate, 'ratio': rate / limit})
    return rows


def format_bench(rows: Sequence[Dict[str, Any]]) -> str:
    """The table of :func:`bench_sampling`."""
    return format_table([(r['plan'], r['backend'], f"{r['windows_per_s']:.1f}", f"{r['ratio']:.3f}") for r in rows],
                        header=('plan', 'backend', 'windows/s (median)', f'ratio to {MEMMAP_LIMIT}'))


class BenchCLI(CommandConfig):
    """Measure windows per second per backend and plan, with the memmap-crop limit measured in the same run.

    Prepares the caches it needs (npy is always prepared for the limit).
    """

    __command__ = 'bench'
    dataset = scfg.Value(None, type=str, position=1, help='path of the kwcoco dataset file')
    workdir = scfg.Value(None, type=str, help='cache root; default: the dataset folder')
    backends = scfg.Value('cog,npy,none', type=str, help='comma-separated backends: cog, npy, none')
    plans = scfg.Value('random,positive,grid', type=str, help='comma-separated plans: positive, negative, random, grid')
    window = scfg.Value('256,256', type=str, help='window size H,W (or one number)')
    num = scfg.Value(64, type=int, help='windows per pass')
    repeats = scfg.Value(3, type=int, help='timed passes (the median is reported)')
    seed = scfg.Value(0, type=int, help='random seed of the windows')

    def execute(self) -> int:
        dset = load_dataset(self.dataset)
        backends = [parse_backend(b) for b in parse_names('backends', self.backends, CLI_BACKENDS)]
        plans = parse_names('plans', self.plans, SHOW_MODES)
        rows = bench_sampling(dset, self.workdir, backends, plans, parse_dims(self.window), self.num,
                              self.repeats, self.seed)
        print(format_bench(rows))
        return 0
