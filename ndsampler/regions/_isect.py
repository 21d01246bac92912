"""ndsampler 0.8's ``FrameIntersectionIndex``: per-image box queries, over the vectorised :class:`BoxIndex`."""
from __future__ import annotations

import itertools as it
import warnings
from typing import Any, Sequence

import numpy as np

from ndsampler.errors import InvalidOptionError, UnknownIdError, WindowError
from ndsampler.regions._columns import box_columns, image_columns
from ndsampler.regions._index import BoxIndex, visible_fraction

__all__ = ['FrameIntersectionIndex']


class _ImageBoxes:
    """One image's view of the index (what 0.8 called its ``qtree``): size, boxes, window query."""

    def __init__(self, owner: 'FrameIntersectionIndex', gid: int, width: float, height: float, rows: np.ndarray):
        self._owner = owner
        self.gid = gid
        self.width = width
        self.height = height
        self.aid_to_ltrb = dict(zip(owner.aids[rows].tolist(), owner.index.ltrb[rows]))

    def intersect(self, ltrb: Sequence[float]) -> list[int]:
        """Annotation ids whose box overlaps the ``ltrb`` window (positive area)."""
        return self._owner._overlap_aids(self.gid, ltrb)

    def __repr__(self) -> str:
        return f'<ImageBoxes(gid={self.gid}, {len(self.aid_to_ltrb)} boxes, {self.width}x{self.height})>'


