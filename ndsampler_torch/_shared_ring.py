"""Reusable shared-memory buffers for the large stacked tensors a DataLoader worker sends.

Fresh shared memory is expensive where page faults are (virtual machines): filling a new 25 MB
segment costs the worker 16-21 ms, and the main process maps it and faults its pages in again.
Each worker process instead keeps a small ring of shared storages allocated once (a slot grows
when a batch needs more) and a shared ``int32`` flag per slot (1: in use). :func:`collate` stacks a
large tensor straight into a free slot (:func:`ring_tensor`), the pickled :class:`~._collate.Batch`
names the slot (:func:`pack_ring_tensor`; the storage handle and the flags cross only the first
time), and on receipt the main process hands out the slot itself, leased
(:func:`unpack_ring_tensor`): the tensor views the slot's memory, and the slot is marked free for
the worker only when that memory is released, i.e. when the last tensor, view or numpy array
sharing it is gone (a training step that drops its batch releases it; ``pin_memory`` copies and
releases it at once). No byte is copied in the main process, and a batch a user holds is never
overwritten: its slot stays in use as long as anything refers to it. The main process keeps every
slot it received mapped, so a reused slot costs no new mapping.

A worker never waits: when every slot is in use (the main process has not read the batches
holding them yet, or the user keeps them) the ring adds one, up to :data:`RING_SLOTS`, and past
that the tensor goes to fresh shared memory, as torch sends any tensor.
"""
from __future__ import annotations

import os
import weakref
from typing import Any, NamedTuple

import torch

from ndsampler import errors

__all__ = ['RING_SLOTS', 'tensor_on', 'ring_tensor', 'pack_ring_tensor', 'unpack_ring_tensor', 'drop_exited_rings']

#: the most slots a worker's ring holds (a batch in flight per slot)
RING_SLOTS = 8


class _Ring:
    """One worker process's slots: shared storages, their flags and what the receiver already has."""

    def __init__(self) -> None:
        self.ring_id = os.urandom(8).hex()
        self.pid = os.getpid()
        self.flags = torch.zeros(RING_SLOTS, dtype=torch.int32).share_memory_()
        self.in_use = self.flags.numpy()
        self.storages: list[torch.UntypedStorage] = []
        self.generations: list[int] = []
        self.shipped: list[int] = []  # per slot, the generation whose storage was pickled (-1: none)
        self.flags_shipped = False

    def acquire(self, nbytes: int) -> torch.UntypedStorage | None:
        """A free slot's storage of at least ``nbytes``, marked in use; None when all are taken."""
        free = [slot for slot in range(len(self.storages)) if not self.in_use[slot]]
        fitting = [slot for slot in free if self.storages[slot].nbytes() >= nbytes]
        if fitting:
            slot = fitting[0]
        elif free:
            slot = free[0]
            self._allocate(slot, nbytes)
        elif len(self.storages) < RING_SLOTS:
            slot = len(self.storages)
            self.storages.append(torch.UntypedStorage._new_shared(nbytes))  # appended only once allocated
            self.generations.append(0)
            self.shipped.append(-1)
        else:
            return None
        self.in_use[slot] = 1
        return self.storages[slot]

    def _allocate(self, slot: int, nbytes: int) -> None:
        self.storages[slot] = torch.UntypedStorage._new_shared(nbytes)
        self.generations[slot] += 1


_RING: _Ring | None = None


def _worker_ring() -> _Ring:
    """This process's ring, made on first use (a forked child makes its own)."""
    global _RING
    if _RING is None or _RING.pid != os.getpid():
        _RING = _Ring()
    return _RING


def tensor_on(storage: torch.UntypedStorage, dtype: torch.dtype, shape: tuple[int, ...]) -> torch.Tensor:
    """A contiguous tensor of ``dtype`` and ``shape`` viewing ``storage`` from its start (no copy)."""
    return torch.empty(0, dtype=dtype).set_(storage, 0, shape)


