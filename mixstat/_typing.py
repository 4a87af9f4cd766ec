"""Type aliases of the public API (used in annotations only).

``ArrayLike``
    What the methods accept: NumPy arrays, Python numbers and nested sequences
    (``numpy.typing.ArrayLike``).
``Array``
    What the array methods and moments return: a NumPy array of the distribution's
    dtype.  A distribution placed on a CUDA device returns the device's array type,
    and a dask array input gives a dask array; the annotation names the NumPy case.
``Shape``
    A ``sample_shape`` / ``batch_shape``: an int or a tuple of ints.
``RNGLike``
    What ``rng=`` accepts (SPEC 7): ``None`` (mixstat's default source), an int seed
    or a ``numpy.random.Generator``.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Array", "ArrayLike", "RNGLike", "Shape"]

Array: TypeAlias = NDArray[Any]
Shape: TypeAlias = int | tuple[int, ...]
RNGLike: TypeAlias = int | np.integer | np.random.Generator | None
