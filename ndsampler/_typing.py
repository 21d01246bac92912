"""Type aliases shared across ndsampler (one place, imported where needed)."""
from __future__ import annotations

import os
from typing import Any, Dict, Sequence, Tuple, Union

import numpy as np

#: Anything that names a file.
PathLike = Union[str, 'os.PathLike[str]']
#: A size as (width, height), the order cv2 and kwimage use.
DSize = Tuple[int, int]
#: A shape as (height, width) for windows.
WindowDims = Tuple[int, int]
#: Slices for (y, x) or (t, y, x).
Slices = Tuple[slice, ...]
#: Anything kwimage.Affine.coerce accepts: a 3x3 matrix, a dict, a number (scale).
AffineLike = Union[np.ndarray, Sequence[Sequence[float]], Dict[str, Any], float, Any]
#: A channel spec string or object.
ChannelsLike = Union[str, Any, None]
#: A sampling target dict.
Target = Dict[str, Any]
#: A sample dict as returned by ``CocoSampler.load_sample``.
Sample = Dict[str, Any]
#: A backend: None, 'cog', 'npy', 'auto', or {'type': ..., 'config': {...}}.
BackendLike = Union[None, str, Dict[str, Any]]
