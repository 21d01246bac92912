"""Build, in this process, everything a sample builds lazily on first use, so forked workers start warm.

A DataLoader worker forked from a process that never sampled builds the regions table,
the spatial index, the per-image box grouping and the frames' id set again, and imports
the modules kwimage loads on first use (``kwimage.Affine`` pulls in sympy, polygon warps
scipy.spatial): ~0.5 s per worker and epoch, its first batch several times a warm one.
:func:`warmup` does that work once before the fork; the workers inherit it.

Nobody has to call it: every initialised sampler is registered (:func:`warm_at_fork`) and a hook
that runs in this process just before any ``os.fork`` (``os.register_at_fork``, as a DataLoader's
forked workers start) warms each registered sampler not warmed yet, once. So a user's own Dataset
over ``load_sample`` gets warm workers too. The hook never raises: a sampler whose warm-up sample
fails (a missing file, say) stays cold and its worker meets the same error with its own traceback.
Spawned workers (``multiprocessing_context='spawn'``) start a new interpreter: nothing is inherited
and each builds its lookups on its first sample.
"""
from __future__ import annotations

import os
import weakref
from typing import Any

__all__ = ['warmup', 'warm_at_fork', 'is_warm']

#: initialised samplers not warmed yet: the fork hook warms them (weak: a dropped sampler is forgotten)
_PENDING: weakref.WeakSet = weakref.WeakSet()
#: samplers warmed in this process (by :func:`warmup`, called or from the fork hook)
_WARM: weakref.WeakSet = weakref.WeakSet()

#: side of the window of the one sample :func:`warmup` loads (a few pixels: the code paths, not the I/O)
_WARM_SIDE = 8


def warmup(sampler: Any, channels: str | None = None) -> None:
    """Build the lookups every sample needs and run one small sample through the whole path.

    Parameters
    ----------
    sampler : ndsampler.CocoSampler
        An initialised sampler (``autoinit=True`` or after ``_init()``).
    channels : str, optional
        The channels the samples will ask for: the dataset's known channels are then gathered
        here too (once, instead of in every worker).
    """
    _PENDING.discard(sampler)
    index = sampler._index
    for vidid in index.dset.index.videos:
        gids = index.video_gids(vidid)
        if gids:
            index.frame_position(vidid, gids[0])  # builds the video's position lookup
    regions = sampler.regions
    table = regions.table
    regions.isect_index  # noqa: B018 (a property: built on first access)
    if len(table['aid']):
        gid = int(table['gid'][0])
        x0, y0, x1, y1 = (float(v) for v in table['ltrb'][0])
    elif len(table['image_ids']):
        gid = int(table['image_ids'][0])
        x0, y0, x1, y1 = 0.0, 0.0, 0.0, 0.0
    else:
        _WARM.add(sampler)
        return  # no image: nothing to sample
    sampler._boxes.image(gid)  # groups the table's rows by image (one argsort) on its first call
    target: dict[str, Any] = {'gid': gid, 'cx': (x0 + x1) / 2, 'cy': (y0 + y1) / 2,
                              'width': _WARM_SIDE, 'height': _WARM_SIDE}
    if channels is not None:
        target['channels'] = channels
    # a window on the first annotation: resolving, params, pixels and annotation mapping all run once
    # (lazy imports included); what it reads is a few pixels of one image
    sampler.load_sample(target, with_annots=True, visible_thresh=0.0)
    _WARM.add(sampler)


def is_warm(sampler: Any) -> bool:
    """Whether :func:`warmup` ran to its end for ``sampler`` in this process (or in the parent it forked from)."""
    return sampler in _WARM


def warm_at_fork(sampler: Any) -> None:
    """Have ``sampler`` warmed just before this process next forks (unless :func:`warmup` ran by then).

    ``CocoSampler._init`` calls it (a sampler initialised again is warmed again); the hook costs a
    fork nothing once every registered sampler is warm.
    """
    _WARM.discard(sampler)
    _PENDING.add(sampler)


def _before_fork() -> None:
    """The ``os.register_at_fork(before=...)`` hook: warm the registered samplers, never raising."""
    while _PENDING:
        sampler = _PENDING.pop()
        try:
            warmup(sampler)
        except Exception:  # noqa: BLE001 (a fork must not fail for a warm-up; the worker reports the error itself)
            pass


os.register_at_fork(before=_before_fork)
