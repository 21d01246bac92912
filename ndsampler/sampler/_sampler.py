"""CocoSampler: ndsampler-0.8-compatible windows with their annotations."""
from __future__ import annotations

import json
from typing import Any, Sequence

import kwcoco
import kwimage
import numpy as np
import ubelt as ub

from ndsampler._typing import BackendLike, PathLike, Sample, Target
from ndsampler.channels import FusedChannelSpec
from ndsampler.errors import ImageReadError, InvalidOptionError, WindowError
from ndsampler.frames import CocoFrames
from ndsampler.geometry import is_identity, warp_box
from ndsampler.regions import CocoRegions
from ndsampler.sampler._annots import BoxLookup, frame_detections, render_class_mask
from ndsampler.sampler._imgsize import fill_image_sizes
from ndsampler.sampler._index import DatasetIndex
from ndsampler.sampler._known_channels import ChannelCheck
from ndsampler.sampler._params import sample_params
from ndsampler.sampler._pixels import (finalize_frames, frame_tree, has_valid_pixels, lean_pixels, native_pixels,
                                      request_channels, space_node)
from ndsampler.sampler._target import is_space_time, resolve_target
from ndsampler.sampler._validate import DEFAULT_MAX_SAMPLE_BYTES, check_load_args, check_sample_size
from ndsampler.sampler._warm import warm_at_fork as _warm_at_fork, warmup as _warmup

__all__ = ['CocoSampler']

#: Target options of :meth:`CocoSampler.is_nodata`'s read (NaN for every kind of missing pixel).
_NODATA_CHECK = {'nodata': 'float', 'finalize': True, 'use_native_scale': False, 'as_xarray': False}


