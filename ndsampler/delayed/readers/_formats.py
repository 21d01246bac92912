"""Concrete readers: memory-mapped ``.npy``, rasterio for TIFF/COG, cv2 for everything else."""
from __future__ import annotations

import contextlib
import os
from functools import partial
from typing import Callable

import cv2
import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ndsampler.delayed.readers._base import Header, Reader
from ndsampler.errors import ImageReadError, raise_if_out_of_descriptors
from ndsampler.io.remote import gdal_env, is_remote, open_raster

__all__ = ['NpyReader', 'RasterioReader', 'Cv2Reader', 'reader_class_for', 'tiff_page_stack', 'read_repeating_edges']

#: Estimated bytes held by one open GDAL dataset handle (IFDs, tile index, buffers).
RASTERIO_HANDLE_BYTES = 1 << 20

_TIFF_SUFFIXES = ('.tif', '.tiff', '.gtiff', '.cog', '.vrt', '.ntf', '.jp2')


def _as_hwc(arr: np.ndarray, fpath: str) -> np.ndarray:
    if arr.ndim == 2:
        return arr[:, :, None]
    if arr.ndim != 3:
        raise ImageReadError(f'{fpath} holds a {arr.ndim}-d array {arr.shape}; allowed: (h, w) or (h, w, c)')
    return arr


class NpyReader(Reader):
    """A ``.npy`` file memory-mapped read-only; windows are views of the map."""

    __slots__ = ('_data',)

    def __init__(self, fpath: str, on_resize: Callable[[Reader], None] | None = None):
        super().__init__(fpath, on_resize)
        self._data: np.ndarray | None = None

    def _reset(self) -> None:
        self._data = None

    def _array(self) -> np.ndarray:
        if self._data is None:
            try:
                data = np.load(self.fpath, mmap_mode='r', allow_pickle=False)
            except (ValueError, OSError, EOFError) as ex:
                raise_if_out_of_descriptors(ex, self.fpath)
                raise ImageReadError(f'cannot read {self.fpath} as .npy: {ex}') from ex
            # a plain ndarray view of the map: slicing a np.memmap subclass costs more
            self._data = _as_hwc(data, self.fpath).view(np.ndarray)
        return self._data

    def _read_header(self) -> Header:
        h, w, c = self._array().shape
        return Header(dsize=(w, h), num_bands=c, dtype=self._array().dtype)

    def _read(self, sl_y, sl_x, overview, bands):
        data = self._data if self._data is not None else self._array()
        if bands is None:
            return data[sl_y, sl_x]
        return data[sl_y, sl_x][:, :, bands]

    def close(self) -> None:
        self._data = None


