"""use_native_scale / realign_native: per-band parts at their own resolution, padded windows, one realigned array."""
import os

import kwimage
import numpy as np

from ndsampler.geometry import warp_box

#: The msi_video fixture: 60x90 frames, RGB at full resolution, B1 at 1/3, B2 at 1/2.
PAST_BORDER = (slice(45, 75), slice(-12, 48))


def _asset(dset, gid, index):
    arr = np.asarray(kwimage.imread(dset.imgs[gid]['auxiliary'][index]['file_name']))
    return arr if arr.ndim == 3 else arr[..., None]


def _assert_warps_cover(parts, warps, window_hw):
    for part, warp in zip(parts, warps):
        x0, y0, x1, y1 = warp_box([0, 0, part.shape[1], part.shape[0]], warp).data[0]
        assert x0 <= 0 and y0 <= 0 and x1 >= window_hw[1] and y1 >= window_hw[0]


def test_native_parts_of_a_window_past_the_border(msi_sampler, msi_video):
    sample = msi_sampler.load_sample({'gid': 1, 'slices': PAST_BORDER, 'use_native_scale': True}, with_annots=False)
    parts, warps = sample['im'], sample['params']['native_warps']
    # ceil(size * scale) pixels anchored at the window's origin (ndsampler 0.8's rule)
    assert [p.shape for p in parts] == [(30, 60, 3), (10, 20, 1), (15, 30, 1)]
    _assert_warps_cover(parts, warps, (30, 60))
    rgb, b1, b2 = (_asset(msi_video, 1, k) for k in range(3))
    # window rows 45..75, columns -12..48: B1 native rows 15..25, columns -4..16
    np.testing.assert_array_equal(parts[0], np.pad(rgb[45:60, 0:48], [(0, 15), (12, 0), (0, 0)]))
    np.testing.assert_array_equal(parts[1], np.pad(b1[15:20, 0:16], [(0, 5), (4, 0), (0, 0)]))
    # B2: native rows 22.5..37.5 (each part row halfway between two B2 rows; row 7's centre is past the
    # image), columns -6..24
    half = (b2[22:29].astype(int) + b2[23:30]) / 2
    assert np.abs(parts[2][:7, 6:].astype(int) - half[:, :24]).max() <= 1
    assert (parts[2][7:] == 0).all() and (parts[2][:, :6] == 0).all()
    assert np.allclose(warps[1].matrix, [[3, 0, 0], [0, 3, 0], [0, 0, 1]])
    # full-resolution bands equal the aligned sample, padding included
    full = msi_sampler.load_sample({'gid': 1, 'slices': PAST_BORDER}, with_annots=False)['im']
    np.testing.assert_array_equal(parts[0], full[..., :3])


def test_native_padding_follows_padkw_nodata_and_dtype(msi_sampler, msi_video):
    b1 = _asset(msi_video, 1, 1)
    base = {'gid': 1, 'slices': PAST_BORDER, 'use_native_scale': True}
    edge = msi_sampler.load_sample({**base, 'padkw': {'mode': 'edge'}}, with_annots=False)['im']
    np.testing.assert_array_equal(edge[1], np.pad(b1[15:20, 0:16], [(0, 5), (4, 0), (0, 0)], mode='edge'))
    nan = msi_sampler.load_sample({**base, 'nodata': 'float', 'dtype': 'float32'}, with_annots=False)['im']
    assert all(part.dtype == np.float32 for part in nan)
    assert np.isnan(nan[1][5:]).all() and np.isnan(nan[1][:, :4]).all() and not np.isnan(nan[1][:5, 4:]).any()
    padded = msi_sampler.load_sample({**base, 'pad': 3}, with_annots=False)
    (h, w) = padded['params']['out_hw']
    assert (h, w) == (36, 66)
    _assert_warps_cover(padded['im'], padded['params']['native_warps'], (h, w))


