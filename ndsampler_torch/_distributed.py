"""Sharding a plan over the ranks of ``torch.distributed``."""
from __future__ import annotations

import torch.utils.data

__all__ = ['DistributedPlanSampler']


class DistributedPlanSampler(torch.utils.data.DistributedSampler):
    """``torch.utils.data.DistributedSampler`` that also moves the dataset's plan to the epoch.

    Each rank gets a disjoint shard of the plan indexes and all ranks together see every index
    exactly once per epoch, with ``DistributedSampler``'s semantics: with ``drop_last=False`` the
    index list is padded by repeating its head until it divides evenly (so up to
    ``num_replicas - 1`` indexes appear twice), with ``drop_last=True`` the tail is dropped
    instead. ``set_epoch(e)`` reshuffles (when ``shuffle``) and calls ``dataset.set_epoch(e)``, so
    random and negative windows are redrawn identically on every rank (plans depend only on
    ``(seed, epoch, index)``). Call it before ``iter(loader)`` each epoch.

    With ``num_replicas=1, rank=0`` it is also the single-process shuffler to use when batches must
    depend on ``(seed, epoch)`` only: a DataLoader's own ``shuffle=True`` draws a per-iterator seed
    from its generator, and persistent workers draw it once, so later epochs come out in another
    order than without them.

    Parameters are those of ``DistributedSampler``: ``dataset``, ``num_replicas``, ``rank``
    (default: from the initialised process group), ``shuffle``, ``seed``, ``drop_last``.
    """

    def set_epoch(self, epoch: int) -> None:
        """Shuffle for ``epoch`` and redraw the dataset's windows for it."""
        super().set_epoch(epoch)
        set_dataset_epoch = getattr(self.dataset, 'set_epoch', None)
        if set_dataset_epoch is not None:
            set_dataset_epoch(epoch)
