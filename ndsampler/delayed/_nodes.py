"""The delayed-operation nodes (SPEC §4). Nothing is read until ``finalize()``."""
from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod
from typing import Any, Sequence

import kwimage
import numpy as np

from ndsampler._typing import AffineLike, ChannelsLike, DSize, PathLike
from ndsampler.delayed import _channels as chans
from ndsampler.delayed._kernels import (Padding, border_fill, check_interpolation, dequantize_array, fill_value,
                                        pad_window, warp_array)
from ndsampler.delayed._quantization import coerce_quantization
from ndsampler.delayed._resample import _nearest_index
from ndsampler.delayed.readers import get_reader
from ndsampler.delayed.readers._base import overview_dsize
from ndsampler.errors import InvalidOptionError, TransformError, WindowError
from ndsampler.geometry import affine_of, clip_slices, is_integer_translation, normalize_slices, pad_slices, warp_box

__all__ = ['DelayedImage', 'DelayedLoad', 'DelayedIdentity', 'DelayedNans', 'DelayedCrop', 'DelayedWarp',
           'DelayedDequantize', 'DelayedOverview', 'DelayedChannelConcat', 'window_pixels']

_NODATA_METHODS = (None, 'float')


def _check_dsize(dsize) -> DSize:
    try:
        w, h = (int(d) for d in dsize)
        ok = w >= 1 and h >= 1 and (w, h) == tuple(dsize)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidOptionError('dsize', dsize, "'auto' or (width, height) with integers >= 1")
    return w, h


def _auto_dsize(matrix: np.ndarray, dsize: DSize) -> DSize:
    """The extent ``(w, h)`` of the warped image (right / bottom edges rounded up).

    WindowError when the warp collapses a non-empty side to no pixel (a flip or a
    negative scale leaves the image at negative coordinates).
    """
    box = warp_box([0, 0, dsize[0], dsize[1]], matrix).data[0]
    w = max(int(math.ceil(round(box[2], 6))), 0)
    h = max(int(math.ceil(round(box[3], 6))), 0)
    if (dsize[0] and not w) or (dsize[1] and not h):
        raise WindowError(f'warp {np.asarray(matrix)[:2].tolist()} of a {dsize[0]}x{dsize[1]} (w x h) image gives '
                          f"the automatic dsize {(w, h)} with a zero side (the image lands at negative "
                          "coordinates); allowed: a warp that keeps the image at x, y >= 0, or an explicit dsize")
    return w, h


