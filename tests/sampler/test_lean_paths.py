"""Samples are the one window read: plain, delayed (unoptimized) and numpy give the same pixels; integration regressions."""
import kwcoco
import kwimage
import numpy as np
import pytest

from sampler_data import make_raster_dset
from ndsampler.delayed import Padding
from ndsampler.frames import read_window
from ndsampler.geometry import clip_slices
from ndsampler.sampler import CocoSampler, _annots


@pytest.fixture(scope='module', params=[None, 'npy'])
def sampler(request, tmp_path_factory):
    root = tmp_path_factory.mktemp('lean')
    dset = make_raster_dset(root, dims=(41, 57), num_images=2)
    # a degenerate box and a dense scatter of small boxes on image 1
    dset.add_annotation(1, category_id=1, bbox=[20.0, 10.0, 0.0, 5.0])
    rng = np.random.default_rng(3)
    for x, y, w, h in zip(rng.uniform(-5, 55, 40), rng.uniform(-5, 40, 40), rng.uniform(1, 9, 40), rng.uniform(1, 9, 40)):
        dset.add_annotation(1, category_id=2, bbox=[float(x), float(y), float(w), float(h)])
    out = CocoSampler(dset, workdir=root / 'work', backend=request.param)
    out.frames.prepare(progress=False)
    return out


def _random_targets(rng, num):
    targets = []
    for _ in range(num):
        h, w = (int(v) for v in rng.integers(2, 30, 2))
        y0, x0 = int(rng.integers(-20, 45)), int(rng.integers(-20, 60))
        target = {'gid': int(rng.integers(1, 3)), 'slices': (slice(y0, y0 + h), slice(x0, x0 + w))}
        choice = rng.integers(0, 6)
        if choice == 1:
            target['channels'] = 'u.2|u.0'
        elif choice == 2:
            target.update(nodata='float', dtype=np.float32)
        elif choice == 3:
            target['padkw'] = {'mode': 'edge'}
        elif choice == 4:
            target['pad'] = 3
        elif choice == 5:
            target['padkw'] = {'mode': 'constant', 'constant_values': 7}
        targets.append(target)
    return targets


def _numpy_window(sampler, target, window):
    """The window by definition: the image's in-bounds part (bands, nodata), padded by ``np.pad`` per ``padkw``."""
    img = np.asarray(sampler.frames.load_image(target['gid']))
    if 'channels' in target:
        img = img[..., [2, 0]]
    nodata = target.get('nodata')
    if nodata is not None:
        img = img.astype(np.float32)
    clipped, widths = clip_slices(window, img.shape[:2])
    padkw = dict(target.get('padkw', {'mode': 'constant'}))
    if img[clipped].size == 0:  # nothing to extend: the constant
        padkw = {'mode': 'constant', 'constant_values': padkw.get('constant_values')}
    if padkw['mode'] == 'constant' and padkw.get('constant_values') is None:
        padkw['constant_values'] = np.nan if nodata is not None else 0
    if padkw['mode'] == 'constant':
        padkw.setdefault('constant_values', np.nan if nodata is not None else 0)
    return np.pad(img[clipped], widths + [(0, 0)], **padkw)


def _one_read(sampler, target, window):
    """:func:`read_window` with the target's options, as the sampler resolves them."""
    nodata = target.get('nodata')
    padding = Padding.from_padkw(target.get('padkw', {'mode': 'constant'}), value=None if nodata is not None else 0)
    return read_window(sampler.frames, target['gid'], window, target.get('channels'), nodata, padding)


def test_samples_are_the_one_window_read_and_numpy(sampler):
    rng = np.random.default_rng(0)
    for target in _random_targets(rng, 80):
        plain = sampler.load_sample(target)
        window = plain['params']['window']
        want = _numpy_window(sampler, target, window)
        one = _one_read(sampler, target, window)
        delayed = sampler.load_sample(target, optimize=False)  # the general path: the unoptimized tree
        for got in [plain['im'], one, delayed['im']]:
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
        for key in ['window', 'out_hw', 'sample_scale', 'st_dims', 'pad', 'time_pad']:
            assert plain['params'][key] == delayed['params'][key]
        np.testing.assert_array_equal(plain['params']['tf_rel_to_abs'].matrix, delayed['params']['tf_rel_to_abs'].matrix)
        assert plain['annots']['aids'].tolist() == delayed['annots']['aids'].tolist()
        np.testing.assert_array_equal(plain['annots']['rel_boxes'].data, delayed['annots']['rel_boxes'].data)


def test_the_scaled_path_at_scale_one_is_the_plain_window(sampler):
    """The scaled sample's tree (one warp of the frame into the output pixels), at scale 1, is the plain window."""
    rng = np.random.default_rng(2)
    for target in _random_targets(rng, 40):
        if set(target) - {'gid', 'slices', 'channels', 'pad'}:
            continue  # the warp's border is the dtype's fill (a constant 0 here), as the default padkw
        plain = sampler.load_sample(target, with_annots=False)
        params = plain['params']
        out_h, out_w = params['out_hw']
        node = sampler.frames.load_delayed(target['gid'], channels=target.get('channels'))
        for interpolation in ['nearest', 'linear', 'cubic', 'lanczos']:
            warped = node.warp(params['tf_abs_to_rel'], dsize=(out_w, out_h), interpolation=interpolation)
            for optimize in [True, False]:
                np.testing.assert_array_equal(warped.finalize(optimize=optimize), plain['im'])


