"""Remote COGs read by our own range requests: headers once per source, tiles fetched concurrently, an LRU tile cache.

GDAL's ``/vsicurl/`` re-reads a file's header in every process and fetches the
tiles of a window one after another. :class:`RemoteCogReader` instead:

- reads the header (the IFDs and tile index, in the first :attr:`RemoteConfig.header_bytes`)
  once per source and keeps its bytes on disk (:attr:`RemoteConfig.header_dpath`), so a fresh
  worker's first sample costs one round trip (two without the disk cache);
- fetches a window's tiles concurrently (:attr:`RemoteConfig.max_workers` threads), adjacent
  byte ranges coalesced into one request, and decodes them itself (:mod:`._tiff`);
- keeps decoded tiles in a per-process LRU cache under :attr:`RemoteConfig.tile_cache_bytes`.

A changed remote file is noticed on its first request in each process: every
range response carries the file's :class:`~ndsampler.io.remote.Validator`
(size, ETag, Last-Modified), and a cached header is only used while it matches.
On a mismatch the header is read again (the cache entry replaced); if the image
itself changed shape or type the read raises :class:`~ndsampler.errors.StaleFrameError`.
Decoded tiles are keyed by the validator too, but a window served wholly from
the tile cache makes no request, so it cannot notice a change.

Files this module does not decode (JPEG, LZW, other codecs or layouts), and
``s3://`` objects when botocore is missing, are read through GDAL
(:class:`~ndsampler.delayed.readers.RasterioReader`) instead.
"""
from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import json
import os
import threading
from collections import OrderedDict
from functools import partial
from typing import Callable

import numpy as np
import ubelt as ub

from ndsampler.delayed.readers._base import Header, Reader
from ndsampler.delayed.readers._formats import RasterioReader, read_repeating_edges, reader_class_for
from ndsampler.delayed.readers._tiff import TiffLayout, TiffLevel, UnsupportedTiff, decode_block, parse_layout
from ndsampler.errors import ImageReadError, InvalidOptionError, StaleFrameError
from ndsampler.io.atomic import atomic_write
from ndsampler.io.remote import Validator, fetch_range, is_remote, range_url, s3_signing_available

__all__ = ['RemoteCogReader', 'RemoteConfig', 'remote_config', 'reads_by_range', 'pool_reader_class']

#: Suffixes of the remote files :class:`RemoteCogReader` takes (others go to GDAL).
_COG_SUFFIXES = ('.tif', '.tiff', '.cog', '.gtiff')


class RemoteConfig:
    """Process-wide settings of :class:`RemoteCogReader` (the object :data:`remote_config`).

    Attributes
    ----------
    enabled : bool
        False: every remote path is read through GDAL ``/vsicurl/`` as before
        (environment ``NDSAMPLER_REMOTE_READER=gdal``).
    header_dpath : str | None
        Folder of the on-disk header cache, shared by every process (environment
        ``NDSAMPLER_REMOTE_HEADERS``; default ``remote_headers`` in ndsampler's user cache
        folder, beside the frame cache of :class:`~ndsampler.frames.SimpleFrames`); None:
        headers are kept in memory only.
    tile_cache_bytes : int
        Byte budget of the decoded-tile LRU cache of this process; 0 disables it.
    max_workers : int
        Concurrent range requests per process.
    header_bytes : int
        Bytes read at once for a header (GDAL's COGs keep every IFD and tile index first).
    merge_gap : int
        Two tiles whose byte ranges are at most this far apart are fetched by one request.
    """

    def __init__(self):
        self.enabled = os.environ.get('NDSAMPLER_REMOTE_READER', 'ours').lower() != 'gdal'
        default_dpath = os.fspath(ub.Path.appdir('ndsampler', type='cache') / 'remote_headers')
        self.header_dpath: str | None = os.environ.get('NDSAMPLER_REMOTE_HEADERS', default_dpath) or None
        self.tile_cache_bytes = 256 << 20
        self.max_workers = 8
        self.header_bytes = 1 << 16
        self.merge_gap = 1 << 14

    @property
    def tile_cache_bytes(self) -> int:
        return self._tile_cache_bytes

    @tile_cache_bytes.setter
    def tile_cache_bytes(self, value: int) -> None:
        if not isinstance(value, int) or value < 0:
            raise InvalidOptionError('tile_cache_bytes', value, 'an int >= 0 (bytes)')
        self._tile_cache_bytes = value
        _tiles.trim(value)

    @property
    def max_workers(self) -> int:
        return self._max_workers

    @max_workers.setter
    def max_workers(self, value: int) -> None:
        if not isinstance(value, int) or value < 1:
            raise InvalidOptionError('max_workers', value, 'an int >= 1 (threads)')
        self._max_workers = value


