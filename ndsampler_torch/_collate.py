"""Batching items with a variable number of annotations and, optionally, jagged image sizes."""
from __future__ import annotations

from typing import Any, Sequence

import torch

from ndsampler import errors

__all__ = ['collate', 'PER_SAMPLE_KEYS']

#: keys whose length differs per sample: always kept as a list of tensors
PER_SAMPLE_KEYS = frozenset({'boxes', 'labels', 'aids'})


def collate(batch: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Combine :class:`SamplerDataset` items into a batch dict.

    Tensors of one shape (``im``, ``mask``, ``tf_rel_to_abs``) are stacked; tensors whose shapes
    differ (native-resolution parts of different sizes) stay a list; per-sample annotation
    tensors (``boxes``, ``labels``, ``aids``) are always lists of length ``B``; ints and floats
    become a 1-D tensor; anything else (``kind``) a list.

    Example
    -------
    >>> import torch
    >>> batch = collate([{'im': torch.zeros(3, 4, 4), 'boxes': torch.zeros(n, 4), 'gid': 1} for n in (0, 2)])
    >>> batch['im'].shape, [b.shape[0] for b in batch['boxes']], batch['gid'].tolist()
    (torch.Size([2, 3, 4, 4]), [0, 2], [1, 1])
    """
    if len(batch) == 0:
        raise errors.InvalidOptionError('batch', 'an empty batch', 'at least one item')
    keys = list(batch[0])
    for item in batch[1:]:
        if list(item) != keys:
            raise errors.InvalidOptionError('batch item keys', sorted(item), f'the same keys in every item: {sorted(keys)}')
    return {key: _collate_values(key, [item[key] for item in batch]) for key in keys}


def _collate_values(key: str, values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, torch.Tensor):
        if key in PER_SAMPLE_KEYS:
            # views of one storage: a worker ships one shared buffer, not one per sample
            return list(torch.cat(values).split([len(v) for v in values]))
        if any(v.shape != first.shape for v in values):
            return values
        return torch.stack(values)
    if isinstance(first, (bool, int, float)):
        return torch.tensor(values)
    return values
