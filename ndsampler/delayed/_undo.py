"""Native-resolution sampling: undo part of each band's warp into an aligned window (SPEC §4)."""
from __future__ import annotations

import math
from typing import Sequence

import kwimage

from ndsampler.delayed._nodes import DelayedChannelConcat, DelayedCrop, DelayedImage, DelayedNans, DelayedWarp
from ndsampler.errors import InvalidOptionError

__all__ = ['undo_warps']

_PARAMS = ('offset', 'scale', 'shearx', 'theta')


def undo_warps(node: DelayedImage, remove: Sequence[str] | None = ('scale',), retain: Sequence[str] | None = None,
               squash_nans: bool = False, return_warps: bool = False):
    """See :meth:`DelayedImage.undo_warps`."""
    if retain is not None:
        bad = set(retain) - set(_PARAMS)
        remove_set = set(_PARAMS) - set(retain)
    else:
        remove_set = set(remove or ())
        bad = remove_set - set(_PARAMS)
    if bad:
        raise InvalidOptionError('remove/retain', sorted(bad), _PARAMS)
    optimized = node.optimize()
    w, h = optimized.dsize
    # a window past the border optimizes to a padding crop over the parts: fold its shift into each part
    shift = _padding_shift(optimized)
    if shift is not None:
        optimized = optimized.child
    parts = optimized.parts if type(optimized) is DelayedChannelConcat else [optimized]
    out_parts, warps = [], []
    for part in parts:
        if type(part) is DelayedNans:
            if squash_nans:
                out_parts.append(DelayedNans((1, 1), part.channels))
                warps.append(kwimage.Affine.scale((w, h)))
            else:
                out_parts.append(part if shift is None else DelayedNans((w, h), part.channels))
                warps.append(kwimage.Affine.eye())
            continue
        if type(part) is DelayedWarp:
            source, full, params = part.child, part.transform, part.params
        elif shift is None:
            out_parts.append(part)
            warps.append(kwimage.Affine.eye())
            continue
        else:
            source, full, params = part, kwimage.Affine.eye(), {}
        if shift is not None:
            full = shift @ full
        # ndsampler 0.8's rule: the part is the window warped by the removed components of the
        # window-to-source warp, anchored at the window's origin, ceil(w * sx) x ceil(h * sy) pixels
        # (so a part's size does not depend on where the window lies on the source's pixel grid;
        # no tolerance in the ceil, as 0.8: a scale of 0.5000000000000001 gives 65 pixels for 128)
        inverse = full.inv().decompose()
        undo = kwimage.Affine.affine(**{k: inverse[k] for k in _PARAMS if k in remove_set})
        far = undo.matrix[:2] @ [[0, w, 0, w], [0, 0, h, h], [1, 1, 1, 1]]
        dsize = (max(math.ceil(far[0].max()), 1), max(math.ceil(far[1].max()), 1))
        # native pixels outside the source are padded by the warp (0, NaN for float) at the part's resolution
        native = source.warp(undo @ full, dsize=dsize, **params).optimize()
        out_parts.append(native)
        warps.append(undo.inv())
    if return_warps:
        return out_parts, warps
    return out_parts


def _padding_shift(node: DelayedImage) -> kwimage.Affine | None:
    """The shift of a crop that pads its child (all bands), or None for any other node."""
    if type(node) is not DelayedCrop or node.chan_idxs is not None:
        return None
    sl_y, sl_x = node.slices
    w, h = node.child.dsize
    if 0 <= sl_y.start and sl_y.stop <= h and 0 <= sl_x.start and sl_x.stop <= w:
        return None
    return kwimage.Affine.translate((-sl_x.start, -sl_y.start))
