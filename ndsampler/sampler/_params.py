"""Sample geometry: the padded window, the output size and the affines of a resolved target."""
from __future__ import annotations

from typing import Any

import kwimage
import numpy as np

from ndsampler._typing import Target
from ndsampler.geometry import pad_slices, slices_to_box
from ndsampler.sampler._index import DatasetIndex
from ndsampler.sampler._target import is_space_time
from ndsampler.sampler._validate import output_shape

__all__ = ['sample_params']

_NO_PAD = ((0, 0), (0, 0))
_EYE = np.eye(3)


def _scale_shift(sx: float, sy: float, tx: float, ty: float) -> kwimage.Affine:
    """The affine ``[[sx, 0, tx], [0, sy, ty], [0, 0, 1]]`` (set into a copy of the identity: cheapest)."""
    matrix = _EYE.copy()
    matrix[0, 0], matrix[0, 2], matrix[1, 1], matrix[1, 2] = sx, tx, sy, ty
    return kwimage.Affine(matrix)


def sample_params(tr: Target, index: DatasetIndex) -> dict[str, Any]:
    """What maps sample coordinates back to image / video coordinates.

    Parameters
    ----------
    tr : dict
        A target from :func:`resolve_target`.
    index : DatasetIndex
        Lookups into the dataset (image-to-video warps).

    Returns
    -------
    dict
        ``space`` ('image' or 'video'); ``window`` (the padded ``(slice_y, slice_x)``
        sampled in that space); ``out_hw`` (the output ``(H, W)``); ``sample_scale``
        ``(sx, sy)`` output pixels per window pixel; ``tf_rel_to_abs``
        (``kwimage.Affine`` from sample to image / video coordinates); ``offset``
        (``[-x0, -y0]``, ndsampler 0.8); ``sample_tlbr`` (the window as a box);
        ``st_dims``; ``data_dims``; ``pad``; ``time_pad`` ``(before, after)``;
        ``frame_warps`` (per frame, ``kwimage.Affine`` from that image's pixels to
        sample pixels; None for padded frames).
    """
    is_video = is_space_time(tr)
    space_pad = tr['pad'][-2:]
    window = tr['space_slice'] if space_pad == _NO_PAD else pad_slices(tr['space_slice'], space_pad)
    (y0, y1), (x0, x1) = st_dims = [(sl.start, sl.stop) for sl in window]
    window_hw = (y1 - y0, x1 - x0)
    out_hw = output_shape(window_hw, tr['scale'], tr['dsize'])
    if tr['scale'] is None and tr['dsize'] is None:
        sx = sy = 1.0
    else:
        fallback = tr['scale'] or (1.0, 1.0)
        sx = out_hw[1] / window_hw[1] if window_hw[1] else fallback[0]
        sy = out_hw[0] / window_hw[0] if window_hw[0] else fallback[1]
    # the products translate @ scale and scale @ translate, written out (same floats, no matmuls)
    tf_rel_to_abs = _scale_shift(1.0 / sx, 1.0 / sy, x0, y0)
    tf_abs_to_rel = _scale_shift(sx, sy, -x0 * sx, -y0 * sy)
    time_pad = (0, 0)
    if not is_video:
        frame_warps = [tf_abs_to_rel]
    else:
        frame_warps = [None if gid is None else tf_abs_to_rel @ index.warp_img_to_vid(gid) for gid in tr['frame_gids']]
        time_pad = tr['pad'][0]
        ts = tr['time_slice']
        st_dims = [(ts.start - time_pad[0], ts.stop + time_pad[1])] + st_dims
    return {
        'space': 'video' if is_video else 'image',
        'window': window,
        'out_hw': out_hw,
        'sample_scale': (sx, sy),
        'tf_rel_to_abs': tf_rel_to_abs,
        'tf_abs_to_rel': tf_abs_to_rel,
        'offset': np.array([-x0, -y0]),
        'sample_tlbr': slices_to_box(window),
        'st_dims': st_dims,
        'data_dims': tr['data_dims'],
        'pad': tr['pad'],
        'time_pad': time_pad,
        'frame_warps': frame_warps,
    }
