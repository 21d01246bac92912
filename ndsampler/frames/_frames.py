"""Frames: image ids -> assets -> cached files -> delayed trees in image space."""
from __future__ import annotations

import abc
import os
import time
from concurrent.futures import Executor
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ndsampler._typing import BackendLike, ChannelsLike, DSize, PathLike, Slices
from ndsampler.backends import (FRAME_STATES, Backend, NoneBackend, SourceIdentity, check_hashid_mode,
                                coerce_backend, forget_identities, is_remote, source_identity)
from ndsampler.backends._reader import read_header
from ndsampler.channels import FusedChannelSpec
from ndsampler.delayed import DelayedChannelConcat, DelayedLoad, DelayedNans, window_pixels
from ndsampler.delayed.readers import get_reader, reader_pool
from ndsampler.errors import CacheError, ImageReadError, InvalidOptionError, SourceNotFoundError, UnknownIdError
from ndsampler.frames._alignable import AlignableImageData, chan_info
from ndsampler.frames._lazy import LazyRaster
from ndsampler.frames._prepare import PrepareSummary, PrepareTask, check_workers, run_tasks, summarize
from ndsampler.frames._records import Asset, ImageRecord
from ndsampler.frames._validate import SourceMismatch, check_header, expectations, mismatches_of, raise_mismatches
from ndsampler.geometry import clip_slices, normalize_slices

__all__ = ['Frames', 'STATE_ORDER', 'NODATA_OPTIONS']

#: Per-image status is the worst of its assets' states, in this order (best first).
STATE_ORDER = FRAME_STATES

#: What ``nodata`` of :meth:`Frames.load_delayed` accepts.
NODATA_OPTIONS = (None, 'float')


