"""TIFF structure without GDAL: the IFDs of a (Cloud-Optimized) GeoTIFF, and decoding its tiles.

Pure functions over bytes, for :class:`~ndsampler.delayed.readers.RemoteCogReader`:
:func:`parse_layout` reads the image file directories (classic and BigTIFF, either
byte order) through a ``get(offset, size)`` callable; :func:`decode_block` turns one
tile's (or strip's) bytes into pixels. Codecs: none, DEFLATE (zlib) and ZSTD (the
optional ``zstandard`` package); predictors 1, 2 (horizontal) and 3 (floating
point), as GDAL writes them. Anything else is :class:`UnsupportedTiff` and is read
through GDAL instead.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ndsampler.errors import ImageReadError

__all__ = ['TiffLevel', 'TiffLayout', 'UnsupportedTiff', 'parse_layout', 'decode_block']

#: ``get(offset, size)``: ``size`` bytes of the file from ``offset``.
GetBytes = Callable[[int, int], bytes]

_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_TYPE_CODE = {1: 'u1', 2: 'u1', 3: 'u2', 4: 'u4', 5: 'u4', 6: 'i1', 7: 'u1', 8: 'i2', 9: 'i4', 10: 'i4', 11: 'f4',
              12: 'f8', 13: 'u4', 16: 'u8', 17: 'i8', 18: 'u8'}
_SAMPLE_KIND = {1: 'u', 2: 'i', 3: 'f'}

#: TIFF compression codes decoded here (1 none, 8 / 32946 DEFLATE, 50000 ZSTD).
_CODECS = {1: 'none', 8: 'deflate', 32946: 'deflate', 50000: 'zstd'}


class UnsupportedTiff(Exception):
    """A valid TIFF this module does not decode (a codec, predictor or layout GDAL must read)."""


@dataclass(frozen=True)
class TiffLevel:
    """One pyramid level: its size, block grid and where each block's bytes are.

    Blocks are tiles, or strips (``block_w == width``). ``offsets`` and ``counts``
    hold one entry per block, row-major, per band plane when planar.
    """

    width: int
    height: int
    block_w: int
    block_h: int
    offsets: np.ndarray
    counts: np.ndarray

    @property
    def blocks_across(self) -> int:
        return -(-self.width // self.block_w)

    @property
    def blocks_down(self) -> int:
        return -(-self.height // self.block_h)


@dataclass(frozen=True)
class TiffLayout:
    """What a reader needs to decode any window: pixel type, codec, and every level (0 = full resolution)."""

    levels: tuple[TiffLevel, ...]
    num_bands: int
    dtype: np.dtype
    codec: str
    predictor: int
    planar: bool
    nodata: float | None
    byteorder: str


def _read_ifd(get: GetBytes, offset: int, order: str, big: bool) -> tuple[dict[int, np.ndarray | bytes], int]:
    """The tags of the IFD at ``offset`` (numbers as arrays, ASCII as bytes) and the next IFD's offset."""
    count_fmt, entry_size, value_size = ('Q', 20, 8) if big else ('H', 12, 4)
    head = 8 if big else 2
    (num,) = struct.unpack(order + count_fmt, get(offset, head))
    raw = get(offset + head, num * entry_size + value_size)
    tags: dict[int, np.ndarray | bytes] = {}
    for i in range(num):
        entry = raw[i * entry_size:(i + 1) * entry_size]
        if big:
            code, typ, count = struct.unpack(order + 'HHQ', entry[:12])
            inline = entry[12:20]
        else:
            code, typ, count = struct.unpack(order + 'HHI', entry[:8])
            inline = entry[8:12]
        if typ not in _TYPE_SIZE:
            continue  # a type from a later TIFF revision: not a tag we read
        nbytes = _TYPE_SIZE[typ] * count
        if nbytes <= value_size:
            data = inline[:nbytes]
        else:
            (pointer,) = struct.unpack(order + ('Q' if big else 'I'), inline)
            data = get(pointer, nbytes)
        if typ == 2:
            tags[code] = data.rstrip(b'\0')
        else:
            tags[code] = np.frombuffer(data, dtype=np.dtype(_TYPE_CODE[typ]).newbyteorder(order))
    (next_offset,) = struct.unpack(order + ('Q' if big else 'I'), raw[num * entry_size:])
    return tags, next_offset


