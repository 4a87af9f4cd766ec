"""Normal (Gaussian) distribution."""

from __future__ import annotations

import math

import numpy as np

from .._array import fmt_shape
from .._typing import Array, ArrayLike
from . import constraints
from .distribution import KernelDistribution

__all__ = ["Normal"]

_HALF_LOG_2PI_E = 0.5 + 0.5 * math.log(2.0 * math.pi)


class Normal(KernelDistribution):
    r"""Normal distribution with mean ``loc`` and standard deviation ``scale``.

    .. math:: p(x) = \frac{1}{\sigma\sqrt{2\pi}} \exp\!\left(-\frac{(x-\mu)^2}{2\sigma^2}\right)

    Parameters
    ----------
    loc : array_like
        Mean :math:`\mu`; finite.
    scale : array_like
        Standard deviation :math:`\sigma > 0`, finite; broadcast with ``loc``.
        Subnormal and huge scales are exact.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    loc, scale : numpy.ndarray
        Parameters broadcast to ``batch_shape`` (read-only copies).
    batch_shape : tuple
        ``broadcast(loc.shape, scale.shape)``.
    event_shape : tuple
        ``()``.

    Raises
    ------
    ValueError
        If the shapes do not broadcast, ``scale`` is not positive and finite or
        ``loc`` is not finite.

    Examples
    --------
    >>> import mixstat
    >>> from mixstat.distributions import Normal
    >>> d = Normal(mixstat.tensor([0.0, 1.0]), 2.0)
    >>> d.batch_shape
    (2,)
    >>> d.log_prob(0.0).shape
    (2,)
    """

    family = "normal"
    loc: Array
    scale: Array
    arg_constraints = {"loc": constraints.finite, "scale": constraints.positive_finite}
    support = constraints.real

    def __init__(self, loc: ArrayLike, scale: ArrayLike, validate_args: bool | None = None) -> None:
        self._init_params(validate_args, loc=loc, scale=scale)

    def _validate_params(self):
        from .. import plan

        if {"loc", "scale"} <= self._checked_params:
            # checked while copied (one parallel pass each); the packed rows are made when a
            # kernel first needs them (a mixture's per-row log_prob reads loc and scale directly)
            return
        # large batches: checked and packed in one parallel pass (None: not
        # applicable, or some entry is invalid and the checks below name it)
        table = plan.normal_table(self.loc, self.scale) if self._validate_args is not False else None
        if table is not None:
            self._specs[np.dtype(table.dtype)] = plan.KernelSpec("normal", table, 1)
        else:
            super()._validate_params()

    def _make_spec(self, dtype):
        from .. import plan

        if np.dtype(dtype) == self._dtype:  # large batches: packed in one parallel pass
            table = plan.normal_table(self.loc, self.scale)
            if table is not None:
                return plan.KernelSpec("normal", table, 1)
        return super()._make_spec(dtype)

    @property
    def mean(self) -> Array:
        """``loc``, shape ``batch_shape``."""
        return np.array(self.loc)

    @property
    def variance(self) -> Array:
        """``scale ** 2``, shape ``batch_shape`` (inf where it overflows)."""
        with np.errstate(over="ignore"):
            return self.scale * self.scale

    @property
    def stddev(self) -> Array:
        """``scale``, shape ``batch_shape``."""
        return np.array(self.scale)

    def entropy(self) -> Array:
        """``1/2 + 1/2 log(2 pi) + log(scale)``, shape ``batch_shape``."""
        return (_HALF_LOG_2PI_E + np.log(self.scale)).astype(self._dtype)

    def icdf(self, value: ArrayLike) -> Array:
        """Quantile function ``loc + scale * ndtri(value)`` for probabilities ``value`` in [0, 1].

        Parameters
        ----------
        value : array_like
            Probabilities, broadcast against ``batch_shape``.  Values outside [0, 1] give
            NaN (a ``ValueError`` with ``validate_args=True``).
        """
        from scipy.special import ndtri

        value, dtype = self._checked_value(value, check_support=False)
        if self._validate_args and not np.all((value >= 0) & (value <= 1)):
            raise ValueError(f"Normal.icdf: value of shape {fmt_shape(value.shape)} must be probabilities in [0, 1]")
        return (self.loc + self.scale * ndtri(value)).astype(dtype, copy=False)
