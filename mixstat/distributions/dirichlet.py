"""Dirichlet distribution over the probability simplex."""

from __future__ import annotations

from typing import Self

import numpy as np
from scipy import special as sc

from .. import _device as _dev
from .._array import fmt_shape
from .._typing import Array, ArrayLike, Shape
from . import constraints
from .distribution import Distribution, KernelDistribution, _float_params, frozen

__all__ = ["Dirichlet"]


class Dirichlet(KernelDistribution):
    r"""Dirichlet distribution over the simplex of ``D``-vectors (compositional data).

    .. math:: p(x) = \frac{1}{B(\alpha)} \prod_{i=1}^{D} x_i^{\alpha_i - 1},\qquad
              B(\alpha) = \frac{\prod_i \Gamma(\alpha_i)}{\Gamma(\sum_i \alpha_i)},

    on ``x_i >= 0``, ``sum_i x_i = 1``.

    Parameters
    ----------
    concentration : array_like, shape ``(*batch, D)``
        The concentrations :math:`\alpha_i`; positive and finite, ``D >= 1``.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    concentration : numpy.ndarray
        Read-only, shape ``(*batch_shape, D)``.
    batch_shape : tuple
        ``concentration.shape[:-1]``.
    event_shape : tuple
        ``(D,)``.
    support : Constraint
        ``simplex``: entries ``>= 0`` summing to 1 within ``1e-6``.

    Raises
    ------
    ValueError
        If ``concentration`` has no dims or an empty last dim, or (unless
        ``validate_args=False``) an entry that is not positive and finite.

    Notes
    -----
    Off the simplex (a negative entry, or ``|sum x - 1| >= 1e-6``) ``log_prob``
    is ``-inf`` (a ``ValueError`` with ``validate_args=True``); a NaN entry
    gives NaN.  At the boundary ``x_i = 0`` the density is that of the formula:
    ``+inf`` for ``alpha_i < 1``, zero for ``alpha_i > 1`` (which wins over an
    infinite factor) and ``0 log 0 = 0`` for ``alpha_i = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Dirichlet
    >>> d = Dirichlet(np.array([1.0, 2.0, 3.0]))
    >>> d.event_shape, d.mean.round(4).tolist()
    ((3,), [0.1667, 0.3333, 0.5])
    >>> bool(abs(d.sample((4,), rng=0).sum(-1) - 1).max() < 1e-12)
    True
    """

    family = "dirichlet"
    concentration: Array
    arg_constraints = {"concentration": constraints.independent(constraints.positive_finite, 1)}
    support = constraints.simplex

    def __init__(self, concentration: ArrayLike, validate_args: bool | None = None) -> None:
        p, dtype = _float_params("Dirichlet", concentration=concentration)
        a = p["concentration"]
        if a.ndim < 1:
            raise ValueError(
                "Dirichlet: parameter concentration must have at least one dim (the D "
                f"categories), got shape {fmt_shape(a.shape)}"
            )
        if a.shape[-1] < 1:
            raise ValueError(
                f"Dirichlet: parameter concentration of shape {fmt_shape(a.shape)} must "
                "have at least 1 category in its last dim"
            )
        r = concentration
        self.concentration = frozen(
            a, fresh=a is not r and not (isinstance(r, np.ndarray) and np.may_share_memory(a, r))
        )
        self._dtype = dtype
        self._device = _dev.device_of(concentration)
        Distribution.__init__(self, a.shape[:-1], a.shape[-1:], validate_args)
        self._validate_params()

    def _a64(self):
        return np.asarray(self.concentration, dtype=np.float64)

    @property
    def mean(self) -> Array:
        """``alpha_i / alpha_0`` with ``alpha_0 = sum_i alpha_i``, shape ``(*batch, D)``."""
        a = self._a64()
        return (a / a.sum(-1, keepdims=True)).astype(self._dtype)

    @property
    def variance(self) -> Array:
        """``alpha_i (alpha_0 - alpha_i) / (alpha_0^2 (alpha_0 + 1))``, shape ``(*batch, D)``."""
        a = self._a64()
        a0 = a.sum(-1, keepdims=True)
        return (a * (a0 - a) / (a0 * a0 * (a0 + 1.0))).astype(self._dtype)

    def entropy(self) -> Array:
        """``log B(alpha) + (alpha_0 - D) psi(alpha_0) - sum_i (alpha_i - 1) psi(alpha_i)``,
        shape ``batch_shape``."""
        a = self._a64()
        D = a.shape[-1]
        a0 = a.sum(-1)
        logb = sc.gammaln(a).sum(-1) - sc.gammaln(a0)
        h = logb + (a0 - D) * sc.digamma(a0) - ((a - 1.0) * sc.digamma(a)).sum(-1)
        return np.asarray(h, dtype=self._dtype)

    def expand(self, batch_shape: Shape) -> Self:
        """A new distribution with ``concentration`` broadcast to ``batch_shape + (D,)`` (no copy).

        Parameters
        ----------
        batch_shape : int or tuple of int
            The new batch shape; existing dims must be 1 or equal.
        """
        batch_shape = self._expanded_batch(batch_shape)
        new = self._expanded_copy(batch_shape)
        new.concentration = np.broadcast_to(self.concentration, batch_shape + self._event_shape)
        return new

    def _make_spec(self, dtype):
        from .. import plan

        return plan.KernelSpec(self.family, self._kfamily.module.pack(self.concentration, dtype), self._event_shape[0])
