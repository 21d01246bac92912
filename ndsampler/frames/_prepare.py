"""Converting many frames at once: picklable work units, any executor, a summary."""
from __future__ import annotations

import sys
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

import numpy as np
import ubelt as ub

from ndsampler.backends import coerce_backend, source_identity
from ndsampler.errors import InvalidOptionError
from ndsampler.frames._validate import Expectation, SourceMismatch, check_header, format_mismatches

__all__ = ['PrepareSummary', 'PrepareTask', 'TaskResult', 'check_workers', 'convert_one', 'run_tasks', 'summarize']


#: Most worker processes ``prepare`` starts (more would exhaust the process table, not convert faster).
MAX_WORKERS = 1024


def check_workers(workers: Any) -> int:
    """``workers`` as an int in ``[0, MAX_WORKERS]`` (0: convert in this process); anything else raises.

    Raises
    ------
    InvalidOptionError
        A negative, too large, non-integer or boolean ``workers``.

    Example
    -------
    >>> check_workers(2)
    2
    >>> check_workers(-1)
    Traceback (most recent call last):
    ...
    ndsampler.errors.InvalidOptionError: invalid workers=-1; allowed: an int in [0, 1024] (0: convert in this process)
    """
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or not 0 <= workers <= MAX_WORKERS:
        raise InvalidOptionError('workers', workers, f'an int in [0, {MAX_WORKERS}] (0: convert in this process)')
    return int(workers)


@dataclass(frozen=True)
class PrepareTask:
    """One source to bring into the cache; plain data so it pickles to any executor.

    ``check``: how an existing cache file is checked before it is kept (see
    :data:`ndsampler.backends.CHECK_LEVELS`); one that fails is rebuilt.
    ``expects``: what each image using the source says about it, checked
    against the header of the cache file (see :mod:`ndsampler.frames._validate`).
    """

    fpath: str
    backend: Dict[str, Any]
    hashid_mode: str
    root: str
    check: str = 'sample'
    expects: Tuple[Expectation, ...] = ()


@dataclass(frozen=True)
class TaskResult:
    """What one task did: bytes written (0 = already present) or why it failed; how the file disagrees with the dataset."""

    fpath: str
    nbytes: int = 0
    error: Optional[str] = None
    mismatches: Tuple[SourceMismatch, ...] = ()


def convert_one(task: PrepareTask) -> TaskResult:
    """Ensure one frame is cached (runs in a worker process); errors are returned, not raised."""
    try:
        backend = coerce_backend(task.backend)
        ident = source_identity(task.fpath, task.hashid_mode, refresh=True)
        dst, nbytes = backend.ensure(ident, task.root, check=task.check)
        header = backend.header(dst) if task.expects else None
    except Exception as ex:  # reported per image in the summary; the other frames still convert
        return TaskResult(task.fpath, error=f'{type(ex).__name__}: {ex}')
    mismatches = tuple(m for expect in task.expects for m in check_header(expect, header))
    return TaskResult(task.fpath, nbytes, mismatches=mismatches)


def run_tasks(tasks: List[PrepareTask], workers: int = 0, executor: Optional[Executor] = None,
              progress: bool = True) -> Iterable[TaskResult]:
    """Yield results as tasks finish: inline, on a process pool of ``workers``, or on ``executor``.

    A task whose future fails (a broken process pool, a dask task whose workers died more
    often than the scheduler allows) gives a failed :class:`TaskResult`; the other tasks go on. Tasks not
    yet finished are cancelled when the caller stops early (an error, Ctrl-C).
    """
    prog_kw = dict(total=len(tasks), desc='prepare frames', stream=sys.stderr, enabled=progress,
                   verbose=1 if progress else 0)
    if executor is None and workers <= 0:
        yield from ub.ProgIter(map(convert_one, tasks), **prog_kw)
        return
    own = executor is None
    pool = ProcessPoolExecutor(max_workers=workers) if own else executor
    futures: Dict[Future, PrepareTask] = {}
    try:
        futures = {pool.submit(convert_one, task): task for task in tasks}
        for future in ub.ProgIter(as_completed(futures), **prog_kw):
            try:
                result = future.result()
            except Exception as ex:  # the executor's failure, not the conversion's (convert_one returns those)
                result = TaskResult(futures[future].fpath, error=f'{type(ex).__name__}: {ex}')
            yield result
    finally:
        for future in futures:
            future.cancel()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class PrepareSummary:
    """What :meth:`Frames.prepare` did.

    Attributes
    ----------
    backend : str
        The backend's name.
    converted : list
        Image ids with at least one frame written in this run.
    already_present : list
        Image ids whose frames were all valid already.
    failed : dict
        Image id -> reason, for images with a frame that could not be cached.
    mismatched : dict
        Image id -> the :class:`~ndsampler.frames.SourceMismatch` of each of its files whose
        band count or size disagrees with the dataset (those images are also counted as
        converted or already present; reading them raises
        :class:`~ndsampler.errors.SourceMismatchError`).
    bytes_written : int
    seconds : float
    """

    backend: str = ''
    converted: List[Any] = field(default_factory=list)
    already_present: List[Any] = field(default_factory=list)
    failed: Dict[Any, str] = field(default_factory=dict)
    mismatched: Dict[Any, List[SourceMismatch]] = field(default_factory=dict)
    bytes_written: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no image failed and every file agrees with the dataset."""
        return not self.failed and not self.mismatched

    def __str__(self) -> str:
        rows: List[Tuple[str, str]] = [
            ('converted', str(len(self.converted))),
            ('already present', str(len(self.already_present))),
            ('failed', str(len(self.failed))),
            ('mismatched', str(len(self.mismatched))),
            ('bytes written', _human_bytes(self.bytes_written)),
            ('seconds', f'{self.seconds:.2f}'),
        ]
        width = max(len(k) for k, _ in rows)
        lines = [f'prepare frames (backend={self.backend})']
        lines += [f'  {k.ljust(width)}  {v}' for k, v in rows]
        if self.failed:
            lines.append('failures:')
            lines += [f'  image {gid!r}: {reason}' for gid, reason in self.failed.items()]
        lines += format_mismatches(self.mismatched)
        return '\n'.join(lines)


def _human_bytes(n: int) -> str:
    value, unit = float(n), 'B'
    for bigger in ('KiB', 'MiB', 'GiB'):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f'{n} B' if unit == 'B' else f'{value:.1f} {unit}'


def summarize(backend: str, image_sources: Dict[Any, List[str]], results: Dict[str, TaskResult],
              start: float) -> PrepareSummary:
    """Fold per-source results into per-image outcomes."""
    summary = PrepareSummary(backend=backend)
    for gid, fpaths in image_sources.items():
        outcomes = [results[f] for f in fpaths]
        errors = [r.error for r in outcomes if r.error]
        found = [m for f in dict.fromkeys(fpaths) for m in results[f].mismatches if m.image_id == gid]
        if found:
            summary.mismatched[gid] = found
        if errors:
            summary.failed[gid] = '; '.join(errors)
        elif any(r.nbytes for r in outcomes):
            summary.converted.append(gid)
        else:
            summary.already_present.append(gid)
    summary.bytes_written = sum(r.nbytes for r in results.values())
    summary.seconds = time.perf_counter() - start
    return summary
