"""CocoSampler end to end on the None backend: every target form, padding, annotations, options."""
import copy

import kwimage
import numpy as np
import pytest
from hypothesis import given, strategies as st

from ndsampler.geometry import warp_box
from ndsampler.errors import IndexOutOfRangeError, InvalidOptionError, UnknownIdError
from ndsampler.sampler import CocoSampler


def _full(sampler, gid):
    return np.asarray(kwimage.imread(sampler.dset.get_image_fpath(gid)))


def test_centre_window_matches_image(raster_sampler):
    sample = raster_sampler.load_sample({'gid': 1, 'cx': 10, 'cy': 8, 'width': 6, 'height': 4})
    full = _full(raster_sampler, 1)
    assert sample['im'].shape == (4, 6, 3)
    np.testing.assert_array_equal(sample['im'], full[6:10, 7:13])
    assert sample['target'] is sample['tr']
    assert set(sample) >= {'im', 'target', 'params', 'annots', 'classes', 'kp_classes'}


@given(y0=st.integers(-30, 40), x0=st.integers(-30, 60), h=st.integers(1, 30), w=st.integers(1, 30),
       pad=st.integers(0, 4))
def test_padding_fidelity(raster_sampler, y0, x0, h, w, pad):
    """A window past the border equals the in-bounds pixels plus constant padding."""
    full = _full(raster_sampler, 1)
    sample = raster_sampler.load_sample({'gid': 1, 'slices': (slice(y0, y0 + h), slice(x0, x0 + w)), 'pad': pad},
                                        with_annots=False)
    H, W = full.shape[:2]
    ys, xs = np.arange(y0 - pad, y0 + h + pad), np.arange(x0 - pad, x0 + w + pad)
    expect = np.zeros((len(ys), len(xs), 3), dtype=full.dtype)
    yin, xin = (ys >= 0) & (ys < H), (xs >= 0) & (xs < W)
    expect[np.ix_(yin, xin)] = full[np.ix_(ys[yin], xs[xin])]
    assert sample['im'].shape == expect.shape
    np.testing.assert_array_equal(sample['im'], expect)


def test_edge_padkw_and_float_nodata(raster_sampler):
    full = _full(raster_sampler, 1)
    padkw = {'mode': 'edge'}
    target = {'gid': 1, 'slices': (slice(-2, 3), slice(-1, 2)), 'padkw': padkw}
    sample = raster_sampler.load_sample(target, with_annots=False)
    np.testing.assert_array_equal(sample['im'], np.pad(full[0:3, 0:2], [(2, 0), (1, 0), (0, 0)], mode='edge'))
    assert padkw == {'mode': 'edge'}
    nan = raster_sampler.load_sample({'gid': 1, 'slices': (slice(-2, 3), slice(0, 2)), 'nodata': 'float'})['im']
    assert nan.dtype.kind == 'f' and np.isnan(nan[:2]).all() and not np.isnan(nan[2:]).any()


def test_annotation_boxes_shift_and_scale(raster_sampler, raster_dset):
    for scale in [None, 2.0, 0.5]:
        target = {'gid': 1, 'slices': (slice(-4, 40), slice(-6, 56)), 'scale': scale}
        sample = raster_sampler.load_sample(target)
        s = scale or 1.0
        assert sample['im'].shape[:2] == (round(44 * s), round(62 * s))
        dets = sample['annots']['frame_dets'][0]
        aids = dets.data['aids'].tolist()
        assert aids == sorted(raster_dset.gid_to_aids[1])
        img_boxes = kwimage.Boxes(np.array([raster_dset.anns[a]['bbox'] for a in aids]), 'xywh').to_ltrb().data
        expect = (img_boxes + np.array([6, 4, 6, 4])) * s
        np.testing.assert_allclose(dets.boxes.to_ltrb().data, expect)
        back = dets.boxes.warp(sample['params']['tf_rel_to_abs']).to_ltrb().data
        np.testing.assert_allclose(back, img_boxes, atol=1e-9)


def test_scaled_pixels_match_resized_crop(raster_sampler):
    full = _full(raster_sampler, 1)
    sample = raster_sampler.load_sample({'gid': 1, 'slices': (slice(0, 20), slice(0, 20)), 'scale': 2,
                                         'interpolation': 'nearest'}, with_annots=False)
    np.testing.assert_array_equal(sample['im'], full[:20, :20].repeat(2, 0).repeat(2, 1))
    small = raster_sampler.load_sample({'gid': 1, 'slices': (slice(0, 20), slice(0, 30)), 'dsize': (15, 10)},
                                       with_annots=False)
    assert small['im'].shape == (10, 15, 3)


