"""The one window read of a frame: a resolved window in, its pixels out (clip, one read, one pad, one repair).

Every pixel path of one window goes through :func:`read_window` (frames, with the
repair-and-retry) or :func:`ndsampler.delayed.window_pixels` under it (the delayed
crop's finalize shares its file fast path and its padding), so the plain and the
delayed paths cannot disagree.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ndsampler._typing import ChannelsLike, Slices
from ndsampler.delayed import DelayedImage, Padding, window_pixels

__all__ = ['read_window', 'nodata_pixels']


def nodata_pixels(arr: np.ndarray, nodata: Any) -> np.ndarray:
    """``arr`` under a sample's ``nodata`` option: None: as it is; else float (float32 unless float already).

    ``'float'`` / ``'auto'``: the declared nodata is already NaN (``load_delayed(nodata='float')``);
    a number: pixels equal to it become NaN too.
    """
    if nodata is None:
        return arr
    out = arr if arr.dtype.kind == 'f' else arr.astype(np.float32)
    if nodata not in ('float', 'auto'):
        out = out.copy() if out is arr else out
        out[arr == nodata] = np.nan
    return out


def read_window(frames: Any, image_id: Any, window: Slices, channels: ChannelsLike = None, nodata: Any = None,
                padding: Padding | None = None, space: Callable[[DelayedImage], DelayedImage] | None = None,
                optimize: bool = True) -> np.ndarray:
    """The pixels ``(h, w, c)`` of one resolved window of an image.

    The window's in-bounds part is read (one reader call when the image is one
    aligned file, see :func:`~ndsampler.delayed.window_pixels`), converted per
    ``nodata`` and padded once per ``padding``. A cache file that fails to decode or
    its checksums, or whose source was edited, is repaired and the read retried
    once (:meth:`Frames.with_repair`).

    Parameters
    ----------
    frames : Frames
    image_id : Any
    window : tuple[slice, slice]
        The canonical window: ``(slice_y, slice_x)`` of plain ints, ``start <= stop``,
        half-open, in the pixels of the space read (image space, or ``space``'s);
        it may leave the image.
    channels : str | FusedChannelSpec | None
        As :meth:`Frames.load_delayed` (None: the image's own bands).
    nodata : None | 'float' | 'auto' | float
        None: pixels as stored. Otherwise float pixels (float32 unless float already)
        with the nodata their sources declare as NaN, a number also masking pixels
        equal to it (see :func:`nodata_pixels`); all before padding.
    padding : Padding | None
        The fill beyond the image (None: NaN for float pixels, 0 otherwise).
    space : Callable[[DelayedImage], DelayedImage] | None
        Maps the image-space tree into the space ``window`` is in (e.g. a warp to
        video space); None: image space.
    optimize : bool
        Optimize a tree that is not one file before finalizing it.

    Returns
    -------
    np.ndarray
        Owned by the caller.

    Example
    -------
    >>> import tempfile, pathlib, numpy as np
    >>> from ndsampler.frames import SimpleFrames
    >>> fpath = pathlib.Path(tempfile.mkdtemp()) / 'a.npy'
    >>> np.save(fpath, np.arange(9, dtype=np.uint8).reshape(3, 3, 1))
    >>> read_window(SimpleFrames({1: fpath}), 1, (slice(-1, 1), slice(1, 4)))[..., 0].tolist()
    [[0, 0, 0], [1, 2, 0]]
    """
    load = 'float' if nodata is not None else None
    convert = None if nodata is None else (lambda arr: nodata_pixels(arr, nodata))

    def read() -> np.ndarray:
        node = frames.load_delayed(image_id, channels, load)
        if space is not None:
            node = space(node)
        return window_pixels(node, window, padding, optimize, convert)

    return frames.with_repair((image_id,), read)
