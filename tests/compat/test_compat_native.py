"""use_native_scale / realign_native as ndsampler 0.8.1 sizes them, checked against bands whose truth is known.

Every band of the ramp video is the plane ``f(x, y) = 10 x + 3 y`` sampled at its pixel centres in video
coordinates. Linear interpolation (and a symmetric antialiasing blur) reproduces a plane exactly, so any
resampled pixel whose centre maps to video point ``(x, y)`` must hold ``f(x, y)``: a misplaced grid shows.
"""
import kwcoco
import kwimage
import numpy as np
import pytest

from ndsampler.sampler import CocoSampler

#: Band name -> its pixel size in video pixels (R1 full resolution, R3 at 1/3, R6 at 1/6).
BANDS = {'R1': 1, 'R3': 3, 'R6': 6}
SIZE = 192


def _plane(x, y):
    return 10.0 * np.asarray(x) + 3.0 * np.asarray(y)


def _centres(shape_hw, part_to_video: kwimage.Affine):
    """Video coordinates of the pixel centres of a ``shape_hw`` array whose pixels ``part_to_video`` maps."""
    rows, cols = np.mgrid[0:shape_hw[0], 0:shape_hw[1]]
    pts = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5, np.ones(rows.size)])
    x, y, _ = part_to_video.matrix @ pts
    return x.reshape(shape_hw), y.reshape(shape_hw)


@pytest.fixture(scope='module')
def ramp(tmp_path_factory):
    root = tmp_path_factory.mktemp('compat_native')
    dset = kwcoco.CocoDataset()
    dset.add_category('thing')
    vidid = dset.add_video(name='ramp', width=SIZE, height=SIZE)
    assets = []
    for name, step in BANDS.items():
        n = SIZE // step
        rows, cols = np.mgrid[0:n, 0:n]
        fpath = root / f'{name}.tif'
        kwimage.imwrite(fpath, _plane((cols + 0.5) * step, (rows + 0.5) * step).astype(np.float32)[..., None])
        assets.append({'file_name': str(fpath), 'channels': name, 'width': n, 'height': n,
                       'warp_aux_to_img': {'scale': step}})
    dset.add_image(name='f0', width=SIZE, height=SIZE, video_id=vidid, frame_index=0,
                   warp_img_to_vid={'type': 'affine'}, auxiliary=assets)
    return CocoSampler(dset)


#: 128-pixel windows on and off the coarse bands' pixel grids.
WINDOWS = [(slice(0, 128), slice(0, 128)), (slice(7, 135), slice(50, 178)), (slice(40, 168), slice(34, 162))]


@pytest.mark.parametrize('window', WINDOWS)
def test_native_parts_have_0_8_sizes_and_hold_the_plane(ramp, window):
    sample = ramp.load_sample({'gids': [1], 'space_slice': window, 'channels': 'R6|R3|R1',
                               'use_native_scale': True}, with_annots=False)
    (parts,) = sample['im']
    # ceil(128 / 6) = 22, ceil(128 / 3) = 43 wherever the window lies
    assert [p.shape for p in parts] == [(22, 22, 1), (43, 43, 1), (128, 128, 1)]
    (meta,) = sample['params']['jagged_meta']
    assert [c.spec for c in meta['chans']] == ['R6', 'R3', 'R1']
    y0, x0 = window[0].start, window[1].start
    for part, warp, align, grid_to_part, step in zip(parts, sample['params']['native_warps'][0], meta['align'],
                                                     meta['grid_to_part_warps'], (6, 3, 1)):
        np.testing.assert_allclose(warp.matrix, np.diag([step, step, 1.0]), atol=1e-9)
        np.testing.assert_allclose((align @ warp).matrix, np.eye(3), atol=1e-9)
        x, y = _centres(part.shape[:2], grid_to_part.inv())
        np.testing.assert_allclose((x[0, 0], y[0, 0]), (x0 + step / 2, y0 + step / 2))
        inside = (x < SIZE - step / 2) & (y < SIZE - step / 2) & (x > step / 2) & (y > step / 2)
        np.testing.assert_allclose(part[..., 0][inside], _plane(x, y)[inside], atol=1e-2)


