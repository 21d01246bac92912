"""A word for channels no image has: requested bands that are NaN everywhere because of a typo."""
from __future__ import annotations

import warnings

from ndsampler.errors import UnknownChannelWarning

__all__ = ['ChannelCheck']


class ChannelCheck:
    """Warns once per channel when a sample asks for a channel that no image of the dataset has.

    A frame that lacks a requested channel gives NaN there (multi-sensor data needs that);
    a channel that *no* asset of the dataset has is almost always a typo, so the first
    request naming it issues an :class:`~ndsampler.errors.UnknownChannelWarning` that names
    it and the channels the dataset knows. The known channels are gathered once, on the
    first request that names channels (``frames.image_channels`` of every image: the
    declared ``channels``, a header read only for an asset that declares none); after that a
    request costs one set lookup of its channel code.

    Parameters
    ----------
    frames : ndsampler.frames.Frames
        The sampler's frames.
    """

    def __init__(self, frames):
        self.frames = frames
        self._known: dict[str, None] | None = None
        self._checked: set[str] = set()
        self._warned: set[str] = set()

    @property
    def known(self) -> list[str]:
        """Every channel of the dataset, in first-seen order (gathered once)."""
        if self._known is None:
            names: dict[str, None] = {}
            for gid in self.frames.image_ids:
                names.update(dict.fromkeys(self.frames.image_channels(gid).as_list()))
            self._known = names
        return list(self._known)

    def __call__(self, code: str | None, stacklevel: int = 1) -> None:
        """Check a fused channel code (``'r|g|b'``, as the sampler requests it; None: nothing asked).

        ``stacklevel`` as in ``warnings.warn``, counted from the caller of this check (1: that caller).
        """
        if code is None or code in self._checked:
            return
        known = self.known
        unknown = [name for name in dict.fromkeys(code.split('|'))
                   if name not in self._known and name not in self._warned]
        self._checked.add(code)
        if unknown:
            self._warned.update(unknown)
            warnings.warn(UnknownChannelWarning(unknown, known), stacklevel=stacklevel + 1)
