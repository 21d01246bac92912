"""``im_dtype='native'``: the sampler's own dtype in CHW, the same values as the float32 path."""
import numpy as np
import pytest
import torch

from ndsampler.errors import InvalidOptionError
from ndsampler.sampler import CocoSampler
from ndsampler_torch import DistributedPlanSampler, RandomHorizontalFlip, SamplerDataset, collate
from ndsampler_torch import _collate


@pytest.fixture(scope='module')
def sampler(tmp_path_factory):
    return CocoSampler.demo('shapes8', workdir=tmp_path_factory.mktemp('shapes8'))


def _dataset(sampler, im_dtype):
    return SamplerDataset(sampler, 'balanced', window_dims=(64, 64), with_masks=True, seed=3,
                          transform=RandomHorizontalFlip(), plan_kw={'length': 12}, im_dtype=im_dtype)


def _batches(dataset, workers):
    order = DistributedPlanSampler(dataset, num_replicas=1, rank=0, seed=1)
    order.set_epoch(1)
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, sampler=order, collate_fn=collate,
                                         num_workers=workers, multiprocessing_context='fork' if workers else None)
    return list(loader)


def test_unknown_im_dtype_is_refused(sampler):
    with pytest.raises(InvalidOptionError, match="im_dtype.*'uint8'.*native"):
        SamplerDataset(sampler, 'random', window_dims=(32, 32), im_dtype='uint8')


@pytest.mark.parametrize('workers,shared', [(0, False), (2, False), (2, True)])
def test_native_batches_equal_float32_batches(sampler, monkeypatch, workers, shared):
    if shared:  # every stacked tensor built in a worker goes through shared memory
        monkeypatch.setattr(_collate, '_SHARED_MIN_BYTES', 0)
    floats = _batches(_dataset(sampler, 'float32'), workers)
    natives = _batches(_dataset(sampler, 'native'), workers)
    assert len(floats) == len(natives) == 3
    flipped = 0
    for fb, nb in zip(floats, natives):
        assert nb['im'].dtype == torch.uint8 and nb['im'].shape == fb['im'].shape == (4, 3, 64, 64)
        assert nb['im'].is_contiguous() and not nb['im'].is_shared() and not fb['im'].is_shared()  # ring slots
        assert torch.equal(fb['im'], nb['im'].float())
        assert torch.equal(fb['mask'], nb['mask']) and fb['index'].tolist() == nb['index'].tolist()
        assert all(torch.equal(a, b) for a, b in zip(fb['boxes'], nb['boxes']))
        flipped += int((fb['tf_rel_to_abs'][:, 0, 0] < 0).sum())
    assert flipped > 0  # the transform ran on uint8 images too


class _MixedDtypes(torch.utils.data.Dataset):
    """uint8 images, and one float32 image holding NaN (a window over nodata)."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        if index == 2:
            return {'im': torch.full((1, 2, 2), float('nan'))}
        return {'im': torch.full((1, 2, 2), index, dtype=torch.uint8)}


@pytest.mark.parametrize('workers', [0, 1])
def test_mixed_dtypes_stack_to_the_promoted_type(monkeypatch, workers):
    monkeypatch.setattr(_collate, '_SHARED_MIN_BYTES', 0)
    loader = torch.utils.data.DataLoader(_MixedDtypes(), batch_size=4, collate_fn=collate, num_workers=workers,
                                         multiprocessing_context='fork' if workers else None)
    (batch,) = list(loader)
    im = batch['im']
    assert im.dtype == torch.float32 and im.shape == (4, 1, 2, 2) and not im.is_shared()
    np.testing.assert_array_equal(im[:, 0, 0, 0].numpy(), [0.0, 1.0, np.nan, 3.0])