def test_native_parts_past_the_border_on_multispectral_video(vid_sampler, vidshapes_msi):
    gid = vid_sampler._index.video_gids(1)[0]
    img = vidshapes_msi.imgs[gid]
    assets = img['auxiliary']
    h, w = img['height'], img['width']
    window = (slice(h - 18, h + 30), slice(w - 30, w + 30))  # on every band's pixel grid: parts are native pixels
    sample = vid_sampler.load_sample({'gid': gid, 'slices': window, 'use_native_scale': True}, with_annots=False)
    parts, warps = sample['im'], sample['params']['native_warps']
    assert len(parts) == len(assets) == len(warps)
    _assert_warps_cover(parts, warps, (48, 60))
    for part, warp, asset in zip(parts, warps, assets):
        (a, b, c), (d, e, f), _ = warp.matrix.tolist()
        assert b == d == 0 and a == e == asset.get('warp_aux_to_img', {}).get('scale', 1.0)
        # image coordinates of the part's pixel centres: those past the border are the constant padding
        ys = (h - 18) + e * (np.arange(part.shape[0]) + 0.5) + f
        xs = (w - 30) + a * (np.arange(part.shape[1]) + 0.5) + c
        inside_y, inside_x = ys < h, xs < w
        assert not inside_y.all() and not inside_x.all()
        assert (part[~inside_y] == 0).all() and (part[:, ~inside_x] == 0).all()
        native = np.asarray(kwimage.imread(os.path.join(vidshapes_msi.bundle_dpath, asset['file_name'])))
        rows = (ys[inside_y] / e - 0.5).astype(int)
        cols = (xs[inside_x] / a - 0.5).astype(int)
        expect = native.reshape(native.shape[:2])[np.ix_(rows, cols)]
        np.testing.assert_array_equal(part[np.ix_(inside_y, inside_x)][..., 0], expect)
    video = vid_sampler.load_sample({'vidid': 1, 'space_slice': window, 'use_native_scale': True}, with_annots=False)
    assert [len(frame) for frame in video['im']] == [len(assets)] * len(video['target']['frame_gids'])


def test_realign_native_is_one_array(msi_sampler):
    window = (slice(6, 36), slice(12, 72))
    base = {'gid': 1, 'space_slice': window, 'use_native_scale': True}
    for realign in (True, 'largest'):
        sample = msi_sampler.load_sample({**base, 'realign_native': realign}, with_annots=False)
        assert isinstance(sample['im'], np.ndarray) and sample['im'].shape == (30, 60, 5)
    # the finest part at 1/2 resolution: B1 resampled onto B2's grid, B2 untouched
    parts = msi_sampler.load_sample({**base, 'channels': 'B1|B2'}, with_annots=False)
    coarse = msi_sampler.load_sample({**base, 'channels': 'B1|B2', 'realign_native': True}, with_annots=False)
    assert coarse['im'].shape == (15, 30, 2)
    np.testing.assert_array_equal(coarse['im'][..., 1:], parts['im'][1])
    (warp,) = coarse['params']['native_warps']
    assert np.allclose(warp.matrix, parts['params']['native_warps'][1].matrix)


def test_realign_native_past_the_border_and_in_video(msi_sampler):
    target = {'gid': 1, 'slices': PAST_BORDER, 'use_native_scale': True, 'realign_native': True}
    realigned = msi_sampler.load_sample(target, with_annots=False)['im']
    full = msi_sampler.load_sample({'gid': 1, 'slices': PAST_BORDER}, with_annots=False)['im']
    np.testing.assert_array_equal(realigned, full)
    video = msi_sampler.load_sample({'vidid': 1, 'space_slice': PAST_BORDER, 'time_slice': slice(-1, 2),
                                     'use_native_scale': True, 'realign_native': True}, with_annots=False)
    assert video['im'].shape == (3, 30, 60, 5)
    assert (video['im'][0] == 0).all()  # the frame before the video is padding
    assert len(video['params']['native_warps']) == 3
    trees = msi_sampler.load_sample({**target, 'finalize': False}, with_annots=False)['im']
    assert trees.shape == (30, 60, 5)
