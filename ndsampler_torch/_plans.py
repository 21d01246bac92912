"""Sampling plans: which window of which image is sample ``i`` of epoch ``e``.

A plan yields coordinates only (torchgeo style): ``plan[i]`` is a target dict
``{'gid', 'slices', 'kind', 'aid', 'label'}`` where ``slices`` is ``(slice(y0, y1), slice(x0, x1))``
in image pixels and always has exactly the plan's ``window_dims`` (windows that leave the image
are padded by the sampler, never shifted). Every draw is a pure function of
``(seed, epoch, index)``, so the same item comes out in any worker, on any rank, in any order.

The current epoch lives in a one-element shared-memory tensor: ``set_epoch`` in the main process
is seen by DataLoader workers (persistent ones included, fork or spawn) from the next ``iter(loader)``.
"""
from __future__ import annotations

import abc
from typing import Any, Mapping

import numpy as np
import torch

from ndsampler import errors
from ndsampler._typing import WindowDims

from ._index import PlanIndex

__all__ = ['Plan', 'RandomWindowPlan', 'PositivePlan', 'NegativePlan', 'BalancedPlan', 'GridPlan',
           'make_plan', 'PLAN_NAMES']

#: random streams, so different draws for the same (seed, epoch, index) are independent
_STREAM_RANDOM, _STREAM_POSITIVE, _STREAM_NEGATIVE, _STREAM_BALANCED = range(4)


def _check_window_dims(window_dims: Any) -> tuple[int, int]:
    try:
        h, w = (int(d) for d in window_dims)
    except (TypeError, ValueError):
        raise errors.WindowError(f'window_dims={window_dims!r} must be two positive ints (h, w)') from None
    if h <= 0 or w <= 0:
        raise errors.WindowError(f'window_dims={window_dims!r} must be two positive ints (h, w)')
    return h, w


def _centered_low(center: float, size: int) -> int:
    """``floor(center - size / 2)``, rounded first so float error cannot move it by one pixel."""
    return int(np.floor(round(center - size / 2.0, 6)))


class Plan(abc.ABC):
    """Base of all plans: a sequence of window targets that depends on ``(seed, epoch, index)``.

    Parameters
    ----------
    source : PlanIndex | sampler | kwcoco.CocoDataset
        Where images and annotation boxes come from (see :meth:`PlanIndex.coerce`).
    window_dims : (int, int)
        Window size ``(h, w)`` in image pixels.
    seed : int
        Seed of every random draw.
    """

    #: the ``kind`` each target carries
    kind = 'window'

    def __init__(self, source: Any, window_dims: WindowDims, seed: int = 0):
        self.index = PlanIndex.coerce(source)
        self.window_dims = _check_window_dims(window_dims)
        self.seed = int(seed)
        if self.seed < 0:
            raise errors.InvalidOptionError('seed', seed, 'a non-negative int')
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

    def __getitem__(self, index: int) -> dict[str, Any]:
        n = len(self)
        if not 0 <= index < n:
            raise IndexError(f'plan index {index} out of range for a plan of length {n}')
        return self.draw(int(index), self.epoch)

    @abc.abstractmethod
    def draw(self, index: int, epoch: int) -> dict[str, Any]:
        """The target of ``index`` in ``epoch`` (pure: no state is read or changed)."""

    def _rng(self, index: int, epoch: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, epoch, index, stream])

    def _target(self, pos: int, y0: int, x0: int, aid: int = -1, label: int = -1,
                kind: str | None = None) -> dict[str, Any]:
        h, w = self.window_dims
        return {'gid': int(self.index.image_ids[pos]),
                'slices': (slice(int(y0), int(y0) + h), slice(int(x0), int(x0) + w)),
                'kind': kind or self.kind, 'aid': int(aid), 'label': int(label)}

    def _random_corner(self, rng: np.random.Generator, pos: int) -> tuple[int, int]:
        """A uniform top-left corner keeping the window inside the image (centred where it cannot fit)."""
        img_w, img_h = (int(v) for v in self.index.image_dsize[pos])
        h, w = self.window_dims
        y0 = int(rng.integers(0, img_h - h + 1)) if img_h >= h else (img_h - h) // 2
        x0 = int(rng.integers(0, img_w - w + 1)) if img_w >= w else (img_w - w) // 2
        return y0, x0

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(len={len(self)}, window_dims={self.window_dims}, '
                f'seed={self.seed}, epoch={self.epoch})')


