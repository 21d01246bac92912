"""The one window read (``window_pixels``): every fast path equals the general delayed path and numpy."""
import kwimage
import numpy as np
import pytest
from conftest import smooth_image

from ndsampler.delayed import DelayedChannelConcat, DelayedIdentity, DelayedLoad, Padding, window_pixels
from ndsampler.geometry import clip_slices

WINDOWS = [(slice(3, 20), slice(5, 30)),      # inside
           (slice(-6, 10), slice(-4, 12)),    # over the top-left corner
           (slice(30, 52), slice(35, 49)),    # over the bottom-right corner
           (slice(-9, -2), slice(3, 9)),      # wholly outside
           (slice(4, 4), slice(2, 9)),        # empty
           (slice(-2, 42), slice(-1, 47))]    # larger than the image
PADDINGS = [None, Padding(value=0), Padding(value=7), Padding('edge'), Padding('reflect', options=(('reflect_type', 'odd'),))]


def _numpy(img, window, padding, bands=None):
    """What the window is by definition: the in-bounds part, padded by ``np.pad`` (a constant over nothing)."""
    clipped, widths = clip_slices(window, img.shape[:2])
    part = img[clipped] if bands is None else img[clipped][..., bands]
    padding = Padding() if padding is None else padding
    full = widths + [(0, 0)]
    if padding.mode == 'constant' or part.size == 0:
        value = padding.value
        if value is None:
            value = np.nan if part.dtype.kind == 'f' else 0
        return np.pad(part, full, mode='constant', constant_values=value)
    return np.pad(part, full, mode=padding.mode, **dict(padding.options))


@pytest.fixture(params=['npy', 'cog'])
def load(request, tmp_path):
    img = smooth_image(40, 45, 3)
    if request.param == 'npy':
        fpath = tmp_path / 'img.npy'
        np.save(fpath, img)
    else:
        from ndsampler.io import write_cog
        fpath = write_cog(tmp_path / 'img.tif', img, blocksize=16, overviews=1)
    return DelayedLoad(fpath, channels='r|g|b').prepare(), img


@pytest.mark.parametrize('window', WINDOWS)
@pytest.mark.parametrize('padding', PADDINGS)
@pytest.mark.parametrize('bands', [None, [2, 0]])
def test_file_fast_path_equals_the_general_path_and_numpy(load, window, padding, bands):
    node, img = load
    if bands is not None:
        node = node.take_channels([node.channels.as_list()[i] for i in bands])
    want = _numpy(img, window, padding, bands)
    fast = window_pixels(node, window, padding)
    # the general path: a tree that is no file, finalized with and without the optimizer
    general = DelayedChannelConcat([node])
    for optimize in [True, False]:
        got = window_pixels(general, window, padding, optimize=optimize)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert fast.dtype == want.dtype and fast.flags.writeable
    np.testing.assert_array_equal(fast, want)
    # an in-memory copy of the image goes the general way too
    np.testing.assert_array_equal(window_pixels(DelayedIdentity(img).take_channels(
        bands if bands is not None else [0, 1, 2]), window, padding), want)


@pytest.mark.parametrize('window', WINDOWS)
@pytest.mark.parametrize('optimize', [True, False])
def test_delayed_crop_and_whole_pixel_warp_equal_the_window_read(load, window, optimize):
    node, img = load
    want = window_pixels(node, window)
    crop = node.crop(window, clip=False, wrap=False)
    np.testing.assert_array_equal(crop.finalize(optimize=optimize), want)
    sl_y, sl_x = window
    dsize = (sl_x.stop - sl_x.start, sl_y.stop - sl_y.start)
    if 0 in dsize:
        return
    # the scaled path at scale 1: one warp into the output pixels (a whole-pixel shift)
    shift = kwimage.Affine.translate((-sl_x.start, -sl_y.start))
    for interpolation in ['nearest', 'linear', 'cubic']:
        warped = node.warp(shift, dsize=dsize, interpolation=interpolation)
        np.testing.assert_array_equal(warped.finalize(optimize=optimize), want)


def test_overview_level_of_a_file_is_one_read(tmp_path):
    from ndsampler.io import write_cog
    img = smooth_image(64, 48, 2)
    load = DelayedLoad(write_cog(tmp_path / 'img.tif', img, blocksize=16, overviews=2)).prepare()
    level = load.get_overview(1)
    full = level.finalize()
    for window in [(slice(-3, 10), slice(4, 30)), (slice(2, 30), slice(0, 24))]:
        want = _numpy(full, window, Padding('edge'))
        np.testing.assert_array_equal(window_pixels(level, window, Padding('edge')), want)
        np.testing.assert_array_equal(window_pixels(DelayedChannelConcat([level]), window, Padding('edge'),
                                                    optimize=False), want)


def test_convert_runs_on_the_data_before_the_pad(load):
    node, img = load
    window = (slice(-2, 5), slice(40, 48))

    def as_float(arr):
        return arr.astype(np.float32)

    got = window_pixels(node, window, Padding(value=np.nan), convert=as_float)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got[2:, :5], img[:5, 40:].astype(np.float32))
    assert np.isnan(got[:2]).all() and np.isnan(got[:, 5:]).all()


def test_the_caller_owns_the_pixels():
    data = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    node = DelayedIdentity(data)
    for window in [(slice(0, 2), slice(1, 3)), (slice(-1, 2), slice(1, 3))]:
        out = window_pixels(node, window)
        assert out.flags.writeable and not np.shares_memory(out, data)
