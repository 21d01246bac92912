"""CocoRegions: the annotation index and every sampling plan, in coordinates only.

Samplers here yield *targets* (plain dicts of coordinates, ndsampler 0.8 keys); the
sampler does the pixel I/O. Nothing in this module reads an image.
"""
from __future__ import annotations

import functools
import math
import warnings
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ndsampler._typing import Target
from ndsampler._validate import check_count, check_int_tuple, check_real
from ndsampler.errors import InvalidOptionError, TargetError, UnknownIdError, WindowError
from ndsampler.geometry import window_from_center
from ndsampler.regions._columns import box_columns, image_columns
from ndsampler.regions._index import BoxIndex, union_coverage, visible_fraction
from ndsampler.regions._pool import TargetPool
from ndsampler.regions._rng import ensure_generator
from ndsampler.regions._spill import shared_state

__all__ = ['CocoRegions']

#: Candidate windows tried per requested window before giving up.
_PATIENCE = 100


def _lower_names(names: Iterable[str] | None) -> frozenset[str]:
    return frozenset(str(n).lower() for n in (names or ()))


class CocoRegions:
    """Annotation spatial index, positives, negatives, random / balanced windows and grids.

    Parameters
    ----------
    dset : kwcoco.CocoDataset
        Images need ``width`` / ``height`` (no pixels are read).
    workdir : PathLike, optional
        Kept for ndsampler 0.8 compatibility; the index builds in seconds and is not cached.
    verbose : int
        Print a line when the index is built.
    window_dims : 'extent' | 'square' | (h, w)
        Default window of positives (``'extent'``: the box, rounded up).
    neg_window_dims : (h, w), optional
        Default window of negatives and random windows; when None, each one takes the
        size of a random positive box (like ndsampler 0.8's anchors).
    neg_thresh : float
        A window is a negative when the *visible fraction* (``area(box ∩ window) /
        area(box)``, see :func:`ndsampler.regions.visible_fraction`) of every positive
        annotation is ``<= neg_thresh`` (exact). 0.0: no positive-area overlap at all.
    jitter : float
        Default positive jitter: the window centre moves by ``U(-jitter, jitter)`` times
        the window size per axis; below 0.5 the box centre stays inside the window.
    ignore_classes : iterable of str
        Category names (case-insensitive) whose boxes mark regions to skip.
    ignore_thresh : float | None
        Random windows and negatives whose area is covered by ignore boxes more than
        this fraction are skipped (None: never).
    negative_classes : iterable of str
        Category names never used as positives (default ``ignore`` and ``background``).
    nodata_check : callable, optional
        ``nodata_check(target) -> bool``, True when the window holds only nodata; random
        windows and negatives where it says so are skipped. The sampler provides it.

    Example
    -------
    >>> import kwcoco
    >>> dset = kwcoco.CocoDataset()
    >>> cid = dset.add_category('cat')
    >>> gid = dset.add_image(name='a', width=100, height=80)
    >>> aid = dset.add_annotation(image_id=gid, category_id=cid, bbox=[10, 10, 20, 10])
    >>> self = CocoRegions(dset)
    >>> tr = self.get_positive(0)
    >>> (tr['gid'], tr['aid'], tr['cx'], tr['cy'], tr['window_dims'])
    (1, 1, 20.0, 15.0, (10, 20))
    >>> self.overlapping_aids(gid, [0, 0, 15, 15])
    [1]
    """

    def __init__(self, dset, workdir=None, verbose: int = 0, *, window_dims: Any = 'extent',
                 neg_window_dims: Sequence[int] | None = None, neg_thresh: float = 0.0,
                 jitter: float = 0.0, ignore_classes: Iterable[str] = ('ignore',),
                 ignore_thresh: float | None = 0.6,
                 negative_classes: Iterable[str] = ('ignore', 'background'),
                 nodata_check: Callable[[Target], bool] | None = None):
        self.dset = dset
        self.workdir = workdir
        self.verbose = verbose
        self.window_dims = window_dims
        self.neg_window_dims = None if neg_window_dims is None else self._int_dims(neg_window_dims)
        self.neg_thresh = float(neg_thresh)
        self.jitter = self._check_jitter(jitter)
        self.ignore_classes = _lower_names(ignore_classes)
        self.ignore_thresh = ignore_thresh
        self.negative_classes = _lower_names(negative_classes)
        self.nodata_check = nodata_check
        self.classes = dset.object_categories()
        self.BACKGROUND_CLASS_ID = self.classes.node_to_id.get('background', 0)
        self._table: dict[str, np.ndarray] | None = None
        self._index: BoxIndex | None = None
        self._pool = TargetPool(self)

    # -- dataset facts (ndsampler 0.8 surface) ------------------------------------------
    @property
    def catgraph(self):
        """Old alias of :attr:`classes`."""
        return self.classes

    @property
    def class_ids(self) -> list[int]:
        return list(self.dset.cats.keys())

    @property
    def image_ids(self) -> list[int]:
        return sorted(self.dset.imgs.keys())

    @property
    def n_annots(self) -> int:
        return len(self.dset.anns)

    @property
    def n_images(self) -> int:
        return len(self.dset.imgs)

    @property
    def n_categories(self) -> int:
        return len(self.dset.cats)

    def lookup_class_name(self, class_id: int) -> str:
        try:
            return self.dset.cats[class_id]['name']
        except KeyError:
            raise UnknownIdError(f'unknown category id {class_id!r}; known: {sorted(self.dset.cats)}') from None

    def lookup_class_id(self, class_name: str) -> int:
        try:
            return self.dset.index.name_to_cat[class_name]['id']
        except KeyError:
            raise UnknownIdError(f'unknown category name {class_name!r}; known: {sorted(self.dset.index.name_to_cat)}') from None

    def __repr__(self) -> str:
        n_neg = None if self._pool.negatives is None else len(self._pool.negatives)
        return (f'<CocoRegions(images={self.n_images}, annots={self.n_annots}, '
                f'positives={self.n_positives if self._table is not None else "?"}, negatives={n_neg})>')

    # -- the index ------------------------------------------------------------------------
    def _build_table(self) -> dict[str, np.ndarray]:
        image_ids, dsize = image_columns(self.dset)
        if np.isnan(dsize).any():
            missing = int(image_ids[np.isnan(dsize).any(axis=1)][0])
            raise TargetError(f'image id={missing!r} has no width/height; regions never read pixels, '
                              'so call dset._ensure_imgsize() first')
        boxes = box_columns(self.dset)
        n, xywh, cids = len(boxes.aid), boxes.xywh, boxes.category_id
        ltrb = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        cats = self.dset.cats
        lower = {cid: str(cat['name']).lower() for cid, cat in cats.items()}
        ignore_ids = [cid for cid, name in lower.items() if name in self.ignore_classes]
        negative_ids = [cid for cid, name in lower.items() if name in self.negative_classes]
        id_to_idx = self.classes.id_to_idx
        label_of = np.vectorize(lambda c: id_to_idx.get(int(c), -1), otypes=[np.int64])
        table = {
            'aid': boxes.aid,
            'gid': boxes.gid,
            'category_id': cids,
            'label': label_of(cids) if n else np.zeros(0, np.int64),
            'ltrb': ltrb,
            'is_ignore': np.isin(cids, ignore_ids),
            'is_positive': ~np.isin(cids, negative_ids),
            'image_ids': image_ids,
            'image_dsize': dsize,
        }
        table['positive_rows'] = np.flatnonzero(table['is_positive'])
        table['ignore_rows'] = np.flatnonzero(table['is_ignore'])
        area = np.floor(dsize[:, 0]) * np.floor(dsize[:, 1])
        # random window centres: image slot by area (numpy's choice(p=area / total), prefix sums built once)
        cdf = np.cumsum(area / area.sum()) if area.sum() > 0 else np.zeros(0)
        table['image_cdf'] = cdf / cdf[-1] if len(cdf) else cdf
        # balanced positives: positive rows grouped by class index
        pos = table['positive_rows'][table['label'][table['positive_rows']] >= 0]
        pos_label = table['label'][pos]
        table['class_rows'] = pos[np.argsort(pos_label, kind='stable')]
        table['class_count'] = np.bincount(pos_label, minlength=len(self.classes.idx_to_id)).astype(np.int64)
        table['class_start'] = np.cumsum(table['class_count']) - table['class_count']
        return table

    @property
    def table(self) -> dict[str, np.ndarray]:
        """Flat arrays over the annotations with a box (built once, lazily)."""
        if self._table is None:
            self._table = self._build_table()
        return self._table

    @functools.cached_property
    def targets(self):
        """ndsampler 0.8's table of every annotation with a box (built once, lazily).

        A ``kwarray.DataFrameArray`` with the columns of
        :func:`ndsampler.regions.tabular_coco_targets` (``aid``, ``gid``, ``category_id``,
        ``cx``, ``cy``, ``width``, ``height``, ``img_width``, ``img_height``), one row per
        boxed annotation in dataset order (negative classes included, as 0.8 lists them).
        """
        from ndsampler.regions._targets import tabular_coco_targets
        return tabular_coco_targets(self.dset)

    @classmethod
    def demo(cls, key: str = 'shapes8', **kwargs) -> CocoRegions:
        """Regions over kwcoco's demo dataset ``key`` (ndsampler 0.8's demo: ``'shapes8'``).

        ``kwargs`` go to ``kwcoco.CocoDataset.demo`` (e.g. ``dpath``); image sizes missing
        from the dataset are read from the file headers.
        """
        import kwcoco
        dset = kwcoco.CocoDataset.demo(key, **kwargs)
        dset._ensure_imgsize()
        return cls(dset)

    @property
    def isect_index(self) -> BoxIndex:
        """The spatial index (built once, lazily, vectorised)."""
        if self._index is None:
            table = self.table
            self._index = BoxIndex(table['image_ids'], table['image_dsize'], table['gid'], table['ltrb'])
            if self.verbose:
                print(f'Built region index: {len(table["aid"])} boxes in {len(table["image_ids"])} images, '
                      f'{self._index.nbytes / 2 ** 20:.1f} MiB')
        return self._index

    def __getstate__(self) -> dict[str, Any]:
        # a process being spawned maps the table's arrays from files instead of receiving them
        return shared_state(self.__dict__)

    def _query(self, gid: int, box: Any, visible_thresh: float = 0.0):
        """``(rows, fractions)`` of the boxes of ``gid`` visible more than ``visible_thresh`` in ``box``."""
        try:
            return self.isect_index.query(gid, _as_ltrb(box), visible_thresh)
        except KeyError:
            raise self._unknown_gid(gid) from None

    def _unknown_gid(self, gid: Any) -> UnknownIdError:
        """The error for an image id the index does not hold."""
        return UnknownIdError(f'unknown image id gid={gid!r}; the dataset has {self.n_images} images')

    def overlapping_aids(self, gid: int, box: Any, visible_thresh: float = 0.0) -> list[int]:
        """Annotations of image ``gid`` whose visible fraction inside ``box`` is ``> visible_thresh``.

        Parameters
        ----------
        gid : int
            Image id.
        box : kwimage.Boxes | sequence of 4 floats
            The window; a ``kwimage.Boxes`` in any format, or ``ltrb`` numbers.
        visible_thresh : float
            Keep an annotation when ``area(box ∩ window) / area(box) > visible_thresh``
            (0.0: any positive-area overlap; degenerate boxes count when their centre is
            inside the window).

        Returns
        -------
        list[int]
            Annotation ids, sorted by their order in the dataset.
        """
        rows, _ = self._query(gid, box, visible_thresh)
        return self.table['aid'][rows].tolist()

    def get_segmentations(self, aids: Iterable[int]) -> list:
        """The ``kwimage.MultiPolygon`` (or None) of each annotation."""
        import kwimage
        out = []
        for aid in aids:
            sseg = self.dset.anns[aid].get('segmentation')
            out.append(None if sseg is None else kwimage.MultiPolygon.coerce(sseg))
        return out

    # -- positives ------------------------------------------------------------------------
    @property
    def pool(self) -> TargetPool:
        """The positives and negatives ``get_item`` indexes: every positive and no negatives until
        :meth:`preselect` installs another (a pool never changes; a plan may keep the one it saw)."""
        return self._pool

    @property
    def n_positives(self) -> int:
        return self._pool.n_positives

    @property
    def n_negatives(self) -> int:
        return self._pool.n_negatives

    @property
    def n_samples(self) -> int:
        return self._pool.n_samples

    @staticmethod
    def _int_dims(dims: Sequence[Any]) -> tuple[int, int]:
        return check_int_tuple('window_dims', dims, (2,), minimum=1,
                               allowed="'extent', 'square' or an (h, w) pair of ints >= 1")

    @staticmethod
    def _check_jitter(jitter: float) -> float:
        return check_real('jitter', jitter, 0.0, 0.5)

    def _resolve_pos_dims(self, window_dims: Any, box_h: float, box_w: float) -> tuple[int, int]:
        if window_dims is None:
            window_dims = self.window_dims
        if isinstance(window_dims, str):
            if window_dims not in ('extent', 'square'):
                raise InvalidOptionError('window_dims', window_dims, "'extent', 'square' or an (h, w) pair")
            h = max(1, math.ceil(box_h - 1e-9))
            w = max(1, math.ceil(box_w - 1e-9))
            return (max(h, w),) * 2 if window_dims == 'square' else (h, w)
        return self._int_dims(window_dims)

    def _positive_target(self, row: int, window_dims: Any, jitter: float, rng) -> Target:
        table = self.table
        x0, y0, x1, y1 = (float(v) for v in table['ltrb'][row])
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
        win_h, win_w = self._resolve_pos_dims(window_dims, h, w)
        wcx, wcy = cx, cy
        if jitter > 0:
            dx, dy = ensure_generator(rng).uniform(-jitter, jitter, size=2)
            wcx, wcy = cx + dx * win_w, cy + dy * win_h
        sl_y, sl_x = window_from_center(wcx, wcy, win_w, win_h)
        return {
            'gid': int(table['gid'][row]),
            'aid': int(table['aid'][row]),
            'category_id': int(table['category_id'][row]),
            'label': int(table['label'][row]),
            'cx': wcx,
            'cy': wcy,
            'width': w,
            'height': h,
            'window_dims': (win_h, win_w),
            'rel_cx': cx - sl_x.start,
            'rel_cy': cy - sl_y.start,
        }

    def get_positive(self, index: int | None = None, rng: Any = None, *, window_dims: Any = None,
                     jitter: float | None = None) -> Target:
        """A window around one positive annotation.

        Parameters
        ----------
        index : int, optional
            Index into the (pre)selected positives (0-based); None draws one at random.
        rng : int | RandomState | Generator, optional
            Used when ``index`` is None and for jitter.
        window_dims : 'extent' | 'square' | (h, w), optional
            Defaults to the constructor's ``window_dims``.
        jitter : float, optional
            Defaults to the constructor's ``jitter`` (see :class:`CocoRegions`).

        Returns
        -------
        dict
            ``gid``, ``aid``, ``category_id``, ``label`` (class index), ``cx``, ``cy`` (window
            centre; the box centre without jitter), ``width``, ``height`` (the box),
            ``window_dims`` (h, w), ``rel_cx``, ``rel_cy`` (box centre in window coordinates).
        """
        return self._pool.get_positive(index, rng, window_dims=window_dims, jitter=jitter)

    # -- random windows and negatives ----------------------------------------------------
    def _window_dims_for(self, num: int, window_dims: Sequence[int] | None, rng) -> np.ndarray:
        """``(num, 2)`` window sizes ``(h, w)`` for random windows."""
        if window_dims is None:
            window_dims = self.neg_window_dims
        if window_dims is not None:
            return np.tile(np.array(self._int_dims(window_dims), dtype=np.int64), (num, 1))
        table = self.table
        rows = table['positive_rows']
        if len(rows) == 0:
            raise InvalidOptionError('window_dims', None, 'an (h, w) pair: the dataset has no positive box to size windows by')
        pick = table['ltrb'][rows[rng.integers(len(rows), size=num)]]
        hw = np.stack([pick[:, 3] - pick[:, 1], pick[:, 2] - pick[:, 0]], axis=1)
        return np.maximum(np.ceil(hw - 1e-9), 1).astype(np.int64)

    def _candidate_windows(self, num: int, window_dims, rng) -> tuple[np.ndarray, np.ndarray]:
        """Random windows whose centre pixel is uniform over all pixels of all images.

        Returns ``slots`` (num,) and integer ``ltrb`` windows (num, 4).
        """
        table = self.table
        dsize = table['image_dsize']
        cdf = table['image_cdf']
        if len(cdf) == 0:
            raise WindowError('the dataset has no image with a positive area to sample windows from')
        dims = self._window_dims_for(num, window_dims, rng)
        slots = cdf.searchsorted(rng.random(num), side='right')
        px = np.floor(rng.random(num) * np.floor(dsize[slots, 0]))
        py = np.floor(rng.random(num) * np.floor(dsize[slots, 1]))
        # a window centred on the middle of pixel (px, py): low = floor(c - d / 2) exactly
        x0 = np.floor(px + 0.5 - dims[:, 1] / 2)
        y0 = np.floor(py + 0.5 - dims[:, 0] / 2)
        ltrb = np.stack([x0, y0, x0 + dims[:, 1], y0 + dims[:, 0]], axis=1)
        return slots, ltrb

    def _window_target(self, gid: int, ltrb: np.ndarray, negative: bool = False) -> Target:
        """Target of an integer window; ``cx = x0 + w / 2`` so the sampler rebuilds it exactly."""
        x0, y0, x1, y1 = (int(v) for v in ltrb)
        w, h = x1 - x0, y1 - y0
        target: Target = {'gid': gid, 'cx': x0 + w / 2, 'cy': y0 + h / 2, 'width': w, 'height': h,
                          'window_dims': (h, w)}
        if negative:
            cid = self.BACKGROUND_CLASS_ID
            target.update({'aid': -1, 'category_id': cid, 'label': self.classes.id_to_idx.get(cid, -1)})
        return target

    def window_is_skipped(self, gid: int, box: Any, neg_thresh: float | None = None,
                          target: Target | None = None) -> bool:
        """True when a window must not be sampled.

        It is skipped when ``neg_thresh`` is given and a positive annotation is visible
        more than ``neg_thresh`` in it, when ignore boxes cover more than
        ``ignore_thresh`` of it, or when ``nodata_check(target)`` says it is all nodata.
        """
        try:
            slot = self.isect_index.slot(gid)
        except KeyError:
            raise self._unknown_gid(gid) from None
        ltrb = np.asarray(_as_ltrb(box), dtype=float).reshape(1, 4)
        if self._windows_covered(np.array([slot]), ltrb, neg_thresh)[0]:
            return True
        if self.nodata_check is not None:
            return bool(self.nodata_check(target if target is not None else self._window_target(gid, ltrb[0])))
        return False

    def _windows_covered(self, slots: np.ndarray, windows: np.ndarray, neg_thresh: float | None) -> np.ndarray:
        """For many windows at once, the first two tests of :meth:`window_is_skipped` (not nodata).

        ``(M,)`` bool: a positive box visible more than ``neg_thresh`` (when given), or ignore
        boxes covering more than ``ignore_thresh`` of the window.
        """
        covered = np.zeros(len(windows), dtype=bool)
        table = self.table
        check_ignore = self.ignore_thresh is not None and len(table['ignore_rows']) > 0
        if neg_thresh is None and not check_ignore:
            return covered
        owners, rows = self.isect_index.candidate_pairs(slots, windows)
        if not len(rows):
            return covered
        frac = visible_fraction(table['ltrb'][rows], windows[owners])
        if neg_thresh is not None:
            covered[owners[table['is_positive'][rows] & (frac > neg_thresh)]] = True
        if check_ignore:
            ignored = table['is_ignore'][rows] & (frac > 0.0) & ~covered[owners]
            for k in np.unique(owners[ignored]).tolist():
                ignore_rows = np.unique(rows[ignored & (owners == k)])
                covered[k] = union_coverage(table['ltrb'][ignore_rows], windows[k]) > self.ignore_thresh
        return covered

    def _sample_windows(self, num: int, window_dims, rng, neg_thresh: float | None) -> list[Target]:
        """Up to ``num`` random windows passing :meth:`window_is_skipped` (bounded tries).

        Candidates are drawn in batches and taken in order; their box tests run a chunk at a
        time (as many as are still needed, then four times more each round, so a sparse
        dataset tests about one candidate per window and a crowded one few chunks), and the
        nodata test only on those the box tests keep.
        """
        rng = ensure_generator(rng)
        out: list[Target] = []
        budget = _PATIENCE * max(num, 1)
        image_ids = self.table['image_ids']
        while len(out) < num and budget > 0:
            batch = min(budget, max(2 * (num - len(out)), 16))
            budget -= batch
            slots, boxes = self._candidate_windows(batch, window_dims, rng)
            lo, step = 0, num - len(out)
            while lo < batch and len(out) < num:
                hi = min(lo + step, batch)
                kept = ~self._windows_covered(slots[lo:hi], boxes[lo:hi], neg_thresh)
                for slot, box in zip(slots[lo:hi][kept], boxes[lo:hi][kept]):
                    target = self._window_target(int(image_ids[slot]), box, negative=neg_thresh is not None)
                    if self.nodata_check is None or not self.nodata_check(target):
                        out.append(target)
                        if len(out) == num:
                            break
                lo, step = hi, 4 * step
        return out

    def _one_window(self, window_dims, rng, neg_thresh: float | None, what: str) -> Target:
        found = self._sample_windows(1, window_dims, rng, neg_thresh)
        if not found:
            raise WindowError(f'no {what} window found in {_PATIENCE} tries (neg_thresh={neg_thresh}, '
                              f'ignore_thresh={self.ignore_thresh}); relax the thresholds or the window size')
        return found[0]

    def get_random(self, rng: Any = None, window_dims: Sequence[int] | None = None) -> Target:
        """A random window: its centre pixel is uniform over every pixel of every image.

        An image's chance is proportional to its area. Windows mostly covered by ignore
        boxes or all nodata are skipped (see :meth:`window_is_skipped`). The window is
        ``window_dims`` (h, w), else the constructor's ``neg_window_dims``, else the size of
        a random positive box; it may extend past the border (the sampler pads).
        """
        return self._one_window(window_dims, rng, None, 'random')

    def get_negative(self, index: int | None = None, rng: Any = None, *,
                     window_dims: Sequence[int] | None = None) -> Target:
        """A window with no positive annotation visible more than ``neg_thresh``.

        Parameters
        ----------
        index : int, optional
            Index into the preselected negatives (0-based); None draws a fresh one.
        rng : int | RandomState | Generator, optional
            Used when ``index`` is None.
        window_dims : (h, w), optional
            Size of a fresh window (defaults as in :meth:`get_random`); preselected
            negatives keep the size they were drawn with.
        """
        if index is None:
            return self._one_window(window_dims, rng, self.neg_thresh, 'negative')
        return self._pool.get_negative(index)

    def get_item(self, index: int | None = None, rng: Any = None) -> Target:
        """Positives then negatives of :attr:`pool`: ``index < n_positives`` is a positive (ndsampler 0.8 order)."""
        return self._pool.get_item(index, rng)

    def new_pool(self, n_pos: int | None = None, n_neg: int | None = None,
                 neg_to_pos_ratio: float | None = None, window_dims: Sequence[int] | None = None,
                 rng: Any = None) -> TargetPool:
        """Draw a pool of positives and negatives without changing the regions (see :meth:`preselect`).

        Parameters
        ----------
        n_pos : int, optional
            Number of positives; None keeps all. More than available repeats them (each
            pass a new permutation).
        n_neg : int, optional
            Number of negatives (exclusive with ``neg_to_pos_ratio``).
        neg_to_pos_ratio : float, optional
            ``n_neg = int(ratio * n_pos)``; neither given means no negatives.
        window_dims : (h, w), optional
            Negative window size (default: as in :meth:`get_random`).
        rng : int | RandomState | Generator, optional
            Same seed, same pool.

        Returns
        -------
        TargetPool
            Negatives may fall short when few windows pass the thresholds (a warning says so).
        """
        n_pos = None if n_pos is None else check_count('n_pos', n_pos)
        n_neg = None if n_neg is None else check_count('n_neg', n_neg)
        if neg_to_pos_ratio is not None:
            neg_to_pos_ratio = check_real('neg_to_pos_ratio', neg_to_pos_ratio, low=0.0)
        if n_neg is not None and neg_to_pos_ratio is not None:
            raise InvalidOptionError('n_neg', n_neg, 'None when neg_to_pos_ratio is given (give one)')
        rng = ensure_generator(rng)
        pos_idxs = self._positive_idxs(n_pos, rng)
        if n_neg is None:
            n_neg = int((neg_to_pos_ratio or 0) * len(pos_idxs))
        negatives = self._negatives(int(n_neg), window_dims, rng, self.neg_thresh)
        return TargetPool(self, pos_idxs, negatives)

    def _positive_idxs(self, n_pos: int | None, rng: np.random.Generator) -> np.ndarray:
        """Positions in ``table['positive_rows']`` of ``n_pos`` positives (see :meth:`new_pool`)."""
        total = len(self.table['positive_rows'])
        if n_pos is None:
            return np.arange(total)
        n_pos = int(n_pos)
        if n_pos < 0 or (n_pos > 0 and total == 0):
            raise InvalidOptionError('n_pos', n_pos, f'an int in [0, inf) with {total} positives available')
        reps = -(-n_pos // total) if total else 0
        perm = np.concatenate([rng.permutation(total) for _ in range(reps)] or [np.zeros(0, np.int64)])
        return perm[:n_pos]

    def _negatives(self, num: int, window_dims: Sequence[int] | None, rng: np.random.Generator,
                   neg_thresh: float, exact: bool | str = 'warn') -> list[Target]:
        """Up to ``num`` negatives of ``window_dims`` (default as in :meth:`get_random`).

        Fewer found: a warning (``exact='warn'``), a ``WindowError`` (``exact=True``) or
        nothing (``exact=False``).
        """
        dims = self.neg_window_dims if window_dims is None else self._int_dims(window_dims)
        negatives = self._sample_windows(num, dims, rng, neg_thresh)
        if len(negatives) < num and exact:
            message = (f'found {len(negatives)} of {num} negatives (neg_thresh={neg_thresh}, '
                       f'ignore_thresh={self.ignore_thresh})')
            if exact != 'warn':
                raise WindowError(message)
            warnings.warn(message)
        return negatives

    def preselect(self, n_pos: int | None = None, n_neg: int | None = None,
                  neg_to_pos_ratio: float | None = None, window_dims: Sequence[int] | None = None,
                  rng: Any = None, verbose: int | None = None) -> tuple[int, int]:
        """Fix the positives and negatives that ``get_item`` indexes (ndsampler 0.8).

        Draws :meth:`new_pool` and makes it :attr:`pool`; ``window_dims`` is also kept as
        the default size of later negatives. Code that shares the regions (plans, the CLI)
        should keep its own :meth:`new_pool` instead, so it changes nobody else's windows.

        Parameters
        ----------
        n_pos, n_neg, neg_to_pos_ratio, window_dims, rng
            As in :meth:`new_pool`.
        verbose : int, optional
            Print the counts (default: the constructor's ``verbose``).

        Returns
        -------
        (int, int)
            The numbers of positives and negatives selected (negatives may fall short
            when few windows pass the thresholds; a warning says so).
        """
        pool = self.new_pool(n_pos, n_neg, neg_to_pos_ratio, window_dims, rng)
        if window_dims is not None:
            self.neg_window_dims = self._int_dims(window_dims)
        self._pool = pool
        if verbose if verbose is not None else self.verbose:
            print(f'Preselected {pool.n_positives} positives and {pool.n_negatives} negatives')
        return pool.n_positives, pool.n_negatives

    # -- ndsampler 0.8's private preselection steps (its docstring examples call them) ---------
    def _preselect_positives(self, num: int | None = None, window_dims: Any = None, rng: Any = None,
                             verbose: int | None = None) -> int:
        """Make ``num`` positives (None: every positive) those of :attr:`pool`, keeping its negatives.

        ``num`` is :meth:`new_pool`'s ``n_pos``; ``window_dims`` is accepted and unused (a
        positive's window is chosen when it is drawn). Returns the number of positives.
        """
        self._pool = TargetPool(self, self._positive_idxs(num, ensure_generator(rng)), self._pool.negatives)
        if verbose if verbose is not None else self.verbose:
            print(f'Preselected {self._pool.n_positives} positives')
        return self._pool.n_positives

    def _preselect_negatives(self, num: int, window_dims: Sequence[int] | None = None, thresh: float = 0.3,
                             rng: Any = None, verbose: int | None = None) -> int:
        """Make ``num`` fresh negatives those of :attr:`pool`, keeping its positives.

        ``thresh`` is the ``neg_thresh`` of these negatives (ndsampler 0.8's default 0.3);
        a warning says when fewer are found. Returns the number of negatives.
        """
        negatives = self._negatives(int(num), window_dims, ensure_generator(rng), float(thresh))
        self._pool = TargetPool(self, self._pool.pos_idxs, negatives)
        if verbose if verbose is not None else self.verbose:
            print(f'Preselected {len(negatives)} negatives')
        return len(negatives)

    def _random_negatives(self, num: int, exact: bool | str = False, neg_anchors: Any = None,
                          window_size: Sequence[int] | None = None, rng: Any = None, thresh: float = 0.0):
        """``num`` random negatives as ndsampler 0.8's table (a ``kwarray.DataFrameArray``).

        Parameters
        ----------
        num : int
            How many.
        exact : bool | 'warn'
            Fewer found: ``WindowError`` (True), a warning (``'warn'``) or nothing (False).
        neg_anchors : None
            Only None: windows are ``window_size``, else sized like random positive boxes.
        window_size : (w, h), optional
            The window size.
        rng : int | RandomState | Generator, optional
            Same seed, same negatives.
        thresh : float
            The ``neg_thresh`` of these negatives (see the class).

        Returns
        -------
        kwarray.DataFrameArray
            Columns ``gid``, ``aid`` (-1), ``category_id`` (background), ``cx``, ``cy``,
            ``width``, ``height``, ``img_width``, ``img_height``.
        """
        import kwarray
        if neg_anchors is not None:
            raise InvalidOptionError('neg_anchors', neg_anchors, 'None (give window_size, or neither to size '
                                     'windows like random positive boxes)')
        dims = None if window_size is None else tuple(window_size)[::-1]
        found = self._negatives(int(num), dims, ensure_generator(rng), float(thresh), exact=exact)
        slots = np.array([self.isect_index.slot(t['gid']) for t in found], dtype=np.int64)
        img_wh = self.table['image_dsize'][slots].reshape(-1, 2)
        columns = {key: np.array([t[key] for t in found], dtype=dtype) for key, dtype in
                   (('gid', np.int64), ('aid', np.int64), ('category_id', np.int64), ('cx', float),
                    ('cy', float), ('width', float), ('height', float))}
        columns.update(img_width=img_wh[:, 0], img_height=img_wh[:, 1])
        return kwarray.DataFrameArray(columns)

    # -- balanced sampling ----------------------------------------------------------------
    def class_probs(self, class_weights: None | str | Mapping[Any, float] = None) -> np.ndarray:
        """The chance of each class index (``classes.idx_to_node`` order) in balanced positive draws.

        Parameters
        ----------
        class_weights : None | 'frequency' | Mapping
            ``None``: uniform over the classes that have positives (class-balanced).
            ``'frequency'``: proportional to the number of positives (every positive
            equally likely). A mapping ``{class name or category id: weight}``: relative
            weights, unnamed classes weigh 1, classes without positives never come up.

        Returns
        -------
        ndarray of float
            Sums to 1, or all zeros when the dataset has no positive to draw.

        Example
        -------
        >>> import kwcoco
        >>> dset = kwcoco.CocoDataset()
        >>> a, b = dset.add_category('a'), dset.add_category('b')
        >>> gid = dset.add_image(name='x', width=50, height=50)
        >>> for k in range(3):
        ...     _ = dset.add_annotation(image_id=gid, category_id=a if k else b, bbox=[k, k, 5, 5])
        >>> regions = CocoRegions(dset)
        >>> regions.class_probs().tolist(), regions.class_probs('frequency').round(3).tolist()
        ([0.5, 0.5], [0.667, 0.333])
        >>> regions.class_probs({'a': 3}).tolist()
        [0.75, 0.25]
        """
        counts = self.table['class_count'].astype(float)
        if class_weights is None:
            weights = (counts > 0).astype(float)
        elif isinstance(class_weights, str):
            if class_weights != 'frequency':
                raise InvalidOptionError('class_weights', class_weights, "None, 'frequency' or a mapping class -> weight")
            weights = counts
        else:
            weights = np.ones(len(counts))
            for key, value in class_weights.items():
                if not value >= 0:
                    raise InvalidOptionError(f'class_weights[{key!r}]', value, 'a number >= 0')
                cid = self.lookup_class_id(key) if isinstance(key, str) else int(key)
                self.lookup_class_name(cid)
                weights[self.classes.id_to_idx[cid]] = float(value)
            weights[counts == 0] = 0.0
        total = weights.sum()
        if total > 0:
            return weights / total
        if counts.sum() > 0:
            raise InvalidOptionError('class_weights', class_weights, 'weights giving a class with positives a weight > 0')
        return weights

    def get_balanced(self, rng: Any = None, neg_to_pos_ratio: float = 1.0, class_probs: np.ndarray | None = None, *,
                     window_dims: Any = None, neg_window_dims: Sequence[int] | None = None,
                     jitter: float | None = None) -> Target:
        """One balanced draw: a negative with probability ``r / (1 + r)``, else a positive.

        The positive's class follows ``class_probs`` (default :meth:`class_probs`, i.e.
        class-balanced) and its annotation is uniform within the class. This is one draw of
        :meth:`sample_balanced`, for callers that need one target per random generator
        (e.g. one per ``(seed, epoch, index)`` of a torch dataset).

        Parameters
        ----------
        rng : int | RandomState | Generator, optional
        neg_to_pos_ratio : float
            Expected negatives per positive (``r``).
        class_probs : array of float, optional
            From :meth:`class_probs` (compute it once, not per draw).
        window_dims, jitter
            Of a positive, as in :meth:`get_positive`.
        neg_window_dims : (h, w), optional
            Of a negative, as ``window_dims`` in :meth:`get_negative`.
        """
        rng = ensure_generator(rng)
        if rng.random() < _negative_share(neg_to_pos_ratio):
            return self._one_window(neg_window_dims, rng, self.neg_thresh, 'negative')
        probs = self.class_probs() if class_probs is None else np.asarray(class_probs, dtype=float)
        row = int(self._balanced_rows(1, probs, rng)[0])
        return self._positive_target(row, window_dims, self.jitter if jitter is None else self._check_jitter(jitter), rng)

    def sample_balanced(self, num: int, neg_to_pos_ratio: float = 1.0, class_balanced: bool = True,
                        window_dims: Sequence[int] | None = None, rng: Any = None) -> list[Target]:
        """``num`` targets with balanced positives / negatives and balanced classes.

        Each target is a negative with probability ``r / (1 + r)`` (``r = neg_to_pos_ratio``),
        else a positive. With ``class_balanced`` a positive's class is uniform over the
        classes that have positives (so each annotation's chance is inversely proportional
        to its class frequency); otherwise annotations are uniform. Negatives are fresh
        windows (``window_dims`` or the defaults of :meth:`get_random`).
        """
        rng = ensure_generator(rng)
        is_neg = rng.random(num) < _negative_share(neg_to_pos_ratio)
        probs = self.class_probs(None if class_balanced else 'frequency')
        rows = self._balanced_rows(int((~is_neg).sum()), probs, rng)
        negs = self._sample_windows(int(is_neg.sum()), window_dims, rng, self.neg_thresh)
        if len(negs) < is_neg.sum():
            raise WindowError(f'found {len(negs)} of {int(is_neg.sum())} negatives; relax neg_thresh / ignore_thresh')
        pos_iter, neg_iter = iter(rows), iter(negs)
        return [next(neg_iter) if flag else self._positive_target(int(next(pos_iter)), None, self.jitter, rng)
                for flag in is_neg]

    def _balanced_rows(self, num: int, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``num`` positive rows: a class by ``probs``, then a uniform row of that class."""
        table = self.table
        if num == 0:
            return table['class_rows'][:0]
        if not probs.any():
            raise WindowError('the dataset has no positive annotations to sample')
        cls = rng.choice(len(probs), size=num, p=probs)
        within = np.floor(rng.random(num) * table['class_count'][cls]).astype(np.int64)
        return table['class_rows'][table['class_start'][cls] + within]

    # -- grids ----------------------------------------------------------------------------
    def new_sample_grid(self, task: str, window_dims: Any, window_overlap: Any = 0, **kwargs) -> dict[str, Any]:
        """A sliding-window grid over every image or video; see :func:`ndsampler.regions.new_sample_grid`."""
        from ndsampler.regions._grid import new_sample_grid
        return new_sample_grid(self, task, window_dims, window_overlap, **kwargs)


def _negative_share(neg_to_pos_ratio: float) -> float:
    """``r / (1 + r)``: the chance of a negative for ``r`` expected negatives per positive."""
    if not neg_to_pos_ratio >= 0:
        raise InvalidOptionError('neg_to_pos_ratio', neg_to_pos_ratio, 'a number >= 0')
    if math.isinf(neg_to_pos_ratio):
        return 1.0
    return float(neg_to_pos_ratio) / (1.0 + float(neg_to_pos_ratio))


def _as_ltrb(box: Any) -> np.ndarray:
    """One window as a float ``ltrb`` array from ``kwimage.Boxes`` or 4 numbers."""
    if hasattr(box, 'to_ltrb'):
        data = np.asarray(box.to_ltrb().data, dtype=float).reshape(-1, 4)
        if len(data) != 1:
            raise WindowError(f'expected one box, got {len(data)}')
        return data[0]
    arr = np.asarray(box, dtype=float).reshape(-1)
    if arr.shape != (4,):
        raise WindowError(f'box {box!r} must be 4 ltrb numbers or a kwimage.Boxes')
    return arr