class _TileCache:
    """Decoded tiles by (url, validator, level, block), least recently used dropped past a byte budget."""

    def __init__(self):
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._tiles: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.nbytes = 0

    def _check_pid(self) -> None:
        if self._pid != os.getpid():  # a lock held by a parent thread at fork would never be released
            self._reset()

    def get(self, key: tuple) -> np.ndarray | None:
        self._check_pid()
        with self._lock:
            tile = self._tiles.get(key)
            if tile is not None:
                self._tiles.move_to_end(key)
            return tile

    def put(self, key: tuple, tile: np.ndarray, budget: int) -> None:
        if tile.nbytes > budget:
            return
        self._check_pid()
        with self._lock:
            old = self._tiles.pop(key, None)
            if old is not None:
                self.nbytes -= old.nbytes
            self._tiles[key] = tile
            self.nbytes += tile.nbytes
        self.trim(budget)

    def trim(self, budget: int) -> None:
        self._check_pid()
        with self._lock:
            while self.nbytes > budget and self._tiles:
                _, tile = self._tiles.popitem(last=False)
                self.nbytes -= tile.nbytes

    def clear(self) -> None:
        self._check_pid()
        with self._lock:
            self._tiles.clear()
            self.nbytes = 0


_tiles = _TileCache()
#: The settings every :class:`RemoteCogReader` of this process uses.
remote_config = RemoteConfig()

_executor: tuple[int, int, concurrent.futures.ThreadPoolExecutor] | None = None
_executor_lock = threading.Lock()


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    """This process's thread pool for range requests (a new one after fork or a change of ``max_workers``)."""
    global _executor
    key = (os.getpid(), remote_config.max_workers)
    current = _executor
    if current is None or current[:2] != key:
        with _executor_lock:
            if _executor is None or _executor[:2] != key:
                _executor = (*key, concurrent.futures.ThreadPoolExecutor(key[1], thread_name_prefix='ndsampler-range'))
            current = _executor
    return current[2]


def reads_by_range(fpath: str) -> bool:
    """True when the remote path ``fpath`` goes to :class:`RemoteCogReader` (else to GDAL).

    ``http(s)://`` and ``/vsicurl/`` URLs, and ``s3://`` / ``/vsis3/`` objects when botocore
    can sign their requests, whose name ends in a TIFF suffix (a query string aside).

    Example
    -------
    >>> reads_by_range('https://host/a.tif?v=2'), reads_by_range('https://host/a.vrt')
    (True, False)
    """
    if not remote_config.enabled:
        return False
    url = range_url(fpath)
    if url.startswith('s3://'):
        if not s3_signing_available():
            return False
    elif not url.startswith(('http://', 'https://')):
        return False
    path = url.split('?', 1)[0].split('#', 1)[0]
    return path.lower().endswith(_COG_SUFFIXES)


def pool_reader_class(fpath: str) -> type[Reader]:
    """The reader class the pool opens ``fpath`` with: :class:`RemoteCogReader` where :func:`reads_by_range`, else by suffix."""
    if is_remote(fpath) and reads_by_range(fpath):
        return RemoteCogReader
    return reader_class_for(fpath)


def _header_fpath(url: str) -> str | None:
    dpath = remote_config.header_dpath
    if dpath is None:
        return None
    return os.path.join(dpath, hashlib.sha256(url.encode('utf8')).hexdigest()[:32] + '.json')


def _load_header(url: str) -> tuple[dict[int, bytes], Validator] | None:
    """The header bytes and validator recorded for ``url`` by any process, or None."""
    fpath = _header_fpath(url)
    if fpath is None:
        return None
    try:
        with open(fpath, encoding='utf8') as file:
            record = json.load(file)
        if record['url'] != url:
            return None
        chunks = {int(offset): base64.b64decode(text) for offset, text in record['chunks']}
        return chunks, Validator(*record['validator'])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, or half-written by a crashed writer elsewhere: read the header again


def _save_header(url: str, chunks: dict[int, bytes], validator: Validator) -> None:
    fpath = _header_fpath(url)
    if fpath is None:
        return
    record = {'url': url, 'validator': list(validator),
              'chunks': [[offset, base64.b64encode(data).decode('ascii')] for offset, data in sorted(chunks.items())]}
    try:
        with atomic_write(fpath) as tmp:
            tmp.write_text(json.dumps(record), encoding='utf8')
    except OSError:
        pass  # a read-only or full cache folder costs a header read per process, nothing else


def _drop_header(url: str) -> None:
    fpath = _header_fpath(url)
    if fpath is not None:
        try:
            os.unlink(fpath)
        except FileNotFoundError:
            pass