class RasterioReader(Reader):
    """A raster GDAL can open (TIFF, COG, ...); window and overview reads without decoding the rest.

    One dataset handle is kept per pyramid level, opened on first use
    (``rasterio.open(fpath, overview_level=k - 1)`` for level ``k``). Remote
    paths are opened (and read) under :func:`ndsampler.io.gdal_env`.

    A local TIFF that stores an ``(H, W, C)`` image as ``H`` pages of ``(W, C)``
    (tifffile's layout for ``C`` not in 1, 3, 4: what kwimage writes without GDAL,
    e.g. the 2-band assets of kwcoco's ``vidshapes*-msi-multisensor`` demo) is read
    as that ``(H, W, C)`` image, as ``kwimage.imread`` reads it (see :func:`tiff_page_stack`).
    """

    __slots__ = ('_handles', '_remote', '_stack')

    def __init__(self, fpath: str, on_resize: Callable[[Reader], None] | None = None):
        super().__init__(fpath, on_resize)
        self._reset()

    def _reset(self) -> None:
        self._handles: dict[int, rasterio.io.DatasetReader] = {}
        self._remote = is_remote(self.fpath)
        #: None: not looked at yet; False: a plain raster; else the page stack's (H, W, C) array.
        self._stack: np.ndarray | bool | None = None

    @property
    def nbytes(self) -> int:
        stack = self._stack
        if stack is not None and stack is not False:
            return 4096 if isinstance(stack, np.memmap) else int(stack.nbytes)
        return RASTERIO_HANDLE_BYTES * self.num_handles

    @property
    def num_handles(self) -> int:
        return max(1, len(self._handles))

    def _env(self) -> contextlib.AbstractContextManager:
        """:func:`~ndsampler.io.gdal_env` for a remote path, nothing for a local one."""
        return gdal_env() if self._remote else contextlib.nullcontext()

    def _handle(self, overview: int):
        handle = self._handles.get(overview)
        if handle is None:
            kw = {} if overview == 0 else {'overview_level': overview - 1}
            with self._env():
                handle = open_raster(self.fpath, **kw)
            self._handles[overview] = handle
            self._resized()
        return handle

    def _page_stack(self) -> np.ndarray | bool:
        """The page stack's pixels, or False for a raster GDAL reads as it is (decided once per open)."""
        if self._stack is None:
            stack = False
            if not self._remote and self._handle(0).subdatasets:  # several full-size pages (not overviews)
                stack = tiff_page_stack(self.fpath)
                if stack is None:
                    stack = False
                else:
                    self._close_handles()
            self._stack = stack
            self._resized()
        return self._stack

    def _read_header(self) -> Header:
        stack = self._page_stack()
        if stack is not False:
            h, w, c = stack.shape
            return Header(dsize=(w, h), num_bands=c, dtype=stack.dtype)
        src = self._handle(0)
        dtypes = set(src.dtypes)
        if len(dtypes) != 1:
            raise ImageReadError(f'{self.fpath} mixes band types {sorted(dtypes)}; allowed: one dtype for all bands')
        return Header(dsize=(src.width, src.height), num_bands=src.count, dtype=np.dtype(src.dtypes[0]),
                      num_overviews=len(src.overviews(1)), nodata=src.nodata)

    def _read(self, sl_y, sl_x, overview, bands):
        stack = self._stack if self._stack is not None else self._page_stack()
        if stack is not False:
            return stack[sl_y, sl_x] if bands is None else stack[sl_y, sl_x][:, :, bands]
        src = self._handle(overview)
        return read_repeating_edges(partial(self._read_stored, src, bands), sl_y, sl_x, src.height, src.width)

    def _read_stored(self, src, bands: list[int] | None, sl_y: slice, sl_x: slice) -> np.ndarray:
        """A window within the pixels ``src`` stores (GDAL would resample a larger one into ``out``)."""
        indexes = None if bands is None else [b + 1 for b in bands]
        window = Window(sl_x.start, sl_y.start, sl_x.stop - sl_x.start, sl_y.stop - sl_y.start)
        out = np.empty((src.count if bands is None else len(bands), window.height, window.width),
                       dtype=self._header.dtype)
        if out.size:
            try:
                with self._env():
                    src.read(indexes, window=window, out=out)
            except RasterioIOError as ex:
                raise_if_out_of_descriptors(ex, self.fpath)
                raise ImageReadError(f'cannot decode window {window} of {self.fpath}: {ex}') from ex
        return out.transpose(1, 2, 0)

    def _close_handles(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles = {}

    def close(self) -> None:
        if self._handles or (self._stack is not None and self._stack is not False):
            self._close_handles()
            if self._stack is not False:
                self._stack = None  # a page stack is mapped (or decoded) again on the next read
            self._resized()


def read_repeating_edges(read: Callable[[slice, slice], np.ndarray], sl_y: slice, sl_x: slice,
                         height: int, width: int) -> np.ndarray:
    """``read(sl_y, sl_x)`` for a window that may pass the ``height x width`` pixels a level stores.

    GDAL may round an overview's size down where the pyramid rounds up
    (:func:`~ndsampler.delayed.readers._base.overview_dsize`: ``ceil(d / 2**k)``); the rows
    and columns past the stored ones repeat the last stored one. ``read`` is only given
    windows within the stored pixels.

    Example
    -------
    >>> data = np.arange(6).reshape(2, 3, 1)
    >>> read_repeating_edges(lambda y, x: data[y, x], slice(1, 3), slice(1, 4), 2, 3)[..., 0]
    array([[4, 5, 5],
           [4, 5, 5]])
    """
    if sl_y.stop <= height and sl_x.stop <= width or sl_y.start == sl_y.stop or sl_x.start == sl_x.stop:
        return read(sl_y, sl_x)
    rows = np.minimum(np.arange(sl_y.start, sl_y.stop), height - 1)
    cols = np.minimum(np.arange(sl_x.start, sl_x.stop), width - 1)
    inside = read(slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
    return inside[rows - rows[0]][:, cols - cols[0]]


def tiff_page_stack(fpath: str) -> np.ndarray | None:
    """The ``(H, W, C)`` pixels of a TIFF written by tifffile as ``H`` pages of ``(W, C)``, else None.

    tifffile (which kwimage uses when GDAL's Python bindings are missing) stores an
    image whose band count is not 1, 3 or 4 as a stack of pages, one per row, and
    records the array's shape in its 'shaped' metadata; GDAL then sees a 1-band
    ``(W, C)`` raster. Only files carrying that metadata for a 3-d array of one page
    per row qualify. Uncompressed data is memory-mapped (windows read only their
    rows); anything else is decoded once.

    Example
    -------
    >>> import tempfile, pathlib, numpy as np, tifffile
    >>> data = np.arange(2 * 5 * 2, dtype=np.uint16).reshape(2, 5, 2)
    >>> fpath = str(pathlib.Path(tempfile.mkdtemp()) / 'two_bands.tif')
    >>> tifffile.imwrite(fpath, data)  # as kwimage.imwrite does without GDAL
    >>> stack = tiff_page_stack(fpath)
    >>> stack.shape, bool((stack == data).all())
    ((2, 5, 2), True)
    """
    import tifffile
    try:
        with tifffile.TiffFile(fpath) as tif:
            meta = tif.shaped_metadata
            series = tif.series[0]
            shape = tuple(series.shape)
            is_stack = (bool(meta) and tuple(meta[0].get('shape', ())) == shape and len(shape) == 3
                        and len(series.pages) == shape[0] and tuple(series.pages[0].shape) == shape[1:])
            if not is_stack:
                return None
            try:
                data = tifffile.memmap(fpath, mode='r', series=0)
            except ValueError:  # compressed or not contiguous: decode the stack once
                data = series.asarray()
    except (tifffile.TiffFileError, OSError, ValueError) as ex:
        raise_if_out_of_descriptors(ex, fpath)
        raise ImageReadError(f'cannot read {fpath} as a TIFF page stack: {ex}') from ex
    data = data.reshape(shape)
    if not isinstance(data, np.memmap):
        data.flags.writeable = False
    return data


class Cv2Reader(Reader):
    """PNG, JPEG and other formats: the header comes from PIL (no decode); reads decode the whole image once."""

    __slots__ = ('_data',)

    def __init__(self, fpath: str, on_resize: Callable[[Reader], None] | None = None):
        super().__init__(fpath, on_resize)
        self._data: np.ndarray | None = None

    def _reset(self) -> None:
        self._data = None

    @property
    def nbytes(self) -> int:
        return 4096 if self._data is None else int(self._data.nbytes)

    @property
    def num_handles(self) -> int:
        return 0  # PIL and cv2 close the file after reading

    def _decode(self) -> np.ndarray:
        if self._data is None:
            data = cv2.imread(self.fpath, cv2.IMREAD_UNCHANGED)
            if data is None:
                raise ImageReadError(f'cannot decode {self.fpath}; allowed: an image format cv2 reads')
            data = _as_hwc(data, self.fpath)
            to_rgb = _TO_RGB.get(data.shape[2])
            if to_rgb is not None:  # cv2's SIMD swap is ~8x faster than a strided numpy copy
                data = cv2.cvtColor(data, to_rgb)
            self._data = np.ascontiguousarray(data)
            self._data.flags.writeable = False
            self._resized()
        return self._data

    def _read_header(self) -> Header:
        try:
            from PIL import Image
            with Image.open(self.fpath) as img:
                mode, (w, h) = img.mode, img.size
            bands, dtype = _PIL_MODES[mode]
        except (OSError, KeyError) as ex:
            raise_if_out_of_descriptors(ex, self.fpath)
            data = self._decode()
            return Header(dsize=(data.shape[1], data.shape[0]), num_bands=data.shape[2], dtype=data.dtype)
        return Header(dsize=(w, h), num_bands=bands, dtype=np.dtype(dtype))

    def _read(self, sl_y, sl_x, overview, bands):
        data = self._decode()
        if bands is None:
            return data[sl_y, sl_x]
        return data[sl_y, sl_x][:, :, bands]

    def close(self) -> None:
        if self._data is not None:
            self._data = None
            self._resized()


#: cv2 colour conversions from its BGR(A) band order, by band count.
_TO_RGB = {3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGBA}

#: PIL image modes whose decode by cv2 IMREAD_UNCHANGED gives these (bands, dtype).
_PIL_MODES = {
    '1': (1, np.uint8),
    'L': (1, np.uint8),
    'RGB': (3, np.uint8),
    'RGBA': (4, np.uint8),
    'I;16': (1, np.uint16),
    'I;16B': (1, np.uint16),
}


def reader_class_for(fpath: str) -> type[Reader]:
    """Pick the reader class for a path by its suffix (TIFF-likes and every remote path go to rasterio)."""
    if is_remote(fpath):
        return RasterioReader
    suffix = os.path.splitext(fpath)[1].lower()
    if suffix == '.npy':
        return NpyReader
    if suffix in _TIFF_SUFFIXES:
        return RasterioReader
    return Cv2Reader
