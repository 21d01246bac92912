"""A multispectral video (bands at several resolutions) via kwcoco's ``vidshapes`` toy data."""
from __future__ import annotations

import os

import kwcoco

from ndsampler._typing import DSize, PathLike
from ndsampler.errors import InvalidOptionError

__all__ = ['demo_video']


def demo_video(dpath: PathLike, num_frames: int = 5, dsize: DSize = (256, 256), seed: int = 0) -> kwcoco.CocoDataset:
    """Render one multispectral video with moving shapes into ``dpath``.

    Frames have five bands (``B1``, ``B8``, ``B8a``, ``B10``, ``B11``), some stored at a
    third or a sixth of the image resolution with a ``warp_aux_to_img`` scale, and
    annotations with tracks. Written offline by ``kwcoco.CocoDataset.demo``; the
    dataset is saved to ``<dpath>/data.kwcoco.json`` and returned.

    Parameters
    ----------
    dpath : PathLike
        The bundle folder (created).
    num_frames : int
    dsize : (int, int)
        ``(w, h)`` of each frame in image space.
    seed : int
    """
    if num_frames < 1 or min(dsize) < 32:
        raise InvalidOptionError('demo_video size', (num_frames, dsize), 'num_frames >= 1 and both sides >= 32 pixels')
    os.makedirs(os.fspath(dpath), exist_ok=True)
    return kwcoco.CocoDataset.demo('vidshapes1-multispectral', num_frames=int(num_frames),
                                   image_size=tuple(int(v) for v in dsize), rng=int(seed),
                                   dpath=os.fspath(dpath), verbose=0)
