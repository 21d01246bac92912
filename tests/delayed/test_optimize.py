"""Optimized vs unoptimized trees, the SPEC §4 worked example, window reads, multi-resolution concat."""
import cv2
import kwimage
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ndsampler.delayed import (DelayedChannelConcat, DelayedCrop, DelayedDequantize, DelayedIdentity,
                               DelayedLoad, DelayedOverview, DelayedWarp)
from ndsampler.io import write_cog
from tests.delayed.conftest import smooth_image

SMALL_F32 = smooth_image(24, 20, 2, np.float32)
SMALL_U16 = smooth_image(40, 50, 2, np.uint16)
QUANT = {'orig_min': 0.0, 'orig_max': 1.0, 'quant_min': 0, 'quant_max': 255, 'nodata': None}


def node_types(node):
    out = []
    while True:
        out.append(type(node))
        if not node.children:
            return out
        node = node.children[0]


def test_worked_example(cog512):
    fpath, _ = cog512
    node = DelayedLoad(fpath, channels='r|g|b').prepare().dequantize(QUANT)
    node = node.scale(1.1).scale(1.1)[0:500, 0:500]
    node = node.scale(0.5)[0:200, 0:200]
    node = node.scale(0.5)[0:100, 0:100]
    node = node.scale(0.5).scale(1.1).scale(1.1).scale(2.1)[0:50, 0:50][5:40, 2:30]
    opt = node.optimize()
    assert node_types(opt)[::-1] == [DelayedLoad, DelayedOverview, DelayedCrop, DelayedDequantize, DelayedWarp]
    assert opt.child.child.child.overview == 2
    scale = opt.transform.decompose()['scale']
    assert np.allclose(scale, 1.1 ** 4 * 0.5 ** 3 * 2.1 * 4)
    assert opt.shape == node.shape
    a = node.finalize(optimize=False)
    b = node.finalize()
    assert a.shape == b.shape == (35, 28, 3)
    assert not np.isnan(a).any() and not np.isnan(b).any()
    assert np.abs(a - b).mean() < 0.02


@settings(max_examples=25)
@given(st.integers(-30, 30), st.integers(-30, 30), st.integers(3, 40), st.integers(3, 40),
       st.sampled_from(['nearest', 'linear']))
def test_integer_translation_is_exact(tx, ty, w, h, interp):
    data = SMALL_F32
    node = DelayedIdentity(data).warp(kwimage.Affine.translate((tx, ty)), dsize=(w, h), interpolation=interp)
    node = node[2:, 1:]
    np.testing.assert_array_equal(node.finalize(optimize=True), node.finalize(optimize=False))
    assert all(t in (DelayedCrop, DelayedIdentity) for t in node_types(node.optimize()))


@settings(max_examples=25)
@given(st.floats(0.3, 3.0), st.floats(-20, 20), st.floats(-20, 20), st.integers(0, 20), st.integers(0, 20))
def test_nearest_chain_is_exact(scale, tx, ty, y0, x0):
    data = SMALL_U16
    node = DelayedIdentity(data).warp(kwimage.Affine.affine(scale=scale, offset=(tx, ty)), interpolation='nearest',
                                      dsize=(60, 50))
    node = node.crop((slice(y0, y0 + 17), slice(x0, x0 + 23)), clip=False)
    node = node.warp(kwimage.Affine.translate((2, -1)), interpolation='nearest', dsize=(23, 17))
    np.testing.assert_array_equal(node.finalize(optimize=True), node.finalize(optimize=False))


@pytest.mark.parametrize('interp', ['linear', 'cubic', 'lanczos', 'area'])
@pytest.mark.parametrize('scale', [0.45, 1.7])
def test_general_chain_within_tolerance(interp, scale):
    data = smooth_image(120, 100, 3, np.float32)
    node = DelayedIdentity(data).scale(scale, interpolation=interp)
    node = node.crop((slice(-5, 40), slice(10, 70)), clip=False, wrap=False)
    node = node.warp(kwimage.Affine.affine(theta=0.2, offset=(3, 1)), interpolation=interp, dsize=(50, 40))
    a = node.finalize(optimize=False)
    b = node.finalize(optimize=True)
    # borders agree up to the kernel-wide ring where the unoptimized tree interpolates
    # its intermediate NaN padding; interiors within interpolation tolerance
    nan_a, nan_b = np.isnan(a[..., 0]), np.isnan(b[..., 0])
    k = 2 * {'linear': 1, 'area': 1, 'cubic': 2, 'lanczos': 4}[interp] + 1

    def grow(mask):
        return cv2.dilate(mask.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)

    assert not (nan_b & ~grow(nan_a)).any() and not (nan_a & ~grow(nan_b)).any()
    valid = ~nan_a & ~nan_b
    assert np.abs(a[valid] - b[valid]).max() < 0.05


@pytest.mark.parametrize('interp', ['linear', 'cubic'])
def test_clipped_chain_has_identical_borders(interp):
    data = smooth_image(120, 100, 2, np.float32)
    node = DelayedIdentity(data).scale(0.7, interpolation=interp)[5:60, 10:70]
    node = node.warp(kwimage.Affine.affine(theta=0.3, offset=(8, -4)), interpolation=interp, dsize=(64, 60))
    a, b = node.finalize(optimize=False), node.finalize()
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    valid = ~np.isnan(a)
    assert np.abs(a[valid] - b[valid]).max() < 0.05


