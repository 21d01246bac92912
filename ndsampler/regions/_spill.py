"""Large arrays cross to a spawned process as a file it maps, not as pickled bytes.

A DataLoader with ``multiprocessing_context='spawn'`` (or ``'forkserver'``) pickles the dataset
once per worker: at 1M annotations the regions table and the box index alone are ~140 MiB
each worker receives, unpickles and keeps a private copy of. While multiprocessing is spawning
a process (and only then: a plain ``pickle.dumps`` stays self-contained and portable),
:func:`shared_state` swaps each large array for a reference to a ``.npy`` file written once per
array in a per-process temporary folder (removed when the process exits); unpickling maps it
read-only, so every worker shares the page cache's one copy.
"""
from __future__ import annotations

import atexit
import multiprocessing.context
import os
import shutil
import tempfile
import weakref
from typing import Any

import numpy as np

__all__ = ['shared_state', 'spawning']

#: arrays smaller than this are pickled as they are
MIN_SHARED_BYTES = 1 << 16

_folder: str | None = None
_folder_pid: int | None = None
#: id(array) -> (weak reference to it, its file): each array is written once however often it is pickled
_written: dict[int, tuple[weakref.ref, str]] = {}


def spawning() -> bool:
    """True while multiprocessing pickles the arguments of a process it is spawning."""
    return multiprocessing.context.get_spawning_popen() is not None


def _shared_folder() -> str:
    global _folder, _folder_pid
    if _folder is None or _folder_pid != os.getpid():
        _folder, _folder_pid = tempfile.mkdtemp(prefix='ndsampler-shared-'), os.getpid()
        _written.clear()
        atexit.register(_remove, _folder, _folder_pid)
    return _folder


def _remove(folder: str, pid: int) -> None:
    if os.getpid() == pid:
        shutil.rmtree(folder, ignore_errors=True)


def _map(path: str) -> np.ndarray:
    """The array saved at ``path``, mapped read-only (a plain ``ndarray`` view of the map)."""
    return np.load(path, mmap_mode='r').view(np.ndarray)


class _MappedArray:
    """Pickles as a call of :func:`_map` on the file it names."""

    __slots__ = ('path',)

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return _map, (self.path,)


def _file_of(array: np.ndarray) -> str:
    found = _written.get(id(array))
    if found is not None and found[0]() is array:
        return found[1]
    folder = _shared_folder()
    fd, path = tempfile.mkstemp(suffix='.npy', dir=folder)
    with os.fdopen(fd, 'wb') as file:
        np.save(file, array, allow_pickle=False)
    _written[id(array)] = (weakref.ref(array, lambda _, key=id(array): _written.pop(key, None)), path)
    return path


def _shared(value: Any) -> Any:
    if isinstance(value, np.ndarray) and value.dtype != object and value.nbytes >= MIN_SHARED_BYTES:
        return _MappedArray(_file_of(value))
    if type(value) is dict:
        return {key: _shared(item) for key, item in value.items()}
    return value


def shared_state(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` (a ``__getstate__`` dict) with its large arrays, also those in dict values, as mapped files when spawning.

    Outside :func:`spawning` it returns ``state`` itself.
    """
    if not spawning():
        return state
    return {key: _shared(value) for key, value in state.items()}