class _Changed(Exception):
    """A response's validator differs from the one the layout was read under."""

    def __init__(self, validator: Validator):
        super().__init__(validator)
        self.validator = validator


def _coalesce(ranges: list[tuple[int, int, int]], gap: int, most: int = 16 << 20) -> list[list[tuple[int, int, int]]]:
    """``(offset, count, block)`` ranges grouped so each group is one request: sorted, neighbours ``gap`` apart joined.

    Example
    -------
    >>> _coalesce([(100, 10, 1), (0, 50, 0), (5000, 10, 2)], gap=60)
    [[(0, 50, 0), (100, 10, 1)], [(5000, 10, 2)]]
    """
    groups: list[list[tuple[int, int, int]]] = []
    end = start = None
    for item in sorted(ranges):
        offset, count, _ = item
        if groups and offset - end <= gap and offset + count - start <= most:
            groups[-1].append(item)
            end = max(end, offset + count)
        else:
            groups.append([item])
            start, end = offset, offset + count
    return groups


class RemoteCogReader(Reader):
    """A remote (Cloud-Optimized) GeoTIFF read by range requests; see the module docstring.

    Gives the same pixels as GDAL at every pyramid level. A file whose codec or
    layout is not decoded here is read through a :class:`RasterioReader` of the
    same path (with the header bytes already fetched spent).
    """

    __slots__ = ('_url', '_layout', '_validator', '_fallback')

    def __init__(self, fpath: str, on_resize: Callable[[Reader], None] | None = None):
        super().__init__(fpath, on_resize)
        self._reset()

    def _reset(self) -> None:
        self._url = range_url(self.fpath)
        self._layout: TiffLayout | None = None
        self._validator: Validator | None = None
        self._fallback: RasterioReader | None = None

    @property
    def nbytes(self) -> int:
        if self._fallback is not None:
            return self._fallback.nbytes
        layout = self._layout
        if layout is None:
            return 4096
        return 4096 + sum(lv.offsets.nbytes + lv.counts.nbytes for lv in layout.levels)

    @property
    def num_handles(self) -> int:
        return 0 if self._fallback is None else self._fallback.num_handles  # sockets are shared per thread

    @property
    def uses_gdal(self) -> bool:
        """True when this file is read through GDAL (a codec or layout not decoded here)."""
        self.header()
        return self._fallback is not None

    def _fetch(self, start: int, stop: int) -> bytes:
        data, validator = fetch_range(self._url, start, stop)
        if self._validator is not None and validator != self._validator:
            raise _Changed(validator)
        return data

    def _open(self, cached: tuple[dict[int, bytes], Validator] | None) -> None:
        """Parse the layout from recorded header bytes (``cached``) or from a fresh read, and record it."""
        if cached is None:
            data, validator = fetch_range(self._url, 0, remote_config.header_bytes)
            chunks, fresh = {0: data}, True
        else:
            (chunks, validator), fresh = cached, False
        self._validator = validator
        grown = []

        def get(offset: int, size: int) -> bytes:
            for start, data in chunks.items():
                if start <= offset and offset + size <= start + len(data):
                    return data[offset - start:offset + size - start]
            data = self._fetch(offset, offset + max(size, 1 << 14))
            chunks[offset] = data
            grown.append(offset)
            return data[:size]

        try:
            self._layout = parse_layout(get)
        except UnsupportedTiff:
            self._fallback = RasterioReader(self.fpath, self._fallback_resized)
        if fresh or grown:  # off the read's path: the write fsyncs
            _pool().submit(_save_header, self._url, dict(chunks), validator)
        self._resized()

    def _fallback_resized(self, inner: Reader) -> None:
        self._resized()

    def _read_header(self) -> Header:
        try:
            self._open(_load_header(self._url))
        except _Changed:  # the recorded header is of an older version
            _drop_header(self._url)
            try:
                self._open(None)
            except _Changed as changed:
                raise ImageReadError(f'{self._url} changed while its header was read (now {changed.validator}); '
                                     'allowed: a remote file that stays the same while it is opened') from None
        return self._layout_header()

    def _layout_header(self) -> Header:
        if self._fallback is not None:
            return self._fallback.header()
        layout = self._layout
        level = layout.levels[0]
        return Header(dsize=(level.width, level.height), num_bands=layout.num_bands, dtype=layout.dtype,
                      num_overviews=len(layout.levels) - 1, nodata=layout.nodata)

    def _reopen(self, validator: Validator) -> None:
        """The file changed (``validator``): read its header again; StaleFrameError if the image is not the same shape."""
        _drop_header(self._url)
        old = self._header
        self._fallback = self._layout = None
        self._open(None)
        new = self._layout_header()
        if new != old:
            raise StaleFrameError(f'remote file {self._url} changed while open (now {validator}): its header was '
                                  f'{old}, is {new}; allowed: a file that keeps its size, bands and type, '
                                  'or a new reader (reader_pool.forget)')

    def _read(self, sl_y, sl_x, overview, bands):
        if self._layout is None and self._fallback is None:  # unpickled: the header came along, the layout did not
            self._read_header()
        if self._fallback is not None:
            return self._fallback._read(sl_y, sl_x, overview, bands)
        try:
            return self._read_window(sl_y, sl_x, overview, bands)
        except _Changed as changed:
            self._reopen(changed.validator)
            if self._fallback is not None:
                return self._fallback._read(sl_y, sl_x, overview, bands)
            return self._read_window(sl_y, sl_x, overview, bands)

    def _read_window(self, sl_y: slice, sl_x: slice, overview: int, bands: list[int] | None) -> np.ndarray:
        level = self._layout.levels[overview]
        return read_repeating_edges(partial(self._read_stored, level, overview, bands), sl_y, sl_x,
                                    level.height, level.width)

    def _read_stored(self, level: TiffLevel, overview: int, bands: list[int] | None, sl_y: slice,
                     sl_x: slice) -> np.ndarray:
        """A window within the stored pixels of ``level``."""
        layout = self._layout
        wanted = list(range(layout.num_bands)) if bands is None else bands
        out = np.empty((sl_y.stop - sl_y.start, sl_x.stop - sl_x.start, len(wanted)), dtype=layout.dtype)
        if out.size == 0:
            return out
        bw, bh = level.block_w, level.block_h
        rows = range(sl_y.start // bh, -(-sl_y.stop // bh))
        cols = range(sl_x.start // bw, -(-sl_x.stop // bw))
        per_plane = level.blocks_across * level.blocks_down
        planes = sorted(set(wanted)) if layout.planar else [0]
        blocks = {}  # block index -> (row, col, plane)
        for plane in planes:
            for row in rows:
                for col in cols:
                    blocks[plane * per_plane + row * level.blocks_across + col] = (row, col, plane)
        decoded = self._blocks(level, overview, list(blocks))
        for index, (row, col, plane) in blocks.items():
            tile = decoded[index]
            y0, x0 = row * bh, col * bw
            ys = slice(max(sl_y.start, y0), min(sl_y.stop, y0 + tile.shape[0], level.height))
            xs = slice(max(sl_x.start, x0), min(sl_x.stop, x0 + bw, level.width))
            src = tile[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0]
            dst = (slice(ys.start - sl_y.start, ys.stop - sl_y.start), slice(xs.start - sl_x.start, xs.stop - sl_x.start))
            if layout.planar:
                out[dst + (np.asarray(wanted) == plane,)] = src
            elif bands is None:
                out[dst] = src
            else:
                out[dst] = src[:, :, bands]
        return out

    def _blocks(self, level: TiffLevel, overview: int, indices: list[int]) -> dict[int, np.ndarray]:
        """Decoded blocks by index: from the tile cache, else fetched concurrently (adjacent ranges in one request)."""
        layout, budget = self._layout, remote_config.tile_cache_bytes
        keys = {index: (self._url, self._validator, overview, index) for index in indices}
        decoded: dict[int, np.ndarray] = {}
        ranges = []
        for index in indices:
            tile = _tiles.get(keys[index]) if budget else None
            if tile is not None:
                decoded[index] = tile
            elif level.counts[index] == 0:  # a sparse block GDAL never wrote: nodata, else 0
                spp = 1 if layout.planar else layout.num_bands
                decoded[index] = np.full((level.block_h, level.block_w, spp), layout.nodata or 0, layout.dtype)
            else:
                ranges.append((int(level.offsets[index]), int(level.counts[index]), index))
        if not ranges:
            return decoded

        def fetch(group: list[tuple[int, int, int]]) -> list[tuple[int, np.ndarray]]:
            start = group[0][0]
            stop = max(offset + count for offset, count, _ in group)
            data = self._fetch(start, stop)
            got = []
            for offset, count, index in group:
                tile = decode_block(data[offset - start:offset - start + count], layout, level)
                tile.flags.writeable = False
                got.append((index, tile))
            return got

        groups = _coalesce(ranges, remote_config.merge_gap)
        if len(groups) == 1:
            results = [fetch(groups[0])]
        else:
            results = list(_pool().map(fetch, groups))
        for got in results:
            for index, tile in got:
                decoded[index] = tile
                if budget:
                    _tiles.put(keys[index], tile, budget)
        return decoded

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()
