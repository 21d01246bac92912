"""``predict``: sliding-window inference over whole images / videos, stitched into COG assets (SPEC §1 job 3).

The window grid (:func:`ndsampler.regions.axis_windows` per axis, in the space the model
sees: the image scaled by ``scale``) feeds a ``DataLoader`` (items: the window tensor and
its grid index, in grid order, so each image's windows come one after the other); the
model runs under ``torch.no_grad`` (optionally autocast); each output window is blended
into a memory-mapped canvas (:class:`~ndsampler.stitch.CocoStitchingManager`) with the
weights of ``blend``; an image is finalized (block-wise division, streamed COG write) by a
writer thread as soon as its last window is in, its asset is registered on the kwcoco
image, and the dataset is saved at the end.

Video convention (``time_dims`` given): the grid runs in video space over windows of
``time_dims`` frames; the model gets ``(B, C, T, h, w)`` and returns ``(B, C', T, h, w)``
(the ``Conv3d`` layout); output frame ``t`` is stitched into the ``t``-th frame of the
window (frames past the video's end are dropped), in video space, so each frame's asset
warp is ``inv(warp_img_to_vid)`` (times the inverse scale). Without ``time_dims`` every
image (a video frame too) is predicted on its own: ``(B, C, h, w)`` -> ``(B, C', h, w)``.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import ubelt as ub

from ndsampler import errors
from ndsampler._typing import PathLike
from ndsampler._validate import check_count, check_int_tuple, is_integer
from ndsampler.channels import FusedChannelSpec
from ndsampler.regions import axis_windows
from ndsampler.stitch import CocoStitchingManager, WriterQueue, edge_weights

from ._collate import collate
from ._shared_ring import drop_exited_rings

__all__ = ['predict', 'PredictSummary', 'BLENDS', 'importance_map']

#: ``blend`` values: MONAI's gaussian importance map, equal weights, or the stitcher's edge ramp
BLENDS = ('gaussian', 'constant', 'edge')
#: MONAI's ``sigma_scale`` of its gaussian importance map (a fraction of the window)
GAUSSIAN_SIGMA = 0.125
#: MONAI's floor of the importance map: weights never reach 0
GAUSSIAN_FLOOR = 1e-3
#: head name of a model that returns one tensor
DEFAULT_HEAD = 'pred'
#: GDAL's block cache in each DataLoader worker (GDAL's default is 5% of RAM per process)
WORKER_GDAL_CACHE_BYTES = 64 * 2 ** 20
#: ``memmap='auto'`` keeps a head's canvases on disk once an image's canvas (sums + weights) exceeds this
AUTO_MEMMAP_BYTES = 64 * 2 ** 20


def importance_map(window_dims: Sequence[int], blend: str = 'gaussian') -> np.ndarray | None:
    """The per-pixel blending weights of one output window (None: equal weights).

    ``'gaussian'`` is MONAI's ``compute_importance_map(mode='gaussian', sigma_scale=0.125)``:
    :func:`~ndsampler.stitch.edge_weights` with ``sigma=0.125``, floored at ``1e-3``.
    ``'constant'`` and ``'edge'`` give None (``'edge'`` is applied by the stitcher itself).

    Example
    -------
    >>> w = importance_map((64, 64))
    >>> w.shape, round(float(w.max()), 3), round(float(w.min()), 6)
    ((64, 64), 0.996, 0.001)
    """
    if blend not in BLENDS:
        raise errors.InvalidOptionError('blend', blend, BLENDS)
    if blend != 'gaussian':
        return None
    weights = edge_weights(tuple(window_dims), 'gaussian', sigma=GAUSSIAN_SIGMA, dtype=np.float64)
    return np.maximum(weights, GAUSSIAN_FLOOR).astype(np.float32)


@dataclass
class PredictSummary:
    """What :func:`predict` wrote.

    Attributes
    ----------
    assets : list of dict
        One per (image, head), in the order they were finished: ``gid``, ``head``,
        ``channels``, ``fpath``, ``width``, ``height``, ``quantization`` (or None).
    num_windows : int
        Windows run through the model.
    num_images : int
        Images (video frames) that received an asset.
    heads : dict
        Head name -> channel code of its assets.
    seconds : float
        Wall time.
    dataset_fpath : str | None
        Where the dataset was saved (None: not saved).
    """

    assets: list[dict[str, Any]] = field(default_factory=list)
    num_windows: int = 0
    num_images: int = 0
    heads: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    dataset_fpath: str | None = None

    def __str__(self) -> str:
        heads = ', '.join(f'{h} ({c})' for h, c in self.heads.items())
        saved = f'; dataset saved to {self.dataset_fpath}' if self.dataset_fpath else ''
        return (f'predicted {self.num_windows} windows over {self.num_images} images in {self.seconds:.1f}s: '
                f'{len(self.assets)} assets, heads {heads}{saved}')


@dataclass(frozen=True)
class _Window:
    """One grid window: the sampler target and where each output frame goes (gid, asset-space slices)."""

    target: dict[str, Any]
    frames: tuple[int | None, ...]
    slices: tuple[slice, slice]


class _WindowDataset(torch.utils.data.Dataset):
    """Grid windows as ``{'im': (C, h, w) or (C, T, h, w) float32, 'index': grid index}``."""

    def __init__(self, sampler: Any, windows: Sequence[_Window], is_video: bool) -> None:
        self.sampler = sampler
        self.windows = windows
        self.is_video = is_video

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        im = self.sampler.load_sample(self.windows[index].target, with_annots=False)['im']
        axes = (3, 0, 1, 2) if self.is_video else (2, 0, 1)
        im = np.ascontiguousarray(np.asarray(im, dtype=np.float32).transpose(axes))
        return {'im': torch.from_numpy(im), 'index': index}


def _init_worker(worker_id: int) -> None:
    """Cap GDAL's block cache in a worker: each reads its own windows once, so a large cache only costs memory."""
    import rasterio.env
    rasterio.env.set_gdal_config('GDAL_CACHEMAX', WORKER_GDAL_CACHE_BYTES)