class DelayedImage(ABC):
    """Base of every node: an (H, W, C) image known by size, channels and dtype, computed on ``finalize``."""

    __slots__ = ()

    # -- metadata ------------------------------------------------------------------------------
    @property
    @abstractmethod
    def dsize(self) -> DSize:
        """``(width, height)``."""

    @property
    @abstractmethod
    def channels(self):
        """The channels as a ``FusedChannelSpec``."""

    @property
    @abstractmethod
    def dtype(self) -> np.dtype:
        """Pixel type of the finalized array."""

    @property
    def num_channels(self) -> int:
        """Number of bands."""
        return self.channels.numel()

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(height, width, num_channels)``."""
        w, h = self.dsize
        return (h, w, self.num_channels)

    @property
    def children(self) -> tuple[DelayedImage, ...]:
        """Input nodes."""
        return ()

    # -- building --------------------------------------------------------------------------------
    def crop(self, space_slice=None, chan_idxs: Sequence[int] | None = None, clip: bool = True,
             wrap: bool = True, pad: Any = 0) -> DelayedImage:
        """A window in space and optionally a subset of channels.

        Parameters
        ----------
        space_slice : (slice_y, slice_x) | None
            numpy-style window (None = everything).
        chan_idxs : Sequence[int] | None
            Band positions to keep.
        clip : bool
            Clip the window to the image; when False, out-of-bounds pixels are
            padded (0 for integer data, NaN for float).
        wrap : bool
            Negative bounds count from the end (numpy); when False they are literal.
        pad : int | Sequence
            Extra context around the window (per axis, or (before, after) pairs).
        """
        w, h = self.dsize
        slices = normalize_slices(() if space_slice is None else space_slice, (h, w), wrap=wrap)
        if pad:
            slices = pad_slices(slices, pad)
        if clip:
            slices = clip_slices(slices, (h, w))[0]
        if chan_idxs is not None:
            chan_idxs = chans.channel_positions(self.channels, list(chan_idxs))[1]
        return DelayedCrop(self, slices, chan_idxs)

    def __getitem__(self, index) -> DelayedImage:
        """numpy-style ``node[y0:y1, x0:x1]`` or ``node[y0:y1, x0:x1, chans]`` (always 3-d; clipped)."""
        if not isinstance(index, tuple):
            index = (index,)
        if len(index) > 3:
            raise WindowError(f'index {index!r} has {len(index)} axes; allowed: at most 3 (y, x, channel)')
        chan_idxs = None
        if len(index) == 3:
            chan = index[2]
            num = self.num_channels
            if isinstance(chan, slice):
                chan_idxs = list(range(num))[chan]
            elif isinstance(chan, (int, np.integer)):
                chan_idxs = [int(chan)]
            else:
                chan_idxs = list(chan)
        return self.crop(index[:2], chan_idxs)

    def warp(self, transform: AffineLike, dsize: Any = 'auto', interpolation: str = 'linear',
             antialias: bool = True, border_value: Any = 'auto') -> DelayedImage:
        """An affine warp (corner convention) into ``dsize`` ('auto': the warped extent)."""
        return DelayedWarp(self, transform, dsize=dsize, interpolation=interpolation, antialias=antialias,
                           border_value=border_value)

    def scale(self, factor: float | tuple[float, float], dsize: Any = 'auto', **kwargs) -> DelayedImage:
        """Warp by a positive scale factor (or ``(sx, sy)``); WindowError for a factor <= 0."""
        factors = (factor, factor) if np.isscalar(factor) else tuple(factor)
        if not all(isinstance(f, (int, float, np.number)) and f > 0 for f in factors):
            w, h = self.dsize
            raise WindowError(f'scale factor={factor!r} of a {w}x{h} (w x h) image; allowed: a positive number '
                              'or a pair of positive numbers (use warp for flips)')
        return self.warp(factor, dsize=dsize, **kwargs)

    def resize(self, dsize: DSize, **kwargs) -> DelayedImage:
        """Warp to exactly ``dsize`` (w, h)."""
        new_w, new_h = _check_dsize(dsize)
        w, h = self.dsize
        if w == 0 or h == 0:
            raise WindowError(f'cannot resize an empty {w}x{h} image to {dsize}')
        return self.warp((new_w / w, new_h / h), dsize=(new_w, new_h), **kwargs)

    def dequantize(self, quantization: dict) -> DelayedImage:
        """Integer -> float (float32 unless ``orig_dtype``) per a kwcoco quantization dict (nodata -> NaN).

        Only ``quant_max`` is required; ``orig_min=0, orig_max=1, quant_min=0``
        and ``nodata=None`` are the defaults, as in delayed_image.
        """
        return DelayedDequantize(self, quantization)

    def get_overview(self, overview: int) -> DelayedImage:
        """Pyramid level ``overview`` (downscaled by ``2 ** overview``)."""
        return self if overview == 0 else DelayedOverview(self, overview)

    def take_channels(self, channels: Any) -> DelayedImage:
        """Select channels by name (a spec) or position; UnknownChannelError when missing."""
        _, idxs = chans.channel_positions(self.channels, channels)
        return DelayedCrop(self, self._full_slices(), idxs)

    def _full_slices(self) -> tuple[slice, slice]:
        w, h = self.dsize
        return slice(0, h), slice(0, w)

    # -- evaluation --------------------------------------------------------------------------------
    def optimize(self) -> DelayedImage:
        """An equivalent, cheaper tree (see :mod:`ndsampler.delayed._optimize`)."""
        from ndsampler.delayed._optimize import optimize
        return optimize(self)

    def finalize(self, optimize: bool = True) -> np.ndarray:
        """Compute the pixels as an (H, W, C) array the caller owns."""
        node = self.optimize() if optimize else self
        arr = node._finalize()
        return arr if arr.flags.writeable else arr.copy()

    @abstractmethod
    def _finalize(self) -> np.ndarray:
        """Compute (H, W, C); may return a read-only view of shared data."""

    # -- inspection --------------------------------------------------------------------------------
    def _label(self) -> str:
        return type(self).__name__

    def write_network_text(self, file=None) -> str:
        """Write (default: stdout) and return a readable rendering of the tree, root first."""
        lines: list[str] = []

        def visit(node, prefix, last, root):
            head = '' if root else prefix + ('└── ' if last else '├── ')
            lines.append(f'{head}{node._label()} dsize={node.dsize} chans={node.num_channels} dtype={np.dtype(node.dtype).name}')
            kids = node.children
            child_prefix = '' if root else prefix + ('    ' if last else '│   ')
            for i, kid in enumerate(kids):
                visit(kid, child_prefix, i == len(kids) - 1, False)

        visit(self, '', True, True)
        text = '\n'.join(lines)
        print(text, file=sys.stdout if file is None else file)
        return text

    def __repr__(self) -> str:
        return f'<{self._label()} dsize={self.dsize} chans={self.num_channels}>'

    # -- native-resolution sampling -------------------------------------------------------------
    def undo_warps(self, remove: Sequence[str] | None = ('scale',), retain: Sequence[str] | None = None,
                   squash_nans: bool = False, return_warps: bool = False):
        """Per band part, the pixels of this window at the part's own resolution (SPEC §4).

        The tree is optimized; each part of a channel concat (or the whole tree)
        is this window warped by the removed components of its window-to-source
        warp (ndsampler 0.8's rule): anchored at the window's origin,
        ``ceil(w * sx) x ceil(h * sy)`` pixels whatever the window's offset on the
        source's grid (a window off that grid is resampled by the sub-pixel shift).

        Parameters
        ----------
        remove : Sequence[str]
            Warp parameters to undo, from ``offset, scale, shearx, theta``.
        retain : Sequence[str] | None
            Alternatively, the parameters to keep (everything else is undone).
        squash_nans : bool
            Parts that are all NaN (missing channels) become 1x1.
        return_warps : bool
            Also return, per part, the affine mapping the part's pixels into this window.

        Returns
        -------
        list[DelayedImage] | (list[DelayedImage], list[kwimage.Affine])
        """
        from ndsampler.delayed._undo import undo_warps
        return undo_warps(self, remove=remove, retain=retain, squash_nans=squash_nans, return_warps=return_warps)


class DelayedLoad(DelayedImage):
    """One file on disk, read through :func:`~ndsampler.delayed.readers.get_reader`.

    Given ``channels`` (or the band count), ``dsize``, ``num_overviews`` and
    ``dtype`` it reads nothing until finalize; otherwise the missing metadata
    comes from the file's header on first use (or on :meth:`prepare`).

    Parameters
    ----------
    fpath : PathLike
    channels : ChannelsLike
        Names of the bands (None: unnamed bands ``u.0|u.1|...``).
    dsize : (w, h) | None
    num_overviews : int | None
    nodata_method : None | 'float'
        'float': pixels equal to the nodata value become NaN (float32 output).
    dtype : np.dtype | None
    nodata : float | None
        The nodata value ``nodata_method='float'`` masks; None: the one the file's
        header declares (a ``.npy`` has none, so callers pass its source's).

    Example
    -------
    >>> import tempfile, pathlib, numpy as np
    >>> fpath = pathlib.Path(tempfile.mkdtemp()) / 'a.npy'
    >>> np.save(fpath, np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    >>> node = DelayedLoad(fpath, channels='r|g|b')[1:3, 0:2].take_channels('b')
    >>> node.finalize()[..., 0].tolist()
    [[14, 17], [26, 29]]
    """

    __slots__ = ('fpath', '_chan_raw', '_channels', '_dsize', '_num_overviews', 'nodata_method', '_dtype',
                 '_nodata', '_prepared')

    def __init__(self, fpath: PathLike, channels: ChannelsLike = None, dsize: DSize | None = None,
                 num_overviews: int | None = None, nodata_method: str | None = None, dtype: Any = None,
                 nodata: float | None = None):
        if nodata_method not in _NODATA_METHODS:
            raise InvalidOptionError('nodata_method', nodata_method, _NODATA_METHODS)
        self.fpath = fpath
        self._chan_raw = channels
        self._channels = None
        self._dsize = None if dsize is None else (int(dsize[0]), int(dsize[1]))
        self._num_overviews = num_overviews
        self.nodata_method = nodata_method
        self._dtype = None if dtype is None else np.dtype(dtype)
        self._nodata = nodata
        self._prepared = False

    def prepare(self) -> DelayedLoad:
        """Fill metadata from the file header (no pixels); SourceNotFoundError if missing."""
        header = get_reader(self.fpath).header()
        self._dsize = header.dsize
        self._num_overviews = header.num_overviews
        self._dtype = header.dtype
        if self._nodata is None:
            self._nodata = header.nodata
        self._channels = chans.coerce_channels(self._chan_raw, header.num_bands)
        self._prepared = True
        return self

    def _need(self, value) -> None:
        if value is None and not self._prepared:
            self.prepare()

    @property
    def dsize(self) -> DSize:
        self._need(self._dsize)
        return self._dsize

    @property
    def num_overviews(self) -> int:
        """Number of 2x pyramid levels in the file."""
        self._need(self._num_overviews)
        return self._num_overviews

    @property
    def channels(self):
        if self._channels is None:
            if self._chan_raw is None:
                self.prepare()
            else:
                self._channels = chans.coerce_channels(self._chan_raw)
        return self._channels

    @property
    def dtype(self) -> np.dtype:
        if self.nodata_method == 'float':
            return np.dtype(np.float32)
        self._need(self._dtype)
        return self._dtype

    def _label(self) -> str:
        return f'Load {self.fpath}'

    def read(self, slices=None, overview: int = 0, bands: Sequence[int] | None = None) -> np.ndarray:
        """Read an in-bounds window at a pyramid level (nodata handled per ``nodata_method``)."""
        reader = get_reader(self.fpath)
        arr = reader.read(slices, overview=overview, bands=bands)
        if self.nodata_method == 'float':
            nodata = self._nodata
            if nodata is None and not self._prepared:
                nodata = reader.header().nodata
            out = arr.astype(np.float32)
            if nodata is not None:
                out[arr == nodata] = np.nan
            return out
        return arr

    def _finalize(self) -> np.ndarray:
        return self.read()

    def __getstate__(self):
        return {k: getattr(self, k) for k in self.__slots__}

    def __setstate__(self, state):
        for k, v in state.items():
            setattr(self, k, v)


class DelayedIdentity(DelayedImage):
    """An in-memory array (2-d or 3-d) as a leaf."""

    __slots__ = ('data', '_channels')

    def __init__(self, array: np.ndarray, channels: ChannelsLike = None):
        data = np.asarray(array)
        if data.ndim == 2:
            data = data[:, :, None]
        if data.ndim != 3:
            raise InvalidOptionError('array.ndim', data.ndim, [2, 3])
        data = data.view()
        data.flags.writeable = False
        self.data = data
        self._channels = chans.coerce_channels(channels, data.shape[2])

    @property
    def dsize(self) -> DSize:
        return (self.data.shape[1], self.data.shape[0])

    @property
    def channels(self):
        return self._channels

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def _label(self) -> str:
        return 'Identity'

    def _finalize(self) -> np.ndarray:
        return self.data


class DelayedNans(DelayedImage):
    """An all-NaN float32 image (missing channels of a concat); allocated only on finalize."""

    __slots__ = ('_dsize', '_channels')

    def __init__(self, dsize: DSize, channels: ChannelsLike):
        self._dsize = (int(dsize[0]), int(dsize[1]))
        self._channels = chans.coerce_channels(channels)

    @property
    def dsize(self) -> DSize:
        return self._dsize

    @property
    def channels(self):
        return self._channels

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float32)

    def _label(self) -> str:
        return 'Nans'

    def _finalize(self) -> np.ndarray:
        return np.full(self.shape, np.nan, dtype=np.float32)


class _Unary(DelayedImage):
    __slots__ = ('child',)

    @property
    def children(self):
        return (self.child,)

    @property
    def dsize(self) -> DSize:
        return self.child.dsize

    @property
    def channels(self):
        return self.child.channels

    @property
    def dtype(self) -> np.dtype:
        return self.child.dtype


class DelayedCrop(_Unary):
    """A window ``(slice_y, slice_x)`` (may leave the child: padded) and optional band subset.

    Over a load (or an overview of a load) finalize reads just the window through the reader.
    """

    __slots__ = ('slices', 'chan_idxs')

    def __init__(self, child: DelayedImage, slices: tuple[slice, slice], chan_idxs: Sequence[int] | None = None):
        self.child = child
        self.slices = slices
        self.chan_idxs = None if chan_idxs is None else list(chan_idxs)

    @property
    def dsize(self) -> DSize:
        sl_y, sl_x = self.slices
        return (sl_x.stop - sl_x.start, sl_y.stop - sl_y.start)

    @property
    def channels(self):
        return chans.subset_channels(self.child.channels, self.chan_idxs)

    @property
    def num_channels(self) -> int:
        return self.child.num_channels if self.chan_idxs is None else len(self.chan_idxs)

    def _label(self) -> str:
        (y, x) = self.slices
        extra = '' if self.chan_idxs is None else f' bands={self.chan_idxs}'
        return f'Crop y={y.start}:{y.stop} x={x.start}:{x.stop}{extra}'

    def _finalize(self) -> np.ndarray:
        child = self.child
        w, h = child.dsize
        clipped, widths = clip_slices(self.slices, (h, w))
        arr = _file_window(child, clipped, self.chan_idxs)
        if arr is None:
            arr = child._finalize()[clipped]
            if self.chan_idxs is not None:
                arr = arr[:, :, self.chan_idxs]
        return pad_window(arr, widths)


def _file_window(node: DelayedImage, clipped: tuple[slice, slice], bands: Sequence[int] | None = None
                 ) -> np.ndarray | None:
    """The in-bounds ``clipped`` window (bands ``bands``) of ``node`` in one reader call, or None when it is no file.

    A file is a :class:`DelayedLoad`, an overview level its file holds, or a band
    subset of either (what :meth:`Frames.load_delayed` gives for one aligned file and
    some channels). The array may be a read-only view of the reader's data.
    """
    kind = type(node)
    if kind is DelayedCrop and node.slices == node.child._full_slices():
        inner = node.chan_idxs if bands is None or node.chan_idxs is None else [node.chan_idxs[i] for i in bands]
        node, bands, kind = node.child, (bands if node.chan_idxs is None else inner), type(node.child)
    if kind is DelayedLoad:
        return node.read(clipped, bands=bands)
    if kind is DelayedOverview and node.reads_file:
        return node.child.read(clipped, overview=node.overview, bands=bands)
    return None


def window_pixels(node: DelayedImage, window: tuple[slice, slice], padding: Padding | None = None,
                  optimize: bool = True, convert=None) -> np.ndarray:
    """The pixels of ``window`` of ``node``: the one window read (clip, one read, one pad).

    ``window`` is the canonical window: ``(slice_y, slice_x)`` of plain ints
    (``start <= stop``, half-open) in ``node``'s pixels; it may leave the image.
    Its in-bounds part is read in one reader call when ``node`` is a file (a load,
    a file's overview level or a band subset of one), else by finalizing ``node``
    cropped to it; ``convert`` (if given) maps those pixels, and the rest of the
    window is filled per ``padding`` (None: NaN for float pixels, 0 otherwise).

    Parameters
    ----------
    node : DelayedImage
    window : tuple[slice, slice]
    padding : Padding | None
    optimize : bool
        Optimize the cropped tree before finalizing it (a file needs none).
    convert : Callable[[np.ndarray], np.ndarray] | None
        Applied to the in-bounds pixels before padding (e.g. a nodata mask).

    Returns
    -------
    np.ndarray
        ``(h, w, c)``, owned by the caller.

    Example
    -------
    >>> import numpy as np
    >>> from ndsampler.delayed import DelayedIdentity
    >>> node = DelayedIdentity(np.arange(4, dtype=np.uint8).reshape(2, 2))
    >>> window_pixels(node, (slice(-1, 2), slice(1, 3)))[..., 0].tolist()
    [[0, 0], [1, 0], [3, 0]]
    """
    w, h = node.dsize
    clipped, widths = clip_slices(window, (h, w))
    arr = _file_window(node, clipped)
    if arr is None:
        arr = DelayedCrop(node, clipped).finalize(optimize=optimize)
    if convert is not None:
        arr = convert(arr)
    out = pad_window(arr, widths, padding)
    return out if out.flags.writeable else out.copy()


class DelayedWarp(_Unary):
    """An affine warp (corner convention) of the child into ``dsize``."""

    __slots__ = ('transform', '_dsize', 'interpolation', 'antialias', 'border_value', 'valid_box')

    def __init__(self, child: DelayedImage, transform: AffineLike, dsize: Any = 'auto',
                 interpolation: str = 'linear', antialias: bool = True, border_value: Any = 'auto',
                 valid_box: Sequence[float] | None = None):
        self.child = child
        #: ltrb box in the child's pixels that holds image data (None: the child's extent);
        #: the optimizer sets it when the child is a window grown beyond the data.
        self.valid_box = valid_box
        self.transform = affine_of(transform)
        matrix = np.asarray(self.transform.matrix, dtype=float)
        det = matrix[0, 0] * matrix[1, 1] - matrix[0, 1] * matrix[1, 0]
        if abs(det) < 1e-12:
            raise TransformError(f'transform={matrix.tolist()} is not invertible (det={det:g}); '
                                 'allowed: an invertible affine')
        self._dsize = _auto_dsize(matrix, child.dsize) if isinstance(dsize, str) and dsize == 'auto' else _check_dsize(dsize)
        self.interpolation = check_interpolation(interpolation)
        self.antialias = bool(antialias)
        if not (border_value == 'auto' or isinstance(border_value, (int, float, np.number))):
            raise InvalidOptionError('border_value', border_value, "'auto' or a number")
        self.border_value = border_value

    @property
    def dsize(self) -> DSize:
        return self._dsize

    @property
    def params(self) -> dict:
        """Interpolation, antialias and border settings (carried when warps are folded)."""
        return {'interpolation': self.interpolation, 'antialias': self.antialias, 'border_value': self.border_value}

    def _label(self) -> str:
        m = np.asarray(self.transform.matrix)
        return (f'Warp {self.interpolation} [[{m[0, 0]:.4g}, {m[0, 1]:.4g}, {m[0, 2]:.4g}], '
                f'[{m[1, 0]:.4g}, {m[1, 1]:.4g}, {m[1, 2]:.4g}]]')

    def _finalize(self) -> np.ndarray:
        arr = self.child._finalize()
        border = fill_value(arr.dtype) if self.border_value == 'auto' else self.border_value
        matrix = np.asarray(self.transform.matrix, dtype=float)
        if is_integer_translation(matrix):
            return _shift_array(arr, matrix, self._dsize, border, self.valid_box)
        return warp_array(arr, matrix, self._dsize, self.interpolation, self.antialias, border, self.valid_box)


def _shift_array(arr: np.ndarray, matrix: np.ndarray, dsize: DSize, border: float,
                 valid_box: Sequence[float] | None) -> np.ndarray:
    """A whole-pixel translation: the pixels copied, the rest ``border`` (as :func:`warp_array` decides it).

    Every interpolation gives exactly this at integer offsets; copying also
    keeps a NaN from reaching its neighbours through a kernel's zero weights.
    """
    tx, ty = int(round(matrix[0, 2])), int(round(matrix[1, 2]))
    w, h = dsize
    sh, sw = arr.shape[:2]
    x0, y0, x1, y1 = 0, 0, sw, sh
    if valid_box is not None:
        # source rows / columns whose centre lies inside valid_box (warp_array's rule)
        edges = [int(e) for e in _nearest_index(np.asarray(valid_box, dtype=float))]
        x0, y0 = min(max(edges[0], 0), sw), min(max(edges[1], 0), sh)
        x1, y1 = max(min(edges[2], sw), x0), max(min(edges[3], sh), y0)
    inner = arr[y0:y1, x0:x1]
    clipped, widths = clip_slices((slice(-ty - y0, h - ty - y0), slice(-tx - x0, w - tx - x0)), inner.shape[:2])
    return pad_window(inner[clipped], widths, Padding(value=border_fill(border, arr.dtype)))


class DelayedDequantize(_Unary):
    """Integer pixels -> floats: ``(q - quant_min) * (orig_max - orig_min) / (quant_max - quant_min) + orig_min``; nodata -> NaN.

    ``quantization`` needs ``quant_max``; the other keys default as in
    delayed_image (``orig_min=0, orig_max=1, quant_min=0, nodata=None,
    orig_dtype='float32'``, see :func:`~ndsampler.delayed._quantization.coerce_quantization`).
    """

    __slots__ = ('quantization',)

    def __init__(self, child: DelayedImage, quantization: dict):
        self.child = child
        self.quantization = coerce_quantization(quantization)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.quantization['orig_dtype'])

    def _label(self) -> str:
        return 'Dequantize'

    def _finalize(self) -> np.ndarray:
        return dequantize_array(self.child._finalize(), self.quantization)


class DelayedOverview(_Unary):
    """Pyramid level ``overview`` of the child: size ``ceil(d / 2**overview)``.

    Over a load whose file has that level it reads the file's overview;
    otherwise the child is downscaled with area interpolation.
    """

    __slots__ = ('overview',)

    def __init__(self, child: DelayedImage, overview: int):
        if not isinstance(overview, (int, np.integer)) or overview < 0:
            raise InvalidOptionError('overview', overview, 'an int >= 0')
        self.child = child
        self.overview = int(overview)

    @property
    def dsize(self) -> DSize:
        return overview_dsize(self.child.dsize, self.overview)

    @property
    def reads_file(self) -> bool:
        """True when the child is a load whose file has this pyramid level."""
        child = self.child
        return type(child) is DelayedLoad and child.num_overviews >= self.overview

    def to_base(self) -> kwimage.Affine:
        """The affine from this level's pixels to the child's pixels."""
        (w, h), (ow, oh) = self.child.dsize, self.dsize
        return kwimage.Affine.scale((w / ow, h / oh))

    def _label(self) -> str:
        return f'Overview {self.overview}'

    def _finalize(self) -> np.ndarray:
        if self.reads_file:
            return self.child.read(overview=self.overview)
        arr = self.child._finalize()
        return warp_array(arr, np.asarray(self.to_base().inv().matrix), self.dsize, 'area', False,
                          fill_value(arr.dtype))


class DelayedChannelConcat(DelayedImage):
    """Parts of one size stacked along channels; ``take_channels`` gives NaN bands for missing names."""

    __slots__ = ('parts', '_dsize')

    def __init__(self, parts: Sequence[DelayedImage], dsize: DSize | None = None):
        parts = list(parts)
        if not parts:
            raise InvalidOptionError('parts', parts, 'at least one node')
        sizes = {tuple(p.dsize) for p in parts}
        if dsize is not None:
            sizes.add((int(dsize[0]), int(dsize[1])))
        if len(sizes) != 1:
            raise WindowError(f'cannot concat parts of sizes {sorted(sizes)}; allowed: one common dsize '
                              '(warp the parts first)')
        self.parts = parts
        self._dsize = sizes.pop()

    @property
    def children(self):
        return tuple(self.parts)

    @property
    def dsize(self) -> DSize:
        return self._dsize

    @property
    def channels(self):
        return chans.concat_channels([p.channels for p in self.parts])

    @property
    def num_channels(self) -> int:
        return sum(p.num_channels for p in self.parts)

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(*[p.dtype for p in self.parts])

    def _label(self) -> str:
        return 'ChannelConcat'

    def take_channels(self, channels: Any) -> DelayedImage:
        """Select channels by name; names no part has become NaN bands (float32)."""
        wanted, idxs = chans.channel_positions(self.channels, channels, allow_missing=True)
        names = wanted.as_list()
        new_parts: list[DelayedImage] = []
        for key, local in chans.band_runs([p.num_channels for p in self.parts], idxs):
            new_parts.append(self._run_node(key, local, names[:len(local)]))
            names = names[len(local):]
        return new_parts[0] if len(new_parts) == 1 else DelayedChannelConcat(new_parts, self._dsize)

    def _run_node(self, key: int, idxs: list, names: list[str]) -> DelayedImage:
        if key < 0:
            return DelayedNans(self._dsize, names)
        part = self.parts[key]
        if idxs == list(range(part.num_channels)):
            return part
        return DelayedCrop(part, self._full_slices(), idxs)

    def _finalize(self) -> np.ndarray:
        arrs = [p._finalize() for p in self.parts]
        dtype = self.dtype
        return np.concatenate([a.astype(dtype, copy=False) for a in arrs], axis=2)