class RandomWindowPlan(Plan):
    """Uniformly random images, uniformly random windows inside them.

    Parameters
    ----------
    length : int, optional
        Samples per epoch (default: one per image).

    Example
    -------
    >>> index = PlanIndex([1, 2], [(100, 80), (50, 50)])
    >>> plan = RandomWindowPlan(index, (32, 32), length=4, seed=0)
    >>> plan[0] == plan[0], len(plan)
    (True, 4)
    """

    kind = 'random'

    def __init__(self, source: Any, window_dims: WindowDims, length: int | None = None, seed: int = 0):
        super().__init__(source, window_dims, seed)
        if self.index.n_images == 0:
            raise errors.InvalidOptionError('source', repr(self.index), 'a dataset with at least one image')
        self.length = _check_length(length, self.index.n_images)

    def __len__(self) -> int:
        return self.length

    def draw(self, index: int, epoch: int) -> dict[str, Any]:
        rng = self._rng(index, epoch, _STREAM_RANDOM)
        pos = int(rng.integers(self.index.n_images))
        return self._target(pos, *self._random_corner(rng, pos))


class PositivePlan(Plan):
    """One window per annotation, centred on the annotation box (item ``i`` is annotation ``i``).

    Parameters
    ----------
    jitter : float
        Shift the centre by up to this fraction of the window size in each direction,
        drawn anew each epoch (0: the same windows every epoch).
    """

    kind = 'positive'

    def __init__(self, source: Any, window_dims: WindowDims, jitter: float = 0.0, seed: int = 0):
        super().__init__(source, window_dims, seed)
        if not 0.0 <= jitter <= 1.0:
            raise errors.InvalidOptionError('jitter', jitter, 'a fraction in [0, 1]')
        self.jitter = float(jitter)

    def __len__(self) -> int:
        return self.index.n_annots

    def draw(self, index: int, epoch: int) -> dict[str, Any]:
        return self.annot_window(index, epoch, index)

    def annot_window(self, ann_pos: int, epoch: int, index: int) -> dict[str, Any]:
        """The window around the annotation at position ``ann_pos`` (jitter drawn from ``index``)."""
        x1, y1, x2, y2 = self.index.ann_ltrb[ann_pos]
        cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        h, w = self.window_dims
        if self.jitter:
            dx, dy = self._rng(index, epoch, _STREAM_POSITIVE).uniform(-self.jitter, self.jitter, size=2)
            cx, cy = cx + dx * w, cy + dy * h
        return self._target(int(self.index.ann_image[ann_pos]), _centered_low(cy, h), _centered_low(cx, w),
                            aid=int(self.index.ann_ids[ann_pos]), label=int(self.index.ann_label[ann_pos]))


