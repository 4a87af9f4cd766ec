"""Reinterpret batch dims of a distribution as event dims."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .._array import fmt_shape
from .._typing import Array, ArrayLike, RNGLike, Shape
from . import constraints
from .distribution import Distribution

__all__ = ["Independent"]


class Independent(Distribution):
    r"""Treat the rightmost ``reinterpreted_batch_ndims`` batch dims of a distribution as event dims.

    ``log_prob`` sums the base log-densities over those dims (a coordinate of zero density
    gives ``-inf`` even beside a coordinate of infinite density, such as a Gamma with
    concentration < 1 at 0; NaN values give NaN), so
    ``Independent(Normal(loc, scale), 1)`` with ``loc`` of shape ``(..., D)``
    is a diagonal Gaussian over ``D``-vectors.

    Parameters
    ----------
    base_distribution : Distribution
        The distribution to reinterpret.
    reinterpreted_batch_ndims : int
        How many batch dims become event dims; ``0 <= n <= len(base.batch_shape)``.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    base_dist : Distribution
    reinterpreted_batch_ndims : int
    batch_shape : tuple
        ``base.batch_shape[:-n]``.
    event_shape : tuple
        ``base.batch_shape[-n:] + base.event_shape``.

    Raises
    ------
    ValueError
        If ``reinterpreted_batch_ndims`` is negative or exceeds the base's batch rank.
    TypeError
        If ``base_distribution`` is not a Distribution or ``n`` is not an int.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Independent, Normal
    >>> d = Independent(Normal(np.zeros((4, 3)), 1.0), 1)
    >>> d.batch_shape, d.event_shape
    ((4,), (3,))
    """

    arg_constraints: dict[str, constraints.Constraint] = {}
    base_dist: Distribution
    reinterpreted_batch_ndims: int

    def __init__(
        self, base_distribution: Distribution, reinterpreted_batch_ndims: int, validate_args: bool | None = None
    ) -> None:
        if not isinstance(base_distribution, Distribution):
            raise TypeError(
                f"Independent: base_distribution must be a Distribution, got {type(base_distribution).__name__}"
            )
        n = reinterpreted_batch_ndims
        if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)):
            raise TypeError(f"Independent: reinterpreted_batch_ndims must be an int, got {n!r}")
        n = int(n)
        bb = base_distribution.batch_shape
        if not 0 <= n <= len(bb):
            raise ValueError(
                f"Independent: reinterpreted_batch_ndims={n} must be between 0 and "
                f"len(base_distribution.batch_shape)={len(bb)} (batch_shape {fmt_shape(bb)})"
            )
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = n
        self._dtype = base_distribution.dtype
        self._device = base_distribution.device
        split = len(bb) - n
        super().__init__(bb[:split], bb[split:] + base_distribution.event_shape, validate_args)
        self.support = constraints.independent(base_distribution.support, n)

    @property
    def mean(self) -> Array:
        """The base distribution's mean, shape ``(*batch_shape, *event_shape)``."""
        return self.base_dist.mean

    @property
    def variance(self) -> Array:
        """The base distribution's variance, shape ``(*batch_shape, *event_shape)``."""
        return self.base_dist.variance

    def entropy(self) -> Array:
        """Sum of the base entropies over the reinterpreted dims."""
        e = self.base_dist.entropy()
        n = self.reinterpreted_batch_ndims
        return e.sum(axis=tuple(range(-n, 0))) if n else e

    def cdf(self, value: ArrayLike, out: Array | None = None) -> Array:
        if self.reinterpreted_batch_ndims:
            raise NotImplementedError(
                "Independent: cdf is defined for univariate distributions only "
                f"(event_shape {fmt_shape(self.event_shape)})"
            )
        # every class's cdf takes out= (added by the metaclass where a method has none)
        return self.base_dist.cdf(value, out=out)  # type: ignore[call-arg]

    def sample(self, sample_shape: Shape = (), rng: RNGLike = None, out: Array | None = None) -> Array:  # type: ignore[override]
        return self.base_dist.sample(sample_shape, rng=rng, out=out)

    def expand(self, batch_shape: Shape) -> Independent:
        batch_shape = self._expanded_batch(batch_shape)
        n = self.reinterpreted_batch_ndims
        base_batch = batch_shape + self.event_shape[:n]
        new = self._expanded_copy(batch_shape)  # keeps a subclass
        new.base_dist = self.base_dist.expand(base_batch)
        return new

    def _log_prob_fallback(self, value):
        lp = self.base_dist.log_prob(value)
        n = self.reinterpreted_batch_ndims
        return lp.sum(axis=tuple(range(-n, 0))) if n else lp

    def _diag_table(self, dtype):
        """Rows ``(*batch_shape, D * P)`` when the base is (an ``Independent`` over) a
        univariate kernel family: a diagonal event of ``D`` coordinates; else None."""
        f = getattr(self.base_dist, "_diag_table", None)
        t = None if f is None else f(dtype)
        if t is None:
            return None
        return (
            t.reshape(self._batch_shape + (-1,))
            if math.prod(self._batch_shape)
            else t.reshape(self._batch_shape + (math.prod(t.shape[len(self._batch_shape) :]),))
        )

    def _make_spec(self, dtype):
        t = self._diag_table(dtype)
        if t is None:
            return None
        from .. import plan

        leaf = self.base_dist
        while isinstance(leaf, Independent):
            leaf = leaf.base_dist
        D = math.prod(self.event_shape)
        return plan.KernelSpec(leaf.family, t, D, leaf._kfamily.discrete)

    def __repr__(self):
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
