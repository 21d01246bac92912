"""Build, in this process, everything a sample builds lazily on first use, so forked workers start warm.

A DataLoader worker forked from a process that never sampled builds the regions table,
the spatial index, the per-image box grouping and the frames' id set again, and imports
the modules kwimage loads on first use (``kwimage.Affine`` pulls in sympy, polygon warps
scipy.spatial): ~0.5 s per worker and epoch, its first batch several times a warm one.
:func:`warmup` does that work once before the fork; the workers inherit it.
"""
from __future__ import annotations

from typing import Any

__all__ = ['warmup']

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
        return  # no image: nothing to sample
    sampler._boxes.image(gid)  # groups the table's rows by image (one argsort) on its first call
    target: dict[str, Any] = {'gid': gid, 'cx': (x0 + x1) / 2, 'cy': (y0 + y1) / 2,
                              'width': _WARM_SIDE, 'height': _WARM_SIDE}
    if channels is not None:
        target['channels'] = channels
    # a window on the first annotation: resolving, params, pixels and annotation mapping all run once
    # (lazy imports included); what it reads is a few pixels of one image
    sampler.load_sample(target, with_annots=True, visible_thresh=0.0)
