"""Node construction, finalize, metadata and bad input."""
import numpy as np
import pytest

from ndsampler.delayed import (DelayedChannelConcat, DelayedIdentity, DelayedLoad, DelayedNans)
from ndsampler.errors import (InvalidOptionError, SourceNotFoundError, TransformError, UnknownChannelError,
                              WindowError)
from tests.delayed.conftest import smooth_image


def test_load_metadata_without_reading(tmp_path):
    node = DelayedLoad(tmp_path / 'missing.npy', channels='r|g|b', dsize=(10, 8), num_overviews=0, dtype='uint8')
    assert node.shape == (8, 10, 3) and node.dtype == np.uint8 and node.num_overviews == 0
    cropped = node[2:4, 1:5].take_channels('b|r')
    assert cropped.shape == (2, 4, 2)
    assert cropped.channels.as_list() == ['b', 'r']
    with pytest.raises(SourceNotFoundError, match='missing.npy'):
        cropped.finalize()
    with pytest.raises(SourceNotFoundError, match='missing.npy'):
        DelayedLoad(tmp_path / 'missing.npy').prepare()


def test_load_prepare_and_finalize(cog512):
    fpath, img = cog512
    node = DelayedLoad(fpath).prepare()
    assert node.dsize == (512, 512) and node.num_overviews == 3 and node.num_channels == 3
    np.testing.assert_array_equal(node.finalize(), img)
    np.testing.assert_array_equal(node[10:20, 30:35].finalize(), img[10:20, 30:35])
    ovr = node.get_overview(1)
    assert ovr.dsize == (256, 256)
    assert ovr.finalize().shape == (256, 256, 3)


def test_identity_and_getitem():
    data = np.arange(60, dtype=np.int16).reshape(5, 4, 3)
    node = DelayedIdentity(data, channels='a|b|c')
    np.testing.assert_array_equal(node[1:3, -2:, 1].finalize(), data[1:3, -2:, 1:2])
    np.testing.assert_array_equal(node[:, :, [2, 0]].finalize(), data[:, :, [2, 0]])
    out = node.finalize()
    out[0, 0, 0] = 99  # the caller owns the result
    assert data[0, 0, 0] == 0
    assert DelayedIdentity(np.zeros((3, 4))).shape == (3, 4, 1)


@pytest.mark.parametrize('optimize', [False, True])
def test_zero_size_crops(optimize):
    node = DelayedIdentity(np.ones((6, 7, 2), np.uint8))
    assert node[3:3, 0:7].finalize(optimize=optimize).shape == (0, 7, 2)
    empty = node[0:6, 5:5].scale(2)
    assert empty.dsize == (0, 12)
    assert empty.finalize(optimize=optimize).shape == (12, 0, 2)
    assert node.crop((slice(10, 10), slice(0, 0)), clip=False).finalize(optimize=optimize).shape == (0, 0, 2)


@pytest.mark.parametrize('optimize', [False, True])
@pytest.mark.parametrize('dtype', [np.uint8, np.float32])
def test_crop_wholly_outside_pads(dtype, optimize):
    data = np.ones((6, 7, 2), dtype)
    node = DelayedIdentity(data).crop((slice(-20, -10), slice(50, 53)), clip=False)
    out = node.finalize(optimize=optimize)
    assert out.shape == (10, 3, 2)
    if dtype == np.float32:
        assert np.isnan(out).all()
    else:
        assert (out == 0).all()


@pytest.mark.parametrize('optimize', [False, True])
def test_crop_partly_outside_and_pad(optimize):
    data = np.arange(42, dtype=np.float32).reshape(6, 7, 1)
    node = DelayedIdentity(data).crop((slice(4, 8), slice(-1, 2)), clip=False, wrap=False)
    out = node.finalize(optimize=optimize)[..., 0]
    expected = np.full((4, 3), np.nan, np.float32)
    expected[0:2, 1:3] = data[4:6, 0:2, 0]
    np.testing.assert_array_equal(out, expected)
    padded = DelayedIdentity(data).crop((slice(0, 2), slice(0, 2)), clip=False, pad=1)
    assert padded.shape == (4, 4, 1)
    assert np.isnan(padded.finalize(optimize=optimize)[0]).all()


def test_dequantize():
    data = np.array([[0, 100, 200, 255]], dtype=np.uint8)
    q = {'orig_min': -1.0, 'orig_max': 1.0, 'quant_min': 0, 'quant_max': 200, 'nodata': 255}
    out = DelayedIdentity(data).dequantize(q).finalize()[0, :, 0]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:3], [-1, 0, 1])
    assert np.isnan(out[3])


