"""delayed_image's introductory chain, step for step, on ndsampler.delayed (quantization with defaults, dict warps)."""
import numpy as np

from ndsampler.delayed import DelayedDequantize, DelayedLoad, DelayedOverview, DelayedWarp
from ndsampler.io import write_cog
from tests.delayed.conftest import smooth_image

# (kind, argument) in the order the chain applies them: warps take delayed_image's dict form
STEPS = [('warp', {'scale': 1.1}), ('warp', {'scale': 1.1}), ('crop', (0, 400, 1, 400)),
         ('warp', {'scale': 0.5}), ('crop', (0, 800, 1, 800)),
         ('warp', {'scale': 0.5}), ('crop', (0, 800, 1, 800)),
         ('warp', {'scale': 0.5}), ('warp', {'scale': 1.1}), ('warp', {'scale': 1.1}), ('warp', {'scale': 2.1}),
         ('crop', (0, 200, 1, 200)), ('crop', (1, 200, 2, 200))]


def test_quickstart_chain_runs_and_optimizes(tmp_path):
    img = smooth_image(512, 512, 3)
    img[100:140, 60:90] = 0  # a nodata hole
    fpath = write_cog(tmp_path / 'scene.tif', img, blocksize=64, overviews=3)
    node = DelayedLoad(fpath, channels='r|g|b').prepare().dequantize({'quant_max': 255, 'nodata': 0})
    for kind, arg in STEPS:
        if kind == 'warp':
            node = node.warp(arg)
        else:
            y0, y1, x0, x1 = arg
            node = node[y0:y1, x0:x1]
    assert node.shape == (128, 126, 3)
    opt = node.optimize()
    # one warp over a dequantized window of the coarsest overview that keeps the resolution
    assert type(opt) is DelayedWarp and type(opt.child) is DelayedDequantize
    overview = opt.child.child.child
    assert type(overview) is DelayedOverview and overview.overview == 2
    assert np.allclose(opt.transform.decompose()['scale'], 1.1 ** 4 * 0.5 ** 3 * 2.1 * 4)
    raw, fast = node.finalize(optimize=False), opt.finalize()
    assert raw.shape == fast.shape == (128, 126, 3) and raw.dtype == fast.dtype == np.float32
    # values in [0, 1]; the hole is NaN in both
    both = ~np.isnan(raw) & ~np.isnan(fast)
    assert both.mean() > 0.8
    assert 0.07 <= np.nanmin(fast) and np.nanmax(fast) <= 0.87
    assert np.abs(raw[both] - fast[both]).max() < 0.05
    hole = (slice(40, 50), slice(19, 27))  # inside the image of the hole (scale ~0.38)
    assert np.isnan(raw[hole]).all() and np.isnan(fast[hole]).all()
