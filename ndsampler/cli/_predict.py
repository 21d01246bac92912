"""``ndsampler predict``: run a saved model over window grids of a dataset, write the stitched COG assets.

Thin over :func:`ndsampler_torch.predict`; torch is imported only when the command runs
(the core package never imports it).
"""
from __future__ import annotations

import os
from typing import Any

import scriptconfig as scfg

from ndsampler.cli._common import CommandConfig, format_table, load_dataset, parse_backend, parse_dims, parse_ids
from ndsampler.errors import InvalidOptionError, SourceNotFoundError

__all__ = ['PredictCLI', 'load_model', 'format_predict_summary']


def load_model(fpath: Any, device: Any = 'cpu') -> Any:
    """A model saved with ``torch.jit.save`` (TorchScript) or ``torch.export.save`` (``.pt2``), on ``device``."""
    import torch

    fpath = os.fspath(fpath)
    if not os.path.isfile(fpath):
        raise SourceNotFoundError(f'model file {fpath!r} does not exist')
    try:
        return torch.jit.load(fpath, map_location=device)
    except (RuntimeError, ValueError) as jit_error:
        try:
            return torch.export.load(fpath).module().to(device)
        except Exception as export_error:
            raise InvalidOptionError('model', fpath, 'a TorchScript file (torch.jit.save) or a torch.export file '
                                     f'(torch.export.save); TorchScript said: {jit_error}; torch.export said: '
                                     f'{export_error}') from export_error


def format_predict_summary(summary: Any) -> str:
    """A table of the written assets (image id, head, channels, size, file) and the summary line."""
    rows = [(a['gid'], a['head'], a['channels'], f"{a['width']}x{a['height']}",
             'int16' if a['quantization'] else 'float32', a['fpath']) for a in summary.assets]
    table = format_table(rows, header=['image', 'head', 'channels', 'size', 'dtype', 'file'])
    return f'{table}\n{summary}'


class PredictCLI(CommandConfig):
    """Run a saved model over a sliding-window grid of every image; stitch, write COG assets, save the dataset.

    The model (TorchScript or torch.export) maps float32 ``(B, C, h, w)`` windows to
    ``(B, C', h, w)`` outputs, or a dict of them (one asset per head); with ``--time_dims``
    it gets video windows ``(B, C, T, h, w)`` and returns ``(B, C', T, h, w)``. The dataset
    file is written back with the new assets.
    """

    __command__ = 'predict'
    dataset = scfg.Value(None, type=str, position=1, help='path of the kwcoco dataset file')
    model = scfg.Value(None, type=str, help='model file: TorchScript (torch.jit.save) or torch.export (.pt2)')
    window = scfg.Value('512', type=str, help="model input size 'H,W' or 'S' (pixels at --scale)")
    overlap = scfg.Value(0.25, type=float, help='fraction of a window shared with its neighbours, in [0, 1)')
    channels = scfg.Value(None, type=str, help="input channels, e.g. 'red|green|blue' (default: each image's own)")
    out = scfg.Value('pred', type=str, help='folder of the written assets (a plain name: <bundle>/_assets/<name>)')
    out_channels = scfg.Value(None, type=str, help="channel code of the output (default 'pred.0:<C>')")
    blend = scfg.Value('gaussian', type=str, help='overlap weights: gaussian | constant | edge')
    batch_size = scfg.Value(8, type=int, help='windows per model call')
    workers = scfg.Value(2, type=int, help='DataLoader worker processes reading windows (0: in this process)')
    device = scfg.Value('cpu', type=str, help="torch device, e.g. 'cpu' or 'cuda:0'")
    scale = scfg.Value(None, type=float, help='predict at this scale of the images (e.g. 0.5); assets stored at it')
    quantize = scfg.Value(False, isflag=True, help='write int16 assets with a quantization record')
    autocast = scfg.Value(False, isflag=True, help='run the model under torch.autocast')
    time_dims = scfg.Value(None, type=int, help='video windows of this many frames (space-time model)')
    image_ids = scfg.Value(None, type=str, nargs='+', help='predict only these image ids (space or comma separated)')
    backend = scfg.Value('none', type=str, help='read images through this cache: none | cog | npy')
    workdir = scfg.Value(None, type=str, help='cache root (with --backend cog / npy)')
    no_progress = scfg.Value(False, isflag=True, help='no progress bar')

    def execute(self) -> int:
        if self.model is None:
            raise SourceNotFoundError('no --model given; pass a TorchScript or torch.export model file')
        dset = load_dataset(self.dataset)
        dims = parse_dims(self.window)
        from ndsampler.sampler import CocoSampler
        from ndsampler_torch import predict

        sampler = CocoSampler(dset, workdir=self.workdir, backend=parse_backend(self.backend))
        ids = parse_ids(self.image_ids, list(dset.index.imgs))
        model = load_model(self.model, self.device)
        summary = predict(sampler, model, dims, overlap=self.overlap, channels=self.channels,
                          batch_size=self.batch_size, num_workers=self.workers, device=self.device, blend=self.blend,
                          output=self.out, image_ids=ids, scale=self.scale, quantize=self.quantize,
                          autocast=self.autocast, out_channels=self.out_channels, time_dims=self.time_dims,
                          progress=not self.no_progress)
        print(format_predict_summary(summary))
        return 0
