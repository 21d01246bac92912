"""``ndsampler demo``: the whole job on generated data: data, cache, samples, training, stitched predictions."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Tuple

import kwcoco
import kwimage
import numpy as np
import scriptconfig as scfg

from ndsampler._typing import PathLike
from ndsampler.cli._common import CommandConfig
from ndsampler.cli._show import PALETTE, render_samples, sample_targets
from ndsampler.demodata import demo_images, demo_video
from ndsampler.errors import ConversionError
from ndsampler.frames import CocoFrames
from ndsampler.sampler import CocoSampler

if TYPE_CHECKING:
    from ndsampler_torch import PredictSummary

__all__ = ['DemoCLI', 'DemoSizes', 'DEMO_SIZES', 'run_demo', 'stitch_predictions']


@dataclass(frozen=True)
class DemoSizes:
    """How big the generated demo is."""

    num_images: int
    image_dsize: Tuple[int, int]
    num_objects: int
    radius_range: Tuple[int, int]
    num_frames: int
    frame_dsize: Tuple[int, int]
    window: Tuple[int, int]
    train_window: Tuple[int, int]
    num_show: int


#: ``full``: four 2048x2048 images and a five-frame 256x256 video; ``small``: a quick run for tests.
DEMO_SIZES = {
    'full': DemoSizes(4, (2048, 2048), 24, (24, 160), 5, (256, 256), (256, 256), (64, 64), 16),
    'small': DemoSizes(2, (256, 256), 6, (10, 40), 3, (64, 64), (64, 64), (32, 32), 4),
}


def _prepare(sampler: CocoSampler, workers: int, log: Callable[[str], None]) -> None:
    summary = sampler.frames.prepare(workers=workers)
    log(str(summary))
    if not summary.ok:
        raise ConversionError(f'could not cache every demo image: {summary.failed}')


def stitch_predictions(sampler: CocoSampler, model: Any, class_names: list, gid: int,
                       window: Tuple[int, int], short_code: str = 'demo_pred', workers: int = 0,
                       batch_size: int = 8) -> PredictSummary:
    """Run ``model`` over a window grid of image ``gid`` and stitch its class probabilities into a COG.

    ``model`` maps ``(B, C, h, w)`` windows to ``1 + len(class_names)`` logits (0: background);
    :func:`ndsampler_torch.predict` runs its softmax in batches, windows read by ``workers``
    DataLoader processes, overlapping by a quarter and blended with gaussian weights. The asset
    (channels ``background|<class names>``, probabilities quantized over ``(0, 1)``) is
    registered on the image and ``sampler.dset`` is saved. Returns the :class:`PredictSummary`.
    """
    import torch
    from ndsampler_torch import predict

    class Probabilities(torch.nn.Module):
        def __init__(self, logits: Any) -> None:
            super().__init__()
            self.logits = logits

        def forward(self, x: Any) -> Any:
            return torch.softmax(self.logits(x), dim=1)

    return predict(sampler, Probabilities(model), window, overlap=0.25, batch_size=batch_size, num_workers=workers,
                   output=short_code, image_ids=[gid], quantize=True, minmax=(0, 1),
                   out_channels='|'.join(['background', *class_names]))


def _prediction_png(dset: kwcoco.CocoDataset, gid: int, channels: str, fpath: str) -> None:
    """The image with its stitched argmax class map blended over it (read back through the new asset)."""
    frames = CocoFrames(dset)
    image = frames.load_image(gid, channels='red|green|blue').astype(np.float32)
    probs = frames.load_image(gid, channels=channels)
    labels = np.nan_to_num(probs).argmax(axis=2)
    colors = np.array([(0, 0, 0), *PALETTE], dtype=np.float32)[np.minimum(labels, len(PALETTE))]
    alpha = (labels > 0)[..., None] * 0.5
    kwimage.imwrite(fpath, (image * (1 - alpha) + colors * alpha).astype(np.uint8))


def run_demo(out: PathLike, size: str = 'full', steps: int = 30, workers: int = 2, seed: int = 0,
             log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Generate data, prepare the COG cache, sample, train, stitch predictions, write PNGs.

    Parameters
    ----------
    out : PathLike
        Everything goes here (regenerated on each run).
    size : 'full' | 'small'
        See :data:`DEMO_SIZES`.
    steps : int
        Training steps (skipped with a message when torch is not installed).
    workers : int
        Processes for ``prepare`` and DataLoader workers.

    Returns
    -------
    dict
        Paths (``images_dataset``, ``video_dataset``, ``cache``, ``samples_images``,
        ``samples_video``, ``prediction_asset``, ``prediction_png``; the last two None
        without torch) and ``losses``.
    """
    sizes = DEMO_SIZES[size]
    out = os.path.abspath(os.fspath(out))
    start = time.perf_counter()
    log(f'[demo] generating {sizes.num_images} images of {sizes.image_dsize[0]}x{sizes.image_dsize[1]} '
        f'and a {sizes.num_frames}-frame multispectral video in {out}')
    images = demo_images(out, sizes.num_images, sizes.image_dsize, sizes.num_objects, sizes.radius_range, seed)
    video = demo_video(os.path.join(out, 'video'), sizes.num_frames, sizes.frame_dsize, seed)
    samplers = {name: CocoSampler(dset, workdir=out, backend='cog') for name, dset in
                (('images', images), ('video', video))}
    result: Dict[str, Any] = {'images_dataset': images.fpath, 'video_dataset': video.fpath,
                              'cache': samplers['images'].frames.cache_dpath,
                              'prediction_asset': None, 'prediction_png': None, 'losses': []}
    for name, sampler in samplers.items():
        log(f'[demo] preparing the cog cache of the {name}')
        _prepare(sampler, workers, log)
    for name, sampler in samplers.items():
        window = sizes.window if name == 'images' else sizes.train_window
        targets = sample_targets(sampler, 'positive', sizes.num_show, window, seed=seed)
        fpath = result[f'samples_{name}'] = os.path.join(out, f'samples_{name}.png')
        kwimage.imwrite(fpath, render_samples(sampler, targets))
        log(f'[demo] sampled {len(targets)} positive windows of the {name} -> {fpath}')
    try:
        from ndsampler_torch import demo_train
    except ImportError as ex:
        log(f'[demo] skipping training and stitching: torch is not available ({ex}); pip install ndsampler[torch]')
    else:
        sampler = samplers['images']
        log(f'[demo] training the tiny class-mask net for {steps} steps through a DataLoader '
            f'({workers} workers, {sizes.train_window[0]}x{sizes.train_window[1]} balanced windows)')
        trained = demo_train(sampler, steps=steps, window_dims=sizes.train_window, num_workers=workers,
                             plan='balanced', seed=seed)
        result['losses'] = trained['losses']
        log(f'[demo] loss {trained["losses"][0]:.3f} -> {trained["losses"][-1]:.3f}')
        gid = sampler.image_ids[0]
        summary = stitch_predictions(sampler, trained['model'], trained['class_names'], gid, sizes.window,
                                     workers=workers)
        asset = summary.assets[0]
        result['prediction_asset'] = asset['fpath']
        result['prediction_png'] = os.path.join(out, 'prediction.png')
        _prediction_png(images, gid, asset['channels'], result['prediction_png'])
        log(f'[demo] {summary}; image {gid} -> {asset["fpath"]}')
    log(f'[demo] done in {time.perf_counter() - start:.1f}s; outputs:')
    for key, value in result.items():
        if key != 'losses' and value is not None:
            log(f'  {key:<17} {value}')
    return result


class DemoCLI(CommandConfig):
    """Run the whole job on generated data: images + multispectral video, COG cache, samples, training, stitching.

    Next steps on the output: ``ndsampler info OUT/images.kwcoco.json``,
    ``ndsampler show OUT/images.kwcoco.json --mode grid``, ``ndsampler bench OUT/images.kwcoco.json``.
    """

    __command__ = 'demo'
    out = scfg.Value('ndsampler_demo', type=str, help='output folder (regenerated)')
    small = scfg.Value(False, isflag=True, help='tiny images, for a quick check')
    steps = scfg.Value(30, type=int, help='training steps')
    workers = scfg.Value(2, type=int, help='processes for prepare and DataLoader workers')
    seed = scfg.Value(0, type=int, help='random seed')

    def execute(self) -> int:
        run_demo(self.out, 'small' if self.small else 'full', self.steps, self.workers, self.seed)
        return 0