class NegativePlan(Plan):
    """Random windows that overlap no annotation box, drawn anew each epoch.

    Each item tries up to ``max_tries`` random windows; if none is free of annotations it keeps the
    one overlapping the least annotated area (so dense images still yield a window).

    Parameters
    ----------
    length : int, optional
        Samples per epoch (default: one per image).
    max_tries : int
        Candidate windows per item.
    """

    kind = 'negative'

    def __init__(self, source: Any, window_dims: WindowDims, length: int | None = None,
                 max_tries: int = 16, seed: int = 0):
        super().__init__(source, window_dims, seed)
        if self.index.n_images == 0:
            raise errors.InvalidOptionError('source', repr(self.index), 'a dataset with at least one image')
        if int(max_tries) < 1:
            raise errors.InvalidOptionError('max_tries', max_tries, 'a positive int')
        self.length = _check_length(length, self.index.n_images)
        self.max_tries = int(max_tries)

    def __len__(self) -> int:
        return self.length

    def draw(self, index: int, epoch: int) -> dict[str, Any]:
        return self.negative_window(index, epoch)

    def negative_window(self, index: int, epoch: int) -> dict[str, Any]:
        """The negative window for ``index`` in ``epoch``."""
        rng = self._rng(index, epoch, _STREAM_NEGATIVE)
        h, w = self.window_dims
        best = None
        for _ in range(self.max_tries):
            pos = int(rng.integers(self.index.n_images))
            y0, x0 = self._random_corner(rng, pos)
            boxes = self.index.ann_ltrb[self.index.image_offsets[pos]:self.index.image_offsets[pos + 1]]
            iw = np.clip(np.minimum(boxes[:, 2], x0 + w) - np.maximum(boxes[:, 0], x0), 0, None)
            ih = np.clip(np.minimum(boxes[:, 3], y0 + h) - np.maximum(boxes[:, 1], y0), 0, None)
            overlap = float((iw * ih).sum())
            if best is None or overlap < best[0]:
                best = (overlap, pos, y0, x0)
            if overlap == 0.0:
                break
        _, pos, y0, x0 = best
        return self._target(pos, y0, x0)


class BalancedPlan(Plan):
    """Positives and negatives at a fixed ratio, positives balanced over classes.

    Item ``i`` is a negative with probability ``neg_to_pos_ratio / (1 + neg_to_pos_ratio)``;
    otherwise a class is drawn by ``class_weights`` and a window around a uniformly drawn
    annotation of that class. Everything is redrawn each epoch.

    Parameters
    ----------
    length : int, optional
        Samples per epoch (default: ``n_annots * (1 + neg_to_pos_ratio)``).
    neg_to_pos_ratio : float
        Expected negatives per positive (0: positives only).
    class_weights : None | 'frequency' | Mapping
        ``None``: every class that has annotations is equally likely (class-balanced).
        ``'frequency'``: proportional to the annotation count (every annotation equally likely).
        A mapping ``{class name or category id: weight}``: relative weights; classes not named
        weigh 1, classes without annotations never come up.
    jitter, max_tries
        As in :class:`PositivePlan` and :class:`NegativePlan`.
    """

    kind = 'balanced'

    def __init__(self, source: Any, window_dims: WindowDims, length: int | None = None,
                 neg_to_pos_ratio: float = 1.0, class_weights: None | str | Mapping[Any, float] = None,
                 jitter: float = 0.0, max_tries: int = 16, seed: int = 0):
        super().__init__(source, window_dims, seed)
        if not neg_to_pos_ratio >= 0:
            raise errors.InvalidOptionError('neg_to_pos_ratio', neg_to_pos_ratio, 'a non-negative number')
        self.neg_to_pos_ratio = float(neg_to_pos_ratio)
        self.positives = PositivePlan(self.index, self.window_dims, jitter=jitter, seed=seed)
        self.negatives = NegativePlan(self.index, self.window_dims, length=1, max_tries=max_tries, seed=seed)
        self.class_probs = self._class_probs(class_weights)
        default_len = int(round(self.index.n_annots * (1.0 + self.neg_to_pos_ratio)))
        self.length = _check_length(length, max(default_len, 1))

    def _class_probs(self, class_weights: None | str | Mapping[Any, float]) -> np.ndarray:
        counts = np.diff(self.index.label_offsets).astype(np.float64)
        if class_weights is None:
            weights = (counts > 0).astype(np.float64)
        elif isinstance(class_weights, str):
            if class_weights != 'frequency':
                raise errors.InvalidOptionError('class_weights', class_weights,
                                                "None, 'frequency' or a mapping class -> weight")
            weights = counts.copy()
        else:
            weights = np.ones(self.index.n_classes)
            for key, value in class_weights.items():
                if not value >= 0:
                    raise errors.InvalidOptionError(f'class_weights[{key!r}]', value, 'a non-negative number')
                weights[self.index.label_of_class(key)] = float(value)
            weights[counts == 0] = 0.0
        total = weights.sum()
        if total > 0:
            return weights / total
        if self.index.n_annots == 0 and self.neg_to_pos_ratio > 0:
            return weights  # no annotations at all: the plan yields negatives only
        raise errors.InvalidOptionError('class_weights', class_weights,
                                        'weights giving at least one annotated class a positive weight')

    def __len__(self) -> int:
        return self.length

    def draw(self, index: int, epoch: int) -> dict[str, Any]:
        rng = self._rng(index, epoch, _STREAM_BALANCED)
        p_neg = self.neg_to_pos_ratio / (1.0 + self.neg_to_pos_ratio)
        if self.class_probs.sum() == 0 or rng.random() < p_neg:
            target = self.negatives.negative_window(index, epoch)
        else:
            label = int(rng.choice(len(self.class_probs), p=self.class_probs))
            lo, hi = self.index.label_offsets[label], self.index.label_offsets[label + 1]
            ann_pos = int(self.index.label_members[rng.integers(lo, hi)])
            target = self.positives.annot_window(ann_pos, epoch, index)
        return target


