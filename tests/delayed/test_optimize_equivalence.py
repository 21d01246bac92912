"""Property: ``optimize().finalize()`` gives the pixels of ``finalize(optimize=False)`` (SPEC §4).

Random chains of crops, pads (crops that leave the image), whole-pixel shifts
and resampling warps (fractional offsets, scales up and down, small rotations)
on small random images. The unoptimized tree is the reference: a crop is a hard
boundary (pixels outside it do not exist for the steps above), a pad is data
(the fill value) that a later warp interpolates.

* At most one resampling warp, ``nearest``, or only whole-pixel shifts (one of
  them maybe with an explicit border value): equal arrays (NaN where NaN).
* At most one resampling warp, ``linear`` (antialiased or not): the same NaN mask
  and values within ``LINEAR_ATOL`` (float32 data in [0, 1]; the only difference
  is float rounding of the folded matrix) or 1 grey level for uint8.
* Over a file with overviews, where the optimizer reads a coarser level for a
  downscale: values within ``OVERVIEW_ATOL``, the same NaN mask except next to
  padding, where the unoptimized tree's blur spreads NaN a pixel or two further.
* Several resampling warps fold into one (approximate by design: the unoptimized
  tree resamples twice, and each step has its own border and antialiasing blur):
  the same shape and close values (``FOLDED_ATOL``) where both are valid.
"""
import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndsampler.delayed import DelayedChannelConcat, DelayedCrop, DelayedIdentity, DelayedLoad, DelayedOverview
from ndsampler.io import write_cog
from tests.delayed.conftest import smooth_image

LINEAR_ATOL = 1e-4
#: An overview holds averaged pixels where the unoptimized tree blurs and resamples the full
#: resolution (values in [0, 1]; measured up to 0.01 on the smooth test raster).
OVERVIEW_ATOL = 0.03
OVERVIEW_RING = 2
JITTER = 1 / 97
SCALES = [0.5, 0.625, 0.75, 0.8, 1.25, 1.5, 2.0, 3.0]
FRACTIONS = [0.0, 0.25, 0.5, 0.3, 0.75]

NOISE_F32 = np.random.default_rng(0).random((19, 23, 2)).astype(np.float32)
NOISE_U8 = np.random.default_rng(1).integers(1, 256, (17, 21, 1)).astype(np.uint8)
SMOOTH_F32 = smooth_image(26, 30, 2, np.float32, seed=3)
SMOOTH_U8 = smooth_image(26, 30, 1, np.uint8, seed=4)
#: The largest difference between neighbouring pixels of SMOOTH_F32 (about 0.01).
STEP = max(np.abs(np.diff(SMOOTH_F32, axis=axis)).max() for axis in (0, 1))
#: A folded nearest warp may pick a source pixel a pixel or two (diagonally) from the one the
#: two-step tree picks; a folded linear warp interpolates (and blurs) once instead of twice.
#: Measured over thousands of chains: up to 2.4 STEP for nearest, 2.2 for linear.
FOLDED_ATOL = {'nearest': 4 * STEP, 'linear': 4 * STEP}


def _bases(float_image, uint8_image):
    """The leaves a chain starts from: an array of each dtype, a dequantized one, a channel concat of two."""
    return st.sampled_from([
        DelayedIdentity(float_image),
        DelayedIdentity(uint8_image),
        DelayedIdentity(uint8_image).dequantize({'quant_max': 255}),
        DelayedChannelConcat([DelayedIdentity(float_image[..., :1], channels='a'),
                              DelayedIdentity(float_image[..., 1:], channels='b')]),
    ])


def _crop(data, node):
    w, h = node.dsize
    y0 = data.draw(st.integers(0, h - 1))
    x0 = data.draw(st.integers(0, w - 1))
    return node[y0:data.draw(st.integers(y0 + 1, h)), x0:data.draw(st.integers(x0 + 1, w))]


def _pad(data, node):
    """A window that may leave the image on any side (or lie wholly outside it)."""
    w, h = node.dsize
    y0 = data.draw(st.integers(-4, h - 1))
    x0 = data.draw(st.integers(-4, w - 1))
    window = (slice(y0, data.draw(st.integers(y0 + 1, h + 4))), slice(x0, data.draw(st.integers(x0 + 1, w + 4))))
    return node.crop(window, clip=False, wrap=False)


def _shift(data, node, border_value='auto'):
    w, h = node.dsize
    tx, ty = data.draw(st.integers(-4, 4)), data.draw(st.integers(-4, 4))
    dsize = (max(1, w + data.draw(st.integers(-3, 4))), max(1, h + data.draw(st.integers(-3, 4))))
    interpolation = data.draw(st.sampled_from(['linear', 'nearest', 'cubic']))  # exact at whole pixels
    return node.warp({'offset': (tx, ty)}, dsize=dsize, interpolation=interpolation, border_value=border_value)


