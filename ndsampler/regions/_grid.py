"""Sliding-window sample grids over images ('image_detection') and videos ('video_detection').

Every grid window has exactly ``window_dims``; the windows cover every pixel (and every
frame); the last window along an axis is padded past the border, never shifted back; the
window *cores* (see :mod:`ndsampler.regions._gridaxis`) partition each image / video
exactly. The returned dict holds ``targets`` (sampler targets), ``cores`` (the core slices of
each target, None for annotation-centred extras), 0-based ``positives_indexes`` /
``negatives_indexes`` into ``targets``, and ndsampler 0.8's ``positives`` / ``negatives``: the
same target dicts split into two lists.
"""
from __future__ import annotations

import itertools as it
from typing import Any, Iterable, Sequence

import numpy as np

from ndsampler._validate import check_bool, check_count, check_int_tuple, check_real
from ndsampler.errors import InvalidOptionError
from ndsampler.geometry import affine_of, warp_box, window_from_center
from ndsampler.regions._gridaxis import axis_windows, overlap_pixels
from ndsampler.regions._index import expand_counts, union_coverage, visible_fraction

__all__ = ['new_sample_grid', 'TASKS']

TASKS = ('image_detection', 'video_detection')


def new_sample_grid(regions, task: str, window_dims: Any, window_overlap: Any = 0, *,
                    use_annots: bool = True, use_centers: bool = False,
                    classes_of_interest: Iterable[Any] | None = None,
                    ignore_coverage_thresh: float | None = None, skip_nodata: bool = False,
                    visible_thresh: float = 0.0, time_dims: int | None = None,
                    time_stride: int | None = None) -> dict[str, Any]:
    """Build a sample grid.

    Parameters
    ----------
    regions : CocoRegions
        Supplies the dataset, the annotation index and the nodata hook.
    task : 'image_detection' | 'video_detection'
        Per image (2D targets with ``gid``) or per video (space-time targets with ``vidid``,
        ``gids`` (the frames of the window that exist), absolute ``time_slice``).
    window_dims : (h, w) | (t, h, w) | 'full'
        Window size; ``'full'`` is the whole image / video frame. For videos a 3-tuple
        gives the time size too (else ``time_dims``, default 1).
    window_overlap : float | int | sequence
        Spatial overlap: a fraction in ``[0, 1)`` of the window (``floor(frac * d)`` pixels)
        or an int of pixels, one value or one per axis (h, w).
    use_annots : bool
        Look up the annotations of each window (``aids``) and split positives from
        negatives. False skips the lookup: every window is listed as a negative.
    use_centers : bool
        Also add one window centred on each positive annotation (appended after the grid,
        listed as positives, ``cores`` None; the time window is centred on its frame).
    classes_of_interest : iterable of names or ids, optional
        A window is positive only when it shows one of these classes (default: any class
        not in ``regions.negative_classes``).
    ignore_coverage_thresh : float, optional
        Drop windows whose area is covered by ignore-class boxes more than this fraction
        (videos: the mean over the window's frames). None (default) keeps every window,
        so the cores still partition the data.
    skip_nodata : bool
        Drop windows that ``regions.nodata_check(target)`` reports as all nodata.
    visible_thresh : float
        An annotation belongs to a window when its visible fraction there is above this.
    time_dims, time_stride : int, optional
        Video windows span ``time_dims`` frames and start every ``time_stride`` frames
        (``1 <= time_stride <= time_dims``, default ``time_dims``: no overlap in time).

    Returns
    -------
    dict
        ``targets``, ``cores``, ``positives_indexes``, ``negatives_indexes``, and
        ``positives`` / ``negatives`` (``[targets[i] for i in positives_indexes]`` and the
        same for negatives: the same dict objects, as ndsampler 0.8 lists them).
    """
    if task not in TASKS:
        raise InvalidOptionError('task', task, TASKS)
    use_annots, use_centers = check_bool('use_annots', use_annots), check_bool('use_centers', use_centers)
    skip_nodata = check_bool('skip_nodata', skip_nodata)
    visible_thresh = check_real('visible_thresh', visible_thresh, 0.0, 1.0)
    if ignore_coverage_thresh is not None:
        ignore_coverage_thresh = check_real('ignore_coverage_thresh', ignore_coverage_thresh, 0.0, 1.0)
    time_dims = None if time_dims is None else check_count('time_dims', time_dims, 1)
    time_stride = None if time_stride is None else check_count('time_stride', time_stride, 1)
    builder = _GridBuilder(regions, use_annots, classes_of_interest, ignore_coverage_thresh,
                           skip_nodata, visible_thresh)
    if task == 'image_detection':
        if time_dims is not None or time_stride is not None:
            raise InvalidOptionError('time_dims', time_dims, "None for task='image_detection'")
        builder.image_grid(window_dims, window_overlap, use_centers)
    else:
        builder.video_grid(window_dims, window_overlap, use_centers, time_dims, time_stride)
    return builder.result()


