"""TargetPool: a fixed selection of positives and negatives over a CocoRegions (what ``get_item`` indexes)."""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from ndsampler._typing import Target
from ndsampler.errors import IndexOutOfRangeError, InvalidOptionError, MissingNegativePool, WindowError
from ndsampler.regions._rng import ensure_generator

if TYPE_CHECKING:  # pragma: no cover
    from ndsampler.regions._regions import CocoRegions

__all__ = ['TargetPool']


class TargetPool:
    """Positives and negatives fixed once; ``get_item`` indexes positives first (ndsampler 0.8 order).

    A pool is a value of its own: drawing one (:meth:`CocoRegions.new_pool`) changes nothing in
    the regions, so two users of one regions object (two ``show`` / ``bench`` plans, two torch
    plans) never change each other's windows. :meth:`CocoRegions.preselect` (the 0.8 API)
    draws one and makes it the regions' own pool (``regions.pool``).

    Parameters
    ----------
    regions : CocoRegions
        Where the positives' boxes come from.
    pos_idxs : array of int, optional
        Positions in ``regions.table['positive_rows']``, in pool order (repeats allowed);
        None: every positive, in table order.
    negatives : iterable of dict, optional
        The fixed negative targets; None: no negatives were selected (indexing one raises
        :class:`~ndsampler.errors.MissingNegativePool`).

    Example
    -------
    >>> import kwcoco
    >>> from ndsampler.regions import CocoRegions
    >>> dset = kwcoco.CocoDataset()
    >>> cid = dset.add_category('cat')
    >>> gid = dset.add_image(name='a', width=100, height=80)
    >>> aid = dset.add_annotation(image_id=gid, category_id=cid, bbox=[10, 10, 20, 10])
    >>> regions = CocoRegions(dset)
    >>> pool = regions.new_pool(n_pos=0, n_neg=2, window_dims=(8, 8), rng=0)
    >>> pool.n_positives, pool.n_negatives, regions.n_positives, regions.n_negatives
    (0, 2, 1, 0)
    """

    __slots__ = ('regions', 'pos_idxs', 'negatives')

    def __init__(self, regions: CocoRegions, pos_idxs: np.ndarray | None = None,
                 negatives: Iterable[Target] | None = None):
        self.regions = regions
        self.pos_idxs = None if pos_idxs is None else np.asarray(pos_idxs, dtype=np.int64)
        self.negatives = None if negatives is None else tuple(negatives)

    @property
    def n_positives(self) -> int:
        """Positives in the pool."""
        if self.pos_idxs is not None:
            return len(self.pos_idxs)
        return len(self.regions.table['positive_rows'])

    @property
    def n_negatives(self) -> int:
        """Negatives in the pool (0 when none were selected)."""
        return 0 if self.negatives is None else len(self.negatives)

    @property
    def n_samples(self) -> int:
        """Positives plus negatives."""
        return self.n_positives + self.n_negatives

    def get_positive(self, index: int | None = None, rng: Any = None, *, window_dims: Any = None,
                     jitter: float | None = None) -> Target:
        """A window around the pool's ``index``-th positive (see :meth:`CocoRegions.get_positive`)."""
        n_pos = self.n_positives
        if index is None:
            if n_pos == 0:
                raise WindowError('the dataset has no positive annotations to sample')
            rng = ensure_generator(rng)  # one generator for the index and the jitter
            index = int(rng.integers(n_pos))
        index = check_index('positive', index, n_pos)
        pos = self.pos_idxs[index] if self.pos_idxs is not None else index
        regions = self.regions
        row = int(regions.table['positive_rows'][pos])
        jitter = regions.jitter if jitter is None else regions._check_jitter(jitter)
        return regions._positive_target(row, window_dims, jitter, rng)

    def get_negative(self, index: int) -> Target:
        """The pool's ``index``-th negative (a new dict)."""
        if self.negatives is None:
            raise MissingNegativePool(f'negative index={index} needs preselected negatives; '
                                      'call preselect(n_neg=...) first')
        index = check_index('negative', index, len(self.negatives))
        return dict(self.negatives[index])

    def get_item(self, index: int | None = None, rng: Any = None) -> Target:
        """Positives then negatives: ``index < n_positives`` is a positive; None draws an index."""
        n = self.n_samples
        if index is None:
            if n == 0:
                raise WindowError('no samples: the dataset has no positives and no negatives are preselected')
            index = int(ensure_generator(rng).integers(n))
        index = check_index('sample', index, n)
        if index < 0:
            index += n
        if index < self.n_positives:
            return self.get_positive(index, rng=rng)
        return self.get_negative(index - self.n_positives)

    def __repr__(self) -> str:
        n_neg = None if self.negatives is None else len(self.negatives)
        n_pos = 'all' if self.pos_idxs is None else len(self.pos_idxs)
        return f'<TargetPool(positives={n_pos}, negatives={n_neg})>'


def check_index(pool: str, index: Any, n: int) -> int:
    """IndexOutOfRangeError unless ``-n <= index < n`` (negative indexes count from the end, as in Python).

    InvalidOptionError when ``index`` is not an integer (a bool, a float, a string).
    """
    if type(index) is not int:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, numbers.Integral):
            raise InvalidOptionError(f'{pool} index', index, 'an integer (or None for a random one)')
        index = int(index)
    if not -n <= index < n:
        raise IndexOutOfRangeError(f'{pool} index={index!r} is out of range; allowed: -{n} <= index < {n} '
                                   f'(the pool holds {n} {pool}s)')
    return index
