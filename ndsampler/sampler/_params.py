"""Sample geometry: the padded window, the output size and the affines of a resolved target."""
from __future__ import annotations

from typing import Any

import kwimage
import numpy as np

from ndsampler._typing import Target
from ndsampler.geometry import pad_slices, slices_shape, slices_to_box
from ndsampler.sampler._index import DatasetIndex

__all__ = ['sample_params']


def _output_shape(window_hw: tuple[int, int], tr: Target) -> tuple[int, int]:
    if tr['dsize'] is not None:
        return tr['dsize'][1], tr['dsize'][0]
    if tr['scale'] is not None:
        sx, sy = tr['scale']
        return int(round(window_hw[0] * sy)), int(round(window_hw[1] * sx))
    return window_hw


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
    is_video = tr.get('vidid') is not None
    space_pad = tr['pad'][-2:]
    window = pad_slices(tr['space_slice'], space_pad) if any(a or b for a, b in space_pad) else tr['space_slice']
    window_hw = slices_shape(window)
    out_hw = _output_shape(window_hw, tr)
    fallback = tr['scale'] or (1.0, 1.0)
    sx = out_hw[1] / window_hw[1] if window_hw[1] else fallback[0]
    sy = out_hw[0] / window_hw[0] if window_hw[0] else fallback[1]
    y0, x0 = window[0].start, window[1].start
    # the products translate @ scale and scale @ translate, written out (same floats, no matmuls)
    tf_rel_to_abs = kwimage.Affine(np.array([[1.0 / sx, 0.0, x0], [0.0, 1.0 / sy, y0], [0.0, 0.0, 1.0]]))
    tf_abs_to_rel = kwimage.Affine(np.array([[sx, 0.0, -x0 * sx], [0.0, sy, -y0 * sy], [0.0, 0.0, 1.0]]))
    frame_warps = []
    for gid in tr['frame_gids']:
        if gid is None:
            frame_warps.append(None)
        elif is_video:
            frame_warps.append(tf_abs_to_rel @ index.warp_img_to_vid(gid))
        else:
            frame_warps.append(tf_abs_to_rel)
    st_dims = [(sl.start, sl.stop) for sl in window]
    time_pad = tr['pad'][0] if is_video else (0, 0)
    if is_video:
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
