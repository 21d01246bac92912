"""Fixtures: smooth synthetic rasters written into tmp_path."""
import numpy as np
import pytest

from ndsampler.io import write_cog


def smooth_image(h, w, c, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for _ in range(c):
        fx, fy, ph = rng.uniform(0.005, 0.03, 2).tolist() + [rng.uniform(0, 6)]
        chans.append(0.5 + 0.5 * np.sin(xs * fx + ys * fy + ph))
    img = np.stack(chans, axis=2)
    if np.dtype(dtype).kind == 'f':
        return img.astype(dtype)
    return np.round(img * 200 + 20).astype(dtype)


@pytest.fixture
def cog512(tmp_path):
    img = smooth_image(512, 512, 3)
    fpath = write_cog(tmp_path / 'img.tif', img, blocksize=64, overviews=3)
    return fpath, img
