"""Low-level file I/O shared by every layer: atomic writes, locks, COG writing, remote paths."""
from ndsampler.io.atomic import FileLock, atomic_write
from ndsampler.io.cog import COG_COMPRESSIONS, COG_LEVEL_RANGES, is_cog, write_cog
from ndsampler.io.remote import GDAL_REMOTE_OPTIONS, gdal_env, gdal_path, is_remote, open_raster

__all__ = ['FileLock', 'atomic_write', 'write_cog', 'is_cog', 'COG_COMPRESSIONS', 'COG_LEVEL_RANGES',
           'GDAL_REMOTE_OPTIONS', 'gdal_env', 'gdal_path', 'is_remote', 'open_raster']
