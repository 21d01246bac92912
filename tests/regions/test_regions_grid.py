"""Sample grids: coverage, exact window size, padded last window, core partition, kwargs honoured."""
import kwcoco
import numpy as np
import pytest
from regions_data import make_dataset, make_video_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from ndsampler.errors import InvalidOptionError
from ndsampler.regions import CocoRegions


def _check_partition(grid, regions, window_dims):
    """Every pixel of every image in exactly one core; windows exactly window_dims, padded not shifted."""
    dset = regions.dset
    counts = {gid: np.zeros((img['height'], img['width']), int) for gid, img in dset.imgs.items()}
    for target, core in zip(grid['targets'], grid['cores']):
        sl_y, sl_x = target['space_slice']
        assert target['slices'] == target['space_slice']
        assert (sl_y.stop - sl_y.start, sl_x.stop - sl_x.start) == tuple(window_dims)
        assert sl_y.start >= 0 and sl_x.start >= 0  # never shifted before the origin
        img = dset.imgs[target['gid']]
        assert sl_y.start < max(img['height'], 1) and sl_x.start < max(img['width'], 1)
        cy, cx = core
        assert sl_y.start <= cy.start and cy.stop <= sl_y.stop
        assert sl_x.start <= cx.start and cx.stop <= sl_x.stop
        counts[target['gid']][core] += 1
    for count in counts.values():
        assert (count == 1).all()


def _check_indexes(grid):
    pos, neg = grid['positives_indexes'], grid['negatives_indexes']
    assert sorted(pos + neg) == list(range(len(grid['targets'])))


@given(sizes=st.lists(st.tuples(st.integers(1, 80), st.integers(1, 80)), min_size=1, max_size=3),
       window=st.tuples(st.integers(1, 40), st.integers(3, 40)),
       overlap=st.one_of(st.floats(0, 0.9), st.integers(0, 5)))
def test_image_grid_partition(sizes, window, overlap):
    if isinstance(overlap, int) and overlap >= min(window):
        overlap = 0
    regions = CocoRegions(make_dataset(sizes, boxes_per_image=4, seed=len(sizes)))
    grid = regions.new_sample_grid('image_detection', window, window_overlap=overlap)
    _check_partition(grid, regions, window)
    _check_indexes(grid)
    for k, target in enumerate(grid['targets']):
        sl_y, sl_x = target['space_slice']
        box = [sl_x.start, sl_y.start, sl_x.stop, sl_y.stop]
        assert target['aids'] == regions.overlapping_aids(target['gid'], box)
        assert (k in grid['positives_indexes']) == bool(target['aids'])


def test_image_grid_kwargs_are_honoured():
    dset = kwcoco.CocoDataset()
    cat = dset.add_category('cat')
    dog = dset.add_category('dog')
    ign = dset.add_category('ignore')
    gid = dset.add_image(name='a', width=40, height=20)
    dset.add_annotation(image_id=gid, category_id=cat, bbox=[2, 2, 4, 4])      # window 0
    dset.add_annotation(image_id=gid, category_id=dog, bbox=[22, 2, 4, 4])     # window 2
    dset.add_annotation(image_id=gid, category_id=ign, bbox=[30, 0, 10, 20])   # window 3, fully
    regions = CocoRegions(dset)
    base = regions.new_sample_grid('image_detection', (20, 10))
    assert len(base['targets']) == 4
    assert base['positives_indexes'] == [0, 2]  # the ignore box alone is not a positive
    assert base['negatives_indexes'] == [1, 3]

    coi = regions.new_sample_grid('image_detection', (20, 10), classes_of_interest=['dog'])
    assert coi['positives_indexes'] == [2]

    skip = regions.new_sample_grid('image_detection', (20, 10), ignore_coverage_thresh=0.5)
    assert len(skip['targets']) == 3
    assert all(t['space_slice'][1].start != 30 for t in skip['targets'])

    no_annots = regions.new_sample_grid('image_detection', (20, 10), use_annots=False)
    assert no_annots['positives_indexes'] == [] and no_annots['negatives_indexes'] == [0, 1, 2, 3]
    assert all('aids' not in t for t in no_annots['targets'])

    centers = regions.new_sample_grid('image_detection', (20, 10), use_centers=True)
    assert len(centers['targets']) == 6
    extra = centers['targets'][4:]
    assert centers['cores'][4:] == [None, None]
    assert {4, 5} <= set(centers['positives_indexes'])
    assert extra[0]['space_slice'] == (slice(-6, 14), slice(-1, 9))  # centred on (4, 4)

    regions.nodata_check = lambda tr: tr['space_slice'][1].start == 10
    nodata = regions.new_sample_grid('image_detection', (20, 10), skip_nodata=True)
    assert [t['space_slice'][1].start for t in nodata['targets']] == [0, 20, 30]
    assert len(regions.new_sample_grid('image_detection', (20, 10))['targets']) == 4

    with pytest.raises(TypeError):
        regions.new_sample_grid('image_detection', (20, 10), not_a_kwarg=1)
    with pytest.raises(InvalidOptionError):
        regions.new_sample_grid('classification', (20, 10))
    with pytest.raises(InvalidOptionError):
        regions.new_sample_grid('image_detection', (2, 20, 10))
    full = regions.new_sample_grid('image_detection', 'full')
    assert [t['space_slice'] for t in full['targets']] == [(slice(0, 20), slice(0, 40))]


