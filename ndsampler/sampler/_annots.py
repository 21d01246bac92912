"""Annotations of a sample: per-frame ``kwimage.Detections`` in sample coordinates, and class masks."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any, Iterable, Sequence

import kwimage
import numpy as np

from ndsampler.errors import InvalidOptionError
from ndsampler.geometry import positive_scale_shift, warp_box
from ndsampler.regions import visible_fraction
from ndsampler.sampler._index import DatasetIndex

__all__ = ['parse_with_annots', 'frame_detections', 'render_class_mask', 'ImageBoxes', 'BoxLookup',
           'ANNOT_KINDS', 'DENSE_IMAGE', 'SCALAR_BAND']

#: Images with at least this many boxes are queried through the regions' spatial index;
#: below it one vectorised test over the image's boxes is faster.
DENSE_IMAGE = 2000

#: Bands of at most this many candidate boxes are tested in Python (numpy calls cost more there).
SCALAR_BAND = 96

#: What ``with_annots`` may ask for.
ANNOT_KINDS = ('boxes', 'segmentation', 'keypoints', 'mask')
_DEFAULT_KINDS = frozenset({'boxes', 'segmentation', 'keypoints'})


def parse_with_annots(with_annots: bool | str | Iterable[str] | None) -> frozenset[str]:
    """Normalize ``with_annots`` (bool, ``'boxes+segmentation'`` or a list) to a set of kinds.

    Example
    -------
    >>> sorted(parse_with_annots('boxes+mask'))
    ['boxes', 'mask']
    >>> sorted(parse_with_annots(True))
    ['boxes', 'keypoints', 'segmentation']
    """
    if with_annots is True:
        return _DEFAULT_KINDS
    if not with_annots:
        return frozenset()
    kinds = with_annots.split('+') if isinstance(with_annots, str) else list(with_annots)
    kinds = ['segmentation' if k in ('segmentations', 'ssegs') else 'mask' if k == 'masks' else k for k in kinds]
    bad = [k for k in kinds if k not in ANNOT_KINDS]
    if bad:
        raise InvalidOptionError('with_annots', with_annots, "True, False, or '+'-joined / listed kinds from "
                                 + ', '.join(repr(k) for k in ANNOT_KINDS))
    return frozenset(kinds) | {'boxes'}


class ImageBoxes:
    """The boxed annotations of one image as arrays, in dataset order (the regions table's).

    The box columns are also kept sorted by top edge, so a window query tests only the
    horizontal band of boxes that can reach it (two bisections, then a few comparisons:
    in Python over memoryviews of the columns for a narrow band, where numpy's per-call
    cost would dominate, in numpy otherwise).

    Attributes
    ----------
    rows : np.ndarray
        Rows of the regions table (ascending).
    aids, cids, class_idxs : np.ndarray
        Annotation ids, category ids and class indexes (int64).
    ltrb : np.ndarray
        ``(N, 4)`` boxes in image pixels.
    proper : bool
        True when every box has a positive area (no degenerate boxes).
    """

    __slots__ = ('rows', 'aids', 'cids', 'class_idxs', 'ltrb', 'proper', '_ids', '_order', '_top', '_reach',
                 '_columns', '_views', '_row_views')

    def __init__(self, table: dict[str, np.ndarray], rows: np.ndarray):
        self.rows = rows
        #: (N, 3) aid, category id, class index: one gather per query
        self._ids = np.stack([table['aid'][rows], table['category_id'][rows], table['label'][rows]], axis=1)
        self.aids, self.cids, self.class_idxs = self._ids.T
        self.ltrb = table['ltrb'][rows]
        x0, y0, x1, y1 = self.ltrb.T
        self.proper = bool(((x1 > x0) & (y1 > y0)).all())
        finite = bool(np.isfinite(self.ltrb).all())
        self._order = np.argsort(y0, kind='stable') if finite else np.arange(len(rows))
        self._reach = float((y1 - y0).max()) + 1.0 if finite and len(rows) else 0.0
        #: (4, N) rows x0, y0, x1, y1 in top-edge order, and memoryviews of them and of the order
        self._columns = np.ascontiguousarray(self.ltrb[self._order].T)
        self._views = tuple(memoryview(row) for row in self._columns) + (memoryview(self._order),)
        #: memoryviews of the id and box columns in row order, read per hit by :meth:`take`
        self._row_views = tuple(memoryview(col) for col in np.ascontiguousarray(self._ids.T)) + tuple(
            memoryview(col) for col in np.ascontiguousarray(self.ltrb.T))
        #: the sorted top edges (bisected); None: every box is a candidate
        self._top = self._views[1] if finite else None

    def _band(self, window, visible_thresh: float) -> tuple[int, int, bool]:
        """``(lo, hi, scalar)``: the top-edge-sorted positions that can reach the window, and
        whether the narrow-band Python test (:meth:`_scan`) answers the query."""
        wx0, wy0, wx1, wy1 = window
        if self._top is None:
            lo, hi = 0, len(self._order)
        else:  # a box reaching the window starts at most _reach above it and not below it
            lo, hi = bisect_left(self._top, wy0 - self._reach), bisect_right(self._top, wy1)
        scalar = visible_thresh == 0 and self.proper and wx1 > wx0 and wy1 > wy0 and hi - lo <= SCALAR_BAND
        return lo, hi, scalar

    def _scan(self, window, lo: int, hi: int) -> list[int]:
        """Rows of the band ``[lo, hi)`` overlapping the window with positive area, ascending (proper boxes)."""
        wx0, wy0, wx1, wy1 = window
        x0, y0, x1, y1, order = self._views
        hits = [order[i] for i in range(lo, hi) if x0[i] < wx1 and x1[i] > wx0 and y0[i] < wy1 and y1[i] > wy0]
        hits.sort()
        return hits

    def visible(self, window, visible_thresh: float) -> np.ndarray:
        """Rows whose visible fraction in the ``ltrb`` window is ``> visible_thresh`` (regions' rule)."""
        lo, hi, scalar = self._band(window, visible_thresh)
        if scalar:
            return np.array(self._scan(window, lo, hi), dtype=np.int64)
        return self._vector_visible(window, visible_thresh, lo, hi)

    def visible_rows(self, window, visible_thresh: float) -> list[int] | np.ndarray:
        """Like :meth:`visible`, as a list when the narrow-band Python test answered (no array built)."""
        lo, hi, scalar = self._band(window, visible_thresh)
        return self._scan(window, lo, hi) if scalar else self._vector_visible(window, visible_thresh, lo, hi)

    def _vector_visible(self, window, visible_thresh: float, lo: int, hi: int) -> np.ndarray:
        wx0, wy0, wx1, wy1 = window
        strict = visible_thresh == 0 and self.proper and wx1 > wx0 and wy1 > wy0
        band = self._columns[:, lo:hi]
        x0, y0, x1, y1 = band
        if strict:
            # a proper box is visible at all exactly when it overlaps the window with positive area
            hit = ((x0 < wx1) & (x1 > wx0) & (y0 < wy1) & (y1 > wy0)).nonzero()[0]
        else:  # boxes touching the window (degenerate ones included), then the exact fraction
            near = ((x0 <= wx1) & (x1 >= wx0) & (y0 <= wy1) & (y1 >= wy0)).nonzero()[0]
            hit = near[visible_fraction(band.T[near], window) > visible_thresh]
        local = self._order[lo:hi][hit]
        return np.sort(local) if len(local) > 1 else local

    def take(self, local: list[int] | np.ndarray, tf: kwimage.Affine | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(aids, cids, class_idxs, ltrb)`` of the rows ``local`` (new arrays), boxes mapped by ``tf``.

        A few rows under a scale + shift (every image sample) are gathered and mapped in
        Python, where numpy's per-call cost would dominate; the numbers equal numpy's.
        """
        coeffs = (1.0, 1.0, 0.0, 0.0) if tf is None else positive_scale_shift(tf)
        if coeffs is None:
            aids, cids, class_idxs = self._ids[local].T
            return aids, cids, class_idxs, warp_box(self.ltrb[local], tf.matrix).data
        a, e, c, f = coeffs
        if len(local) > SCALAR_BAND:
            aids, cids, class_idxs = self._ids[local].T
            return aids, cids, class_idxs, self.ltrb[local] * (a, e, a, e) + (c, f, c, f)
        rows = local.tolist() if isinstance(local, np.ndarray) else local
        aid, cid, cidx, x0, y0, x1, y1 = self._row_views
        ids = np.array([(aid[j], cid[j], cidx[j]) for j in rows], dtype=np.int64).reshape(-1, 3)
        ltrb = np.array([(x0[j] * a + c, y0[j] * e + f, x1[j] * a + c, y1[j] * e + f) for j in rows],
                        dtype=float).reshape(-1, 4)
        aids, cids, class_idxs = ids.T
        return aids, cids, class_idxs, ltrb


class BoxLookup:
    """Which boxes of an image are visible in a window: the regions' answer, per image arrays cached.

    The regions table is grouped by image once (one stable argsort); each image's
    arrays are cut from it on first use. Images with fewer than :data:`DENSE_IMAGE`
    boxes are tested in one vectorised pass, denser ones through the spatial index.
    Answers equal ``regions.overlapping_aids`` (same rule, same order).

    Parameters
    ----------
    regions : ndsampler.regions.CocoRegions
    """

    def __init__(self, regions):
        self.regions = regions
        self._sorted_gids: np.ndarray | None = None
        self._order: np.ndarray | None = None
        self._images: dict[int, ImageBoxes] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {'regions': self.regions}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state['regions'])

    def image(self, gid: int) -> ImageBoxes:
        """The arrays of one image (built on first use)."""
        found = self._images.get(gid)
        if found is None:
            table = self.regions.table
            if self._order is None:
                self._order = np.argsort(table['gid'], kind='stable')
                self._sorted_gids = table['gid'][self._order]
            lo = int(np.searchsorted(self._sorted_gids, gid, side='left'))
            hi = int(np.searchsorted(self._sorted_gids, gid, side='right'))
            found = self._images[gid] = ImageBoxes(table, self._order[lo:hi])
        return found

    def pick(self, gid: int, aids: Iterable[int]) -> tuple[ImageBoxes, np.ndarray]:
        """``(boxes, local_rows)``: the image's arrays and the rows of those ``aids`` it holds, by annotation id."""
        boxes = self.image(gid)
        local = np.flatnonzero(np.isin(boxes.aids, np.fromiter(aids, dtype=np.int64)))
        return boxes, local[np.argsort(boxes.aids[local], kind='stable')]

    def query(self, gid: int, window_ltrb, visible_thresh: float = 0.0) -> tuple[ImageBoxes, list[int] | np.ndarray]:
        """``(boxes, local_rows)``: the image's arrays and the rows visible more than ``visible_thresh``.

        ``window_ltrb``: 4 numbers (a sequence or an array). The rows are ascending, a list
        or an array (see :meth:`ImageBoxes.visible_rows`).
        """
        boxes = self.image(gid)
        if len(boxes.rows) < DENSE_IMAGE:
            local = boxes.visible_rows(window_ltrb, visible_thresh)
        else:
            rows, _ = self.regions._query(gid, window_ltrb, visible_thresh)
            local = np.searchsorted(boxes.rows, rows)
        return boxes, local


def _segmentation(sseg: Any, dims: tuple[int, int]):
    if sseg is None or (isinstance(sseg, (list, tuple)) and len(sseg) == 0):
        return None
    found = kwimage.Segmentation.coerce(sseg, dims=dims)
    if found is None:
        return None
    data = found.data if isinstance(found, kwimage.Segmentation) else found
    if isinstance(data, kwimage.Mask):
        return data.to_multi_polygon()
    return data if isinstance(data, kwimage.MultiPolygon) else kwimage.MultiPolygon([data])


def _keypoints(ann: dict[str, Any], index: DatasetIndex, kp_classes):
    coco_kpts = ann.get('keypoints')
    if coco_kpts is None or len(coco_kpts) == 0:
        return None
    if isinstance(coco_kpts[0], dict):
        return kwimage.Points.from_coco(coco_kpts, classes=kp_classes)
    kpnames = index.dset._lookup_kpnames(ann['category_id'])
    kp_class_idxs = np.array([kp_classes.index(n) for n in kpnames])
    return kwimage.Points.from_coco(coco_kpts, kp_class_idxs, kp_classes)


def _per_annot(index: DatasetIndex, gid: int | None, aids: np.ndarray, key: str, parse) -> list:
    """``parse(ann)`` per annotation id; all None at once when no annotation of the image has ``key``."""
    if gid is None or not index.image_has(gid, key):
        return [None] * len(aids)
    return [parse(index.ann(aid)) for aid in aids.tolist()]


def frame_detections(index: DatasetIndex, lookup: BoxLookup, gid: int | None, tf_img_to_rel: kwimage.Affine | None,
                     window_img: Sequence[float], kinds: frozenset[str],
                     classes, kp_classes, rel_frame_index: int, visible_thresh: float = 0.0,
                     annot_ids: Sequence[int] | None = None) -> kwimage.Detections:
    """The annotations of one frame that are visible in the sample, in sample coordinates.

    Parameters
    ----------
    index : DatasetIndex
        Dataset lookups (annotation dicts for segmentations and keypoints).
    lookup : BoxLookup
        Answers which boxes are visible in the window.
    gid : int | None
        The frame's image id (None for a padded frame: no annotations).
    tf_img_to_rel : kwimage.Affine
        Image pixels -> sample pixels (the same affine the pixels went through).
    window_img : Sequence[float]
        The sampled window as ``ltrb`` in this image's pixel coordinates.
    kinds : frozenset[str]
        From :func:`parse_with_annots`.
    classes, kp_classes
        Category and keypoint-category trees attached to the detections.
    rel_frame_index : int
        Position of the frame in the sample.
    visible_thresh : float
        Keep a box when more than this fraction of its area is inside the window.
    annot_ids : Sequence[int], optional
        Use exactly these annotations (those of this frame that have a box, ordered by id)
        instead of the overlap query.

    Returns
    -------
    kwimage.Detections
        ``aids``, ``cids``, ``class_idxs``, ``boxes`` and, when asked for,
        ``segmentations`` / ``keypoints``; meta ``gid`` and ``rel_frame_index``.
    """
    if gid is None:
        aids = cids = class_idxs = np.zeros(0, dtype=np.int64)
        ltrb = np.zeros((0, 4))
    else:
        if annot_ids is None:
            boxes, local = lookup.query(gid, window_img, visible_thresh)
        else:
            boxes, local = lookup.pick(gid, annot_ids)
        aids, cids, class_idxs, ltrb = boxes.take(local, tf_img_to_rel)
    warp = tf_img_to_rel is not None and len(aids) > 0
    data: dict[str, Any] = {
        'aids': aids,
        'cids': cids,
        'class_idxs': class_idxs,
        'boxes': kwimage.Boxes(ltrb, 'ltrb', canonical=True),
    }
    if 'segmentation' in kinds or 'mask' in kinds:
        ssegs = kwimage.PolygonList(_per_annot(index, gid, aids, 'segmentation', lambda ann: _segmentation(
            ann.get('segmentation'), index.image_dims(gid))))
        data['segmentations'] = ssegs.warp(tf_img_to_rel) if warp and any(p is not None for p in ssegs.data) else ssegs
    if 'keypoints' in kinds:
        points = kwimage.PointsList(_per_annot(index, gid, aids, 'keypoints',
                                               lambda ann: _keypoints(ann, index, kp_classes)))
        if warp and any(p is not None for p in points.data):
            points = points.warp(tf_img_to_rel)
        points.meta['classes'] = kp_classes
        data['keypoints'] = points
    return kwimage.Detections(data=data, datakeys=['aids', 'cids'], meta={
        'classes': classes, 'gid': gid, 'rel_frame_index': rel_frame_index})


def _rings(shape) -> list[np.ndarray]:
    """Exterior and interior rings ``(N, 2)`` of a Polygon / MultiPolygon."""
    polys = shape.data if isinstance(shape, kwimage.MultiPolygon) else [shape]
    rings = []
    for poly in polys:
        rings.append(np.asarray(poly.data['exterior'].data, dtype=float))
        rings.extend(np.asarray(ring.data, dtype=float) for ring in poly.data.get('interiors', []))
    return [ring for ring in rings if len(ring) >= 3]


def _fill_rings(mask: np.ndarray, rings: list[np.ndarray], value: int) -> None:
    """Set the pixels whose centre lies inside the rings (even-odd rule) to ``value``."""
    if not rings:
        return
    pts = np.concatenate(rings)
    h, w = mask.shape
    x0, x1 = max(int(np.floor(pts[:, 0].min())), 0), min(int(np.ceil(pts[:, 0].max())), w)
    y0, y1 = max(int(np.floor(pts[:, 1].min())), 0), min(int(np.ceil(pts[:, 1].max())), h)
    if x1 <= x0 or y1 <= y0:
        return
    cx = np.arange(x0, x1) + 0.5
    cy = np.arange(y0, y1) + 0.5
    inside = np.zeros((len(cy), len(cx)), dtype=bool)
    for ring in rings:
        for (xa, ya), (xb, yb) in zip(ring, np.roll(ring, -1, axis=0)):
            if ya == yb:
                continue
            rows = (cy >= min(ya, yb)) & (cy < max(ya, yb))
            if rows.any():
                xcross = xa + (cy[rows] - ya) * (xb - xa) / (yb - ya)
                inside[rows] ^= cx[None, :] < xcross[:, None]
    mask[y0:y1, x0:x1][inside] = value


def render_class_mask(dets: kwimage.Detections, out_hw: tuple[int, int],
                      values: Sequence[int] | np.ndarray | None = None, background: int = 0) -> np.ndarray:
    """An ``(H, W)`` int32 class mask of the detections: the one mask rule of ndsampler.

    The sampler's ``annots['class_masks']`` and the torch dataset's ``mask`` both come from
    here, so one window gives one mask (only the values written differ).

    Parameters
    ----------
    dets : kwimage.Detections
        Boxes (and optional ``segmentations``) in mask pixels.
    out_hw : (int, int)
        Mask size ``(h, w)``.
    values : sequence of int, optional
        The value painted for each detection (default: its category id, ``dets.data['cids']``).
    background : int
        The value of pixels outside every annotation.

    Returns
    -------
    np.ndarray
        ``(H, W)`` int32.

    Notes
    -----
    The rule:

    * A pixel belongs to an annotation when its centre is inside the annotation's
      segmentation, or inside its box when it has none (SPEC §2 pixel convention;
      holes excluded, even-odd rule).
    * Annotations are painted in order of decreasing box area, so where two overlap the
      **smaller box wins**; of two with the same box area the **later one** (in the
      detections' order, which is dataset order) wins.
    * Pixels of no annotation keep ``background``.

    Example
    -------
    >>> boxes = kwimage.Boxes(np.array([[1, 0, 3, 2], [0, 0, 4, 3]]), 'ltrb')
    >>> dets = kwimage.Detections(data={'boxes': boxes, 'cids': np.array([7, 5])}, datakeys=['cids'])
    >>> render_class_mask(dets, (3, 4)).tolist()  # the smaller box (7) stays on top of the larger (5)
    [[5, 7, 7, 5], [5, 7, 7, 5], [5, 5, 5, 5]]
    >>> render_class_mask(dets, (3, 4), values=[2, 1], background=-1)[2].tolist()
    [1, 1, 1, 1]
    """
    mask = np.full(out_hw, background, dtype=np.int32)
    if len(dets) == 0:
        return mask
    values = dets.data['cids'] if values is None else values
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    if len(values) != len(dets):
        raise InvalidOptionError('values', values.tolist(), f'one value per detection ({len(dets)})')
    boxes = dets.boxes.to_ltrb().data
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    ssegs = dets.data.get('segmentations')
    h, w = mask.shape
    # a box holds the pixels whose centre c has x0 <= c < x1 (and likewise in y): the rings' rule for a rectangle
    centres_x, centres_y = np.arange(w) + 0.5, np.arange(h) + 0.5
    for row in np.argsort(-areas, kind='stable'):
        shape = ssegs[row] if ssegs is not None else None
        if shape is None:
            x0, y0, x1, y1 = boxes[row]
            cols = np.searchsorted(centres_x, (min(x0, x1), max(x0, x1)))
            rows = np.searchsorted(centres_y, (min(y0, y1), max(y0, y1)))
            mask[rows[0]:rows[1], cols[0]:cols[1]] = values[row]
        else:
            _fill_rings(mask, _rings(shape), int(values[row]))
    return mask