class GridPlan(Plan):
    """A sliding-window grid over every image, the same every epoch.

    Windows start at 0 and step by ``window * (1 - window_overlap)``; the last window of a row or
    column may run past the image edge and is padded, never shifted, so every pixel is covered.

    Parameters
    ----------
    window_overlap : float
        Fraction of the window shared by neighbours, in [0, 1).

    Example
    -------
    >>> plan = GridPlan(PlanIndex([1], [(100, 50)]), (32, 32))
    >>> len(plan), plan[3]['slices']
    (8, (slice(0, 32, None), slice(96, 128, None)))
    """

    kind = 'grid'

    def __init__(self, source: Any, window_dims: WindowDims, window_overlap: float = 0.0, seed: int = 0):
        super().__init__(source, window_dims, seed)
        if not 0.0 <= window_overlap < 1.0:
            raise errors.InvalidOptionError('window_overlap', window_overlap, 'a fraction in [0, 1)')
        self.window_overlap = float(window_overlap)
        self.stride = tuple(max(1, int(round(d * (1.0 - self.window_overlap)))) for d in self.window_dims)
        img_wh = self.index.image_dsize
        n_y = _steps(img_wh[:, 1], self.window_dims[0], self.stride[0])
        n_x = _steps(img_wh[:, 0], self.window_dims[1], self.stride[1])
        self._n_x = n_x
        self._offsets = np.concatenate([[0], np.cumsum(n_y * n_x)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def draw(self, index: int, epoch: int) -> dict[str, Any]:
        pos = int(np.searchsorted(self._offsets, index, side='right') - 1)
        row, col = divmod(index - int(self._offsets[pos]), int(self._n_x[pos]))
        return self._target(pos, row * self.stride[0], col * self.stride[1])


def _steps(extent: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Number of grid windows along an axis so the last one reaches the edge."""
    extra = np.clip(extent.astype(np.int64) - window, 0, None)
    return 1 + -(-extra // stride)


def _check_length(length: int | None, default: int) -> int:
    if length is None:
        return int(default)
    if int(length) < 0:
        raise errors.InvalidOptionError('length', length, 'a non-negative int')
    return int(length)


#: plan names accepted by :func:`make_plan` and ``SamplerDataset(plan=...)``
PLAN_NAMES = {'random': RandomWindowPlan, 'positives': PositivePlan, 'negatives': NegativePlan,
              'balanced': BalancedPlan, 'grid': GridPlan}


def make_plan(name: str, source: Any, window_dims: WindowDims, seed: int = 0, **kwargs: Any) -> Plan:
    """Build a plan by name: ``'random'``, ``'positives'``, ``'negatives'``, ``'balanced'`` or ``'grid'``.

    ``kwargs`` go to the plan class (``length``, ``jitter``, ``neg_to_pos_ratio``, ``class_weights``,
    ``window_overlap``, ``max_tries``).
    """
    if name not in PLAN_NAMES:
        raise errors.InvalidOptionError('plan', name, list(PLAN_NAMES))
    return PLAN_NAMES[name](source, window_dims, seed=seed, **kwargs)
