"""Geometric distribution (failures before the first success)."""

from __future__ import annotations

import numpy as np

from .._typing import Array, ArrayLike
from . import constraints
from ._binary import BinaryParams
from .distribution import KernelDistribution

__all__ = ["Geometric"]


class Geometric(BinaryParams, KernelDistribution):
    r"""Geometric distribution: the number of failures before the first success.

    :math:`P(X = x) = (1 - p)^x p`, :math:`x = 0, 1, 2, \dots`

    Give exactly one of ``probs`` and ``logits`` (torch.distributions' parameterisation;
    ``scipy.stats.geom(p, loc=-1)``).

    Parameters
    ----------
    probs : array_like, optional
        Success probability :math:`p \in (0, 1]`.
    logits : array_like, optional
        :math:`\log(p / (1 - p))`, not NaN and not ``-inf`` (``+inf`` means ``p = 1``).
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    probs, logits : numpy.ndarray
        Broadcast to ``batch_shape`` (read-only); the one not given is derived on first use.
    batch_shape : tuple
        The parameter's shape.
    event_shape : tuple
        ``()``.
    support : Constraint
        ``nonnegative_integer``.

    Raises
    ------
    ValueError
        If both or neither of ``probs``/``logits`` are given, probs are outside
        (0, 1] (NaN included) or logits are NaN or ``-inf``.  ``p = 0`` (torch
        accepts it) is rejected: it puts no mass on any integer, and its draws
        would be infinite, which an int64 cannot hold.

    Notes
    -----
    Mean :math:`1/p - 1`, variance :math:`(1-p)/p^2`, entropy
    :math:`(-p\log p - (1-p)\log(1-p))/p`.  ``log_prob`` is
    :math:`x\log(1-p) + \log p` with ``log p`` and ``log1p(-p)`` once per
    component (``p = 1``: 0 at 0, ``-inf`` elsewhere); non-integers, negative
    values and ``+inf`` give ``-inf``, NaN gives NaN.  ``cdf`` is
    ``-expm1((floor(x) + 1) log1p(-p))``.  Samples are ``int64``, by inversion:
    ``floor(log U / log1p(-p))``; draws above ``2**63 - 1024`` (``p`` below about
    1e-17) are clamped there.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Geometric
    >>> d = Geometric(probs=[0.25, 1.0])
    >>> d.mean
    array([3., 0.])
    >>> np.round(d.cdf(2.0), 4)
    array([0.5781, 1.    ])
    """

    family = "geometric"
    arg_constraints = {"probs": constraints.left_open_interval(0.0, 1.0), "logits": constraints.greater_than(-np.inf)}
    support = constraints.nonnegative_integer

    def __init__(
        self, probs: ArrayLike | None = None, logits: ArrayLike | None = None, validate_args: bool | None = None
    ) -> None:
        self._init_binary(validate_args, probs, logits)

    @property
    def mean(self) -> Array:
        """``1 / p - 1``, shape ``batch_shape``."""
        p, q = self._p_q()
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._moment(q / p)

    @property
    def variance(self) -> Array:
        """``(1 - p) / p**2``, shape ``batch_shape``."""
        p, q = self._p_q()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._moment(q / p / p)

    def entropy(self) -> Array:
        """``(-p log p - (1 - p) log(1 - p)) / p``, shape ``batch_shape``."""
        p, q = self._p_q()
        lp, lq = self._log_pq()
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -(np.where(p > 0, p * lp, 0.0) + np.where(q > 0, q * lq, 0.0))
            return self._moment(h / p)
