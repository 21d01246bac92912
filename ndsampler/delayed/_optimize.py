"""The optimizer: rewrites a tree into an equivalent, cheaper one (SPEC §4).

Every maximal chain of crops and warps is folded into one affine from its
base node's pixels to the output pixels. The unoptimized tree defines the
pixels: each step's extent is a hard boundary (what lies outside a crop does
not exist for the steps above it) and a pad is data (the fill value) that a
later warp interpolates. Then:

* a chain of crops, pads and integer-translation warps with the default border
  becomes one windowed read of the base's pixels inside every step's extent
  (pushed through dequantize / concat into the load), padded to the window;
* otherwise the whole-pixel steps below the first resampling warp give the
  warp's input window (padded where it leaves the base), those above the last
  one give the part of the output it fills (the rest is padding), and the
  output is mapped back into the base, grown by the interpolation kernel's
  support (plus the antialiasing blur), clipped to the input window and to the
  extents between the resampling warps, and read as a window; one warp does the
  rest (exact for one resampling warp; several fold into one, approximately);
* a downscale over a load with overviews reads the coarsest level that keeps
  the resolution of the chain's narrowest point and warps the rest (not for
  'nearest', which must pick original pixels, never averaged ones);
* dequantize nodes keep their place relative to warps (so borders and
  rounding stay the same) and sink below crops.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import kwimage
import numpy as np

from ndsampler.delayed._channels import band_runs
from ndsampler.delayed._kernels import axis_scales, kernel_support
from ndsampler.delayed._nodes import (DelayedChannelConcat, DelayedCrop, DelayedDequantize, DelayedImage, DelayedLoad,
                                      DelayedNans, DelayedOverview, DelayedWarp)
from ndsampler.geometry import box_to_slices, is_identity, is_integer_translation, warp_box

__all__ = ['optimize']

_EPS = 1e-6


def optimize(node: DelayedImage) -> DelayedImage:
    """An equivalent, cheaper tree."""
    kind = type(node)
    if kind is DelayedCrop:
        child = node.child
        if type(child) is DelayedLoad:
            # A window (maybe a band subset, maybe leaving the file) of a file: nothing to rewrite, its
            # finalize is the one window read (clip, one reader call, one pad; see window_pixels).
            return node
        return _optimize_chain(node)
    if kind is DelayedWarp:
        if node.valid_box is None:
            return _optimize_chain(node)
        child = optimize(node.child)
        return node if child is node.child else DelayedWarp(child, node.transform, node.dsize,
                                                             valid_box=node.valid_box, **node.params)
    if kind is DelayedDequantize:
        return DelayedDequantize(optimize(node.child), node.quantization)
    if kind is DelayedOverview:
        return _optimize_overview(node)
    if kind is DelayedChannelConcat:
        parts = []
        for part in node.parts:
            part = optimize(part)
            parts.extend(part.parts if type(part) is DelayedChannelConcat else [part])
        return DelayedChannelConcat(parts, node.dsize)
    return node


def _optimize_overview(node: DelayedOverview) -> DelayedImage:
    child = optimize(node.child)
    level = node.overview
    if type(child) is DelayedOverview:
        level += child.overview
        child = child.child
    return child if level == 0 else DelayedOverview(child, level)


def _compose_bands(outer, inner):
    if inner is None:
        return outer
    if outer is None:
        return list(inner)
    return [outer[i] for i in inner]


def _in_chain(node: DelayedImage) -> bool:
    """Whether a chain of crops and warps continues through ``node``.

    A warp with a ``valid_box`` was written by the optimizer over a padded window:
    folding it again would lose which part of its input is image, so a chain ends there.
    """
    kind = type(node)
    return kind is DelayedCrop or (kind is DelayedWarp and node.valid_box is None)


class _Step(NamedTuple):
    """One crop or warp of a chain."""

    matrix: np.ndarray    #: affine from the step's input pixels to its output pixels
    dsize: tuple          #: output (w, h)
    pure: bool            #: a whole-pixel shift with the default border (a crop, a pad, an integer translation)
    whole: bool           #: a whole-pixel shift (any border)
    params: dict | None   #: warp settings (None for a crop)


class _Chain:
    """A chain of crops and warps over one base node, as steps from the base up.

    Each step is a :class:`_Step`.
    """

    def __init__(self, top: DelayedImage):
        ops = []
        node = top
        while _in_chain(node):
            ops.append(node)
            node = node.child
        self.base = node
        self.bands = None
        self.steps = []
        for op in reversed(ops):
            if type(op) is DelayedCrop:
                sl_y, sl_x = op.slices
                shift = np.array([[1, 0, -sl_x.start], [0, 1, -sl_y.start], [0, 0, 1]], dtype=float)
                self.bands = _compose_bands(self.bands, op.chan_idxs)
                self.steps.append(_Step(shift, op.dsize, True, True, None))
            else:
                matrix = np.asarray(op.transform.matrix, dtype=float)
                whole = is_integer_translation(matrix)
                self.steps.append(_Step(matrix, op.dsize, whole and op.border_value == 'auto', whole, op.params))

    def over(self, part: DelayedImage, part_bands) -> '_Chain':
        """This chain continued below into ``part`` of its concat base (bands ``part_bands`` of it).

        A part that is itself a chain of crops and warps is folded in, so the concat's
        warped parts are resampled once.
        """
        inner = _Chain(part)
        sub = _Chain.__new__(_Chain)
        sub.base = inner.base
        sub.bands = _compose_bands(inner.bands, part_bands)
        sub.steps = inner.steps + self.steps
        return sub

    def matrices(self) -> list[np.ndarray]:
        """Per step, the affine from the base's pixels to that step's output pixels."""
        out = []
        matrix = np.eye(3)
        for step in self.steps:
            matrix = step.matrix @ matrix
            out.append(matrix)
        return out


def _optimize_chain(top: DelayedImage) -> DelayedImage:
    chain = _Chain(top)
    w, h = top.dsize
    if w == 0 or h == 0:
        return _crop_into(chain.base, (slice(0, h), slice(0, w)), chain.bands)
    if all(step.pure for step in chain.steps):
        return _shift_into(chain)
    return _warp_into(chain)


def _intersect(a, b):
    return max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])


def _is_empty(box) -> bool:
    return box[2] <= box[0] or box[3] <= box[1]


def _base_extent(matrix: np.ndarray, dsize) -> tuple[int, int, int, int]:
    """A step's output extent ``[0, w] x [0, h]`` in base pixels (``matrix``: its whole-pixel shift from the base)."""
    tx, ty = -int(round(matrix[0, 2])), -int(round(matrix[1, 2]))
    return tx, ty, tx + dsize[0], ty + dsize[1]


