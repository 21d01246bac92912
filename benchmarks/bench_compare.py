"""Side by side with ndsampler 0.8.1: the same cases, data and windows in this package and in 0.8.1's own venv.

ndsampler 0.8.1 is no requirement of ours: it lives in a throwaway venv that ``tools/compat_upstream.py``
builds (same third-party set, ``requirements/constraints.txt``; reused when it exists, default
``/tmp/compat/venv-08``). The driver generates the data once (large PNGs of shapes with boxed
annotations, a plain ``.npy`` of each for the memmap limit), then runs this file as a worker in
each venv, alternating, ``--rounds`` times; each worker runs every case once untimed (page cache,
lazy imports) and then ``--passes`` times (interleaved) in one fresh process:

- ``sample``: ``load_sample`` on fixed random 256² windows (npy backend), with annotations;
- ``sample-no-annots``: the same with ``with_annots=False``;
- ``positive``: ``load_positive(index=i)`` (windows of the annotations' own sizes);
- ``loader-0`` / ``loader-2``: a user's own Dataset over ``load_sample`` (it calls ``sampler.warmup()``
  when the sampler has one), batch 32, a fresh DataLoader per pass with 0 / 2 forked workers, timed
  from ``iter`` to the last batch (so each epoch's worker start and first batch count);
- ``none-png``: ``load_sample`` with the None backend (windows read from the PNGs);
- ``prepare``: ``frames.prepare()`` of the npy backend into a fresh workdir (images/s; its passes run
  after all the others, whose reads its writeback would slow);
- ours only: ``dataset-2`` (``SamplerDataset``, ``im_dtype='native'``, 2 workers).

References measured in the same worker process: ``memmap`` (a crop of the same window from a
``np.load(mmap_mode='r')`` array) for the sample cases, ``memmap-loader-0/2`` (the same crops through a
DataLoader) for the loader cases. The table prints medians with the spread (min-max) over all passes,
ours / 0.8.1, and each side / its limit.

Usage: ``python -m benchmarks compare [--quick]`` or ``make bench-compare`` (``BENCH_COMPARE_ARGS``):
``python benchmarks/bench_compare.py [--quick] [--passes 5] [--rounds 1] [--compat-workdir /tmp/compat]
[--fresh-venv] [--work DIR]``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WINDOW = 256
BATCH = 32
#: (number of images, image side, boxes per image, windows per sample case, items per loader pass, png windows)
SIZES = {'full': (6, 4096, 300, 1024, 512, 64), 'quick': (6, 2048, 150, 256, 256, 16)}
CASES = ['sample', 'sample-no-annots', 'positive', 'loader-0', 'loader-2', 'none-png', 'prepare', 'dataset-2']
#: the reference each case is compared with (measured in the same worker)
LIMIT_OF = {'sample': 'memmap', 'sample-no-annots': 'memmap', 'none-png': None, 'positive': None, 'prepare': None,
            'loader-0': 'memmap-loader-0', 'loader-2': 'memmap-loader-2', 'dataset-2': 'memmap-loader-2'}


# ----------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------

def _compat():
    """``tools/compat_upstream.py`` as a module (it builds the 0.8.1 venv)."""
    spec = importlib.util.spec_from_file_location('compat_upstream', REPO / 'tools' / 'compat_upstream.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _venv_08(compat_work: Path, fresh: bool) -> Path:
    compat = _compat()
    compat_work.mkdir(parents=True, exist_ok=True)
    venv = compat_work / 'venv-08'
    log = compat_work / 'venv-08.log'
    if fresh or not (venv / 'bin' / 'python').exists():
        print(f'building {venv} (log: {log})', flush=True)
        paths = compat.download(compat_work, log)
        compat.make_venv(compat_work, '08', paths, reuse=not fresh, log=log)
    return venv / 'bin' / 'python'


def _make_data(work: Path, size: str) -> Path:
    """The PNG bundle and one ``.npy`` per image (the memmap reference); reused when present."""
    import kwcoco
    import numpy as np

    from ndsampler.demodata import demo_images

    n_img, side, n_obj = SIZES[size][:3]
    root = work / f'data-{size}'
    fpath = root / 'images.kwcoco.json'
    if not fpath.exists():
        print(f'generating {n_img} images of {side}² with {n_obj} boxes each in {root}', flush=True)
        demo_images(root, num_images=n_img, dsize=(side, side), num_objects=n_obj)
    dset = kwcoco.CocoDataset(fpath)
    for gid in dset.imgs:
        npy = root / 'npy' / f'{gid}.npy'
        if not npy.exists():
            import kwimage
            npy.parent.mkdir(exist_ok=True)
            np.save(npy, kwimage.imread(dset.get_image_fpath(gid)))
    return fpath


def _run_worker(python: str, label: str, fpath: Path, out: Path, args: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['PYTHONHASHSEED'] = '0'
    cmd = [python, str(Path(__file__).resolve()), 'worker', str(fpath), str(out), json.dumps(args)]
    print(f'  {label}: {" ".join(cmd[:2])} ...', flush=True)
    proc = subprocess.run(cmd, cwd=out.parent, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f'worker {label} failed (rc {proc.returncode}):\n{proc.stderr[-3000:]}')
    return json.loads(out.read_text())


def _fmt(rates: list[float] | None) -> str:
    if not rates:
        return '-'
    return f'{statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})'


def _ratio(a: list[float] | None, b: list[float] | None) -> str:
    if not a or not b:
        return '-'
    return f'{statistics.median(a) / statistics.median(b):.2f}'


def report(results: dict[str, dict[str, list[float]]]) -> None:
    """Print the table: per case the medians (spread) of both, ours / 0.8.1, each / its limit."""
    old, ours = results['0.8.1'], results['ours']
    print('| case | ndsampler 0.8.1 /s | ours /s | ours / 0.8.1 | 0.8.1 / limit | ours / limit | limit (ours run) /s |')
    print('|---|---|---|---|---|---|---|')
    for case in CASES:
        ref = LIMIT_OF[case]
        print(f'| {case} | {_fmt(old.get(case))} | {_fmt(ours.get(case))} | {_ratio(ours.get(case), old.get(case))} '
              f'| {_ratio(old.get(case), old.get(ref)) if ref else "-"} | {_ratio(ours.get(case), ours.get(ref)) if ref else "-"} '
              f'| {_fmt(ours.get(ref)) if ref else "-"} |')
    for ref in ('memmap', 'memmap-loader-0', 'memmap-loader-2'):
        print(f'| ({ref}) | {_fmt(old.get(ref))} | {_fmt(ours.get(ref))} | {_ratio(ours.get(ref), old.get(ref))} | | | |')


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog='bench_compare', description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='2048² images, fewer windows')
    ap.add_argument('--passes', type=int, default=5)
    ap.add_argument('--rounds', type=int, default=1, help='worker runs per venv, alternating')
    ap.add_argument('--compat-workdir', type=Path, default=Path('/tmp/compat'))
    ap.add_argument('--fresh-venv', action='store_true', help='rebuild the 0.8.1 venv')
    ap.add_argument('--work', type=Path, default=Path('/tmp/ndsampler_bench_compare'))
    ns = ap.parse_args(argv)
    size = 'quick' if ns.quick else 'full'
    ns.work.mkdir(parents=True, exist_ok=True)
    python_08 = _venv_08(ns.compat_workdir, ns.fresh_venv)
    fpath = _make_data(ns.work, size)
    n_img, side, n_obj, n_win, n_loader, n_png = SIZES[size]
    args = {'passes': ns.passes, 'n_win': n_win, 'n_loader': n_loader, 'n_png': n_png}
    print(f'{n_img} images {side}², {n_obj} boxes each, {WINDOW}² windows, {ns.passes} passes x {ns.rounds} rounds; '
          f'load {_loadavg()}', flush=True)
    results: dict[str, dict[str, list[float]]] = {'0.8.1': {}, 'ours': {}}
    for rnd in range(ns.rounds):
        for label, python in (('0.8.1', str(python_08)), ('ours', sys.executable)):
            out = ns.work / f'result-{label}-{rnd}.json'
            for case, rates in _run_worker(python, label, fpath, out, args).items():
                results[label].setdefault(case, []).extend(rates)
    print(f'load after: {_loadavg()}')
    report(results)


def _loadavg() -> str:
    with open('/proc/loadavg') as file:
        return ' '.join(file.read().split()[:3])


# ----------------------------------------------------------------------------
# worker: runs inside either venv (only APIs both versions have)
# ----------------------------------------------------------------------------

def _windows(dset, n: int, seed: int) -> list[dict]:
    import numpy as np
    rng = np.random.default_rng(seed)
    gids = sorted(dset.imgs)
    out = []
    for _ in range(n):
        gid = gids[int(rng.integers(len(gids)))]
        img = dset.imgs[gid]
        x0 = int(rng.integers(0, img['width'] - WINDOW + 1))
        y0 = int(rng.integers(0, img['height'] - WINDOW + 1))
        out.append({'gid': gid, 'cx': x0 + WINDOW / 2, 'cy': y0 + WINDOW / 2, 'width': WINDOW, 'height': WINDOW})
    return out


def _rate(n: int, fn) -> float:
    start = time.perf_counter()
    fn()
    return n / (time.perf_counter() - start)


def worker(fpath: str, out: str, args: dict) -> None:
    import shutil
    import tempfile

    import kwcoco
    import numpy as np
    import torch

    import ndsampler

    ours = hasattr(ndsampler.CocoSampler, 'warmup')
    torch.set_num_threads(1)  # the batch stacking: idle OpenMP threads spinning on a loaded machine skew every loader case
    root = Path(fpath).parent
    scratch = Path(tempfile.mkdtemp(prefix='bench_compare_', dir=Path(out).parent))
    dset = kwcoco.CocoDataset(fpath)
    sampler = ndsampler.CocoSampler(dset, workdir=scratch / 'npy', backend='npy')
    sampler.frames.prepare()
    png = ndsampler.CocoSampler(dset.copy(), workdir=scratch / 'none', backend=None)
    mms = {gid: np.load(root / 'npy' / f'{gid}.npy', mmap_mode='r') for gid in dset.imgs}
    wins = _windows(dset, args['n_win'], seed=0)
    loader_wins = _windows(dset, args['n_loader'], seed=1)
    png_wins = _windows(dset, args['n_png'], seed=2)

    class OwnDataset(torch.utils.data.Dataset):
        """A user's own Dataset over ``load_sample``."""

        def __init__(self, sampler, targets):
            self.sampler, self.targets = sampler, targets
            if hasattr(sampler, 'warmup'):
                sampler.warmup()

        def __len__(self):
            return len(self.targets)

        def __getitem__(self, i):
            sample = self.sampler.load_sample(dict(self.targets[i]))
            return torch.from_numpy(np.ascontiguousarray(sample['im'])), len(sample['annots']['aids'])

    class MemmapDataset(torch.utils.data.Dataset):
        def __init__(self, targets):
            self.targets = targets

        def __len__(self):
            return len(self.targets)

        def __getitem__(self, i):
            return torch.from_numpy(_crop(mms, self.targets[i])), 0

    def run_loader(dataset, workers: int, collate=None) -> None:
        loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, num_workers=workers, collate_fn=collate,
                                             multiprocessing_context='fork' if workers else None)
        for batch in loader:
            im = batch['im'] if isinstance(batch, dict) else batch[0]
            float(im.view(-1)[::4096].sum())  # touch the batch

    def loader_case(make, workers, collate=None):
        return lambda: _rate(len(loader_wins), lambda: run_loader(make(), workers, collate))

    cases = {
        'memmap': lambda: _rate(len(wins), lambda: [_crop(mms, w) for w in wins]),
        'sample': lambda: _rate(len(wins), lambda: [sampler.load_sample(dict(w)) for w in wins]),
        'sample-no-annots': lambda: _rate(len(wins), lambda: [sampler.load_sample(dict(w), with_annots=False)
                                                             for w in wins]),
        'positive': lambda: _rate(len(wins), lambda: [sampler.load_positive(index=i, rng=0)
                                                     for i in range(len(wins))]),
        'memmap-loader-0': loader_case(lambda: MemmapDataset(loader_wins), 0),
        'memmap-loader-2': loader_case(lambda: MemmapDataset(loader_wins), 2),
        'loader-0': loader_case(lambda: OwnDataset(_fresh(dset, scratch / 'npy', 'npy'), loader_wins), 0),
        'loader-2': loader_case(lambda: OwnDataset(_fresh(dset, scratch / 'npy', 'npy'), loader_wins), 2),
        'none-png': lambda: _rate(len(png_wins), lambda: [png.load_sample(dict(w)) for w in png_wins]),
    }
    if ours:
        from ndsampler_torch import SamplerDataset, collate
        cases['dataset-2'] = loader_case(
            lambda: SamplerDataset(_fresh(dset, scratch / 'npy', 'npy'), 'random', window_dims=(WINDOW, WINDOW),
                                   im_dtype='native', plan_kw={'length': len(loader_wins)}), 2, collate)
    for fn in cases.values():  # one untimed pass: page cache, first-touch block checks, lazy imports
        fn()
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args['passes']):
        for name, fn in cases.items():
            results[name].append(fn())
    # last: the cache writes (and their writeback) would slow whichever case came next
    results['prepare'] = [_prepare_rate(dset, scratch) for _ in range(args['passes'])]
    shutil.rmtree(scratch, ignore_errors=True)
    Path(out).write_text(json.dumps(results))


def _crop(mms, w):
    import numpy as np
    x0, y0 = int(w['cx'] - WINDOW / 2), int(w['cy'] - WINDOW / 2)
    return np.array(mms[w['gid']][y0:y0 + WINDOW, x0:x0 + WINDOW])


def _fresh(dset, workdir, backend):
    """A new sampler over the prepared cache, as a training script builds one (nothing built lazily yet)."""
    import ndsampler
    return ndsampler.CocoSampler(dset.copy(), workdir=workdir, backend=backend)


def _prepare_rate(dset, scratch: Path) -> float:
    import shutil

    import ndsampler
    work = scratch / 'prepare'
    shutil.rmtree(work, ignore_errors=True)
    sampler = ndsampler.CocoSampler(dset.copy(), workdir=work, backend='npy')
    return _rate(len(dset.imgs), sampler.frames.prepare)


if __name__ == '__main__':
    if sys.argv[1:2] == ['worker']:
        worker(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
    else:
        main(sys.argv[1:])
