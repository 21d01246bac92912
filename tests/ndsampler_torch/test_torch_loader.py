"""DataLoader behaviour: the same batches for any worker count, start method and persistence.

Shuffling goes through DistributedPlanSampler (one replica) so the order depends on (seed, epoch)
only; a DataLoader's own ``shuffle=True`` also draws per-iterator seeds from its generator, which
persistent workers draw once, so its epoch >= 1 order differs between persistent and not.
"""
import pytest
import torch

from ndsampler_torch import DistributedPlanSampler, RandomHorizontalFlip, SamplerDataset, SyntheticSampler, collate


def _dataset():
    sampler = SyntheticSampler.demo(n_images=6, n_annots=30, n_classes=2, image_dsize=(128, 128), seed=4)
    return SamplerDataset(sampler, 'balanced', window_dims=(24, 24), with_masks=True, seed=1,
                          transform=RandomHorizontalFlip(), plan_kw={'length': 20})


def _epochs(num_workers, context=None, persistent=False, n_epochs=2):
    ds = _dataset()
    order = DistributedPlanSampler(ds, num_replicas=1, rank=0, shuffle=True, seed=0)
    loader = torch.utils.data.DataLoader(
        ds, batch_size=4, sampler=order, collate_fn=collate, num_workers=num_workers,
        multiprocessing_context=context, persistent_workers=persistent)
    out = []
    for epoch in range(n_epochs):
        order.set_epoch(epoch)
        out.append([(b['index'].tolist(), b['im'], b['mask'], [x.tolist() for x in b['boxes']]) for b in loader])
    return out


def _same(a, b):
    if [len(e) for e in a] != [len(e) for e in b]:
        return False
    return all(ia == ib and torch.equal(ma, mb) and torch.equal(ka, kb) and ba == bb
               for ea, eb in zip(a, b) for (ia, ma, ka, ba), (ib, mb, kb, bb) in zip(ea, eb))


@pytest.fixture(scope='module')
def reference():
    return _epochs(0)


def test_epochs_differ(reference):
    assert not _same([reference[0]], [reference[1]])
    assert [sorted(i for b in epoch for i in b[0]) for epoch in reference] == [list(range(20))] * 2
    assert [i for b in reference[0] for i in b[0]] != [i for b in reference[1] for i in b[0]]


@pytest.mark.slow
@pytest.mark.parametrize('context,persistent', [('fork', False), ('fork', True), ('spawn', True)])
def test_two_workers_match_zero_workers(reference, context, persistent):
    assert _same(_epochs(2, context, persistent), reference)


def test_one_worker_matches_zero_workers(reference):
    assert _same(_epochs(1, 'fork'), reference)