def _shift_into(chain: _Chain) -> DelayedImage:
    """A chain of whole-pixel shifts: one window of the base, where every step's extent is a hard boundary.

    Pixels of the window outside the base or outside any intermediate extent
    become the fill value (as the unoptimized steps would pad or border them).
    """
    base = chain.base
    data = (0, 0) + tuple(base.dsize)
    window = data
    for matrix, step in zip(chain.matrices(), chain.steps):
        window = _base_extent(matrix, step.dsize)
        data = _intersect(data, window)
    return _padded_read(base, window, data, chain.bands)


def _padded_read(base: DelayedImage, window, data, bands, quantizations=()) -> DelayedImage:
    """The integer ``window`` (ltrb) of ``base``: its ``data`` part read (and dequantized), the rest padded.

    ``data`` lies inside ``base``; an empty ``data`` reads nothing but a 0 x 0 window.
    """
    if _is_empty(data):
        data = (0, 0, 0, 0)
    node = _crop_into(base, (slice(data[1], data[3]), slice(data[0], data[2])), bands)
    for quantization in reversed(quantizations):
        node = DelayedDequantize(node, quantization)
    if tuple(data) == tuple(window):
        return node
    x0, y0, x1, y1 = window
    return DelayedCrop(node, (slice(y0 - data[1], y1 - data[1]), slice(x0 - data[0], x1 - data[0])))


def _slices_box(slices) -> tuple[int, int, int, int]:
    """The ``(slice_y, slice_x)`` window as an ``ltrb`` tuple."""
    sl_y, sl_x = slices
    return sl_x.start, sl_y.start, sl_x.stop, sl_y.stop


