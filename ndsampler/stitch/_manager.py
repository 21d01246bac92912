"""CocoStitchingManager: stitch per kwcoco image, write finished images as assets and register them."""
from __future__ import annotations

import hashlib
import os
import re
import threading
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

import kwimage
import numpy as np

from ndsampler._typing import DSize, PathLike, Slices
from ndsampler.channels import FusedChannelSpec
from ndsampler.errors import InvalidOptionError, StitchingError, UnknownIdError
from ndsampler.geometry import affine_of
from ndsampler.stitch._asset import PROB_FORMATS, write_result
from ndsampler.stitch._stitcher import Stitcher, coerce_float_dtype
from ndsampler.stitch._writer import WriterQueue

__all__ = ['CocoStitchingManager', 'STITCHING_SPACES']

STITCHING_SPACES = ('image', 'video')
_UNSAFE = re.compile(r'[^A-Za-z0-9._-]+')


def _check_name(name: str, what: str, nested: bool = False) -> str:
    """Reject names that could leave their folder (separators, '..', absolute, empty)."""
    if not isinstance(name, str) or not name.strip():
        raise StitchingError(f'{what}={name!r} must be a non-empty string')
    parts = re.split(r'[\\/]', name)
    bad = (not nested and len(parts) > 1) or os.path.isabs(name) or '..' in name or any(p in ('', '.') for p in parts)
    if bad:
        allowed = 'a relative folder path without ".." or empty parts' if nested else 'a plain name without "/", "\\" or ".."'
        raise StitchingError(f'{what}={name!r} is not allowed; allowed: {allowed}')
    return name


def _safe_stem(text: str, limit: int = 48) -> str:
    """A file-name-safe rendering of ``text``; long or unrepresentable texts become a short hash."""
    safe = _UNSAFE.sub('_', text).strip('._')
    if not safe or len(safe) > limit or safe != text.replace('|', '_'):
        digest = hashlib.sha1(text.encode('utf8')).hexdigest()[:12]
        safe = (safe[:limit - 13] + '_' + digest) if safe else digest
    return safe


def _as_hwc(data: Any) -> Any:
    if data.ndim == 2:
        return data[..., None]
    if data.ndim != 3:
        raise StitchingError(f'data shape {tuple(data.shape)} must be (h, w) or (h, w, C)')
    return data


