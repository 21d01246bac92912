"""The sampler interface of ndsampler 0.8 (``AbstractSampler``), which :class:`CocoSampler` fulfils."""
from __future__ import annotations

import abc
from typing import Any

from ndsampler.sampler._sampler import CocoSampler

__all__ = ['AbstractSampler']


class AbstractSampler(metaclass=abc.ABCMeta):
    """What a sampler offers: class lookups, positives / negatives / items by index, images, preselection.

    A base class for custom samplers (e.g. one that draws samples on the fly, as
    :class:`ndsampler.demodata.DynamicToySampler`): a subclass overrides what it supports;
    the rest raise ``NotImplementedError``. :class:`CocoSampler` is a registered (virtual)
    subclass, so ``isinstance(sampler, AbstractSampler)`` holds for it.

    Example
    -------
    >>> from ndsampler.sampler import AbstractSampler, CocoSampler
    >>> issubclass(CocoSampler, AbstractSampler)
    True
    """

    @property
    def class_ids(self) -> list[int]:
        """The category ids."""
        raise NotImplementedError

    def lookup_class_name(self, class_id: int) -> str:
        """The name of a category id."""
        raise NotImplementedError

    def lookup_class_id(self, class_name: str) -> int:
        """The id of a category name."""
        raise NotImplementedError

    def load_sample(self, tr: dict, pad: Any = None, window_dims: Any = None, visible_thresh: float = 0.1) -> dict:
        """The sample (``im``, ``annots``, ``target``) of a target dict."""
        raise NotImplementedError

    @property
    def n_positives(self) -> int:
        """The number of positives ``load_positive`` indexes."""
        raise NotImplementedError

    def load_item(self, index: int, pad: Any = None, window_dims: Any = None) -> dict:
        """The ``index``-th sample: positives first, then negatives."""
        raise NotImplementedError

    def load_positive(self, index: int | None = None, pad: Any = None, window_dims: Any = None,
                      rng: Any = None) -> dict:
        """A sample centred on a positive annotation."""
        raise NotImplementedError

    def load_negative(self, index: int | None = None, pad: Any = None, window_dims: Any = None,
                      rng: Any = None) -> dict:
        """A sample with no positive annotation in it."""
        raise NotImplementedError

    def load_image(self, image_id: int) -> Any:
        """A whole image."""
        raise NotImplementedError

    def image_ids(self) -> list[int]:
        """The image ids."""
        raise NotImplementedError

    def preselect(self, **kwargs: Any) -> Any:
        """Fix the pool of samples for an epoch."""
        raise NotImplementedError


AbstractSampler.register(CocoSampler)
