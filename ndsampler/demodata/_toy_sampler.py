"""A sampler drawing synthetic samples on the fly (ndsampler 0.8's ``DynamicToySampler``) from kwcoco's toy images."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ndsampler.sampler import AbstractSampler

__all__ = ['DynamicToySampler']


class DynamicToySampler(AbstractSampler):
    """Positives and negatives generated per call with ``kwcoco.demo.toydata.demodata_toy_img``.

    A positive has a toy object centred in the window, a negative has none there. With a
    ``seed`` a sample is a function of its index; without one each call is new.

    Parameters
    ----------
    n_positives : int
        How many positives the sampler pretends to hold (``len`` is twice that).
    seed : int, optional
        Makes ``load_positive(index)`` / ``load_negative(index)`` / ``load_image(id)`` repeatable.
    gsize : (w, h)
        Size of full images and the default window.
    categories : optional
        Toy categories, as ``kwcoco.demo.toypatterns.CategoryPatterns.coerce`` takes them;
        a ``background`` category (id 0) is added.

    Example
    -------
    >>> self = DynamicToySampler(10, seed=0)
    >>> sample = self.load_positive(0, window_dims=(64, 96))
    >>> sample['im'].shape[:2], sample['target']['aid'] > 0, len(sample['annots']['aids']) > 0
    ((64, 96), True, True)
    """

    def __init__(self, n_positives: int = 100000, seed: int | None = None, gsize: Sequence[int] = (416, 416),
                 categories: Any = None):
        import networkx as nx
        from kwcoco.demo.toypatterns import CategoryPatterns

        from ndsampler._category_tree import CategoryTree

        self.catpats = CategoryPatterns.coerce(categories)
        self.kp_catnames = self.catpats.kp_catnames
        self.cname_to_cid = {cat['name']: cat['id'] for cat in self.catpats}
        self.cname_to_cid['background'] = 0
        self.cid_to_cname = {cid: name for name, cid in self.cname_to_cid.items()}
        graph = nx.DiGraph()
        graph.add_nodes_from(self.cname_to_cid)
        nx.set_node_attributes(graph, self.cname_to_cid, name='id')
        self.catgraph = CategoryTree(graph)
        self.BACKGROUND_CLASS_ID = 0
        self._full_imgsize = tuple(gsize)
        self._n_positives = int(n_positives)
        self._n_images = 50
        self.seed = seed
        self.gray = True
        self._n_annots_pos = (1, 100)
        self._n_annots_neg = (0, 10)

    def __len__(self) -> int:
        return self._n_positives * 2

    def _depends(self) -> list:
        return [self._n_positives]

    @property
    def class_ids(self) -> list[int]:
        return list(self.cid_to_cname)

    @property
    def n_positives(self) -> int:
        return self._n_positives

    @property
    def n_categories(self) -> int:
        return len(self.cname_to_cid)

    def image_ids(self) -> list[int]:
        return list(range(10))

    def lookup_class_name(self, class_id: int) -> str:
        return self.cid_to_cname[class_id]

    def lookup_class_id(self, class_name: str) -> int:
        return self.cname_to_cid[class_name]

    def preselect(self, n_pos: int | None = None, n_neg: int | None = None, neg_to_pos_ratio: float | None = None,
                  window_dims: Any = None, rng: Any = None, verbose: int = 0) -> tuple[int, int]:
        """Nothing to select (samples are made on demand): ``(n_positives, n_neg or ratio * n_positives)``."""
        n_pos = self._n_positives
        if n_neg is None:
            n_neg = int(n_pos * (neg_to_pos_ratio or 0))
        return n_pos, n_neg

    def _rng(self, index: int | None, rng: Any):
        import kwarray
        if index is not None and self.seed is not None:
            return kwarray.ensure_rng(self.seed * len(self) + index)
        return kwarray.ensure_rng(rng)

    def load_image_with_annots(self, image_id: int | None = None, rng: Any = None) -> tuple[dict, list[dict]]:
        """A random full image (``img['imdata']``) and its annotations (with ``category_id``)."""
        from kwcoco.demo.toydata import demodata_toy_img
        rng = self._rng(image_id, rng)
        img, anns = demodata_toy_img(image_size=self._full_imgsize, categories=self.catpats, gray=self.gray,
                                     rng=rng, n_annots=(0, 10))
        img['id'] = int(rng.rand() * self._n_images)
        img['file_name'] = f'{img["id"]}.png'
        for ann in anns:
            ann['category_id'] = self.cname_to_cid[ann['category_name']]
        return img, anns

    def load_image(self, image_id: int | None = None, rng: Any = None) -> np.ndarray:
        return self.load_image_with_annots(image_id, rng)[0]['imdata']

    def load_item(self, index: int, pad: Any = None, window_dims: Any = None) -> dict:
        """Positives for ``index < n_positives``, then negatives."""
        if index < self._n_positives:
            return self.load_positive(index, pad=pad, window_dims=window_dims)
        return self.load_negative(index - self._n_positives, pad=pad, window_dims=window_dims)

    def load_positive(self, index: int | None = None, pad: Any = None, window_dims: Any = None,
                      rng: Any = None) -> dict:
        """A sample (``im``, ``target``, ``annots``) with an object at its centre; ``window_dims`` is (h, w)."""
        return self._toy_sample(window_dims, pad, self._rng(index, rng), 'pos', self._n_annots_pos)

    def load_negative(self, index: int | None = None, pad: Any = None, window_dims: Any = None,
                      rng: Any = None) -> dict:
        """A sample without an object at its centre (``target['aid'] == -1``, background class)."""
        return self._toy_sample(window_dims, pad, self._rng(index, rng), 'neg', self._n_annots_neg)

    def _toy_sample(self, window_dims: Any, pad: Any, rng, centerobj: str, n_annots: tuple[int, int]) -> dict:
        import kwimage
        from kwcoco.demo.toydata import demodata_toy_img

        dims = tuple(self._full_imgsize[::-1] if window_dims is None else window_dims)  # (h, w)
        wh = np.array(dims[::-1])
        if pad is not None:
            wh = wh + 2 * np.array(pad[::-1])
        gid = int(rng.rand() * 500)
        img, anns = demodata_toy_img(image_size=wh, rng=rng, categories=self.catpats, gray=self.gray,
                                     centerobj=centerobj, n_annots=n_annots)
        positive = centerobj != 'neg'
        target = {
            'aid': 1 if positive else -1, 'gid': gid,
            'cx': wh[0] / 2, 'cy': wh[1] / 2, 'rel_cx': wh[0] / 2, 'rel_cy': wh[1] / 2,
            'width': dims[1], 'height': dims[0],
            'category_id': self.cname_to_cid[anns[0]['category_name']] if positive else self.BACKGROUND_CLASS_ID,
        }
        ssegs, kpts = [], []
        for ann in anns:
            sseg, pts = ann.get('segmentation'), ann.get('keypoints')
            ssegs.append(None if sseg is None else kwimage.Mask.coerce(sseg, dims=tuple(wh[::-1])).to_multi_polygon())
            kpts.append(None if pts is None else kwimage.Points._from_coco(pts, classes=self.kp_catnames))
        rel_kpts = kwimage.PolygonList(kpts)
        rel_kpts.meta['classes'] = self.kp_catnames
        boxes = kwimage.Boxes(np.array([a['bbox'] for a in anns], dtype=float).reshape(-1, 4), 'xywh').to_cxywh()
        annots = {
            'aids': np.arange(len(anns)),
            'cids': np.array([self.cname_to_cid[a['category_name']] for a in anns], dtype=np.int64),
            'rel_cxywh': boxes.data,
            'rel_boxes': boxes,
            'rel_kpts': rel_kpts,
            'rel_ssegs': kwimage.PolygonList(ssegs),
        }
        return {'im': img['imdata'], 'target': target, 'annots': annots}
