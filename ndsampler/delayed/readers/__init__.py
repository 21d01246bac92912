"""Per-process pool of open file readers (npy memmap, rasterio TIFF/COG, cv2 PNG/JPEG).

This is the only place pixels come off disk. The interface is stable and other
layers (frames, backends) read their cache files through it::

    reader = get_reader(fpath)          # pooled, keyed by path + (size, mtime_ns); URLs kept as strings
    reader_pool.mark_immutable(fpath)   # content-addressed cache file: stop stat-ing it on every get
    reader_pool.forget(fpath)           # close and drop its reader and mark (file rebuilt): reopened on next get
    header = reader.header()            # dsize, num_bands, dtype, num_overviews, nodata
    window = reader.read((sl_y, sl_x), overview=0, bands=None)   # (h, w, c)
"""
from ndsampler.delayed.readers._base import Header, Reader
from ndsampler.delayed.readers._formats import Cv2Reader, NpyReader, RasterioReader
from ndsampler.delayed.readers._pool import ReaderPool, get_reader, reader_pool
from ndsampler.delayed.readers._remote_cog import RemoteCogReader, RemoteConfig, remote_config

__all__ = ['get_reader', 'reader_pool', 'ReaderPool', 'Reader', 'Header', 'NpyReader', 'RasterioReader', 'Cv2Reader',
           'RemoteCogReader', 'RemoteConfig', 'remote_config']
