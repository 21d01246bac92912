"""``CocoSampler.warmup`` (called, or by the fork hook): forked DataLoader workers start with every lazy lookup built
and nothing left to import.

The check is on work done in the worker (what its first sample finds already built, which modules
it imports), not on time: timings on a loaded 2-core machine say little (``benchmarks/bench_torch.py``
reports them).
"""
import sys
import time

import numpy as np
import pytest

from ndsampler import CocoSampler
from ndsampler.demodata import demo_images
from ndsampler.sampler import _warm

torch = pytest.importorskip('torch')


class _OwnDataset(torch.utils.data.Dataset):
    """A user's own Dataset over ``load_sample``; the first item of each worker reports what it found built."""

    def __init__(self, sampler, targets):
        self.sampler = sampler
        self.targets = targets
        self._first = True

    def __len__(self):
        return len(self.targets)

    def _state(self):
        s = self.sampler
        return {'table': s.regions._table is not None, 'isect_index': s.regions._index is not None,
                'box_order': s._boxes._order is not None, 'frame_ids': s.frames._id_set is not None}

    def __getitem__(self, index):
        first, self._first = self._first, False
        if first:
            state, before = self._state(), set(sys.modules)
        sample = self.sampler.load_sample(dict(self.targets[index]))
        item = {'im': torch.from_numpy(np.ascontiguousarray(sample['im'])),
                'n_annots': len(sample['annots']['aids'])}
        if first:
            item['state'] = state
            item['new_modules'] = sorted(set(sys.modules) - before)
        return item


def _collate(items):
    return {'im': torch.stack([it['im'] for it in items]),
            'firsts': [{k: it[k] for k in ('state', 'new_modules')} for it in items if 'state' in it]}


@pytest.fixture(scope='module')
def sampler(tmp_path_factory):
    root = tmp_path_factory.mktemp('warm')
    dset = demo_images(root / 'data', num_images=3, dsize=(256, 256), num_objects=12, radius_range=(8, 30))
    return dset, root


def _fresh_sampler(dset, root, name):
    return CocoSampler(dset.copy(), workdir=root / name, backend='npy')


def _firsts(sampler, n_workers=2, batch=4, n_batches=4):
    rng = np.random.default_rng(0)
    targets = [{'gid': int(rng.integers(1, 4)), 'cx': float(rng.uniform(0, 256)), 'cy': float(rng.uniform(0, 256)),
                'width': 64, 'height': 64} for _ in range(batch * n_batches)]
    loader = torch.utils.data.DataLoader(_OwnDataset(sampler, targets), batch_size=batch, num_workers=n_workers,
                                         collate_fn=_collate, multiprocessing_context='fork')
    firsts, times = [], []
    start = time.perf_counter()
    for out in loader:
        times.append(time.perf_counter() - start)
        firsts.extend(out['firsts'])
        start = time.perf_counter()
    print(f'first batch {times[0] * 1e3:.1f} ms, later median {np.median(times[1:]) * 1e3:.1f} ms')
    return firsts


def test_forked_workers_start_warm(sampler):
    dset, root = sampler
    sampler = _fresh_sampler(dset, root, 'warm')
    sampler.warmup()
    firsts = _firsts(sampler)
    assert len(firsts) == 2  # one first item per worker
    for first in firsts:
        assert all(first['state'].values()), first['state']
        assert first['new_modules'] == []


def test_forked_workers_start_warm_without_a_warmup_call(sampler):
    """A user's own Dataset over a sampler nobody warmed: the fork hook warms it before the workers fork."""
    dset, root = sampler
    sampler = _fresh_sampler(dset, root, 'hook')
    assert not _warm.is_warm(sampler) and sampler.regions._table is None  # nothing built before the fork
    firsts = _firsts(sampler)
    assert _warm.is_warm(sampler)
    assert len(firsts) == 2
    for first in firsts:
        assert all(first['state'].values()), first['state']
        assert first['new_modules'] == []


def test_without_warmup_workers_build_again(sampler):
    """The counterpart: what the checks above would see if nothing warmed the sampler before the fork."""
    dset, root = sampler
    cold = _fresh_sampler(dset, root, 'cold')
    _warm._PENDING.discard(cold)
    firsts = _firsts(cold)
    assert len(firsts) == 2
    for first in firsts:
        assert not any(first['state'].values()), first['state']


def test_fork_hook_never_raises(tmp_path):
    """A sampler whose warm-up sample fails stays cold; the fork goes on."""
    import os
    dset = demo_images(tmp_path / 'data', num_images=1, dsize=(64, 48), num_objects=2)
    sampler = CocoSampler(dset, workdir=tmp_path / 'work')
    os.remove(dset.get_image_fpath(1))
    _warm._before_fork()
    assert not _warm.is_warm(sampler) and sampler not in _warm._PENDING


def test_init_registers_for_the_fork_hook(tmp_path):
    dset = demo_images(tmp_path / 'data', num_images=1, dsize=(64, 48), num_objects=2)
    lazy = CocoSampler(dset, workdir=tmp_path / 'work', autoinit=False)
    assert lazy not in _warm._PENDING  # nothing to warm before _init
    lazy._init()
    assert lazy in _warm._PENDING
    lazy.warmup()
    assert lazy not in _warm._PENDING and _warm.is_warm(lazy)


def test_warmup_gives_the_same_samples(sampler):
    dset, root = sampler
    cold, warm = _fresh_sampler(dset, root, 'same_a'), _fresh_sampler(dset, root, 'same_b')
    warm.warmup(channels='red|green|blue')
    assert warm._channel_check._known is not None
    target = {'gid': 2, 'cx': 100.0, 'cy': 120.0, 'width': 80, 'height': 70}
    a, b = cold.load_sample(dict(target)), warm.load_sample(dict(target))
    np.testing.assert_array_equal(a['im'], b['im'])
    assert list(a['annots']['aids']) == list(b['annots']['aids'])


def test_warmup_without_annotations(tmp_path):
    dset = demo_images(tmp_path / 'data', num_images=1, dsize=(64, 48), num_objects=0)
    sampler = CocoSampler(dset, workdir=tmp_path / 'work', backend='npy')
    sampler.warmup()
    assert sampler.regions._table is not None and sampler.frames._id_set is not None


def test_warmup_builds_the_video_lookups(vidshapes_msi, tmp_path):
    sampler = CocoSampler(vidshapes_msi, workdir=tmp_path)
    sampler.warmup()
    videos = set(vidshapes_msi.index.videos)
    assert videos and set(sampler._index._video_gids) == videos == set(sampler._index._frame_pos)


def test_warmup_of_an_empty_dataset(tmp_path):
    import kwcoco
    sampler = CocoSampler(kwcoco.CocoDataset(), workdir=tmp_path)
    sampler.warmup()
    assert sampler.regions._table is not None
