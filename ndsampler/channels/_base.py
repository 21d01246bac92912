"""Plumbing shared by the spec classes: construction through ``coerce``, text forms, pickling."""
from __future__ import annotations

from typing import Any

__all__ = ['SpecBase']


class SpecBase:
    """Immutable value object with a ``spec`` string.

    Subclasses define ``coerce(data)``, ``_init(*state)`` (set every slot, ``_spec`` to the text as
    written or None), ``_state()`` (the arguments of ``_init`` that rebuild the object), and
    ``_spec_parts()`` with the separator ``_SEP`` that render ``spec`` when no text was given.
    """

    __slots__ = ('_spec',)
    _SEP = ','

    def __init__(self, spec: Any):
        self._init(*type(self).coerce(spec)._state())

    @classmethod
    def _make(cls, *state: Any) -> Any:
        """Build from internal state without parsing."""
        self = object.__new__(cls)
        self._init(*state)
        return self

    @property
    def spec(self) -> str:
        """The spec string (as written when coerced from a string)."""
        if self._spec is None:
            self._spec = self._SEP.join(self._spec_parts())
        return self._spec

    def __str__(self) -> str:
        return self.spec

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.spec!r})'

    def __reduce__(self):
        return (type(self).coerce, (self.spec,))
