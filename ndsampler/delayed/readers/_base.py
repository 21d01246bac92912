"""The reader interface: a header without pixels, and window reads as (h, w, c)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ndsampler.errors import InvalidOptionError, WindowError

__all__ = ['Header', 'Reader', 'overview_dsize']


def overview_dsize(dsize: tuple[int, int], level: int) -> tuple[int, int]:
    """``(w, h)`` of pyramid ``level`` (0 = full resolution) of a ``dsize`` image, as GDAL sizes it: ``ceil(d / 2**level)``.

    Example
    -------
    >>> overview_dsize((384, 513), 2)
    (96, 129)
    """
    factor = 1 << int(level)
    w, h = dsize
    return (-(-w // factor), -(-h // factor))


@dataclass(frozen=True)
class Header:
    """What a reader knows about a file without decoding pixels.

    Attributes
    ----------
    dsize : tuple[int, int]
        ``(width, height)`` of the full-resolution image.
    num_bands : int
        Number of channels.
    dtype : np.dtype
        Pixel type.
    num_overviews : int
        Number of 2x pyramid levels below full resolution (0 for none).
    nodata : float | None
        The recorded nodata value, if any.
    """

    dsize: tuple[int, int]
    num_bands: int
    dtype: np.dtype
    num_overviews: int = 0
    nodata: float | None = None

    def overview_dsize(self, level: int) -> tuple[int, int]:
        """``(w, h)`` of overview ``level`` (0 = full resolution): :func:`overview_dsize` of :attr:`dsize`."""
        return overview_dsize(self.dsize, level)


class Reader(ABC):
    """Reads windows of one file; subclasses open their handle lazily.

    Subclasses implement :meth:`_read_header` and :meth:`_read` and may
    override :attr:`nbytes` and :attr:`num_handles` (what the pool charges);
    one whose charge changes after it was pooled calls :meth:`_resized`.
    Readers are only created by :func:`~ndsampler.delayed.readers.get_reader`;
    ``fpath`` is the path or URL string as given; ``on_resize`` is the pool's
    hook to re-charge the reader (dropped on pickling).
    """

    __slots__ = ('fpath', '_header', '_on_resize')

    def __init__(self, fpath: str, on_resize: Callable[[Reader], None] | None = None):
        self.fpath = fpath
        self._header: Header | None = None
        self._on_resize = on_resize

    def header(self) -> Header:
        """The file's :class:`Header` (read once, cached)."""
        if self._header is None:
            self._header = self._read_header()
        return self._header

    @property
    def nbytes(self) -> int:
        """Bytes this reader holds (decoded pixels, or an estimate for an open handle)."""
        return 4096

    @property
    def num_handles(self) -> int:
        """File descriptors this reader holds (or will, once it opens its file)."""
        return 1

    def _resized(self) -> None:
        """Tell the owning pool that :attr:`nbytes` or :attr:`num_handles` changed."""
        if self._on_resize is not None:
            self._on_resize(self)

    def read(self, slices: Sequence[slice] | None = None, overview: int = 0,
             bands: Sequence[int] | None = None) -> np.ndarray:
        """Read a window as an ``(h, w, c)`` array.

        Parameters
        ----------
        slices : (slice_y, slice_x) | None
            In-bounds window in the pixel grid of ``overview`` (None = all).
            Bounds must be concrete integers (``None`` means the edge).
        overview : int
            Pyramid level: 0 is full resolution, ``k`` is downscaled by ``2**k``.
        bands : Sequence[int] | None
            0-based band indices to read (None = all), in the order wanted.

        Returns
        -------
        np.ndarray
            ``(h, w, c)``; may be a read-only view for memory-mapped files.
        """
        header = self._header or self.header()
        if overview:
            if not 0 < overview <= header.num_overviews:
                raise InvalidOptionError('overview', overview, f'0..{header.num_overviews} for {self.fpath}')
            w, h = header.overview_dsize(overview)
        else:
            w, h = header.dsize
        if slices is None:
            sl_y, sl_x = slice(0, h), slice(0, w)
        else:
            sl_y, sl_x = slices
            if sl_y.start is None or sl_y.stop is None:
                sl_y = slice(sl_y.start or 0, h if sl_y.stop is None else sl_y.stop)
            if sl_x.start is None or sl_x.stop is None:
                sl_x = slice(sl_x.start or 0, w if sl_x.stop is None else sl_x.stop)
            if not (0 <= sl_y.start <= sl_y.stop <= h and 0 <= sl_x.start <= sl_x.stop <= w):
                raise WindowError(f'window {(sl_y, sl_x)!r} is outside {self.fpath} '
                                  f'(overview {overview}: {h}x{w}); allowed: an in-bounds window')
        if bands is not None:
            bands = [int(b) for b in bands]
            bad = [b for b in bands if not 0 <= b < header.num_bands]
            if bad:
                raise InvalidOptionError('bands', bad, f'indices in 0..{header.num_bands - 1} for {self.fpath}')
        return self._read(sl_y, sl_x, overview, bands)

    def close(self) -> None:
        """Drop any open handle or decoded data (reopened lazily on the next read)."""

    def __getstate__(self):
        return {'fpath': self.fpath, '_header': self._header}

    def __setstate__(self, state):
        self.fpath = state['fpath']
        self._header = state['_header']
        self._on_resize = None
        self._reset()

    def _reset(self) -> None:
        """Put lazily-opened state back to 'not open' (after unpickling)."""

    @abstractmethod
    def _read_header(self) -> Header:
        """Read the header from the file."""

    @abstractmethod
    def _read(self, sl_y: slice, sl_x: slice, overview: int, bands: list[int] | None) -> np.ndarray:
        """Read a validated in-bounds window as ``(h, w, c)``."""
