"""Sampling plans: which window of which image is sample ``i`` of epoch ``e``.

A plan yields coordinates only (torchgeo style), drawn by the regions layer
(:class:`ndsampler.regions.CocoRegions`): ``plan[i]`` is the regions target (ndsampler 0.8 keys:
``gid``, ``cx``, ``cy``, ``window_dims``, ``aid``, ``label``, ... ; negatives carry ``aid=-1``)
with ``slices``, ``(slice(y0, y1), slice(x0, x1))`` in image pixels, added. The window always has
exactly the plan's ``window_dims`` (windows that leave the image are padded by the sampler, never
shifted), and the target goes to ``CocoSampler.load_sample`` as it is. Every draw is a pure
function of ``(seed, epoch, index)`` (one ``numpy`` generator per draw), so the same item comes
out in any worker, on any rank, in any order.

The current epoch lives in a one-element shared-memory tensor: ``set_epoch`` in the main process
is seen by DataLoader workers (persistent ones included, fork or spawn) from the next ``iter(loader)``.
"""
from __future__ import annotations

import abc
from typing import Any, Mapping

import numpy as np
import torch

from ndsampler import errors
from ndsampler._typing import Target, WindowDims
from ndsampler.geometry import window_from_center
from ndsampler.regions import CocoRegions

__all__ = ['Plan', 'RandomWindowPlan', 'PositivePlan', 'NegativePlan', 'BalancedPlan', 'GridPlan',
           'make_plan', 'PLAN_NAMES', 'plan_regions']

#: random streams, so different plans with one seed draw independently
_STREAM_RANDOM, _STREAM_POSITIVE, _STREAM_NEGATIVE, _STREAM_BALANCED = range(4)


def plan_regions(source: Any) -> CocoRegions:
    """The :class:`~ndsampler.regions.CocoRegions` plans draw from.

    ``source`` is a ``CocoRegions``, a sampler (its ``regions``: ``CocoSampler``,
    :class:`SyntheticSampler`) or a ``kwcoco.CocoDataset`` (a new ``CocoRegions`` over it).
    """
    if isinstance(source, CocoRegions):
        return source
    regions = getattr(source, 'regions', None)
    if isinstance(regions, CocoRegions):
        return regions
    if hasattr(source, 'anns') and hasattr(source, 'imgs'):
        return CocoRegions(source)
    raise errors.InvalidOptionError('plan source', type(source).__name__,
                                    'a CocoRegions, a sampler with regions (built) or a kwcoco.CocoDataset')


def _check_window_dims(window_dims: Any) -> tuple[int, int]:
    try:
        h, w = (int(d) for d in window_dims)
    except (TypeError, ValueError):
        raise errors.WindowError(f'window_dims={window_dims!r} must be two positive ints (h, w)') from None
    if h <= 0 or w <= 0:
        raise errors.WindowError(f'window_dims={window_dims!r} must be two positive ints (h, w)')
    return h, w


def _check_length(length: int | None, default: int) -> int:
    if length is None:
        return int(default)
    if int(length) < 0:
        raise errors.InvalidOptionError('length', length, 'a non-negative int')
    return int(length)


def _with_slices(target: Target) -> Target:
    """Add the window ``slices`` of a centred regions target (as the sampler resolves them)."""
    h, w = target['window_dims']
    target['slices'] = window_from_center(target['cx'], target['cy'], w, h)
    return target


