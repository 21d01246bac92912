"""ndsampler 0.8 path ``ndsampler.utils.util_futures``: ubelt's executors (see :mod:`ndsampler._compat08`)."""
import concurrent.futures  # noqa: F401 (0.8.1 module global)
from concurrent.futures import as_completed

from ubelt import Executor, JobPool  # noqa: F401 (JobPool: 0.8.1 module global)
from ubelt.util_futures import SerialExecutor

__all__ = ['Executor', 'SerialExecutor', 'as_completed']