def _check_window(window_dims: Any) -> tuple[int, int]:
    allowed = 'a positive int or an (h, w) pair of positive ints'
    if np.isscalar(window_dims):
        if not (is_integer(window_dims) and window_dims >= 1):
            raise errors.InvalidOptionError('window_dims', window_dims, allowed)
        return int(window_dims), int(window_dims)
    h, w = check_int_tuple('window_dims', window_dims, lengths=(2,), minimum=1, allowed=allowed)
    return h, w


def _check_overlap(overlap: Any) -> float:
    if isinstance(overlap, bool) or not isinstance(overlap, (int, float, np.floating, np.integer)) \
            or not 0 <= float(overlap) < 1:
        raise errors.InvalidOptionError('overlap', overlap, 'a fraction in [0, 1)')
    return float(overlap)


def _check_scale(scale: Any) -> float:
    if scale is None:
        return 1.0
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating, np.integer)) \
            or not 0 < float(scale) < math.inf:
        raise errors.InvalidOptionError('scale', scale, 'a positive number (e.g. 0.5: predict at half resolution)')
    return float(scale)


def _axis_grid(length: int, window: int, overlap: float, scale: float) -> list[tuple[slice, slice]]:
    """(image-space slice, asset-space slice) of each window along one axis of ``length`` image pixels.

    The grid lives in asset space (``ceil(length * scale)`` pixels); every window edge must map
    back to a whole image pixel (any ``scale = 1 / k`` does).
    """
    size = math.ceil(length * scale - 1e-9)
    starts, _ = axis_windows(size, window, int(math.floor(overlap * window)))
    out = []
    for a in starts.tolist():
        lo, hi = a / scale, (a + window) / scale
        if abs(lo - round(lo)) > 1e-6 or abs(hi - round(hi)) > 1e-6:
            raise errors.InvalidOptionError(
                'scale', scale, f'a scale at which the window edges ({a}, {a + window} at that scale) fall on whole '
                'image pixels, e.g. 1 / k for an integer k')
        out.append((slice(int(round(lo)), int(round(hi))), slice(a, a + window)))
    return out


