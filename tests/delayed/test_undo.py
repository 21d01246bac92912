"""undo_warps over windows past the border, and warps of a concat folded into its warped parts."""
import kwimage
import numpy as np

from ndsampler.delayed import DelayedChannelConcat, DelayedCrop, DelayedIdentity, DelayedWarp
from tests.delayed.conftest import smooth_image

RGB = smooth_image(30, 45, 3, np.uint16)
IR = smooth_image(10, 15, 1, np.uint16, seed=1)  # 1/3 resolution


def _scene():
    ir = DelayedIdentity(IR, channels='ir').warp(3, dsize=(45, 30))
    return DelayedChannelConcat([DelayedIdentity(RGB, channels='r|g|b'), ir])


def test_undo_warps_of_a_window_past_the_border_pads_each_part_natively():
    window = _scene().crop((slice(21, 39), slice(-6, 18)), clip=False, wrap=False)
    parts, warps = window.undo_warps(return_warps=True)
    assert len(parts) == 2
    rgb, ir = (part.finalize() for part in parts)
    np.testing.assert_array_equal(rgb, np.pad(RGB[21:30, 0:18], [(0, 9), (6, 0), (0, 0)]))
    # ir rows 7..13, columns -2..6 at its own resolution (no resampling), padded with 0
    np.testing.assert_array_equal(ir, np.pad(IR[7:10, 0:6], [(0, 3), (2, 0), (0, 0)]))
    assert np.allclose(warps[0].matrix, np.eye(3))
    assert np.allclose(warps[1].matrix, kwimage.Affine.scale(3).matrix)
    corners = kwimage.Boxes([[0, 0, *parts[1].dsize]], 'ltrb').warp(warps[1]).data[0]
    assert np.allclose(corners, [0, 0, 24, 18])


def test_warp_of_a_concat_resamples_warped_parts_once():
    node = _scene()[3:27, 6:42].scale(1 / 3, interpolation='linear')
    opt = node.optimize()
    rgb, ir = opt.parts
    # the ir part's x3 upscale and the /3 downscale cancel: a plain window of the ir pixels
    assert type(ir) is DelayedCrop and type(ir.child) is DelayedIdentity
    np.testing.assert_array_equal(ir.finalize(), IR[1:9, 2:14])
    assert type(rgb) is DelayedWarp
    ref = node.finalize(optimize=False)
    got = node.finalize()
    assert got.shape == ref.shape == (8, 12, 4)
    assert np.abs(got[..., :3].astype(float) - ref[..., :3]).max() <= 1
