"""The COG backend: tiled, lossless by default, with internal overviews."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

import numpy as np
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ndsampler.backends._base import Backend
from ndsampler.backends._checksums import Level
from ndsampler.errors import ImageReadError, InvalidOptionError
from ndsampler.io import COG_COMPRESSIONS, COG_LEVEL_RANGES, gdal_env, is_remote, open_raster, write_cog

__all__ = ['CogBackend', 'AUTO_LEVELS']

#: The compression level ``level='auto'`` picks per codec (GDAL's default for
#: DEFLATE and LZMA; the fastest ZSTD level, whose files are only ~5% larger).
AUTO_LEVELS = {'ZSTD': 1, 'DEFLATE': 6, 'LZMA': 6}


def _check_level(level: Any, compress: str) -> Any:
    """The concrete level for ``compress`` (None for codecs without levels)."""
    if level is None or (isinstance(level, str) and level.lower() == 'auto'):
        return AUTO_LEVELS.get(compress)
    if compress not in COG_LEVEL_RANGES:
        raise InvalidOptionError('cog level', level, f"'auto' (compress={compress!r} has no levels)")
    lo, hi = COG_LEVEL_RANGES[compress]
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not lo <= level <= hi:
        raise InvalidOptionError('cog level', level, f"'auto' or an int in [{lo}, {hi}] for compress={compress!r}")
    return int(level)


class CogBackend(Backend):
    """Cache frames as Cloud-Optimized GeoTIFFs written with rasterio/GDAL.

    Config
    ------
    compress : str
        One of :data:`ndsampler.io.COG_COMPRESSIONS`; default ``'ZSTD'`` (lossless,
        with a predictor). ``'JPEG'`` / ``'WEBP'`` are lossy and need uint8 data.
    blocksize : int
        Tile size, a positive multiple of 16; default 256.
    overviews : int | 'auto'
        Number of 2x overview levels; ``'auto'`` (default) goes down to about one tile.
    level : int | 'auto'
        Compression effort for ZSTD (1-22), DEFLATE (1-12) or LZMA (0-9);
        ``'auto'`` (default) is :data:`AUTO_LEVELS` (ZSTD 1: about 3x faster to
        write than GDAL's default for about 5% more bytes); None means the same.
        Codecs without levels only accept ``'auto'`` / None (stored as None).

    The source's nodata value, if it declares one, is recorded in the file (its
    overviews leave nodata pixels out of their averages).

    Checks
    ------
    Each frame has a CRC32 per tile of every pyramid level (offsets and byte
    counts from its TIFF tags) in its checksum sidecar. ``'quick'`` (before a
    frame's first read in a process) opens the file, requires the COG layout,
    compares the last tile's offset with the file size and the sidecar's size
    with the file's: it finds truncation, header damage and a missing sidecar.
    ``'sample'`` (``prepare``, ``status``) also decodes the last full-resolution
    tile (the end of the file) and the smallest overview (the start of the image
    data) and verifies their CRCs and the first tile's: a few ms for a 4096² RGB
    frame. ``'deep'`` (``status(deep=True)``, ``repair``) verifies every tile's
    CRC and decodes every tile of every level. Reads verify each tile they touch
    the first time a process reads it, so damage anywhere (also damage that still
    decodes, as in ``compress='NONE'`` or in a ZSTD tile, and that would read back
    as wrong pixels) is rebuilt on its first read.

    Example
    -------
    >>> CogBackend(compress='deflate').config
    {'compress': 'DEFLATE', 'blocksize': 256, 'overviews': 'auto', 'level': 6}
    >>> CogBackend().config['level']
    1
    """

    name = 'cog'
    ext = 'tif'
    defaults = {'compress': 'ZSTD', 'blocksize': 256, 'overviews': 'auto', 'level': 'auto'}

    def _validate(self, config: Dict[str, Any]) -> Dict[str, Any]:
        compress = str(config['compress']).upper()
        if compress not in COG_COMPRESSIONS:
            raise InvalidOptionError('cog compress', config['compress'], COG_COMPRESSIONS)
        blocksize = config['blocksize']
        if isinstance(blocksize, bool) or not isinstance(blocksize, (int, np.integer)) \
                or blocksize < 16 or blocksize % 16:
            raise InvalidOptionError('cog blocksize', blocksize, 'a positive multiple of 16')
        overviews = config['overviews']
        if isinstance(overviews, str):
            overviews = overviews.lower()
        if overviews != 'auto' and (isinstance(overviews, bool) or not isinstance(overviews, (int, np.integer))
                                    or overviews < 0):
            raise InvalidOptionError('cog overviews', config['overviews'], "'auto' or an int >= 0")
        if overviews != 'auto':
            overviews = int(overviews)
        return {'compress': compress, 'blocksize': int(blocksize), 'overviews': overviews,
                'level': _check_level(config['level'], compress)}

    def _write(self, data: np.ndarray, dst: str, nodata: Optional[float]) -> None:
        write_cog(dst, data, blocksize=self.config['blocksize'], compress=self.config['compress'],
                  overviews=self.config['overviews'], level=self.config['level'], nodata=nodata, atomic=False)

    def _levels(self, fpath: str) -> List[Level]:
        """The byte range of every tile, per pyramid level (full resolution first), from the TIFF tags."""
        levels = []
        with open_raster(fpath) as src:
            planes = 1 if src.count == 1 or src.interleaving is None or src.interleaving.name == 'pixel' \
                else src.count  # band-interleaved files keep one block per band and tile
            num_overviews = len(src.overviews(1))
        for level in range(num_overviews + 1):
            with open_raster(fpath, **({} if level == 0 else {'overview_level': level - 1})) as src:
                tile_h, tile_w = src.block_shapes[0]
                rows, cols = -(-src.height // tile_h), -(-src.width // tile_w)
                ranges = np.empty((rows * cols, planes, 2), dtype=np.int64)
                for row in range(rows):
                    for col in range(cols):
                        for plane in range(planes):
                            ranges[row * cols + col, plane] = [
                                int(src.get_tag_item(f'BLOCK_{what}_{col}_{row}', 'TIFF', bidx=plane + 1) or 0)
                                for what in ('OFFSET', 'SIZE')]
            levels.append(Level(tile_h, tile_w, rows, cols, ranges))
        return levels

    def _check(self, fpath: str, check: str) -> None:
        """Layout and size, then tiles decoded as ``check`` asks (see the class docstring)."""
        with gdal_env(), open_raster(fpath) as src:
            layout = src.tags(ns='IMAGE_STRUCTURE').get('LAYOUT', '')
            if src.driver != 'GTiff' or layout.upper() != 'COG':
                raise ImageReadError(f'{fpath} is not a COG (driver={src.driver}, layout={layout!r})')
            num_overviews = len(src.overviews(1))
            if check == 'deep':
                _decode(src, fpath, whole=True)
                for level in range(num_overviews):
                    with open_raster(fpath, overview_level=level) as ovr:
                        _decode(ovr, fpath, whole=True)
                return
            remote = is_remote(fpath)
            if not remote:
                bh, bw = src.block_shapes[0]
                bx, by = (src.width - 1) // bw, (src.height - 1) // bh
                offset = src.get_tag_item(f'BLOCK_OFFSET_{bx}_{by}', 'TIFF', bidx=src.count)
                size = src.get_tag_item(f'BLOCK_SIZE_{bx}_{by}', 'TIFF', bidx=src.count)
                if offset is None or size is None or int(offset) + int(size) > os.path.getsize(fpath):
                    raise ImageReadError(f'{fpath} is truncated (last tile at {offset}+{size} bytes)')
            if remote or check == 'sample':
                # The last full-resolution tile ends the file (remotely, one range request instead of a stat).
                _decode(src, fpath, whole=False)
            if check == 'sample' and num_overviews:
                # The smallest overview starts the image data.
                with open_raster(fpath, overview_level=num_overviews - 1) as ovr:
                    _decode(ovr, fpath, whole=True)


def _decode(src: Any, fpath: str, whole: bool) -> None:
    """Decode every tile of one pyramid level of an open COG (``whole``) or only its last tile."""
    windows = [w for _, w in src.block_windows(1)] if whole else [_last_tile(src)]
    try:
        for window in windows:
            src.read(window=window)
    except RasterioIOError as ex:
        raise ImageReadError(f'{fpath} has an undecodable tile ({src.width}x{src.height} level, '
                             f'window {window}): {ex}') from ex


def _last_tile(src: Any) -> Window:
    bh, bw = src.block_shapes[0]
    x0, y0 = (src.width - 1) // bw * bw, (src.height - 1) // bh * bh
    return Window(x0, y0, src.width - x0, src.height - y0)