def test_visible_thresh_and_annot_ids(raster_sampler, raster_dset):
    aid_a, aid_b = sorted(raster_dset.gid_to_aids[1])
    # box a is [2, 12) x [3, 9): a window over x in [7, 30) shows half of it
    target = {'gid': 1, 'slices': (slice(0, 20), slice(7, 30))}
    assert raster_sampler.load_sample(target, visible_thresh=0.4)['annots']['aids'].tolist() == [aid_a]
    assert raster_sampler.load_sample(target, visible_thresh=0.6)['annots']['aids'].tolist() == []
    picked = raster_sampler.load_sample({'gid': 1, 'slices': (slice(0, 2), slice(0, 2))}, annot_ids=[aid_b])
    assert picked['annots']['aids'].tolist() == [aid_b]


@pytest.mark.parametrize('with_annots, keys', [
    (True, {'rel_boxes', 'rel_ssegs', 'rel_kpts'}),
    ('boxes', {'rel_boxes'}),
    ('boxes+segmentation', {'rel_boxes', 'rel_ssegs'}),
    (['boxes', 'mask'], {'rel_boxes', 'class_masks'}),
])
def test_with_annots_forms(raster_sampler, with_annots, keys):
    sample = raster_sampler.load_sample({'gid': 1}, with_annots=with_annots)
    assert keys <= set(sample['annots'])
    assert 'annots' not in raster_sampler.load_sample({'gid': 1}, with_annots=False)
    with pytest.raises(InvalidOptionError, match='with_annots'):
        raster_sampler.load_sample({'gid': 1}, with_annots='boxes+bogus')


def test_class_masks(raster_sampler, raster_dset):
    sample = raster_sampler.load_sample({'gid': 1, 'slices': (slice(-2, 40), slice(0, 60))}, with_annots='mask')
    mask = sample['annots']['class_masks']
    assert mask.shape == sample['im'].shape[:2]
    # box a ([2, 12) x [3, 9) in the image) shifted down by 2; polygon b from its segmentation
    assert (mask[5:11, 2:12] == 1).all() and mask[4, 2] == 0 and mask[5, 12] == 0
    h, w = 37, 53
    assert (mask[h - 9 + 2:h - 1 + 2, w - 12:w - 2] == 2).all()


def test_shapes_demo_forms(shapes_sampler, shapes8):
    img = shapes8.imgs[1]
    whole = shapes_sampler.load_sample({'image_id': 1})
    assert whole['im'].shape == (img['height'], img['width'], 3)
    aid = shapes8.gid_to_aids[1].__iter__().__next__()
    by_aid = shapes_sampler.load_sample({'aid': aid, 'window_dims': (64, 32)})
    assert by_aid['im'].shape == (64, 32, 3)
    assert by_aid['target']['annot_idx'] >= 0
    assert aid in by_aid['annots']['aids'].tolist()
    square = shapes_sampler.load_sample({'aid': aid, 'window_dims': 'square', 'pad': 5})
    side = max(square['target']['window_dims']) + 10
    assert square['im'].shape == (side, side, 3)


def test_video_forms(vid_sampler, vidshapes_msi):
    video = vidshapes_msi.index.videos[1]
    gids = vid_sampler._index.video_gids(1)
    whole = vid_sampler.load_sample({'video_id': 1})
    num_chans = whole['im'].shape[-1]
    assert whole['im'].shape == (len(gids), video['height'], video['width'], num_chans)
    cut = vid_sampler.load_sample({'vidid': 1, 'slices': (slice(1, 3), slice(0, 16), slice(8, 40))})
    assert cut['im'].shape == (2, 16, 32, num_chans)
    split = vid_sampler.load_sample({'vidid': 1, 'time_slice': slice(1, 3),
                                     'space_slice': (slice(0, 16), slice(8, 40))})
    np.testing.assert_array_equal(np.nan_to_num(cut['im']), np.nan_to_num(split['im']))
    by_gids = vid_sampler.load_sample({'image_ids': gids[1:3], 'space_slice': (slice(0, 16), slice(8, 40))})
    np.testing.assert_array_equal(np.nan_to_num(cut['im']), np.nan_to_num(by_gids['im']))
    assert len(cut['annots']['frame_dets']) == 2
    centre = vid_sampler.load_sample({'vidid': 1, 'cx': 10, 'cy': 10, 'width': 8, 'height': 6})
    assert centre['im'].shape == (len(gids), 6, 8, num_chans)