def test_downscale_reads_overview(cog512):
    fpath, img = cog512
    node = DelayedLoad(fpath).scale(0.2)[10:40, 20:50]
    opt = node.optimize()
    types = node_types(opt)
    assert DelayedOverview in types
    ovr = [n for n in [opt, opt.child, opt.child.child] if isinstance(n, DelayedOverview)][0]
    assert ovr.overview == 2  # 1/4 >= 0.2 > 1/8
    a, b = node.finalize(optimize=False), node.finalize()
    assert np.abs(a.astype(float) - b).mean() < 2.0


def test_window_read_touches_only_covering_tiles(tmp_path):
    """Corrupt every tile of a tiled TIFF except those under the window: the optimized read still works."""
    import rasterio
    img = smooth_image(1024, 1024, 1)
    fpath = write_cog(tmp_path / 'big.tif', img, blocksize=128, overviews=0, compress='DEFLATE')
    window = (slice(300, 420), slice(530, 700))  # tiles rows 2..3, cols 4..5
    keep = {(r, c) for r in range(2, 4) for c in range(4, 6)}
    with rasterio.open(fpath) as src:
        offsets = {}
        for r in range(8):
            for c in range(8):
                off = int(src.get_tag_item(f'BLOCK_OFFSET_{c}_{r}', 'TIFF', bidx=1))
                size = int(src.get_tag_item(f'BLOCK_SIZE_{c}_{r}', 'TIFF', bidx=1))
                offsets[(r, c)] = (off, size)
    with open(fpath, 'r+b') as f:
        for key, (off, size) in offsets.items():
            if key not in keep:
                f.seek(off)
                f.write(b'\xff' * size)
    node = DelayedLoad(fpath, channels='gray', dsize=(1024, 1024), num_overviews=0, dtype='uint8')
    got = node.scale(2.0)[600:840, 1060:1400].finalize()  # warp then crop: pushed down into a window read
    expected = DelayedIdentity(img).scale(2.0)[600:840, 1060:1400].finalize()
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(node[window].finalize(), img[window])
    with pytest.raises(Exception):
        node[0:10, 0:10].finalize()  # a corrupt tile is detected, so untouched tiles were not decoded


def test_concat_of_bands_at_different_resolutions(tmp_path):
    full = smooth_image(120, 180, 4, np.float32)
    rgb = full[:, :, :3]
    ir = kwimage.imresize(full[:, :, 3:4], dsize=(60, 40), interpolation='area').reshape(40, 60, 1)
    swir = kwimage.imresize(full[:, :, 3:4], dsize=(30, 20), interpolation='area').reshape(20, 30, 1)
    np.save(tmp_path / 'rgb.npy', rgb)
    np.save(tmp_path / 'ir.npy', ir)
    np.save(tmp_path / 'swir.npy', swir)
    parts = [DelayedLoad(tmp_path / 'rgb.npy', channels='r|g|b'),
             DelayedLoad(tmp_path / 'ir.npy', channels='ir').warp(3, dsize=(180, 120)),
             DelayedLoad(tmp_path / 'swir.npy', channels='swir').warp(6, dsize=(180, 120))]
    scene = DelayedChannelConcat(parts)
    window = scene[30:90, 60:150]
    a = window.finalize(optimize=False)
    b = window.finalize()
    assert a.shape == b.shape == (60, 90, 5)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_array_equal(b[:, :, :3], rgb[30:90, 60:150])
    assert window.take_channels('swir|r').finalize().shape == (60, 90, 2)

    parts_, warps = window.undo_warps(remove=['scale'], return_warps=True)
    assert [p.dsize for p in parts_] == [(90, 60), (30, 20), (15, 10)]
    np.testing.assert_array_equal(parts_[1].finalize(), ir[10:30, 20:50])
    np.testing.assert_array_equal(parts_[2].finalize(), swir[5:15, 10:25])
    for part, warp, factor in zip(parts_, warps, [1, 3, 6]):
        assert np.allclose(warp.matrix, kwimage.Affine.scale(factor).matrix)
        box = kwimage.Boxes([[0, 0, *part.dsize]], 'ltrb').warp(warp)
        assert np.allclose(box.data, [[0, 0, 90, 60]])
    parts_only = window.undo_warps()
    assert len(parts_only) == 3


def test_undo_warps_unaligned_window_is_anchored_at_the_window_origin():
    ir = smooth_image(40, 60, 1, np.float32)
    node = DelayedIdentity(ir, channels='ir').warp(3, dsize=(180, 120))[31:61, 62:100]
    (part,), (warp,) = node.undo_warps(return_warps=True)
    # ceil(38 / 3) x ceil(30 / 3) native-resolution pixels from the window's origin (ndsampler 0.8's sizes),
    # a third of a native pixel off the source's grid, so resampled there
    assert tuple(part.dsize) == (13, 10)
    np.testing.assert_allclose(warp.matrix, np.diag([3.0, 3.0, 1.0]))
    rows, cols = np.mgrid[0:10, 0:13]
    ys, xs = rows + 31 / 3, cols + 62 / 3  # continuous source indices of the part's pixel centres
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = ys - y0, xs - x0
    src = ir[..., 0]
    expect = ((1 - fy) * (1 - fx) * src[y0, x0] + (1 - fy) * fx * src[y0, x0 + 1]
              + fy * (1 - fx) * src[y0 + 1, x0] + fy * fx * src[y0 + 1, x0 + 1])
    np.testing.assert_allclose(part.finalize()[..., 0], expect, atol=1e-3)
