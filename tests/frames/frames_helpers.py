"""Synthetic sources shared by the frames tests."""
import numpy as np
import rasterio


def write_tif(fpath, data, nodata=None):
    """A plain striped GeoTIFF source, optionally declaring ``nodata`` in its header."""
    h, w, c = data.shape
    with rasterio.open(fpath, 'w', driver='GTiff', width=w, height=h, count=c, dtype=data.dtype.name,
                       nodata=nodata) as dst:
        dst.write(data.transpose(2, 0, 1))
    return fpath


def smooth_image(shape, seed):
    """Deterministic smooth-ish uint8 content (compresses like real imagery)."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([np.sin(xx / (7 + k + seed)) + np.cos(yy / (5 + 2 * k)) for k in range(c)], axis=2)
    noise = rng.normal(0, 0.1, size=shape)
    return np.clip((base + 2) * 60 + noise * 20, 0, 255).astype(np.uint8)

#: Every backend the frames must load through.
BACKEND_SPECS = [None, 'npy', 'cog']
