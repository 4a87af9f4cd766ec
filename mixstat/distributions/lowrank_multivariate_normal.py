"""Multivariate normal distribution with low-rank plus diagonal covariance."""

from __future__ import annotations

import math
from typing import Self

import numpy as np

from .. import _device as _dev
from .._array import fmt_shape
from .._typing import Array, ArrayLike, Shape
from . import constraints
from .distribution import Distribution, _float_params, frozen

__all__ = ["LowRankMultivariateNormal"]


class _Vector(constraints.Constraint):
    """Every entry of the last dim satisfies ``test`` (``event_dim`` 1, or 2 for matrices)."""

    def __init__(self, test, name, event_dim=1):
        self._test = test
        self._name = name
        self.event_dim = event_dim

    def check(self, value):
        with np.errstate(invalid="ignore"):
            ok = self._test(np.asarray(value))
        return ok.all(tuple(range(-self.event_dim, 0)))

    def __repr__(self):
        return self._name


_finite_vector = _Vector(np.isfinite, "finite real_vector")
_finite_matrix = _Vector(np.isfinite, "finite real matrix", event_dim=2)
_positive_finite_vector = _Vector(lambda v: (v > 0) & np.isfinite(v), "positive finite vector")


class LowRankMultivariateNormal(Distribution):
    r"""Multivariate normal distribution over ``D``-vectors with covariance
    :math:`\Sigma = W W^\top + \operatorname{diag}(d)`.

    Parameters
    ----------
    loc : array_like, shape ``(*batch, D)``
        Mean vector :math:`\mu`; finite.
    cov_factor : array_like, shape ``(*batch, D, r)``
        Factor :math:`W` of the low-rank part; finite.  ``r = 0`` is allowed
        (a diagonal covariance).
    cov_diag : array_like, shape ``(*batch, D)``
        Diagonal :math:`d` of the covariance; positive and finite.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    loc, cov_factor, cov_diag : numpy.ndarray
        Read-only, broadcast to the batch shape.
    covariance_matrix, precision_matrix, scale_tril : numpy.ndarray
        Dense ``(*batch, D, D)`` matrices (computed on request).
    batch_shape : tuple
        ``broadcast(loc.shape[:-1], cov_factor.shape[:-2], cov_diag.shape[:-1])``.
    event_shape : tuple
        ``(D,)``.

    Raises
    ------
    ValueError
        If the shapes do not match (``loc`` ``(..., D)``, ``cov_factor``
        ``(..., D, r)``, ``cov_diag`` ``(..., D)``), the batch dims do not
        broadcast or ``D == 0``; unless ``validate_args=False``, if ``loc`` or
        ``cov_factor`` is not finite or ``cov_diag`` is not positive and finite.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import LowRankMultivariateNormal
    >>> d = LowRankMultivariateNormal(np.zeros(3), np.ones((3, 1)), np.ones(3))
    >>> d.event_shape, d.variance.tolist()
    ((3,), [2.0, 2.0, 2.0])
    """

    loc: Array
    cov_factor: Array
    cov_diag: Array
    arg_constraints = {
        "loc": constraints.real_vector,
        "cov_factor": _finite_matrix,
        "cov_diag": _positive_finite_vector,
    }
    support = constraints.real_vector

    def __init__(
        self, loc: ArrayLike, cov_factor: ArrayLike, cov_diag: ArrayLike, validate_args: bool | None = None
    ) -> None:
        raw = {"loc": loc, "cov_factor": cov_factor, "cov_diag": cov_diag}
        for name, v in raw.items():
            if v is None:
                raise ValueError(f"LowRankMultivariateNormal: parameter {name} is required")
        p: dict[str, np.ndarray]
        p, dtype = _float_params("LowRankMultivariateNormal", **raw)
        loc, W, d = p["loc"], p["cov_factor"], p["cov_diag"]
        if loc.ndim < 1:
            raise ValueError(
                "LowRankMultivariateNormal: parameter loc must have at least one dim "
                f"(shape (..., D)), got shape {fmt_shape(loc.shape)}"
            )
        D = loc.shape[-1]
        if D < 1:
            raise ValueError(
                "LowRankMultivariateNormal: the event size D must be at least 1, "
                f"got loc of shape {fmt_shape(loc.shape)}"
            )
        if W.ndim < 2 or W.shape[-2] != D:
            raise ValueError(
                f"LowRankMultivariateNormal: parameter cov_factor of shape {fmt_shape(W.shape)} "
                f"must have shape (..., D, r) with D={D} (loc of shape {fmt_shape(loc.shape)})"
            )
        if d.ndim < 1 or d.shape[-1] != D:
            raise ValueError(
                f"LowRankMultivariateNormal: parameter cov_diag of shape {fmt_shape(d.shape)} "
                f"must have shape (..., D) with D={D} (loc of shape {fmt_shape(loc.shape)})"
            )
        try:
            batch = np.broadcast_shapes(loc.shape[:-1], W.shape[:-2], d.shape[:-1])
        except ValueError:
            raise ValueError(
                f"LowRankMultivariateNormal: batch dims of the shapes of loc {fmt_shape(loc.shape)}, "
                f"cov_factor {fmt_shape(W.shape)} and cov_diag {fmt_shape(d.shape)} "
                "do not broadcast"
            ) from None
        r = W.shape[-1]
        self._dtype = dtype
        self._device = _dev.device_of(loc, cov_factor, cov_diag)
        super().__init__(batch, (D,), validate_args)
        core = {"loc": (D,), "cov_factor": (D, r), "cov_diag": (D,)}
        for name, a in p.items():
            given = raw[name]
            own = frozen(
                a, fresh=a is not given and not (isinstance(given, np.ndarray) and np.may_share_memory(a, given))
            )
            setattr(self, name, np.broadcast_to(own, batch + core[name]))
        self._check_params(
            loc=(self.loc, _finite_vector),
            cov_factor=(self.cov_factor, _finite_matrix),
            cov_diag=(self.cov_diag, _positive_finite_vector),
        )

    # -- derived matrices (float64 inside, the distribution's dtype out) ---------------
    def _cov64(self):
        W = self.cov_factor.astype(np.float64)
        d = self.cov_diag.astype(np.float64)
        return W @ np.swapaxes(W, -1, -2) + d[..., :, None] * np.eye(d.shape[-1])

    @property
    def covariance_matrix(self) -> Array:
        """:math:`\\Sigma = W W^\\top + \\operatorname{diag}(d)`, ``(*batch, D, D)``."""
        return self._cov64().astype(self._dtype)

    @property
    def precision_matrix(self) -> Array:
        """:math:`\\Sigma^{-1} = D^{-1} - A^\\top A` (Woodbury, ``A = L_C^{-1} W^\\top D^{-1}``),
        ``(*batch, D, D)``."""
        from ..kernels.families.lowrank_mvn import capacitance

        d = self.cov_diag.astype(np.float64)
        Bm, _ = capacitance(self.cov_factor, d)
        s = 1.0 / np.sqrt(d)
        A = Bm * s[..., None, :]
        P = s[..., :, None] ** 2 * np.eye(d.shape[-1]) - np.swapaxes(A, -1, -2) @ A
        return P.astype(self._dtype)

    @property
    def scale_tril(self) -> Array:
        """Lower Cholesky factor of the covariance, ``(*batch, D, D)``."""
        return np.linalg.cholesky(self._cov64()).astype(self._dtype)

    # -- moments -------------------------------------------------------------------------
    @property
    def mean(self) -> Array:
        """``loc``, shape ``(*batch_shape, D)``."""
        return np.array(self.loc)

    @property
    def mode(self) -> Array:
        """``loc``, shape ``(*batch_shape, D)``."""
        return np.array(self.loc)

    @property
    def variance(self) -> Array:
        """Diagonal of the covariance: row sums of :math:`W^2` plus :math:`d`, ``(*batch, D)``."""
        W = self.cov_factor.astype(np.float64)
        return ((W**2).sum(-1) + self.cov_diag).astype(self._dtype)

    def entropy(self) -> Array:
        """``(D (1 + log 2 pi) + log|Sigma|) / 2``, shape ``batch_shape``."""
        from ..kernels.families.lowrank_mvn import capacitance

        D = self._event_shape[0]
        _, logdet = capacitance(self.cov_factor, self.cov_diag)
        return np.asarray(0.5 * (D * (1.0 + math.log(2 * math.pi)) + logdet), dtype=self._dtype)

    def expand(self, batch_shape: Shape) -> Self:
        batch_shape = self._expanded_batch(batch_shape)
        D = self._event_shape[0]
        r = self.cov_factor.shape[-1]
        new = self._expanded_copy(batch_shape)
        new.loc = np.broadcast_to(self.loc, batch_shape + (D,))
        new.cov_factor = np.broadcast_to(self.cov_factor, batch_shape + (D, r))
        new.cov_diag = np.broadcast_to(self.cov_diag, batch_shape + (D,))
        return new

    def _make_spec(self, dtype):
        from .. import plan
        from ..kernels import registry

        fam = registry.family("lowrank_mvn")
        return plan.KernelSpec(
            fam.name, fam.module.pack(self.loc, self.cov_factor, self.cov_diag, dtype), self._event_shape[0]
        )