def test_video_time_padding(vid_sampler):
    gids = vid_sampler._index.video_gids(1)
    target = {'vidid': 1, 'time_slice': slice(-1, 2), 'space_slice': (slice(0, 8), slice(0, 8)),
              'channels': 'B1', 'nodata': 'float'}
    sample = vid_sampler.load_sample(target)
    assert sample['im'].shape == (3, 8, 8, 1)
    assert np.isnan(sample['im'][0]).all()
    plain = vid_sampler.load_sample({'gids': gids[:2], 'space_slice': (slice(0, 8), slice(0, 8)), 'channels': 'B1'})
    np.testing.assert_array_equal(sample['im'][1:], plain['im'].astype(sample['im'].dtype))
    assert len(sample['annots']['frame_dets'][0]) == 0


def test_channels_options(vid_sampler):
    target = {'vidid': 1, 'space_slice': (slice(0, 8), slice(0, 8))}
    b1 = vid_sampler.load_sample({**target, 'channels': 'B1'})['im']
    dup = vid_sampler.load_sample({**target, 'channels': 'B1|B1|B1'})['im']
    assert dup.shape[-1] == 3
    np.testing.assert_array_equal(dup[..., 2:3], b1)
    with pytest.warns(UserWarning, match="channel 'notaband' is in no image"):  # UnknownChannelWarning
        missing = vid_sampler.load_sample({**target, 'channels': 'B1|notaband'})['im']
    assert np.isnan(missing[..., 1]).all()
    everything = vid_sampler.load_sample({**target, 'channels': '<all>'})
    assert everything['im'].shape[-1] == vid_sampler.frames.load_delayed(everything['target']['gids'][0]).num_channels


def test_xarray_finalize_dtype(vid_sampler, raster_sampler):
    xr_im = vid_sampler.load_sample({'vidid': 1, 'space_slice': (slice(0, 4), slice(0, 4)), 'channels': 'B1|B8',
                                     'as_xarray': True})['im']
    assert xr_im.dims == ('t', 'y', 'x', 'c') and list(xr_im.coords['c'].values) == ['B1', 'B8']
    img_xr = raster_sampler.load_sample({'gid': 1, 'as_xarray': True}, with_annots=False)['im']
    assert img_xr.dims == ('y', 'x', 'c')
    tree = raster_sampler.load_sample({'gid': 1, 'slices': (slice(0, 4), slice(0, 5)), 'finalize': False})['im']
    assert tree.finalize().shape == (4, 5, 3)
    cast = raster_sampler.load_sample({'gid': 1, 'dtype': np.float32, 'optimize': False}, with_annots=False)['im']
    assert cast.dtype == np.float32


def test_native_scale_parts(msi_video, tmp_path):
    sampler = CocoSampler(msi_video, workdir=tmp_path)
    window = (slice(6, 36), slice(12, 72))
    sample = sampler.load_sample({'gid': 1, 'space_slice': window, 'use_native_scale': True}, with_annots=False)
    parts = sample['im']
    warps = sample['params']['native_warps']
    assert [p.shape for p in parts] == [(30, 60, 3), (10, 20, 1), (15, 30, 1)]
    for part, warp in zip(parts, warps):
        x0, y0, x1, y1 = warp_box([0, 0, part.shape[1], part.shape[0]], warp).data[0]
        assert (x0, y0, x1, y1) == pytest.approx((0, 0, 60, 30))
    full = sampler.load_sample({'gid': 1, 'space_slice': window}, with_annots=False)['im']
    np.testing.assert_array_equal(parts[0], full[..., :3])
    b1 = np.asarray(kwimage.imread(msi_video.imgs[1]['auxiliary'][1]['file_name']))
    np.testing.assert_array_equal(parts[1], b1.reshape(20, 30, 1)[2:12, 4:24])
    realigned = sampler.load_sample({'gid': 1, 'space_slice': window, 'use_native_scale': True,
                                     'realign_native': True}, with_annots=False)
    # ndsampler 0.8: one array at the largest part's resolution (here the window's: the aligned sample)
    assert isinstance(realigned['im'], np.ndarray) and realigned['im'].shape == (30, 60, 5)
    np.testing.assert_array_equal(realigned['im'], full)
    assert len(realigned['params']['native_warps']) == 1
    assert np.allclose(realigned['params']['native_warps'][0].matrix, np.eye(3))
    video = sampler.load_sample({'vidid': 1, 'space_slice': window, 'use_native_scale': True}, with_annots=False)
    assert len(video['im']) == 2 and [p.shape for p in video['im'][1]] == [p.shape for p in parts]


