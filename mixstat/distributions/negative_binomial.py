"""Negative binomial distribution."""

from __future__ import annotations

import numpy as np

from .._typing import Array, ArrayLike
from . import constraints
from ._binary import BinaryParams
from .distribution import KernelDistribution

__all__ = ["NegativeBinomial"]


class NegativeBinomial(BinaryParams, KernelDistribution):
    r"""Negative binomial distribution: successes before ``total_count`` failures.

    The number of successes before ``total_count`` failures in Bernoulli trials with
    success probability ``probs`` (torch.distributions' convention),

    .. math:: P(X = x) = \frac{\Gamma(x + n)}{\Gamma(n)\, x!}\, p^x (1 - p)^n, \quad x = 0, 1, 2, \ldots

    (``scipy.stats.nbinom(n, 1 - p)``: scipy's ``p`` is the failure probability here).
    Give exactly one of ``probs`` and ``logits``.

    Parameters
    ----------
    total_count : array_like
        :math:`n > 0`, finite, any positive real.
    probs : array_like, optional
        :math:`p \in [0, 1)` (1 would put the mass at infinity; as torch).
    logits : array_like, optional
        :math:`\log(p / (1 - p))`, below ``+inf`` and not NaN (``-inf`` means ``p = 0``).
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    total_count, probs, logits : numpy.ndarray
        Broadcast to ``batch_shape`` (read-only); the one of ``probs``/``logits`` not
        given is derived on first use.
    batch_shape : tuple
        ``broadcast(total_count.shape, param.shape)``.
    event_shape : tuple
        ``()``.
    support : Constraint
        ``nonnegative_integer``.

    Raises
    ------
    ValueError
        If both or neither of ``probs``/``logits`` are given, the shapes do not
        broadcast, ``total_count`` is not positive and finite, ``probs`` is outside
        ``[0, 1)`` or ``logits`` is NaN or ``+inf`` (unless ``validate_args=False``);
        with ``validate_args=True``, a value that is not a non-negative integer.

    Notes
    -----
    Mean :math:`n p / (1 - p)`, variance :math:`n p / (1 - p)^2` (torch:
    ``total_count * exp(logits)`` and ``mean / sigmoid(-logits)``).  ``entropy()``
    raises ``NotImplementedError`` (no closed form; torch has none).  ``log_prob`` is
    :math:`\log\Gamma(x + n) - \log\Gamma(n) - \log x! + x \log p + n \log(1 - p)`,
    with :math:`\log\Gamma(n)`, :math:`\log p`, :math:`\log(1 - p)` per component and
    :math:`\log x!` once per point; non-integers and negative values give ``-inf``,
    NaN gives NaN.  ``cdf`` is :math:`I_{1-p}(n, \lfloor x\rfloor + 1)` (regularised
    incomplete beta).  Samples are ``int64``, drawn as Poisson(:math:`G p / (1 - p)`)
    with :math:`G \sim \mathrm{Gamma}(n, 1)` (Marsaglia-Tsang, then inversion or PTRS).

    Examples
    --------
    >>> from mixstat.distributions import NegativeBinomial
    >>> d = NegativeBinomial(3.0, probs=[0.25, 0.5])
    >>> d.mean
    array([1., 3.])
    """

    family = "negative_binomial"
    total_count: Array
    arg_constraints = {
        "total_count": constraints.positive_finite,
        "probs": constraints.half_open_interval(0.0, 1.0),
        "logits": constraints.less_than(np.inf),
    }
    support = constraints.nonnegative_integer

    def __init__(
        self,
        total_count: ArrayLike,
        probs: ArrayLike | None = None,
        logits: ArrayLike | None = None,
        validate_args: bool | None = None,
    ) -> None:
        self._init_binary(validate_args, probs, logits, total_count=total_count)

    @property
    def param_shape(self) -> tuple[int, ...]:
        """``batch_shape``: the shape of each parameter."""
        return self._batch_shape

    def _odds(self):
        lp, lq = self._log_pq()
        with np.errstate(over="ignore", invalid="ignore"):
            return np.exp(lp - lq), np.exp(-lq)

    @property
    def mean(self) -> Array:
        """``total_count * probs / (1 - probs)``, shape ``batch_shape``."""
        odds, _ = self._odds()
        return self._moment(np.asarray(self.total_count, np.float64) * odds)

    @property
    def variance(self) -> Array:
        """``mean / (1 - probs)``, shape ``batch_shape``."""
        odds, inv_q = self._odds()
        with np.errstate(over="ignore", invalid="ignore"):
            return self._moment(np.asarray(self.total_count, np.float64) * odds * inv_q)

    @property
    def mode(self) -> Array:
        """``floor((total_count - 1) p / (1 - p))`` for ``total_count > 1``, else 0."""
        odds, _ = self._odds()
        n = np.asarray(self.total_count, np.float64)
        with np.errstate(invalid="ignore"):
            return self._moment(np.floor(np.maximum(n - 1.0, 0.0) * odds))

    def entropy(self) -> Array:
        """Not available: no closed form (as in torch.distributions)."""
        raise NotImplementedError("NegativeBinomial has no closed-form entropy (as in torch.distributions)")