@pytest.mark.parametrize('window', WINDOWS)
def test_realign_native_puts_coarse_bands_exactly_on_the_fine_grid(ramp, window):
    # ndsampler 0.8.1 stretches R6's 22 pixels over R3's 43 (a factor 43/22, not 2): off by up to
    # a grid pixel at the far edge (mean error 19.5 on this plane); the grid here is exact
    sample = ramp.load_sample({'gids': [1], 'space_slice': window, 'channels': 'R6|R3',
                               'use_native_scale': True, 'realign_native': 'largest'}, with_annots=False)
    im = sample['im']
    assert im.shape == (1, 43, 43, 2)
    ((warp,),) = sample['params']['native_warps']
    to_video = kwimage.Affine.translate((window[1].start, window[0].start)) @ warp
    x, y = _centres((43, 43), to_video)
    inside = (x > 3) & (y > 3)  # the plane's first R6 pixel centre is at 3: before it the edge is replicated
    for band in range(2):
        np.testing.assert_allclose(im[0, ..., band][inside], _plane(x, y)[inside], atol=1e-2)
    (meta,) = sample['params']['jagged_meta']
    assert [c.spec for c in meta['chans']] == ['R6|R3']
    np.testing.assert_allclose((meta['grid_to_part_warps'][0] @ to_video).matrix, np.eye(3), atol=1e-9)


@pytest.mark.parametrize('scale', [0.5, 2.0])
def test_scaled_samples_interpolate_past_the_window_edge(ramp, scale):
    # the last rows and columns need the data just past the window: none of it is replaced by the border
    window = (slice(100, 164), slice(90, 154))
    sample = ramp.load_sample({'gids': [1], 'space_slice': window, 'channels': 'R6', 'scale': scale},
                              with_annots=False)
    out = sample['im'][0, ..., 0]
    to_video = kwimage.Affine.coerce(sample['params']['tf_rel_to_abs'])
    x, y = _centres(out.shape, to_video)
    np.testing.assert_allclose(out, _plane(x, y), atol=1e-2)


def test_rotated_and_sheared_bands_have_0_8_sizes(tmp_path):
    # sizes ndsampler 0.8.1 (with kwcoco 0.9.1, delayed_image 0.4.7) gives for these assets and windows
    rng = np.random.default_rng(0)
    dset = kwcoco.CocoDataset()
    vidid = dset.add_video(name='v', width=200, height=200)
    assets = []
    for name, warp, (h, w) in [('A', {'scale': 1}, (200, 200)),
                               ('ROT', {'scale': 2, 'theta': 0.3, 'offset': (20, -10)}, (90, 90)),
                               ('SH', {'scale': (3, 2), 'shearx': 0.2}, (100, 60)),
                               ('ROTA', {'scale': (2.5, 1.5), 'theta': -0.4, 'offset': (30, 40)}, (80, 120))]:
        fpath = tmp_path / f'{name}.tif'
        kwimage.imwrite(fpath, rng.integers(0, 255, (h, w, 1), dtype=np.uint8))
        assets.append({'file_name': str(fpath), 'channels': name, 'width': w, 'height': h, 'warp_aux_to_img': warp})
    dset.add_image(name='f', width=200, height=200, video_id=vidid, frame_index=0,
                   warp_img_to_vid={'type': 'affine'}, auxiliary=assets)
    sampler = CocoSampler(dset)
    expected = [
        ((slice(30, 158), slice(20, 148)), [(128, 128, 1), (65, 64, 1), (64, 43, 1), (76, 58, 1)]),
        ((slice(7, 71), slice(13, 61)), [(64, 48, 1), (33, 24, 1), (32, 16, 1), (38, 22, 1)]),
    ]
    for window, shapes in expected:
        target = {'gids': [1], 'space_slice': window, 'use_native_scale': True, 'channels': 'A|ROT|SH|ROTA'}
        parts = sampler.load_sample(target, with_annots=False)['im'][0]
        assert [p.shape for p in parts] == shapes
        realigned = sampler.load_sample({**target, 'realign_native': 'largest'}, with_annots=False)['im']
        assert realigned.shape == (1,) + shapes[0][:2] + (4,)


def test_image_targets_have_one_jagged_meta_record(ramp):
    window = (slice(7, 135), slice(50, 178))
    sample = ramp.load_sample({'gid': 1, 'space_slice': window, 'channels': 'R6|R1', 'use_native_scale': True},
                              with_annots=False)
    meta = sample['params']['jagged_meta']
    assert isinstance(meta, dict) and [c.spec for c in meta['chans']] == ['R6', 'R1']
    assert [p.shape for p in sample['im']] == [(22, 22, 1), (128, 128, 1)]