class Frames(abc.ABC):
    """Base class: maps image ids to cached frames and builds delayed trees over them.

    Subclasses implement :attr:`image_ids` and :meth:`_build_record`.

    Parameters
    ----------
    workdir : PathLike | None
        The cache lives in ``<workdir>/_cache/frames``; an ``http(s)://`` or
        ``/vsicurl/`` workdir is a read-only cache (prepared elsewhere).
        ``None`` picks :meth:`_default_workdir`.
    backend : None | str | dict | Backend
        See :func:`ndsampler.backends.coerce_backend`; ``None`` reads sources directly.
    hashid_mode : str
        ``'PATH'`` (path + size + mtime) or ``'PIXELS'`` (hash of the file's bytes).

    Notes
    -----
    Everything cached on an instance (records, converted paths, delayed trees)
    is per process and dropped when pickled; file handles live in the delayed
    layer's reader pool, which reopens them lazily after fork or unpickling.
    No read is stale: a new frames object identifies each source as it is now,
    and every read of a cache file stats its local source once (a few
    microseconds) and, when the source was edited in place since the frame was
    made, rebuilds the frame from the current source and reads that (as
    :meth:`repair` does for damage). Remote sources are not checked: their URL
    is their identity. Cache files are content-addressed, so once validated
    they are marked immutable in the reader pool and reads never stat them
    again; each block a read touches is verified against the frame's checksums
    the first time this process reads it (:meth:`prepare` re-syncs the pool for
    frames it rebuilds).
    """

    def __init__(self, workdir: Optional[PathLike] = None, backend: BackendLike = None,
                 hashid_mode: str = 'PATH'):
        self.backend: Backend = coerce_backend(backend)
        self.hashid_mode = check_hashid_mode(hashid_mode)
        self.workdir = os.fspath(workdir) if workdir is not None else None
        self._reset()

    # -- subclass hooks -------------------------------------------------------
    @property
    @abc.abstractmethod
    def image_ids(self) -> List[Any]:
        """All image ids, in dataset order."""

    @abc.abstractmethod
    def _build_record(self, image_id: Any) -> ImageRecord:
        """The record of a known image id (called once per id per process)."""

    @abc.abstractmethod
    def _default_workdir(self) -> str:
        """Where the cache goes when no workdir is given."""

    # -- per-process state ----------------------------------------------------
    def _reset(self) -> None:
        self._records: Dict[Any, ImageRecord] = {}
        self._cache_paths: Dict[str, str] = {}
        self._idents: Dict[str, SourceIdentity] = {}  # what each cache path was made from
        self._delayed: Dict[Tuple[Any, Any, Optional[str]], Any] = {}
        self._id_set: Optional[set] = None
        self._may_have_nodata: Dict[Any, bool] = {}

    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        for key in ('_records', '_cache_paths', '_idents', '_delayed', '_id_set', '_may_have_nodata'):
            state.pop(key)
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    def invalidate(self, image_id: Any = None) -> None:
        """Forget cache paths, trees, header answers and ``PIXELS`` hashes (of one image, or all).

        Reads notice edited sources by themselves; this drops what this object
        remembers, e.g. after editing a source so that its content hash must be
        computed again while its size, mtime and inode stayed the same.
        """
        ids = self.image_ids if image_id is None else [image_id]
        for gid in ids:
            for asset in self._record(gid).assets:
                forget_identities(asset.fpath)
                self._cache_paths.pop(asset.fpath, None)
                self._idents.pop(asset.fpath, None)
            for key in [k for k in self._delayed if k[0] == gid]:
                del self._delayed[key]
            self._may_have_nodata.pop(gid, None)

    # -- paths ----------------------------------------------------------------
    @property
    def cache_dpath(self) -> Optional[str]:
        """``<workdir>/_cache/frames`` (a URL for a remote, read-only cache); None for the None backend.

        The None backend reads the sources in place and caches nothing, so it has no
        cache folder (as in ndsampler 0.8).
        """
        if isinstance(self.backend, NoneBackend):
            return None
        workdir = self.workdir if self.workdir is not None else self._default_workdir()
        if is_remote(workdir):
            return workdir.rstrip('/') + '/_cache/frames'
        return os.path.join(workdir, '_cache', 'frames')

    def _record(self, image_id: Any) -> ImageRecord:
        record = self._records.get(image_id)
        if record is None:
            if self._id_set is None:
                self._id_set = set(self.image_ids)
            if image_id not in self._id_set:
                raise UnknownIdError(f'unknown image id {image_id!r}; allowed: one of the '
                                     f'{len(self._id_set)} ids in image_ids')
            record = self._records[image_id] = self._build_record(image_id)
        return record

    def _ensure(self, asset: Asset, backend: Backend) -> str:
        """The readable file of ``asset`` (converted now if it is not cached yet)."""
        if backend is not self.backend:
            return backend.ensure(source_identity(asset.fpath, self.hashid_mode), self.cache_dpath)[0]
        fpath = self._cache_paths.get(asset.fpath)
        if fpath is None:
            ident = source_identity(asset.fpath, self.hashid_mode)
            fpath = backend.ensure(ident, self.cache_dpath)[0]
            if backend.content_addressed:
                self._mark(fpath, ident)
            self._cache_paths[asset.fpath] = fpath
            self._idents[asset.fpath] = ident
        return fpath

    def _mark(self, fpath: str, ident: SourceIdentity) -> None:
        """Reads of the validated cache file ``fpath`` skip its stat (it is never rewritten under this
        name), stat its local source instead (a StaleFrameError once the source is edited) and verify
        the blocks they touch against the frame's checksums."""
        reader_pool.mark_immutable(fpath, source=None if ident.stamp is None else ident.path,
                                   source_stamp=ident.stamp, verify=self.backend.verifier(fpath))

    def _reopen(self, fpath: str, ident: SourceIdentity) -> None:
        """Make this process's next read of the (rebuilt) cache file ``fpath`` open the file anew."""
        reader_pool.forget(fpath)  # closes the reader of the damaged bytes, even with the same size and mtime
        self._mark(fpath, ident)  # the rebuild is content-addressed too

    def cache_fpaths(self, image_id: Any) -> List[str]:
        """The cache file of each asset of an image (sources themselves for the None backend)."""
        return [self.backend.cache_fpath(self.cache_dpath, source_identity(a.fpath, self.hashid_mode))
                for a in self._record(image_id).assets]

    def source_mismatches(self, image_ids: Optional[Sequence[Any]] = None) -> Dict[Any, Sequence[SourceMismatch]]:
        """Per image with a file that disagrees with the dataset, its :class:`SourceMismatch` list.

        Band count vs ``channels`` and size vs ``width`` / ``height`` (the rule of
        :meth:`prepare` and of every read, which raises :class:`~ndsampler.errors.SourceMismatchError`
        for such an image). Reads the sources' headers only; missing or undecodable
        sources are left to :meth:`status`.
        """
        ids = self.image_ids if image_ids is None else list(image_ids)
        return mismatches_of({gid: self._record(gid) for gid in ids}, self._source_header)

    # -- ndsampler 0.8 internals that its clients and tests use ---------------------
    @property
    def _backend(self) -> Dict[str, Any]:
        """The backend as ndsampler 0.8's config dict ``{'type': None | 'npy' | 'cog', 'config': {...}}``."""
        return self.backend.to_dict()

    def _build_pathinfo(self, image_id: Any) -> Dict[str, Any]:
        """ndsampler 0.8's record of an image's files: ``id``, ``default``, ``width``, ``height``, ``channels``.

        ``channels`` maps each asset's channel key to its ``path``, ``channels``,
        ``warp_aux_to_img``, ``cache_type``, ``hashid_mode`` and, with a cache backend,
        its ``cache`` file; ``default`` is the key loaded when none is given.
        """
        record = self._record(image_id)
        dsize = record.dsize or (None, None)
        return {'id': image_id, 'default': None, 'width': dsize[0], 'height': dsize[1],
                'channels': {asset.channels: chan_info(self, asset) for asset in record.assets}}

    def _load_alignable(self, image_id: Any) -> AlignableImageData:
        """ndsampler 0.8's per-channel loader of an image (see :class:`AlignableImageData`)."""
        return AlignableImageData(self._build_pathinfo(image_id), self._backend)

    # -- metadata -------------------------------------------------------------
    def _asset_channels(self, record: ImageRecord, index: int, num_bands: int) -> FusedChannelSpec:
        asset = record.assets[index]
        if asset.channels is None:
            spec = FusedChannelSpec.coerce(num_bands if index == 0 else f'u{index}:{num_bands}')
        else:
            spec = FusedChannelSpec.coerce(asset.channels)  # its band count is checked by _validate.check_header
        return spec

    def _source_header(self, asset: Asset):
        return read_header(asset.fpath)

    def image_dsize(self, image_id: Any) -> DSize:
        """``(w, h)`` of an image in image space."""
        record = self._record(image_id)
        if record.dsize is not None:
            return record.dsize
        first = record.assets[0]
        w, h = first.dsize if first.dsize is not None else self._source_header(first).dsize
        corners = first.warp_aux_to_img @ np.array([[0, w], [0, h], [1, 1]], dtype=float)
        return (int(round(corners[0, 1] - corners[0, 0])), int(round(corners[1, 1] - corners[1, 0])))

    def image_channels(self, image_id: Any) -> FusedChannelSpec:
        """The channels of an image: its assets' channels, in asset order."""
        record = self._record(image_id)
        parts = []
        for index, asset in enumerate(record.assets):
            if asset.channels is not None:
                parts.append(FusedChannelSpec.coerce(asset.channels).spec)
            else:
                parts.append(self._asset_channels(record, index, self._source_header(asset).num_bands).spec)
        return FusedChannelSpec.coerce('|'.join(parts))

    def may_have_nodata(self, image_id: Any) -> bool:
        """False when every pixel inside the image holds data in at least one band.

        That is known from metadata alone when one asset covers the image pixel for
        pixel (identity ``warp_aux_to_img``, the image's size) with integer pixels, no
        quantization and no nodata value in its source header: then no window that
        overlaps the image is all nodata, and the sampler skips reading it for the
        regions' nodata check. Float data, declared nodata, quantized or warped assets
        answer True (pixels must be looked at). Headers only; once per image per process.
        """
        answer = self._may_have_nodata.get(image_id)
        if answer is None:
            dsize = tuple(self.image_dsize(image_id))
            answer = not any(self._covers_with_data(asset, dsize) for asset in self._record(image_id).assets)
            self._may_have_nodata[image_id] = answer
        return answer

    def _covers_with_data(self, asset: Asset, dsize: Tuple[int, int]) -> bool:
        if asset.quantization is not None or not asset.is_aligned:
            return False
        header = self._source_header(asset)
        return (tuple(header.dsize) == dsize and np.issubdtype(np.dtype(header.dtype), np.integer)
                and header.nodata is None)

    # -- pixels ---------------------------------------------------------------
    def load_delayed(self, image_id: Any, channels: ChannelsLike = None, nodata: Optional[str] = None):
        """A delayed tree of the image in image space (built once per (image, channels, nodata) per process).

        Each asset is a ``DelayedLoad`` of its cache file (converted now if
        needed) with known size, channels, dtype and overviews; quantized
        assets are dequantized; assets are warped by ``warp_aux_to_img`` and
        concatenated. Requested channels the image lacks come out as NaN.

        Parameters
        ----------
        image_id : Any
        channels : str | FusedChannelSpec | None
            Channels to keep, in this order (None: all of the image's).
        nodata : None | 'float'
            ``'float'``: pixels equal to the nodata value their source file
            declares in its header (e.g. a GeoTIFF's ``nodata``) become NaN, before
            any warp: assets declaring one load as float32, the others keep their
            dtype (the sampler converts whole samples). None (default): pixels as
            stored. Quantization ``nodata`` becomes NaN either way. The npy backend
            has no header field for it, so its value comes from the source's header.

        Example
        -------
        >>> import tempfile, pathlib, numpy as np
        >>> from ndsampler.frames import SimpleFrames
        >>> from ndsampler.io import write_cog
        >>> data = np.arange(12, dtype=np.uint16).reshape(3, 4, 1)
        >>> fpath = write_cog(pathlib.Path(tempfile.mkdtemp()) / 'a.tif', data, nodata=0, overviews=0)
        >>> frames = SimpleFrames({1: fpath})
        >>> frames.load_delayed(1).finalize()[0, :2, 0].tolist()
        [0, 1]
        >>> frames.load_delayed(1, nodata='float').finalize()[0, :2, 0].tolist()
        [nan, 1.0]
        """
        # Trees are found by the channels as given (no coercion per call) and by their normalized spec.
        key = (image_id, channels, nodata) if channels is None or isinstance(channels, str) else None
        tree = None if key is None else self._delayed.get(key)
        if tree is None:
            want = None if channels is None else FusedChannelSpec.coerce(channels)
            spec_key = (image_id, None if want is None else want.spec, nodata)
            tree = self._delayed.get(spec_key)
            if tree is None:
                tree = self._delayed[spec_key] = self._build_delayed(image_id, want, self.backend, nodata)
            if key is not None:
                self._delayed[key] = tree
        return tree

    def _asset_nodata(self, asset: Asset, header: Any, backend: Backend) -> Optional[float]:
        """The nodata value the asset's source declares (its cache file's header lacks it for npy)."""
        return header.nodata if backend.records_nodata else self._source_header(asset).nodata

    def _build_delayed(self, image_id: Any, want: Optional[FusedChannelSpec], backend: Backend,
                       nodata: Optional[str] = None):
        if nodata not in NODATA_OPTIONS:
            raise InvalidOptionError('nodata', nodata, NODATA_OPTIONS)
        record = self._record(image_id)
        dsize = self.image_dsize(image_id)
        wanted = None if want is None else set(want.as_list())
        parts = []
        for index, asset in enumerate(record.assets):
            if wanted is not None and asset.channels is not None and \
                    not wanted & set(FusedChannelSpec.coerce(asset.channels).as_list()):
                continue
            fpath = self._ensure(asset, backend)
            header = read_header(fpath)
            raise_mismatches(check_header((image_id, asset, record.dsize), header))
            chans = self._asset_channels(record, index, header.num_bands)
            value = None if nodata is None else self._asset_nodata(asset, header, backend)
            node = DelayedLoad(fpath, channels=chans, dsize=header.dsize, num_overviews=header.num_overviews,
                               dtype=header.dtype, nodata_method=None if value is None else nodata, nodata=value)
            if asset.quantization is not None:
                node = node.dequantize(asset.quantization)
            if not asset.is_aligned or tuple(header.dsize) != tuple(dsize):
                node = node.warp(asset.warp_aux_to_img, dsize=dsize)
            parts.append(node)
        if not parts:  # none of the requested channels is in this image
            return DelayedNans(dsize, want)
        if want is None:
            return parts[0] if len(parts) == 1 else DelayedChannelConcat(parts, dsize=dsize)
        return DelayedChannelConcat(parts, dsize=dsize).take_channels(want)

    def load_region(self, image_id: Any, region: Optional[Slices] = None,
                    channels: ChannelsLike = None, nodata: Optional[str] = None) -> np.ndarray:
        """Pixels ``(h, w, c)`` of a ``(slice_y, slice_x)`` window in image space (None: whole image).

        The window is clipped to the image (as in ndsampler 0.8; the sampler pads).
        ``nodata='float'`` turns declared nodata into NaN (see :meth:`load_delayed`).
        A cache file that fails to decode or its checksums, or whose source was
        edited since it was made, is repaired (see :meth:`repair`) and the read
        retried once; a second failure raises :class:`ImageReadError` naming the
        image's sources and cache files.
        """
        return self.with_repair((image_id,), lambda: self._read_region(self.load_delayed(image_id, channels, nodata),
                                                                       region))

    def with_repair(self, image_ids: Sequence[Any], read: Callable[[], Any]) -> Any:
        """``read()``; when it raises :class:`ImageReadError`, :meth:`repair` the images and call it once more.

        The one repair-and-retry of a read (``load_region``, ``load_image``,
        :func:`~ndsampler.frames.read_window`, the sampler's samples of several
        frames). ``read`` must take its trees from :meth:`load_delayed` on each call
        (a repair of a stale frame drops the image's trees). The None backend reads
        sources, so its errors propagate unrepaired; a second failure raises
        :class:`ImageReadError` naming the images' sources and cache files.
        """
        try:
            return read()
        except ImageReadError:
            if not self.backend.content_addressed:  # the None backend reads sources: nothing to rebuild
                raise
        image_ids = [gid for gid in dict.fromkeys(image_ids) if gid is not None]
        for gid in image_ids:
            self.repair(gid)
        try:
            return read()
        except ImageReadError as ex:
            pairs = ', '.join(f'{a.fpath} -> {self._cache_paths.get(a.fpath)}'
                              for gid in image_ids for a in self._record(gid).assets)
            which = f'image {image_ids[0]!r} is' if len(image_ids) == 1 else f'images {image_ids!r} are'
            whose = 'its' if len(image_ids) == 1 else 'their'
            raise ImageReadError(f'{which} unreadable even after rebuilding {whose} damaged cache files '
                                 f'(source -> cache: {pairs}): {ex}') from ex

    def repair(self, image_id: Any) -> List[str]:
        """Rebuild the damaged or stale cache files of an image after a read of it raised :class:`ImageReadError`.

        Every cache file this process reads for the image is checked thoroughly
        (``'deep'``: every block's checksum, every pixel decoded) under its
        frame lock and rebuilt when damaged (the damaged file is removed first;
        another process that got there first leaves nothing to do), and the
        pooled readers of those files are closed so the next read opens the
        current file. When a source changed since its frame was made
        (:class:`~ndsampler.errors.StaleFrameError`), the image's paths and trees
        are dropped and the frame of the source's current version is made: the
        next :meth:`load_delayed` reads it. Reads retry through
        :meth:`with_repair`, which calls this (:meth:`load_region`,
        :meth:`load_image` when it reads, :func:`~ndsampler.frames.read_window`).

        Returns
        -------
        list of str
            The cache files rewritten or made by this call (empty for the None
            backend: sources are never rewritten).

        Raises
        ------
        ImageReadError
            A damaged cache file cannot be rebuilt (its source is gone or no
            longer converts, or the cache is a read-only remote one); names both.
        """
        if not self.backend.content_addressed:
            return []
        rebuilt, stale = [], []
        for asset in self._record(image_id).assets:
            fpath = self._cache_paths.get(asset.fpath)
            if fpath is None:  # not read by this process
                continue
            try:
                try:
                    ident = source_identity(asset.fpath, self.hashid_mode)
                except SourceNotFoundError:  # gone: its frame keeps the last version (dropped if damaged)
                    ident = self._idents[asset.fpath]
                if self.backend.cache_fpath(self.cache_dpath, ident) != fpath:
                    stale.append(asset)  # edited since: its current version has another frame
                    continue
                _, nbytes = self.backend.ensure(ident, self.cache_dpath, check='deep')
            except (CacheError, SourceNotFoundError) as ex:
                raise ImageReadError(f'cache file {fpath} of source {asset.fpath} is damaged and cannot be '
                                     f'rebuilt: {ex}') from ex
            self._reopen(fpath, ident)
            if nbytes:
                rebuilt.append(fpath)
        if stale:
            self.invalidate(image_id)
            for asset in stale:
                try:
                    rebuilt.append(self._ensure(asset, self.backend))
                except (CacheError, SourceNotFoundError) as ex:
                    raise ImageReadError(f'source {asset.fpath} changed and its new version cannot be cached: '
                                         f'{ex}') from ex
        return rebuilt

    def _read_region(self, tree: Any, region: Optional[Slices]) -> np.ndarray:
        if region is None:
            return tree.finalize()
        w, h = tree.dsize
        slices = _in_bounds(region, h, w) or clip_slices(normalize_slices(tuple(region), (h, w)), (h, w))[0]
        return window_pixels(tree, slices)

    def load_image(self, image_id: Any, channels: ChannelsLike = None, cache: bool = True,
                   nodata: Optional[str] = None) -> Union[np.ndarray, LazyRaster]:
        """The whole image ``(H, W, C)``; ``cache=False`` reads the sources, bypassing the cache.

        As in ndsampler 0.8, an image that is its cache file as it is (one asset, aligned,
        not quantized, every band, no ``nodata`` conversion) comes back unread: a
        read-only ``np.memmap`` of the npy cache, a :class:`LazyRaster` of the COG cache.
        Slicing either (``im[y0:y1, x0:x1]``) reads only that window; ``np.asarray`` reads
        it all. Anything else, and the None backend, is read into an array here. Either
        is of the source's current version (a frame whose source was edited is rebuilt
        first); a LazyRaster's reads verify the frame's block checksums, the memmap's
        cannot (numpy reads it directly: ``load_region`` and the sampler verify).
        ``nodata='float'`` turns declared nodata into NaN (see :meth:`load_delayed`).
        """
        if cache:
            return self.with_repair((image_id,), lambda: self._whole_image(image_id, channels, nodata))
        want = None if channels is None else FusedChannelSpec.coerce(channels)
        return self._build_delayed(image_id, want, NoneBackend(), nodata).finalize()

    def _whole_image(self, image_id: Any, channels: ChannelsLike, nodata: Optional[str]) -> Any:
        tree = self.load_delayed(image_id, channels, nodata)
        if type(tree) is DelayedLoad and tree.nodata_method is None and self.backend.name in _LAZY_OPENERS:
            get_reader(tree.fpath)  # one stat of its source: StaleFrameError when that was edited since
            return _LAZY_OPENERS[self.backend.name](tree.fpath)
        return self._read_region(tree, None)

    # -- cache management -----------------------------------------------------
    def status(self, image_ids: Optional[Sequence[Any]] = None, deep: bool = False) -> Dict[Any, str]:
        """Per image, the worst state of its frames: one of :data:`STATE_ORDER`.

        Cache files get the ``'sample'`` check, or with ``deep=True`` the ``'deep'``
        one (every block's checksum verified and every pixel decoded: slow, finds
        damage anywhere in a frame, which the default finds only at its ends); see
        :data:`ndsampler.backends.CHECK_LEVELS`.
        """
        ids = self.image_ids if image_ids is None else list(image_ids)
        out = {}
        for gid in ids:
            states = []
            for asset in self._record(gid).assets:
                try:
                    ident = source_identity(asset.fpath, self.hashid_mode, refresh=True)
                except FileNotFoundError:
                    states.append('no_source')
                    continue
                states.append(self.backend.state(ident, self.cache_dpath, 'deep' if deep else 'sample'))
            out[gid] = max(states, key=STATE_ORDER.index)
        return out

    def prepare(self, image_ids: Optional[Sequence[Any]] = None, workers: int = 0,
                executor: Optional[Executor] = None, progress: bool = True, deep: bool = False) -> PrepareSummary:
        """Convert every missing frame; resumable, parallel, never stops at a failing image.

        Parameters
        ----------
        image_ids : Sequence | None
            Images to prepare (None: all).
        workers : int
            Worker processes (0: convert in this process); negative values raise
            :class:`~ndsampler.errors.InvalidOptionError`.
        executor : concurrent.futures.Executor | None
            Run the (picklable) work units here instead, e.g. a dask.distributed executor.
        progress : bool
            Show a progress bar on stderr.
        deep : bool
            Check existing cache files with the ``'deep'`` check instead of
            ``'sample'`` (see :meth:`status`); files that fail are rebuilt.

        Returns
        -------
        PrepareSummary
        """
        workers = check_workers(workers)
        start = time.perf_counter()
        ids = self.image_ids if image_ids is None else list(image_ids)
        image_sources: Dict[Any, List[str]] = {}
        for gid in ids:
            image_sources[gid] = [a.fpath for a in self._record(gid).assets]
        backend = self.backend.to_dict()
        unique = list(dict.fromkeys(f for fpaths in image_sources.values() for f in fpaths))
        expected = expectations({gid: self._record(gid) for gid in ids})  # checked against each file in its task
        tasks = [PrepareTask(f, backend, self.hashid_mode, self.cache_dpath, 'deep' if deep else 'sample',
                             tuple(expected[f])) for f in unique]
        results = {r.fpath: r for r in run_tasks(tasks, workers=workers, executor=executor, progress=progress)}
        for fpath, result in results.items():
            cached = self._cache_paths.get(fpath)
            if result.nbytes and cached is not None:
                ident = source_identity(fpath, self.hashid_mode)
                if self.backend.cache_fpath(self.cache_dpath, ident) == cached:
                    # Rebuilt (possibly by another process) while this one reads it: reopen it.
                    self._reopen(cached, ident)
        return summarize(self.backend.name, image_sources, results, start)


def _open_memmap(fpath: str) -> np.ndarray:
    data = np.load(fpath, mmap_mode='r', allow_pickle=False)
    return data[:, :, None] if data.ndim == 2 else data


#: How :meth:`Frames.load_image` opens a cache file unread, by backend name.
_LAZY_OPENERS = {'npy': _open_memmap, 'cog': LazyRaster}


def _in_bounds(region: Any, h: int, w: int) -> Optional[Slices]:
    """``region`` itself when it is ``(slice_y, slice_x)`` of plain ints inside ``(h, w)``; else None.

    The common case of :meth:`Frames.load_region`, checked without building new slices.
    """
    try:
        sl_y, sl_x = region
        y0, y1, x0, x1 = sl_y.start, sl_y.stop, sl_x.start, sl_x.stop
        if type(y0) is int and type(y1) is int and type(x0) is int and type(x1) is int \
                and sl_y.step is None and sl_x.step is None and 0 <= y0 <= y1 <= h and 0 <= x0 <= x1 <= w:
            return region
    except (TypeError, ValueError, AttributeError):
        pass
    return None
