"""von Mises distribution (a circular distribution)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import special

from .._typing import Array, ArrayLike
from . import constraints
from .distribution import KernelDistribution

__all__ = ["VonMises"]

_LOG_2PI = math.log(2.0 * math.pi)


def _asymptotic_coefficients(n):
    """Coefficients in ``1/(8 kappa)`` of the large-kappa expansions (Abramowitz & Stegun 9.7.1):
    ``sqrt(2 pi kappa) i0e = sum_m s0[m] t**m`` and
    ``sqrt(2 pi kappa) (i0e - i1e) = sum_m s01[m] t**m``, ``t = 1 / (8 kappa)``,
    with ``I_nu ~ e**kappa / sqrt(2 pi kappa) sum_m (-1)**m prod_j (4 nu**2 - (2j-1)**2) / (m! (8 kappa)**m)``.
    Computed in exact rationals: the difference has no cancellation."""
    s0, s01 = [], []
    p0 = Fraction(1)
    p1 = Fraction(1)
    fact = 1
    for m in range(n):
        if m:
            fact *= m
            p0 *= (2 * m - 1) ** 2  # (-1)**m prod (0 - (2j-1)**2) = prod (2j-1)**2
            p1 *= (2 * m - 1) ** 2 - 4  # (-1)**m prod (4 - (2j-1)**2)
        s0.append(float(p0 / fact))
        s01.append(float((p0 - p1) / fact))
    return np.array(s0), np.array(s01)


_S0, _S01 = _asymptotic_coefficients(40)
_KAPPA_ASYMPTOTIC = 25.0  # above: 40 terms (up to the smallest term, ~exp(-2 kappa)) reach 1e-17


def circular_variance(kappa):
    """``1 - I1(kappa) / I0(kappa)`` in float64, without the cancellation at large kappa."""
    kappa = np.asarray(kappa, dtype=np.float64)
    big = kappa >= _KAPPA_ASYMPTOTIC
    with np.errstate(invalid="ignore", divide="ignore"):
        direct = 1.0 - special.i1e(kappa) / special.i0e(kappa)
        t = 1.0 / (8.0 * np.where(big, kappa, _KAPPA_ASYMPTOTIC))
    a = np.zeros_like(t)
    c = np.zeros_like(t)
    for s0, s01 in zip(_S0[::-1], _S01[::-1]):
        a = a * t + s0
        c = c * t + s01
    return np.where(big, c / a, direct)


class VonMises(KernelDistribution):
    r"""Von Mises distribution: mean direction ``loc``, concentration :math:`\kappa`.

    .. math:: p(x) = \frac{e^{\kappa\cos(x - \mu)}}{2\pi I_0(\kappa)}

    A circular distribution (``torch.distributions.VonMises``; scipy's
    ``vonmises(kappa=concentration, loc=loc)``).  As in both, ``log_prob`` is
    the periodic density over the whole real line (no ``-inf`` outside
    :math:`[-\pi, \pi]`; NaN at :math:`\pm\infty`), samples lie in
    :math:`[-\pi, \pi)`, and there is no ``cdf``.

    Parameters
    ----------
    loc : array_like
        Mean direction :math:`\mu`; finite (any real: it is taken modulo :math:`2\pi`).
    concentration : array_like
        :math:`\kappa > 0`, finite; broadcast with ``loc``.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    loc, concentration : numpy.ndarray
        Parameters broadcast to ``batch_shape`` (read-only copies).
    batch_shape : tuple
        ``broadcast(loc.shape, concentration.shape)``.
    event_shape : tuple
        ``()``.
    support : Constraint
        ``real``.

    Raises
    ------
    ValueError
        If the shapes do not broadcast, or (unless ``validate_args=False``)
        ``loc`` is not finite or ``concentration`` is not positive and finite.
    NotImplementedError
        From :meth:`cdf`.

    Notes
    -----
    ``log_prob`` is :math:`-2\kappa\sin^2((x - \mu)/2) - \log(2\pi\,\mathrm{i0e}(\kappa))`
    (:math:`\mathrm{i0e}(\kappa) = e^{-\kappa} I_0(\kappa)`, scipy.special), exact also
    for large :math:`\kappa`.  Moments follow torch: ``mean`` is ``loc``;
    ``variance`` is the circular variance :math:`1 - I_1(\kappa)/I_0(\kappa)`
    (for :math:`\kappa \ge 25` from the asymptotic expansions of
    :math:`I_0 - I_1` and :math:`I_0`, which avoids the cancellation); the
    entropy is :math:`-\kappa I_1/I_0 + \log(2\pi I_0(\kappa))`, computed as
    :math:`\kappa (1 - I_1/I_0) + \log(2\pi\,\mathrm{i0e}(\kappa))`.

    Sampling: Best & Fisher (1979), a wrapped-Cauchy envelope with rejection
    (see :mod:`mixstat.kernels.samplers`), plus ``loc``, wrapped to
    :math:`[-\pi, \pi)`.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import VonMises
    >>> d = VonMises(0.5, np.array([1.0, 4.0]))
    >>> np.round(d.log_prob(0.5), 6)
    array([-1.073791, -0.26285 ])
    >>> np.round(d.variance, 6)
    array([0.55361 , 0.136477])
    >>> x = d.sample((1000,), rng=0)
    >>> bool(np.all((x >= -np.pi) & (x < np.pi)))
    True
    """

    family = "vonmises"
    loc: Array
    concentration: Array
    arg_constraints = {"loc": constraints.finite, "concentration": constraints.positive_finite}
    support = constraints.real

    def __init__(self, loc: ArrayLike, concentration: ArrayLike, validate_args: bool | None = None) -> None:
        self._init_params(validate_args, loc=loc, concentration=concentration)

    def cdf(self, value: ArrayLike) -> Array:  # type: ignore[override]  # no out=: it raises
        """Not defined: raises ``NotImplementedError`` (torch's VonMises has no cdf either).

        Parameters
        ----------
        value : array_like
            Ignored.
        """
        raise NotImplementedError("VonMises has no cdf: a circular distribution (as in torch.distributions.VonMises)")

    @property
    def mean(self) -> Array:
        """``loc`` (the mean direction, as torch), shape ``batch_shape``."""
        return self._moment(np.asarray(self.loc, np.float64))

    @property
    def variance(self) -> Array:
        """The circular variance ``1 - I1(kappa) / I0(kappa)`` (as torch), shape ``batch_shape``."""
        return self._moment(circular_variance(self.concentration))

    def entropy(self) -> Array:
        """``-kappa I1/I0 + log(2 pi I0(kappa))``, shape ``batch_shape``."""
        k = np.asarray(self.concentration, np.float64)
        return self._moment(k * circular_variance(k) + _LOG_2PI + np.log(special.i0e(k)))