class CocoStitchingManager:
    """Stitch window predictions per kwcoco image; write each finished image as a new asset.

    Parameters
    ----------
    result_dataset : kwcoco.CocoDataset
        Images are looked up here; finished images get their new asset here (in place).
    short_code : str
        Folder name for the written assets: ``<bundle>/<assets_dname>/<short_code>/``.
        Must be a plain name (no separators, no ``..``).
    chan_code : str
        Channels of the stitched data (e.g. ``'salient'``, ``'cls.0:3'``); sets the band count.
    stitching_space : 'image' | 'video'
        The space ``space_slice`` refers to (up to ``scale_asset_from_stitchspace``).
    memmap : bool | PathLike
        Keep canvases on disk (see :class:`Stitcher`).
    prob_format : 'cog' | 'tif' | 'png'
        Output format (``tif``: tiled GeoTIFF without overviews; ``png``: 1/3/4 bands, uint8).
    prob_compress : str
        GDAL compression for cog / tif.
    prob_blocksize : int
        Tile size for cog / tif.
    prob_level : int | None
        Compression level for cog / tif (see :func:`~ndsampler.io.write_cog`); None: GDAL's default.
    quantize : bool
        Write integers (int16, uint8 for png) with a ``quantization`` dict on the asset.
    dtype : dtype
        Canvas dtype, one of :data:`~ndsampler.stitch.FLOAT_DTYPES`.
    assets_dname : str
        Top-level asset folder inside the bundle (relative, no ``..``).
    write_probs : bool
        False: finalize without writing; :meth:`finalize_image` returns the array in ``info['data']``.
    writer_queue : WriterQueue | Executor | None
        Where :meth:`submit_finalize_image` jobs run (an object with ``submit`` and
        ``wait_until_finished``, or a ``concurrent.futures.Executor``); None: a private thread.
    device : 'numpy' | torch device
        Where canvases accumulate.
    expected_minmax : (float, float) | None
        Fixed quantization range (e.g. ``(0, 1)`` for probabilities); None: each image's own range.
    overwrite : bool
        Replace existing asset files; otherwise an existing file raises :class:`StitchingError`.
    prob_dpath : PathLike | None
        Write the assets into this folder instead of ``<bundle>/<assets_dname>/<short_code>/``
        (their ``file_name`` is then relative to the bundle, with ``..`` if outside it).

    Notes
    -----
    ``space_slice`` and ``asset_dsize`` are in *asset* space: stitch space scaled by
    ``scale_asset_from_stitchspace``. The asset's ``warp_aux_to_img`` is
    ``inv(warp_img_to_vid) @ scale^-1`` (video) or ``scale^-1`` (image).

    Example
    -------
    >>> import kwcoco, tempfile
    >>> dset = kwcoco.CocoDataset()
    >>> dset.fpath = tempfile.mkdtemp() + '/data.kwcoco.json'
    >>> gid = dset.add_image(name='a', width=8, height=6)
    >>> mgr = CocoStitchingManager(dset, 'pred', 'salient', quantize=False)
    >>> mgr.register_expected(gid, 2)
    >>> mgr.accumulate_image(gid, (slice(0, 6), slice(0, 4)), np.zeros((6, 4)))
    >>> mgr.ready_image_ids()
    []
    >>> mgr.accumulate_image(gid, (slice(0, 6), slice(4, 8)), np.ones((6, 4)))
    >>> mgr.ready_image_ids()
    [1]
    >>> info = mgr.finalize_image(gid)
    >>> asset = dset.imgs[gid]['assets'][0]
    >>> asset['file_name'], asset['channels'], (asset['width'], asset['height'])
    ('_assets/pred/a_salient.tif', 'salient', (8, 6))
    """

    def __init__(
        self,
        result_dataset: Any,
        short_code: str,
        chan_code: str,
        stitching_space: str = 'image',
        memmap: bool | PathLike = False,
        prob_format: str = 'cog',
        prob_compress: str = 'DEFLATE',
        prob_blocksize: int = 128,
        prob_level: int | None = None,
        quantize: bool = True,
        dtype: Any = 'float32',
        assets_dname: str = '_assets',
        write_probs: bool = True,
        writer_queue: Any = None,
        device: Any = 'numpy',
        expected_minmax: tuple[float, float] | None = None,
        overwrite: bool = False,
        prob_dpath: PathLike | None = None,
    ) -> None:
        self.result_dataset = result_dataset
        self.short_code = _check_name(short_code, 'short_code')
        self.assets_dname = _check_name(assets_dname, 'assets_dname', nested=True)
        self.chan_code = chan_code
        self.num_bands = FusedChannelSpec.coerce(chan_code).numel()
        if stitching_space not in STITCHING_SPACES:
            raise InvalidOptionError('stitching_space', stitching_space, STITCHING_SPACES)
        if prob_format not in PROB_FORMATS:
            raise InvalidOptionError('prob_format', prob_format, tuple(PROB_FORMATS))
        if prob_format == 'png' and not quantize and write_probs:
            raise InvalidOptionError('quantize', quantize, "True with prob_format='png' (PNG cannot hold floats)")
        self.stitching_space = stitching_space
        self.memmap = memmap
        self.prob_format = prob_format
        self.prob_compress = prob_compress
        self.prob_blocksize = prob_blocksize
        self.prob_level = prob_level
        self.quantize = quantize
        self.dtype = coerce_float_dtype(dtype)
        self.write_probs = write_probs
        self.device = device
        self.expected_minmax = expected_minmax
        self.overwrite = overwrite
        if writer_queue is None:
            writer_queue = WriterQueue()
        elif not hasattr(writer_queue, 'wait_until_finished'):
            writer_queue = WriterQueue(executor=writer_queue)
        self.writer_queue = writer_queue
        self.suffix_code = _safe_stem(chan_code)
        self.prob_dpath = Path(result_dataset.bundle_dpath) / self.assets_dname / self.short_code \
            if prob_dpath is None else Path(prob_dpath)

        self._lock = threading.RLock()
        self._stitchers: dict[int, Stitcher] = {}
        self._scales: dict[int, kwimage.Affine] = {}
        self._counts: Counter = Counter()
        self._expected: dict[int, int] = {}
        self._finalizing: set[int] = set()
        self._finalized: set[int] = set()

    # -- bookkeeping -------------------------------------------------------------------------------
    def _img(self, gid: int) -> dict:
        try:
            return self.result_dataset.index.imgs[gid]
        except KeyError:
            raise UnknownIdError(f'image id {gid!r} is not in the result dataset') from None

    def register_expected(self, gid: int, num_windows: int) -> None:
        """Say how many windows image ``gid`` will receive; it is ready once that many were added."""
        self._img(gid)
        if int(num_windows) < 1:
            raise InvalidOptionError('num_windows', num_windows, 'a positive window count')
        with self._lock:
            self._expected[gid] = int(num_windows)

    def register_grid(self, grid: dict | Iterable[dict]) -> None:
        """Register the expected window counts from a sample grid.

        ``grid`` is a list of targets, or a dict with ``'targets'`` (as ``new_sample_grid``
        returns). A target counts for its ``gid`` / ``image_id``, or for every id in its
        ``gids`` / ``image_ids`` (space-time targets).
        """
        targets = grid['targets'] if isinstance(grid, dict) else grid
        counts: Counter = Counter()
        for tr in targets:
            gids = tr.get('gids', tr.get('image_ids'))
            if gids is None:
                gids = [tr.get('gid', tr.get('image_id'))]
            counts.update(g for g in gids if g is not None)
        for gid, n in counts.items():
            self.register_expected(gid, n)

    def managed_image_ids(self) -> list[int]:
        """Image ids with a canvas (data accumulated, not yet finalized)."""
        with self._lock:
            return list(self._stitchers)

    def ready_image_ids(self) -> list[int]:
        """Managed image ids that received all their registered windows (see :meth:`register_expected`)."""
        with self._lock:
            return [g for g in self._stitchers
                    if g in self._expected and self._counts[g] >= self._expected[g] and g not in self._finalizing]

    @property
    def seen_image_ids(self) -> set[int]:
        """Image ids submitted for or done with finalization."""
        with self._lock:
            return self._finalizing | self._finalized

    def window_count(self, gid: int) -> int:
        """How many windows were added to image ``gid``."""
        return self._counts[gid]

    # -- accumulation ------------------------------------------------------------------------------
    def _stitch_from_img(self, img: dict) -> kwimage.Affine:
        if self.stitching_space == 'image':
            return kwimage.Affine.eye()
        return affine_of(img.get('warp_img_to_vid', None))

    def _stitch_dsize(self, img: dict) -> DSize:
        if self.stitching_space == 'video' and img.get('video_id', None) is not None:
            video = self.result_dataset.index.videos[img['video_id']]
            return video['width'], video['height']
        return img['width'], img['height']

    def _new_stitcher(self, gid: int, asset_dsize: DSize | None, scale: Any) -> Stitcher:
        img = self._img(gid)
        asset_from_stitch = kwimage.Affine.coerce(scale=scale if scale is not None else 1.0)
        if asset_dsize is None:
            w, h = self._stitch_dsize(img)
            sx, sy = asset_from_stitch.decompose()['scale']
            asset_dsize = (int(np.ceil(w * sx - 1e-9)), int(np.ceil(h * sy - 1e-9)))
        w, h = (int(d) for d in asset_dsize)
        self._scales[gid] = asset_from_stitch
        return Stitcher((h, w, self.num_bands), dtype=self.dtype, device=self.device, memmap=self.memmap)

    def accumulate_image(
        self,
        gid: int,
        space_slice: Slices | None,
        data: Any,
        asset_dsize: DSize | None = None,
        scale_asset_from_stitchspace: float | Sequence[float] | None = None,
        weights: Any = None,
        downweight_edges: bool | str = False,
    ) -> None:
        """Add one window of predictions to image ``gid``.

        Parameters
        ----------
        gid : int
            Image id.
        space_slice : (slice, slice) | None
            Window in asset space (stitch space scaled); None is the whole asset.
            Windows partly outside are clipped with their data.
        data : ndarray | Tensor
            ``(h, w)`` or ``(h, w, C)`` with ``C`` the bands of ``chan_code``.
        asset_dsize : (w, h) | None
            Size of the output asset; default: the stitch-space size times the scale (rounded up).
        scale_asset_from_stitchspace : float | (sx, sy) | None
            Scale from stitch space to asset space (e.g. 0.5 for half resolution); fixed
            by the first window of an image.
        weights : float | ndarray | None
            Scalar or per-pixel weights.
        downweight_edges : bool | 'ramp' | 'gaussian'
            Down-weight the window border (see :func:`edge_weights`).
        """
        data = _as_hwc(data)
        if data.shape[2] != self.num_bands:
            raise StitchingError(f'data shape {tuple(data.shape)} has {data.shape[2]} bands but '
                                 f'chan_code={self.chan_code!r} has {self.num_bands}')
        with self._lock:
            if gid in self._finalizing or gid in self._finalized:
                raise StitchingError(f'image id {gid} was already finalized; it cannot receive more windows')
            stitcher = self._stitchers.get(gid)
            is_new = stitcher is None
            if is_new:
                stitcher = self._new_stitcher(gid, asset_dsize, scale_asset_from_stitchspace)
            elif scale_asset_from_stitchspace is not None:
                given = kwimage.Affine.coerce(scale=scale_asset_from_stitchspace)
                if not np.allclose(given.matrix, self._scales[gid].matrix):
                    raise StitchingError(f'scale_asset_from_stitchspace={scale_asset_from_stitchspace!r} differs '
                                         f'from the scale this image started with ({self._scales[gid].concise()})')
            if space_slice is None:
                space_slice = (slice(0, stitcher.shape[0]), slice(0, stitcher.shape[1]))
            try:
                stitcher.add(space_slice, data, weights=weights, downweight_edges=downweight_edges)
            except BaseException:
                if is_new:
                    self._scales.pop(gid, None)
                raise
            self._stitchers[gid] = stitcher
            self._counts[gid] += 1

    # -- finalization ------------------------------------------------------------------------------
    def asset_fpath(self, gid: int) -> Path:
        """Where image ``gid``'s stitched asset is written."""
        img = self._img(gid)
        stem = _safe_stem(str(img['name'])) if img.get('name') else f'gid_{gid}'
        ext = '.png' if self.prob_format == 'png' else '.tif'
        return self.prob_dpath / f'{stem}_{self.suffix_code}{ext}'

    def submit_finalize_image(self, gid: int, overwrite: bool | None = None) -> None:
        """Finalize image ``gid`` in the writer queue; errors surface in :meth:`flush_images`."""
        with self._lock:
            if gid not in self._stitchers or gid in self._finalizing:
                self._missing(gid)
            self._finalizing.add(gid)
        self.writer_queue.submit(self._finalize, gid, overwrite)

    def flush_images(self) -> list[dict]:
        """Wait for every submitted finalization; re-raises the first writer error.

        Returns
        -------
        list[dict]
            The info dicts of the finalizations that finished since the last flush.
        """
        return self.writer_queue.wait_until_finished()

    def _missing(self, gid: int) -> None:
        self._img(gid)
        if gid in self._finalizing or gid in self._finalized:
            raise StitchingError(f'image id {gid} was already finalized')
        raise StitchingError(f'no data was accumulated for image id {gid}; nothing to finalize')

    def finalize_image(self, gid: int, overwrite: bool | None = None) -> dict[str, Any]:
        """Average image ``gid``'s windows, write the asset, register it, free the canvas.

        Parameters
        ----------
        gid : int
            Image id with accumulated data.
        overwrite : bool | None
            Override the manager's ``overwrite`` for this image.

        Returns
        -------
        dict
            ``gid``, ``fpath`` and ``asset`` (the registered asset dict), or ``data``
            (the stitched array) when ``write_probs`` is False.
        """
        with self._lock:
            if gid not in self._stitchers or gid in self._finalizing:
                self._missing(gid)
            self._finalizing.add(gid)
        return self._finalize(gid, overwrite)

    def _finalize(self, gid: int, overwrite: bool | None) -> dict[str, Any]:
        overwrite = self.overwrite if overwrite is None else overwrite
        fpath = self.asset_fpath(gid)
        if self.write_probs and fpath.exists() and not overwrite:
            with self._lock:
                self._finalizing.discard(gid)  # the canvas is kept: finalize again with overwrite=True
            raise StitchingError(f'asset {fpath} already exists for image id {gid}; pass overwrite=True to replace it')
        try:
            with self._lock:
                stitcher = self._stitchers.pop(gid)
                asset_from_stitch = self._scales.pop(gid)
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', RuntimeWarning)
                result = stitcher.finalize()
            del stitcher
            if hasattr(result, 'detach'):
                result = result.detach().cpu().numpy()
            if not self.write_probs:
                return {'gid': gid, 'fpath': None, 'asset': None, 'data': result}
            img = self._img(gid)
            img_from_asset = self._stitch_from_img(img).inv() @ asset_from_stitch.inv()
            self.prob_dpath.mkdir(parents=True, exist_ok=True)
            quantization = write_result(
                fpath, result, self.prob_format, self.quantize, minmax=self.expected_minmax,
                compress=self.prob_compress, blocksize=self.prob_blocksize, tags={'channels': self.chan_code},
                level=self.prob_level)
            asset = {
                'file_name': os.path.relpath(fpath, self.result_dataset.bundle_dpath),
                'channels': self.chan_code,
                'width': int(result.shape[1]),
                'height': int(result.shape[0]),
                'num_bands': int(result.shape[2]),
                'warp_aux_to_img': img_from_asset.concise(),
            }
            if quantization is not None:
                asset['quantization'] = quantization
            del result
            with self._lock:
                self._register(img, asset)
            return {'gid': gid, 'fpath': fpath, 'asset': asset}
        finally:
            with self._lock:
                self._stitchers.pop(gid, None)
                self._scales.pop(gid, None)
                self._finalizing.discard(gid)
                self._finalized.add(gid)

    @staticmethod
    def _register(img: dict, asset: dict) -> None:
        key = 'auxiliary' if 'auxiliary' in img and 'assets' not in img else 'assets'
        assets = img.setdefault(key, [])
        assets[:] = [a for a in assets if a.get('file_name') != asset['file_name']]
        assets.append(asset)
