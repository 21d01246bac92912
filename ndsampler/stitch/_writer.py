"""A bounded background job queue for writing finished images while stitching continues."""
from __future__ import annotations

import threading
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, Callable

__all__ = ['WriterQueue']


class WriterQueue:
    """Run jobs in a background thread (or a given executor); errors surface on :meth:`wait_until_finished`.

    ``submit`` blocks while ``max_pending`` jobs are unfinished, so finished canvases
    waiting to be written cannot pile up in memory.

    Parameters
    ----------
    executor : Executor | None
        Where jobs run; None starts one private writer thread.
    max_pending : int
        Most jobs submitted but not finished.

    Example
    -------
    >>> q = WriterQueue()
    >>> q.submit(sum, [1, 2])
    >>> q.wait_until_finished()
    [3]
    """

    def __init__(self, executor: Executor | None = None, max_pending: int = 2) -> None:
        self._own = executor is None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix='ndsampler-stitch-writer') \
            if executor is None else executor
        self._slots = threading.BoundedSemaphore(max(1, int(max_pending)))
        self._futures: list[Future] = []
        self._lock = threading.Lock()

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Queue ``func(*args, **kwargs)``; blocks while the queue is full."""
        self._slots.acquire()
        try:
            future = self._executor.submit(func, *args, **kwargs)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        with self._lock:
            self._futures.append(future)

    def wait_until_finished(self) -> list[Any]:
        """Wait for every queued job; re-raise the first error (after all have finished).

        Returns
        -------
        list
            The results of the jobs finished since the last call, in submission order.
        """
        with self._lock:
            futures, self._futures = self._futures, []
        results, errors = [], []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as ex:  # collected so every job finishes before raising
                errors.append(ex)
        if errors:
            first = errors[0]
            if len(errors) > 1:
                first.add_note(f'{len(errors) - 1} more writer job(s) failed: {errors[1:]!r}')
            raise first
        return results

    def shutdown(self) -> None:
        """Finish pending jobs and stop the private writer thread (a given executor is left running)."""
        if self._own:
            self._executor.shutdown(wait=True)
