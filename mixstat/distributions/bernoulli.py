"""Bernoulli distribution."""

from __future__ import annotations

import numpy as np

from .._typing import Array, ArrayLike
from . import constraints
from ._binary import BinaryParams
from .distribution import KernelDistribution

__all__ = ["Bernoulli"]


class Bernoulli(BinaryParams, KernelDistribution):
    r"""Bernoulli distribution: :math:`P(X = 1) = p`, :math:`P(X = 0) = 1 - p`.

    Give exactly one of ``probs`` and ``logits`` (torch.distributions' parameterisation).

    Parameters
    ----------
    probs : array_like, optional
        :math:`p \in [0, 1]`.
    logits : array_like, optional
        :math:`\log(p / (1 - p))`, not NaN (``-inf`` and ``+inf`` mean ``p = 0`` and ``p = 1``).
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    probs, logits : numpy.ndarray
        Broadcast to ``batch_shape`` (read-only); the one not given is derived on first use
        (``logits = log p - log1p(-p)``, ``probs = expit(logits)``).
    batch_shape : tuple
        The parameter's shape.
    event_shape : tuple
        ``()``.
    support : Constraint
        ``boolean``: the values 0 and 1.

    Raises
    ------
    ValueError
        If both or neither of ``probs``/``logits`` are given, probs are outside
        [0, 1] (NaN included) or logits are NaN.

    Notes
    -----
    Mean :math:`p`, variance :math:`p(1-p)`, entropy :math:`-p\log p - (1-p)\log(1-p)`
    (``0 log 0 = 0``).  ``log_prob`` is ``log p`` at 1 and ``log(1 - p)`` at 0, both
    computed once per component and accurate for tiny ``p``, ``p`` near 1 and large
    logits; any other value (non-integers included) gives ``-inf``, NaN gives NaN.
    ``cdf`` is ``1 - p`` on ``[0, 1)``.  Samples are ``int64``: ``U < p`` for a
    uniform ``U`` of the counter-based stream.  Under :class:`Independent` a
    vector of binary features is one event (latent class models as mixtures of
    ``Independent(Bernoulli(...), 1)``).

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Bernoulli
    >>> d = Bernoulli(probs=[0.25, 0.5])
    >>> d.mean
    array([0.25, 0.5 ])
    >>> np.round(d.log_prob(1.0), 4)
    array([-1.3863, -0.6931])
    """

    family = "bernoulli"
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean

    def __init__(
        self, probs: ArrayLike | None = None, logits: ArrayLike | None = None, validate_args: bool | None = None
    ) -> None:
        self._init_binary(validate_args, probs, logits)

    @property
    def mean(self) -> Array:
        """``p``, shape ``batch_shape``."""
        return self._moment(self._p_q()[0])

    @property
    def variance(self) -> Array:
        """``p (1 - p)``, shape ``batch_shape``."""
        p, q = self._p_q()
        return self._moment(p * q)

    def entropy(self) -> Array:
        """``-p log p - (1 - p) log(1 - p)``, shape ``batch_shape``."""
        p, q = self._p_q()
        lp, lq = self._log_pq()
        with np.errstate(invalid="ignore"):
            h = -(np.where(p > 0, p * lp, 0.0) + np.where(q > 0, q * lq, 0.0))
        return self._moment(h + 0.0)