def _one(tags: dict, code: int, default: int | None = None) -> int:
    value = tags.get(code)
    if value is None:
        if default is None:
            raise UnsupportedTiff(f'tag {code} missing')
        return default
    return int(value[0])


def _level(tags: dict) -> TiffLevel:
    width, height = _one(tags, 256), _one(tags, 257)
    if 322 in tags:
        block_w, block_h = _one(tags, 322), _one(tags, 323)
        offsets, counts = tags.get(324), tags.get(325)
    else:
        block_w, block_h = width, min(_one(tags, 278, height), height)
        offsets, counts = tags.get(273), tags.get(279)
    if offsets is None or counts is None or len(offsets) != len(counts):
        raise UnsupportedTiff('no block offsets / byte counts')
    return TiffLevel(width, height, block_w, block_h, offsets.astype(np.int64), counts.astype(np.int64))


def parse_layout(get: GetBytes) -> TiffLayout:
    """Read a TIFF's IFD chain into a :class:`TiffLayout` (levels sorted by decreasing size).

    The first IFD is the image; reduced-resolution IFDs (``NewSubfileType`` bit 1)
    are its overviews, as GDAL lists them; mask IFDs (bit 4) are skipped.

    Raises
    ------
    ImageReadError
        Not a TIFF.
    UnsupportedTiff
        A TIFF whose codec, predictor, sample layout or extra (mask-less) pages are
        not decoded here.
    """
    head = get(0, 16)
    if head[:2] == b'II':
        order = '<'
    elif head[:2] == b'MM':
        order = '>'
    else:
        raise ImageReadError(f'not a TIFF (starts with {head[:4]!r}); allowed: a TIFF / COG')
    (magic,) = struct.unpack(order + 'H', head[2:4])
    if magic == 42:
        big, (offset,) = False, struct.unpack(order + 'I', head[4:8])
    elif magic == 43:
        big, (offset,) = True, struct.unpack(order + 'Q', head[8:16])
    else:
        raise ImageReadError(f'not a TIFF (version {magic}); allowed: 42 (TIFF) or 43 (BigTIFF)')
    ifds = []
    seen = set()
    while offset and offset not in seen:
        seen.add(offset)
        tags, offset = _read_ifd(get, offset, order, big)
        ifds.append(tags)
    if not ifds:
        raise ImageReadError('a TIFF without an image directory; allowed: a TIFF / COG')
    main = ifds[0]
    overviews = []
    for tags in ifds[1:]:
        kind = _one(tags, 254, 0)
        if kind & 4:
            continue  # a mask
        if not kind & 1:
            raise UnsupportedTiff('several full-resolution pages')
        overviews.append(tags)
    for tags in overviews:
        for code in (258, 259, 277, 284, 317, 339):
            if not np.array_equal(tags.get(code, ()), main.get(code, ())):
                raise UnsupportedTiff(f'tag {code} differs between levels')
    codec = _CODECS.get(_one(main, 259, 1))
    if codec is None:
        raise UnsupportedTiff(f'compression {_one(main, 259, 1)}')
    if codec == 'zstd':
        try:
            import zstandard  # noqa: F401
        except ImportError:
            raise UnsupportedTiff('ZSTD without the zstandard package') from None
    bits = main.get(258, np.array([1]))
    kinds = main.get(339, np.array([1]))
    if len(set(bits.tolist())) != 1 or len(set(kinds.tolist())) != 1:
        raise UnsupportedTiff('mixed sample types')
    kind = _SAMPLE_KIND.get(int(kinds[0]))
    nbits = int(bits[0])
    if kind is None or nbits not in (8, 16, 32, 64) or (kind == 'f' and nbits < 32):
        raise UnsupportedTiff(f'samples of {nbits} bits, format {int(kinds[0])}')
    predictor = _one(main, 317, 1)
    if predictor not in (1, 2, 3) or (predictor == 3 and kind != 'f'):
        raise UnsupportedTiff(f'predictor {predictor}')
    if _one(main, 262, 1) == 6:
        raise UnsupportedTiff('YCbCr')
    nodata_text = main.get(42113)
    nodata = None
    if nodata_text:
        try:
            nodata = float(nodata_text.decode('ascii').strip())
        except ValueError:
            raise UnsupportedTiff(f'nodata {nodata_text!r}') from None
    levels = sorted((_level(t) for t in [main] + overviews), key=lambda lv: -lv.width)
    bands = _one(main, 277, 1)
    planar = _one(main, 284, 1) == 2 and bands > 1
    for level in levels:
        expect = level.blocks_across * level.blocks_down * (bands if planar else 1)
        if len(level.offsets) != expect:
            raise UnsupportedTiff(f'{len(level.offsets)} blocks where {expect} were expected')
    dtype = np.dtype(f'{kind}{nbits // 8}')
    return TiffLayout(tuple(levels), bands, dtype, codec, predictor, planar, nodata, order)