def ring_tensor(dtype: torch.dtype, shape: tuple[int, ...]) -> torch.Tensor | None:
    """An uninitialised contiguous tensor in a free slot of this worker's ring; None when all are in use."""
    ring = _worker_ring()
    storage = ring.acquire(torch.Size(shape).numel() * dtype.itemsize)
    return None if storage is None else tensor_on(storage, dtype, shape)


class _Wire(NamedTuple):
    ring_id: str
    pid: int
    slot: int
    generation: int
    flags: torch.Tensor | None
    storage: torch.UntypedStorage | None
    dtype: torch.dtype
    shape: tuple[int, ...]


def pack_ring_tensor(value: Any) -> _Wire | None:
    """What a tensor in a slot of this process's ring pickles as; None for any other value."""
    ring = _RING
    if (ring is None or ring.pid != os.getpid() or not isinstance(value, torch.Tensor)
            or value.device.type != 'cpu' or value.storage_offset() != 0 or not value.is_contiguous()):
        return None
    ptr = value.untyped_storage().data_ptr()
    slot = next((slot for slot, storage in enumerate(ring.storages) if storage.data_ptr() == ptr), None)
    if slot is None:
        return None
    generation = ring.generations[slot]
    storage = None if ring.shipped[slot] == generation else ring.storages[slot]
    ring.shipped[slot] = generation
    flags = None if ring.flags_shipped else ring.flags
    ring.flags_shipped = True
    return _Wire(ring.ring_id, ring.pid, slot, generation, flags, storage, value.dtype, tuple(value.shape))


class _Received(NamedTuple):
    pid: int
    in_use: Any  # numpy view of the worker's shared flags (its base tensor keeps them mapped)
    slots: dict[int, tuple[int, torch.UntypedStorage]]


#: receiving side: every ring a worker sent from, by ring id, its storages kept mapped
_RECEIVED: dict[str, _Received] = {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_exited_rings(pid: int | None = None) -> None:
    """Unmap the received rings of workers that exited (and every ring of process ``pid``).

    A loader whose workers are done leaves their slots mapped here until a new ring arrives; call
    this after its last batch to give that memory back at once.
    """
    for ring_id, received in list(_RECEIVED.items()):
        if received.pid == pid or not _alive(received.pid):
            del _RECEIVED[ring_id]


def _register(wire: _Wire) -> _Received:
    """Keep a new ring, dropping those of exited workers and any older ring of the same process."""
    if wire.flags is None:
        raise errors.NdsamplerError(
            f'a batch names shared-memory ring {wire.ring_id} of worker {wire.pid}, which this process never '
            f'received: ring batches must be unpickled in the process their worker sends to, in order')
    drop_exited_rings(wire.pid)
    received = _Received(wire.pid, wire.flags.numpy(), {})
    _RECEIVED[wire.ring_id] = received
    return received


def unpack_ring_tensor(wire: _Wire) -> torch.Tensor:
    """The slot a worker sent, as a tensor leasing it: the slot is freed when the tensor's memory is."""
    received = _RECEIVED.get(wire.ring_id) or _register(wire)
    if wire.storage is not None:
        received.slots[wire.slot] = (wire.generation, wire.storage)
    generation, storage = received.slots.get(wire.slot, (None, None))
    if generation != wire.generation:
        raise errors.NdsamplerError(
            f'slot {wire.slot} generation {wire.generation} of shared-memory ring {wire.ring_id} was never '
            f'received (have generation {generation}): ring batches must be unpickled in order')
    view = tensor_on(storage, wire.dtype, wire.shape)
    try:
        lease = view.numpy()  # this lease's own array object: the tensor below holds it as its memory
    except TypeError:  # dtypes numpy lacks (bfloat16, ...): a private copy, the slot free at once
        out = view.clone()
        received.in_use[wire.slot] = 0
        return out
    weakref.finalize(lease, _release, received.in_use, wire.slot)
    return torch.from_numpy(lease)


def _release(in_use: Any, slot: int) -> None:
    """Mark a slot free for its worker (the last reference to a leased tensor's memory is gone)."""
    in_use[slot] = 0
