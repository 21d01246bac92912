"""A mixin for objects identified by a hash of what they depend on (ndsampler 0.8's ``HashIdentifiable``)."""
from __future__ import annotations

from typing import Any

import ubelt as ub

__all__ = ['HashIdentifiable']


class HashIdentifiable:
    """Gives a class a lazily computed, cached ``hashid`` property.

    A subclass provides one of: ``_depends()`` (returns the hashable things the object's
    content is a function of), ``_make_hashid()`` (returns ``(hashid, parts)``) or a
    ``_hashid`` attribute set beforehand. The mixin is cooperative: its ``__init__``
    passes keyword arguments on along the MRO.

    Example
    -------
    >>> class Config(HashIdentifiable):
    ...     def __init__(self, size):
    ...         super().__init__()
    ...         self.size = size
    ...     def _depends(self):
    ...         return ['config', self.size]
    >>> Config(3).hashid == Config(3).hashid != Config(4).hashid
    True
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._hashid = None
        self._hashid_parts = None

    def _depends(self) -> Any:
        raise NotImplementedError(f'{type(self).__name__} must define _depends, _make_hashid or _hashid')

    def _make_hashid(self) -> tuple[str, Any]:
        parts = self._depends()
        return ub.hash_data(parts), parts

    @property
    def hashid(self) -> str:
        """The hash of :meth:`_depends` (computed once)."""
        if getattr(self, '_hashid', None) is None:
            self._hashid, self._hashid_parts = self._make_hashid()
        return self._hashid
