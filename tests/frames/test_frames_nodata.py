"""Nodata declared in a source's header becomes NaN when frames are asked for ``nodata='float'``."""
import numpy as np
import pytest
from frames_helpers import BACKEND_SPECS, write_tif

from ndsampler.errors import InvalidOptionError
from ndsampler.frames import SimpleFrames

H, W = 64, 48

#: (dtype, declared nodata value) of the synthetic GeoTIFF sources.
KINDS = [('uint16', 0), ('float32', -9999)]


def _source(tmp_path, dtype, nodata):
    """A 2-band GeoTIFF whose top-left 16x16 block (both bands) and one pixel of band 1 are nodata."""
    yy, xx = np.mgrid[0:H, 0:W]
    data = np.stack([1000 + 7 * yy + xx, 1200 + yy + 3 * xx], axis=2).astype(dtype)
    data[:16, :16] = nodata
    data[40, 30, 1] = nodata
    return write_tif(tmp_path / f'src_{dtype}.tif', data, nodata=nodata), data


def _masked(data, nodata):
    out = data.astype(np.float32)
    out[data == nodata] = np.nan
    return out


@pytest.fixture(params=BACKEND_SPECS, ids=str)
def backend(request):
    return request.param


@pytest.mark.parametrize('dtype, nodata', KINDS)
def test_load_region_masks_declared_nodata(tmp_path, backend, dtype, nodata):
    src, data = _source(tmp_path, dtype, nodata)
    frames = SimpleFrames({1: src}, workdir=tmp_path / 'work', backend=backend)
    # default: pixels as stored, nodata values included
    raw = frames.load_region(1)
    assert raw.dtype == data.dtype
    np.testing.assert_array_equal(raw, data)
    expected = _masked(data, nodata)
    for region in [None, (slice(8, 30), slice(4, 40)), (slice(50, 80), slice(20, 70))]:
        got = frames.load_region(1, region, nodata='float')
        want = expected if region is None else expected[region]  # past the border: clipped, as numpy slicing
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(frames.load_region(1, (slice(0, 20), slice(0, 20)), channels='u.1', nodata='float'),
                                  expected[0:20, 0:20, 1:2])
    np.testing.assert_array_equal(frames.load_image(1, nodata='float'), expected)
    np.testing.assert_array_equal(frames.load_image(1, cache=False, nodata='float'), expected)
    assert frames.may_have_nodata(1)


@pytest.mark.parametrize('dtype, nodata', KINDS)
def test_delayed_tree_pads_and_warps_with_nan(tmp_path, backend, dtype, nodata):
    src, data = _source(tmp_path, dtype, nodata)
    frames = SimpleFrames({1: src}, workdir=tmp_path / 'work', backend=backend)
    tree = frames.load_delayed(1, nodata='float')
    assert tree.dtype == np.float32 and frames.load_delayed(1, nodata='float') is tree
    assert frames.load_delayed(1) is not tree and frames.load_delayed(1).dtype == data.dtype
    # a window past the top-left corner: padding and declared nodata are both NaN
    window = tree.crop((slice(-4, 20), slice(-4, 20)), clip=False, wrap=False).finalize()
    assert window.shape == (24, 24, 2)
    assert np.isnan(window[:20, :20]).all() and not np.isnan(window[20:, 20:]).any()
    # a downscale: nodata never leaks into the interpolated values
    small = tree.scale(0.25).finalize()
    assert np.isnan(small[:4, :4]).all()
    valid = small[~np.isnan(small)]
    assert valid.size and valid.min() >= 1000 - 1e-3


def test_cog_overviews_skip_nodata(tmp_path):
    """COG overviews are built knowing the nodata value: a downscale read from them is NaN exactly over it."""
    src, data = _source(tmp_path, 'uint16', 0)
    frames = SimpleFrames({1: src}, workdir=tmp_path / 'work',
                          backend={'type': 'cog', 'config': {'overviews': 2, 'blocksize': 16}})
    tree = frames.load_delayed(1, nodata='float').scale(0.25)
    assert 'Overview' in tree.optimize().write_network_text()
    small = tree.finalize()
    nan_rows, nan_cols = np.nonzero(np.isnan(small[..., 0]))
    assert set(nan_rows) == set(range(4)) and set(nan_cols) == set(range(4))
    assert np.nanmin(small) >= 1000


def test_images_without_declared_nodata_are_unchanged(tmp_path, backend):
    data = np.zeros((8, 6, 1), np.uint8)
    frames = SimpleFrames({1: write_tif(tmp_path / 'plain.tif', data)}, workdir=tmp_path / 'work', backend=backend)
    got = frames.load_region(1, nodata='float')
    assert got.dtype == np.uint8 and not np.isnan(got).any()  # nothing to mask: the stored pixels
    assert not frames.may_have_nodata(1)


def test_bad_nodata_option(tmp_path):
    src, _ = _source(tmp_path, 'uint16', 0)
    frames = SimpleFrames({1: src}, workdir=tmp_path / 'work')
    for call in (lambda: frames.load_delayed(1, nodata='nan'), lambda: frames.load_image(1, cache=False, nodata=0)):
        with pytest.raises(InvalidOptionError, match="nodata.*'float'"):
            call()
