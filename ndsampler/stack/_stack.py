"""ImageStack: a list-like stack of images of one dtype, held in RAM."""
from __future__ import annotations

import operator
import os
from typing import Any, Callable, Iterable, Iterator, Sequence

import kwimage
import numpy as np

from ndsampler._typing import PathLike
from ndsampler.errors import ImageReadError, SourceNotFoundError, StackError
from ndsampler.stack._dtype import convert_image_dtype, image_dtype

__all__ = ['ImageStack']


class ImageStack:
    """A list-like stack of images (any shapes) sharing one dtype.

    Every image entering the stack is copied and converted to the stack's dtype with
    image-range semantics (:func:`ndsampler.stack.convert_image_dtype`). Indexing
    with an int returns the stored array; with a slice, a new stack.

    Subclasses change where images live by overriding the storage primitives
    ``_get``, ``_set``, ``_insert``, ``_delete``, ``__len__`` and ``_empty_like``;
    every list operation is built on them.

    Parameters
    ----------
    dtype : Any
        The dtype every image is converted to (bool, integer or float).

    Example
    -------
    >>> import numpy as np
    >>> stack = ImageStack(np.float32)
    >>> stack.add_image(np.full((2, 2), 255, dtype=np.uint8))
    >>> stack.add_image(np.zeros((3, 3)))
    >>> stack
    ImageStack(n=2, dtype=float32)
    >>> float(stack[0].max())
    1.0
    >>> stack.execute_rolling_function(lambda prev, cur: cur.sum() - prev.sum(), keep_first=False)
    >>> [float(im) for im in stack]
    [-4.0]
    """

    def __init__(self, dtype: Any = np.float32):
        self._dtype = image_dtype(dtype)
        self._images: list[np.ndarray] = []

    # -- storage primitives (overridden by database-backed stacks) -------------------
    def __len__(self) -> int:
        return len(self._images)

    def _get(self, index: int) -> np.ndarray:
        return self._images[index]

    def _set(self, index: int, image: np.ndarray) -> None:
        self._images[index] = image

    def _insert(self, index: int, image: np.ndarray) -> None:
        self._images.insert(index, image)

    def _delete(self, index: int) -> None:
        del self._images[index]

    def _empty_like(self) -> 'ImageStack':
        return type(self)(dtype=self._dtype)

    # -- helpers ---------------------------------------------------------------------
    def _convert(self, image: Any) -> np.ndarray:
        """``image`` in the stack dtype; StackError unless it is a numeric array with an axis (or nested lists)."""
        try:
            arr = np.asarray(image)
        except ValueError:  # ragged nested lists
            arr = None
        if arr is None or arr.ndim == 0 or arr.dtype.kind not in 'biuf':
            what = type(image).__name__ if arr is None else f'{type(image).__name__} {arr.shape} {arr.dtype}'
            raise StackError(f'cannot add {what} to the stack; allowed: a numeric array such as (H, W) or (H, W, C)')
        return convert_image_dtype(arr, self._dtype, copy=True)

    def _normalize_index(self, index: Any, allow_end: bool = False) -> int:
        try:
            i = operator.index(index)
        except TypeError:
            raise StackError(f'stack index must be an int or a slice, got {type(index).__name__} {index!r}') from None
        n = len(self)
        upper = n + 1 if allow_end else n
        j = i + n if i < 0 else i
        if not 0 <= j < upper:
            raise StackError(f'stack index {i} out of range for a stack of {n} image(s)')
        return j

    def _slice_indices(self, key: slice) -> range:
        try:
            return range(*key.indices(len(self)))
        except (TypeError, ValueError):  # a zero step, bounds that are not ints
            raise StackError(f'invalid stack slice {key!r}; allowed: int or None bounds and a non-zero step') from None

    # -- public list interface -------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        """The dtype of every image in the stack."""
        return self._dtype

    @property
    def nbytes(self) -> int:
        """Bytes of decoded image data held in RAM."""
        return sum(im.nbytes for im in self._images)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(n={len(self)}, dtype={self._dtype.name})'

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self._get(i)

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            out = self._empty_like()
            out.extend(self._get(i) for i in self._slice_indices(key))
            return out
        return self._get(self._normalize_index(key))

    def __setitem__(self, key: int | slice, value: Any) -> None:
        if not isinstance(key, slice):
            self._set(self._normalize_index(key), self._convert(value))
            return
        indices = self._slice_indices(key)
        try:
            images = value if isinstance(value, (ImageStack, list, tuple)) else list(value)
        except TypeError:
            raise StackError(f'cannot assign {type(value).__name__} {value!r} to slice {key}; '
                             'allowed: a sequence of images (a list, a stack)') from None
        if len(images) != len(indices):
            raise StackError(
                f'cannot assign {len(images)} image(s) to slice {key} selecting {len(indices)} image(s); '
                'lengths must match')
        for i, image in zip(indices, images):
            self._set(i, self._convert(image))

    def __delitem__(self, key: int | slice) -> None:
        if isinstance(key, slice):
            for i in sorted(self._slice_indices(key), reverse=True):
                self._delete(i)
        else:
            self._delete(self._normalize_index(key))

    def add_image(self, image: Any) -> None:
        """Append ``image`` (converted to the stack dtype)."""
        self._insert(len(self), self._convert(image))

    def insert_image(self, index: int, image: Any) -> None:
        """Insert ``image`` before position ``index`` (``index == len(self)`` appends)."""
        self._insert(self._normalize_index(index, allow_end=True), self._convert(image))

    def remove_image(self, i: int = -1) -> None:
        """Remove the image at position ``i`` (the last one by default)."""
        self._delete(self._normalize_index(i))

    def copy(self) -> 'ImageStack':
        """A new stack of the same kind holding copies of every image."""
        return self[:]

    def change_dtype(self, dtype: Any) -> None:
        """Convert every image, and the stack, to ``dtype`` (image-range semantics)."""
        new = image_dtype(dtype)
        for i in range(len(self)):
            self._set(i, convert_image_dtype(self._get(i), new, copy=True))
        self._dtype = new

    def execute_function(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Replace every image ``im`` by ``func(im, *args, **kwargs)`` (converted to the stack dtype)."""
        for i in range(len(self)):
            self._set(i, self._convert(func(self._get(i), *args, **kwargs)))

    def execute_rolling_function(self, func: Callable[..., Any], keep_first: bool = False,
                                 *args: Any, **kwargs: Any) -> None:
        """Replace image ``i >= 1`` by ``func(previous, current, *args, **kwargs)``.

        ``previous`` is the original image ``i - 1`` (not its replacement). The first image has no
        predecessor: it is kept unchanged when ``keep_first`` is True, removed otherwise.
        """
        if len(self) == 0:
            return
        previous = self._get(0)
        for i in range(1, len(self)):
            current = self._get(i)
            self._set(i, self._convert(func(previous, current, *args, **kwargs)))
            previous = current
        if not keep_first:
            self._delete(0)

    def extend(self, images: Iterable[Any]) -> None:
        """Append every image of ``images``."""
        for image in images:
            self.add_image(image)

    @classmethod
    def from_paths(cls, paths: Sequence[PathLike], dtype: Any = None, **imread_kwargs: Any) -> 'ImageStack':
        """A stack of the images read from ``paths`` with :func:`kwimage.imread`.

        Parameters
        ----------
        paths : Sequence[PathLike]
            Image files, in stack order.
        dtype : Any
            The stack dtype; None uses the dtype of the first image (float32 for an empty list).
        **imread_kwargs
            Passed to :func:`kwimage.imread`.
        """
        return cls._fill_from_paths(paths, dtype, {}, imread_kwargs)

    @classmethod
    def _fill_from_paths(cls, paths: Sequence[PathLike], dtype: Any, stack_kwargs: dict,
                         imread_kwargs: dict) -> 'ImageStack':
        images = (_imread(path, imread_kwargs) for path in paths)
        first = next(images, None)
        if dtype is None:
            dtype = np.float32 if first is None else first.dtype
        stack = cls(dtype=dtype, **stack_kwargs)
        if first is not None:
            stack.add_image(first)
            stack.extend(images)
        return stack


def _imread(path: PathLike, imread_kwargs: dict) -> np.ndarray:
    """:func:`kwimage.imread`; a missing file is SourceNotFoundError, one that does not decode ImageReadError."""
    if not os.path.exists(path):
        raise SourceNotFoundError(f'image file {os.fspath(path)!r} does not exist')
    try:
        return kwimage.imread(path, **imread_kwargs)
    except Exception as ex:
        raise ImageReadError(f'cannot read image {os.fspath(path)!r}: {type(ex).__name__}: {ex}') from ex