class _GridBuilder:
    """Accumulates grid targets; per-dataset lookups are computed once here."""

    def __init__(self, regions, use_annots, classes_of_interest, ignore_coverage_thresh,
                 skip_nodata, visible_thresh):
        self.regions = regions
        self.dset = regions.dset
        self.use_annots = bool(use_annots)
        self.ignore_thresh = ignore_coverage_thresh
        self.skip_nodata = bool(skip_nodata)
        self.visible_thresh = float(visible_thresh)
        self.table = regions.table
        self.interest = self._interest_flags(classes_of_interest)
        self.targets: list[dict[str, Any]] = []
        self.cores: list[Any] = []
        self.positives: list[int] = []
        self.negatives: list[int] = []
        self._by_gid: tuple[np.ndarray, np.ndarray] | None = None

    def _interest_flags(self, classes_of_interest) -> np.ndarray:
        table = self.table
        if classes_of_interest is None:
            return table['is_positive']
        wanted = set()
        for item in classes_of_interest:
            if isinstance(item, str):
                wanted.add(self.regions.lookup_class_id(item))
            else:
                self.regions.lookup_class_name(item)
                wanted.add(int(item))
        return np.isin(table['category_id'], sorted(wanted))

    # -- per window -----------------------------------------------------------------------
    def _frame_rows(self, gid: int, ltrb: np.ndarray):
        rows, _ = self.regions._query(gid, ltrb, self.visible_thresh)
        return rows

    def _coverage(self, gid: int, ltrb: np.ndarray) -> float:
        rows, _ = self.regions._query(gid, ltrb, 0.0)
        rows = rows[self.table['is_ignore'][rows]]
        return union_coverage(self.table['ltrb'][rows], ltrb) if len(rows) else 0.0

    def _add(self, target: dict[str, Any], core, frames: Sequence[tuple[int, np.ndarray]],
             rows: np.ndarray | None = None, forced_positive: bool = False) -> None:
        """Add a window given its (gid, image-space ltrb) per existing frame.

        ``rows`` are its annotation rows when already known (vectorised image grids).
        """
        if self.ignore_thresh is not None and frames:
            coverage = np.mean([self._coverage(gid, ltrb) for gid, ltrb in frames])
            if coverage > self.ignore_thresh:
                return
        if self.skip_nodata and self.regions.nodata_check is not None and self.regions.nodata_check(target):
            return
        positive = forced_positive
        if self.use_annots:
            if rows is None:
                rows = np.unique(np.concatenate([self._frame_rows(gid, ltrb) for gid, ltrb in frames]
                                                or [np.zeros(0, np.int64)]))
            target['aids'] = self.table['aid'][rows].tolist()
            positive = positive or bool(self.interest[rows].any())
        index = len(self.targets)
        self.targets.append(target)
        self.cores.append(core)
        (self.positives if positive else self.negatives).append(index)

    def _rows_of_image(self, gid: int) -> np.ndarray:
        """Rows of one image's boxes, in dataset order (the per-gid grouping is built once)."""
        if self._by_gid is None:
            order = np.argsort(self.table['gid'], kind='stable')
            self._by_gid = (order, self.table['gid'][order])
        order, sorted_gids = self._by_gid
        lo, hi = np.searchsorted(sorted_gids, [gid, gid + 1])
        return order[lo:hi]

    def _grid_rows(self, gid: int, ys: np.ndarray, xs: np.ndarray, dims: tuple[int, int]) -> list[np.ndarray]:
        """Annotation rows of every window of a regular image grid, without one query per window.

        Each box's candidate windows follow from the grid arithmetic (a superset); the
        (box, window) pairs are expanded with numpy and filtered by the exact visible fraction.
        """
        rows = self._rows_of_image(gid)
        ltrb = self.table['ltrb'][rows]
        spans = []
        for starts, d, lo_col, hi_col in ((ys, dims[0], 1, 3), (xs, dims[1], 0, 2)):
            n = len(starts)
            stride = float(starts[1] - starts[0]) if n > 1 else float(d)
            first = np.clip(np.floor((ltrb[:, lo_col] - d) / stride), 0, n - 1).astype(np.int64)
            last = np.clip(np.ceil(ltrb[:, hi_col] / stride), 0, n - 1).astype(np.int64)
            spans.append((first, last - first + 1))
        (ky0, nky), (kx0, nkx) = spans
        pair, within = expand_counts(nky * nkx)
        ky = ky0[pair] + within // nkx[pair]
        kx = kx0[pair] + within % nkx[pair]
        windows = np.stack([xs[kx], ys[ky], xs[kx] + dims[1], ys[ky] + dims[0]], axis=1)
        keep = visible_fraction(ltrb[pair], windows) > self.visible_thresh
        wid = (ky * len(xs) + kx)[keep]
        pair_rows = rows[pair[keep]]
        order = np.lexsort((pair_rows, wid))
        wid, pair_rows = wid[order], pair_rows[order]
        bounds = np.searchsorted(wid, np.arange(len(ys) * len(xs) + 1))
        return [pair_rows[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def result(self) -> dict[str, Any]:
        return {
            'targets': self.targets,
            'cores': self.cores,
            'positives_indexes': self.positives,
            'negatives_indexes': self.negatives,
            'positives': [self.targets[i] for i in self.positives],
            'negatives': [self.targets[i] for i in self.negatives],
        }

    def _center_rows(self, gids: Iterable[int]) -> np.ndarray:
        """Rows of the annotations of interest in these images, in dataset order."""
        rows = np.unique(np.concatenate([self._rows_of_image(gid) for gid in gids] or [np.zeros(0, np.int64)]))
        return rows[self.interest[rows]]

    # -- images ---------------------------------------------------------------------------
    def image_grid(self, window_dims, window_overlap, use_centers: bool) -> None:
        for gid in self.regions.image_ids:
            img = self.dset.imgs[gid]
            full = (int(img['height']), int(img['width']))
            dims = _space_dims(window_dims, full)
            overlap = overlap_pixels(window_overlap, dims)
            ys, yb = axis_windows(full[0], dims[0], overlap[0])
            xs, xb = axis_windows(full[1], dims[1], overlap[1])
            window_rows = self._grid_rows(gid, ys, xs, dims) if self.use_annots else None
            for wid, ((iy, y0), (ix, x0)) in enumerate(it.product(enumerate(ys), enumerate(xs))):
                space = (slice(int(y0), int(y0) + dims[0]), slice(int(x0), int(x0) + dims[1]))
                core = (slice(int(yb[iy]), int(yb[iy + 1])), slice(int(xb[ix]), int(xb[ix + 1])))
                target = {'gid': gid, 'slices': space, 'space_slice': space}
                rows = None if window_rows is None else window_rows[wid]
                self._add(target, core, [(gid, _slices_ltrb(space))], rows)
        if use_centers:
            table = self.table
            for row in self._center_rows(self.regions.image_ids):
                gid = int(table['gid'][row])
                img = self.dset.imgs[gid]
                dims = _space_dims(window_dims, (int(img['height']), int(img['width'])))
                x0, y0, x1, y1 = table['ltrb'][row]
                space = window_from_center((x0 + x1) / 2, (y0 + y1) / 2, dims[1], dims[0])
                target = {'gid': gid, 'slices': space, 'space_slice': space}
                self._add(target, None, [(gid, _slices_ltrb(space))], forced_positive=True)

    # -- videos ---------------------------------------------------------------------------
    def video_grid(self, window_dims, window_overlap, use_centers, time_dims, time_stride) -> None:
        if not isinstance(window_dims, str) and len(check_int_tuple('window_dims', window_dims, (2, 3), 1)) == 3:
            if time_dims is not None and int(time_dims) != int(window_dims[0]):
                raise InvalidOptionError('time_dims', time_dims, f'{window_dims[0]} (the time size in window_dims) or None')
            time_dims, window_dims = int(window_dims[0]), tuple(window_dims[1:])
        time_dims = 1 if time_dims is None else int(time_dims)
        if time_dims < 1:
            raise InvalidOptionError('time_dims', time_dims, 'an int >= 1')
        time_stride = time_dims if time_stride is None else int(time_stride)
        if not 1 <= time_stride <= time_dims:
            raise InvalidOptionError('time_stride', time_stride, f'an int in [1, {time_dims}] so every frame is covered')
        to_img = {}
        for vidid, video in self.dset.index.videos.items():
            gids = list(self.dset.index.vidid_to_gids[vidid])
            for gid in gids:
                to_img[gid] = affine_of(self.dset.coco_image(gid).warp_img_from_vid)
            full = (int(video['height']), int(video['width']))
            dims = _space_dims(window_dims, full)
            overlap = overlap_pixels(window_overlap, dims)
            ts, tb = axis_windows(len(gids), time_dims, time_dims - time_stride)
            ys, yb = axis_windows(full[0], dims[0], overlap[0])
            xs, xb = axis_windows(full[1], dims[1], overlap[1])
            for (it_, t0), (iy, y0), (ix, x0) in it.product(enumerate(ts), enumerate(ys), enumerate(xs)):
                time = slice(int(t0), int(t0) + time_dims)
                space = (slice(int(y0), int(y0) + dims[0]), slice(int(x0), int(x0) + dims[1]))
                core = (slice(int(tb[it_]), int(tb[it_ + 1])),
                        slice(int(yb[iy]), int(yb[iy + 1])), slice(int(xb[ix]), int(xb[ix + 1])))
                self._add_video(vidid, gids, time, space, core, to_img)
            if use_centers:
                self._video_centers(vidid, gids, dims, time_dims, to_img)

    def _add_video(self, vidid, gids, time, space, core, to_img, forced_positive=False) -> None:
        frame_gids = gids[max(time.start, 0):max(time.stop, 0)]
        box = _slices_ltrb(space)
        frames = [(gid, warp_box(box, to_img[gid]).data[0]) for gid in frame_gids]
        target = {'vidid': vidid, 'gids': frame_gids, 'time_slice': time, 'space_slice': space,
                  'slices': (time,) + space}
        self._add(target, core, frames, forced_positive=forced_positive)

    def _video_centers(self, vidid, gids, dims, time_dims, to_img) -> None:
        table = self.table
        frame_of = {gid: k for k, gid in enumerate(gids)}
        for row in self._center_rows(gids):
            gid = int(table['gid'][row])
            vid_box = warp_box(table['ltrb'][row], to_img[gid].inv()).data[0]
            space = window_from_center((vid_box[0] + vid_box[2]) / 2, (vid_box[1] + vid_box[3]) / 2, dims[1], dims[0])
            t0 = frame_of[gid] - time_dims // 2
            self._add_video(vidid, gids, slice(t0, t0 + time_dims), space, None, to_img, forced_positive=True)


def _space_dims(window_dims: Any, full: tuple[int, int]) -> tuple[int, int]:
    if isinstance(window_dims, str):
        if window_dims != 'full':
            raise InvalidOptionError('window_dims', window_dims, "'full' or an (h, w) / (t, h, w) tuple")
        return max(full[0], 1), max(full[1], 1)
    return check_int_tuple('window_dims', window_dims, (2,), minimum=1,
                           allowed="'full' or (h, w) ints >= 1 ((t, h, w) for videos)")


def _slices_ltrb(space: tuple[slice, slice]) -> np.ndarray:
    sl_y, sl_x = space
    return np.array([sl_x.start, sl_y.start, sl_x.stop, sl_y.stop], dtype=float)