def _resample(data, node, interpolation, antialias):
    w, h = node.dsize
    sx, sy = data.draw(st.sampled_from(SCALES)), data.draw(st.sampled_from(SCALES))
    # 'linear' never samples exactly at a pixel centre (JITTER): there a tap of weight 0 gets a
    # NaN neighbour's NaN, and float rounding of the folded matrix decides whether it is that tap
    jitter = JITTER if interpolation == 'linear' else 0.0
    offset = tuple(data.draw(st.integers(-3, 3)) + data.draw(st.sampled_from(FRACTIONS)) + jitter for _ in 'xy')
    theta = data.draw(st.sampled_from([0.0, 0.0, 0.1, -0.25]))
    dsize = (max(1, int(np.ceil(w * sx)) + data.draw(st.integers(-2, 2))),
             max(1, int(np.ceil(h * sy)) + data.draw(st.integers(-2, 2))))
    transform = {'scale': (sx, sy), 'offset': offset, 'theta': theta}
    return node.warp(transform, dsize=dsize, interpolation=interpolation, antialias=antialias)


SHIFTS = [_crop, _pad, _shift]


def _chain(data, node, resamples: int, interpolation='nearest', antialias=True, bordered=False):
    """Up to six whole-pixel steps with ``resamples`` resampling warps somewhere among them.

    ``bordered``: one more step, a whole-pixel shift with an explicit border value (7).
    """
    kinds = data.draw(st.lists(st.sampled_from(SHIFTS), max_size=6))
    for kind in ['resample'] * resamples + ['bordered'] * bordered:
        kinds.insert(data.draw(st.integers(0, len(kinds))), kind)
    for kind in kinds:
        if kind == 'resample':
            node = _resample(data, node, interpolation, antialias)
        elif kind == 'bordered':
            node = _shift(data, node, border_value=7)
        else:
            node = kind(data, node)
    return node


def _both(node):
    raw = node.finalize(optimize=False)
    fast = node.optimize().finalize()
    assert raw.shape == fast.shape == node.shape
    assert raw.dtype == fast.dtype == node.dtype
    return raw, fast


def _border(raw, fast):
    """Per pixel: the fill value (NaN for float, 0 for uint8: the uint8 images hold no 0)."""
    if raw.dtype.kind == 'f':
        return np.isnan(raw), np.isnan(fast)
    return raw == 0, fast == 0


@settings(max_examples=150)
@given(st.data(), _bases(NOISE_F32, NOISE_U8), st.booleans())
def test_whole_pixel_chains_are_exact(data, base, bordered):
    node = _chain(data, base, resamples=0, bordered=bordered)
    raw, fast = _both(node)
    np.testing.assert_array_equal(raw, fast)


@settings(max_examples=150)
@given(st.data(), _bases(NOISE_F32, NOISE_U8))
def test_one_nearest_warp_is_exact(data, base):
    node = _chain(data, base, resamples=1, interpolation='nearest')
    raw, fast = _both(node)
    np.testing.assert_array_equal(raw, fast)


@settings(max_examples=150)
@given(st.data(), _bases(SMOOTH_F32, SMOOTH_U8), st.booleans())
def test_one_linear_warp_within_tolerance(data, base, antialias):
    node = _chain(data, base, resamples=1, interpolation='linear', antialias=antialias)
    raw, fast = _both(node)
    border_raw, border_fast = _border(raw, fast)
    np.testing.assert_array_equal(border_raw, border_fast)
    valid = ~border_raw
    atol = LINEAR_ATOL if raw.dtype.kind == 'f' else 1
    np.testing.assert_allclose(fast[valid].astype(float), raw[valid].astype(float), rtol=0, atol=atol)


@settings(max_examples=100)
@given(st.data(), st.sampled_from(['nearest', 'linear']))
def test_folded_warps_keep_shape_and_values(data, interpolation):
    node = _chain(data, DelayedIdentity(SMOOTH_F32), resamples=2, interpolation=interpolation)
    raw, fast = _both(node)
    both = ~np.isnan(raw) & ~np.isnan(fast)
    assert np.abs(raw[both] - fast[both]).max(initial=0) < FOLDED_ATOL[interpolation]


@pytest.fixture(scope='module')
def cog64(tmp_path_factory):
    img = smooth_image(48, 64, 2, np.uint8, seed=5)
    img[img == 0] = 1
    return write_cog(tmp_path_factory.mktemp('cog') / 'img.tif', img, blocksize=16, overviews=2)