@pytest.mark.parametrize('dense', [False, True])
@pytest.mark.parametrize('thresh', [0.0, 0.3, 0.9])
def test_annots_match_regions_and_kwimage_warp(sampler, monkeypatch, dense, thresh):
    if dense:  # every image goes through the regions' spatial index
        monkeypatch.setattr(_annots, 'DENSE_IMAGE', 0)
    sampler._boxes._images.clear()
    rng = np.random.default_rng(1)
    for target in _random_targets(rng, 40):
        target = {**target, 'scale': float(rng.choice([1.0, 0.5, 1.5]))}
        sample = sampler.load_sample(target, visible_thresh=thresh)
        params = sample['params']
        window = params['sample_tlbr']
        want = sampler.regions.overlapping_aids(target['gid'], window, visible_thresh=thresh)
        assert sample['annots']['aids'].tolist() == want
        anns = [sampler.dset.anns[aid] for aid in want]
        boxes = kwimage.Boxes(np.array([a['bbox'] for a in anns], dtype=float).reshape(-1, 4), 'xywh')
        expect = boxes.warp(params['tf_abs_to_rel']).to_ltrb().data
        np.testing.assert_allclose(sample['annots']['rel_boxes'].data, expect, atol=1e-9)
        dets = sample['annots']['frame_dets'][0]
        assert dets.data['class_idxs'].tolist() == [sampler.classes.id_to_idx[c] for c in dets.data['cids'].tolist()]


def test_segmentations_follow_the_sample_scale(sampler):
    sample = sampler.load_sample({'gid': 1, 'scale': 2.0})
    dets = sample['annots']['frame_dets'][0]
    rows = [i for i, sseg in enumerate(dets.data['segmentations'].data) if sseg is not None]
    assert rows
    for row in rows:
        box = dets.data['segmentations'].data[row].box().to_ltrb().data
        np.testing.assert_allclose(box, dets.boxes.data[row], atol=1e-6)


def test_video_grid_padded_last_time_window(tmp_path):
    dset = kwcoco.CocoDataset.demo('vidshapes1', num_frames=5, dpath=tmp_path / 'vid', verbose=0)
    sampler = CocoSampler(dset, workdir=tmp_path / 'work')
    grid = sampler.new_sample_grid('video_detection', (2, 32, 32), use_annots=False)
    last = [tr for tr in grid['targets'] if tr['time_slice'].start == 4]
    assert last and all(tr['time_slice'] == slice(4, 6) for tr in last)
    gids = sampler._index.video_gids(1)
    for tr in last[:3]:
        sample = sampler.load_sample(tr, with_annots=False)
        assert sample['target']['time_slice'] == slice(4, 6)
        assert sample['target']['frame_gids'] == [gids[4], None]
        frame = sampler.frames.load_image(gids[4])
        np.testing.assert_array_equal(sample['im'][0], frame[tr['space_slice']])
        assert not sample['im'][1].any()
    # time_slice is an absolute frame range even when gids are given
    tr = sampler.load_sample({'vidid': 1, 'gids': gids[3:5], 'time_slice': slice(3, 5)}, with_annots=False)['target']
    assert tr['time_slice'] == slice(3, 5) and tr['frame_gids'] == gids[3:5]


def test_nearest_downscale_never_reads_averaged_overviews(tmp_path):
    dset = make_raster_dset(tmp_path, dims=(300, 280), num_images=1)
    target = {'gid': 1, 'scale': 0.5, 'interpolation': 'nearest'}
    ims = {}
    for backend in ['cog', 'npy']:
        sampler = CocoSampler(dset, workdir=tmp_path / 'work', backend=backend)
        sampler.frames.prepare(progress=False)
        ims[backend] = sampler.load_sample(target, with_annots=False)['im']
        full = sampler.frames.load_image(1)
    assert sampler.frames.load_delayed(1).num_overviews == 0  # npy; the cog has one
    np.testing.assert_array_equal(ims['cog'], ims['npy'])
    np.testing.assert_array_equal(ims['cog'], full[::2, ::2])


def test_regions_nodata_check_is_the_sampler_pixel_check(sampler):
    assert sampler.regions.nodata_check == sampler.is_nodata
    outside = {'gid': 1, 'slices': (slice(-30, -10), slice(0, 10))}
    assert sampler.is_nodata(outside)
    assert not sampler.is_nodata({'gid': 1, 'slices': (slice(-30, 1), slice(0, 10))})
    assert sampler.regions.window_is_skipped(1, [0, -30, 10, -10])
    assert not sampler.regions.window_is_skipped(1, [0, 0, 10, 10])
