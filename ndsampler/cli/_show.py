"""``ndsampler show``: a PNG grid of sampled windows with their annotations drawn (thin over ``CocoSampler``)."""
from __future__ import annotations

import math
import os
from typing import List, Optional, Sequence

import kwimage
import numpy as np
import scriptconfig as scfg

from ndsampler._typing import Target
from ndsampler.channels import FusedChannelSpec
from ndsampler.cli._common import CommandConfig, load_dataset, output_path, parse_backend, parse_dims
from ndsampler.errors import InvalidOptionError
from ndsampler.regions import TargetPool, ensure_generator
from ndsampler.sampler import CocoSampler

__all__ = ['ShowCLI', 'SHOW_MODES', 'sample_targets', 'display_channels', 'render_samples', 'GRID_PAD', 'PALETTE']

#: Window plans ``show`` draws from.
SHOW_MODES = ('positive', 'negative', 'random', 'grid')
#: Pixels between tiles of the output grid.
GRID_PAD = 4
_RGB_NAMES = (('red', 'green', 'blue'), ('r', 'g', 'b'))
#: Class colours (by class index, cycling): distinct on dark and light backgrounds.
PALETTE = ((255, 64, 64), (64, 220, 64), (64, 128, 255), (255, 220, 0), (255, 64, 255),
           (0, 230, 230), (255, 150, 0), (160, 96, 255), (255, 255, 255), (128, 255, 160))


def sample_targets(sampler: CocoSampler, mode: str, num: int, window_dims: Sequence[int], seed: int = 0) -> List[Target]:
    """``num`` window targets of size ``window_dims`` (h, w) drawn by ``mode`` (see :data:`SHOW_MODES`).

    ``positive`` centres windows on random annotations, ``negative`` avoids them,
    ``random`` is uniform over all pixels, ``grid`` takes evenly spaced windows of the
    sliding-window grid over every image. Fewer than ``num`` come back when the
    dataset does not have that many (e.g. a small grid). The draw depends on
    ``(mode, num, window_dims, seed)`` only: nothing in the sampler is changed (its
    regions' pool and defaults stay as they are), so plans drawn in any order agree.
    """
    if mode not in SHOW_MODES:
        raise InvalidOptionError('mode', mode, SHOW_MODES)
    if int(num) < 1:
        raise InvalidOptionError('num', num, 'a positive int')
    dims = tuple(int(d) for d in window_dims)
    rng = ensure_generator(seed)
    regions = sampler.regions
    if mode == 'positive':  # every positive (a pool of its own, whatever the sampler preselected)
        pool = TargetPool(regions)
        return [pool.get_positive(rng=rng, window_dims=dims) for _ in range(num)]
    if mode == 'random':
        return [regions.get_random(rng=rng, window_dims=dims) for _ in range(num)]
    if mode == 'negative':  # a pool of its own: the sampler's pool and defaults stay as they are
        pool = regions.new_pool(n_pos=0, n_neg=num, window_dims=dims, rng=rng)
        return [pool.get_negative(index) for index in range(pool.n_negatives)]
    targets = sampler.new_sample_grid('image_detection', dims)['targets']
    picks = np.unique(np.linspace(0, len(targets) - 1, num=min(num, len(targets))).round().astype(int))
    return [targets[i] for i in picks]


def display_channels(sampler: CocoSampler) -> str:
    """Up to three bands to show: the dataset's RGB bands when it has them, else its first bands."""
    names = sampler.frames.image_channels(sampler.image_ids[0]).as_list()
    for rgb in _RGB_NAMES:
        if set(rgb) <= set(names):
            return '|'.join(rgb)
    return FusedChannelSpec.coerce('|'.join(names[:3])).spec


def _to_rgb8(im: np.ndarray) -> np.ndarray:
    """Any ``(h, w, c)`` window as displayable uint8 RGB (float data stretched per band, NaN black)."""
    if im.dtype != np.uint8:
        data = im.astype(np.float32)
        valid = np.isfinite(data)
        out = np.zeros_like(data)
        for c in range(data.shape[2]):
            band = data[..., c][valid[..., c]]
            if band.size:
                lo, hi = np.percentile(band, [2, 98])
                out[..., c] = (data[..., c] - lo) / max(hi - lo, 1e-9)
        im = (np.clip(np.nan_to_num(out), 0, 1) * 255).astype(np.uint8)
    if im.shape[2] < 3:
        im = np.concatenate([im, np.repeat(im[..., -1:], 3 - im.shape[2], axis=2)], axis=2)
    return np.ascontiguousarray(im[..., :3])


def render_samples(sampler: CocoSampler, targets: Sequence[Target], channels: Optional[str] = None,
                   pad: int = GRID_PAD) -> np.ndarray:
    """Sample each target, draw its boxes and polygons labelled by class, tile them into one RGB image.

    Tiles are laid out ``ceil(sqrt(n))`` per row with ``pad`` black pixels between
    them, so ``n`` windows of ``(h, w)`` give an image of
    ``(rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad, 3)``.
    """
    if not targets:
        raise InvalidOptionError('targets', targets, 'at least one window to show')
    channels = channels or display_channels(sampler)
    tiles = []
    for target in targets:
        sample = sampler.load_sample({**target, 'channels': channels}, with_annots=['boxes', 'segmentation'])
        canvas = _to_rgb8(sample['im'])
        dets = sample['annots']['frame_dets'][0]
        if len(dets):
            colors = [PALETTE[int(idx) % len(PALETTE)] for idx in dets.class_idxs]
            canvas = dets.draw_on(canvas, color=colors, labels='class', ssegkw={'alpha': 0.35}, thickness=1)[..., :3]
        tiles.append(canvas)
    cols = math.ceil(math.sqrt(len(tiles)))
    rows = math.ceil(len(tiles) / cols)
    h, w = tiles[0].shape[:2]
    grid = np.zeros((rows * h + (rows - 1) * pad, cols * w + (cols - 1) * pad, 3), dtype=np.uint8)
    for index, tile in enumerate(tiles):
        r, c = divmod(index, cols)
        grid[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = tile
    return grid


class ShowCLI(CommandConfig):
    """Write a PNG grid of sampled windows with their boxes and polygons drawn and labelled by class."""

    __command__ = 'show'
    dataset = scfg.Value(None, type=str, position=1, help='path of the kwcoco dataset file')
    mode = scfg.Value('positive', type=str, help='positive | negative | random | grid')
    num = scfg.Value(16, type=int, help='number of windows')
    out = scfg.Value('samples.png', type=str, help='output PNG path')
    workdir = scfg.Value(None, type=str, help='cache root; default: the dataset folder')
    backend = scfg.Value('none', type=str, help='cog | npy | none (read sources)')
    window = scfg.Value('256,256', type=str, help='window size H,W (or one number)')
    channels = scfg.Value(None, type=str, help='bands to show (default: RGB or the first three)')
    seed = scfg.Value(0, type=int, help='random seed')

    def execute(self) -> int:
        dset = load_dataset(self.dataset)
        backend = parse_backend(self.backend)
        window = parse_dims(self.window)
        sampler = CocoSampler(dset, workdir=self.workdir, backend=backend)
        targets = sample_targets(sampler, self.mode, self.num, window, seed=self.seed)
        grid = render_samples(sampler, targets, channels=self.channels)
        out = output_path(self.out)
        kwimage.imwrite(out, grid)
        print(f'wrote {len(targets)} {self.mode} windows of {window[0]}x{window[1]} to {out} '
              f'({grid.shape[1]}x{grid.shape[0]})')
        return 0
