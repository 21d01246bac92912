"""SamplerDataset over the real CocoSampler on kwcoco demo data."""
import pickle

import pytest
import torch

from ndsampler.sampler import CocoSampler
from ndsampler_torch import DistributedPlanSampler, SamplerDataset, collate, make_plan


@pytest.fixture(scope='module')
def sampler(tmp_path_factory):
    return CocoSampler.demo('shapes8', workdir=tmp_path_factory.mktemp('shapes8'))


def test_positive_items_hold_their_annotation_and_mask(sampler):
    ds = SamplerDataset(sampler, 'positives', window_dims=(96, 96), with_masks=True)
    assert len(ds) == sampler.regions.n_positives > 0
    for i in range(0, len(ds), 9):
        item = ds[i]
        target = ds.plan[i]
        assert item['im'].shape == (3, 96, 96) and item['im'].dtype == torch.float32
        assert target['aid'] in item['aids'].tolist()
        k = item['aids'].tolist().index(target['aid'])
        assert int(item['labels'][k]) == target['label']
        assert (item['mask'] == target['label'] + 1).any()
        assert torch.allclose(item['tf_rel_to_abs'][:2, 2],
                              torch.tensor([target['slices'][1].start, target['slices'][0].start], dtype=torch.float64))


@pytest.mark.parametrize('name', ['random', 'positives', 'negatives', 'balanced', 'grid'])
def test_plan_targets_go_to_the_sampler_as_they_are(sampler, name):
    plan = make_plan(name, sampler, (40, 56), seed=2)
    assert plan.regions is sampler.regions
    for i in range(0, len(plan), max(1, len(plan) // 4)):
        target = plan[i]
        sample = sampler.load_sample(target)
        assert sample['im'].shape[:2] == (40, 56)
        assert sample['target']['space_slice'] == target['slices']
        if target.get('aid', -1) >= 0:
            assert target['aid'] in sample['annots']['frame_dets'][0].data['aids'].tolist()


def test_pickle_stays_small_after_loading_pixels(sampler):
    ds = SamplerDataset(sampler, 'random', window_dims=(128, 128), plan_kw={'length': 16})
    before = len(pickle.dumps(ds))
    pixel_bytes = sum(ds[i]['im'].numel() * 4 for i in range(len(ds)))
    after = len(pickle.dumps(ds))
    assert after < before + pixel_bytes / 100
    clone = pickle.loads(pickle.dumps(ds))
    assert torch.equal(clone[5]['im'], ds[5]['im'])


def test_fork_workers_match_main_process(sampler):
    ds = SamplerDataset(sampler, 'balanced', window_dims=(64, 64), with_masks=True, plan_kw={'length': 12})

    def run(workers):
        order = DistributedPlanSampler(ds, num_replicas=1, rank=0, seed=1)
        order.set_epoch(1)
        loader = torch.utils.data.DataLoader(ds, batch_size=4, sampler=order, collate_fn=collate,
                                             num_workers=workers, multiprocessing_context='fork' if workers else None)
        return [(b['index'].tolist(), b['im'], b['mask']) for b in loader]

    main, forked = run(0), run(2)
    assert len(main) == len(forked) == 3
    for (ia, ma, ka), (ib, mb, kb) in zip(main, forked):
        assert ia == ib and torch.equal(ma, mb) and torch.equal(ka, kb)