def _decompress(data: bytes, codec: str, nbytes: int) -> bytes:
    """``data`` decompressed (``nbytes``: the most a block holds; GDAL's ZSTD frames do not record their size)."""
    if codec == 'deflate':
        return zlib.decompress(data)
    if codec == 'zstd':
        import zstandard
        return zstandard.ZstdDecompressor().decompress(data, max_output_size=nbytes)
    return data


def decode_block(data: bytes, layout: TiffLayout, level: TiffLevel) -> np.ndarray:
    """Pixels of one block as ``(block_h, block_w, samples)`` in native byte order (samples: 1 when planar).

    A strip shorter than ``block_h`` rows (the last one) comes back with the rows it holds.

    Raises
    ------
    ImageReadError
        Bytes that do not decode to a block of this layout (damaged or truncated).
    """
    spp = 1 if layout.planar else layout.num_bands
    itemsize = layout.dtype.itemsize
    row_bytes = level.block_w * spp * itemsize
    try:
        raw = _decompress(data, layout.codec, row_bytes * level.block_h)
    except Exception as ex:  # zlib.error, zstandard.ZstdError
        raise ImageReadError(f'cannot decompress a {layout.codec} block: {ex}') from ex
    rows = min(len(raw) // row_bytes, level.block_h) if row_bytes else 0
    if rows == 0:
        raise ImageReadError(f'a block of {len(raw)} bytes; allowed: at least one row of {row_bytes} bytes')
    raw = raw[:rows * row_bytes]
    if layout.predictor == 3:
        # bytes are differenced against the byte one pixel (spp bytes) before, across the whole row
        planes = np.frombuffer(raw, np.uint8).reshape(rows, row_bytes // spp, spp)
        planes = np.cumsum(planes, axis=1, dtype=np.uint8).reshape(rows, itemsize, level.block_w * spp)
        # byte planes are most significant first, whatever the file's byte order
        values = np.ascontiguousarray(planes.transpose(0, 2, 1)).view(layout.dtype.newbyteorder('>'))
        return values.reshape(rows, level.block_w, spp).astype(layout.dtype, copy=False)
    values = np.frombuffer(raw, layout.dtype.newbyteorder(layout.byteorder)).reshape(rows, level.block_w, spp)
    values = values.astype(layout.dtype, copy=False)
    if layout.predictor == 2:
        values = np.cumsum(values, axis=1, dtype=layout.dtype)
    return values
