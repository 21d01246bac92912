"""A vectorised spatial index of annotation boxes: per image, a uniform grid of buckets.

Each image gets a grid whose cell side follows the density and the median size of its
boxes. Every box is registered in the cells it covers (one CSR table over all images,
built with a handful of numpy sorts, no Python loop per annotation); boxes that would
span more than :data:`LARGE_SPAN` cells go to a short per-image list that every query
scans instead. A query gathers the rows of the cells under the window (one contiguous run
of the CSR table per cell row) and filters them exactly.

Overlap rule (the one definition used everywhere in ``ndsampler.regions``): the *visible
fraction* of an annotation box in a window is ``area(box ∩ window) / area(box)``. A
degenerate box (zero width or height) has fraction 1 when its centre lies in the
half-open window ``[x0, x1) × [y0, y1)`` and 0 otherwise.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ndsampler.regions._spill import shared_state

__all__ = ['BoxIndex', 'visible_fraction', 'union_coverage', 'expand_counts', 'LARGE_SPAN']

#: A box covering more cells than this is kept in its image's "large" list.
LARGE_SPAN = 64
#: Bounds on the cell side in pixels.
_MIN_CELL = 8.0


def visible_fraction(ltrb: np.ndarray, window: Sequence[float] | np.ndarray) -> np.ndarray:
    """Visible fraction of each ``ltrb`` box inside an ``ltrb`` window (see module doc).

    ``window`` is one window for all boxes, or one window per box (shape ``(N, 4)``).

    Example
    -------
    >>> boxes = np.array([[0, 0, 10, 10], [5, 5, 5, 5], [20, 0, 30, 10.]])
    >>> visible_fraction(boxes, [5, 0, 15, 10]).tolist()
    [0.5, 1.0, 0.0]
    """
    ltrb = np.asarray(ltrb, dtype=float).reshape(-1, 4)
    win = np.asarray(window, dtype=float)
    x0, y0, x1, y1 = win[..., 0], win[..., 1], win[..., 2], win[..., 3]
    bw = ltrb[:, 2] - ltrb[:, 0]
    bh = ltrb[:, 3] - ltrb[:, 1]
    iw = np.minimum(ltrb[:, 2], x1) - np.maximum(ltrb[:, 0], x0)
    ih = np.minimum(ltrb[:, 3], y1) - np.maximum(ltrb[:, 1], y0)
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area = bw * bh
    degenerate = area <= 0
    with np.errstate(divide='ignore', invalid='ignore'):
        frac = np.where(degenerate, 0.0, inter / np.where(degenerate, 1.0, area))
    if degenerate.any():
        cx = (ltrb[:, 0] + ltrb[:, 2]) / 2
        cy = (ltrb[:, 1] + ltrb[:, 3]) / 2
        inside = (cx >= x0) & (cx < x1) & (cy >= y0) & (cy < y1)
        frac = np.where(degenerate, inside.astype(float), frac)
    return frac


def union_coverage(ltrb: np.ndarray, window: Sequence[float]) -> float:
    """Exact fraction of the window's area covered by the union of the boxes.

    Coordinate compression: the box edges inside the window cut it into a small grid of
    rectangles; each is covered or not. Cost is O(k^2) cells for k boxes.

    Example
    -------
    >>> union_coverage(np.array([[0, 0, 6, 10], [4, 0, 8, 10.]]), [0, 0, 10, 10])
    0.8
    """
    x0, y0, x1, y1 = (float(v) for v in window)
    area = (x1 - x0) * (y1 - y0)
    ltrb = np.asarray(ltrb, dtype=float).reshape(-1, 4)
    if area <= 0 or len(ltrb) == 0:
        return 0.0
    clipped = np.stack([np.clip(ltrb[:, 0], x0, x1), np.clip(ltrb[:, 1], y0, y1),
                        np.clip(ltrb[:, 2], x0, x1), np.clip(ltrb[:, 3], y0, y1)], axis=1)
    clipped = clipped[(clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1])]
    if len(clipped) == 0:
        return 0.0
    xs = np.unique(clipped[:, [0, 2]])
    ys = np.unique(clipped[:, [1, 3]])
    covered = np.zeros((len(ys) - 1, len(xs) - 1), dtype=bool)
    ix0, ix1 = np.searchsorted(xs, clipped[:, 0]), np.searchsorted(xs, clipped[:, 2])
    iy0, iy1 = np.searchsorted(ys, clipped[:, 1]), np.searchsorted(ys, clipped[:, 3])
    for a, b, c, d in zip(iy0, iy1, ix0, ix1):
        covered[a:b, c:d] = True
    cell_area = np.outer(np.diff(ys), np.diff(xs))
    return float(cell_area[covered].sum() / area)


def expand_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(owner, within)``: item ``i`` repeated ``counts[i]`` times, and ``0 .. counts[i]-1`` for each.

    Example
    -------
    >>> [a.tolist() for a in expand_counts(np.array([2, 0, 3]))]
    [[0, 0, 2, 2, 2], [0, 1, 0, 1, 2]]
    """
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, within


