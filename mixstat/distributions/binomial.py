"""Binomial distribution."""

from __future__ import annotations

import numpy as np

from .._typing import Array, ArrayLike
from . import constraints
from ._binary import BinaryParams
from .distribution import KernelDistribution

__all__ = ["Binomial"]

#: entropy: the sum over the support is taken over at most this many terms per entry
#: (a window of +-40 standard deviations around the mean, which holds all but
#: ``exp(-800)`` of the mass); wider windows use the asymptotic expansion
_ENTROPY_MAX_TERMS = 1 << 16


def _entropy(n, p, q, given, param):
    """Entropy in float64 per entry of the flat arrays (see :meth:`Binomial.entropy`); the
    log-masses of the window come from the family's own ``log_prob`` (Loader's form for
    ``n > 64``: scipy's lgamma differences would lose 1e-8 at n = 4e6)."""
    out = np.empty(n.shape)
    sd = np.sqrt(n * p * q)
    for i in range(n.size):
        ni = n[i]
        if ni == 0 or p[i] == 0 or q[i] == 0:
            out[i] = 0.0
            continue
        lo = max(0.0, np.floor(ni * p[i] - 40.0 * sd[i] - 1.0))
        hi = min(ni, np.ceil(ni * p[i] + 40.0 * sd[i] + 1.0))
        if hi - lo + 1 <= _ENTROPY_MAX_TERMS:
            x = np.arange(lo, hi + 1.0)
            lf = Binomial(ni, **{given: param[i]}, validate_args=False).log_prob(x)
            out[i] = -np.sum(np.where(lf > -np.inf, np.exp(lf) * np.where(lf > -np.inf, lf, 0.0), 0.0))
        else:
            v = sd[i] ** 2
            out[i] = 0.5 * np.log(2.0 * np.pi * np.e * v) + (4.0 - 1.0 / (p[i] * q[i])) / (12.0 * ni)
    return out


class Binomial(BinaryParams, KernelDistribution):
    r"""Binomial distribution: the number of successes in ``total_count`` trials,
    :math:`P(X = x) = \binom{n}{x} p^x (1-p)^{n-x}`, :math:`x = 0 \dots n`.

    Give exactly one of ``probs`` and ``logits`` (torch.distributions' parameterisation;
    ``scipy.stats.binom(n, p)``).

    Parameters
    ----------
    total_count : array_like, default 1
        :math:`n`, a non-negative integer (stored as a float of the distribution's dtype).
    probs : array_like, optional
        :math:`p \in [0, 1]`.
    logits : array_like, optional
        :math:`\log(p / (1 - p))`, not NaN (``-inf`` and ``+inf`` mean ``p = 0`` and ``p = 1``).
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    total_count, probs, logits : numpy.ndarray
        Broadcast to ``batch_shape`` (read-only); the one of ``probs``/``logits``
        not given is derived on first use.
    batch_shape : tuple
        ``broadcast(total_count.shape, param.shape)``.
    event_shape : tuple
        ``()``.
    support : Constraint
        ``integer_interval(0, total_count)`` (its upper bound is the parameter).

    Raises
    ------
    ValueError
        If both or neither of ``probs``/``logits`` are given, the shapes do not
        broadcast, ``total_count`` is not a non-negative integer (NaN and inf
        included), probs are outside [0, 1] or logits are NaN.

    Notes
    -----
    Mean :math:`np`, variance :math:`np(1-p)`.  ``entropy`` is
    :math:`-\sum_x P(x)\log P(x)` summed over the support in NumPy, as torch
    does, over the window of +-40 standard deviations around the mean (all but
    ``exp(-800)`` of the mass) when it has at most 65536 terms; beyond
    (:math:`np(1-p)` above about 6e5) the asymptotic
    :math:`\frac12\log(2\pi e\,np(1-p)) + (4 - 1/(p(1-p)))/(12 n)`, whose
    error is :math:`O(1/(np(1-p))^2)` (below 1e-11 there).  A float32
    distribution's entropy is computed in float64 and rounded.

    ``log_prob``: ``lgamma(x + 1)`` once per point, ``lgamma(n + 1)``,
    ``log p`` and ``log1p(-p)`` once per component; for ``n > 64`` Loader's
    saddle-point form, accurate for huge ``n`` (see
    ``mixstat/kernels/families/binomial.py``).  Non-integers and values outside
    ``0..n`` give ``-inf``, NaN gives NaN; ``p = 0``, ``p = 1`` and ``n = 0``
    give the point masses.  ``cdf`` is the regularised incomplete beta
    :math:`I_{1-p}(n - k, k + 1)`, ``k = floor(x)``.  Samples are ``int64``:
    inversion for :math:`n\min(p, 1-p) < 10`, BTRS (Hörmann 1993) otherwise,
    exact for ``n`` up to ``2**53`` (1e9 and 1e15 included), float32
    distributions included (draws are written as int64 on both devices).

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Binomial
    >>> d = Binomial(10, probs=[0.2, 0.5])
    >>> d.mean
    array([2., 5.])
    >>> np.round(d.log_prob(3.0), 4)
    array([-1.6028, -2.144 ])
    >>> np.round(d.cdf(3.0), 4)
    array([0.8791, 0.1719])
    """

    family = "binomial"
    total_count: Array
    arg_constraints = {
        "total_count": constraints.nonnegative_integer,
        "probs": constraints.unit_interval,
        "logits": constraints.real,
    }

    def __init__(
        self,
        total_count: ArrayLike = 1,
        probs: ArrayLike | None = None,
        logits: ArrayLike | None = None,
        validate_args: bool | None = None,
    ) -> None:
        self._init_binary(validate_args, probs, logits, total_count=total_count)

    @property
    def support(self) -> constraints.Constraint:  # type: ignore[override]  # depends on total_count
        """``integer_interval(0, total_count)``."""
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Array:
        """``n p``, shape ``batch_shape``."""
        p, _ = self._p_q()
        return self._moment(np.asarray(self.total_count, np.float64) * p)

    @property
    def variance(self) -> Array:
        """``n p (1 - p)``, shape ``batch_shape``."""
        p, q = self._p_q()
        return self._moment(np.asarray(self.total_count, np.float64) * p * q)

    def entropy(self) -> Array:
        """``-sum_x P(x) log P(x)`` (see the class notes), shape ``batch_shape``."""
        p, q = self._p_q()
        shape = self._batch_shape
        n = np.broadcast_to(np.asarray(self.total_count, np.float64), shape)
        param = np.asarray(getattr(self, self._given), np.float64)
        n, p, q, param = (np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1) for a in (n, p, q, param))
        with np.errstate(under="ignore"):
            h = _entropy(n, p, q, self._given, param)
        return self._moment(h.reshape(shape))
