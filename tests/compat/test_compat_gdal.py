"""``ndsampler.utils.util_gdal``'s writer with ``compress='auto'`` is lossless (COMPAT.md)."""
import numpy as np
import rasterio

from ndsampler.utils import util_gdal


def test_auto_compression_is_lossless_zstd(tmp_path):
    """0.8.1's ``_auto_compress`` chose JPEG (lossy) for a 3-band uint8 array; here ``'auto'`` is ZSTD, and
    the private heuristic is not offered."""
    data = np.random.default_rng(0).integers(0, 256, (64, 48, 3)).astype(np.uint8)
    fpath = tmp_path / 'a.tif'
    util_gdal._imwrite_cloud_optimized_geotiff(fpath, data, compress='auto')
    with rasterio.open(fpath) as src:
        assert src.profile['compress'].lower() == 'zstd'
        np.testing.assert_array_equal(np.moveaxis(src.read(), 0, -1), data)
    assert not hasattr(util_gdal, '_auto_compress')
