"""ndsampler 0.8.1's private steps that its own docstring examples call: the sampler's target inference,
pixel load and annotation overlap, and the regions' positive / negative preselection."""
import warnings

import kwcoco
import kwimage
import numpy as np
import pytest

import ndsampler
from ndsampler.errors import InvalidOptionError, WindowError
from ndsampler.regions import CocoRegions, visible_fraction


@pytest.fixture
def dset(tmp_path):
    """One 64x48 image (a ramp) with two boxes of class 'cat'."""
    ramp = np.broadcast_to(np.arange(64, dtype=np.uint8)[None, :, None], (48, 64, 3))
    kwimage.imwrite(tmp_path / 'a.png', np.ascontiguousarray(ramp))
    dset = kwcoco.CocoDataset()
    dset.fpath = str(tmp_path / 'data.kwcoco.json')
    cid = dset.add_category('cat')
    gid = dset.add_image(file_name='a.png', width=64, height=48, channels='r|g|b')
    dset.add_annotation(image_id=gid, category_id=cid, bbox=[4, 6, 10, 8])
    dset.add_annotation(image_id=gid, category_id=cid, bbox=[40, 30, 12, 12])
    return dset


def test_infer_target_attributes_resolves_what_load_sample_samples(dset):
    sampler = ndsampler.CocoSampler(dset)
    target = {'aid': 2, 'my_key': 'kept'}
    tr = sampler._infer_target_attributes(target)
    assert target == {'aid': 2, 'my_key': 'kept'}
    assert (tr['gid'], tr['cx'], tr['cy'], tr['width'], tr['height']) == (1, 46.0, 36.0, 12.0, 12.0)
    assert tr['my_key'] == 'kept' and tr['category_id'] == 1
    # keyword arguments are target keys; the resolved target can be changed and sampled again
    assert sampler._infer_target_attributes(target, pad=3)['pad'] == ((3, 3), (3, 3))
    tr['channels'] = 'r'
    again = sampler.load_sample(tr)
    assert again['im'].shape == (12, 12, 1)
    np.testing.assert_array_equal(again['im'][..., 0], sampler.load_sample(target)['im'][..., 0])
    assert again['annots']['aids'].tolist() == [2]


def test_load_slice_then_populate_overlap_is_load_sample(dset):
    sampler = ndsampler.CocoSampler(dset)
    tr = sampler._infer_target_attributes({'gid': 1, 'space_slice': (slice(0, 24), slice(0, 48))})
    sample = sampler._load_slice(tr)
    assert 'annots' not in sample and sample['im'].shape == (24, 48, 3)
    assert sampler._populate_overlap(sample) is sample
    full = sampler.load_sample(tr, visible_thresh=0.1)
    assert sample['annots']['aids'].tolist() == full['annots']['aids'].tolist() == [1]
    np.testing.assert_array_equal(sample['annots']['rel_boxes'].data, full['annots']['rel_boxes'].data)
    # 0.8's default visible_thresh is 0.1 here: a box 5% inside the window is left out
    edge = sampler._infer_target_attributes({'gid': 1, 'space_slice': (slice(0, 48), slice(0, 5))})
    assert sampler._populate_overlap(sampler._load_slice(edge))['annots']['aids'].tolist() == []
    assert sampler._populate_overlap(sampler._load_slice(edge), visible_thresh=0.0)['annots']['aids'].tolist() == [1]
    assert 'annots' not in sampler._populate_overlap(sampler._load_slice(edge), with_annots=False)


def test_preselect_positives_and_negatives_each_replace_one_half_of_the_pool(dset):
    regions = CocoRegions(dset)
    assert regions._preselect_negatives(4, window_dims=(6, 8), rng=0) == 4
    assert (regions.n_positives, regions.n_negatives) == (2, 4)
    negatives = [regions.get_item(k) for k in range(2, 6)]
    assert all(tr['aid'] == -1 and tr['window_dims'] == (6, 8) for tr in negatives)
    assert regions._preselect_positives(num=1, rng=0) == 1
    assert (regions.n_positives, regions.n_negatives) == (1, 4)
    assert regions.get_item(1) == negatives[0]
    assert regions._preselect_positives() == 2 and regions.get_positive(1)['aid'] == 2
    # thresh: how much of a positive may be visible in a negative (0.8's default 0.3)
    ltrb = np.array([[4, 6, 14, 14], [40, 30, 52, 42]], float)
    regions._preselect_negatives(20, window_dims=(10, 10), thresh=0.0, rng=1)
    for k in range(regions.n_negatives):
        tr = regions.get_negative(k)
        window = np.array([[tr['cx'] - 5, tr['cy'] - 5, tr['cx'] + 5, tr['cy'] + 5]] * 2)
        assert visible_fraction(ltrb, window).max() == 0.0


def test_random_negatives_table(dset):
    regions = CocoRegions(dset)
    table = regions._random_negatives(5, window_size=(8, 6), rng=0, exact=True)
    assert len(table) == 5
    assert set(table.columns) == {'gid', 'aid', 'category_id', 'cx', 'cy', 'width', 'height',
                                  'img_width', 'img_height'}
    assert table['aid'].tolist() == [-1] * 5 and table['category_id'].tolist() == [regions.BACKGROUND_CLASS_ID] * 5
    assert table['width'].tolist() == [8.0] * 5 and table['height'].tolist() == [6.0] * 5
    assert table['img_width'].tolist() == [64] * 5 and table['img_height'].tolist() == [48] * 5
    same = regions._random_negatives(5, window_size=(8, 6), rng=0)
    np.testing.assert_array_equal(same['cx'], table['cx'])
    with pytest.raises(InvalidOptionError, match='neg_anchors'):
        regions._random_negatives(5, neg_anchors=np.array([[0.1, 0.1]]))


def test_random_negatives_exact_when_too_few_fit(tmp_path):
    """An image covered by one positive box has no negative: ``exact`` says what then happens."""
    dset = kwcoco.CocoDataset()
    cid = dset.add_category('cat')
    gid = dset.add_image(file_name='unused.png', width=20, height=20)
    dset.add_annotation(image_id=gid, category_id=cid, bbox=[0, 0, 20, 20])
    regions = CocoRegions(dset)
    with pytest.raises(WindowError, match='found 0 of 3 negatives'):
        regions._random_negatives(3, window_size=(4, 4), exact=True, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert len(regions._random_negatives(3, window_size=(4, 4), exact=False, rng=0)) == 0
    with pytest.warns(UserWarning, match='found 0 of 3 negatives'):
        assert regions._preselect_negatives(3, window_dims=(4, 4), thresh=0.0, rng=0) == 0


def test_sampler_backend_attribute_is_the_argument(dset, tmp_path):
    """0.8's ``sampler._backend`` (its torch example prints it): the ``backend`` given; ``frames._backend`` the config."""
    assert ndsampler.CocoSampler(dset)._backend is None
    sampler = ndsampler.CocoSampler(dset, workdir=tmp_path, backend='npy')
    assert sampler._backend == 'npy' and sampler.frames._backend['type'] == 'npy'