@settings(max_examples=60)
@given(data=st.data())
def test_nearest_over_a_file_with_overviews_is_exact(cog64, data):
    node = _chain(data, DelayedLoad(cog64, channels='a|b'), resamples=1, interpolation='nearest')
    raw, fast = _both(node)
    np.testing.assert_array_equal(raw, fast)
    assert all(type(n) is not DelayedOverview for n in _walk(node.optimize()))


@settings(max_examples=100)
@given(data=st.data())
def test_one_linear_warp_over_a_file_with_overviews(cog64, data):
    """Where the optimizer reads an overview (a downscale), the border is the unoptimized one up to the blur's reach."""
    node = _chain(data, DelayedLoad(cog64, channels='a|b').dequantize({'quant_max': 255}), resamples=1,
                  interpolation='linear')
    raw, fast = _both(node)
    _assert_overview_border(node, np.isnan(raw), np.isnan(fast))
    valid = ~np.isnan(raw) & ~np.isnan(fast)
    np.testing.assert_allclose(fast[valid], raw[valid], rtol=0, atol=OVERVIEW_ATOL)


def test_padded_downscale_reads_an_overview(cog64):
    node = DelayedLoad(cog64, channels='a|b').dequantize({'quant_max': 255})
    node = node.crop((slice(-3, 30), slice(50, 70)), clip=False, wrap=False).scale(0.5)[1:, :]
    assert any(type(n) is DelayedOverview for n in _walk(node.optimize()))
    raw, fast = _both(node)
    nan_raw, nan_fast = np.isnan(raw[..., 0]), np.isnan(fast[..., 0])
    # the pad (3 rows above, 6 columns right: the last 3 output columns), the border row below (the 33 rows
    # scale to 16.5) and, unoptimized only, one more row and column the blur spreads the pad's NaN into
    # (the overview's last column averages real pixels only)
    assert nan_raw[:2].all() and nan_fast[:1].all() and not nan_fast[1:-1, :7].any()
    assert nan_raw[:, 6:].all() and nan_fast[:, 7:].all() and not nan_raw[2:-1, :6].any()
    assert nan_raw[-1].all() and nan_fast[-1].all()


def _assert_overview_border(node, nan_raw, nan_fast):
    """NaN masks equal, but where an overview was read next to padding: there the unoptimized
    tree's antialiasing blur spreads the padding's NaN over pixels the overview (averaged, not
    blurred) keeps, at most ``OVERVIEW_RING`` output pixels from the optimized NaN (or from the
    output's edge, where a crop above cut the padding off)."""
    if not any(type(n) is DelayedOverview for n in _walk(node.optimize())):
        np.testing.assert_array_equal(nan_raw, nan_fast)
        return
    assert not (nan_fast & ~nan_raw).any()
    k = 2 * OVERVIEW_RING + 1
    edged = np.pad(nan_fast.any(axis=2), 1, constant_values=True).astype(np.uint8)
    near = cv2.dilate(edged, np.ones((k, k), np.uint8)).astype(bool)[1:-1, 1:-1]
    assert not (nan_raw & ~nan_fast)[~near].any()


def test_the_issue_chain_borders_a_shifted_crop():
    """A crop of a crop shifted by (3, 2): the first two rows and three columns are the border, optimized or not."""
    image = np.random.default_rng(2).integers(1, 256, (400, 500, 1)).astype(np.uint8)
    node = DelayedIdentity(image)[10:300, 20:400][5:100, 7:90].warp({'offset': (3, 2)}, dsize=(50, 40))
    raw, fast = _both(node)
    np.testing.assert_array_equal(raw, fast)
    assert (fast[:2] == 0).all() and (fast[:, :3] == 0).all()
    np.testing.assert_array_equal(fast[2:, 3:], image[15:53, 27:74])
    # still one window of the image, padded
    opt = node.optimize()
    assert type(opt) is DelayedCrop and type(opt.child) is DelayedCrop and opt.child.dsize == (47, 38)


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


@pytest.mark.parametrize('interpolation', ['nearest', 'linear', 'cubic', 'lanczos'])
def test_whole_pixel_shift_copies_pixels_next_to_nan(interpolation):
    image = np.arange(20, dtype=np.float32).reshape(4, 5)
    image[1, 2] = np.nan
    node = DelayedIdentity(image).warp({'offset': (1, -1)}, dsize=(6, 4), interpolation=interpolation)
    expected = np.full((4, 6), np.nan, np.float32)
    expected[:3, 1:] = image[1:]
    for out in _both(node):
        np.testing.assert_array_equal(out[..., 0], expected)
