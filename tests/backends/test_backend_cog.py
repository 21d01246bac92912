"""The COG backend through the conformance suite, plus COG-specific layout checks."""
import numpy as np
import rasterio
from conformance import BackendConformance, make_pixels, smooth_pixels, write_tif, zero_tile

from ndsampler.backends import CogBackend, source_identity
from ndsampler.io import is_cog


class TestCogBackend(BackendConformance):
    spec = 'cog'
    alt_configs = [{'compress': 'DEFLATE'}, {'blocksize': 128}, {'overviews': 0}]


def test_cog_is_tiled_lossless_with_overviews(tmp_path):
    data = make_pixels((600, 700, 3), 'uint8')
    src = write_tif(tmp_path / 'big.tif', data)
    fpath, _ = CogBackend().ensure(source_identity(src), tmp_path / 'cache')
    assert is_cog(fpath)
    with rasterio.open(fpath) as ds:
        assert ds.block_shapes[0] == (256, 256)
        assert ds.overviews(1) == [2, 4]
        assert ds.tags(ns='IMAGE_STRUCTURE')['COMPRESSION'] == 'ZSTD'
        np.testing.assert_array_equal(ds.read().transpose(1, 2, 0), data)


def test_cheap_check_decodes_the_ends_deep_check_every_tile(tmp_path):
    data = smooth_pixels((600, 700, 3))
    src = write_tif(tmp_path / 'big.tif', data)
    ident = source_identity(src)
    root = tmp_path / 'cache'
    backend = CogBackend()
    fpath, _ = backend.ensure(ident, root)
    assert backend.validate(fpath) and backend.validate(fpath, deep=True)

    zero_tile(fpath, level=2, tile=(0, 0))  # the smallest overview: the start of the image data
    assert not CogBackend().validate(fpath)
    assert backend.ensure(ident, root)[1] > 0

    zero_tile(fpath, level=0, tile=(1, 1))  # a middle tile of the full resolution
    fresh = CogBackend()
    assert fresh.validate(fpath), 'the cheap check reads only the ends of the data'
    assert not fresh.validate(fpath, deep=True)
    assert fresh.ensure(ident, root)[1] == 0
    assert fresh.ensure(ident, root, repair=True)[1] > 0
    with rasterio.open(fpath) as ds:
        np.testing.assert_array_equal(ds.read().transpose(1, 2, 0), data)
