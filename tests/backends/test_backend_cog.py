"""The COG backend through the conformance suite, plus COG-specific layout checks."""
import numpy as np
import rasterio
from conformance import BackendConformance, make_pixels, smooth_pixels, write_tif, zero_tile

from ndsampler.backends import CHECK_LEVELS, CogBackend, source_identity
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


def test_check_levels_look_further_and_further(tmp_path):
    data = smooth_pixels((600, 700, 3))
    src = write_tif(tmp_path / 'big.tif', data)
    ident = source_identity(src)
    root = tmp_path / 'cache'
    fpath, _ = CogBackend().ensure(ident, root)
    assert all(CogBackend().validate(fpath, check) for check in CHECK_LEVELS)

    zero_tile(fpath, level=2, tile=(0, 0))  # the smallest overview: the start of the image data
    assert CogBackend().validate(fpath, 'quick'), 'quick decodes nothing'
    assert not CogBackend().validate(fpath, 'sample')
    assert CogBackend().ensure(ident, root)[1] == 0
    assert CogBackend().ensure(ident, root, check='sample')[1] > 0

    zero_tile(fpath, level=0, tile=(1, 1))  # a middle tile of the full resolution
    backend = CogBackend()
    assert backend.validate(fpath, 'sample'), 'sample decodes only the ends of the data'
    assert not backend.validate(fpath, 'deep')
    assert backend.ensure(ident, root, check='sample')[1] == 0
    assert backend.ensure(ident, root, check='deep')[1] > 0
    assert backend.ensure(ident, root, check='deep')[1] == 0
    with rasterio.open(fpath) as ds:
        np.testing.assert_array_equal(ds.read().transpose(1, 2, 0), data)
