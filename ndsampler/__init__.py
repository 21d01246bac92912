"""ndsampler: correct windows with their annotations from images far larger than one network input.

The public surface is re-exported here; everything else lives in private modules.
"""
__version__ = '0.9.0'

from ndsampler import errors
from ndsampler.errors import NdsamplerError

__all__ = ['__version__', 'errors', 'NdsamplerError']
