"""ndsampler 0.8's target-table helpers: the ``Targets`` interface, the flat positive table, redundancy pruning."""
from __future__ import annotations

import abc
from typing import Any, Sequence

import numpy as np

from ndsampler.errors import InvalidOptionError
from ndsampler.regions._regions import CocoRegions

__all__ = ['Targets', 'tabular_coco_targets', 'select_positive_regions']


class Targets(metaclass=abc.ABCMeta):
    """The interface of a source of sampling targets (ndsampler 0.8's abstract ``Targets``).

    :class:`CocoRegions` is a registered (virtual) subclass. A custom subclass overrides
    ``get_positive`` / ``get_negative`` / ``overlapping_aids`` and, to use the generic
    :meth:`preselect`, the two hooks ``_preselect_positives(num, window_dims, rng, verbose)``
    and ``_preselect_negatives(num, window_dims, rng, verbose)`` (each returns how many it
    selected).

    Example
    -------
    >>> from ndsampler.regions import CocoRegions, Targets
    >>> issubclass(CocoRegions, Targets)
    True
    """

    def get_negative(self, index: int | None = None, rng: Any = None) -> dict | None:
        """A negative target (None when the source has none)."""
        return None

    def get_positive(self, index: int | None = None, rng: Any = None) -> dict | None:
        """A positive target (None when the source has none)."""
        return None

    def overlapping_aids(self, gid: int, box: Any) -> list[int]:
        """The annotations of image ``gid`` that overlap ``box``."""
        raise NotImplementedError

    def _preselect_positives(self, num: int | None, window_dims: Any, rng: Any, verbose: int) -> int:
        raise NotImplementedError(f'{type(self).__name__} must define _preselect_positives to use preselect')

    def _preselect_negatives(self, num: int, window_dims: Any, rng: Any, verbose: int) -> int:
        raise NotImplementedError(f'{type(self).__name__} must define _preselect_negatives to use preselect')

    def preselect(self, n_pos: int | None = None, n_neg: int | None = None, neg_to_pos_ratio: float | None = None,
                  window_dims: Any = None, rng: Any = None, verbose: int = 0) -> tuple[int, int]:
        """Fix the positives, then the negatives (``n_neg`` or ``ratio * positives``); returns both counts."""
        if n_neg is not None and neg_to_pos_ratio is not None:
            raise InvalidOptionError('n_neg', n_neg, 'None when neg_to_pos_ratio is given (give one)')
        n_pos = self._preselect_positives(n_pos, window_dims, rng, verbose)
        if n_neg is None:
            n_neg = int((neg_to_pos_ratio or 0) * n_pos)
        n_neg = self._preselect_negatives(n_neg, window_dims, rng, verbose)
        return n_pos, n_neg


Targets.register(CocoRegions)


def tabular_coco_targets(dset) -> Any:
    """Every annotation with a box as one row of a flat table (ndsampler 0.8's positive table).

    Parameters
    ----------
    dset : kwcoco.CocoDataset
        Images need ``width`` / ``height``.

    Returns
    -------
    kwarray.DataFrameArray
        Columns ``aid``, ``gid``, ``category_id`` (int32), the box centre and size ``cx``,
        ``cy``, ``width``, ``height`` (float32, image pixels) and the image size
        ``img_width``, ``img_height`` (int32). Annotations without a box are left out (with
        a warning).

    Example
    -------
    >>> import kwcoco
    >>> dset = kwcoco.CocoDataset.demo('shapes2')
    >>> table = tabular_coco_targets(dset)
    >>> len(table) == dset.n_annots, sorted(table.keys())[:3]
    (True, ['aid', 'category_id', 'cx'])
    """
    import warnings

    import kwarray

    if hasattr(dset, 'tabular_targets'):  # kwcoco's SQL view builds the table in one query
        return dset.tabular_targets()
    anns = list(dset.dataset['annotations'])
    boxed = [ann for ann in anns if ann.get('bbox') is not None]
    if len(boxed) < len(anns):
        warnings.warn(f'{len(anns) - len(boxed)} of {len(anns)} annotations have no bbox; they are not targets')
    n = len(boxed)
    xywh = np.array([ann['bbox'] for ann in boxed], dtype=np.float32).reshape(n, 4)
    gids = np.array([ann['image_id'] for ann in boxed], dtype=np.int32)
    imgs = dset.imgs
    table = {
        'aid': np.array([ann['id'] for ann in boxed], dtype=np.int32),
        'gid': gids,
        'category_id': np.array([ann['category_id'] for ann in boxed], dtype=np.int32),
        'cx': xywh[:, 0] + xywh[:, 2] / 2,
        'cy': xywh[:, 1] + xywh[:, 3] / 2,
        'width': xywh[:, 2],
        'height': xywh[:, 3],
        'img_width': np.array([imgs[g]['width'] for g in gids.tolist()], dtype=np.int32),
        'img_height': np.array([imgs[g]['height'] for g in gids.tolist()], dtype=np.int32),
    }
    return kwarray.DataFrameArray(table)


def select_positive_regions(targets: Any, window_dims: Sequence[int] = (300, 300), thresh: float = 0.0,
                            rng: Any = None, verbose: int = 0) -> np.ndarray:
    """Rows of ``targets`` whose windows do not overlap each other much (fewer redundant positives).

    Each row gets a window of ``window_dims`` centred on its box; within each image the
    windows are thinned by non-maximum suppression at ``thresh`` IoU under random scores,
    so a new ``rng`` keeps a different, equally spread subset.

    Parameters
    ----------
    targets : mapping of arrays
        Columns ``gid``, ``cx``, ``cy`` (e.g. :func:`tabular_coco_targets`).
    window_dims : (h, w)
        Window size.
    thresh : float
        Largest IoU two kept windows may have (0.0: kept windows do not overlap).
    rng : int | RandomState | None
        Seeds the scores (``kwarray.ensure_rng``), one draw per image in increasing
        image id order.
    verbose : int
        Show progress.

    Returns
    -------
    ndarray of int
        The kept row indexes, sorted.

    Example
    -------
    >>> import kwcoco
    >>> table = tabular_coco_targets(kwcoco.CocoDataset.demo('shapes8'))
    >>> keep = select_positive_regions(table, (300, 300), rng=0)
    >>> 0 < len(keep) <= len(table)
    True
    """
    import kwarray
    import kwimage
    import ubelt as ub

    rng = kwarray.ensure_rng(rng)
    win_h, win_w = window_dims
    gids = np.asarray(targets['gid'])
    cxywh = np.stack([np.asarray(targets['cx'], dtype=np.float32), np.asarray(targets['cy'], dtype=np.float32),
                      np.full(len(gids), win_w, dtype=np.float32), np.full(len(gids), win_h, dtype=np.float32)],
                     axis=1).reshape(-1, 4)
    windows = kwimage.Boxes(cxywh, 'cxywh').to_ltrb()
    keep = []
    unique_gids, groups = kwarray.group_indices(gids)
    for rows in ub.ProgIter(groups, total=len(unique_gids), desc='select positive regions', enabled=bool(verbose)):
        dets = kwimage.Detections(boxes=windows.take(rows, axis=0), scores=rng.rand(len(rows)))
        keep.extend(rows[dets.non_max_supression(thresh=thresh)].tolist())
    return np.array(sorted(keep), dtype=np.int64)
