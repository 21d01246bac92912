"""Batching items with a variable number of annotations and, optionally, jagged image sizes."""
from __future__ import annotations

import functools
from typing import Any, Sequence

import torch

from ndsampler import errors

from ._shared_ring import pack_ring_tensor, ring_tensor, tensor_on, unpack_ring_tensor

__all__ = ['collate', 'PER_SAMPLE_KEYS', 'Batch']

#: keys whose length differs per sample: always kept as a list of tensors
PER_SAMPLE_KEYS = frozenset({'boxes', 'labels', 'aids'})


#: stacked tensors at least this large are built in the worker's shared-memory ring (in a DataLoader worker);
#: a tensor already in shared memory below it is small enough to copy into the message
_SHARED_MIN_BYTES = 2 ** 18


class Batch(dict):
    """The batch dict :func:`collate` returns; small tensors cross a process boundary in the message itself.

    A DataLoader worker pickles every tensor of a batch into a fresh shared-memory segment, and
    the main process fetches each segment's handle with a socket round trip answered by a thread of
    the worker (which waits for the worker's GIL). A batch holds a dozen small tensors (per-sample
    boxes, labels, ids, affines, ...), and those segments and round trips cost more than their
    bytes: a ``Batch`` pickles such CPU tensors as plain arrays inside the one message a worker
    sends (a per-sample list as one array and its lengths), and unpickling gives the same dict of
    tensors. A large stacked tensor (at least
    256 KiB: the images of a batch, 25 MB for 32 float 256² RGB windows, 6 MB as uint8 with
    ``SamplerDataset``'s ``im_dtype='native'``; a batch of class masks) is the other way round:
    copying it through the worker's pipe costs the main process several copies and page faults
    (about 80 ms per 25 MB batch on the 2-core machines of ``benchmarks/bench_torch.py``), so
    :func:`collate` stacks it straight into a slot of the worker's ring of reused shared-memory
    buffers (see ``_shared_ring``): it crosses as the slot's name, and unpickling gives a tensor
    on the slot's memory, leased: the worker reuses the slot only once that tensor (and every
    view or array of it) is gone, so a batch a user keeps is never overwritten by a later one.

    Example
    -------
    >>> import pickle, torch
    >>> batch = Batch(im=torch.ones(2, 3), boxes=[torch.zeros(0, 4), torch.ones(1, 4)], kind=['a', 'b'])
    >>> clone = pickle.loads(pickle.dumps(batch))
    >>> type(clone).__name__, clone['im'].tolist(), [b.shape[0] for b in clone['boxes']], clone['kind']
    ('Batch', [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], [0, 1], ['a', 'b'])
    """

    def __reduce__(self):
        return _unpack_batch, ({key: _pack(value) for key, value in self.items()},)


def _pack(value: Any) -> tuple[str, Any]:
    """How one batch value crosses a process boundary.

    ``('ring', slot)`` for a tensor in a worker's shared-memory ring; ``('tensor', array)`` for
    a plain CPU tensor; ``('split', (array, lengths))`` for a list of such tensors that differ only
    in their first dimension (per-sample boxes, labels, ids: one array instead of one per
    sample); ``('list', [packed, ...])`` for any other non-empty (nested) list of CPU tensors;
    else ``('value', value)``.
    """
    wire = pack_ring_tensor(value)
    if wire is not None:
        return 'ring', wire
    array = _as_array(value)
    if array is not None:
        return 'tensor', array
    if isinstance(value, list) and value and isinstance(value[0], (torch.Tensor, list)):
        split = _pack_split(value)
        if split is not None:
            return 'split', split
        packed = [_pack(v) for v in value]
        if all(kind != 'value' for kind, _ in packed):
            return 'list', packed
    return 'value', value


def _pack_split(values: list[Any]) -> tuple[Any, list[int]] | None:
    """``(array, lengths)`` for plain CPU tensors of one dtype whose shapes differ only in dim 0, else None."""
    if not isinstance(values[0], torch.Tensor) or values[0].dim() == 0:
        return None
    try:
        joined = torch.cat(values)
    except (TypeError, RuntimeError):  # not all tensors, other trailing shapes or devices
        return None
    dtype = joined.dtype
    if any(v.dtype != dtype for v in values):
        return None
    array = _as_array(joined)
    return None if array is None else (array, [len(v) for v in values])


def _unpack(packed: tuple[str, Any]) -> Any:
    kind, data = packed
    if kind == 'tensor':
        return torch.from_numpy(data)
    if kind == 'ring':
        return unpack_ring_tensor(data)
    if kind == 'split':
        array, lengths = data
        return list(torch.from_numpy(array).split(lengths))
    return [_unpack(p) for p in data] if kind == 'list' else data


def _is_large_shared(value: torch.Tensor) -> bool:
    """True for a tensor in (torch) shared memory too large to copy into the message (the ring's threshold)."""
    return value.numel() * value.element_size() >= _SHARED_MIN_BYTES and value.is_shared()


def _as_array(value: Any) -> Any:
    """The numpy array sharing the memory of a plain CPU tensor; None for anything else.

    A tensor already in torch shared memory and at least as large as the ring's threshold (a
    fallback when a worker's ring is full) is "anything else": torch sends its handle, not its bytes.
    """
    if (not isinstance(value, torch.Tensor) or value.device.type != 'cpu' or value.requires_grad
            or _is_large_shared(value)):
        return None
    try:
        return value.numpy()
    except TypeError:  # dtypes numpy lacks (bfloat16, ...)
        return None


def _unpack_batch(wire: dict[str, tuple[str, Any]]) -> Batch:
    return Batch({key: _unpack(packed) for key, packed in wire.items()})


def collate(batch: Sequence[dict[str, Any]]) -> Batch:
    """Combine :class:`SamplerDataset` items into a :class:`Batch` (a dict).

    Tensors of one shape (``im``, ``mask``, ``tf_rel_to_abs``) are stacked (to the promoted dtype
    when items differ: uint8 ``im`` next to a float one holding NaN); tensors whose shapes differ
    stay a list; per-sample annotation tensors (``boxes``, ``labels``, ``aids``) are
    always lists of length ``B`` (views of one storage); ints and floats become a 1-D tensor;
    anything else a list of length ``B``: ``kind``, and the native-resolution ``im`` and
    ``native_warps`` (per item a list of parts, so the batch is a list of lists: jagged).

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
    return Batch({key: _collate_values(key, [item[key] for item in batch]) for key in keys})


def _collate_values(key: str, values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, torch.Tensor):
        if key in PER_SAMPLE_KEYS:
            return list(torch.cat(values).split([len(v) for v in values]))
        if any(v.shape != first.shape for v in values):
            return values
        return _stack(values)
    if isinstance(first, (bool, int, float)):
        return torch.tensor(values)
    return values


def _stack(values: list[torch.Tensor]) -> torch.Tensor:
    """``torch.stack`` (mixed dtypes promote, as there); in a DataLoader worker a large result goes
    to a free slot of the worker's shared-memory ring directly (fresh shared memory when all are in use)."""
    first = values[0]
    dtype = functools.reduce(torch.promote_types, {v.dtype for v in values})
    nbytes = first.numel() * dtype.itemsize * len(values)
    if nbytes < _SHARED_MIN_BYTES or first.device.type != 'cpu' or torch.utils.data.get_worker_info() is None:
        return torch.stack(values)
    shape = (len(values), *first.shape)
    out = ring_tensor(dtype, shape)
    if out is None:
        out = tensor_on(torch.UntypedStorage._new_shared(nbytes), dtype, shape)
    return torch.stack(values, out=out)
