"""Exponential distribution."""

from __future__ import annotations

import numpy as np

from .._typing import Array, ArrayLike
from . import constraints
from .distribution import KernelDistribution

__all__ = ["Exponential"]


class Exponential(KernelDistribution):
    r"""Exponential distribution with rate ``rate``: :math:`p(x) = \lambda e^{-\lambda x}`, :math:`x \ge 0`.

    Parameters
    ----------
    rate : array_like
        :math:`\lambda > 0`, finite.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    rate : numpy.ndarray
        Broadcast to ``batch_shape`` (a read-only copy).
    batch_shape : tuple
        ``rate.shape``.
    event_shape : tuple
        ``()``.

    Raises
    ------
    ValueError
        If ``rate`` is not positive and finite.

    Notes
    -----
    Mean :math:`1/\lambda`, variance :math:`1/\lambda^2`, entropy
    :math:`1 - \log\lambda`.  Sampling: ``-log(U) / rate`` (inversion).

    Examples
    --------
    >>> from mixstat.distributions import Exponential
    >>> d = Exponential([0.5, 2.0])
    >>> d.mean
    array([2. , 0.5])
    """

    family = "exponential"
    rate: Array
    arg_constraints = {"rate": constraints.positive_finite}
    support = constraints.nonnegative

    def __init__(self, rate: ArrayLike, validate_args: bool | None = None) -> None:
        self._init_params(validate_args, rate=rate)

    @property
    def mean(self) -> Array:
        """``1 / rate``, shape ``batch_shape``."""
        return self._moment(1.0 / self.rate)

    @property
    def variance(self) -> Array:
        """``1 / rate**2``, shape ``batch_shape``."""
        return self._moment(1.0 / self.rate**2)

    def entropy(self) -> Array:
        """``1 - log(rate)``, shape ``batch_shape``."""
        return self._moment(1.0 - np.log(self.rate))
