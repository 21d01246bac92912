"""The COG backend through the conformance suite, plus COG-specific layout checks."""
import numpy as np
import rasterio
from conformance import BackendConformance, make_pixels, write_tif

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
