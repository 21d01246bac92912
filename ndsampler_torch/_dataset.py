"""``SamplerDataset``: a torch map-style Dataset over a sampler and a sampling plan."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import kwimage
import numpy as np
import torch

from ndsampler import errors
from ndsampler._typing import WindowDims
from ndsampler.sampler import render_class_mask

from ._plans import Plan, make_plan

__all__ = ['SamplerDataset', 'IM_DTYPES']

#: random stream of the per-item generator handed to ``transform``
_STREAM_TRANSFORM = 100

#: accepted ``im_dtype`` values
IM_DTYPES = ('float32', 'native')


class SamplerDataset(torch.utils.data.Dataset):
    """Windows of a sampler as tensors with their targets, one item per plan index.

    Parameters
    ----------
    sampler : CocoSampler | SyntheticSampler
        Anything with ``load_sample(target, with_annots=True, visible_thresh=...)`` returning the
        ndsampler sample dict (and ``regions`` when ``plan`` is a name). Its file handles must open
        lazily (ndsampler's do), so no ``worker_init_fn`` is needed and pickling the dataset for a
        worker copies no pixels. A ``warmup(channels=...)`` method, when it has one
        (``CocoSampler.warmup``), is called here, so forked workers start with its indexes built.
        Spawned workers (``multiprocessing_context='spawn'``) map the regions table and box index
        from files; the kwcoco dataset crosses pickled (~90 MiB per worker at 1M annotations) unless
        it is kwcoco's SQL view (``dset.view_sql()``), which crosses as its URI.
    plan : str | Plan
        A :class:`Plan`, or a name for :func:`make_plan` (``'random'``, ``'positives'``,
        ``'negatives'``, ``'balanced'``, ``'grid'``) built over ``sampler.regions`` with ``plan_kw``.
    window_dims : (int, int), optional
        Window ``(h, w)``; required with a plan name, must match a given plan.
    channels : str, optional
        Channel spec passed to the sampler (``None``: the image's own channels).
    transform : callable, optional
        ``transform(item) -> item`` applied last. ``item['rng']`` is a ``numpy.random.Generator``
        seeded by ``(seed, epoch, index)`` for random augmentations (removed afterwards); the
        transform must keep ``boxes``, ``mask`` and ``tf_rel_to_abs`` aligned with ``im``
        (see :class:`RandomHorizontalFlip`).
    with_masks : bool
        Add ``mask``: (H, W) int64, 0 where no annotation is, ``label + 1`` inside an
        annotation's segmentation (its box when it has none). Where annotations overlap the
        rule of :func:`ndsampler.sampler.render_class_mask` decides (the smaller box wins), so
        the mask equals the sampler's ``class_masks`` of the same window up to the values.
    seed : int
        Seed of the plan built from a name and of the transform generators.
    visible_thresh : float
        Keep an annotation only if more than this fraction of its box is inside the window.
    plan_kw : mapping, optional
        Extra arguments of the plan built from a name.
    use_native_scale : bool
        Native-resolution items: ``im`` becomes a list of (C_k, H_k, W_k) tensors (``im_dtype``), one per
        band group at its own resolution (``CocoSampler``'s ``use_native_scale``),
        ``native_warps`` the list of (3, 3) float64 affines mapping each part's pixels to sample
        pixels, and ``sample_hw`` the (2,) int64 sample size; :func:`collate` keeps ``im`` and
        ``native_warps`` as lists (jagged).
    realign_native : bool | 'largest'
        With ``use_native_scale``: resample the parts to the finest one and concatenate them
        (one part), passed to the sampler.
    im_dtype : {'float32', 'native'}
        Type of ``im`` (and of each native part). ``'float32'``: converted in the dataset.
        ``'native'``: the sampler's own dtype (uint8 for 8-bit imagery; float where it had to put
        NaN for nodata), still (C, H, W). With DataLoader workers every batch crosses a process
        boundary and the main process pays for each byte it receives (fresh shared memory is
        slow to touch on many VMs): uint8 images are 4x fewer bytes than float32. The training loop
        then converts on the device, ``batch['im'].to(device).float()`` (``/ 255`` if the model
        wants 0..1), where it costs next to nothing. :func:`collate` stacks a batch whose items
        differ in dtype (uint8 windows next to a float one with NaN) to their promoted type.

    Attributes
    ----------
    class_names : list of str
        Name of each class index (``plan.regions.classes`` order; ``labels`` and ``mask - 1``
        index this list).

    Notes
    -----
    An item holds ``im`` (C, H, W) float32 (see ``im_dtype``; or native parts, see
    ``use_native_scale``); ``boxes`` (K, 4) float32 xyxy in sample pixels; ``labels`` (K,) int64
    class indexes (positions in ``dataset.class_names``); ``aids`` (K,) int64 annotation ids;
    optional ``mask``; ``tf_rel_to_abs`` (3, 3) float64 affine from sample to image pixels;
    ``gid``, ``index`` (the plan index) and ``kind`` (which plan drew it).

    Example
    -------
    >>> from ndsampler_torch import SyntheticSampler
    >>> ds = SamplerDataset(SyntheticSampler.demo(), 'positives', window_dims=(32, 32), with_masks=True)
    >>> item = ds[0]
    >>> item['im'].shape, item['mask'].shape, item['boxes'].dtype
    (torch.Size([3, 32, 32]), torch.Size([32, 32]), torch.float32)
    """

    def __init__(self, sampler: Any, plan: str | Plan = 'balanced', window_dims: WindowDims | None = None,
                 channels: str | None = None, transform: Callable[[dict], dict] | None = None,
                 with_masks: bool = False, seed: int = 0, visible_thresh: float = 0.0,
                 plan_kw: Mapping[str, Any] | None = None, use_native_scale: bool = False,
                 realign_native: bool | str = False, im_dtype: str = 'float32'):
        if isinstance(plan, Plan):
            if plan_kw:
                raise errors.InvalidOptionError('plan_kw', dict(plan_kw), 'nothing when plan is a Plan instance')
            if window_dims is not None and tuple(int(d) for d in window_dims) != plan.window_dims:
                raise errors.WindowError(f'window_dims={tuple(window_dims)!r} differs from the plan\'s '
                                         f'{plan.window_dims!r}; give one or make them equal')
        else:
            if window_dims is None:
                raise errors.WindowError(f'window_dims is required with plan={plan!r}')
            plan = make_plan(plan, sampler, window_dims, seed=seed, **dict(plan_kw or {}))
        if not 0.0 <= visible_thresh < 1.0:
            raise errors.InvalidOptionError('visible_thresh', visible_thresh, 'a fraction in [0, 1)')
        if realign_native not in (False, True, 'largest'):
            raise errors.InvalidOptionError('realign_native', realign_native, [False, True, 'largest'])
        if realign_native and not use_native_scale:
            raise errors.InvalidOptionError('realign_native', realign_native, 'False unless use_native_scale=True')
        if im_dtype not in IM_DTYPES:
            raise errors.InvalidOptionError('im_dtype', im_dtype, list(IM_DTYPES))
        self.sampler = sampler
        self.plan = plan
        self.window_dims = plan.window_dims
        self.channels = channels
        self.transform = transform
        self.with_masks = bool(with_masks)
        self.seed = int(seed)
        self.visible_thresh = float(visible_thresh)
        self.use_native_scale = bool(use_native_scale)
        self.realign_native = realign_native
        self.im_dtype = im_dtype
        self._to_chw = _chw_float32 if im_dtype == 'float32' else _chw_native
        # options every target gets (set into the plan's fresh target dict, never copied per item)
        self._target_options: dict[str, Any] = {}
        if channels is not None:
            self._target_options['channels'] = channels
        if self.use_native_scale:
            self._target_options.update(use_native_scale=True, realign_native=realign_native)
        warmup = getattr(sampler, 'warmup', None)
        if warmup is not None:  # the lazy indexes and imports, built once here instead of in every worker
            warmup(channels=channels)
        classes = plan.regions.classes
        self.class_names: list[str] = list(classes.idx_to_node)
        self._cid_to_label = {int(cid): idx for cid, idx in classes.id_to_idx.items()}

    @property
    def epoch(self) -> int:
        """The plan's current epoch."""
        return self.plan.epoch

    def set_epoch(self, epoch: int) -> None:
        """Draw the windows of another epoch (call before ``iter(loader)``; workers see it too)."""
        self.plan.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, index: int) -> dict[str, Any]:
        epoch = self.plan.epoch
        if not 0 <= index < len(self.plan):
            raise errors.IndexOutOfRangeError(f'dataset index {index} out of range [0, {len(self.plan)})')
        target = self.plan.draw(int(index), epoch)
        target.update(self._target_options)
        sample = self.sampler.load_sample(target, with_annots=True, visible_thresh=self.visible_thresh)
        dets = sample['annots']['frame_dets'][0]
        ltrb = dets.boxes.to_ltrb().data
        labels = self._labels_of(dets.data['cids'])
        if self.use_native_scale:
            parts = [sample['im']] if self.realign_native else sample['im']
            im = [self._to_chw(part) for part in parts]
            mask_hw = tuple(sample['params']['out_hw'])
        else:
            im = self._to_chw(sample['im'])
            mask_hw = tuple(im.shape[1:])
        item = {
            'im': im,
            'boxes': torch.from_numpy(ltrb.astype(np.float32).reshape(-1, 4)),
            'labels': torch.from_numpy(labels),
            'aids': torch.from_numpy(np.asarray(dets.data['aids'], dtype=np.int64)),
            'tf_rel_to_abs': torch.from_numpy(
                np.array(kwimage.Affine.coerce(sample['params']['tf_rel_to_abs']).matrix, dtype=np.float64)),
            'gid': int(target['gid']),
            'index': int(index),
            'kind': self.plan.kind_of(target),
        }
        if self.use_native_scale:
            item['sample_hw'] = torch.tensor(mask_hw, dtype=torch.int64)
            item['native_warps'] = [torch.from_numpy(np.array(kwimage.Affine.coerce(w).matrix, dtype=np.float64))
                                    for w in sample['params']['native_warps']]
        if self.with_masks:
            item['mask'] = torch.from_numpy(render_class_mask(dets, mask_hw, values=labels + 1).astype(np.int64))
        if self.transform is not None:
            item['rng'] = np.random.default_rng([self.seed, epoch, int(index), _STREAM_TRANSFORM])
            item = self.transform(item)
            item.pop('rng', None)
        return item

    def _labels_of(self, category_ids: Any) -> np.ndarray:
        """Class indexes (int64) of category ids; an id outside the classes raises ``UnknownIdError``."""
        try:
            return np.array([self._cid_to_label[int(c)] for c in category_ids], dtype=np.int64)
        except KeyError as ex:
            raise errors.UnknownIdError(
                f'category id {ex.args[0]!r} is not a class; known ids: {sorted(self._cid_to_label)}') from None

    def __repr__(self) -> str:
        return (f'SamplerDataset(len={len(self)}, plan={self.plan!r}, with_masks={self.with_masks}, '
                f'use_native_scale={self.use_native_scale}, im_dtype={self.im_dtype!r})')


def _chw_float32(im: np.ndarray) -> torch.Tensor:
    """An (H, W, C) array as a C-contiguous (C, H, W) float32 tensor: one conversion pass."""
    return torch.from_numpy(np.asarray(im).transpose(2, 0, 1).astype(np.float32, order='C'))


def _chw_native(im: np.ndarray) -> torch.Tensor:
    """An (H, W, C) array as a C-contiguous (C, H, W) tensor of its own dtype."""
    return torch.from_numpy(np.ascontiguousarray(np.asarray(im).transpose(2, 0, 1)))

