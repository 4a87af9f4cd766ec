"""Multivariate normal distribution with full covariance."""

from __future__ import annotations

import math
from typing import cast

import numpy as np

from .. import _device as _dev
from .._array import fmt_shape
from .._typing import Array, ArrayLike, Shape
from . import constraints
from .distribution import Distribution, _float_params, frozen

__all__ = ["MultivariateNormal"]


class MultivariateNormal(Distribution):
    r"""Multivariate normal distribution over ``D``-vectors.

    .. math:: p(x) = (2\pi)^{-D/2} |\Sigma|^{-1/2}
              \exp\!\left(-\tfrac12 (x-\mu)^\top \Sigma^{-1} (x-\mu)\right)

    Give exactly one of ``covariance_matrix``, ``precision_matrix`` and
    ``scale_tril``.

    Parameters
    ----------
    loc : array_like, shape ``(*batch, D)``
        Mean vector :math:`\mu`; finite.
    covariance_matrix : array_like, shape ``(*batch, D, D)``, optional
        Symmetric positive-definite :math:`\Sigma`.
    precision_matrix : array_like, shape ``(*batch, D, D)``, optional
        Symmetric positive-definite :math:`\Sigma^{-1}`.
    scale_tril : array_like, shape ``(*batch, D, D)``, optional
        Lower-triangular :math:`L` with positive diagonal, :math:`\Sigma = L L^\top`.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    loc : numpy.ndarray
    scale_tril, covariance_matrix, precision_matrix : numpy.ndarray
        Derived from whichever was given.
    batch_shape : tuple
        ``broadcast(loc.shape[:-1], matrix.shape[:-2])``.
    event_shape : tuple
        ``(D,)``.

    Raises
    ------
    ValueError
        If not exactly one matrix is given, shapes are inconsistent, a matrix is
        not symmetric positive-definite (or ``scale_tril`` not lower-triangular
        with positive diagonal), or ``loc`` is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import MultivariateNormal
    >>> d = MultivariateNormal(np.zeros(2), covariance_matrix=np.eye(2))
    >>> d.event_shape
    (2,)
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "covariance_matrix": constraints.positive_definite,
        "precision_matrix": constraints.positive_definite,
        "scale_tril": constraints.lower_cholesky,
    }
    support = constraints.real_vector

    def __init__(
        self,
        loc: ArrayLike,
        covariance_matrix: ArrayLike | None = None,
        precision_matrix: ArrayLike | None = None,
        scale_tril: ArrayLike | None = None,
        validate_args: bool | None = None,
    ) -> None:
        given = [
            (n, m)
            for n, m in (
                ("covariance_matrix", covariance_matrix),
                ("precision_matrix", precision_matrix),
                ("scale_tril", scale_tril),
            )
            if m is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "MultivariateNormal: give exactly one of covariance_matrix, "
                f"precision_matrix or scale_tril (got {len(given)})"
            )
        mname = given[0][0]
        given_loc = loc
        p, dtype = _float_params("MultivariateNormal", loc=loc, **{mname: given[0][1]})
        # (the coerced arrays; cast for the type checker only)
        loc, mat = cast("np.ndarray", p["loc"]), cast("np.ndarray", p[mname])
        if loc.ndim < 1:
            raise ValueError(f"MultivariateNormal: loc must have at least one dim, got shape {fmt_shape(loc.shape)}")
        if mat.ndim < 2 or mat.shape[-1] != mat.shape[-2]:
            raise ValueError(
                f"MultivariateNormal: {mname} must be square in its last two dims, got shape {fmt_shape(mat.shape)}"
            )
        D = loc.shape[-1]
        if mat.shape[-1] != D:
            raise ValueError(
                f"MultivariateNormal: loc of shape {fmt_shape(loc.shape)} (D={D}) does not "
                f"match {mname} of shape {fmt_shape(mat.shape)}"
            )
        if D < 1:
            raise ValueError("MultivariateNormal: the event size D must be at least 1")
        try:
            batch = np.broadcast_shapes(loc.shape[:-1], mat.shape[:-2])
        except ValueError:
            raise ValueError(
                f"MultivariateNormal: batch dims of loc {fmt_shape(loc.shape)} and "
                f"{mname} {fmt_shape(mat.shape)} do not broadcast"
            ) from None
        self._dtype = dtype
        self._device = _dev.device_of(loc, given[0][1])
        super().__init__(batch, (D,), validate_args)
        # the shapes the parameters were given in (log_prob_grad returns gradients in them)
        self._param_shapes = {"loc": loc.shape, "scale_tril": mat.shape}
        self.loc = np.broadcast_to(
            frozen(
                loc,
                fresh=loc is not given_loc
                and not (isinstance(given_loc, np.ndarray) and np.may_share_memory(loc, given_loc)),
            ),
            batch + (D,),
        )
        check = self._validate_args is not False
        if check:
            self._check_params(loc=(self.loc, _finite_vector))
        m64 = mat.astype(np.float64)
        if check and not np.isfinite(m64).all():
            self._fail(mname, m64, ~np.isfinite(m64).all((-2, -1)), "finite")
        try:
            L, W = self._factorise(mname, m64, check)
        except np.linalg.LinAlgError as exc:  # unchecked NaN/inf or singular input (validate_args=False)
            raise ValueError(
                f"MultivariateNormal: parameter {mname} of shape {fmt_shape(m64.shape)} "
                f"cannot be factorised ({exc}); it must be finite and positive-definite"
            ) from None
        self._L64 = np.broadcast_to(L, batch + (D, D))
        self._W64 = np.broadcast_to(W, batch + (D, D))

    def _factorise(self, mname, m64, check):
        """``(L, W = L^{-1})`` from the given matrix; LinAlgError on unfactorisable input."""
        if mname == "scale_tril":
            if check:
                ok = constraints.lower_cholesky.check(m64)
                if not ok.all():
                    self._fail(mname, m64, ~ok, "lower-triangular with a positive diagonal")
            L = np.tril(m64)
            W = None
        else:
            if check:
                scale = np.abs(m64).max(axis=(-2, -1), keepdims=True)
                asym = ~np.all(np.abs(m64 - np.swapaxes(m64, -1, -2)) <= 1e-6 * scale, axis=(-2, -1))
                if asym.any():
                    self._fail(mname, m64, asym, "symmetric")
            if mname == "covariance_matrix":
                L = self._cholesky(mname, m64)
                W = None
            else:
                Lf = self._cholesky(mname, m64[..., ::-1, ::-1])
                W = np.swapaxes(Lf[..., ::-1, ::-1], -1, -2)  # lower, W = L^{-1}
                L = np.linalg.inv(W)
                L = np.tril(L)
        if W is None:
            W = _inv_tril(L)
        return L, W

    def _fail(self, name, mat, bad, what):
        first = tuple(int(i) for i in np.argwhere(np.atleast_1d(bad))[0]) if np.ndim(bad) else ()
        raise ValueError(
            f"MultivariateNormal: parameter {name} of shape {fmt_shape(mat.shape)} must be "
            f"{what}; violated first at batch index {first}"
        )

    def _cholesky(self, name, m):
        try:
            return np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            ev = np.linalg.eigvalsh(0.5 * (m + np.swapaxes(m, -1, -2)))[..., 0]
            if not (ev > 0).all():
                self._fail(name, m, ~(ev > 0), "positive-definite")
            # symmetric part positive-definite, lower triangle not: an unchecked non-symmetric matrix
            raise ValueError(
                f"MultivariateNormal: parameter {name} of shape {fmt_shape(m.shape)} must be "
                "symmetric positive-definite; its lower triangle is not positive-definite"
            ) from None

    @property
    def scale_tril(self) -> Array:
        """Lower Cholesky factor :math:`L` of the covariance, ``(*batch, D, D)``."""
        return self._L64.astype(self._dtype)

    @property
    def covariance_matrix(self) -> Array:
        """:math:`\\Sigma = L L^\\top`, ``(*batch, D, D)``."""
        L = self._L64
        return (L @ np.swapaxes(L, -1, -2)).astype(self._dtype)

    @property
    def precision_matrix(self) -> Array:
        """:math:`\\Sigma^{-1} = W^\\top W` with :math:`W = L^{-1}`, ``(*batch, D, D)``."""
        W = self._W64
        return (np.swapaxes(W, -1, -2) @ W).astype(self._dtype)

    @property
    def mean(self) -> Array:
        """``loc``, shape ``(*batch_shape, D)``."""
        return np.array(self.loc)

    @property
    def variance(self) -> Array:
        """Diagonal of the covariance, ``(*batch, D)``."""
        return (self._L64**2).sum(-1).astype(self._dtype)

    def entropy(self) -> Array:
        """``D/2 (1 + log 2 pi) + sum log diag L``, shape ``batch_shape``."""
        D = self._event_shape[0]
        logdet = np.log(np.diagonal(self._L64, axis1=-2, axis2=-1)).sum(-1)
        return (0.5 * D * (1.0 + math.log(2 * math.pi)) + logdet).astype(self._dtype)

    def expand(self, batch_shape: Shape) -> MultivariateNormal:
        batch_shape = self._expanded_batch(batch_shape)
        D = self._event_shape[0]
        new = self._expanded_copy(batch_shape)
        new.loc = np.broadcast_to(self.loc, batch_shape + (D,))
        new._L64 = np.broadcast_to(self._L64, batch_shape + (D, D))
        new._W64 = np.broadcast_to(self._W64, batch_shape + (D, D))
        return new

    def _make_spec(self, dtype):
        from .. import plan
        from ..kernels.families import mvn

        return plan.KernelSpec("mvn", mvn.pack(self.loc, self._L64, self._W64, dtype), self._event_shape[0])


def _inv_tril(L):
    """``L^{-1}`` (lower) computed on ``L 2**-e`` with ``2**e`` about its largest diagonal
    entry, so that a subnormal or huge factor inverts without NaN (entries beyond the
    float64 range are inf)."""
    d = np.abs(np.diagonal(L, axis1=-2, axis2=-1)).max(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.where((d > 0) & np.isfinite(d), np.floor(np.log2(np.where(d > 0, d, 1.0))), 0.0)
    e = e.astype(np.int64)[..., None, None]
    with np.errstate(over="ignore"):
        return np.tril(np.ldexp(np.linalg.inv(np.ldexp(L, -e)), -e))


class _FiniteVector(constraints.Constraint):
    event_dim = 1

    def check(self, value):
        return np.isfinite(value).all(-1)

    def __repr__(self):
        return "finite real_vector"


_finite_vector = _FiniteVector()