class FrameIntersectionIndex:
    """Which annotation boxes of an image a window overlaps; IoU and IoOA against them; random negatives.

    Built from a kwcoco dataset (images need ``width`` / ``height``; annotations without a
    box are skipped). Overlap means a positive-area intersection (the rule of
    :func:`ndsampler.regions.visible_fraction`), the same whatever ``USE_RTREE`` says.

    Attributes
    ----------
    index : BoxIndex
        The spatial index.
    qtrees : dict[int, object]
        Per image id: ``width``, ``height``, ``aid_to_ltrb`` and ``intersect(ltrb)``.
    all_gids : list[int]
        Sorted image ids.

    Example
    -------
    >>> import kwcoco, kwimage
    >>> dset = kwcoco.CocoDataset.demo('shapes8')
    >>> self = FrameIntersectionIndex.from_coco(dset)
    >>> gid = self.all_gids[0]
    >>> aids = self.overlapping_aids(gid, kwimage.Boxes([0, 0, 600, 600], 'xywh'))
    >>> sorted(aids) == sorted(dset.index.gid_to_aids[gid])
    True
    """

    def __init__(self) -> None:
        self.index: BoxIndex | None = None
        self.aids = np.zeros(0, dtype=np.int64)
        self.qtrees: dict[int, _ImageBoxes] | None = None
        self.all_gids: list[int] | None = None

    def __repr__(self) -> str:
        return f'<FrameIntersectionIndex({"None" if self.all_gids is None else len(self.all_gids)})>'

    @classmethod
    def from_coco(cls, dset, verbose: int = 0) -> 'FrameIntersectionIndex':
        """Index the boxes of a ``kwcoco.CocoDataset``."""
        gids, dsize = image_columns(dset)
        if np.isnan(dsize).any():
            missing = int(gids[np.isnan(dsize).any(axis=1)][0])
            raise WindowError(f'image id={missing!r} has no width/height; call dset._ensure_imgsize() first')
        boxes = box_columns(dset)
        xywh, box_gids = boxes.xywh, boxes.gid
        ltrb = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        self = cls()
        self.index = BoxIndex(gids, dsize, box_gids, ltrb)
        self.aids = boxes.aid
        rows_of = {gid: [] for gid in gids.tolist()}
        for row, gid in enumerate(box_gids.tolist()):
            rows_of[gid].append(row)
        self.qtrees = {gid: _ImageBoxes(self, gid, w, h, np.array(rows_of[gid], dtype=np.int64))
                       for gid, (w, h) in zip(gids.tolist(), dsize.tolist())}
        self.all_gids = sorted(self.qtrees)
        if verbose:
            print(f'Built intersection index: {len(self.aids)} boxes in {len(self.all_gids)} images')
        return self

    @classmethod
    def demo(cls, *args: Any, **kwargs: Any) -> 'FrameIntersectionIndex':
        """The index of ``kwcoco.CocoDataset.demo(*args, **kwargs)`` (sizes filled in, box-less annotations dropped)."""
        import kwcoco
        dset = kwcoco.CocoDataset.demo(*args, **kwargs)
        dset._ensure_imgsize()
        dset.remove_annotations([ann for ann in dset.anns.values() if 'bbox' not in ann])
        return cls.from_coco(dset)

    # -- queries --------------------------------------------------------------------------
    def _rows(self, gid: int, ltrb: Sequence[float]) -> np.ndarray:
        try:
            rows, _ = self.index.query(gid, ltrb)
        except KeyError:
            raise UnknownIdError(f'unknown image id gid={gid!r}; the index has {len(self.all_gids)} images') from None
        return rows

    def _overlap_aids(self, gid: int, ltrb: Sequence[float]) -> list[int]:
        return sorted(self.aids[self._rows(gid, ltrb)].tolist())

    @staticmethod
    def _query_ltrb(box: Any) -> np.ndarray:
        """The first box of a ``kwimage.Boxes`` (any format) or of ``ltrb`` numbers."""
        import kwimage
        if isinstance(box, kwimage.Boxes):
            return box.to_ltrb().data.reshape(-1, 4)[0].astype(float)
        return np.asarray(box, dtype=float).reshape(-1, 4)[0]

    def overlapping_aids(self, gid: int, box: Any) -> list[int]:
        """Sorted ids of the annotations of image ``gid`` whose box overlaps ``box`` (``kwimage.Boxes`` or ltrb)."""
        return self._overlap_aids(gid, self._query_ltrb(box))

    def _overlaps(self, gid: int, box: Any) -> tuple[list[int], np.ndarray, np.ndarray]:
        query = self._query_ltrb(box)
        rows = self._rows(gid, query)
        order = np.argsort(self.aids[rows], kind='stable')
        rows = rows[order]
        return self.aids[rows].tolist(), self.index.ltrb[rows], query

    def ious(self, gid: int, box: Any) -> tuple[list[int], np.ndarray]:
        """``(aids, iou)``: the overlapping annotations of ``gid`` and their intersection over union with ``box``."""
        aids, other, query = self._overlaps(gid, box)
        inter = visible_fraction(other, query) * _area(other)
        return aids, inter / (_area(query[None])[0] + _area(other) - inter)

    def iooas(self, gid: int, box: Any) -> tuple[list[int], np.ndarray]:
        """``(aids, iooa)``: the overlapping annotations and the fraction of each one's area inside ``box``."""
        aids, other, query = self._overlaps(gid, box)
        return aids, visible_fraction(other, query)

    def _support(self, gid: int) -> Any:
        """All boxes of image ``gid`` as ``kwimage.Boxes`` (ltrb)."""
        import kwimage
        return kwimage.Boxes(np.array(list(self.qtrees[gid].aid_to_ltrb.values()), dtype=float).reshape(-1, 4), 'ltrb')

    # -- negatives ------------------------------------------------------------------------
    def random_negatives(self, num: int, anchors: np.ndarray | None = None, window_size: Sequence[float] | None = None,
                         gids: Sequence[int] | None = None, thresh: float = 0.0, exact: bool | str = True,
                         rng: Any = None, patience: int | None = None) -> tuple[np.ndarray, Any]:
        """Random boxes inside images that cover less than ``thresh`` of any annotation.

        Parameters
        ----------
        num : int
            How many boxes.
        anchors : ndarray (K, 2), optional
            Box ``(w, h)`` as fractions of the image size, one chosen per box.
        window_size : (w, h), optional
            Absolute box size (exactly one of ``anchors`` / ``window_size``); images smaller
            than it are skipped.
        gids : list of int, optional
            Images to draw from (default all).
        thresh : float
            A box is kept when every annotation has less than this fraction of its own
            area inside it (0.0 with ``exact``: still kept when nothing overlaps).
        exact : bool | 'warn'
            Keep drawing until ``num`` boxes are found; give up after ``patience`` slow
            rounds and raise (``'warn'``: warn and return fewer). False: one round.
        rng : int | RandomState | None
            Random source (``kwarray.ensure_rng``).
        patience : int, optional
            Rounds without progress allowed (default ``int(sqrt(10 num)) + 1``).

        Returns
        -------
        (ndarray of int, kwimage.Boxes)
            The image id and the ``ltrb`` box of each negative.
        """
        import kwarray
        import kwimage

        if (window_size is None) == (anchors is None):
            raise InvalidOptionError('window_size', window_size, 'exactly one of window_size / anchors given')
        rng = kwarray.ensure_rng(rng)
        pool = np.asarray(self.all_gids if gids is None else list(gids), dtype=np.int64)

        def draw(n: int) -> tuple[list[int], list[np.ndarray]]:
            found_gids, found_boxes = [], []
            for gid in np.sort(rng.choice(pool, size=n)).tolist():
                qtree = self.qtrees[gid]
                img_wh = np.array([qtree.width, qtree.height], dtype=float)
                if window_size is not None:
                    wh = np.asarray(window_size, dtype=float)
                    if np.any(wh > img_wh):
                        continue
                else:
                    wh = np.asarray(anchors, dtype=float).reshape(-1, 2)[rng.randint(len(anchors))] * img_wh
                x0, y0 = rng.rand(2) * np.maximum(img_wh - wh, 0)
                box = np.array([x0, y0, x0 + wh[0], y0 + wh[1]])
                _, iooa = self.iooas(gid, box)
                if len(iooa) == 0 or iooa.max() < thresh:
                    found_gids.append(gid)
                    found_boxes.append(box)
            return found_gids, found_boxes

        if not exact:
            neg_gids, neg_boxes = draw(int(num))
        else:
            patience = int(np.sqrt(num * 10) + 1) if patience is None else patience
            neg_gids, neg_boxes = draw(int(num * 2))
            stalled = 0
            for n_tries in it.count(1):
                want = num - len(neg_boxes)
                if want <= 0 or stalled >= patience:
                    break
                more_gids, more_boxes = draw(int(want * 2))
                neg_gids.extend(more_gids)
                neg_boxes.extend(more_boxes)
                stalled = stalled + 1 if len(more_boxes) <= num // 10 else 0
            if len(neg_boxes) < num:
                message = (f'found {len(neg_boxes)} of num={num} negatives with thresh={thresh} '
                           f'in {n_tries} rounds (patience={patience})')
                if exact != 'warn':
                    raise WindowError(message)
                warnings.warn(message)
            neg_gids, neg_boxes = neg_gids[:num], neg_boxes[:num]
        return (np.array(neg_gids, dtype=np.int64),
                kwimage.Boxes(np.array(neg_boxes, dtype=float).reshape(-1, 4), 'ltrb'))


def _area(ltrb: np.ndarray) -> np.ndarray:
    ltrb = np.asarray(ltrb, dtype=float).reshape(-1, 4)
    return (ltrb[:, 2] - ltrb[:, 0]) * (ltrb[:, 3] - ltrb[:, 1])