def test_concat_take_channels_missing_is_nan():
    a = DelayedIdentity(np.ones((4, 5, 2), np.uint8), channels='r|g')
    b = DelayedIdentity(np.full((4, 5, 1), 7, np.uint16), channels='nir')
    cat = DelayedChannelConcat([a, b])
    assert cat.channels.as_list() == ['r', 'g', 'nir'] and cat.dtype == np.uint16
    sub = cat.take_channels('nir|swir|r')
    assert sub.channels.as_list() == ['nir', 'swir', 'r']
    for optimize in [False, True]:
        out = sub[1:3, 0:2].finalize(optimize=optimize)
        assert out.dtype == np.float32
        assert (out[..., 0] == 7).all() and np.isnan(out[..., 1]).all() and (out[..., 2] == 1).all()
    assert isinstance(cat.take_channels('swir'), DelayedNans)


def test_write_network_text(capsys):
    node = DelayedIdentity(np.zeros((4, 4, 1))).scale(2)[0:3, 0:3]
    text = node.write_network_text()
    assert 'Crop' in text and 'Warp' in text and 'Identity' in text
    assert capsys.readouterr().out.strip() == text


def test_bad_input():
    node = DelayedIdentity(np.zeros((4, 4, 1), np.float32), channels='a')
    with pytest.raises(InvalidOptionError, match="interpolation='bicubic'.*nearest"):
        node.warp(2, interpolation='bicubic')
    with pytest.raises(InvalidOptionError, match='dsize'):
        node.warp(2, dsize=(0, 3))
    with pytest.raises(InvalidOptionError, match='dsize'):
        node.resize((-1, 3))
    with pytest.raises(TransformError, match='not invertible'):
        node.warp(np.diag([1.0, 0.0, 1.0]))
    with pytest.raises(UnknownChannelError, match="'b'.*allowed"):
        node.take_channels('b')
    with pytest.raises(InvalidOptionError, match='quantization'):
        node.dequantize({'orig_min': 0})
    with pytest.raises(InvalidOptionError, match='nodata_method'):
        DelayedLoad('x.tif', nodata_method='bogus')
    with pytest.raises(WindowError, match='step'):
        node[::2]
    with pytest.raises(WindowError, match='sizes'):
        DelayedChannelConcat([node, DelayedIdentity(np.zeros((3, 4)))])


def test_nodata_float(tmp_path):
    from ndsampler.io import write_cog
    img = smooth_image(32, 32, 1, np.uint16)
    img[0, 0] = 9
    fpath = write_cog(tmp_path / 'n.tif', img, nodata=9, overviews=0)
    out = DelayedLoad(fpath, nodata_method='float')[0:2, 0:2].finalize()
    assert out.dtype == np.float32 and np.isnan(out[0, 0, 0]) and not np.isnan(out[1, 1, 0])


@pytest.mark.parametrize('prepared', [False, True])
def test_nodata_value_given(tmp_path, prepared):
    """An explicit nodata value masks a file without one in its header (.npy), and wins over the header's."""
    img = smooth_image(8, 8, 2, np.uint16)
    img[1, 2] = 5
    np.save(tmp_path / 'a.npy', img)
    node = DelayedLoad(tmp_path / 'a.npy', nodata_method='float', nodata=5)
    if prepared:
        node.prepare()
    out = node.finalize()
    assert out.dtype == np.float32 and node.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(out), img == 5)
    np.testing.assert_array_equal(out[img != 5], img[img != 5])
    # nodata=None on a file without header nodata: float32, nothing masked
    plain = DelayedLoad(tmp_path / 'a.npy', nodata_method='float').finalize()
    assert plain.dtype == np.float32 and not np.isnan(plain).any()
    # the given value is used instead of the header's
    from ndsampler.io import write_cog
    fpath = write_cog(tmp_path / 'b.tif', img, nodata=9, overviews=0)
    np.testing.assert_array_equal(np.isnan(DelayedLoad(fpath, nodata_method='float', nodata=5).finalize()), img == 5)


@pytest.mark.parametrize('factor', [-1, 0, (1, -2), (0.5, 0)])
def test_non_positive_scale_raises(factor):
    node = DelayedIdentity(np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(WindowError, match=r'scale factor=.*5x4.*positive'):
        node.scale(factor)


def test_auto_dsize_with_a_zero_side_raises():
    node = DelayedIdentity(np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(WindowError, match=r'-1\.0.*5x4.*\(0, 4\)'):
        node.warp(np.diag([-1.0, 1.0, 1.0]))
    assert node.warp(np.diag([-1.0, 1.0, 1.0]), dsize=(5, 4)).dsize == (5, 4)
    assert node[0:0, 0:5].scale(2).dsize == (10, 0)  # an empty input stays legal
