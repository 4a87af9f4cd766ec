"""Poisson distribution."""

from __future__ import annotations

import numpy as np
from scipy import special as sc

from .._typing import Array, ArrayLike
from . import constraints
from .distribution import KernelDistribution

__all__ = ["Poisson"]

_ENTROPY_SERIES = 1e4  # at and above: the asymptotic series of the entropy (error < 1e-17)
_WIDTH = 40.0  # the sum runs over rate +- 40 sqrt(rate) + 40: the rest is below 1e-300


def _entropy(rate):
    """Shannon entropy (nats) of Poisson(rate), float64: ``-sum_k p_k log p_k`` summed in
    log space over the window where ``p_k > 1e-300`` for ``rate < 1e4``; above, the
    asymptotic series ``log(2 pi e rate)/2 - 1/(12 r) - 1/(24 r^2) - 19/(360 r^3)``."""
    r = np.asarray(rate, np.float64)
    out = np.zeros(r.shape)
    flat, res = r.reshape(-1), out.reshape(-1)
    small = (flat > 0) & (flat < _ENTROPY_SERIES)
    big = flat >= _ENTROPY_SERIES
    if big.any():
        x = flat[big]
        res[big] = 0.5 * np.log(2 * np.pi * np.e * x) - 1 / (12 * x) - 1 / (24 * x**2) - 19 / (360 * x**3)
    if small.any():
        idx = np.flatnonzero(small)
        x_all = flat[idx]
        order = np.argsort(x_all)  # rows of similar width together
        step = 1 << 20  # terms per chunk: bounded memory for any batch
        i = 0
        while i < order.size:
            width = int(2 * _WIDTH * (np.sqrt(x_all[order[min(i + 64, order.size) - 1]]) + 1)) + 2
            j = min(order.size, i + max(1, step // width))
            rows = order[i:j]
            x = x_all[rows]
            s = np.sqrt(x)
            lo = np.maximum(np.floor(x - _WIDTH * s - _WIDTH), 0.0)
            n = int(np.max(np.ceil(x + _WIDTH * s + _WIDTH) - lo)) + 1
            k = lo[:, None] + np.arange(n)[None, :]
            with np.errstate(under="ignore"):
                lp = sc.xlogy(k, x[:, None]) - x[:, None] - sc.gammaln(k + 1.0)
                res[idx[rows]] = -(np.exp(lp) * lp).sum(-1)
            i = j
    res[np.isnan(flat)] = np.nan
    return out


class Poisson(KernelDistribution):
    r"""Poisson distribution with rate ``rate``: :math:`P(X = k) = \lambda^k e^{-\lambda} / k!`,
    :math:`k = 0, 1, 2, \ldots` (``scipy.stats.poisson(mu=rate)``, ``torch.distributions.Poisson``).

    Parameters
    ----------
    rate : array_like
        :math:`\lambda \ge 0`, finite (0 gives the point mass at 0, as in torch).
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
    support : Constraint
        ``nonnegative_integer``.

    Raises
    ------
    ValueError
        If ``rate`` is negative, infinite or NaN (unless ``validate_args=False``), or
        (with ``validate_args=True``) a value is not a non-negative integer.

    Notes
    -----
    Mean and variance :math:`\lambda`.  ``entropy()`` has no closed form (torch has
    none): it is the sum :math:`-\sum_k p_k \log p_k` over the window of
    :math:`k` where :math:`p_k > 10^{-300}` (NumPy) for :math:`\lambda < 10^4`, and the
    asymptotic series above.  ``log_prob`` is :math:`k\log\lambda - \lambda -
    \log k!` with :math:`\log\lambda` per component and :math:`\log k!` once per
    point; non-integers and negative values give ``-inf``, NaN gives NaN.  ``cdf``
    is :math:`Q(\lfloor x\rfloor + 1, \lambda)` (regularised upper incomplete
    gamma).  Samples are ``int64``: inversion for :math:`\lambda < 10`, PTRS
    (Hörmann 1993) at and above.

    Examples
    --------
    >>> from mixstat.distributions import Poisson
    >>> d = Poisson([0.5, 20.0])
    >>> d.mean
    array([ 0.5, 20. ])
    >>> d.sample((2,), rng=0).dtype
    dtype('int64')
    """

    family = "poisson"
    rate: Array
    arg_constraints = {"rate": constraints.nonnegative_finite}
    support = constraints.nonnegative_integer

    def __init__(self, rate: ArrayLike, validate_args: bool | None = None) -> None:
        self._init_params(validate_args, rate=rate)

    @property
    def mean(self) -> Array:
        """``rate``, shape ``batch_shape``."""
        return self._moment(self.rate)

    @property
    def mode(self) -> Array:
        """``floor(rate)``, shape ``batch_shape``."""
        return self._moment(np.floor(np.asarray(self.rate, np.float64)))

    @property
    def variance(self) -> Array:
        """``rate``, shape ``batch_shape``."""
        return self._moment(self.rate)

    def entropy(self) -> Array:
        """Shannon entropy in nats (a sum over the mass, see the class notes), shape ``batch_shape``."""
        return self._moment(_entropy(self.rate))
