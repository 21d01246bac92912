"""Regions as ndsampler 0.8.1 clients read them: the grid's positives / negatives lists, the targets table, demo()."""
import kwarray
import kwcoco
import numpy as np
import pytest

from ndsampler.regions import CocoRegions


@pytest.fixture(scope='module')
def dset():
    """Two 50x70 images (no pixels: regions never read them) and a two-frame 40x40 video.

    Image 1 has a 'thing' box near its top-left corner and a 'background' box in its
    bottom-right; image 2 has no annotation; frame 2 of the video has a 'thing' box.
    """
    dset = kwcoco.CocoDataset()
    thing = dset.add_category('thing')
    background = dset.add_category('background')
    gid1 = dset.add_image(name='a', width=70, height=50)
    dset.add_image(name='b', width=70, height=50)
    dset.add_annotation(gid1, category_id=thing, bbox=[3.0, 4.0, 10.0, 8.0])
    dset.add_annotation(gid1, category_id=background, bbox=[55.0, 35.0, 10.0, 10.0])
    vidid = dset.add_video(name='v', width=40, height=40)
    frames = [dset.add_image(name=f'f{k}', width=40, height=40, video_id=vidid, frame_index=k,
                             warp_img_to_vid={'type': 'affine'}) for k in range(2)]
    dset.add_annotation(frames[1], category_id=thing, bbox=[25.0, 25.0, 6.0, 6.0])
    return dset


@pytest.mark.parametrize('task, dims', [('image_detection', (32, 32)), ('video_detection', (1, 32, 32))])
def test_grid_lists_positives_and_negatives_as_target_dicts(dset, task, dims):
    grid = CocoRegions(dset).new_sample_grid(task, dims)
    targets = grid['targets']
    assert [id(t) for t in grid['positives']] == [id(targets[i]) for i in grid['positives_indexes']]
    assert [id(t) for t in grid['negatives']] == [id(targets[i]) for i in grid['negatives_indexes']]
    assert sorted(grid['positives_indexes'] + grid['negatives_indexes']) == list(range(len(targets)))
    assert grid['positives'] and grid['negatives']


def test_image_grid_positive_means_a_box_of_a_positive_class(dset):
    grid = CocoRegions(dset).new_sample_grid('image_detection', (32, 32))
    thing, background = 1, 2
    for target in grid['targets']:
        cids = {dset.anns[aid]['category_id'] for aid in target['aids']}
        assert (target in grid['positives']) == (thing in cids), target
    # the two windows the background box straddles list it, yet are negatives (as in 0.8.1)
    alone = [t for t in grid['negatives'] if t['aids']]
    assert [{dset.anns[aid]['category_id'] for aid in t['aids']} for t in alone] == [{background}, {background}]


def test_grid_indexes_are_zero_based_into_targets(dset):
    """0.8.1 appends len(targets) after appending: its indexes are one too high (the last one past the end)."""
    grid = CocoRegions(dset).new_sample_grid('image_detection', (32, 32))
    first = grid['targets'][grid['positives_indexes'][0]]
    assert first['gid'] == 1 and first['slices'] == (slice(0, 32), slice(0, 32))
    assert max(grid['positives_indexes'] + grid['negatives_indexes']) == len(grid['targets']) - 1


def test_grid_last_window_is_padded_not_shifted_back(dset):
    """0.8.1's last window on an axis ends at the border (overlapping the one before); ours starts one stride on."""
    grid = CocoRegions(dset).new_sample_grid('image_detection', (32, 32))
    xs = sorted({t['slices'][1].start for t in grid['targets'] if t['gid'] == 1})
    ys = sorted({t['slices'][0].start for t in grid['targets'] if t['gid'] == 1})
    assert xs == [0, 32, 64] and ys == [0, 32]  # 70 = 32 + 32 + 6: the last column pads 26 px past x=70


def test_video_grid_positive_means_a_box_of_a_positive_class():
    """0.8.1's video grid calls any window with an annotation positive, background boxes included; ours
    applies the image grid's rule (negative classes never make a positive)."""
    dset = kwcoco.CocoDataset()
    background = dset.add_category('background')
    vidid = dset.add_video(name='v', width=20, height=20)
    gid = dset.add_image(name='f', width=20, height=20, video_id=vidid, frame_index=0)
    aid = dset.add_annotation(gid, category_id=background, bbox=[2.0, 2.0, 5.0, 5.0])
    grid = CocoRegions(dset).new_sample_grid('video_detection', (1, 20, 20))
    assert grid['targets'][0]['aids'] == [aid]
    assert grid['positives'] == [] and grid['negatives'] == grid['targets']


def test_targets_is_the_table_of_boxed_annotations(dset):
    dset = dset.copy()
    dset.add_annotation(1, category_id=1)  # no box: not a target
    with pytest.warns(UserWarning, match='1 of 4 annotations have no bbox'):
        table = CocoRegions(dset).targets
    assert isinstance(table, kwarray.DataFrameArray)
    assert list(table.keys()) == ['aid', 'gid', 'category_id', 'cx', 'cy', 'width', 'height', 'img_width', 'img_height']
    assert len(table) == 3
    assert table['aid'].dtype == np.int32 and table['cx'].dtype == np.float32 and table['img_width'].dtype == np.int32
    row = {key: table[key][0].item() for key in table.keys()}
    assert row == {'aid': 1, 'gid': 1, 'category_id': 1, 'cx': 8.0, 'cy': 8.0, 'width': 10.0, 'height': 8.0,
                   'img_width': 70, 'img_height': 50}
    assert table['category_id'].tolist() == [1, 2, 1]  # negative classes are rows too, as in 0.8.1


def test_regions_demo_is_shapes8(tmp_path):
    regions = CocoRegions.demo(dpath=tmp_path)
    assert (regions.n_images, regions.n_annots) == (8, 71)
    assert all(img['width'] and img['height'] for img in regions.dset.imgs.values())
    assert len(regions.targets) == 71 and regions.get_positive(0, rng=0)['gid'] in regions.dset.imgs
