"""The one place the delayed layer touches channel specs (``ndsampler.channels``)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ndsampler.channels import FusedChannelSpec
from ndsampler.errors import ChannelSpecError, UnknownChannelError

__all__ = ['coerce_channels', 'concat_channels', 'subset_channels', 'channel_positions', 'band_runs']


def coerce_channels(channels: Any, num_bands: int | None = None) -> FusedChannelSpec:
    """A FusedChannelSpec for ``channels`` (unnamed bands when None), checked against ``num_bands``."""
    spec = FusedChannelSpec.coerce(num_bands if channels is None else channels)
    if num_bands is not None and spec.numel() != num_bands:
        raise ChannelSpecError(f'channels={spec.spec!r} name {spec.numel()} bands but the data has {num_bands}')
    return spec


def concat_channels(specs: Sequence[FusedChannelSpec]) -> FusedChannelSpec:
    """Channels of parts stacked in order."""
    return FusedChannelSpec.coerce(list(specs))


def subset_channels(spec: FusedChannelSpec, idxs: Sequence[int] | None) -> FusedChannelSpec:
    """The bands at positions ``idxs`` (all when None)."""
    return spec if idxs is None else spec[list(idxs)]


def channel_positions(spec: FusedChannelSpec, request: Any, allow_missing: bool = False) -> tuple[FusedChannelSpec, list[int | None]]:
    """Resolve a channel request against ``spec``.

    Parameters
    ----------
    spec : FusedChannelSpec
        What the data has.
    request : str | list[str] | list[int] | FusedChannelSpec
        Names (any spec form) or band positions.
    allow_missing : bool
        When True a missing name gives ``None``; otherwise UnknownChannelError.

    Returns
    -------
    (FusedChannelSpec, list[int | None])
        The requested channels and their positions in ``spec``.
    """
    if isinstance(request, (list, tuple)) and request and all(isinstance(i, int) for i in request):
        bad = [i for i in request if not -spec.numel() <= i < spec.numel()]
        if bad:
            raise UnknownChannelError(f'channel positions {bad} out of range for {spec.spec!r} '
                                      f'({spec.numel()} bands); allowed: 0..{spec.numel() - 1}')
        idxs = [i % spec.numel() for i in request]
        return spec[idxs], idxs
    wanted = FusedChannelSpec.coerce(request)
    idxs = spec.indices(wanted)
    if not allow_missing and None in idxs:
        missing = [name for name, i in zip(wanted.as_list(), idxs) if i is None]
        raise UnknownChannelError(f'channels {missing} not in {spec.spec!r}; allowed: {spec.as_list()}')
    return wanted.normalize(), idxs


def band_runs(part_sizes: Sequence[int], bands: Sequence[int | None]) -> list[tuple[int, list]]:
    """Consecutive bands of a concat grouped by the part that holds them.

    Parameters
    ----------
    part_sizes : Sequence[int]
        Number of bands of each part.
    bands : Sequence[int | None]
        Band positions in the concat; None is a band no part has.

    Returns
    -------
    list[tuple[int, list]]
        ``(part index, local band positions)`` per run; missing bands form runs of part ``-1``.

    Example
    -------
    >>> band_runs([3, 1], [0, 2, 3, None, 1])
    [(0, [0, 2]), (1, [0]), (-1, [None]), (0, [1])]
    """
    offsets = np.cumsum([0] + list(part_sizes))
    runs: list[tuple[int, list]] = []
    for band in bands:
        key = -1 if band is None else int(np.searchsorted(offsets, band, side='right') - 1)
        local = None if band is None else int(band) - int(offsets[key])
        if runs and runs[-1][0] == key:
            runs[-1][1].append(local)
        else:
            runs.append((key, [local]))
    return runs
