"""Beta distribution."""

from __future__ import annotations

import numpy as np
from scipy import special as sc

from .._typing import Array, ArrayLike
from . import constraints
from .distribution import KernelDistribution

__all__ = ["Beta"]


class Beta(KernelDistribution):
    r"""Beta distribution with concentrations ``concentration1`` (:math:`\alpha`) and ``concentration0``
    (:math:`\beta`).

    .. math:: p(x) = \frac{x^{\alpha-1}(1-x)^{\beta-1}}{B(\alpha, \beta)}, \quad 0 \le x \le 1

    (``scipy.stats.beta(a=concentration1, b=concentration0)``.)

    Parameters
    ----------
    concentration1 : array_like
        :math:`\alpha > 0`, finite (the exponent of ``x``).
    concentration0 : array_like
        :math:`\beta > 0`, finite (the exponent of ``1 - x``); broadcast with
        ``concentration1``.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    concentration1, concentration0 : numpy.ndarray
        Parameters broadcast to ``batch_shape`` (read-only copies).
    batch_shape : tuple
        ``broadcast(concentration1.shape, concentration0.shape)``.
    event_shape : tuple
        ``()``.
    support : Constraint
        ``unit_interval``, the closed interval [0, 1].

    Raises
    ------
    ValueError
        If the shapes do not broadcast, or a concentration is not positive and
        finite (NaN included).

    Notes
    -----
    Mean :math:`\alpha/(\alpha+\beta)`, variance
    :math:`\alpha\beta/((\alpha+\beta)^2(\alpha+\beta+1))`, entropy
    :math:`\log B(\alpha,\beta) - (\alpha-1)\psi(\alpha) - (\beta-1)\psi(\beta)
    + (\alpha+\beta-2)\psi(\alpha+\beta)`.
    ``log_prob`` is :math:`(\alpha-1)\log x + (\beta-1)\log(1-x) - \log B(\alpha,\beta)`
    with ``log x`` and ``log1p(-x)`` once per point and ``log B`` per component.
    At ``x = 0`` it is ``+inf`` for :math:`\alpha < 1`, :math:`-\log B` for
    :math:`\alpha = 1` and ``-inf`` for :math:`\alpha > 1` (likewise at 1 with
    :math:`\beta`; as scipy); outside [0, 1] ``-inf``.  ``cdf`` is the
    regularised incomplete beta function :math:`I_x(\alpha, \beta)`.
    Sampling: ``X / (X + Y)`` with X ~ Gamma(alpha), Y ~ Gamma(beta) (Marsaglia
    and Tsang, with the boost for concentrations below 1), formed from
    ``log X`` and ``log Y`` so that concentrations far below 1 work.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Beta
    >>> d = Beta([0.5, 2.0], [0.5, 3.0])
    >>> d.mean
    array([0.5, 0.4])
    >>> np.round(d.log_prob(0.25), 4)
    array([-0.3077,  0.5232])
    >>> np.round(d.cdf(0.25), 4)
    array([0.3333, 0.2617])
    """

    family = "beta"
    concentration1: Array
    concentration0: Array
    arg_constraints = {"concentration1": constraints.positive_finite, "concentration0": constraints.positive_finite}
    support = constraints.unit_interval

    def __init__(self, concentration1: ArrayLike, concentration0: ArrayLike, validate_args: bool | None = None) -> None:
        self._init_params(validate_args, concentration1=concentration1, concentration0=concentration0)

    def _f64(self):
        return np.asarray(self.concentration1, np.float64), np.asarray(self.concentration0, np.float64)

    @property
    def mean(self) -> Array:
        """``concentration1 / (concentration1 + concentration0)``, shape ``batch_shape``."""
        a, b = self._f64()
        return self._moment(a / (a + b))

    @property
    def variance(self) -> Array:
        """``a b / ((a + b)**2 (a + b + 1))``, shape ``batch_shape``."""
        a, b = self._f64()
        s = a + b
        return self._moment(a / s * (b / s) / (s + 1.0))

    def entropy(self) -> Array:
        """``log B(a, b) - (a-1) psi(a) - (b-1) psi(b) + (a+b-2) psi(a+b)``, shape ``batch_shape``."""
        a, b = self._f64()
        return self._moment(
            sc.betaln(a, b) - (a - 1.0) * sc.digamma(a) - (b - 1.0) * sc.digamma(b) + (a + b - 2.0) * sc.digamma(a + b)
        )
