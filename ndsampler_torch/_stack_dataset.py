"""``StackDataset``: a torch Dataset over an :class:`~ndsampler.stack.ImageStack` or ``ImageStackSQL``."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from ndsampler.stack import ImageStack, ImageStackSQL, convert_image_dtype

__all__ = ['StackDataset']


class StackDataset(torch.utils.data.Dataset):
    """The images of a stack as channel-first float32 tensors.

    Parameters
    ----------
    stack : ImageStack | ImageStackSQL
        The images. An :class:`ImageStackSQL` is committed here, so DataLoader workers (forked or
        spawned) read every image from the database; each worker opens its own SQLite connection on
        first use and pickling carries only the database path, stack name and row ids. Do not change the
        stack while a DataLoader iterates over it.
    transform : callable, optional
        ``transform(tensor) -> tensor`` applied to each item.

    Notes
    -----
    Item ``i`` is ``stack[i]`` converted to float32 with image-range semantics (uint8 becomes [0, 1], see
    :func:`ndsampler.stack.convert_image_dtype`), with its last axis moved to channels first:
    (H, W) → (1, H, W), (H, W, C) → (C, H, W), (T, H, W, C) → (T, C, H, W).

    Example
    -------
    >>> import numpy as np
    >>> stack = ImageStack(np.uint8)
    >>> stack.add_image(np.full((4, 5, 3), 255, dtype=np.uint8))
    >>> item = StackDataset(stack)[0]
    >>> item.shape, item.dtype, float(item.max())
    (torch.Size([3, 4, 5]), torch.float32, 1.0)
    """

    def __init__(self, stack: ImageStack, transform: Callable[[torch.Tensor], Any] | None = None):
        if isinstance(stack, ImageStackSQL):
            stack.save_state()
        self.stack = stack
        self.transform = transform

    def __len__(self) -> int:
        return len(self.stack)

    def __getitem__(self, index: int) -> Any:
        image = convert_image_dtype(self.stack[index], np.float32)
        if image.ndim == 2:
            image = image[..., None]
        item = torch.from_numpy(np.array(np.moveaxis(image, -1, -3), order='C'))
        return item if self.transform is None else self.transform(item)