def _space_windows(height: int, width: int, dims: tuple[int, int], overlap: float, scale: float):
    ys = _axis_grid(height, dims[0], overlap, scale)
    xs = _axis_grid(width, dims[1], overlap, scale)
    for img_y, out_y in ys:
        for img_x, out_x in xs:
            yield (img_y, img_x), (out_y, out_x)


def _build_windows(dset: Any, dims: tuple[int, int], overlap: float, scale: float, channels: Any,
                   image_ids: Sequence[int], time_dims: int | None, time_stride: int | None) -> list[_Window]:
    options: dict[str, Any] = {}
    if channels is not None:
        options['channels'] = channels
    if scale != 1.0:
        options['scale'] = scale
    windows = []
    if time_dims is None:
        for gid in image_ids:
            img = dset.index.imgs[gid]
            for space, out in _space_windows(int(img['height']), int(img['width']), dims, overlap, scale):
                windows.append(_Window({'gid': gid, 'space_slice': space, **options}, (gid,), out))
        return windows
    wanted = set(image_ids)
    stride = time_dims if time_stride is None else check_count('time_stride', time_stride, 1)
    if not 1 <= stride <= time_dims:
        raise errors.InvalidOptionError('time_stride', time_stride,
                                        f'an int in [1, {time_dims}] so every frame is covered')
    for vidid, video in dset.index.videos.items():
        gids = list(dset.index.vidid_to_gids[vidid])
        if not wanted.intersection(gids):
            continue
        starts, _ = axis_windows(len(gids), time_dims, time_dims - stride)
        for t0 in starts.tolist():
            frame_gids = gids[t0:t0 + time_dims]
            frames = tuple(g if g in wanted else None for g in frame_gids)
            if not any(g is not None for g in frames):
                continue
            for space, out in _space_windows(int(video['height']), int(video['width']), dims, overlap, scale):
                target = {'vidid': vidid, 'gids': frame_gids, 'time_slice': slice(t0, t0 + time_dims),
                          'space_slice': space, **options}
                windows.append(_Window(target, frames, out))
    return windows


def _resolve_output(output: PathLike) -> tuple[str, Path | None]:
    """``(short_code, folder)``: a plain name is a short code under ``<bundle>/_assets/``; a path is the folder."""
    text = os.fspath(output)
    if os.sep in text or (os.altsep and os.altsep in text):
        folder = Path(text).expanduser().resolve()
        return folder.name or 'pred', folder
    return text, None


