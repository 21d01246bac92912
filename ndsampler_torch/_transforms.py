"""Augmentations over whole items: image, boxes, mask and the sample-to-image affine move together."""
from __future__ import annotations

from typing import Any

import torch

from ndsampler import errors

__all__ = ['RandomHorizontalFlip']


class RandomHorizontalFlip:
    """Mirror an item left-right with probability ``p``, keeping every target aligned.

    Flips ``im`` (C, H, W) and ``mask`` (H, W), maps boxes ``x -> W - x`` (swapping x1 and x2), and
    composes ``tf_rel_to_abs`` with the flip so flipped sample pixels still map to the right
    image pixels. Native-resolution items (a list ``im`` with ``native_warps`` and ``sample_hw``)
    flip each part and conjugate its warp, so it still maps the part onto the flipped sample. Draws from ``item['rng']`` (the generator :class:`SamplerDataset` provides), so
    the decision is a function of ``(seed, epoch, index)``.

    Example
    -------
    >>> import numpy as np, torch
    >>> item = {'im': torch.arange(4.).reshape(1, 1, 4), 'boxes': torch.tensor([[0., 0., 1., 1.]]),
    ...         'rng': np.random.default_rng(0)}
    >>> out = RandomHorizontalFlip(p=1.0)(item)
    >>> out['im'].tolist(), out['boxes'].tolist()
    ([[[3.0, 2.0, 1.0, 0.0]]], [[3.0, 0.0, 4.0, 1.0]])
    """

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise errors.InvalidOptionError('p', p, 'a probability in [0, 1]')
        self.p = float(p)

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        if item['rng'].random() >= self.p:
            return item
        if isinstance(item['im'], list):
            width = int(item['sample_hw'][1])
            flip = _hflip(width, torch.float64)
            item['native_warps'] = [flip @ warp @ _hflip(part.shape[-1], torch.float64)
                                    for part, warp in zip(item['im'], item['native_warps'])]
            item['im'] = [part.flip(-1) for part in item['im']]
        else:
            width = item['im'].shape[-1]
            item['im'] = item['im'].flip(-1)
        if 'mask' in item:
            item['mask'] = item['mask'].flip(-1)
        if 'boxes' in item:
            boxes = item['boxes']
            item['boxes'] = torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], dim=1)
        if 'tf_rel_to_abs' in item:
            item['tf_rel_to_abs'] = item['tf_rel_to_abs'] @ _hflip(width, item['tf_rel_to_abs'].dtype)
        return item

    def __repr__(self) -> str:
        return f'RandomHorizontalFlip(p={self.p})'


def _hflip(width: int, dtype: torch.dtype) -> torch.Tensor:
    """The (3, 3) affine ``x -> width - x`` (its own inverse)."""
    return torch.tensor([[-1.0, 0.0, width], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype=dtype)