class Plan(abc.ABC):
    """Base of all plans: a sequence of window targets that depends on ``(seed, epoch, index)``.

    Parameters
    ----------
    source : CocoRegions | sampler | kwcoco.CocoDataset
        Where windows come from (see :func:`plan_regions`). Its ``neg_thresh``,
        ``ignore_thresh`` and ``nodata_check`` apply to random windows and negatives.
    window_dims : (int, int)
        Window size ``(h, w)`` in image pixels.
    seed : int
        Seed of every random draw.
    """

    #: the ``kind`` of the items a plan draws
    kind = 'window'

    def __init__(self, source: Any, window_dims: WindowDims, seed: int = 0):
        self.regions = plan_regions(source)
        self.window_dims = _check_window_dims(window_dims)
        self.seed = int(seed)
        if self.seed < 0:
            raise errors.InvalidOptionError('seed', seed, 'a non-negative int')
        # built once here, so forked workers share the index instead of each building its own
        self.regions.isect_index
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    @property
    def epoch(self) -> int:
        """The epoch the next draws belong to."""
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Switch to another epoch: random, positive-jitter and negative windows are drawn anew."""
        if int(epoch) < 0:
            raise errors.InvalidOptionError('epoch', epoch, 'a non-negative int')
        self._epoch.fill_(int(epoch))

    @abc.abstractmethod
    def __len__(self) -> int:
        """Samples per epoch."""

    def __getitem__(self, index: int) -> Target:
        n = len(self)
        if not 0 <= index < n:
            raise errors.IndexOutOfRangeError(f'plan index {index} out of range [0, {n})')
        return self.draw(int(index), self.epoch)

    @abc.abstractmethod
    def draw(self, index: int, epoch: int) -> Target:
        """The target of ``index`` in ``epoch`` (pure: a new dict, no plan state read or changed)."""

    def kind_of(self, target: Target) -> str:
        """What drew ``target``: ``'random'``, ``'positive'``, ``'negative'`` or ``'grid'``."""
        return self.kind

    def _rng(self, index: int, epoch: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch, index, stream])

    def _require_images(self) -> None:
        if self.regions.n_images == 0:
            raise errors.InvalidOptionError('source', repr(self.regions), 'a dataset with at least one image')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(len={len(self)}, window_dims={self.window_dims}, '
                f'seed={self.seed}, epoch={self.epoch})')


class _DrawnPlan(Plan):
    """A plan of freshly drawn windows with a chosen length per epoch (default: one per image)."""

    def __init__(self, source: Any, window_dims: WindowDims, length: int | None = None, seed: int = 0):
        super().__init__(source, window_dims, seed)
        self._require_images()
        self.length = _check_length(length, self.regions.n_images)

    def __len__(self) -> int:
        return self.length


class RandomWindowPlan(_DrawnPlan):
    """Random windows (``regions.get_random``): the centre pixel is uniform over all pixels of all images.

    Parameters
    ----------
    length : int, optional
        Samples per epoch (default: one per image).

    Example
    -------
    >>> import kwcoco
    >>> dset = kwcoco.CocoDataset()
    >>> gid = dset.add_image(name='a', width=100, height=80)
    >>> plan = RandomWindowPlan(dset, (32, 32), length=4, seed=0)
    >>> plan[0] == plan[0], len(plan), plan[0]['window_dims']
    (True, 4, (32, 32))
    """

    kind = 'random'

    def draw(self, index: int, epoch: int) -> Target:
        rng = self._rng(index, epoch, _STREAM_RANDOM)
        return _with_slices(self.regions.get_random(rng, self.window_dims))


class PositivePlan(Plan):
    """One window per positive of the regions' pool (``pool.get_positive(i)``), centred on the annotation box.

    The plan keeps the pool the regions hold when it is built (every positive unless
    ``regions.preselect`` chose others): a later ``preselect`` on the shared regions does not
    change its length or its windows.

    Parameters
    ----------
    jitter : float
        Move the centre by ``U(-jitter, jitter)`` times the window size per axis, drawn anew
        each epoch, in ``[0, 0.5]`` (0: the same windows every epoch).
    """

    kind = 'positive'

    def __init__(self, source: Any, window_dims: WindowDims, jitter: float = 0.0, seed: int = 0):
        super().__init__(source, window_dims, seed)
        self.jitter = CocoRegions._check_jitter(jitter)
        self.pool = self.regions.pool

    def __len__(self) -> int:
        return self.pool.n_positives

    def draw(self, index: int, epoch: int) -> Target:
        rng = self._rng(index, epoch, _STREAM_POSITIVE)
        return _with_slices(self.pool.get_positive(index, rng, window_dims=self.window_dims, jitter=self.jitter))


class NegativePlan(_DrawnPlan):
    """Random windows with no positive visible more than ``regions.neg_thresh``, drawn anew each epoch.

    Each draw is ``regions.get_negative(rng=...)``, which tries a bounded number of random windows
    and raises :class:`ndsampler.errors.WindowError` when none qualifies (relax the regions'
    ``neg_thresh`` or the window size for densely annotated data).

    Parameters
    ----------
    length : int, optional
        Samples per epoch (default: one per image).
    """

    kind = 'negative'

    def draw(self, index: int, epoch: int) -> Target:
        rng = self._rng(index, epoch, _STREAM_NEGATIVE)
        return _with_slices(self.regions.get_negative(rng=rng, window_dims=self.window_dims))


class BalancedPlan(Plan):
    """Positives and negatives at a fixed ratio, positives balanced over classes (``regions.get_balanced``).

    Item ``i`` is a negative with probability ``neg_to_pos_ratio / (1 + neg_to_pos_ratio)``;
    otherwise a class is drawn by ``class_weights`` and a window around a uniformly drawn
    positive of that class. Everything is redrawn each epoch. A dataset without positives
    yields negatives only.

    Parameters
    ----------
    length : int, optional
        Samples per epoch (default: ``n_positives * (1 + neg_to_pos_ratio)``, at least 1).
    neg_to_pos_ratio : float
        Expected negatives per positive (0: positives only).
    class_weights : None | 'frequency' | Mapping
        See :meth:`ndsampler.regions.CocoRegions.class_probs` (``None``: class-balanced).
    jitter : float
        As in :class:`PositivePlan`.
    """

    kind = 'balanced'

    def __init__(self, source: Any, window_dims: WindowDims, length: int | None = None,
                 neg_to_pos_ratio: float = 1.0, class_weights: None | str | Mapping[Any, float] = None,
                 jitter: float = 0.0, seed: int = 0):
        super().__init__(source, window_dims, seed)
        if not neg_to_pos_ratio >= 0:
            raise errors.InvalidOptionError('neg_to_pos_ratio', neg_to_pos_ratio, 'a non-negative number')
        self.neg_to_pos_ratio = float(neg_to_pos_ratio)
        self.jitter = CocoRegions._check_jitter(jitter)
        self.class_probs = self.regions.class_probs(class_weights)
        self._has_positives = bool(self.class_probs.any())
        if not self._has_positives and self.neg_to_pos_ratio == 0:
            raise errors.InvalidOptionError('neg_to_pos_ratio', 0, 'a ratio > 0: the dataset has no positives')
        self._require_images()
        default_len = int(round(self.regions.n_positives * (1.0 + self.neg_to_pos_ratio)))
        self.length = _check_length(length, max(default_len, 1))

    def __len__(self) -> int:
        return self.length

    def draw(self, index: int, epoch: int) -> Target:
        rng = self._rng(index, epoch, _STREAM_BALANCED)
        if not self._has_positives:
            return _with_slices(self.regions.get_negative(rng=rng, window_dims=self.window_dims))
        return _with_slices(self.regions.get_balanced(
            rng, self.neg_to_pos_ratio, self.class_probs, window_dims=self.window_dims,
            neg_window_dims=self.window_dims, jitter=self.jitter))

    def kind_of(self, target: Target) -> str:
        return 'negative' if target['aid'] == -1 else 'positive'


class GridPlan(Plan):
    """A sliding-window grid over every image (``regions.new_sample_grid``), the same every epoch.

    Every pixel is covered; the last window of a row or column runs past the image edge and is
    padded, never shifted. Targets carry ``aids``, the annotations of the window.

    Parameters
    ----------
    window_overlap : float | int | (h, w)
        Overlap of neighbouring windows: a fraction in ``[0, 1)`` of the window, or pixels
        (see :func:`ndsampler.regions.overlap_pixels`).
    grid_kw : mapping, optional
        More options of ``new_sample_grid`` (``use_annots``, ``ignore_coverage_thresh``, ``skip_nodata``, ...).

    Example
    -------
    >>> import kwcoco
    >>> dset = kwcoco.CocoDataset()
    >>> gid = dset.add_image(name='a', width=100, height=50)
    >>> plan = GridPlan(dset, (32, 32))
    >>> len(plan), plan[3]['slices']
    (8, (slice(0, 32, None), slice(96, 128, None)))
    """

    kind = 'grid'

    def __init__(self, source: Any, window_dims: WindowDims, window_overlap: Any = 0.0, seed: int = 0,
                 grid_kw: Mapping[str, Any] | None = None):
        super().__init__(source, window_dims, seed)
        self.window_overlap = window_overlap
        grid = self.regions.new_sample_grid('image_detection', self.window_dims, window_overlap, **dict(grid_kw or {}))
        self.targets = grid['targets']

    def __len__(self) -> int:
        return len(self.targets)

    def draw(self, index: int, epoch: int) -> Target:
        return dict(self.targets[index])


#: plan names accepted by :func:`make_plan` and ``SamplerDataset(plan=...)``
PLAN_NAMES = {'random': RandomWindowPlan, 'positives': PositivePlan, 'negatives': NegativePlan,
              'balanced': BalancedPlan, 'grid': GridPlan}


def make_plan(name: str, source: Any, window_dims: WindowDims, seed: int = 0, **kwargs: Any) -> Plan:
    """Build a plan by name: ``'random'``, ``'positives'``, ``'negatives'``, ``'balanced'`` or ``'grid'``.

    ``kwargs`` go to the plan class (``length``, ``jitter``, ``neg_to_pos_ratio``, ``class_weights``,
    ``window_overlap``, ``grid_kw``).
    """
    if name not in PLAN_NAMES:
        raise errors.InvalidOptionError('plan', name, list(PLAN_NAMES))
    return PLAN_NAMES[name](source, window_dims, seed=seed, **kwargs)
