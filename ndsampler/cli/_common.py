"""What every subcommand shares: the base config, one-line errors, dataset and id parsing."""
from __future__ import annotations

import errno
import os
import sys
import traceback
from typing import Any, List, Optional, Sequence

import kwcoco
import scriptconfig as scfg

from ndsampler.errors import (ImageReadError, InvalidOptionError, NdsamplerError, OutputError, SourceNotFoundError,
                              UnknownIdError, allowed_text)

__all__ = ['CommandConfig', 'load_dataset', 'parse_ids', 'parse_dims', 'parse_names', 'parse_backend', 'CLI_BACKENDS',
           'output_path', 'format_table', 'error_line']


def error_line(command: str, ex: BaseException) -> str:
    """``ndsampler <command>: error: <message>`` (ndsampler errors carry their own wording), on one line.

    A message of several lines (a channel spec error's caret under the text) keeps its first.
    """
    message = str(ex) if isinstance(ex, NdsamplerError) and str(ex) else f'{type(ex).__name__}: {ex}'
    message = message.strip().splitlines()[0] if message.strip() else message
    return f'ndsampler {command}: error: {message}'


class CommandConfig(scfg.DataConfig):
    """Base of the subcommands: ``main`` parses, calls :meth:`execute` and turns errors into one line.

    Subclasses set ``__command__`` and implement ``execute(self) -> int``.
    """

    __special_options__ = False
    verbose = scfg.Value(False, isflag=True, short_alias=['v'], help='print the traceback of an error')

    @classmethod
    def main(cls, argv: Any = True, **kwargs: Any) -> int:
        """Run the subcommand; the exit status is 0 on success, 1 on any error (2 for bad syntax)."""
        config = cls.cli(argv=argv, data=kwargs, strict=True)
        try:
            return int(config.execute() or 0)
        except KeyboardInterrupt:
            print(f'ndsampler {cls.__command__}: interrupted', file=sys.stderr)
            return 130
        except Exception as ex:  # every failure becomes one line; the traceback only under --verbose
            if config.verbose:
                traceback.print_exc()
            print(error_line(cls.__command__, ex), file=sys.stderr)
            return 1


#: Top-level keys of which a kwcoco dataset has at least one.
_DATASET_KEYS = frozenset({'images', 'annotations', 'categories', 'videos'})


def load_dataset(fpath: Any) -> kwcoco.CocoDataset:
    """Read a kwcoco file; a missing or unreadable file raises an ndsampler error naming it."""
    if fpath is None:
        raise SourceNotFoundError('no DATASET given; pass the path of a kwcoco json file')
    fpath = os.fspath(fpath)
    if not os.path.isfile(fpath):
        raise SourceNotFoundError(f'dataset file {fpath!r} does not exist')
    try:
        dset = kwcoco.CocoDataset(fpath)
    except Exception as ex:
        raise ImageReadError(f'cannot read kwcoco dataset {fpath!r}: {type(ex).__name__}: {ex}') from ex
    if not isinstance(dset.dataset, dict) or not _DATASET_KEYS.intersection(dset.dataset):
        keys = sorted(dset.dataset)[:5] if isinstance(dset.dataset, dict) else type(dset.dataset).__name__
        raise ImageReadError(f'{fpath!r} is not a kwcoco dataset (it has {keys!r}); '
                             f'allowed: a json object with {allowed_text(sorted(_DATASET_KEYS))}')
    return dset


def _as_id(text: Any) -> Any:
    try:
        return int(text)
    except (TypeError, ValueError):
        return text


def parse_ids(values: Any, known: Sequence[Any], what: str = 'image id') -> Optional[List[Any]]:
    """Ids from the command line (a list, or one comma-separated string); None means all.

    Unknown ids raise :class:`UnknownIdError` naming the first one.
    """
    if values is None or values == []:
        return None
    if isinstance(values, str):
        values = values.split(',')
    ids = [_as_id(part) for value in values for part in str(value).split(',') if part]
    known_set = set(known)
    for gid in ids:
        if gid not in known_set:
            raise UnknownIdError(f'unknown {what} {gid!r}; the dataset has {len(known_set)} '
                                 f'(e.g. {sorted(known_set, key=str)[:5]!r})')
    return ids


def parse_dims(text: Any, name: str = 'window') -> tuple:
    """``'256,128'`` / ``'256'`` / ``(256, 128)`` -> ``(h, w)`` positive ints."""
    parts = text.split(',') if isinstance(text, str) else list(text) if isinstance(text, (list, tuple)) else [text]
    try:
        dims = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        dims = ()
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) <= 0:
        raise InvalidOptionError(name, text, "'H,W' or 'S' with positive ints")
    return dims


def parse_names(name: str, text: Any, allowed: Sequence[str] | None = None) -> List[str]:
    """The items of a comma-separated option (``'cog, npy'`` -> ``['cog', 'npy']``).

    An empty list (``--backends ''``) would do nothing: InvalidOptionError, as for an
    item outside ``allowed``.
    """
    names = [part.strip() for part in str(text).split(',') if part.strip()]
    what = f'a comma-separated list of {allowed_text(allowed)}' if allowed else 'a comma-separated list of names'
    if not names:
        raise InvalidOptionError(name, text, what)
    for item in names:
        if allowed is not None and item.lower() not in allowed:
            raise InvalidOptionError(name, text, what)
    return names


def output_path(fpath: Any) -> str:
    """The path of a file to write, its folder created; OutputError (an OSError) naming it when that fails."""
    fpath = os.fspath(fpath)
    folder = os.path.dirname(os.path.abspath(fpath))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as ex:
        why = (f'{ex.filename!r} is a file, not a folder' if ex.errno in (errno.EEXIST, errno.ENOTDIR)
               else f'{ex.strerror or ex} ({ex.filename or folder!r})')
        raise OutputError(f'cannot write {fpath!r}: {why}') from None
    if os.path.isdir(fpath) or not os.access(folder, os.W_OK):
        why = 'it is a folder' if os.path.isdir(fpath) else f'folder {folder!r} is not writable'
        raise OutputError(f'cannot write {fpath!r}: {why}')
    return fpath


def format_table(rows: Sequence[Sequence[Any]], header: Optional[Sequence[str]] = None) -> str:
    """Left-aligned text columns."""
    table = [list(map(str, header))] if header else []
    table += [[str(c) for c in row] for row in rows]
    if not table:
        return ''
    widths = [max(len(row[i]) for row in table if i < len(row)) for i in range(max(len(r) for r in table))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    if header:
        lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


#: Backend names the command line accepts (``none`` reads the sources directly).
CLI_BACKENDS = ('cog', 'npy', 'none')


def parse_backend(text: Any, allowed: Sequence[str] = CLI_BACKENDS) -> Optional[str]:
    """A backend name from the command line: ``'cog'``, ``'npy'``, or None for ``'none'``."""
    name = str(text).lower()
    if name not in allowed:
        raise InvalidOptionError('backend', text, allowed)
    return None if name == 'none' else name
