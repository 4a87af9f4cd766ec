"""Weibull distribution."""

from __future__ import annotations

import numpy as np
from scipy import special

from .._typing import Array, ArrayLike
from . import constraints
from .distribution import KernelDistribution

__all__ = ["Weibull"]

# g(eps) = lgamma(1 + 2 eps) - 2 lgamma(1 + eps) = sum_{n >= 2} (-1)**n zeta(n) (2**n - 2) / n eps**n
# (from lgamma(1 + x) = -gamma x + sum_{n >= 2} (-1)**n zeta(n) x**n / n, |x| < 1): no cancellation
# for small eps = 1/k, where the two lgamma values nearly cancel.  Used for eps <= 1/4 (60 terms:
# the terms fall like (2 eps)**n).
_G_N = np.arange(2, 62)
_G_COEF = (-1.0) ** _G_N * special.zeta(_G_N.astype(np.float64)) * (2.0**_G_N - 2.0) / _G_N
_G_SERIES_EPS = 0.25


def _log_gamma_ratio(eps):
    """``lgamma(1 + 2 eps) - 2 lgamma(1 + eps)`` (>= 0), accurate also for small ``eps``."""
    eps = np.asarray(eps, dtype=np.float64)
    small = eps <= _G_SERIES_EPS
    e = np.where(small, eps, 0.0)
    s = np.zeros_like(e)
    for c in _G_COEF[::-1]:
        s = (s + c) * e
    s = s * e  # the series starts at eps**2
    with np.errstate(over="ignore", invalid="ignore"):
        direct = special.gammaln(1.0 + 2.0 * eps) - 2.0 * special.gammaln(1.0 + eps)
    return np.where(small, s, direct)


class Weibull(KernelDistribution):
    r"""Weibull distribution with scale :math:`\lambda` and concentration (shape) :math:`k`.

    .. math:: p(x) = \frac{k}{\lambda}\left(\frac{x}{\lambda}\right)^{k-1}
              e^{-(x/\lambda)^k}, \qquad x > 0

    (``torch.distributions.Weibull(scale, concentration)``; scipy's
    ``weibull_min(c=concentration, scale=scale)``).

    Parameters
    ----------
    scale : array_like
        :math:`\lambda > 0`, finite.
    concentration : array_like
        :math:`k > 0`, finite; broadcast with ``scale``.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    scale, concentration : numpy.ndarray
        Parameters broadcast to ``batch_shape`` (read-only copies).
    batch_shape : tuple
        ``broadcast(scale.shape, concentration.shape)``.
    event_shape : tuple
        ``()``.
    support : Constraint
        ``positive`` (``x > 0``).

    Raises
    ------
    ValueError
        If the shapes do not broadcast, or (unless ``validate_args=False``)
        ``scale`` or ``concentration`` is not positive and finite.

    Notes
    -----
    Mean :math:`\lambda\,\Gamma(1 + 1/k)`, variance
    :math:`\lambda^2\,(\Gamma(1 + 2/k) - \Gamma(1 + 1/k)^2)`, computed as
    :math:`\lambda^2\,\Gamma(1+1/k)^2\,\mathrm{expm1}(g)` with
    :math:`g = \log\Gamma(1+2/k) - 2\log\Gamma(1+1/k)` from its power series in
    :math:`1/k` for :math:`k \ge 4` (no cancellation for large :math:`k`), entropy
    :math:`\gamma_E (1 - 1/k) + \log(\lambda/k) + 1`.  The cdf is
    :math:`-\mathrm{expm1}(-(x/\lambda)^k)`.  For :math:`k < 1` the density is
    unbounded at 0 (``log_prob(0) = +inf``; ``log(1/lambda)`` for :math:`k = 1`).

    Sampling: inversion, :math:`\lambda \exp(\log(E)/k)` with :math:`E = -\log U`
    standard exponential (:math:`\lambda (-\log U)^{1/k}`).  Draws whose value
    underflows (tiny :math:`k`) are 0.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Weibull
    >>> d = Weibull(2.0, np.array([1.0, 2.0]))
    >>> np.round(d.mean, 6)
    array([2.      , 1.772454])
    >>> np.round(d.cdf(2.0), 6)
    array([0.632121, 0.632121])
    """

    family = "weibull"
    scale: Array
    concentration: Array
    arg_constraints = {"scale": constraints.positive_finite, "concentration": constraints.positive_finite}
    support = constraints.positive

    def __init__(self, scale: ArrayLike, concentration: ArrayLike, validate_args: bool | None = None) -> None:
        self._init_params(validate_args, scale=scale, concentration=concentration)

    @property
    def mean(self) -> Array:
        """``scale * Gamma(1 + 1/concentration)``, shape ``batch_shape``."""
        lam = np.asarray(self.scale, np.float64)
        k = np.asarray(self.concentration, np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            m = lam * special.gamma(1.0 + 1.0 / k)
            # Gamma overflowed, or lam * Gamma under/overflowed: through the logarithms
            alt = np.exp(np.log(lam) + special.gammaln(1.0 + 1.0 / k))
        return self._moment(np.where(np.isfinite(m) & (m > 0), m, alt))

    @property
    def variance(self) -> Array:
        """``scale**2 * (Gamma(1 + 2/k) - Gamma(1 + 1/k)**2)``, shape ``batch_shape``."""
        lam = np.asarray(self.scale, np.float64)
        k = np.asarray(self.concentration, np.float64)
        eps = 1.0 / k
        g = _log_gamma_ratio(eps)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            m = lam * special.gamma(1.0 + eps)
            v_small = m * m * np.expm1(g)  # g < 1 (k >= 1): direct, to a few ulp
            # g >= 1: lam**2 Gamma(1 + 2/k) (1 - exp(-g)), through the logarithms where it overflows
            v_big = lam * lam * special.gamma(1.0 + 2.0 * eps) * -np.expm1(-g)
            alt = np.exp(2.0 * np.log(lam) + special.gammaln(1.0 + 2.0 * eps) + np.log(-np.expm1(-g)))
        v_big = np.where(np.isfinite(v_big) & (v_big > 0), v_big, alt)
        ok = np.isfinite(v_small) & (v_small > 0)
        return self._moment(np.where((g < 1.0) & ok, v_small, v_big))

    def entropy(self) -> Array:
        """``euler_gamma (1 - 1/k) + log(scale / k) + 1``, shape ``batch_shape``."""
        lam = np.asarray(self.scale, np.float64)
        k = np.asarray(self.concentration, np.float64)
        return self._moment(np.euler_gamma * (1.0 - 1.0 / k) + np.log(lam) - np.log(k) + 1.0)
