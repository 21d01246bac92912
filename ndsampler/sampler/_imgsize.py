"""Image sizes a dataset leaves out, read from the file headers when a sampler is built.

ndsampler 0.8 calls kwcoco's ``_ensure_imgsize`` there; this does the same job through
the readers (headers only, TIFF page stacks and remote files included) and also sizes
images made only of assets (their first asset's size mapped by ``warp_aux_to_img``).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ndsampler.backends._reader import read_header
from ndsampler.frames import CocoFrames
from ndsampler.frames._records import asset_dicts, coco_image_record
from ndsampler.regions._columns import is_sql_view

__all__ = ['fill_image_sizes']

#: Below this many images to size, headers are read in this thread.
_SERIAL_MAX = 8


def _missing(obj: dict) -> bool:
    return obj.get('width') is None or obj.get('height') is None


def fill_image_sizes(dset: Any, workers: int | None = None) -> list[Any]:
    """Set the missing ``width`` / ``height`` of the images (and assets) of ``dset`` from file headers.

    Reads headers only, never pixels; threads (``workers``, default up to 8) when more
    than a few images need it. An image whose files cannot be read keeps its missing
    size, as with ndsampler 0.8 (the regions report it when they need it). kwcoco's SQL
    view is read-only and left as it is (size the JSON dataset before ``view_sql()``).

    Parameters
    ----------
    dset : kwcoco.CocoDataset
        Modified in place.
    workers : int, optional
        Threads to read headers with (0: this thread).

    Returns
    -------
    list
        The ids of the images whose size was filled.

    Example
    -------
    >>> import tempfile, pathlib, numpy as np, kwcoco, kwimage
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = kwimage.imwrite(root / 'a.png', np.zeros((5, 7, 3), np.uint8))
    >>> dset = kwcoco.CocoDataset()
    >>> gid = dset.add_image(file_name=str(root / 'a.png'))
    >>> fill_image_sizes(dset), (dset.imgs[gid]['width'], dset.imgs[gid]['height'])
    ([1], (7, 5))
    """
    if is_sql_view(dset):
        # kwcoco's SQL view is read-only (a changed dict lives only in its LRU cache): its sizes
        # must be in the dataset before view_sql(); the regions name an image without one.
        return []
    todo = [img for img in dset.dataset['images'] if _missing(img) or any(_missing(obj) for obj in asset_dicts(img))]
    if not todo:
        return []
    frames = CocoFrames(dset)  # the None backend: sizes come from the sources' headers
    root = dset.bundle_dpath

    def fill(img: dict) -> bool:
        try:
            for obj, asset in zip(asset_dicts(img), coco_image_record(img, root).assets):
                if _missing(obj) and obj is not img:
                    obj['width'], obj['height'] = read_header(asset.fpath).dsize
            if _missing(img):
                img['width'], img['height'] = frames.image_dsize(img['id'])
                return True
        except (OSError, ValueError):  # unreadable or malformed: left as it is, as ndsampler 0.8 does
            pass
        return False

    if workers is None:
        workers = 0 if len(todo) <= _SERIAL_MAX else min(8, os.cpu_count() or 1)
    if workers:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            filled = list(pool.map(fill, todo))
    else:
        filled = [fill(img) for img in todo]
    return [img['id'] for img, done in zip(todo, filled) if done]
