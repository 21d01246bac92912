"""Large RGB images of filled shapes with box and polygon annotations, generated offline."""
from __future__ import annotations

import os
from typing import Sequence

import kwcoco
import kwimage
import numpy as np

from ndsampler._typing import DSize, PathLike
from ndsampler.errors import InvalidOptionError

__all__ = ['SHAPE_CATEGORIES', 'demo_images']

#: Category name -> (number of polygon vertices, base RGB colour).
SHAPE_CATEGORIES = {
    'circle': (32, (230, 60, 60)),
    'rectangle': (4, (60, 200, 80)),
    'triangle': (3, (70, 110, 240)),
    'star': (10, (240, 200, 40)),
}


def _shape_polygon(name: str, center: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """``(n, 2)`` xy vertices of one shape (stars alternate outer and inner radii)."""
    num, _ = SHAPE_CATEGORIES[name]
    theta = angle + np.arange(num) * (2 * np.pi / num)
    radii = np.full(num, radius)
    if name == 'star':
        radii[1::2] *= 0.45
    return center + np.stack([np.cos(theta) * radii, np.sin(theta) * radii], axis=1)


def _background(rng: np.random.Generator, dsize: DSize) -> np.ndarray:
    """A smooth random colour field with a little pixel noise, ``(h, w, 3)`` uint8."""
    import cv2
    w, h = dsize
    coarse = rng.uniform(40, 150, size=(max(h // 256, 2), max(w // 256, 2), 3)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    field += rng.normal(0, 6, size=(h, w, 1)).astype(np.float32)
    return np.clip(field, 0, 255).astype(np.uint8)


def demo_images(dpath: PathLike, num_images: int = 4, dsize: DSize = (2048, 2048), num_objects: int = 16,
                radius_range: Sequence[float] = (24, 160), seed: int = 0) -> kwcoco.CocoDataset:
    """Write ``num_images`` PNGs of random shapes and a kwcoco dataset describing them.

    Each image has ``num_objects`` filled circles, rectangles, triangles and stars
    (one category each) over a smooth background; each annotation has a ``bbox``, a
    polygon ``segmentation`` and its ``area``. Images carry ``channels='red|green|blue'``.
    The dataset is saved to ``<dpath>/images.kwcoco.json`` with relative file names
    (``images/img_0001.png``) and returned.

    Parameters
    ----------
    dpath : PathLike
        The bundle folder (created).
    num_images, num_objects : int
    dsize : (int, int)
        ``(w, h)`` of every image.
    radius_range : (float, float)
        Shape radii in pixels (clipped to fit the image).
    seed : int
        Same seed, same pixels and annotations.

    Example
    -------
    >>> import tempfile
    >>> dset = demo_images(tempfile.mkdtemp(), num_images=1, dsize=(128, 96), num_objects=3, radius_range=(8, 20))
    >>> (dset.n_images, dset.n_annots, dset.imgs[1]['width'], dset.imgs[1]['height'])
    (1, 3, 128, 96)
    """
    w, h = (int(v) for v in dsize)
    if num_images < 1 or num_objects < 0 or w < 16 or h < 16:
        raise InvalidOptionError('demo_images size', (num_images, num_objects, dsize),
                                 'num_images >= 1, num_objects >= 0 and both sides >= 16 pixels')
    rng = np.random.default_rng(seed)
    bundle = os.fspath(dpath)
    os.makedirs(os.path.join(bundle, 'images'), exist_ok=True)
    dset = kwcoco.CocoDataset()
    dset.fpath = os.path.join(bundle, 'images.kwcoco.json')
    names = list(SHAPE_CATEGORIES)
    cids = {name: dset.add_category(name) for name in names}
    max_radius = min(float(radius_range[1]), min(w, h) / 4)
    min_radius = min(float(radius_range[0]), max_radius)
    for index in range(1, num_images + 1):
        canvas = _background(rng, (w, h))
        rel = f'images/img_{index:04d}.png'
        gid = dset.add_image(file_name=rel, name=f'img_{index:04d}', width=w, height=h, channels='red|green|blue')
        for _ in range(num_objects):
            name = names[rng.integers(len(names))]
            radius = rng.uniform(min_radius, max_radius)
            center = rng.uniform([radius, radius], [w - radius, h - radius])
            poly = kwimage.Polygon(exterior=_shape_polygon(name, center, radius, rng.uniform(0, 2 * np.pi)))
            color = np.clip(np.array(SHAPE_CATEGORIES[name][1]) + rng.integers(-25, 26, size=3), 0, 255)
            canvas = poly.fill(canvas, value=tuple(int(c) for c in color))
            dset.add_annotation(image_id=gid, category_id=cids[name], bbox=list(poly.box().to_coco()),
                                segmentation=poly.to_coco('orig'), area=float(poly.area))
        kwimage.imwrite(os.path.join(bundle, rel), canvas)
    dset.dump(dset.fpath, newlines=True)
    return dset
