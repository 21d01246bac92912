"""Low-level file I/O shared by every layer: atomic writes, locks, COG writing."""
from ndsampler.io.atomic import FileLock, atomic_write
from ndsampler.io.cog import COG_COMPRESSIONS, is_cog, write_cog

__all__ = ['FileLock', 'atomic_write', 'write_cog', 'is_cog', 'COG_COMPRESSIONS']
