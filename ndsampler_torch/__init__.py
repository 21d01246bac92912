"""Torch adapter for ndsampler: datasets, sampling plans, collate, distributed sharding.

Plans draw window coordinates from the regions layer (``sampler.regions``, a
:class:`ndsampler.regions.CocoRegions`); the dataset turns them into tensors.

Example
-------
>>> import torch
>>> from ndsampler_torch import SamplerDataset, SyntheticSampler, collate
>>> dataset = SamplerDataset(SyntheticSampler.demo(), 'balanced', window_dims=(32, 32), seed=0)
>>> loader = torch.utils.data.DataLoader(dataset, batch_size=4, collate_fn=collate)
>>> batch = next(iter(loader))
>>> batch['im'].shape, len(batch['boxes'])
(torch.Size([4, 3, 32, 32]), 4)
"""
from ._collate import PER_SAMPLE_KEYS, collate
from ._dataset import IM_DTYPES, SamplerDataset
from ._distributed import DistributedPlanSampler
from ._plans import (PLAN_NAMES, BalancedPlan, GridPlan, NegativePlan, Plan, PositivePlan, RandomWindowPlan,
                     make_plan, plan_regions)
from ._predict import BLENDS, PredictSummary, importance_map, predict
from ._stack_dataset import StackDataset
from ._synthetic import SyntheticSampler
from ._train import ClassMaskNet, demo_train
from ._transforms import RandomHorizontalFlip

__all__ = [
    'SamplerDataset', 'IM_DTYPES', 'collate', 'PER_SAMPLE_KEYS', 'DistributedPlanSampler',
    'Plan', 'RandomWindowPlan', 'PositivePlan', 'NegativePlan', 'BalancedPlan', 'GridPlan', 'make_plan',
    'PLAN_NAMES', 'plan_regions', 'StackDataset', 'SyntheticSampler', 'RandomHorizontalFlip', 'ClassMaskNet',
    'demo_train', 'predict', 'PredictSummary', 'BLENDS', 'importance_map',
]