def test_native_rows_past_the_edge_replicate_it_or_are_padding(ramp):
    # R3 rows of a window from video row -10: row 3's centre (video 0.5) is in the image, before the
    # first R3 pixel centre (1.5): it holds the edge row (0.8.1 mixes the border in: NaN for this float
    # band, a third of the way to 0 for integer bands); rows 0..2 have their centres above the image: padding
    window = (slice(-10, 118), slice(30, 158))
    sample = ramp.load_sample({'gids': [1], 'space_slice': window, 'channels': 'R3', 'use_native_scale': True},
                              with_annots=False)
    ((part,),) = sample['im']
    ((warp,),) = sample['params']['native_warps']
    x, _ = _centres(part.shape[:2], kwimage.Affine.translate((30, -10)) @ warp)
    assert (part[:3] == 0).all()
    np.testing.assert_allclose(part[3, :, 0], _plane(x[3], 1.5), atol=1e-2)


@pytest.mark.parametrize('scale, shapes', [
    (2, [(22, 22, 1), (44, 44, 1), (128, 128, 1)]),
    (0.5, [(6, 6, 1), (11, 11, 1), (32, 32, 1)]),
    (1.3, [(15, 15, 1), (29, 29, 1), (84, 84, 1)]),
])
def test_native_parts_take_the_target_scale(ramp, scale, shapes):
    # a 64-pixel window: each part ceil(64 / step) pixels, then the ceil of that times the scale (0.8.1's sizes)
    window = (slice(40, 104), slice(31, 95))
    target = {'gids': [1], 'space_slice': window, 'channels': 'R6|R3|R1', 'use_native_scale': True, 'scale': scale}
    sample = ramp.load_sample(target, with_annots=False)
    (parts,) = sample['im']
    assert [p.shape for p in parts] == shapes
    for part, warp in zip(parts, sample['params']['native_warps'][0]):
        x, y = _centres(part.shape[:2], kwimage.Affine.translate((31, 40)) @ warp)
        np.testing.assert_allclose(part[..., 0], _plane(x, y), atol=1e-2)
    realigned = ramp.load_sample({**target, 'realign_native': 'largest'}, with_annots=False)['im']
    assert realigned.shape == (1,) + shapes[-1][:2] + (3,)


def test_native_parts_as_xarray(ramp):
    window = (slice(7, 135), slice(50, 178))
    target = {'gids': [1], 'space_slice': window, 'channels': 'R6|R3', 'use_native_scale': True, 'as_xarray': True}
    (parts,) = ramp.load_sample(target, with_annots=False)['im']
    assert [p.coords['c'].values.tolist() for p in parts] == [['R6'], ['R3']]
    assert [p.dims for p in parts] == [('y', 'x', 'c')] * 2 and parts[1].shape == (43, 43, 1)
    realigned = ramp.load_sample({**target, 'realign_native': 'largest'}, with_annots=False)['im']
    assert realigned.dims == ('t', 'y', 'x', 'c') and realigned.coords['c'].values.tolist() == ['R6', 'R3']
    image = ramp.load_sample({**target, 'gid': 1, 'gids': None}, with_annots=False)['im']
    assert [p.coords['c'].values.tolist() for p in image] == [['R6'], ['R3']]


@pytest.mark.filterwarnings('ignore::ndsampler.errors.UnknownChannelWarning')
def test_missing_channels_are_squashed_nan_parts(ramp):
    # as 0.8.1: a band the frame lacks is a 1x1 NaN part stretched over the window, never the realign grid
    window = (slice(7, 135), slice(50, 178))
    target = {'gids': [1], 'space_slice': window, 'channels': 'R3|XX', 'use_native_scale': True}
    sample = ramp.load_sample(target, with_annots=False)
    ((real, missing),) = sample['im']
    assert real.shape == (43, 43, 1) and missing.shape == (1, 1, 1) and np.isnan(missing).all()
    np.testing.assert_allclose(sample['params']['native_warps'][0][1].matrix, np.diag([128.0, 128.0, 1.0]))
    doubled = ramp.load_sample({**target, 'scale': 2}, with_annots=False)['im'][0]
    assert [p.shape for p in doubled] == [(86, 86, 1), (2, 2, 1)]
    realigned = ramp.load_sample({**target, 'realign_native': 'largest'}, with_annots=False)['im']
    assert realigned.shape == (1, 43, 43, 2) and np.isnan(realigned[..., 1]).all()
