"""Finite mixtures whose components share one family."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._array import as_shape, fmt_shape
from .._typing import Array, ArrayLike, RNGLike, Shape
from . import constraints
from .categorical import Categorical
from .distribution import Distribution, cuda_native

__all__ = ["MixtureSameFamily"]

# rows of the (chunk, B, K) temporary used by the generic (non-kernel) path
_FALLBACK_ELEMENTS = 1 << 22


class _MixtureSupport(constraints.Constraint):
    """Values in the support of at least one component (for supports with parameters, such as
    Uniform's interval, whose bounds have the components' batch shape ``(*batch, K)``)."""

    def __init__(self, component_support, event_ndim):
        self.component_support = component_support
        self.event_dim = component_support.event_dim
        self.is_discrete = component_support.is_discrete
        self._ne = event_ndim

    def check(self, value):
        value = np.asarray(value)
        at_components = np.expand_dims(value, value.ndim - self._ne)
        return np.asarray(self.component_support.check(at_components)).any(-1)

    def __repr__(self):
        return f"union over components of {self.component_support!r}"


def _lse_log_prob(logw, comp, xs):
    """``logsumexp_k(logw_k + log p_k(x))`` over the last axis (a bounded ``(chunk, B, K)`` temporary)."""
    lp = logw + comp.log_prob(xs)
    m = np.max(lp, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.exp(lp - m).sum(-1)) + m[..., 0]


def _weighted_cdf(logw, comp, xs):
    """``sum_k w_k F_k(x)`` over the last axis."""
    return (np.exp(logw) * comp.cdf(xs)).sum(-1)


def _lse_terms(lp):
    """``logsumexp`` over the last axis of ``lp`` (-inf terms contribute nothing; NaN stays)."""
    m = np.max(lp, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.exp(lp - m).sum(-1)) + m[..., 0]


def _lse_tail(logw, lp, lo):
    """``logsumexp_k(logw_k + lp_k)``, where above ``-0.5`` ``log1p(-c)`` with ``c`` the other
    tail's mixture probability from ``lo`` (relative accuracy near 0, as in the kernels);
    capped at 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = _lse_terms(logw + lp)
        near = r > -0.5
        if near.any():
            c = np.exp(_lse_terms(logw + lo))
            r = np.where(near, np.log1p(-np.minimum(c, 1.0)), r)
        return np.minimum(r, 0.0)


def _lse_log_cdf(logw, comp, xs):
    """``log sum_k w_k F_k(x)`` from the components' own ``log_cdf`` (and ``log_survival_function``)."""
    return _lse_tail(logw, comp.log_cdf(xs), comp.log_survival_function(xs))


def _lse_log_sf(logw, comp, xs):
    """``log sum_k w_k (1 - F_k(x))`` from the components' ``log_survival_function`` (and ``log_cdf``)."""
    return _lse_tail(logw, comp.log_survival_function(xs), comp.log_cdf(xs))


#: the reduction over components of each operation on the generic (non-kernel) path:
#: an operation without an entry here has no generic path (a KeyError, never a wrong formula)
_GENERIC_REDUCTIONS = {"log_prob": _lse_log_prob, "cdf": _weighted_cdf, "log_cdf": _lse_log_cdf, "log_sf": _lse_log_sf}