def test_public_surface(shapes_sampler, shapes8):
    s = shapes_sampler
    assert s.n_images == 8 and s.n_annots == len(shapes8.anns) and len(s) == s.n_samples
    assert s.n_categories == len(shapes8.cats) and sorted(s.class_ids) == sorted(shapes8.cats)
    assert s.image_ids == list(shapes8.imgs) and s.catgraph is s.classes
    name = shapes8.cats[3]['name']
    assert s.lookup_class_name(3) == name and s.lookup_class_id(name) == 3
    with pytest.raises(UnknownIdError):
        s.lookup_class_id('nope')
    assert isinstance(s.hashid, str) and s.hashid == s.hashid
    img, anns = s.load_image_with_annots(1)
    assert img['imdata'].shape[:2] == (img['height'], img['width']) and 'imdata' not in shapes8.imgs[1]
    assert [a['id'] for a in anns] == [a['id'] for a in s.load_annotations(1)]
    annots = s.load_target_annots({'gid': 1})
    assert sorted(annots['aids'].tolist()) == sorted(shapes8.gid_to_aids[1])
    assert s.load_positive(0)['im'].ndim == 3
    assert s.load_negative(rng=0)['im'].ndim == 3
    s.preselect(n_pos=4, n_neg=2, rng=0)
    assert len(s.load_negative(1)['annots']['aids']) == 0
    assert s.load_item(0)['im'].ndim == 3 and s.load_item(len(s) - 1)['im'].ndim == 3
    pos = s.load_positive(0, target={'window_dims': (20, 24)}, pad=2)
    assert pos['im'].shape == (24, 28, 3)


def test_coerce_and_demo(shapes8, tmp_path):
    sampler = CocoSampler(shapes8, workdir=tmp_path)
    assert CocoSampler.coerce(sampler) is sampler
    assert CocoSampler.coerce(shapes8, workdir=tmp_path).dset is shapes8
    shapes8.dump(tmp_path / 'd.kwcoco.json')
    assert CocoSampler.coerce(tmp_path / 'd.kwcoco.json', workdir=tmp_path).n_images == 8
    demo = CocoSampler.demo('shapes', workdir=tmp_path, dpath=tmp_path / 'demo')
    assert demo.n_images == 5  # kwcoco's 'shapes' demo, as ndsampler 0.8 gives it
    with pytest.raises(InvalidOptionError):
        CocoSampler.coerce(3.5)


def test_target_dict_not_mutated(raster_sampler):
    target = {'gid': 1, 'cx': 5, 'cy': 5, 'width': 4, 'height': 4, 'padkw': {'mode': 'constant'}}
    before = copy.deepcopy(target)
    raster_sampler.load_sample(target, pad=3)
    assert target == before


def test_bad_dtype_and_pool_indexes_raise_library_errors(shapes_sampler):
    with pytest.raises(InvalidOptionError, match='banana'):
        shapes_sampler.load_sample({'gid': 1, 'dtype': 'banana'})
    n_pos = shapes_sampler.n_positives
    with pytest.raises(IndexOutOfRangeError, match=rf'index=1000000 .*-{n_pos} <= index < {n_pos}'):
        shapes_sampler.load_positive(10 ** 6)
    shapes_sampler.preselect(n_pos=3, n_neg=2, rng=0)
    with pytest.raises(IndexOutOfRangeError, match=r'sample index=5 .*-5 <= index < 5'):
        shapes_sampler.load_item(5)
    with pytest.raises(IndexOutOfRangeError, match=r'negative index=7 .*-2 <= index < 2'):
        shapes_sampler.load_negative(7)
    with pytest.raises(IndexError):  # still an IndexError for callers that catch the builtin
        shapes_sampler.load_positive(-n_pos - 1)
    assert shapes_sampler.load_item(-1)['im'].ndim == 3


def test_annot_ids_pick_boxes_in_id_order(raster_sampler, raster_dset):
    aid_a, aid_b = sorted(raster_dset.gid_to_aids[1])
    other = sorted(raster_dset.gid_to_aids[2])
    target = {'gid': 1, 'slices': (slice(0, 2), slice(0, 2))}
    picked = raster_sampler.load_sample(target, annot_ids=[aid_b, other[0], aid_a])['annots']
    assert picked['aids'].tolist() == [aid_a, aid_b]
    assert picked['cids'].tolist() == [1, 2]
    assert picked['frame_dets'][0].data['class_idxs'].tolist() == [
        raster_sampler.classes.id_to_idx[1], raster_sampler.classes.id_to_idx[2]]
    np.testing.assert_allclose(picked['rel_boxes'].to_ltrb().data[0], [2, 3, 12, 9])
    assert raster_sampler.load_sample(target, annot_ids=[])['annots']['aids'].tolist() == []
    with pytest.raises(UnknownIdError, match='1000000'):  # an id of no annotation is a mistake, not a filter
        raster_sampler.load_sample(target, annot_ids=[aid_a, 10 ** 6])
