"""A file-free sampler over an in-memory kwcoco dataset: annotation boxes painted on a blank canvas.

It answers ``load_sample`` like ``ndsampler.CocoSampler`` (same sample dict) and has a real
:class:`~ndsampler.regions.CocoRegions` as ``regions``, so plans work on it exactly as on a
``CocoSampler``; but it renders every annotation box filled with a class-dependent value instead
of reading pixels, so a pipeline (plans, DataLoader workers, distributed sharding, a training loop)
can be exercised and benchmarked at any scale, e.g. 100k images and 1M annotations, without a
single image file.
"""
from __future__ import annotations

from typing import Any

import kwcoco
import kwimage
import numpy as np

from ndsampler import errors
from ndsampler._typing import Sample, Target
from ndsampler.regions import CocoRegions

__all__ = ['SyntheticSampler']


class SyntheticSampler:
    """Samples of painted annotation boxes, ``CocoSampler.load_sample`` compatible for 2-D ``slices`` targets.

    Parameters
    ----------
    dset : kwcoco.CocoDataset
        Images (``width`` / ``height``; no files are read) and annotation boxes.
    n_channels : int
        Channels of the rendered image.

    Attributes
    ----------
    regions : CocoRegions
        Over ``dset``, its box index built here (forked DataLoader workers share it).
    classes : kwcoco.CategoryTree
        ``regions.classes``; a box of class index ``k`` is painted ``(k + 1) / len(classes)``.

    Example
    -------
    >>> sampler = SyntheticSampler.demo(n_images=4, n_annots=10, seed=0)
    >>> sample = sampler.load_sample({'gid': 1, 'slices': (slice(0, 32), slice(0, 48))})
    >>> sample['im'].shape, sampler.regions.n_positives
    ((32, 48, 3), 10)
    """

    def __init__(self, dset: kwcoco.CocoDataset, n_channels: int = 3):
        if int(n_channels) < 1:
            raise errors.InvalidOptionError('n_channels', n_channels, 'a positive int')
        self.dset = dset
        self.n_channels = int(n_channels)
        self.regions = CocoRegions(dset)
        self.classes = self.regions.classes
        self._index = self.regions.isect_index
        self._table = self.regions.table

    def __getstate__(self) -> dict:
        # the regions pickle their table and index (mapped from files in a spawned worker); aliases would copy them
        return {k: v for k, v in self.__dict__.items() if k not in ('_index', '_table')}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._index = self.regions.isect_index
        self._table = self.regions.table

    @classmethod
    def demo(cls, n_images: int = 8, n_annots: int = 40, n_classes: int = 3, image_dsize: tuple[int, int] = (256, 256),
             box_size: tuple[int, int] = (8, 48), seed: int = 0, n_channels: int = 3) -> 'SyntheticSampler':
        """Random boxes (sides in ``box_size``) over ``n_images`` images of ``image_dsize``, uniform classes.

        Images have ids ``1..n_images``, annotations ``1..n_annots``, categories
        ``class1..class{n_classes}`` (ids ``1..n_classes``).
        """
        rng = np.random.default_rng(seed)
        w, h = image_dsize
        sides = rng.uniform(box_size[0], box_size[1], size=(n_annots, 2))
        x1 = rng.uniform(0, np.maximum(w - sides[:, 0], 1))
        y1 = rng.uniform(0, np.maximum(h - sides[:, 1], 1))
        xywh = np.stack([x1, y1, sides[:, 0], sides[:, 1]], axis=1).tolist()
        gids = (rng.integers(0, n_images, size=n_annots) + 1).tolist()
        cids = (rng.integers(0, n_classes, size=n_annots) + 1).tolist()
        data = {
            'categories': [{'id': c, 'name': f'class{c}'} for c in range(1, n_classes + 1)],
            'images': [{'id': g, 'file_name': f'synthetic/{g}.png', 'width': int(w), 'height': int(h)}
                       for g in range(1, n_images + 1)],
            'annotations': [{'id': aid, 'image_id': gid, 'category_id': cid, 'bbox': box}
                            for aid, (gid, cid, box) in enumerate(zip(gids, cids, xywh), start=1)],
        }
        return cls(kwcoco.CocoDataset(data), n_channels=n_channels)

    def load_sample(self, target: Target, with_annots: bool = True, visible_thresh: float = 0.0,
                    **kwargs: Any) -> Sample:
        """Render the window ``target['slices']`` of image ``target['gid']``.

        Other target keys (the centre keys of regions targets, ``aid``, ``channels``, ...) and
        keyword options are ignored. Annotations are kept when more than ``visible_thresh`` of
        their box is inside the window.

        Returns
        -------
        dict
            ``{'im': (h, w, C) float32, 'target', 'params': {'offset', 'tf_rel_to_abs'},
            'annots': {'frame_dets': [kwimage.Detections]}}``; boxes are in sample coordinates.
        """
        if 'gid' not in target or 'slices' not in target:
            raise errors.TargetError(f'target {target!r} needs keys gid and slices')
        gid = int(target['gid'])
        sl_y, sl_x = target['slices']
        y0, x0 = int(sl_y.start), int(sl_x.start)
        h, w = int(sl_y.stop) - y0, int(sl_x.stop) - x0
        try:
            slot = self._index.slot(gid)
        except KeyError:
            raise errors.UnknownIdError(f'image id {gid!r} does not exist') from None
        rows = self._index.query(gid, (x0, y0, x0 + w, y0 + h), visible_thresh)[0]
        table = self._table
        rel = table['ltrb'][rows] - np.array([x0, y0, x0, y0], dtype=np.float64)
        labels = table['label'][rows]
        # boxes are painted clipped to both the window and the image (outside the image is padding)
        img_w, img_h = table['image_dsize'][slot]
        lo = np.maximum(rel[:, :2], [max(0, -x0), max(0, -y0)])
        hi = np.minimum(rel[:, 2:], [min(w, img_w - x0), min(h, img_h - y0)])
        im = np.zeros((h, w, self.n_channels), dtype=np.float32)
        values = (labels + 1) / len(self.classes.idx_to_id)
        for (bx1, by1), (bx2, by2), value in zip(np.round(lo).astype(np.int64), np.round(hi).astype(np.int64), values):
            im[by1:by2, bx1:bx2, :] = value
        sample = {'im': im, 'target': dict(target),
                  'params': {'offset': (x0, y0), 'tf_rel_to_abs': kwimage.Affine.translate((x0, y0))}}
        if with_annots:
            dets = kwimage.Detections(boxes=kwimage.Boxes(rel, 'ltrb'), class_idxs=labels,
                                      aids=table['aid'][rows], cids=table['category_id'][rows],
                                      datakeys=['aids', 'cids'])
            sample['annots'] = {'frame_dets': [dets]}
        return sample

    def __repr__(self) -> str:
        return f'SyntheticSampler({self.regions!r}, n_channels={self.n_channels})'