def _weighted_sum(w, terms, ax):
    """``sum(w * terms)`` along ``ax`` where only positive weights contribute (no ``0 * inf``)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(w > 0, w * terms, 0.0).sum(ax)


class MixtureSameFamily(Distribution):
    r"""Finite mixture model where all components share the same distribution family.

    ``MixtureSameFamily`` combines a :class:`Categorical` over ``K`` components
    (the mixing weights :math:`\pi_k`) and one component :class:`Distribution`
    whose rightmost batch dim has size ``K`` (one set of parameters per
    component).  Generative process: :math:`k \sim \mathrm{Categorical}(\pi)`,
    :math:`x \mid k \sim p_k`.

    Parameters
    ----------
    mixture_distribution : Categorical
        Weights over the ``K`` components; its batch_shape must broadcast with
        ``component_distribution.batch_shape[:-1]``.
    component_distribution : Distribution
        ``K`` components: ``component_distribution.batch_shape[-1] == K``.
    validate_args : bool or None, default None
        See :class:`Distribution`.

    Attributes
    ----------
    mixture_distribution : Categorical
    component_distribution : Distribution
    batch_shape : tuple
        ``broadcast(mixture.batch_shape, component.batch_shape[:-1])``.
    event_shape : tuple
        ``component.event_shape``.

    Raises
    ------
    ValueError
        If ``mixture_distribution`` is not a Categorical, ``component_distribution``
        is not a Distribution or has an empty batch_shape, its last batch dim is
        not ``K``, or the batch shapes do not broadcast.

    Notes
    -----
    Log-density by log-sum-exp (no ``N x K`` temporary), scaled by a bound
    :math:`M \ge \max_k(\log\pi_k + \log p_k(x))` taken at the components' modes,
    with points in far tails recomputed with their own running maximum:

    .. math:: \log p(x) = M + \log \sum_k \exp(\log\pi_k + \log p_k(x) - M)

    Mean (law of total expectation): :math:`E[X] = \sum_k \pi_k \mu_k`.

    Variance (law of total variance), per coordinate:
    :math:`\mathrm{Var}[X] = \sum_k \pi_k \sigma_k^2 + \sum_k \pi_k (\mu_k - E[X])^2`.

    Sampling is ancestral: the component index is drawn first, then one draw is
    made from that component only.  It is not reparameterised.

    Components with a compiled kernel (Normal, Independent(Normal),
    MultivariateNormal, Categorical) take the paths above.  Other components
    (nested mixtures, Independent over MultivariateNormal or Categorical) take a
    generic path: ``log_prob``/``cdf`` in chunks of bounded ``(chunk, B, K)``
    temporaries, and ``sample`` drawing every component for a chunk, then
    gathering the chosen one.

    Examples
    --------
    >>> import mixstat
    >>> from mixstat.distributions import MixtureSameFamily, Categorical, Normal
    >>> mix = Categorical(probs=mixstat.tensor([0.3, 0.7]))
    >>> comp = Normal(loc=mixstat.tensor([-2.0, 2.0]), scale=mixstat.tensor([0.5, 1.0]))
    >>> dist = MixtureSameFamily(mix, comp)
    >>> dist.sample((200,)).shape
    (200,)
    """

    arg_constraints: dict[str, constraints.Constraint] = {}
    has_rsample = False

    def __init__(
        self,
        mixture_distribution: Categorical,
        component_distribution: Distribution,
        validate_args: bool | None = None,
    ) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(
                "MixtureSameFamily: mixture_distribution must be a Categorical, got "
                f"{type(mixture_distribution).__name__}"
            )
        if not isinstance(component_distribution, Distribution):
            raise ValueError(
                "MixtureSameFamily: component_distribution must be a Distribution, got "
                f"{type(component_distribution).__name__}"
            )
        cb = component_distribution.batch_shape
        if len(cb) == 0:
            raise ValueError(
                "MixtureSameFamily: component_distribution.batch_shape must end with the "
                "K components, got an empty batch_shape ()"
            )
        K = mixture_distribution._num_events
        if cb[-1] != K:
            raise ValueError(
                f"MixtureSameFamily: component_distribution.batch_shape {fmt_shape(cb)} must end with "
                f"K={K}, the number of categories of mixture_distribution (param_shape "
                f"{fmt_shape(mixture_distribution.param_shape)})"
            )
        mb = mixture_distribution.batch_shape
        try:
            batch = np.broadcast_shapes(mb, cb[:-1])
        except ValueError:
            raise ValueError(
                f"MixtureSameFamily: mixture_distribution.batch_shape {fmt_shape(mb)} does not broadcast "
                f"with component_distribution.batch_shape[:-1] {fmt_shape(cb[:-1])}"
            ) from None
        self.mixture_distribution = mixture_distribution
        self.component_distribution = component_distribution
        self._num_component = K
        if getattr(mixture_distribution, "_weak_dtype", False):
            self._dtype = component_distribution.dtype  # weights given as Python lists follow the components
        else:
            self._dtype = np.result_type(mixture_distribution.dtype, component_distribution.dtype)
        # on CUDA if either part is (the tables of both are packed on the host and copied over)
        self._device = "cuda" if "cuda" in (mixture_distribution.device, component_distribution.device) else "cpu"
        super().__init__(batch, component_distribution.event_shape, validate_args)

    @property
    def support(self) -> constraints.Constraint | None:  # type: ignore[override]  # read-only here, computed
        """The union of the components' supports (the component family's support when it does
        not depend on the parameters)."""
        cs = self.component_distribution.support
        if getattr(cs, "depends_on_parameters", False):
            return _MixtureSupport(cs, len(self._event_shape))
        return cs

    # -- moments -------------------------------------------------------------
    def _weights_for_event(self):
        """Mixture probs shaped ``(*batch, K, 1, ..., 1)`` to broadcast with component moments."""
        p = self.mixture_distribution.probs
        return p.reshape(p.shape + (1,) * len(self._event_shape))

    def _device_moments(self, dev):
        """Mean and variance by one CUDA kernel from the component moments (host, from the parameters)."""
        from .. import _device as _dev, plan

        with _dev.host_only():
            mu = np.asarray(self.component_distribution.mean, dtype=self._dtype)
            var = np.asarray(self.component_distribution.variance, dtype=self._dtype)
        return plan.moments(dev, self.mixture_distribution.probs, mu, var, self._batch_shape, self._event_shape)

    @property
    @cuda_native
    def mean(self) -> Array:
        """``sum_k pi_k mu_k``, shape ``(*batch_shape, *event_shape)``."""
        if (dev := self._placement()) is not None:
            return self._device_moments(dev)[0]
        w = self._weights_for_event()
        ax = -1 - len(self._event_shape)
        with np.errstate(over="ignore", invalid="ignore"):
            mu = self.component_distribution.mean
        return np.asarray(_weighted_sum(w, mu, ax), dtype=self._dtype)

    @property
    @cuda_native
    def variance(self) -> Array:
        """``sum_k pi_k (sigma_k^2 + (mu_k - mean)^2)``, shape ``(*batch_shape, *event_shape)``.

        Zero-weight components contribute exactly nothing (also when their mean or
        variance is infinite or huge).
        """
        if (dev := self._placement()) is not None:
            return self._device_moments(dev)[1]
        w = self._weights_for_event()
        ax = -1 - len(self._event_shape)
        with np.errstate(over="ignore", invalid="ignore"):
            mu = self.component_distribution.mean
            var = self.component_distribution.variance
            mean = np.expand_dims(_weighted_sum(w, mu, ax), ax)
            out = _weighted_sum(w, var + (mu - mean) ** 2, ax)
        return np.asarray(out, dtype=self._dtype)

    def entropy(self) -> Array:
        """Entropy of a univariate mixture by deterministic quadrature, shape ``batch_shape``.

        Continuous components: adaptive 21-point Gauss-Kronrod quadrature of
        :math:`-\\int p \\log p`, one integral per batch entry, all advanced together on
        the mixture's own ``log_prob``, to an estimated error
        :math:`\\le 10^{-10} \\int |p \\log p|` (relative :math:`10^{-10}` of the entropy
        where the density is at most 1); see :mod:`mixstat.distributions._quadrature` for the intervals
        (breakpoints at every component's bulk, doubling intervals along infinite tails,
        halving ones towards singular ends).  This is a converged numerical value with an
        error *estimate*, not a proven bound.  Discrete components: the exact sum
        :math:`-\\sum_x p(x) \\log p(x)` over a finite support, or truncated where a proven
        tail bound is below :math:`10^{-10} \\sum |p \\log p|` (Poisson, Geometric,
        NegativeBinomial).  Computed in float64 and returned in the mixture's dtype.

        Raises
        ------
        NotImplementedError
            For multivariate mixtures (no quadrature: use ``mixstat.estimate_entropy``),
            components of a family without the needed support handling, and tails or
            singularities too extreme to integrate in floating point (the message says
            which).
        """
        if self._event_shape != ():
            raise NotImplementedError(
                f"MixtureSameFamily.entropy: no closed form or quadrature for event_shape "
                f"{fmt_shape(self._event_shape)} (multivariate mixtures); use "
                "mixstat.estimate_entropy(dist, n=..., rng=...) for a Monte Carlo estimate with bounds"
            )
        from ._quadrature import mixture_entropy_1d

        return np.asarray(mixture_entropy_1d(self), dtype=self._dtype)

    # -- densities -----------------------------------------------------------
    def log_prob(self, value: ArrayLike, out: Array | None = None) -> Array:
        """Log-density of the mixture at ``value``.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape, *event_shape)``.
        out : numpy.ndarray, optional
            A writeable C-contiguous array of the result's shape and dtype: the kernel (or
            the generic path's chunks) write into it and it is returned.

        Returns
        -------
        numpy.ndarray
            ``logsumexp_k(log pi_k + log p_k(value))``, shape ``(*sample, *batch_shape)``.
        """
        value, dtype = self._checked_value(value)
        dev = self._placement()
        rows = self._log_prob_rows(value, dtype, out, dev)
        if rows is not None:
            return rows
        spec = self.component_distribution._kernel_spec(dtype)
        logw = self.mixture_distribution.logits
        if spec is None:
            if dev is not None:
                return self._via_host(MixtureSameFamily._chunked, value, dtype, "log_prob")
            return self._chunked(value, dtype, "log_prob", out=out)
        from .. import plan

        return plan.log_prob(spec, value, self._batch_shape, self._event_shape, logw=logw, device=dev, out=out)

    def _log_prob_rows(self, value, dtype, out, dev=None):
        """``log_prob`` by the per-row kernel (:func:`mixstat.plan.normal_mixture_rows`), or None.

        For Normal components whose parameters are full ``(*batch_shape, K)`` arrays (every batch
        entry its own mixture, as a mixture density network gives) and one value per batch
        entry, with no packed table made yet: the kernel reads the normalised logits, ``loc``
        and ``scale`` themselves, so nothing is allocated but the result.  On CUDA (``dev`` a
        placement) its twin runs one thread per point over device copies of the three arrays.
        """
        from .normal import Normal

        comp = self.component_distribution
        if type(comp) is not Normal or np.dtype(dtype) in comp._specs:
            return None
        from .. import plan

        logw, normalised = self.mixture_distribution._logits_for_rows()
        least = plan.PREP_MIN if dev is None else 0
        if value.size > _prod(self._batch_shape) or not plan.rows_ok(
            self._batch_shape, logw, comp.loc, comp.scale, min_size=least
        ):
            return None
        if logw.dtype != dtype:
            return None
        return plan.normal_mixture_rows(
            value, logw, comp.loc, comp.scale, self._batch_shape, normalise=not normalised, out=out, device=dev
        )

    def cdf(self, value: ArrayLike, out: Array | None = None) -> Array:
        """``sum_k pi_k F_k(value)`` for univariate components, shape ``(*sample, *batch_shape)``
        (into ``out`` when given).

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)`` (univariate: no event dims).
        out : numpy.ndarray, optional
            Written with the result and returned (see :meth:`Distribution.log_prob`).
        """
        if self._event_shape != ():
            raise NotImplementedError(
                f"MixtureSameFamily: cdf needs univariate components (event_shape {fmt_shape(self._event_shape)})"
            )
        value, dtype = self._checked_value(value)
        spec = self.component_distribution._kernel_spec(dtype)
        if spec is not None:
            from ..kernels import registry

            if not registry.family(spec.family).has("cdf1"):
                raise NotImplementedError(
                    f"MixtureSameFamily: the {type(self.component_distribution).__name__} components have no cdf"
                )
        dev = self._placement()
        if spec is None or spec.dim != 1:
            if dev is not None:
                return self._via_host(MixtureSameFamily._chunked, value, dtype, "cdf")
            return self._chunked(value, dtype, "cdf", out=out)
        from .. import plan

        return plan.cdf(spec, value, self._batch_shape, probs=self.mixture_distribution.probs, device=dev, out=out)

    def log_cdf(self, value: ArrayLike, out: Array | None = None) -> Array:
        """``log sum_k pi_k F_k(value)`` for univariate components, shape ``(*sample, *batch_shape)``.

        Each component's ``log F_k`` is computed in log space (its family's
        ``logcdf1`` hook) and the terms ``log pi_k + log F_k`` are combined by
        log-sum-exp with a running maximum: never ``log(cdf)``, so far lower tails
        stay finite and accurate.  Zero-weight components contribute nothing.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)`` (univariate: no event dims).
        out : numpy.ndarray, optional
            Written with the result and returned (see :meth:`Distribution.log_prob`).

        Raises
        ------
        NotImplementedError
            For multivariate components, or a component family without a log-space cdf.
        """
        return self._log_tail(value, "log_cdf", out=out)

    def log_survival_function(self, value: ArrayLike, out: Array | None = None) -> Array:
        """``log sum_k pi_k (1 - F_k(value))``: log-sum-exp of the components' log survival
        functions (never ``log(1 - cdf)``); finite far in the upper tail (a Normal mixture at
        40 standard deviations), shape ``(*sample, *batch_shape)``.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)`` (univariate: no event dims).
        out : numpy.ndarray, optional
            Written with the result and returned (see :meth:`Distribution.log_prob`).
        """
        return self._log_tail(value, "log_sf", out=out)

    def survival_function(self, value: ArrayLike, out: Array | None = None) -> Array:
        """``P(X > value) = exp(log_survival_function(value))``, formed in float64 and cast to
        the mixture's dtype at the end: a float64 tail of 1e-300 is not 0.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape)`` (univariate: no event dims).
        out : numpy.ndarray, optional
            Written with the result and returned (see :meth:`Distribution.log_prob`).
        """
        from .distribution import _exp_cast

        log64, dtype = self._log_tail(value, "log_sf", wide=True, out=out)
        return _exp_cast(self, log64, dtype, out=out)

    @cuda_native
    def icdf(self, value: ArrayLike, out: Array | None = None) -> Array:
        """The mixture's quantile function: the smallest ``x`` with ``cdf(x) >= value``, for
        univariate components, shape ``(*sample, *batch_shape)``.

        In the kernel, per point (:mod:`mixstat.kernels.quantile`): the components' own
        quantiles at ``value`` (closed forms where the family has them) bracket the
        mixture's; a safeguarded Newton iteration on the log of the tail probability
        (the survival function, per component, for ``value > 1/2``) with geometric
        bisection as its fallback closes the bracket.  float64 throughout, cast to the
        mixture's dtype.  A flat stretch of the cdf (separated components whose densities
        are 0 between them) gives its left end; discrete components give the smallest
        support point with ``cdf(x) >= value``; ``value`` 0 and 1 give the ends of the
        union of the components' supports (over the components of nonzero weight);
        values outside [0, 1] or NaN give NaN (a ``ValueError`` with
        ``validate_args=True``).  Components without a kernel (nested mixtures) are
        solved by bisection on ``cdf`` / ``survival_function`` in NumPy.

        Parameters
        ----------
        value : array_like
            Probabilities, broadcastable with ``batch_shape``.
        out : numpy.ndarray, optional
            An array of the result's shape and dtype: the float64 kernel writes into a
            float64 ``out`` (a float32 one receives the cast; the NumPy bisection's result
            is copied in).

        Returns
        -------
        numpy.ndarray
            Shape ``(*sample, *batch_shape)``, the mixture's dtype.

        Raises
        ------
        NotImplementedError
            For multivariate components, or a component family without a cdf.

        Examples
        --------
        >>> from mixstat.distributions import Categorical, MixtureSameFamily, Normal
        >>> mix = MixtureSameFamily(Categorical(probs=[0.5, 0.5]), Normal([-1.0, 1.0], [1.0, 1.0]))
        >>> x = mix.icdf([0.025, 0.5, 0.975])
        >>> bool(abs(x[1]) < 1e-12), bool(abs(mix.cdf(x[0]) - 0.025) < 1e-15)
        (True, True)
        """
        from . import _quantile as Q

        if self._event_shape != ():
            raise NotImplementedError(
                f"MixtureSameFamily: icdf needs univariate components (event_shape {fmt_shape(self._event_shape)})"
            )
        q, dtype = Q.checked_probs(self, value)
        spec = self.component_distribution._kernel_spec(np.float64)
        lo, hi = self._support_ends()
        if spec is not None and spec.dim == 1:
            from .. import plan
            from ..kernels import registry

            fam = registry.family(spec.family)
            if not (fam.has("cdf1") and fam.has("logpdf1")):
                raise NotImplementedError(
                    f"MixtureSameFamily: the {type(self.component_distribution).__name__} "
                    "components have no icdf (no cdf kernel)"
                )
            from .distribution import _wide_out

            x = plan.icdf(
                spec,
                q,
                self._batch_shape,
                probs=self.mixture_distribution.probs,
                device=self._placement(),
                out=_wide_out(out),
            )
            return Q.with_ends(self, q, x, lo, hi, dtype, out=out)
        if self._placement() is not None:
            return self._via_host(MixtureSameFamily._icdf_bisect, q, lo, hi, dtype)
        return self._icdf_bisect(q, lo, hi, dtype)

    def _support_ends(self):
        """``(lower, upper)``, shape ``batch_shape``: the ends of the union of the supports of
        the components of nonzero weight."""
        from ._quantile import support_bounds

        comp = self.component_distribution
        if isinstance(comp, MixtureSameFamily):
            clo, chi = comp._support_ends()
        else:
            clo, chi = support_bounds(comp.support)
        shape = self._batch_shape + (self._num_component,)
        clo = np.broadcast_to(np.asarray(clo, dtype=np.float64), comp.batch_shape)
        chi = np.broadcast_to(np.asarray(chi, dtype=np.float64), comp.batch_shape)
        clo = np.broadcast_to(clo, shape)
        chi = np.broadcast_to(chi, shape)
        live = np.broadcast_to(self.mixture_distribution.probs > 0, shape)
        lo = np.min(np.where(live, clo, np.inf), axis=-1)
        hi = np.max(np.where(live, chi, -np.inf), axis=-1)
        return lo, hi

    def _icdf_bisect(self, q, lo, hi, dtype):
        """``icdf`` by bisection on the mixture's own ``cdf`` (``survival_function`` for
        ``q > 1/2``), vectorised over the points: for components without a kernel."""
        from . import _quantile as Q

        q = np.asarray(q, dtype=np.float64)
        shape = np.broadcast_shapes(q.shape, self._batch_shape)
        q = np.broadcast_to(q, shape)
        upper = q > 0.5
        p = np.where(upper, 1.0 - q, q)
        a = np.broadcast_to(lo, shape).astype(np.float64)
        c = np.broadcast_to(hi, shape).astype(np.float64)
        a = np.where(np.isfinite(a), np.nextafter(a, -np.inf), a)  # F(a) < q for q > 0
        discrete = Q.is_discrete(self.support)
        if discrete:
            a = np.where(np.isfinite(a), np.floor(a), a)
        active = (q > 0) & (q < 1)
        for _ in range(Q.NUMPY_MAXIT):
            if discrete:
                m = Q.np_mid_int(a, c)
                open_ = active & (c - a > 1)
            else:
                m = Q.np_mid(a, c)
                open_ = active & (m > a) & (m < c)
            if not np.any(open_):
                break
            m = np.where(open_, m, c)
            with np.errstate(invalid="ignore"):
                lower_side = np.asarray(self.cdf(m.astype(self._dtype, copy=False)), dtype=np.float64)
                upper_side = np.asarray(self.survival_function(m.astype(self._dtype, copy=False)), dtype=np.float64)
            ge = np.where(upper, upper_side <= p, lower_side >= p)
            c = np.where(open_ & ge, m, c)
            a = np.where(open_ & ~ge, m, a)
        out = np.where(active, c, np.nan)
        return Q.with_ends(self, q, out, lo, hi, dtype)

    def _log_tail(self, value, op, wide=False, out=None):
        """``op``: ``"log_cdf"`` or ``"log_sf"``; ``wide``: in float64, returned with the result dtype;
        ``out`` (checked by the caller) receives the result where its dtype is the computation's."""
        from .distribution import _TAIL_HOOKS, _TAIL_NAMES, _as_f64, _wide_out

        if wide:
            out = _wide_out(out)

        name = _TAIL_NAMES[op]
        if self._event_shape != ():
            raise NotImplementedError(
                f"MixtureSameFamily: {name} needs univariate components (event_shape {fmt_shape(self._event_shape)})"
            )
        value, dtype = self._checked_value(value)
        cdt = np.dtype(np.float64) if wide else dtype
        if wide:
            value = _as_f64(value)
        spec = self.component_distribution._kernel_spec(cdt)
        if spec is not None:
            from ..kernels import registry

            if not registry.family(spec.family).has(_TAIL_HOOKS[op]):
                raise NotImplementedError(
                    f"MixtureSameFamily: the {type(self.component_distribution).__name__} components have no {name}"
                )
        dev = self._placement()
        if spec is None or spec.dim != 1:
            if dev is not None:
                r = self._via_host(MixtureSameFamily._chunked, value, cdt, op)
            else:
                r = self._chunked(value, cdt, op, out=out)
        else:
            from .. import plan

            fn = plan.log_cdf if op == "log_cdf" else plan.log_sf
            r = fn(spec, value, self._batch_shape, logw=self.mixture_distribution.logits, device=dev, out=out)
        return (r, dtype) if wide else r

    def _chunked(self, value, dtype, op, out=None):
        """Generic path for components without a kernel: bounded ``(chunk, B, K)`` temporaries;
        each chunk's result is written into ``out`` (a checked host array) when given."""
        from .. import plan

        x, out_shape, batch = plan.flat_value(value, self._batch_shape, self._event_shape)
        S, B = x.shape[0], x.shape[1]
        K = self._num_component
        comp = self.component_distribution.expand(batch + (K,))
        logw = np.broadcast_to(self.mixture_distribution.logits, batch + (K,))
        user_out = out if isinstance(out, np.ndarray) and out.dtype == dtype else None
        out = np.empty((S, B), dtype=dtype) if user_out is None else np.asarray(user_out).reshape(S, B)
        step = max(1, _FALLBACK_ELEMENTS // max(B * K, 1))
        for s0 in range(0, S, step):
            xs = x[s0 : s0 + step].reshape((-1,) + batch + (1,) + self._event_shape)
            r = _GENERIC_REDUCTIONS[op](logw, comp, xs)
            out[s0 : s0 + step] = r.reshape(-1, B)
        return user_out if user_out is not None else out.reshape(out_shape)

    # -- posteriors over the components -------------------------------------
    def posterior_marginal(self, value: ArrayLike) -> Categorical:
        r"""The posterior over the components given ``value`` (the responsibilities).

        .. math:: p(k \mid x) = \frac{\pi_k\, p_k(x)}{\sum_j \pi_j\, p_j(x)}

        computed in log space in one kernel: every point is scaled by its own
        largest term, so values far in the tails, where every density
        underflows, still get exact responsibilities.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape, *event_shape)``.

        Returns
        -------
        Categorical
            Batch shape ``(*sample, *batch_shape)`` over the ``K`` components; its
            ``logits`` (read-only, shape ``(*sample, *batch_shape, K)``) are the
            normalised log-responsibilities and its ``probs`` (derived on first
            use: a second ``(N, K)`` array) sum to 1 within a few ulp.  On a CUDA
            distribution the Categorical is on ``"cuda"`` too.

        Notes
        -----
        * A component with zero weight has responsibility exactly 0 (logit
          ``-inf``), also where its density is infinite.
        * Where the posterior is undefined, the row is NaN: a NaN value, or a
          value outside the support of every component with positive weight
          (every term ``-inf``: ``0 / 0``).  Such rows are not an error unless
          ``validate_args=True`` (which rejects values outside the support); mask
          them with ``numpy.isnan(post.logits[..., 0])``.
        * Where some densities are ``+inf`` (Gamma at 0 with concentration < 1),
          those components share the mass equally and the others get 0.
        * The only ``(N, K)`` array is the output.  Components without a kernel
          (nested mixtures) are evaluated in bounded chunks.
        """
        value, dtype = self._checked_value(value)
        spec = self.component_distribution._kernel_spec(dtype)
        dev = self._placement()
        if spec is None:
            if dev is not None:
                from .. import _device as _dev

                lg = _dev.to_host(self._via_host(MixtureSameFamily._posterior_chunked, value, dtype, False))
            else:
                lg = self._posterior_chunked(value, dtype, False)
        else:
            from .. import plan

            lg = plan.posterior(
                spec, value, self._batch_shape, self._event_shape, logw=self.mixture_distribution.logits, device=dev
            )
            if dev is not None:
                lg = dev.kernels.to_host(lg)
        return Categorical._from_normalized_logits(lg, validate_args=self._validate_args, device=self._device)

    def posterior_mode(self, value: ArrayLike, out: Array | None = None) -> Array:
        """The most probable component given ``value``: ``argmax_k (log pi_k + log p_k(value))``.

        One pass over the points with a running maximum per point (no ``(N, K)``
        array); for a mixture shared by every point, in about the time of one
        ``log_prob``.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape, *event_shape)``.
        out : numpy.ndarray, optional
            An int64 array of the result's shape: the kernel writes into it and it is returned.

        Returns
        -------
        numpy.ndarray
            int64 component indices, shape ``(*sample, *batch_shape)`` (a device
            array on a CUDA distribution).  Ties go to the lowest index (terms equal
            to rounding may go either way); zero-weight components are never
            chosen.  ``-1`` where the posterior is undefined (the NaN rows of
            :meth:`posterior_marginal`: a NaN value, or a value outside every
            component's support): not a valid index, so mask it (``mode >= 0``)
            before indexing with it (``-1`` would index the last component).  With
            ``out`` (an int64 array of that shape) the kernel writes into it and it is returned.
        """
        value, dtype = self._checked_value(value)
        spec = self.component_distribution._kernel_spec(dtype)
        dev = self._placement()
        if spec is None:
            if dev is not None:
                return self._via_host(MixtureSameFamily._posterior_chunked, value, dtype, True)
            return self._posterior_chunked(value, dtype, True)
        from .. import plan

        return plan.mode(
            spec,
            value,
            self._batch_shape,
            self._event_shape,
            logw=self.mixture_distribution.logits,
            device=dev,
            out=out,
        )

    def _posterior_chunked(self, value, dtype, mode):
        """Generic path of :meth:`posterior_marginal` (``mode`` False: log-responsibilities
        ``(*sample, *batch, K)``) and :meth:`posterior_mode` (True: int64 indices), for components
        without a kernel, in chunks of bounded ``(chunk, B, K)`` temporaries; the kernels' rules."""
        from .. import plan

        x, out_shape, batch = plan.flat_value(value, self._batch_shape, self._event_shape)
        S, B = x.shape[0], x.shape[1]
        K = self._num_component
        comp = self.component_distribution.expand(batch + (K,))
        logw = np.broadcast_to(self.mixture_distribution.logits, batch + (K,)).reshape(B, K)
        out = np.empty((S, B) if mode else (S, B, K), dtype=np.int64 if mode else dtype)
        step = max(1, _FALLBACK_ELEMENTS // max(B * K, 1))
        for s0 in range(0, S, step):
            xs = x[s0 : s0 + step].reshape((-1,) + batch + (1,) + self._event_shape)
            lp = np.asarray(comp.log_prob(xs), dtype=np.float64).reshape(-1, B, K)
            with np.errstate(invalid="ignore"):
                t = np.where(logw > -np.inf, logw + lp, -np.inf)  # zero weights: nothing, even beside +inf
            out[s0 : s0 + step] = self._posterior_rows(t, mode)
        return out.reshape(out_shape + (() if mode else (K,)))

    @staticmethod
    def _posterior_rows(t, mode):
        """Normalised rows (or their argmax) of the terms ``t (..., K)`` (float64), by the kernels' rules."""
        nan = np.isnan(t).any(-1)
        tz = np.where(np.isnan(t), -np.inf, t)
        kmax = np.argmax(tz, axis=-1)
        m = np.take_along_axis(tz, kmax[..., None], -1)
        bad = nan | (m[..., 0] == -np.inf)
        if mode:
            return np.where(bad, -1, kmax).astype(np.int64)
        pinf = m[..., 0] == np.inf
        ms = np.where(np.isfinite(m), m, 0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            e = np.exp(tz - ms)
            np.put_along_axis(e, kmax[..., None], 0.0, -1)
            out = (tz - ms) - np.log1p(e.sum(-1, keepdims=True))
        if pinf.any():
            hit = tz[pinf] == np.inf
            share = -np.log(hit.sum(-1, keepdims=True))
            out[pinf] = np.where(hit, share, -np.inf)
        out[bad] = np.nan
        return out

    # -- sampling ------------------------------------------------------------
    def sample(  # type: ignore[override]
        self,
        sample_shape: Shape = (),
        rng: RNGLike = None,
        return_index: bool = False,
        method: str = "random",
        out: Array | None = None,
    ) -> Array | tuple[Array, Array]:
        """Draw samples by ancestral sampling.

        The component index is drawn first (binary search on the cumulative
        weights), then one draw is made from that component only.

        Parameters
        ----------
        sample_shape : int or tuple of int, default ()
            Leading shape of the draws.
        rng : None, int or numpy.random.Generator
            See :meth:`Distribution.sample`.
        return_index : bool, default False
            Also return the chosen component indices, shape
            ``(*sample_shape, *batch_shape)``.
        method : {"random", "qmc"}, default "random"
            ``"qmc"`` (univariate components): randomised quasi-Monte Carlo,
            scrambled Sobol points through :meth:`icdf` (see
            :meth:`Distribution.sample`); no component indices.
        out : numpy.ndarray, optional
            An array of the samples' shape and dtype that the draws are written into
            (returned; with ``return_index`` as the first of the pair).

        Returns
        -------
        numpy.ndarray
            Samples of shape ``(*sample_shape, *batch_shape, *event_shape)``
            (and the indices if ``return_index``).
        """
        sample_shape = as_shape(sample_shape, "sample_shape", self._batch_shape + self._event_shape)
        if method != "random":
            from ._quantile import qmc_sample

            if return_index:
                raise ValueError(
                    "MixtureSameFamily.sample: return_index=True needs method='random' "
                    f"(got method={method!r}: quantiles have no component)"
                )
            return qmc_sample(self, sample_shape, rng, method)
        from .. import plan

        cumw = self.mixture_distribution._cumw()
        spec = self.component_distribution._kernel_spec(self._dtype)
        dev = self._placement()
        if spec is not None:
            return plan.sample(
                spec,
                sample_shape,
                self._batch_shape,
                self._event_shape,
                rng,
                cumw=cumw,
                return_index=return_index,
                device=dev,
                out=out,
            )
        if dev is not None:
            return self._via_host(MixtureSameFamily._sample_fallback, sample_shape, rng, cumw, return_index)
        return self._sample_fallback(sample_shape, rng, cumw, return_index)

    def _sample_fallback(self, sample_shape, rng, cumw, return_index):
        from .. import plan
        from .._rng import key_for

        key = key_for(rng)  # one key per call, as on the kernel path
        idx = plan.choose(cumw, sample_shape, self._batch_shape, None, key=key)
        K = self._num_component
        comp = self.component_distribution.expand(self._batch_shape + (K,))
        S = math.prod(sample_shape)
        B = math.prod(self._batch_shape)
        flat_idx = idx.reshape(S, B)
        seed = np.random.default_rng([int(key[0]), int(key[1]), 1])
        parts = []
        step = max(1, _FALLBACK_ELEMENTS // max(B * K, 1))
        for s0 in range(0, S, step):
            n = min(step, S - s0)
            draws = comp.sample((n,), rng=seed).reshape((n, B, K) + self._event_shape)
            sel = flat_idx[s0 : s0 + n].reshape((n, B, 1) + (1,) * len(self._event_shape))
            parts.append(np.take_along_axis(draws, sel, axis=2)[:, :, 0])
        out = (
            np.concatenate(parts, axis=0)
            if parts
            else np.empty((0, B) + self._event_shape, dtype=comp.sample((0,)).dtype)
        )
        out = out.reshape(tuple(sample_shape) + self._batch_shape + self._event_shape)
        return (out, idx) if return_index else out

    def sample_grad(
        self, samples: ArrayLike, cotangent: ArrayLike | None = None, wrt: str | Sequence[str] | None = None
    ) -> dict[str, Array]:
        r"""Implicit reparameterisation gradients of ``sum(cotangent * samples)``.

        A draw ``x`` with cdf ``F`` is ``F^{-1}(u)`` at a fixed uniform ``u``, so, by the
        implicit function theorem, :math:`\partial x / \partial \theta =
        -(\partial F(x) / \partial \theta) / p(x)` (Figurnov et al. 2018; Graves 2016).
        For a mixture, a parameter of component ``k`` gets the responsibility
        :math:`r_k(x) = \pi_k p_k(x) / p(x)` times component ``k``'s own derivative, and
        :math:`\partial x / \partial \mathrm{logit}_k = \pi_k (F(x) - F_k(x)) / p(x)`.
        One pass over the samples in one kernel (no ``(N, K)`` array), float64 inside.

        Parameters
        ----------
        samples : array_like
            Draws of this mixture, shape ``(*sample, *batch_shape)`` (univariate events).
        cotangent : array_like, optional
            Broadcastable to the samples' shape (default: ones): the gradient returned is
            that of ``sum(cotangent * x(theta))``, e.g. ``f'(x)`` for ``E[f(X)]``.
        wrt : str or sequence of str, optional
            ``"logits"``, ``"probs"`` and the component parameters with a closed-form cdf
            derivative (the family's ``XGRAD``; e.g. ``"loc"``, ``"scale"``); default:
            ``"logits"`` and all of those.

        Returns
        -------
        dict
            Name -> gradient in that parameter's own shape (the logits' and probs' shape
            ``mixture_distribution.param_shape``; a component parameter's shape as given
            to its constructor: summed over broadcast dims), in the mixture's dtype.  ``"probs"`` is
            the gradient at the normalised probs
            :math:`(F(x) - F_k(x)) / p(x)` (the chain rule of :math:`w = p / \sum p`; its
            entries sum, weighted by the probs, to 0).  Zero weights contribute nothing:
            their components' parameters and logits get exactly 0.

        Raises
        ------
        NotImplementedError
            For multivariate events, component families without the hook (Beta, VonMises,
            discrete families), parameters without a closed form (Gamma's concentration,
            StudentT's df), CUDA distributions.
        ValueError
            For unknown names in ``wrt``, samples not ending with ``batch_shape``, or a
            cotangent that does not broadcast to them.

        Examples
        --------
        >>> import numpy as np
        >>> from mixstat.distributions import Categorical, MixtureSameFamily, Normal
        >>> mix = MixtureSameFamily(Categorical(probs=[0.3, 0.7]), Normal([-1.0, 2.0], [0.5, 1.0]))
        >>> x = mix.sample((1000,), rng=0)
        >>> g = mix.sample_grad(x, wrt=("loc", "scale", "logits"))
        >>> g["loc"].shape, bool(abs(g["loc"].sum() - 1000) < 1e-9)  # responsibilities sum to 1
        ((2,), True)
        """
        from ._sample_grad import sample_grad

        return sample_grad(self, samples, cotangent, wrt)

    def expand(self, batch_shape: Shape) -> MixtureSameFamily:
        batch_shape = self._expanded_batch(batch_shape)
        K = self._num_component
        new = self._expanded_copy(batch_shape)  # keeps a subclass
        new.mixture_distribution = self.mixture_distribution.expand(batch_shape)
        new.component_distribution = self.component_distribution.expand(batch_shape + (K,))
        return new

    def __repr__(self):
        return f"MixtureSameFamily(\n  {self.mixture_distribution!r},\n  {self.component_distribution!r})"


def _prod(shape):
    return int(math.prod(shape))
