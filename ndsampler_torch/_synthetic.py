"""A file-free sampler over a :class:`PlanIndex`: boxes painted on a blank canvas.

It answers ``load_sample`` like ``ndsampler.CocoSampler`` (same sample dict) but renders every
annotation box filled with a class-dependent value instead of reading pixels, so a pipeline (plans,
DataLoader workers, distributed sharding, a training loop) can be exercised and benchmarked at any
scale, e.g. 100k images and 1M annotations, without a single image file.
"""
from __future__ import annotations

from typing import Any

import kwimage
import numpy as np

from ndsampler import errors

from ._index import PlanIndex

__all__ = ['SyntheticSampler']


class SyntheticSampler:
    """Samples of painted annotation boxes, ``CocoSampler.load_sample`` compatible (2-D targets).

    Parameters
    ----------
    index : PlanIndex
        Images and annotation boxes.
    n_channels : int
        Channels of the rendered image.

    Example
    -------
    >>> sampler = SyntheticSampler.demo(n_images=4, n_annots=10, seed=0)
    >>> sample = sampler.load_sample({'gid': 1, 'slices': (slice(0, 32), slice(0, 48))})
    >>> sample['im'].shape
    (32, 48, 3)
    """

    def __init__(self, index: PlanIndex, n_channels: int = 3):
        if int(n_channels) < 1:
            raise errors.InvalidOptionError('n_channels', n_channels, 'a positive int')
        self.plan_index = index
        self.n_channels = int(n_channels)
        self._gid_order = np.argsort(index.image_ids)
        self._sorted_gids = index.image_ids[self._gid_order]

    @classmethod
    def demo(cls, n_images: int = 8, n_annots: int = 40, n_classes: int = 3, image_dsize: tuple[int, int] = (256, 256),
             box_size: tuple[int, int] = (8, 48), seed: int = 0, n_channels: int = 3) -> 'SyntheticSampler':
        """Random boxes (sides in ``box_size``) over ``n_images`` images of ``image_dsize``, uniform classes."""
        rng = np.random.default_rng(seed)
        w, h = image_dsize
        sides = rng.uniform(box_size[0], box_size[1], size=(n_annots, 2))
        x1 = rng.uniform(0, np.maximum(w - sides[:, 0], 1))
        y1 = rng.uniform(0, np.maximum(h - sides[:, 1], 1))
        index = PlanIndex(np.arange(1, n_images + 1), np.tile([w, h], (n_images, 1)),
                          ann_ids=np.arange(1, n_annots + 1),
                          ann_image=rng.integers(0, n_images, size=n_annots),
                          ann_ltrb=np.stack([x1, y1, x1 + sides[:, 0], y1 + sides[:, 1]], axis=1),
                          ann_label=rng.integers(0, n_classes, size=n_annots),
                          class_ids=np.arange(1, n_classes + 1),
                          class_names=[f'class{i}' for i in range(1, n_classes + 1)])
        return cls(index, n_channels=n_channels)

    def _image_pos(self, gid: int) -> int:
        at = int(np.searchsorted(self._sorted_gids, gid))
        if at == len(self._sorted_gids) or self._sorted_gids[at] != gid:
            raise errors.UnknownIdError(f'image id {gid!r} does not exist')
        return int(self._gid_order[at])

    def load_sample(self, target: dict[str, Any], with_annots: bool = True,
                    visible_thresh: float = 0.0) -> dict[str, Any]:
        """Render the window ``target['slices']`` of image ``target['gid']``.

        Returns ``{'im': (h, w, C) float32, 'target', 'params': {'offset', 'tf_rel_to_abs'},
        'annots': {'frame_dets': [kwimage.Detections]}}``; boxes are in sample coordinates.
        """
        if 'gid' not in target or 'slices' not in target:
            raise errors.TargetError(f'target {target!r} needs keys gid and slices')
        index = self.plan_index
        pos = self._image_pos(int(target['gid']))
        sl_y, sl_x = target['slices']
        y0, x0 = int(sl_y.start), int(sl_x.start)
        h, w = int(sl_y.stop) - y0, int(sl_x.stop) - x0
        img_w, img_h = (int(v) for v in index.image_dsize[pos])
        lo, hi = index.image_offsets[pos], index.image_offsets[pos + 1]
        rel = index.ann_ltrb[lo:hi] - np.array([x0, y0, x0, y0], dtype=np.float64)
        # boxes are painted clipped to both the window and the image (outside the image is padding)
        clip = np.array([max(0, -x0), max(0, -y0), min(w, img_w - x0), min(h, img_h - y0)], dtype=np.float64)
        vis = np.concatenate([np.maximum(rel[:, :2], clip[:2]), np.minimum(rel[:, 2:], clip[2:])], axis=1)
        vis_area = np.clip(vis[:, 2] - vis[:, 0], 0, None) * np.clip(vis[:, 3] - vis[:, 1], 0, None)
        area = (rel[:, 2] - rel[:, 0]) * (rel[:, 3] - rel[:, 1])
        keep = (vis_area > 0) & (vis_area > visible_thresh * area)
        labels = index.ann_label[lo:hi][keep]
        im = np.zeros((h, w, self.n_channels), dtype=np.float32)
        for (bx1, by1, bx2, by2), label in zip(np.round(vis[keep]).astype(np.int64), labels):
            im[by1:by2, bx1:bx2, :] = (label + 1) / index.n_classes
        sample = {'im': im, 'target': dict(target),
                  'params': {'offset': (x0, y0), 'tf_rel_to_abs': kwimage.Affine.translate((x0, y0))}}
        if with_annots:
            dets = kwimage.Detections(boxes=kwimage.Boxes(rel[keep], 'ltrb'), class_idxs=labels,
                                      aids=index.ann_ids[lo:hi][keep], cids=index.class_ids[labels],
                                      datakeys=['aids', 'cids'])
            sample['annots'] = {'frame_dets': [dets]}
        return sample
