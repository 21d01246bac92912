"""Spawned DataLoader workers map the regions table and box index from files instead of receiving them pickled."""
import multiprocessing.context
import pickle
from contextlib import contextmanager

import numpy as np
import pytest
import torch

from ndsampler import CocoSampler
from ndsampler.demodata import demo_images
from ndsampler.regions import _spill
from ndsampler_torch import SamplerDataset, collate


@contextmanager
def _spawning():
    """What multiprocessing sets while it pickles the arguments of a process it spawns.

    The pickles below are plain ones (multiprocessing's own pickler would also move the plan's
    tensors into shared memory, which needs a real process).
    """
    multiprocessing.context.set_spawning_popen(object())
    try:
        yield
    finally:
        multiprocessing.context.set_spawning_popen(None)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('spawn')
    dset = demo_images(root / 'data', num_images=2, dsize=(256, 256), num_objects=40, radius_range=(6, 20))
    sampler = CocoSampler(dset, workdir=root / 'work', backend='npy')
    return SamplerDataset(sampler, 'random', window_dims=(32, 32), plan_kw={'length': 8}, im_dtype='native')


def _table_bytes(regions):
    arrays = [*regions.table.values(), *(v for v in vars(regions.isect_index).values() if isinstance(v, np.ndarray))]
    return sum(a.nbytes for a in arrays if a.nbytes >= _spill.MIN_SHARED_BYTES)


def test_spawn_pickle_maps_the_large_arrays(dataset, monkeypatch):
    monkeypatch.setattr(_spill, 'MIN_SHARED_BYTES', 256)  # the demo's arrays are small
    regions = dataset.sampler.regions
    plain = pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL)
    with _spawning():
        spawned = pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL)
        assert pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL) == spawned  # each array is written once
    assert len(plain) - len(spawned) >= 0.9 * _table_bytes(regions) > 0
    copy = pickle.loads(spawned)
    table = copy.sampler.regions.table
    assert isinstance(table['ltrb'].base, np.memmap) and not table['ltrb'].flags.writeable
    assert type(table['ltrb']) is np.ndarray
    for key, value in regions.table.items():
        np.testing.assert_array_equal(table[key], value)
    assert isinstance(copy.sampler.regions.isect_index.cell_items.base, np.memmap)
    a, b = dataset[3], copy[3]
    assert torch.equal(a['im'], b['im']) and torch.equal(a['boxes'], b['boxes'])


def test_plain_pickle_stays_self_contained(dataset):
    copy = pickle.loads(pickle.dumps(dataset))
    assert not isinstance(copy.sampler.regions.table['ltrb'].base, np.memmap)


@pytest.mark.slow
def test_spawned_workers_give_the_same_batches(dataset):
    def batches(workers, context=None):
        loader = torch.utils.data.DataLoader(dataset, batch_size=4, collate_fn=collate, num_workers=workers,
                                             multiprocessing_context=context)
        return [(b['index'].tolist(), b['im'].clone(), [x.tolist() for x in b['boxes']]) for b in loader]

    ref, got = batches(0), batches(2, 'spawn')
    assert [i for i, _, _ in ref] == [i for i, _, _ in got]
    assert all(torch.equal(a, b) and ba == bb for (_, a, ba), (_, b, bb) in zip(ref, got))