@settings(max_examples=25)
@given(num_frames=st.integers(1, 6), time_dims=st.integers(1, 4), data=st.data(),
       window=st.tuples(st.integers(6, 50), st.integers(6, 50)), scale=st.sampled_from([1.0, 2.0]))
def test_video_grid_partition(num_frames, time_dims, data, window, scale):
    time_stride = data.draw(st.integers(1, time_dims))
    dset = make_video_dataset(num_frames=num_frames, size=(60, 40), scale=scale)
    regions = CocoRegions(dset)
    grid = regions.new_sample_grid('video_detection', (time_dims,) + window, window_overlap=0.2,
                                   time_stride=time_stride)
    _check_indexes(grid)
    gids = list(dset.index.vidid_to_gids[1])
    counts = np.zeros((num_frames, 40, 60), int)
    for k, (target, core) in enumerate(zip(grid['targets'], grid['cores'])):
        time = target['time_slice']
        assert time.stop - time.start == time_dims and time.start < num_frames
        assert target['slices'] == (time,) + target['space_slice']
        assert target['gids'] == gids[time.start:time.stop]
        sl_y, sl_x = target['space_slice']
        assert (sl_y.stop - sl_y.start, sl_x.stop - sl_x.start) == window
        assert all(o.start <= c.start and c.stop <= o.stop for o, c in zip(target['slices'], core))
        counts[core] += 1
        # annotations: boxes are in image space, windows in video space
        expect = []
        for gid in target['gids']:
            box = np.array([sl_x.start, sl_y.start, sl_x.stop, sl_y.stop]) / scale
            expect += regions.overlapping_aids(gid, box)
        assert target['aids'] == sorted(expect)
        assert (k in grid['positives_indexes']) == bool(expect)
    assert (counts == 1).all()


def test_video_grid_options():
    regions = CocoRegions(make_video_dataset(num_frames=5))
    grid = regions.new_sample_grid('video_detection', (40, 60), time_dims=2)
    assert [t['time_slice'] for t in grid['targets']] == [slice(0, 2), slice(2, 4), slice(4, 6)]
    assert grid['targets'][-1]['gids'] == [5]  # last window padded in time
    one = regions.new_sample_grid('video_detection', (40, 60))
    assert len(one['targets']) == 5
    centers = regions.new_sample_grid('video_detection', (3, 40, 60), use_centers=True)
    extras = [t for t, c in zip(centers['targets'], centers['cores']) if c is None]
    assert [t['time_slice'] for t in extras] == [slice(-1, 2), slice(1, 4), slice(3, 6)]
    for bad in ({'time_stride': 3, 'time_dims': 2}, {'time_dims': 0}, {'time_dims': 3}):
        with pytest.raises(InvalidOptionError):
            regions.new_sample_grid('video_detection', (2, 40, 60), **bad)