def _heads(output: Any) -> dict[str, torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return {DEFAULT_HEAD: output}
    if isinstance(output, Mapping) and output and all(isinstance(v, torch.Tensor) for v in output.values()):
        return {str(k): v for k, v in output.items()}
    raise errors.StitchingError(f'the model returned {type(output).__name__}; allowed: a tensor or a non-empty dict of '
                                'tensors (one per head)')


def _head_channels(head: str, num: int, out_channels: str | Mapping[str, str] | None) -> str:
    given = out_channels.get(head) if isinstance(out_channels, Mapping) else out_channels
    code = (f'{head}.0:{num}' if num > 1 else f'{head}.0') if given is None else str(given)
    have = FusedChannelSpec.coerce(code).numel()
    if have != num:
        raise errors.StitchingError(f'out_channels={code!r} has {have} bands but head {head!r} returns {num}')
    return code


class _Heads:
    """One stitching manager per model head, created when the first batch shows the heads and their bands."""

    def __init__(self, dset: Any, windows: Sequence[_Window], time_dims: int | None, manager_kw: dict[str, Any],
                 out_channels: Any, weights: np.ndarray | None, downweight: bool | str, scale: float) -> None:
        self.dset = dset
        self.windows = windows
        self.time_dims = time_dims
        self.is_video = time_dims is not None
        self.manager_kw = manager_kw
        self.out_channels = out_channels
        self.weights = weights
        self.downweight = downweight
        self.scale = scale
        self.queue = WriterQueue()
        self.managers: dict[str, CocoStitchingManager] = {}
        self.expected: dict[int, int] = {}
        for window in windows:
            for gid in window.frames:
                if gid is not None:
                    self.expected[gid] = self.expected.get(gid, 0) + 1

    def _create(self, heads: dict[str, torch.Tensor]) -> None:
        codes = {}
        for name, tensor in heads.items():
            codes[name] = _head_channels(name, int(tensor.shape[1]), self.out_channels)
        if len(set(codes.values())) != len(codes):
            raise errors.InvalidOptionError('out_channels', self.out_channels, 'a distinct channel code per head')
        for name, code in codes.items():
            kw = dict(self.manager_kw)
            if isinstance(kw['memmap'], str) and kw['memmap'] == 'auto':
                kw['memmap'] = self._largest_canvas(FusedChannelSpec.coerce(code).numel()) > AUTO_MEMMAP_BYTES
            manager = CocoStitchingManager(self.dset, chan_code=code, writer_queue=self.queue,
                                           stitching_space='video' if self.is_video else 'image', **kw)
            for gid, count in self.expected.items():
                manager.register_expected(gid, count)
            self.managers[name] = manager

    def _largest_canvas(self, bands: int) -> int:
        """Bytes of the largest float32 canvas (sums and weights) of one image at the prediction scale."""
        largest = 0
        for gid in self.expected:
            img = self.dset.index.imgs[gid]
            if self.is_video:
                img = self.dset.index.videos[img['video_id']]
            pixels = math.ceil(img['width'] * self.scale - 1e-9) * math.ceil(img['height'] * self.scale - 1e-9)
            largest = max(largest, pixels * (bands + 1) * 4)
        return largest

    def add(self, indexes: Sequence[int], output: Any, window_hw: tuple[int, int]) -> None:
        heads = _heads(output)
        if not self.managers:
            self._create(heads)
        if set(heads) != set(self.managers):
            raise errors.StitchingError(f'the model returned heads {sorted(heads)}; the first batch had '
                                        f'{sorted(self.managers)}')
        scale = None if self.scale == 1.0 else self.scale
        for name, tensor in heads.items():
            manager = self.managers[name]
            expect = (len(indexes), manager.num_bands) + ((self.time_dims,) if self.is_video else ()) + window_hw
            if tuple(tensor.shape) != expect:
                raise errors.StitchingError(
                    f'head {name!r} returned shape {tuple(tensor.shape)}; allowed: {expect} (batch, bands, '
                    + ('frames, ' if self.is_video else '') + 'the window height and width)')
            data = tensor.detach().float().cpu().numpy()
            for row, index in enumerate(indexes):
                window = self.windows[index]
                for t, gid in enumerate(window.frames):
                    if gid is None:
                        continue
                    frame = data[row, :, t] if self.is_video else data[row]
                    manager.accumulate_image(gid, window.slices, frame.transpose(1, 2, 0), weights=self.weights,
                                             downweight_edges=self.downweight,
                                             scale_asset_from_stitchspace=scale)
            for gid in manager.ready_image_ids():
                manager.submit_finalize_image(gid)

    def abort(self) -> None:
        """Let submitted writes finish (their errors are dropped: the caller's error is raised)."""
        try:
            self.queue.wait_until_finished()
        except Exception:  # noqa: BLE001 - the loop's own error is the one to report
            pass
        self.queue.shutdown()

    def finish(self) -> list[dict[str, Any]]:
        try:
            infos = self.queue.wait_until_finished()
        finally:
            self.queue.shutdown()
        head_of = {m.chan_code: name for name, m in self.managers.items()}
        rows = []
        for info in infos:
            asset = info['asset']
            rows.append({'gid': info['gid'], 'head': head_of[asset['channels']], 'channels': asset['channels'],
                         'fpath': str(info['fpath']), 'width': asset['width'], 'height': asset['height'],
                         'quantization': asset.get('quantization')})
        return rows


def _run(loader: Any, model: Any, device: torch.device, heads: _Heads, dims: tuple[int, int], autocast: bool,
         progress: bool) -> None:
    """Every batch through the model into the stitchers (its batches are released on return)."""
    with torch.no_grad(), torch.autocast(device.type, enabled=bool(autocast)):
        batches = ub.ProgIter(loader, total=len(loader), desc='predict windows', enabled=progress,
                              verbose=1 if progress else 0, stream=sys.stderr)
        for batch in batches:
            out = model(batch['im'].to(device, non_blocking=True))
            heads.add(batch['index'].tolist(), out, dims)


def predict(
    sampler: Any,
    model: Any,
    window_dims: int | Sequence[int],
    overlap: float = 0.25,
    channels: str | None = None,
    batch_size: int = 8,
    num_workers: int = 0,
    device: Any = 'cpu',
    blend: str = 'gaussian',
    output: PathLike = 'pred',
    image_ids: Sequence[int] | None = None,
    scale: float | None = None,
    quantize: bool = False,
    autocast: bool = False,
    out_channels: str | Mapping[str, str] | None = None,
    time_dims: int | None = None,
    time_stride: int | None = None,
    minmax: tuple[float, float] | None = None,
    compress: str = 'ZSTD',
    level: int | None = 1,
    memmap: bool | PathLike | str = 'auto',
    overwrite: bool = True,
    save: bool = True,
    progress: bool = False,
) -> PredictSummary:
    """Run ``model`` over a window grid of whole images (or videos), stitch the outputs, write COG assets.

    Parameters
    ----------
    sampler : CocoSampler
        Reads the windows (``load_sample``); its dataset ``sampler.dset`` receives the assets.
    model : torch.nn.Module | callable
        Maps a float32 batch ``(B, C, h, w)`` (videos: ``(B, C, T, h, w)``) on ``device`` to a
        tensor of the same layout with ``C'`` bands, or a dict of such tensors (one asset per head).
        A module is moved to ``device`` (in place) and run in eval mode (its mode is restored afterwards).
    window_dims : int | (h, w)
        The model's input size, in pixels at ``scale``.
    overlap : float
        Fraction of the window shared by neighbours, in ``[0, 1)``.
    channels : str | None
        Input channels (None: each image's own).
    batch_size, num_workers : int
        Of the ``DataLoader`` (windows are read in the workers, each with a GDAL block cache of
        :data:`WORKER_GDAL_CACHE_BYTES`; with 0 workers they are read here, under this process's GDAL cache).
    device : str | torch.device
        Where the model runs.
    blend : 'gaussian' | 'constant' | 'edge'
        Weights of overlapping outputs: MONAI's gaussian importance map (:func:`importance_map`),
        equal, or the stitcher's linear edge ramp (``downweight_edges='ramp'``).
    output : str | PathLike
        A plain name: assets go to ``<bundle>/_assets/<name>/``; a path (with a separator): that folder.
    image_ids : sequence of int | None
        Images (frames) to predict; None: all.
    scale : float | None
        Predict at this scale of the image (0.5: half resolution); assets are stored at it
        (their ``warp_aux_to_img`` records it). Window edges must fall on whole image pixels (``1 / k`` does).
    quantize : bool
        Write int16 assets with a ``quantization`` record (range ``minmax``, else each image's own).
    autocast : bool
        Run the model under ``torch.autocast`` on the device type (bfloat16 on CPU).
    out_channels : str | dict | None
        Channel code of the output (per head for dict outputs); default ``'<head>.0:<C>'`` (``'<head>.0'``)
        (the head of a plain tensor output is ``'pred'``).
    time_dims, time_stride : int | None
        Predict videos with windows of ``time_dims`` frames starting every ``time_stride``
        (default ``time_dims``); see the module doc for the model's convention.
    minmax : (float, float) | None
        Fixed quantization range (e.g. ``(0, 1)`` for probabilities).
    compress, level : str, int | None
        COG compression and its level (:func:`ndsampler.io.write_cog`; ZSTD at level 1 writes
        float outputs several times faster than DEFLATE for about the same size).
    memmap : bool | PathLike | 'auto'
        Canvases on disk (True: a temporary folder; a path: there), so memory is bounded whatever
        the image size; False keeps them in RAM; ``'auto'``: on disk once an image's canvas
        exceeds :data:`AUTO_MEMMAP_BYTES`.
    overwrite : bool
        Replace existing asset files.
    save : bool
        Write the dataset back to ``sampler.dset.fpath`` at the end.
    progress : bool
        Show a progress bar on stderr.

    Returns
    -------
    PredictSummary

    Example
    -------
    >>> import tempfile, torch
    >>> from ndsampler import CocoSampler
    >>> from ndsampler.demodata import demo_images
    >>> dset = demo_images(tempfile.mkdtemp(), 2, (100, 80), 2, (5, 10), 0)
    >>> summary = predict(CocoSampler(dset, backend=None), torch.nn.Conv2d(3, 2, 1), 64)
    >>> [(a['head'], a['channels'], a['width'], a['height']) for a in summary.assets]
    [('pred', 'pred.0:2', 100, 80), ('pred', 'pred.0:2', 100, 80)]
    """
    start = time.perf_counter()
    dims = _check_window(window_dims)
    overlap = _check_overlap(overlap)
    scale = _check_scale(scale)
    batch_size = check_count('batch_size', batch_size, 1)
    if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) or num_workers < 0:
        raise errors.InvalidOptionError('num_workers', num_workers, 'an int >= 0 (0: read windows in this process)')
    weights = importance_map(dims, blend)
    if time_dims is not None:
        time_dims = check_count('time_dims', time_dims, 1)
    dset = sampler.dset
    known = list(dset.index.imgs)
    if image_ids is None:
        image_ids = known
    else:
        missing = [gid for gid in image_ids if gid not in dset.index.imgs]
        if missing:
            raise errors.UnknownIdError(f'image id {missing[0]!r} is not in the dataset (it has {len(known)} images)')
    windows = _build_windows(dset, dims, overlap, scale, channels, list(image_ids), time_dims, time_stride)
    if not windows:
        raise errors.InvalidOptionError('image_ids', image_ids, 'ids of images to predict (none were found)')
    short_code, folder = _resolve_output(output)
    manager_kw = dict(short_code=short_code, prob_dpath=folder, memmap=memmap, quantize=quantize,
                      expected_minmax=minmax, overwrite=overwrite, prob_compress=compress, prob_level=level)
    heads = _Heads(dset, windows, time_dims, manager_kw, out_channels, weights,
                   'ramp' if blend == 'edge' else False, scale)
    device = torch.device(device)
    dataset = _WindowDataset(sampler, windows, time_dims is not None)
    if num_workers:
        dataset[0]  # opens the sampler's handles and lazy imports once, before the workers fork: they start warm
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                                         collate_fn=collate, pin_memory=device.type == 'cuda',
                                         worker_init_fn=_init_worker if num_workers else None)
    was_training = getattr(model, 'training', None)
    if isinstance(model, torch.nn.Module):
        model.to(device).eval()
    try:
        _run(loader, model, device, heads, dims, autocast, progress)
    except BaseException:
        heads.abort()
        raise
    finally:
        if was_training:
            model.train()
    drop_exited_rings()  # the workers are gone: unmap their batch buffers before the last images are written
    assets = heads.finish()
    summary = PredictSummary(assets=assets, num_windows=len(windows), num_images=len({a['gid'] for a in assets}),
                             heads={name: m.chan_code for name, m in heads.managers.items()})
    if save and dset.fpath:
        dset.dump(dset.fpath, newlines=True)
        summary.dataset_fpath = str(dset.fpath)
    summary.seconds = time.perf_counter() - start
    return summary