class CocoSampler(ub.NiceRepr):
    """Samples windows (and the annotations in them) from a kwcoco dataset.

    Parameters
    ----------
    dset : kwcoco.CocoDataset
        The dataset.
    workdir : PathLike, optional
        Where the frame cache lives (backends other than None).
    autoinit : bool
        Build ``frames`` and ``regions`` now (else call :meth:`_init` later).
    backend : None | str | dict
        ``None``, ``'cog'``, ``'npy'``, ``'auto'`` or ``{'type': ..., 'config': {...}}``.
    verbose : int
        Verbosity.
    strict_targets : bool
        Reject target keys (and ``load_sample`` keyword arguments) the sampler does not
        know (:data:`ndsampler.sampler.TARGET_KEYS`) with a TargetError listing the known
        ones. By default such keys (a client's own bookkeeping, as ndsampler 0.8 allows)
        are kept in ``sample['target']`` and ignored.

    Attributes
    ----------
    max_sample_bytes : int
        A target whose output pixels would take more bytes is refused at once
        (``SampleTooLargeError``, a ``MemoryError`` and ``ValueError``) before anything
        is read or allocated; default 2 GiB. Set it on the class or on one sampler.

    Example
    -------
    >>> import ubelt as ub
    >>> dpath = ub.Path.appdir('ndsampler/tests/doctest').ensuredir()
    >>> sampler = CocoSampler.demo('shapes8', dpath=dpath)
    >>> sample = sampler.load_sample({'gid': 1, 'cx': 5, 'cy': 2, 'width': 6, 'height': 6})
    >>> sample['im'].shape
    (6, 6, 3)
    """

    max_sample_bytes: int = DEFAULT_MAX_SAMPLE_BYTES

    def __init__(self, dset: kwcoco.CocoDataset, workdir: PathLike | None = None, autoinit: bool = True,
                 backend: BackendLike = None, verbose: int = 0, strict_targets: bool = False):
        self.dset = dset
        self.strict_targets = strict_targets
        self.workdir = workdir
        self.verbose = verbose
        self.backend = backend
        self.frames = None
        self.regions = None
        self._index = DatasetIndex(dset)
        self._kp_classes = None
        self._hashid = None
        #: Take the lean per-sample routes (unscaled single-file windows) where they apply;
        #: False forces the general delayed-tree path (the tests compare both).
        self._lean = True
        if autoinit:
            self._init()

    def _init(self) -> None:
        """Build the frame cache interface and the region index (touches no pixels).

        Images (and assets) without ``width`` / ``height`` get them from their file
        headers first, as ndsampler 0.8 does (``ndsampler.sampler._imgsize.fill_image_sizes``).
        """
        fill_image_sizes(self.dset)
        self.frames = CocoFrames(self.dset, workdir=self.workdir, backend=self.backend)
        self.regions = CocoRegions(self.dset, nodata_check=self.is_nodata)
        self._channel_check = ChannelCheck(self.frames)
        self._boxes = BoxLookup(self.regions)
        _warm_at_fork(self)  # warmed just before a fork (a DataLoader's workers), see ndsampler.sampler._warm

    def warmup(self, channels: str | None = None) -> None:
        """Build now what the first sample would build lazily (indexes, lookups, lazy imports).

        So each forked worker's first batch costs what later ones do. It runs by itself just before
        this process next forks (a DataLoader's forked workers), once per sampler; call it to pay
        that cost at a time of your choosing (``SamplerDataset`` does) or with ``channels``: the
        channels samples will ask for (their known-channel check is built too).
        See :mod:`ndsampler.sampler._warm`.
        """
        _warmup(self, channels=channels)

    def __nice__(self) -> str:
        return f'{self.dset.tag!r}, n_images={self.n_images}, n_annots={self.n_annots}, backend={self.backend!r}'

    @classmethod
    def demo(cls, key: str = 'shapes', workdir: PathLike | None = None, backend: BackendLike = None,
             **kw) -> 'CocoSampler':
        """A sampler over a kwcoco demo dataset (``kw`` go to ``kwcoco.CocoDataset.demo``).

        As in ndsampler 0.8: ``key`` is kwcoco's demo key as it is (``'shapes'``: kwcoco's
        five-image shapes demo), and ``'photos'`` (kwcoco's default demo) loses its
        annotations without a box and gains a ``background`` category with id 0. The cache
        goes to ``workdir`` (default: the ndsampler app cache).
        """
        dset = kwcoco.CocoDataset.demo(key, **kw)
        if key == 'photos':
            dset.remove_annotations([ann for ann in dset.anns.values() if 'bbox' not in ann])
            dset.add_category('background', id=0)
        if workdir is None:
            workdir = ub.Path.appdir('ndsampler').ensuredir()
        return cls(dset, workdir=workdir, backend=backend)

    @classmethod
    def coerce(cls, data: Any, **kw) -> 'CocoSampler':
        """A sampler from a sampler (returned as is) or anything ``kwcoco.CocoDataset.coerce`` takes.

        That is a ``CocoDataset`` (or kwcoco's SQL view), a path to one (``.json``,
        ``.kwcoco.zip``, ``.sqlite``) or a demo key (``'shapes8'``, ``'special:vidshapes2'``),
        as in ndsampler 0.8; ``kw`` go to the constructor.
        """
        if isinstance(data, cls):
            if kw:
                raise InvalidOptionError('kw', sorted(kw), 'none when data is already a CocoSampler (it is returned as is)')
            return data
        try:
            dset = kwcoco.CocoDataset.coerce(data)
        except TypeError:
            raise InvalidOptionError('data', data, 'a CocoSampler or what kwcoco.CocoDataset.coerce takes: a '
                                     'CocoDataset, a path to one, or a demo key') from None
        return cls(dset, **kw)

    # ---- classes -------------------------------------------------------
    @property
    def classes(self) -> kwcoco.CategoryTree:
        """The category tree (the regions' one)."""
        return self.regions.classes

    @property
    def catgraph(self) -> kwcoco.CategoryTree:
        """Deprecated alias of :attr:`classes` (ndsampler 0.8)."""
        return self.classes

    @property
    def kp_classes(self) -> kwcoco.CategoryTree:
        """The keypoint category tree (built once)."""
        if self._kp_classes is None:
            self._kp_classes = self.dset.keypoint_categories()
        return self._kp_classes

    def lookup_class_name(self, class_id: int) -> str:
        """The name of a category id."""
        return self.regions.lookup_class_name(class_id)

    def lookup_class_id(self, class_name: str) -> int:
        """The id of a category name."""
        return self.regions.lookup_class_id(class_name)

    # ---- sizes ---------------------------------------------------------
    @property
    def n_positives(self) -> int:
        return self.regions.n_positives

    @property
    def n_samples(self) -> int:
        return self.regions.n_samples

    def __len__(self) -> int:
        return self.n_samples

    @property
    def n_annots(self) -> int:
        return self.regions.n_annots

    @property
    def n_images(self) -> int:
        return self.regions.n_images

    @property
    def n_categories(self) -> int:
        return self.regions.n_categories

    @property
    def class_ids(self) -> list[int]:
        return self.regions.class_ids

    @property
    def image_ids(self) -> list[int]:
        return self.regions.image_ids

    @property
    def hashid(self) -> str:
        """Identifies the dataset's content and the backend (computed on first use)."""
        if self._hashid is None:
            # kwcoco's own hash fails on pathlib.Path file names (an ndsampler 0.8 bug): hash the JSON
            content = self.dset.hashid or json.dumps(self.dset.dataset, default=str, sort_keys=True)
            self._hashid = ub.hash_data([content, repr(self.backend)], base='hex')[:32]
        return self._hashid

    @property
    def _backend(self) -> BackendLike:
        """The ``backend`` argument as given (ndsampler 0.8's name; ``frames._backend`` is the resolved config)."""
        return self.backend

    # ---- region pools --------------------------------------------------
    def preselect(self, **kwargs) -> Any:
        """Set up the pool of positives / negatives (see ``regions.preselect``)."""
        return self.regions.preselect(**kwargs)

    def new_sample_grid(self, task: str, window_dims, window_overlap: float = 0, **kwargs) -> dict:
        """A grid of targets over every image (``'image_detection'``) or video (``'video_detection'``)."""
        return self.regions.new_sample_grid(task, window_dims, window_overlap, **kwargs)

    def load_item(self, index: int, with_annots=True, target: Target | None = None, rng=None, **kw) -> Sample:
        """The ``index``-th target of the preselected pool (positives first, then negatives).

        IndexOutOfRangeError when ``index`` is not in ``[-n_samples, n_samples)``.
        """
        return self._load_from_pool(self.regions.get_item, index, rng, with_annots, target, kw)

    def load_positive(self, index: int | None = None, with_annots=True, target: Target | None = None,
                      rng=None, **kw) -> Sample:
        """A positive window (around annotation ``index``, random when None).

        IndexOutOfRangeError when ``index`` is not in ``[-n_positives, n_positives)``.
        """
        return self._load_from_pool(self.regions.get_positive, index, rng, with_annots, target, kw)

    def load_negative(self, index: int | None = None, with_annots=True, target: Target | None = None,
                      rng=None, **kw) -> Sample:
        """A negative window (``index`` into the preselected negatives, a fresh one when None).

        IndexOutOfRangeError when ``index`` is outside the preselected negatives.
        """
        return self._load_from_pool(self.regions.get_negative, index, rng, with_annots, target, kw)

    def _load_from_pool(self, draw, index: int | None, rng, with_annots, target: Target | None,
                        kw: dict) -> Sample:
        """``draw(index, rng=rng)`` from the regions, merged with the caller's target, loaded.

        The regions raise IndexOutOfRangeError (naming the index and the range) for an index outside the pool.
        """
        pooled = draw(index, rng=rng)
        extra = kw.pop('tr', None)  # ndsampler 0.6 spelling of ``target``
        merged = {**pooled, **(extra or {}), **(target or {})}
        return self.load_sample(merged, with_annots=with_annots, **kw)

    # ---- whole images --------------------------------------------------
    def load_image(self, image_id: int, cache: bool = True):
        """The whole image: ``frames.load_image`` (the cache file unread when ``cache``, see there; else an array)."""
        return self.frames.load_image(image_id, cache=cache)

    def load_annotations(self, image_id: int) -> list[dict]:
        """The coco annotation dicts of an image."""
        self._index.image(image_id)
        anns = self.dset.index.anns
        return [anns[aid] for aid in self.dset.index.gid_to_aids.get(image_id, ())]

    def load_image_with_annots(self, image_id: int, cache: bool = True) -> tuple[dict, list[dict]]:
        """The image dict (a copy, with ``imdata``) and its annotations."""
        img = dict(self._index.image(image_id))
        img['imdata'] = self.load_image(image_id, cache=cache)
        return img, self.load_annotations(image_id)

    # ---- samples -------------------------------------------------------
    def is_nodata(self, target: Target) -> bool:
        """True when every pixel of the target's window is nodata (the regions' ``nodata_check``).

        The window is read with ``nodata='float'``: pixels outside the image, masked
        pixels (dequantized nodata, and values equal to the nodata a source declares in
        its header) and missing channels are NaN. Nothing is read when
        the answer is known from metadata: an image target over all of its channels whose
        window overlaps the image, on an image that ``frames.may_have_nodata`` says is
        data everywhere (an aligned integer asset without nodata), is never all nodata.
        So random / negative draws on such datasets read pixels only once, when loaded.
        """
        tr = resolve_target(target, self._index, _NODATA_CHECK, self.strict_targets, self.max_sample_bytes)
        params = sample_params(tr, self._index)
        if not is_space_time(tr) and tr['channels'] in (None, '<all>') and has_valid_pixels(tr, params) \
                and not self.frames.may_have_nodata(tr['gid']):
            return False
        return bool(np.isnan(self._pixels(tr, params)).all())

    def load_target_annots(self, target: Target, with_annots=True, annot_ids: Sequence[int] | None = None,
                           visible_thresh: float = 0.0) -> dict:
        """The annotations a sample of ``target`` would hold, without reading pixels."""
        kinds = check_load_args(self._index, with_annots, annot_ids, visible_thresh)
        tr = resolve_target(target, self._index, None, self.strict_targets, self.max_sample_bytes)
        params = sample_params(tr, self._index)
        return self._annots(tr, params, kinds, annot_ids, visible_thresh)

    def load_sample(self, target: Target | None = None, with_annots=True, annot_ids: Sequence[int] | None = None,
                    visible_thresh: float = 0.0, **kwargs) -> Sample:
        """Load the pixels of a target window and the annotations visible in it.

        Parameters
        ----------
        target : dict
            What to sample (see :func:`ndsampler.sampler.resolve_target`): ``gid`` /
            ``image_id``, ``vidid`` / ``video_id``, ``gids`` / ``image_ids``, ``aid``;
            ``slices``, ``space_slice`` + ``time_slice``, or ``cx, cy, width, height`` +
            ``window_dims``; options ``channels`` (a channel spec, or a sensor spec
            ``'S2:red|nir,L8:red'`` resolved per frame by its ``sensor``), ``pad``, ``padkw``, ``dtype``,
            ``nodata``, ``interpolation``, ``antialias``, ``scale`` / ``dsize``,
            ``use_native_scale``, ``realign_native``, ``finalize``, ``optimize``,
            ``as_xarray``. Other keys are kept in the resolved target and ignored
            (rejected with ``strict_targets``). ``channels`` may be a string or a
            channel spec object (ours, kwcoco's or delayed_image's). ``gids`` of one image
            without a video samples that image as a one-frame video (``im`` ``(1, H, W, C)``).
            ``nodata``: None (default) leaves pixels as stored;
            ``'float'`` (or ``'auto'``) gives float32 where nodata declared in a source's
            header, quantization nodata, missing channels and padding past the border are
            NaN; a number also masks pixels equal to it. The dict is not modified.
        with_annots : bool | str | list[str]
            True, False, or kinds from 'boxes', 'segmentation', 'keypoints', 'mask'
            ('+'-joined or a list); 'mask' adds ``annots['class_masks']``.
        annot_ids : list[int], optional
            Return exactly these annotations instead of those overlapping the window.
        visible_thresh : float
            Keep an annotation when more than this fraction of its box is in the window.
        **kwargs
            Target options given as keyword arguments (ndsampler 0.8 style, e.g. ``pad``).

        Returns
        -------
        dict
            ``im`` ((H, W, C) for images, (T, H, W, C) for videos; under ``use_native_scale``
            a list of per-band-group parts (per frame for videos) at their own resolution,
            or with ``realign_native`` one such array on the grid of the largest part, with
            ``params['native_warps']`` mapping the pixels into the window and
            ``params['jagged_meta']`` (per frame for videos: ``chans``, ``align``,
            ``grid_to_part_warps``, as ndsampler 0.8 fills it); delayed trees
            when ``finalize=False``), ``target``
            (the resolved target; ``tr`` is the same dict), ``params``, ``annots``
            (``frame_dets`` and ndsampler 0.8's flat keys), ``classes``, ``kp_classes``.
        """
        kinds = check_load_args(self._index, with_annots, annot_ids, visible_thresh)
        tr = resolve_target({} if target is None else target, self._index, kwargs, self.strict_targets,
                            self.max_sample_bytes)
        params = sample_params(tr, self._index)
        sample = {'im': self._pixels(tr, params), 'target': tr, 'tr': tr, 'params': params,
                  'classes': self.classes, 'kp_classes': self.kp_classes}
        if kinds:
            sample['annots'] = self._annots(tr, params, kinds, annot_ids, visible_thresh)
        return sample

    # ---- ndsampler 0.8's private steps of load_sample (its docstring examples call them) ----
    def _infer_target_attributes(self, target: Target, **kwargs) -> Target:
        """The resolved target (:func:`~ndsampler.sampler.resolve_target`): what ``load_sample`` samples.

        ``kwargs`` are target keys (override the target's). The result can be changed and
        given to :meth:`load_sample` or :meth:`_load_slice` again.
        """
        return resolve_target(target, self._index, kwargs, self.strict_targets, self.max_sample_bytes)

    def _load_slice(self, target: Target) -> Sample:
        """The sample of ``target`` without annotations (add them with :meth:`_populate_overlap`)."""
        return self.load_sample(target, with_annots=False)

    def _populate_overlap(self, sample: Sample, visible_thresh: float = 0.1, with_annots=True,
                          annot_ids: Sequence[int] | None = None) -> Sample:
        """Add ``sample['annots']`` (as :meth:`load_sample` fills it) to a :meth:`_load_slice` sample; returns it.

        ``visible_thresh`` defaults to 0.1 here, as in ndsampler 0.8.
        """
        if with_annots:
            sample['annots'] = self.load_target_annots(sample['target'], with_annots, annot_ids, visible_thresh)
        return sample

    def _pixels(self, tr: Target, params: dict):
        """The sample's pixels; a cache file that fails to decode is repaired and the read retried once.

        Only cache backends repair (``frames.repair`` rebuilds the damaged files of every
        frame of the sample); the None backend reads sources, so its errors propagate.
        """
        try:
            return self._read_pixels(tr, params)
        except ImageReadError:
            if not self.frames.backend.content_addressed:
                raise
        for gid in dict.fromkeys(tr['frame_gids']):
            if gid is not None:
                self.frames.repair(gid)
        return self._read_pixels(tr, params)

    def _read_pixels(self, tr: Target, params: dict):
        channels = request_channels(self.frames, self._index, tr)
        self._channel_check(channels, stacklevel=4)  # the caller of load_sample
        self._check_size(tr, params, channels)
        native = tr['use_native_scale']
        is_video = is_space_time(tr)
        if 0 in params['out_hw'] and params['sample_scale'] != (1.0, 1.0):
            # nothing to interpolate: the unscaled (empty) window's pixels, in the output's shape
            window_hw = tuple(sl.stop - sl.start for sl in params['window'])
            if native or not tr['finalize']:
                raise WindowError(f'window {window_hw[0]}x{window_hw[1]} (h x w) is empty and has no pixels to scale; '
                                  'with finalize=True (and use_native_scale=False) it gives an empty array')
            im = self._read_pixels(tr, {**params, 'out_hw': window_hw, 'sample_scale': (1.0, 1.0)})
            shape = im.shape[:-3] + tuple(params['out_hw']) + im.shape[-1:]
            if not tr['as_xarray']:
                return im[..., :0, :0, :].reshape(shape)
            empty = im.data[..., :0, :0, :].reshape(shape)
            return _as_xarray(empty, [str(c) for c in im.coords['c'].values], tr['frame_gids'] if is_video else None)
        if self._lean and not is_video and tr['finalize'] and not native and not tr['as_xarray']:
            im = lean_pixels(self.frames, tr, params, channels)
            if im is not None:
                return im
        if native:
            spaces = [None if gid is None else space_node(self.frames, self._index, gid, tr, params, channels)
                      for gid in tr['frame_gids']]
            frames, warps, meta = native_pixels(spaces, tr, params)
            params['native_warps'] = warps if is_video else warps[0]
            params['jagged_meta'] = meta if is_video else meta[0]
            if tr['as_xarray'] and tr['finalize']:
                frames = _native_as_xarray(frames, meta, tr)
            return frames if is_video else frames[0]
        trees = [None if gid is None else frame_tree(self.frames, self._index, gid, tr, params, channels)
                 for gid in tr['frame_gids']]
        if not tr['finalize']:
            return trees if is_video else trees[0]
        known = next((tree for tree in trees if tree is not None), None)
        if known is None and channels is None and tr.get('vidid') is not None and self._index.video_gids(tr['vidid']):
            known = self.frames.load_delayed(self._index.video_gids(tr['vidid'])[0])  # no frame: the video's bands
        names = known.channels.as_list() if known is not None else (channels or '').split('|')
        im = finalize_frames(trees, tr, params, len(names))
        if not is_video:
            im = im[0]
        if tr['as_xarray']:
            im = _as_xarray(im, names, tr['frame_gids'] if is_video else None)
        return im

    def _check_size(self, tr: Target, params: dict, channels: str | None) -> None:
        """The size guard again with the sample's band count and item size (``resolve_target`` counted one of each)."""
        gids = tr['frame_gids']
        gid = gids[0] if gids and gids[0] is not None else next((g for g in gids if g is not None), None)
        if gid is None:
            return
        base = self.frames.load_delayed(gid)
        bands = base.num_channels if channels is None else FusedChannelSpec.coerce(channels).numel()
        itemsize = (tr['dtype'].itemsize if tr['dtype'] is not None else 4 if tr['nodata'] is not None
                    else base.dtype.itemsize)
        check_sample_size(len(tr['frame_gids']), params['out_hw'], tr, self.max_sample_bytes, bands, itemsize)

    def _annots(self, tr: Target, params: dict, kinds: frozenset, annot_ids, visible_thresh: float) -> dict:
        is_video = is_space_time(tr)
        sl_y, sl_x = params['window']
        window = (sl_x.start, sl_y.start, sl_x.stop, sl_y.stop)
        classes, kp_classes = self.classes, self.kp_classes
        frame_dets = []
        for rel_idx, (gid, warp) in enumerate(zip(tr['frame_gids'], params['frame_warps'])):
            window_img = window
            if is_video and gid is not None and not is_identity(self._index.warp_img_to_vid(gid)):
                window_img = warp_box(window, self._index.warp_img_to_vid(gid).inv()).data[0].tolist()
            frame_dets.append(frame_detections(
                self._index, self._boxes, gid, warp, window_img, kinds, classes,
                kp_classes, rel_idx, visible_thresh=visible_thresh, annot_ids=annot_ids))
        if not frame_dets:  # an empty time range
            aids, cids, ltrb = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4))
            rel_frame_index = np.zeros(0, dtype=np.int64)
        elif is_video:
            aids = np.concatenate([d.data['aids'] for d in frame_dets])
            cids = np.concatenate([d.data['cids'] for d in frame_dets])
            ltrb = np.concatenate([d.boxes.data for d in frame_dets])
            rel_frame_index = np.repeat(np.arange(len(frame_dets)), [len(d) for d in frame_dets])
        else:  # an image: its detections' arrays as they are (they belong to this sample)
            data = frame_dets[0].data
            aids, cids, ltrb = data['aids'], data['cids'], data['boxes'].data
            rel_frame_index = np.zeros(len(aids), dtype=np.int64)
        annots = {'frame_dets': frame_dets, 'aids': aids, 'cids': cids, 'rel_frame_index': rel_frame_index,
                  'rel_boxes': kwimage.Boxes(ltrb, 'ltrb', canonical=True)}
        if 'segmentation' in kinds:
            annots['rel_ssegs'] = _concat_lists(frame_dets, 'segmentations')
        if 'keypoints' in kinds:
            annots['rel_kpts'] = _concat_lists(frame_dets, 'keypoints')
            annots['rel_kpts'].meta['classes'] = kp_classes
        if 'mask' in kinds:
            masks = (np.stack([render_class_mask(d, params['out_hw']) for d in frame_dets]) if frame_dets
                     else np.zeros((0,) + tuple(params['out_hw']), np.int32))
            annots['class_masks'] = masks if is_video else masks[0]
        main_aid = tr.get('aid')
        hits = np.flatnonzero(aids == main_aid) if main_aid is not None and main_aid >= 0 else ()
        tr['annot_idx'] = int(hits[0]) if len(hits) else -1
        return annots