def _crop_into(base: DelayedImage, slices, bands) -> DelayedImage:
    """Push a crop (maybe out of bounds) of ``base`` down to the leaves."""
    w, h = base.dsize
    sl_y, sl_x = slices
    window = _slices_box(slices)
    data = _intersect(window, (0, 0, w, h))
    if tuple(data) != window:
        return _padded_read(base, window, data, bands)
    kind = type(base)
    if kind is DelayedDequantize:
        return DelayedDequantize(_crop_into(base.child, slices, bands), base.quantization)
    if kind is DelayedChannelConcat:
        return _split_concat(base, bands, lambda part, part_bands: _crop_into(part, slices, part_bands))
    if kind is DelayedNans:
        chans = base.channels if bands is None else base.channels[bands]
        return DelayedNans((sl_x.stop - sl_x.start, sl_y.stop - sl_y.start), chans)
    if _in_chain(base):
        return _optimize_chain(DelayedCrop(base, slices, bands))
    if kind is DelayedOverview:
        base = _optimize_overview(base)
    if slices == (slice(0, h), slice(0, w)) and bands is None:
        return base
    return DelayedCrop(base, slices, bands)


def _split_concat(concat: DelayedChannelConcat, bands, fn) -> DelayedImage:
    """Apply ``fn(part, part_bands)`` to the parts that hold ``bands`` (in order) and concat the results."""
    if bands is None:
        runs = [(i, None) for i in range(len(concat.parts))]
    else:
        runs = band_runs([p.num_channels for p in concat.parts], bands)
    parts = []
    for key, part_bands in runs:
        part = concat.parts[key]
        if part_bands == list(range(part.num_channels)):
            part_bands = None
        parts.append(fn(part, part_bands))
    flat = [q for p in parts for q in (p.parts if type(p) is DelayedChannelConcat else [p])]
    return flat[0] if len(flat) == 1 else DelayedChannelConcat(flat)


