"""The ndsampler error hierarchy.

Every error the library raises on purpose derives from :class:`NdsamplerError`.
Each leaf also subclasses the builtin exception a caller would naturally catch
(``ValueError`` for bad arguments, ``KeyError`` for unknown ids, ``OSError``
for I/O problems), so ``except ValueError`` keeps working for code that does
not know about ndsampler.

Messages name the offending value and say what is allowed.

Example
-------
>>> from ndsampler import errors
>>> try:
...     raise errors.InvalidOptionError('interpolation', 'bicubic', ['nearest', 'linear'])
... except ValueError as ex:
...     print(ex)
invalid interpolation='bicubic'; allowed: 'nearest', 'linear'
"""
from __future__ import annotations

import errno
import os
from typing import Any, Iterable

__all__ = [
    'NdsamplerError',
    'InvalidOptionError',
    'ChannelSpecError',
    'ChannelTypeError',
    'UnknownChannelError',
    'UnknownChannelWarning',
    'WindowError',
    'SampleTooLargeError',
    'TransformError',
    'TargetError',
    'MissingNegativePool',
    'UnknownIdError',
    'IndexOutOfRangeError',
    'SourceNotFoundError',
    'ImageReadError',
    'StaleFrameError',
    'SourceMismatchError',
    'CacheError',
    'OutputError',
    'ConversionError',
    'StitchingError',
    'StackError',
    'raise_if_out_of_descriptors',
    'allowed_text',
]


def allowed_text(allowed: Iterable[Any] | str) -> str:
    """What is allowed, as every message says it: a sentence as it is, values by their repr, comma-separated."""
    return allowed if isinstance(allowed, str) else ', '.join(repr(a) for a in allowed)


class NdsamplerError(Exception):
    """Root of every error raised by ndsampler on purpose."""


class InvalidOptionError(NdsamplerError, ValueError):
    """An option has a value outside its allowed set.

    Parameters
    ----------
    name : str
        The option's name.
    value : Any
        The value that was given.
    allowed : Iterable | str | None
        The allowed values, or a sentence describing them.
    """

    def __init__(self, name: str, value: Any, allowed: Iterable[Any] | str | None = None):
        self.name = name
        self.value = value
        self.allowed = allowed
        msg = f'invalid {name}={value!r}'
        if allowed is not None:
            msg += f'; allowed: {allowed_text(allowed)}'
        super().__init__(msg)


class ChannelSpecError(NdsamplerError, ValueError):
    """A channel spec string does not follow the grammar (shows text and position)."""


class ChannelTypeError(ChannelSpecError, TypeError):
    """A channel spec was given as a value of no accepted type (None, a float, bytes)."""


class UnknownChannelError(NdsamplerError, KeyError):
    """A channel name was requested that the data does not have."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ''


class UnknownChannelWarning(UserWarning):
    """Requested channels exist in no asset of the dataset (a typo?): their bands are NaN in every sample.

    Not an error: a frame that lacks a channel gives NaN there on purpose (multi-sensor data).
    The sampler issues it once per channel (see ``ndsampler.sampler.CocoSampler.load_sample``).

    Parameters
    ----------
    channels : sequence of str
        The unknown channel names.
    known : sequence of str
        The channels the dataset has (the message shows the first :attr:`SHOWN`).
    """

    #: known channels named in the message
    SHOWN = 32

    def __init__(self, channels: Iterable[str], known: Iterable[str]):
        self.channels = tuple(channels)
        self.known = tuple(known)
        more = f', ... ({len(self.known)} in all)' if len(self.known) > self.SHOWN else ''
        names = allowed_text(self.channels)
        what = f'channels {names} are' if len(self.channels) > 1 else f'channel {names} is'
        super().__init__(f'{what} in no image of the dataset (NaN in every sample; a typo?); '
                         f'known channels: {allowed_text(self.known[:self.SHOWN])}{more}')


class WindowError(NdsamplerError, ValueError):
    """A window, slice or size is invalid (negative size, bad dimensionality)."""


class SampleTooLargeError(WindowError, MemoryError):
    """A request whose output would exceed the sampler's byte limit (refused before anything is allocated).

    Also a ``MemoryError``, what the allocation would have raised.
    """


class TransformError(NdsamplerError, ValueError):
    """An affine transform is malformed or not invertible where it must be."""


class TargetError(NdsamplerError, ValueError):
    """A sampling target dict is malformed (unknown key, conflicting keys)."""


class MissingNegativePool(TargetError, AssertionError):
    """A negative was asked for by index before any negatives were preselected.

    Also an ``AssertionError``, as ndsampler 0.8's class of the same name.
    """


class UnknownIdError(NdsamplerError, KeyError):
    """An image, video, annotation or category id / name does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class IndexOutOfRangeError(NdsamplerError, IndexError):
    """A positional index (sample, positive, negative, frame) is outside the valid range."""


class SourceNotFoundError(NdsamplerError, FileNotFoundError):
    """A source image or asset file does not exist."""


class ImageReadError(NdsamplerError, OSError):
    """A file exists but cannot be decoded (corrupt, truncated, wrong format)."""


class StaleFrameError(ImageReadError):
    """A cache file was read after its source changed (an in-place edit): its pixels are no longer the source's.

    An :class:`ImageReadError`, so the read paths that repair damaged frames rebuild
    this one from the current source and retry, as they do for damage.
    """


class SourceMismatchError(NdsamplerError, ValueError):
    """A source file disagrees with its dataset entry (band count vs ``channels``, size vs ``width`` / ``height``).

    Names the image id, the file, what the dataset says and what the file has.
    """


class CacheError(NdsamplerError, OSError):
    """The frame cache cannot be written or read."""


class OutputError(NdsamplerError, OSError):
    """An output file cannot be written where it was asked for (a folder on its path is a file, no permission)."""


class ConversionError(CacheError):
    """Converting a source image into the cache failed (names the source)."""


class StitchingError(NdsamplerError, ValueError):
    """Stitching inputs are inconsistent (shape mismatch, bad asset name)."""


class StackError(NdsamplerError, ValueError):
    """An image stack operation is invalid (length mismatch, bad index)."""


def raise_if_out_of_descriptors(ex: BaseException, fpath: str) -> None:
    """Raise a plain ``OSError`` (EMFILE / ENFILE) when ``ex`` says no file descriptor was left.

    Callers that turn a failed open or read into :class:`ImageReadError` call
    this first: running out of descriptors says nothing about the file, and an
    ``ImageReadError`` would make frames rebuild a healthy cache file. GDAL
    reports it only in its message, Python in ``errno``.

    Example
    -------
    >>> try:
    ...     raise_if_out_of_descriptors(RuntimeError('/a.tif: Too many open files'), '/a.tif')
    ... except OSError as ex:
    ...     print(type(ex).__name__, ex.errno == errno.EMFILE)
    OSError True
    """
    for code in (errno.ENFILE, errno.EMFILE):  # ENFILE's message contains EMFILE's
        if getattr(ex, 'errno', None) == code or os.strerror(code) in str(ex):
            raise OSError(code, os.strerror(code), fpath) from ex
