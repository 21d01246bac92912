"""Worker batches through the per-worker shared-memory ring: the same data as in process, slots leased until released."""
import gc
import time

import numpy as np
import pytest
import torch

from ndsampler_torch import collate
from ndsampler_torch import _shared_ring

BATCH = 8
SHAPE = (3, 256, 256)  # a stacked float32 batch of 6 MiB: above the shared-memory threshold


class _Items(torch.utils.data.Dataset):
    """Items whose image encodes the index in every pixel (plus a ramp, so no two rows are equal)."""

    def __len__(self):
        return BATCH * 12

    def __getitem__(self, index):
        im = torch.arange(SHAPE[-1], dtype=torch.float32).expand(SHAPE) + index * 1000
        return {'im': im, 'boxes': torch.full((index % 3, 4), float(index)), 'index': index}


def _batches(num_workers, context=None, persistent=False, n_epochs=1):
    loader = torch.utils.data.DataLoader(_Items(), batch_size=BATCH, collate_fn=collate, num_workers=num_workers,
                                         multiprocessing_context=context, persistent_workers=persistent)
    return [batch for _ in range(n_epochs) for batch in loader]


def _same(a, b):
    return len(a) == len(b) and all(
        torch.equal(x['im'], y['im']) and x['index'].tolist() == y['index'].tolist()
        and all(torch.equal(p, q) for p, q in zip(x['boxes'], y['boxes'])) for x, y in zip(a, b))


@pytest.fixture(scope='module')
def reference():
    return _batches(0)


@pytest.mark.parametrize('context,persistent', [('fork', False), ('fork', True), ('spawn', False)])
def test_two_workers_match_in_process(reference, context, persistent):
    got = _batches(2, context, persistent, n_epochs=2)
    assert _same(got, reference + reference)


def test_held_batches_never_change(reference):
    """Every batch is kept while many more are produced (and the workers reuse their slots)."""
    held = _batches(2, 'fork', n_epochs=3)
    assert _same(held, reference * 3)
    assert len({batch['im'].data_ptr() for batch in held}) == len(held)


def test_rings_of_exited_workers_are_dropped():
    for _ in range(2):
        _batches(2, 'fork')
    earlier = [received.pid for received in _shared_ring._RECEIVED.values()]
    deadline = time.monotonic() + 60  # a loaded machine may take a while to end the workers
    while any(_shared_ring._alive(pid) for pid in earlier) and time.monotonic() < deadline:
        time.sleep(0.05)
    _batches(2, 'fork')
    assert len(_shared_ring._RECEIVED) == 2  # the last loader's two workers


def _send(tensor):
    """What the main process receives for a ring tensor of this process (same process: no pickling)."""
    return _shared_ring.unpack_ring_tensor(_shared_ring.pack_ring_tensor(tensor))


def test_received_tensor_leases_its_slot_until_released(monkeypatch):
    monkeypatch.setattr(_shared_ring, '_RING', None)  # this test's own ring
    first = _shared_ring.ring_tensor(torch.float32, (4, 4))
    first.fill_(1)
    wire = _shared_ring.pack_ring_tensor(first)
    assert wire.storage is not None and wire.flags is not None
    out = _shared_ring.unpack_ring_tensor(wire)
    assert torch.equal(out, torch.ones(4, 4)) and out.data_ptr() == first.data_ptr()  # no copy
    ring = _shared_ring._RING
    assert ring.in_use[0] == 1
    other = _shared_ring.ring_tensor(torch.float32, (4, 4))
    assert other.data_ptr() != first.data_ptr()  # the leased slot is not handed out again
    _send(other)
    view, array = out[1:], out.numpy()
    del out
    gc.collect()
    assert ring.in_use[0] == 1  # a view and a numpy array still hold it
    del view
    gc.collect()
    assert ring.in_use[0] == 1
    np.testing.assert_array_equal(array, np.ones((4, 4)))
    del array
    assert ring.in_use[0] == 0 and ring.in_use[1] == 0  # released (the second, unused, at once)
    again = _shared_ring.ring_tensor(torch.float32, (4, 4))
    assert again.data_ptr() == first.data_ptr()
    wire = _shared_ring.pack_ring_tensor(again)
    assert wire.storage is None and wire.flags is None  # the receiver already has both
    again.fill_(2)
    assert torch.equal(_shared_ring.unpack_ring_tensor(wire), torch.full((4, 4), 2.0))


def test_full_ring_falls_back_and_a_slot_grows(monkeypatch):
    monkeypatch.setattr(_shared_ring, '_RING', None)  # this test's own ring
    held = [_shared_ring.ring_tensor(torch.float32, (4, 4)) for _ in range(_shared_ring.RING_SLOTS)]
    assert all(t is not None for t in held)
    assert _shared_ring.ring_tensor(torch.float32, (4, 4)) is None  # all in use: the caller falls back
    received = [_send(t) for t in held]
    assert _shared_ring.ring_tensor(torch.float32, (4, 4)) is None  # all leased by the receiver
    del received
    bigger = _shared_ring.ring_tensor(torch.float32, (64, 64))  # free again, but none fits: one grows
    wire = _shared_ring.pack_ring_tensor(bigger)
    assert wire.storage is not None and wire.generation == 1
    bigger.fill_(3)
    assert torch.equal(_shared_ring.unpack_ring_tensor(wire), torch.full((64, 64), 3.0))


def test_dtype_without_numpy_is_copied_and_freed_at_once(monkeypatch):
    monkeypatch.setattr(_shared_ring, '_RING', None)  # this test's own ring
    tensor = _shared_ring.ring_tensor(torch.bfloat16, (8,))
    tensor.fill_(1.5)
    out = _send(tensor)
    assert out.dtype == torch.bfloat16 and torch.equal(out, torch.full((8,), 1.5, dtype=torch.bfloat16))
    assert out.data_ptr() != tensor.data_ptr() and _shared_ring._RING.in_use[0] == 0


def test_released_batches_let_workers_reuse_their_slots():
    """Batches dropped as they are consumed: each worker cycles through a few slots, never falls back."""
    loader = torch.utils.data.DataLoader(_Items(), batch_size=BATCH, collate_fn=collate, num_workers=2,
                                         multiprocessing_context='fork')
    pointers = set()
    for batch in loader:
        pointers.add(batch['im'].data_ptr())
        assert not batch['im'].is_shared()  # a ring slot, not a fresh torch shared-memory segment
    assert len(pointers) < 12 - 2  # 12 batches, fewer distinct buffers


def test_other_tensors_are_not_ring_tensors():
    assert _shared_ring.pack_ring_tensor(torch.zeros(3)) is None
    assert _shared_ring.pack_ring_tensor(torch.zeros(3).share_memory_()) is None
    assert _shared_ring.pack_ring_tensor('im') is None


def test_persistent_workers_after_an_abandoned_epoch(reference):
    loader = torch.utils.data.DataLoader(_Items(), batch_size=BATCH, collate_fn=collate, num_workers=2,
                                         multiprocessing_context='fork', persistent_workers=True)
    for _ in range(3):  # each epoch stopped early: the batches still in flight are drained on the next one
        partial = [batch for _, batch in zip(range(2), loader)]
        assert _same(partial, reference[:2])
    assert _same(list(loader), reference)