def _warp_into(chain: _Chain) -> DelayedImage:
    """A chain that resamples: a padded window of the base, one warp, and the padding of the steps above it.

    With ``first`` and ``last`` the lowest and highest steps that resample, the
    whole-pixel steps below ``first`` make the warp's input (a window of the
    base, padded where it leaves the base: the warp interpolates that padding as
    the unoptimized one does, and replicates at the window's edge); the steps
    from ``first`` to ``last`` fold into the one warp (their extents bound what
    it reads and what it maps as valid); the whole-pixel steps above ``last``
    are hard boundaries in output pixels: the warp fills just the part of the
    output inside all of them and the rest is padding.
    """
    base = chain.base
    if type(base) is DelayedChannelConcat:
        return _split_concat(base, chain.bands, lambda part, part_bands: _warp_into(chain.over(part, part_bands)))
    w, h = chain.steps[-1].dsize
    if type(base) is DelayedNans:
        chans = base.channels if chain.bands is None else base.channels[chain.bands]
        return DelayedNans((w, h), chans)
    if type(base) in (DelayedOverview, DelayedDequantize):
        base = optimize(base)

    quantizations = []
    inner = base
    while type(inner) is DelayedDequantize:
        quantizations.append(inner.quantization)
        inner = inner.child
    steps = chain.steps
    matrices = chain.matrices()
    impure = [i for i, step in enumerate(steps) if not step.pure]
    first, last = impure[0], impure[-1]
    params = dict(steps[last].params)
    # several warps fold into one: it interpolates as the last one that resamples
    resampling = [steps[i].params for i in impure if not steps[i].whole]
    if resampling:
        params.update(interpolation=resampling[-1]['interpolation'], antialias=resampling[-1]['antialias'])
    matrix = matrices[-1]

    # below: the warp's input window (integer, base pixels) and its part that holds base pixels
    bw, bh = inner.dsize
    data = window_in = (0, 0, bw, bh)
    for i in range(first):
        window_in = _base_extent(matrices[i], steps[i].dsize)
        data = _intersect(data, window_in)
    # between: extents the warp passes through, as boxes in base pixels
    limit = window_in
    for i in range(first, last):
        limit = _intersect(limit, _source_extent(matrices[i], *steps[i].dsize))
    # above: the part of the output inside every extent from the last resampling step up
    out = (0, 0, w, h)
    tx = ty = 0  # the whole-pixel shift from step i's output to the chain's output
    for i in range(len(steps) - 1, last - 1, -1):
        (sw, sh), step_matrix = steps[i].dsize, steps[i].matrix
        out = _intersect(out, (tx, ty, tx + sw, ty + sh))
        tx, ty = tx + int(round(step_matrix[0, 2])), ty + int(round(step_matrix[1, 2]))
    if _is_empty(out):
        return _padded_read(base, (0, 0, w, h), (0, 0, 0, 0), chain.bands)
    to_out = np.array([[1, 0, -out[0]], [0, 1, -out[1]], [0, 0, 1]], dtype=float) @ matrix
    out_w, out_h = out[2] - out[0], out[3] - out[1]

    # overviews hold averaged pixels: 'nearest' must sample the full-resolution ones
    if params['interpolation'] != 'nearest':
        bottleneck = min([1.0] + [max(axis_scales(m)) for m in matrices])
        inner, to_inner = _pick_overview(inner, bottleneck)
        if to_inner is not None:
            to_out = to_out @ to_inner
            # the overview's pixels are the base's scaled down by to_inner's diagonal
            fx, fy = to_inner[0, 0], to_inner[1, 1]
            limit = (limit[0] / fx, limit[1] / fy, limit[2] / fx, limit[3] / fy)
            if not _is_empty(data):
                data = (data[0] / fx, data[1] / fy, data[2] / fx, data[3] / fy)
                data = _intersect(_slices_box(box_to_slices(data)), (0, 0) + tuple(inner.dsize))

    sx, sy = axis_scales(to_out)
    support_x, support_y = kernel_support(params['interpolation'], params['antialias'], sx, sy)
    bx0, by0, bx1, by1 = _source_extent(to_out, out_w, out_h)
    lo_x, lo_y = max(limit[0], bx0 - support_x), max(limit[1], by0 - support_y)
    hi_x, hi_y = max(min(limit[2], bx1 + support_x), lo_x), max(min(limit[3], by1 + support_y), lo_y)
    window = _slices_box(box_to_slices([lo_x, lo_y, hi_x, hi_y]))
    src = _padded_read(inner, window, _intersect(window, data), chain.bands, quantizations)
    ox, oy = window[0], window[1]
    valid_box = (limit[0] - ox, limit[1] - oy, limit[2] - ox, limit[3] - oy)
    final = to_out @ np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]], dtype=float)
    if (tuple(src.dsize) == (out_w, out_h) and is_identity(final, atol=_EPS)
            and valid_box[0] <= 0 and valid_box[1] <= 0 and valid_box[2] >= out_w and valid_box[3] >= out_h):
        node = src
    else:
        node = DelayedWarp(src, kwimage.Affine(final), dsize=(out_w, out_h), valid_box=valid_box, **params)
    if out == (0, 0, w, h):
        return node
    return DelayedCrop(node, (slice(-out[1], h - out[1]), slice(-out[0], w - out[0])))


def _source_extent(matrix: np.ndarray, w: float, h: float) -> tuple[float, float, float, float]:
    """``ltrb`` extent, in source pixels, of the output rectangle ``[0, w] x [0, h]`` mapped back by ``matrix``.

    Axis-aligned matrices (the common scale + shift) are inverted with scalar arithmetic.
    """
    (a, b, c), (d, e, f) = matrix[:2].tolist()
    if b == 0 and d == 0 and a != 0 and e != 0:
        xa, xb = -c / a, (w - c) / a
        ya, yb = -f / e, (h - f) / e
        return min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)
    x0, y0, x1, y1 = warp_box([0, 0, w, h], np.linalg.inv(matrix)).data[0].tolist()
    return x0, y0, x1, y1


def _pick_overview(node: DelayedImage, bottleneck: float):
    """Replace a load (or overview of a load) by the coarsest overview keeping ``bottleneck`` resolution."""
    level = 0
    load = node
    if type(node) is DelayedOverview and node.reads_file:
        level, load = node.overview, node.child
    if type(load) is not DelayedLoad or bottleneck >= 1:
        return node, None
    extra = int(math.floor(math.log2(1.0 / bottleneck) + _EPS))
    target = min(load.num_overviews, level + extra)
    if target <= level:
        return node, None
    new = DelayedOverview(load, target)
    to_load = np.asarray(new.to_base().matrix, dtype=float)
    if level:
        to_load = np.linalg.inv(np.asarray(node.to_base().matrix, dtype=float)) @ to_load
    return new, to_load