def _concat_lists(frame_dets: list[kwimage.Detections], key: str) -> Any:
    """One new list object (PolygonList / PointsList) of the frames' ``key`` items, in frame order."""
    if not frame_dets:
        return {'segmentations': kwimage.PolygonList, 'keypoints': kwimage.PointsList}[key]([])
    first = frame_dets[0].data[key]
    if len(frame_dets) == 1:
        return type(first)(first.data.copy())
    return type(first)([item for dets in frame_dets for item in dets.data[key].data])


def _native_as_xarray(frames, meta: list[dict], tr: Target):
    """Native pixels as xarray: each part ``(y, x, c)``; a realigned ``(t, y, x, c)`` array (as one video)."""
    if tr['realign_native']:
        names = next((chans[0].as_list() for chans in (m['chans'] for m in meta) if chans), [])
        return _as_xarray(frames, names, tr['frame_gids'])
    return [[_as_xarray(part, chans.as_list(), None) for part, chans in zip(parts, m['chans'])]
            for parts, m in zip(frames, meta)]


def _as_xarray(im: np.ndarray, channel_names: list[str], frame_gids: list | None):
    import xarray as xr
    coords: dict[str, Any] = {'c': list(channel_names)}
    if frame_gids is None:
        return xr.DataArray(im, dims=('y', 'x', 'c'), coords=coords)
    coords['gid'] = ('t', [-1 if gid is None else gid for gid in frame_gids])
    return xr.DataArray(im, dims=('t', 'y', 'x', 'c'), coords=coords)
