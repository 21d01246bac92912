"""``prepare`` on a dask.distributed cluster: the optional extra ``pip install ndsampler[dask]``.

:meth:`Frames.prepare` takes any :class:`concurrent.futures.Executor`; a dask client's
``client.get_executor()`` is one. The work units are plain data (paths, the backend's
config) so every worker must see the sources and the cache folder at the same paths
(a shared filesystem). A task lost with a dying worker is rerun by the scheduler on
another one; the rerun takes the frame's lock, removes what the dead writer left and
converts again (see :meth:`ndsampler.backends.Backend.ensure`).
"""
from __future__ import annotations

import contextlib
from concurrent.futures import Executor
from typing import Iterator

from ndsampler.errors import InvalidOptionError

__all__ = ['dask_executor']


@contextlib.contextmanager
def dask_executor(scheduler: str | None = None, workers: int | None = None) -> Iterator[Executor]:
    """An executor on a dask.distributed cluster, closed (with the cluster it started) on exit.

    Parameters
    ----------
    scheduler : str | None
        Address of a running scheduler (``tcp://host:8786``).
    workers : int | None
        Start a ``LocalCluster`` of this many worker processes (one thread each) instead.

    Raises
    ------
    InvalidOptionError
        Both or neither of ``scheduler`` / ``workers`` given, ``workers`` not an int >= 1,
        or dask.distributed not installed.

    Example
    -------
    >>> with dask_executor(workers=2) as executor:  # doctest: +SKIP
    ...     summary = frames.prepare(executor=executor)
    >>> with dask_executor(workers=0):
    ...     pass
    Traceback (most recent call last):
    ...
    ndsampler.errors.InvalidOptionError: invalid dask workers=0; allowed: an int >= 1
    """
    if (scheduler is None) == (workers is None):
        raise InvalidOptionError('scheduler/workers', (scheduler, workers),
                                 'exactly one: a scheduler address or a number of local worker processes')
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidOptionError('dask workers', workers, 'an int >= 1')
    try:
        import distributed
    except ImportError as ex:
        raise InvalidOptionError('scheduler' if workers is None else 'dask workers',
                                 scheduler if workers is None else workers,
                                 'only with dask.distributed installed (pip install ndsampler[dask])') from ex
    with contextlib.ExitStack() as stack:
        if workers is None:
            client = stack.enter_context(distributed.Client(scheduler))
        else:
            cluster = stack.enter_context(distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None))
            client = stack.enter_context(distributed.Client(cluster))
        yield client.get_executor()