def _cell_span(lo: np.ndarray, hi: np.ndarray, cell: np.ndarray, ncell: np.ndarray):
    """Inclusive cell range covered by ``[lo, hi)`` (``lo`` alone when degenerate), clipped."""
    first = np.floor(lo / cell)
    last = np.maximum(first, np.ceil(hi / cell) - 1)
    top = ncell - 1
    return np.clip(first, 0, top).astype(np.int64), np.clip(last, 0, top).astype(np.int64)


class BoxIndex:
    """Boxes grouped by image, queryable by window in O(boxes near the window).

    Parameters
    ----------
    image_ids : array of int, shape (M,)
        The images (unique); images without boxes are allowed.
    image_dsize : array, shape (M, 2)
        ``(w, h)`` of each image (sets the grid extent; boxes outside it are still found).
    box_gids : array of int, shape (N,)
        The image of each box.
    ltrb : array of float, shape (N, 4)
        Boxes as ``x0, y0, x1, y1`` in image pixel-corner coordinates.

    Example
    -------
    >>> index = BoxIndex([1, 2], [(100, 100), (50, 50)], [1, 1, 2],
    ...                  [[0, 0, 10, 10], [50, 50, 60, 60], [0, 0, 50, 50]])
    >>> index.query(1, [5, 5, 55, 55])[0].tolist()
    [0, 1]
    >>> index.query(1, [5, 5, 55, 55], thresh=0.3)[0].tolist()
    []
    """

    def __init__(self, image_ids, image_dsize, box_gids, ltrb):
        self.image_ids = np.asarray(image_ids, dtype=np.int64).reshape(-1)
        order = np.argsort(self.image_ids, kind='stable')
        self._sorted_gids = self.image_ids[order]
        self._sorted_slot = order
        if len(self._sorted_gids) > 1 and (np.diff(self._sorted_gids) == 0).any():
            raise ValueError('image ids must be unique')
        dsize = np.asarray(image_dsize, dtype=float).reshape(-1, 2)
        self.ltrb = np.ascontiguousarray(np.asarray(ltrb, dtype=float).reshape(-1, 4))
        self._slot_of = {gid: slot for slot, gid in enumerate(self.image_ids.tolist())}
        box_slot = self.slots_of(np.asarray(box_gids, dtype=np.int64).reshape(-1))
        n_img = len(self.image_ids)
        self._build(n_img, dsize, box_slot)

    # -- construction -------------------------------------------------------------------
    def _build(self, n_img: int, dsize: np.ndarray, box_slot: np.ndarray) -> None:
        ltrb = self.ltrb
        counts = np.bincount(box_slot, minlength=n_img)
        side = np.maximum(ltrb[:, 2] - ltrb[:, 0], ltrb[:, 3] - ltrb[:, 1])
        # median box side per image: sort by (image, side), take each group's middle
        order = np.lexsort((side, box_slot))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        median = np.zeros(n_img)
        has = counts > 0
        median[has] = side[order[starts[has] + counts[has] // 2]]
        extent = np.maximum(dsize.max(axis=1), 1.0)
        density_side = 2.0 * np.sqrt(dsize.prod(axis=1) / np.maximum(counts, 1))
        cell = np.clip(np.maximum(density_side, median), _MIN_CELL, None)
        cell = np.minimum(cell, np.maximum(extent, _MIN_CELL))
        ncx = np.maximum(np.ceil(np.maximum(dsize[:, 0], 1) / cell), 1).astype(np.int64)
        ncy = np.maximum(np.ceil(np.maximum(dsize[:, 1], 1) / cell), 1).astype(np.int64)
        ncx[~has] = 1
        ncy[~has] = 1
        self.cell = cell
        self.ncx = ncx
        self.ncy = ncy
        self.cell_base = np.concatenate([[0], np.cumsum(ncx * ncy)]).astype(np.int64)

        bcell, bncx, bncy = cell[box_slot], ncx[box_slot], ncy[box_slot]
        x0, x1 = _cell_span(ltrb[:, 0], ltrb[:, 2], bcell, bncx)
        y0, y1 = _cell_span(ltrb[:, 1], ltrb[:, 3], bcell, bncy)
        nx = x1 - x0 + 1
        ny = y1 - y0 + 1
        span = nx * ny
        large = span > LARGE_SPAN
        small = np.flatnonzero(~large)
        # expand each small box into its (box, cell) pairs
        owner, within = expand_counts(span[small])
        pair_box = small[owner]
        pnx = nx[pair_box]
        pair_cell = (self.cell_base[box_slot[pair_box]]
                     + (y0[pair_box] + within // pnx) * bncx[pair_box]
                     + x0[pair_box] + within % pnx)
        n_cells = int(self.cell_base[-1])
        order = np.argsort(pair_cell, kind='stable')
        self.cell_items = pair_box[order].astype(np.int64)
        self.cell_start = np.concatenate([[0], np.cumsum(np.bincount(pair_cell, minlength=n_cells))]).astype(np.int64)

        large_idx = np.flatnonzero(large)
        large_order = large_idx[np.argsort(box_slot[large_idx], kind='stable')]
        self.large_items = large_order.astype(np.int64)
        self.large_start = np.concatenate([[0], np.cumsum(np.bincount(box_slot[large_idx], minlength=n_img))]).astype(np.int64)

    # -- lookups ------------------------------------------------------------------------
    def slots_of(self, gids: np.ndarray) -> np.ndarray:
        """Row of each image id in ``image_ids`` (KeyError for unknown ids)."""
        gids = np.asarray(gids, dtype=np.int64)
        if gids.size == 0:
            return np.zeros(gids.shape, dtype=np.int64)
        pos = np.searchsorted(self._sorted_gids, gids)
        pos = np.minimum(pos, max(len(self._sorted_gids) - 1, 0))
        if len(self._sorted_gids) == 0 or (self._sorted_gids[pos] != gids).any():
            bad = sorted(set(gids.tolist()) - set(self._sorted_gids.tolist()))
            raise KeyError(bad[0] if bad else gids)
        return self._sorted_slot[pos]

    def slot(self, gid: int) -> int:
        """Row of one image id (KeyError for unknown ids)."""
        return self._slot_of[gid]

    def _cell_runs(self, slot: int, window: Sequence[float]) -> list[np.ndarray]:
        """The CSR runs of box rows in the cells under the window, plus the image's large boxes (rows may repeat)."""
        x0, y0, x1, y1 = (float(v) for v in window)
        cell = float(self.cell[slot])
        ncx = int(self.ncx[slot])
        top_x, top_y = ncx - 1, int(self.ncy[slot]) - 1
        cx0 = min(max(math.floor(x0 / cell), 0), top_x)
        cx1 = min(max(math.ceil(x1 / cell) - 1, math.floor(x0 / cell), 0), top_x)
        cy0 = min(max(math.floor(y0 / cell), 0), top_y)
        cy1 = min(max(math.ceil(y1 / cell) - 1, math.floor(y0 / cell), 0), top_y)
        base = int(self.cell_base[slot])
        starts = self.cell_start
        parts = [self.cell_items[starts[row + cx0]:starts[row + cx1 + 1]]
                 for row in range(base + cy0 * ncx, base + cy1 * ncx + 1, ncx)]
        lo, hi = self.large_start[slot], self.large_start[slot + 1]
        if hi > lo:
            parts.append(self.large_items[lo:hi])
        return parts

    def candidates(self, slot: int, window: Sequence[float]) -> np.ndarray:
        """Sorted box rows whose cells meet the window (a superset of the overlaps)."""
        parts = self._cell_runs(slot, window)
        rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return np.unique(rows)

    def candidate_pairs(self, slots: np.ndarray, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For many windows at once: ``(owner, row)`` pairs, ``owner`` indexing ``windows``.

        Every box row whose cells meet window ``k`` appears with owner ``k`` at least once
        (possibly more: a box in several cells under the window); ``windows`` is ``(M, 4)``
        ``ltrb`` in the images of ``slots`` (M,).
        """
        owners, lengths, runs = [], [], []
        for k, (slot, window) in enumerate(zip(np.asarray(slots).tolist(), np.asarray(windows).tolist())):
            for run in self._cell_runs(slot, window):
                if len(run):
                    runs.append(run)
                    owners.append(k)
                    lengths.append(len(run))
        if not runs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.repeat(np.array(owners, dtype=np.int64), lengths), np.concatenate(runs).astype(np.int64, copy=False)

    def query(self, gid: int, window: Sequence[float], thresh: float = 0.0):
        """Boxes of image ``gid`` whose visible fraction in ``window`` is ``> thresh``.

        Parameters
        ----------
        gid : int
            Image id.
        window : sequence of 4 floats
            ``ltrb`` in image pixel-corner coordinates.
        thresh : float
            Visible-fraction threshold; 0.0 keeps any positive-area overlap.

        Returns
        -------
        rows : ndarray of int
            Sorted box rows (indexes into ``ltrb``).
        frac : ndarray of float
            Their visible fractions.
        """
        rows = self.candidates(self._slot_of[gid], window)
        frac = visible_fraction(self.ltrb[rows], window)
        keep = frac > thresh
        return rows[keep], frac[keep]

    def __getstate__(self) -> dict[str, Any]:
        # a process being spawned maps the arrays from files instead of receiving them
        return shared_state(self.__dict__)

    @property
    def nbytes(self) -> int:
        """Bytes held by the index arrays (boxes included)."""
        return int(sum(getattr(self, k).nbytes for k in (
            'ltrb', 'cell', 'ncx', 'ncy', 'cell_base', 'cell_items',
            'cell_start', 'large_items', 'large_start', 'image_ids', '_sorted_gids', '_sorted_slot')))
