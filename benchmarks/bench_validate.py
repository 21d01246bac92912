"""What the input-check layer costs a sample: the checks alone against a whole 256x256 npy ``load_sample``.

For the same random windows (plain targets a user writes, and resolved targets fed back in, as a
grid or a pool hands them over), it times what the boundary adds per sample: the per-key
:data:`~ndsampler.sampler._validate.TARGET_CHECKS` inside target canonicalisation (with minus without,
interleaved per pass), ``check_load_args`` and the two ``check_sample_size`` calls. The ratio to a whole sample is what the checks cost (issue #14: < 3 %).
Medians over passes with the spread, and the same ratio from each side's fastest pass (the
least disturbed by other work on the machine).

Run: ``python -m benchmarks validate [--quick]``.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import kwcoco
import numpy as np

from benchmarks._timing import loadavg
from ndsampler.sampler import CocoSampler
from ndsampler.sampler import _target
from ndsampler.sampler._validate import DEFAULT_MAX_SAMPLE_BYTES, check_load_args, check_sample_size

SIZE = 2048
WIN = 256


def _dataset(root: Path, rng: np.random.Generator) -> kwcoco.CocoDataset:
    dset = kwcoco.CocoDataset()
    dset.fpath = str(root / 'data.kwcoco.json')
    cid = dset.add_category('thing')
    for index in range(2):
        fpath = root / f'img_{index}.npy'
        np.save(fpath, (rng.random((SIZE, SIZE, 3)) * 255).astype(np.uint8))
        gid = dset.add_image(file_name=str(fpath), width=SIZE, height=SIZE, channels='r|g|b')
        for x, y in rng.integers(0, SIZE - 64, (50, 2)):
            dset.add_annotation(image_id=gid, category_id=cid, bbox=[int(x), int(y), 40, 30])
    return dset


def _checks(sampler: CocoSampler, target: dict, resolved: dict) -> None:
    """What the boundary adds for one sample, as load_sample runs it: the per-key checks inside target
    canonicalisation (:func:`_target._canonical` with checks minus without), the argument check and
    the two size checks (which see the resolved target)."""
    _target._canonical(target, None, False)
    check_load_args(sampler._index, True, None, 0.0)
    check_sample_size(1, (WIN, WIN), resolved, DEFAULT_MAX_SAMPLE_BYTES)
    check_sample_size(1, (WIN, WIN), resolved, DEFAULT_MAX_SAMPLE_BYTES, 3, 1)


def _unchecked(target: dict) -> None:
    """Target canonicalisation with the per-key checks switched off (subtracted from :func:`_checks`)."""
    keys, _target._CHECKED_KEYS = _target._CHECKED_KEYS, frozenset()
    try:
        _target._canonical(target, None, False)
    finally:
        _target._CHECKED_KEYS = keys


def _per_call(fn, items, passes: int) -> list[float]:
    out = []
    for _ in range(passes):
        start = time.perf_counter()
        for item in items:
            fn(item)
        out.append((time.perf_counter() - start) / len(items))
    return out


def main(argv: list[str]) -> None:
    quick = '--quick' in argv
    num, passes = (100, 5) if quick else (400, 7)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sampler = CocoSampler(_dataset(root, rng), workdir=root / 'work', backend='npy')
        sampler.frames.prepare(progress=False)
        xy = rng.integers(WIN, SIZE - WIN, (num, 2))
        plain = [{'gid': 1 + i % 2, 'cx': int(x), 'cy': int(y), 'width': WIN, 'height': WIN, 'channels': 'r|g|b'}
                 for i, (x, y) in enumerate(xy)]
        resolved = [sampler.load_sample(t, with_annots=False)['target'] for t in plain]
        print(f'{num} windows {WIN}x{WIN} (npy, with annotations), {passes} passes; load average {loadavg()}')
        for name, targets in [('plain targets', plain), ('resolved targets fed back', resolved)]:
            for t in targets[:20]:
                sampler.load_sample(t)
            sample = _per_call(sampler.load_sample, targets, passes)
            with_checks = _per_call(lambda pair: _checks(sampler, *pair), list(zip(targets, resolved)), passes)
            without = _per_call(_unchecked, targets, passes)
            checks = [max(w - u, 0.0) for w, u in zip(with_checks, without)]
            ratios = [c / s for c, s in zip(checks, sample)]
            print(f'{name:26s} sample {statistics.median(sample) * 1e6:8.1f} us, checks '
                  f'{statistics.median(checks) * 1e6:6.2f} us ({min(checks) * 1e6:.2f}..{max(checks) * 1e6:.2f}), '
                  f'checks / sample {statistics.median(ratios) * 100:.2f} % '
                  f'({min(ratios) * 100:.2f}..{max(ratios) * 100:.2f}); best passes: '
                  f'{(min(with_checks) - min(without)) / min(sample) * 100:.2f} %')


if __name__ == '__main__':
    main(os.sys.argv[1:])
