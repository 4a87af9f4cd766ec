"""Uniform distribution."""

from __future__ import annotations

import numpy as np

from .._array import fmt_shape
from .._typing import Array, ArrayLike
from . import constraints
from .distribution import KernelDistribution

__all__ = ["Uniform"]


class Uniform(KernelDistribution):
    r"""Uniform distribution on the half-open interval ``[low, high)``.

    .. math:: p(x) = \frac{1}{b - a}, \quad a \le x < b

    (``scipy.stats.uniform(loc=low, scale=high - low)``; the density at
    ``high`` is 0, as in torch.distributions.)

    Parameters
    ----------
    low : array_like
        Lower end :math:`a`, finite (included).
    high : array_like
        Upper end :math:`b > a`, finite (excluded); broadcast with ``low``.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    low, high : numpy.ndarray
        Parameters broadcast to ``batch_shape`` (read-only copies).
    batch_shape : tuple
        ``broadcast(low.shape, high.shape)``.
    event_shape : tuple
        ``()``.
    support : Constraint
        ``interval(low, high)``, the closed interval, as torch's (a value
        equal to ``high`` passes ``validate_args=True`` and has log-density
        ``-inf``).

    Raises
    ------
    ValueError
        If the shapes do not broadcast, ``low`` or ``high`` is not finite (NaN
        included), or, unless ``validate_args=False``, ``low < high`` fails
        somewhere (the message names ``low`` and ``high``, their shapes and
        the first violating entry).

    Notes
    -----
    Mean :math:`(a+b)/2`, variance :math:`(b-a)^2/12`, entropy :math:`\log(b-a)`.
    ``log_prob`` is :math:`-\log(b-a)` on ``[low, high)`` and ``-inf``
    elsewhere; ``cdf`` is :math:`\min(\max((x-a)/(b-a), 0), 1)`.
    Sampling: ``low + (high - low) U`` with U uniform on the open interval
    (0, 1) from the Philox stream (53-bit resolution), clipped to the largest
    number below ``high`` of the distribution's dtype, so that rounding never
    gives ``high``.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Uniform
    >>> d = Uniform([0.0, -1.0], [2.0, 3.0])
    >>> d.mean
    array([1., 1.])
    >>> np.round(d.log_prob([1.0, 3.0]), 4)
    array([-0.6931,    -inf])
    >>> d.cdf(0.5)
    array([0.25 , 0.375])
    """

    family = "uniform"
    low: Array
    high: Array
    arg_constraints = {"low": constraints.finite, "high": constraints.finite}

    def __init__(self, low: ArrayLike, high: ArrayLike, validate_args: bool | None = None) -> None:
        self._init_params(validate_args, low=low, high=high)

    def _validate_params(self):
        super()._validate_params()
        if self._validate_args is False:
            return
        bad = ~(self.low < self.high)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"Uniform: parameters low of shape {fmt_shape(self.low.shape)} and high of shape "
                f"{fmt_shape(self.high.shape)} must satisfy low < high; {int(bad.sum())} of {bad.size} "
                f"violate it, the first at index {first}: low={np.array2string(np.asarray(self.low[first]))}, "
                f"high={np.array2string(np.asarray(self.high[first]))}"
            )

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]  # depends on low, high
        """``interval(low, high)`` (closed; bounds broadcast against values)."""
        return constraints.interval(self.low, self.high)

    def _f64(self):
        return np.asarray(self.low, np.float64), np.asarray(self.high, np.float64)

    @property
    def mean(self) -> Array:
        """``(low + high) / 2``, shape ``batch_shape``."""
        lo, hi = self._f64()
        return self._moment(0.5 * lo + 0.5 * hi)

    @property
    def variance(self) -> Array:
        """``(high - low)**2 / 12``, shape ``batch_shape``."""
        lo, hi = self._f64()
        with np.errstate(over="ignore"):
            return self._moment((hi - lo) ** 2 / 12.0)

    def entropy(self) -> Array:
        """``log(high - low)``, shape ``batch_shape``."""
        from ..kernels.families.uniform import log_width

        return self._moment(log_width(*self._f64()))
