"""A tiny end-to-end training loop: sampler -> plan -> DataLoader -> conv net predicting class masks."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
from torch import nn

from ndsampler import errors
from ndsampler._typing import WindowDims

from ._collate import collate
from ._dataset import SamplerDataset
from ._distributed import DistributedPlanSampler
from ._transforms import RandomHorizontalFlip

__all__ = ['ClassMaskNet', 'demo_train']


class ClassMaskNet(nn.Module):
    """A small fully convolutional net: per-pixel logits over ``n_classes + 1`` (0 = background).

    Input batches are normalised by a leading ``BatchNorm2d``, so raw pixel ranges (0..255 or 0..1)
    need no preprocessing.
    """

    def __init__(self, in_channels: int, n_classes: int, width: int = 16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.BatchNorm2d(in_channels),
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=2, dilation=2), nn.ReLU(),
            nn.Conv2d(width, n_classes + 1, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, n_classes + 1, H, W) for images (B, C, H, W)."""
        return self.layers(x)


def demo_train(sampler: Any, steps: int = 30, window_dims: WindowDims = (64, 64), batch_size: int = 8,
               num_workers: int = 0, lr: float = 1e-2, seed: int = 0, plan: str = 'positives',
               plan_kw: Mapping[str, Any] | None = None, channels: str | None = None,
               log: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Train :class:`ClassMaskNet` on class masks of sampled windows for ``steps`` optimiser steps.

    Windows come from ``SamplerDataset(sampler, plan, window_dims, with_masks=True)`` with random
    horizontal flips, through a ``DataLoader`` (``num_workers`` workers, shuffled by
    :class:`DistributedPlanSampler` with one replica, ``set_epoch`` each pass). Deterministic for a
    given ``seed`` whatever ``num_workers``.

    Parameters
    ----------
    sampler : CocoSampler | SyntheticSampler
    steps : int
        Optimiser steps (the loader is re-iterated, one epoch per pass, until done).
    log : callable, optional
        ``log(step, loss)`` after each step.

    Returns
    -------
    dict
        ``losses`` (one float per step), ``model`` (the trained net in eval mode), ``class_names``.

    Example
    -------
    >>> from ndsampler_torch import SyntheticSampler
    >>> result = demo_train(SyntheticSampler.demo(), steps=2, window_dims=(32, 32), batch_size=4)
    >>> len(result['losses'])
    2
    """
    if int(steps) < 1:
        raise errors.InvalidOptionError('steps', steps, 'a positive int')
    torch.manual_seed(seed)
    dataset = SamplerDataset(sampler, plan, window_dims=window_dims, channels=channels, with_masks=True,
                             transform=RandomHorizontalFlip(0.5), seed=seed, plan_kw=plan_kw)
    if len(dataset) == 0:
        raise errors.InvalidOptionError('plan', plan, 'a plan that yields at least one window for this sampler')
    order = DistributedPlanSampler(dataset, num_replicas=1, rank=0, shuffle=True, seed=seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=order, num_workers=num_workers,
                                         collate_fn=collate, persistent_workers=num_workers > 0)
    model = ClassMaskNet(dataset[0]['im'].shape[0], len(dataset.class_names))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses: list[float] = []
    epoch = 0
    model.train()
    while len(losses) < steps:
        order.set_epoch(epoch)
        for batch in loader:
            loss = nn.functional.cross_entropy(model(batch['im']), batch['mask'])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if log is not None:
                log(len(losses), losses[-1])
            if len(losses) == steps:
                break
        epoch += 1
    model.eval()
    return {'losses': losses, 'model': model, 'class_names': dataset.class_names}
