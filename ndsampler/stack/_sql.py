"""ImageStackSQL: an ImageStack that keeps a bounded number of bytes in RAM and spills to SQLite."""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import uuid
import weakref
from collections import OrderedDict
from typing import Any, Iterator, Sequence

import numpy as np
import psutil

from ndsampler._typing import PathLike
from ndsampler._validate import check_real
from ndsampler.errors import InvalidOptionError, SourceNotFoundError, StackError, UnknownIdError
from ndsampler.stack._dtype import convert_image_dtype, image_dtype
from ndsampler.stack._stack import ImageStack

__all__ = ['ImageStackSQL']

_MIB = 1 << 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stacks (
    name  TEXT PRIMARY KEY,
    dtype TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS images (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    stack    TEXT NOT NULL REFERENCES stacks(name),
    position INTEGER NOT NULL,
    shape    TEXT NOT NULL,
    dtype    TEXT NOT NULL,
    data     BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS images_stack_position ON images (stack, position);
"""


class _Entry:
    """One image slot: its database row (None until committed) and its decoded pixels (None when spilled)."""

    __slots__ = ('row_id', 'position', 'image')

    def __init__(self, image: np.ndarray | None = None, row_id: int | None = None, position: int | None = None):
        self.image = image
        self.row_id = row_id
        self.position = position


def _remove_database(path: str, owner_pid: int) -> None:
    """Delete a temporary stack database (and its WAL files), only from the process that created it."""
    if os.getpid() != owner_pid:
        return
    for suffix in ('', '-wal', '-shm'):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


class ImageStackSQL(ImageStack):
    """An :class:`ImageStack` that holds at most a budget of decoded bytes in RAM and stores the rest in SQLite.

    Images are added to RAM first. When the decoded bytes exceed ``max_size_mb``, the least recently
    used images that are already in the database are dropped from RAM; if images not yet in the
    database alone exceed the budget, everything is committed first. When system memory use
    (``psutil.virtual_memory().percent``) exceeds ``cache_limit``, everything is committed and all
    decoded images but the one being accessed are freed. Spilled images are read back only when
    accessed (and then stay cached within the budget, LRU). One image larger than the budget is still
    held while it is being used.

    Arrays returned by indexing are read-only (change an image with ``stack[i] = new``). Slicing and
    :meth:`copy` return a new ``ImageStackSQL`` with the same settings in a temporary database.
    Uncommitted changes live only in this process until :meth:`save_state` (or a spill) commits them;
    after :meth:`save_state` returns, the images survive the process being killed.

    The database uses WAL journaling, so other processes can read committed images (with
    :meth:`load_from_database` and :meth:`reload`) while this one writes. One writer per stack.
    Tables: ``stacks(name, dtype)`` and ``images(id, stack, position, shape, dtype, data)`` with the raw
    C-order bytes of each image; ``position`` is the order in the stack.

    Parameters
    ----------
    database : PathLike
        SQLite file ('' creates ``ndsampler_stack_*.sqlite`` in :func:`tempfile.gettempdir`, removed
        when this object is garbage collected; pass a path to keep the images).
    stack_name : str
        Name of the stack inside the database ('' generates a unique ``stack_<hex>`` name). A new stack
        must not exist yet; open an existing one with :meth:`load_from_database`.
    dtype : Any
        The dtype every image is converted to.
    max_size_mb : float | None
        Budget of decoded image bytes in RAM, in MiB (2**20 bytes); None: only ``cache_limit`` applies.
    cache_limit : float
        Spill everything when system memory use exceeds this percentage (0 < cache_limit <= 100).

    Example
    -------
    >>> import numpy as np
    >>> stack = ImageStackSQL(dtype=np.uint8, max_size_mb=1)
    >>> for value in range(8):
    ...     stack.add_image(np.full((512, 512), value / 7))
    >>> stack.nbytes <= 2 ** 20
    True
    >>> int(stack[7].max()), len(stack)
    (255, 8)
    >>> stack.save_state()
    >>> again = ImageStackSQL.load_from_database(stack.database, stack.stack_name)
    >>> bool((again[3] == stack[3]).all())
    True
    """

    def __init__(self, database: PathLike = '', stack_name: str = '', dtype: Any = np.float32,
                 max_size_mb: float | None = None, cache_limit: float = 80):
        owned = not os.fspath(database)
        if owned:
            fd, database = tempfile.mkstemp(prefix='ndsampler_stack_', suffix='.sqlite')
            os.close(fd)
            weakref.finalize(self, _remove_database, database, os.getpid())
        self._setup(database, stack_name or f'stack_{uuid.uuid4().hex[:12]}', max_size_mb, cache_limit)
        self._dtype = image_dtype(dtype)
        with self._transaction() as conn:
            if conn.execute('SELECT 1 FROM stacks WHERE name = ?', (self.stack_name,)).fetchone():
                raise StackError(f'stack {self.stack_name!r} already exists in {self.database}; '
                                 'open it with ImageStackSQL.load_from_database or choose another stack_name')
            conn.execute('INSERT INTO stacks (name, dtype) VALUES (?, ?)', (self.stack_name, self._dtype.str))
        self._saved_dtype = self._dtype

    def _setup(self, database: PathLike, stack_name: str, max_size_mb: float | None, cache_limit: float) -> None:
        if max_size_mb is not None:
            max_size_mb = check_real('max_size_mb', max_size_mb, low=0.0, allow_inf=True)
        if not 0 < check_real('cache_limit', cache_limit) <= 100:
            raise InvalidOptionError('cache_limit', cache_limit, 'a percentage in (0, 100]')
        self.database = os.fspath(database)
        self.stack_name = stack_name
        self.max_size_mb = max_size_mb
        self.cache_limit = cache_limit
        self._max_bytes = None if max_size_mb is None else int(max_size_mb * _MIB)
        self._entries: list[_Entry] = []
        self._cache: OrderedDict[_Entry, None] = OrderedDict()
        self._bytes = 0
        self._deleted_rows: list[int] = []
        self._conn: sqlite3.Connection | None = None
        self._conn_pid: int | None = None

    # -- database plumbing -----------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        """This process's connection (a forked or unpickled copy opens its own)."""
        if self._conn is None or self._conn_pid != os.getpid():
            try:
                conn = sqlite3.connect(self.database, timeout=60, isolation_level=None)
                conn.execute('PRAGMA page_size = 65536')  # only takes effect on a new database
                conn.execute('PRAGMA journal_mode = WAL')
                conn.execute('PRAGMA synchronous = FULL')
                conn.executescript(_SCHEMA)
            except sqlite3.Error as ex:
                raise StackError(f'cannot open stack database {self.database!r}: {ex}') from ex
            self._conn, self._conn_pid = conn, os.getpid()
        return self._conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        conn.execute('BEGIN IMMEDIATE')
        try:
            yield conn
        except BaseException:
            conn.execute('ROLLBACK')
            raise
        conn.execute('COMMIT')

    def _commit(self) -> None:
        """Write every uncommitted image, deletion, reorder and dtype change in one transaction."""
        new = [(i, e) for i, e in enumerate(self._entries) if e.row_id is None]
        moved = [(i, e) for i, e in enumerate(self._entries) if e.row_id is not None and e.position != i]
        if not (new or moved or self._deleted_rows or self._saved_dtype != self._dtype):
            return
        row_ids = []
        with self._transaction() as conn:
            conn.executemany('DELETE FROM images WHERE id = ?', [(r,) for r in self._deleted_rows])
            conn.executemany('UPDATE images SET position = ? WHERE id = ?', [(i, e.row_id) for i, e in moved])
            for i, e in new:
                image = e.image
                try:
                    cursor = conn.execute(
                        'INSERT INTO images (stack, position, shape, dtype, data) VALUES (?, ?, ?, ?, ?)',
                        (self.stack_name, i, json.dumps(image.shape), image.dtype.str,
                         memoryview(np.ascontiguousarray(image).reshape(-1).view(np.uint8))))
                except (sqlite3.DataError, OverflowError) as ex:
                    raise StackError(f'image {i} of {image.nbytes} bytes cannot be stored in SQLite: {ex}') from ex
                row_ids.append(cursor.lastrowid)
            conn.execute('UPDATE stacks SET dtype = ? WHERE name = ?', (self._dtype.str, self.stack_name))
        for (i, e), row_id in zip(new, row_ids):
            e.row_id, e.position = row_id, i
        for i, e in moved:
            e.position = i
        self._deleted_rows.clear()
        self._saved_dtype = self._dtype

    def _read(self, index: int, entry: _Entry) -> np.ndarray:
        row = self._connection().execute(
            'SELECT shape, dtype, data FROM images WHERE id = ?', (entry.row_id,)).fetchone()
        if row is None:
            raise StackError(f'image {index} of stack {self.stack_name!r} (row {entry.row_id}) is no longer in '
                             f'{self.database}; another writer changed the stack, call reload()')
        shape, dtype, data = row
        image = np.frombuffer(data, dtype=np.dtype(dtype)).reshape(json.loads(shape))
        return convert_image_dtype(image, self._dtype)

    # -- RAM budget ------------------------------------------------------------------
    def _hold(self, entry: _Entry, image: np.ndarray) -> None:
        image.setflags(write=False)
        entry.image = image
        self._cache[entry] = None
        self._bytes += image.nbytes
        self._enforce_budget(keep=entry)

    def _release(self, entry: _Entry) -> None:
        if entry.image is not None:
            self._bytes -= entry.image.nbytes
            entry.image = None
            del self._cache[entry]

    def _evict(self, limit: int, keep: _Entry | None) -> None:
        """Drop committed images from RAM, least recently used first, until at most ``limit`` bytes remain."""
        for entry in list(self._cache):
            if self._bytes <= limit:
                return
            if entry is not keep and entry.row_id is not None:
                self._release(entry)

    def _enforce_budget(self, keep: _Entry | None = None) -> None:
        if psutil.virtual_memory().percent > self.cache_limit:
            self._commit()
            self._evict(0, keep)
        elif self._max_bytes is not None and self._bytes > self._max_bytes:
            self._evict(self._max_bytes, keep)
            if self._bytes > self._max_bytes:
                self._commit()
                self._evict(self._max_bytes, keep)

    # -- storage primitives ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def _get(self, index: int) -> np.ndarray:
        entry = self._entries[index]
        if entry.image is None:
            self._hold(entry, self._read(index, entry))
        else:
            self._cache.move_to_end(entry)
        return entry.image

    def _forget(self, entry: _Entry) -> None:
        self._release(entry)
        if entry.row_id is not None:
            self._deleted_rows.append(entry.row_id)

    def _set(self, index: int, image: np.ndarray) -> None:
        self._forget(self._entries[index])
        entry = self._entries[index] = _Entry()
        self._hold(entry, image)

    def _insert(self, index: int, image: np.ndarray) -> None:
        entry = _Entry()
        self._entries.insert(index, entry)
        self._hold(entry, image)

    def _delete(self, index: int) -> None:
        self._forget(self._entries.pop(index))

    def _empty_like(self, database: PathLike = '', stack_name: str = '') -> 'ImageStackSQL':
        return type(self)(database, stack_name, self._dtype, self.max_size_mb, self.cache_limit)

    # -- public ----------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        """Bytes of decoded images held in RAM (committed or not)."""
        return self._bytes

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(n={len(self)}, dtype={self._dtype.name}, database={self.database!r}, '
                f'stack_name={self.stack_name!r}, nbytes={self._bytes})')

    def copy(self, database: PathLike = '', stack_name: str = '') -> 'ImageStackSQL':
        """A new database-backed stack with the same images and settings (a temporary database by default)."""
        out = self._empty_like(database, stack_name)
        out.extend(self)
        return out

    def save_state(self) -> None:
        """Commit every image and change to the database; durable once this returns."""
        self._commit()

    def reload(self) -> None:
        """Forget uncommitted changes and decoded images, and read the stack's committed order again.

        A reader process calls this to see images another process has committed since.
        """
        conn = self._connection()
        row = conn.execute('SELECT dtype FROM stacks WHERE name = ?', (self.stack_name,)).fetchone()
        if row is None:
            names = [r[0] for r in conn.execute('SELECT name FROM stacks ORDER BY name')]
            raise UnknownIdError(f'unknown stack_name={self.stack_name!r} in {self.database}; '
                                 f'stacks there: {names}')
        self._dtype = self._saved_dtype = np.dtype(row[0])
        rows = conn.execute('SELECT id, position FROM images WHERE stack = ? ORDER BY position, id',
                            (self.stack_name,)).fetchall()
        self._entries = [_Entry(row_id=row_id, position=position) for row_id, position in rows]
        self._cache.clear()
        self._bytes = 0
        self._deleted_rows.clear()

    def close(self) -> None:
        """Commit everything and close this process's database connection (reopened on next use)."""
        self._commit()
        if self._conn is not None and self._conn_pid == os.getpid():
            self._conn.close()
        self._conn = None

    @classmethod
    def load_from_database(cls, database: PathLike, stack_name: str, dtype: Any = None,
                           max_size_mb: float | None = None, cache_limit: float = 80) -> 'ImageStackSQL':
        """Open a stack committed to ``database`` (in this or any later process).

        Parameters
        ----------
        database : PathLike
            An existing stack database.
        stack_name : str
            The stack to open.
        dtype : Any
            If given, the dtype the stack must have.
        max_size_mb, cache_limit
            The RAM budget of the opened stack (see the class).

        Raises
        ------
        SourceNotFoundError
            The database file does not exist.
        UnknownIdError
            No stack of that name is in the database.
        StackError
            The stack's dtype differs from ``dtype``.
        """
        if not os.path.isfile(database):
            raise SourceNotFoundError(f'stack database {os.fspath(database)!r} does not exist')
        stack = cls.__new__(cls)
        stack._setup(database, stack_name, max_size_mb, cache_limit)
        stack.reload()
        if dtype is not None and stack.dtype != image_dtype(dtype):
            raise StackError(f'stack {stack_name!r} in {stack.database} has dtype {stack.dtype.name}, '
                             f'not the requested {image_dtype(dtype).name}')
        return stack

    @classmethod
    def from_paths(cls, paths: Sequence[PathLike], dtype: Any = None, database: PathLike = '',
                   stack_name: str = '', max_size_mb: float | None = None, cache_limit: float = 80,
                   **imread_kwargs: Any) -> 'ImageStackSQL':
        """A database-backed stack of the images in ``paths`` (see :meth:`ImageStack.from_paths`)."""
        stack_kwargs = dict(database=database, stack_name=stack_name, max_size_mb=max_size_mb,
                            cache_limit=cache_limit)
        return cls._fill_from_paths(paths, dtype, stack_kwargs, imread_kwargs)

    # -- pickling: commit, then carry only row ids; connections are reopened per process
    def __getstate__(self) -> dict:
        self._commit()
        return {'database': self.database, 'stack_name': self.stack_name, 'dtype': self._dtype.str,
                'max_size_mb': self.max_size_mb, 'cache_limit': self.cache_limit,
                'rows': [e.row_id for e in self._entries]}

    def __setstate__(self, state: dict) -> None:
        self._setup(state['database'], state['stack_name'], state['max_size_mb'], state['cache_limit'])
        self._dtype = self._saved_dtype = np.dtype(state['dtype'])
        self._entries = [_Entry(row_id=row_id, position=i) for i, row_id in enumerate(state['rows'])]
