"""Append sampler outputs (or plain arrays) to an image stack."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ndsampler.stack._stack import ImageStack

__all__ = ['export_samples']


def export_samples(samples_or_arrays: Iterable[Any], stack: ImageStack) -> ImageStack:
    """Append the ``'im'`` of each sample dict (or each array) to ``stack``.

    Parameters
    ----------
    samples_or_arrays : Iterable[Mapping | array_like]
        Sample dicts as returned by ``CocoSampler.load_sample`` (their ``'im'`` is taken) or arrays.
    stack : ImageStack
        The stack to append to (an :class:`ImageStackSQL` spills to its database as it fills).

    Returns
    -------
    ImageStack
        ``stack`` itself.

    Example
    -------
    >>> import numpy as np
    >>> stack = export_samples([{'im': np.zeros((4, 4, 3))}, np.ones((4, 4, 3))], ImageStack())
    >>> len(stack)
    2
    """
    stack.extend(item['im'] if isinstance(item, Mapping) else item for item in samples_or_arrays)
    return stack
