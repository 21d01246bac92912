"""SamplerDataset over the real CocoSampler on kwcoco demo data."""
import pickle

import kwcoco
import kwimage
import numpy as np
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


def _overlap_dset(root):
    """One 40x60 image: a small box of class 'a', then a larger overlapping box of 'b', then an 'a' polygon over 'b'."""
    rng = np.random.default_rng(0)
    fpath = root / 'img.png'
    kwimage.imwrite(fpath, rng.integers(0, 255, (40, 60, 3), dtype=np.uint8))
    dset = kwcoco.CocoDataset()
    ca, cb = dset.add_category('a'), dset.add_category('b')
    gid = dset.add_image(file_name=str(fpath), width=60, height=40)
    dset.add_annotation(gid, category_id=ca, bbox=[10.0, 8.0, 8.0, 6.0])
    dset.add_annotation(gid, category_id=cb, bbox=[4.5, 4.0, 30.0, 20.0])  # larger, later in the dataset
    tri = kwimage.Polygon(exterior=np.array([[20, 6], [40, 6], [20, 30]], float))
    dset.add_annotation(gid, category_id=ca, bbox=[20.0, 6.0, 20.0, 24.0], segmentation=tri.to_coco('new'))
    return dset


def test_dataset_mask_is_the_sampler_class_mask(tmp_path):
    sampler = CocoSampler(_overlap_dset(tmp_path), workdir=tmp_path / 'work')
    ds = SamplerDataset(sampler, 'grid', window_dims=(24, 32), with_masks=True, plan_kw={'window_overlap': 0.5})
    label_of = {cid: ds.class_names.index(cat['name']) for cid, cat in sampler.dset.cats.items()}
    seen = set()
    for index in range(len(ds)):
        mask = ds[index]['mask'].numpy()
        sample = sampler.load_sample(ds.plan[index], with_annots='mask')
        expected = np.vectorize(lambda cid: label_of[cid] + 1 if cid else 0)(sample['annots']['class_masks'])
        assert np.array_equal(mask, expected), index
        seen.update(np.unique(mask).tolist())
    assert seen == {0, 1, 2}
    # the small 'a' box stays on top of the larger 'b' box drawn after it in the dataset
    whole = sampler.load_sample({'gid': 1}, with_annots='mask')['annots']['class_masks']
    assert (whole[8:14, 10:18] == 1).all() and whole[5, 6] == 2 and whole[7, 22] == 1
