"""Finite mixtures whose components share one family."""
from __future__ import annotations

import math

import numpy as np

from .._array import as_shape, fmt_shape

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


#: the reduction over components of each operation on the generic (non-kernel) path:
#: an operation without an entry here has no generic path (a KeyError, never a wrong formula)
_GENERIC_REDUCTIONS = {"log_prob": _lse_log_prob, "cdf": _weighted_cdf}


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

    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("MixtureSameFamily: mixture_distribution must be a Categorical, got "
                             f"{type(mixture_distribution).__name__}")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("MixtureSameFamily: component_distribution must be a Distribution, got "
                             f"{type(component_distribution).__name__}")
        cb = component_distribution.batch_shape
        if len(cb) == 0:
            raise ValueError("MixtureSameFamily: component_distribution.batch_shape must end with the "
                             "K components, got an empty batch_shape ()")
        K = mixture_distribution._num_events
        if cb[-1] != K:
            raise ValueError(
                f"MixtureSameFamily: component_distribution.batch_shape {fmt_shape(cb)} must end with "
                f"K={K}, the number of categories of mixture_distribution (param_shape "
                f"{fmt_shape(mixture_distribution.param_shape)})")
        mb = mixture_distribution.batch_shape
        try:
            batch = np.broadcast_shapes(mb, cb[:-1])
        except ValueError:
            raise ValueError(
                f"MixtureSameFamily: mixture_distribution.batch_shape {fmt_shape(mb)} does not broadcast "
                f"with component_distribution.batch_shape[:-1] {fmt_shape(cb[:-1])}") from None
        self.mixture_distribution = mixture_distribution
        self.component_distribution = component_distribution
        self._num_component = K
        if getattr(mixture_distribution, "_weak_dtype", False):
            self._dtype = component_distribution.dtype  # weights given as Python lists follow the components
        else:
            self._dtype = np.result_type(mixture_distribution.dtype, component_distribution.dtype)
        # on CUDA if either part is (the tables of both are packed on the host and copied over)
        self._device = ("cuda" if "cuda" in (mixture_distribution.device, component_distribution.device)
                        else "cpu")
        super().__init__(batch, component_distribution.event_shape, validate_args)

    @property
    def support(self):
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
        from .. import _device as _dev
        from .. import plan

        with _dev.host_only():
            mu = np.asarray(self.component_distribution.mean, dtype=self._dtype)
            var = np.asarray(self.component_distribution.variance, dtype=self._dtype)
        return plan.moments(dev, self.mixture_distribution.probs, mu, var, self._batch_shape,
                            self._event_shape)

    @property
    @cuda_native
    def mean(self):
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
    def variance(self):
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

    def entropy(self):
        """Not available: a mixture's entropy has no closed form.

        Raises
        ------
        NotImplementedError
            Always; estimate it by Monte Carlo, ``-mean(log_prob(sample(n)))``.
        """
        raise NotImplementedError("MixtureSameFamily: the entropy of a mixture has no closed form; "
                                  "estimate it by Monte Carlo, -mean(log_prob(sample(n)))")

    # -- densities -----------------------------------------------------------
    def log_prob(self, value):
        """Log-density of the mixture at ``value``.

        Parameters
        ----------
        value : array_like
            Broadcastable to ``(*sample, *batch_shape, *event_shape)``.

        Returns
        -------
        numpy.ndarray
            ``logsumexp_k(log pi_k + log p_k(value))``, shape ``(*sample, *batch_shape)``.
        """
        value, dtype = self._checked_value(value)
        spec = self.component_distribution._kernel_spec(dtype)
        logw = self.mixture_distribution.logits
        dev = self._placement()
        if spec is None:
            if dev is not None:
                return self._via_host(MixtureSameFamily._chunked, value, dtype, "log_prob")
            return self._chunked(value, dtype, "log_prob")
        from .. import plan

        return plan.log_prob(spec, value, self._batch_shape, self._event_shape, logw=logw, device=dev)

    def cdf(self, value):
        """``sum_k pi_k F_k(value)`` for univariate components, shape ``(*sample, *batch_shape)``."""
        if self._event_shape != ():
            raise NotImplementedError("MixtureSameFamily: cdf needs univariate components "
                                      f"(event_shape {fmt_shape(self._event_shape)})")
        value, dtype = self._checked_value(value)
        spec = self.component_distribution._kernel_spec(dtype)
        if spec is not None:
            from ..kernels import registry

            if not registry.family(spec.family).has("cdf1"):
                raise NotImplementedError(f"MixtureSameFamily: the {type(self.component_distribution).__name__} "
                                          "components have no cdf")
        dev = self._placement()
        if spec is None or spec.dim != 1:
            if dev is not None:
                return self._via_host(MixtureSameFamily._chunked, value, dtype, "cdf")
            return self._chunked(value, dtype, "cdf")
        from .. import plan

        return plan.cdf(spec, value, self._batch_shape, probs=self.mixture_distribution.probs, device=dev)

    def _chunked(self, value, dtype, op):
        """Generic path for components without a kernel: bounded ``(chunk, B, K)`` temporaries."""
        from .. import plan

        x, out_shape, batch = plan.flat_value(value, self._batch_shape, self._event_shape)
        S, B = x.shape[0], x.shape[1]
        K = self._num_component
        comp = self.component_distribution.expand(batch + (K,))
        logw = np.broadcast_to(self.mixture_distribution.logits, batch + (K,))
        out = np.empty((S, B), dtype=dtype)
        step = max(1, _FALLBACK_ELEMENTS // max(B * K, 1))
        for s0 in range(0, S, step):
            xs = x[s0:s0 + step].reshape((-1,) + batch + (1,) + self._event_shape)
            r = _GENERIC_REDUCTIONS[op](logw, comp, xs)
            out[s0:s0 + step] = r.reshape(-1, B)
        return out.reshape(out_shape)

    # -- sampling ------------------------------------------------------------
    def sample(self, sample_shape=(), rng=None, return_index=False):
        """Draw samples by ancestral sampling.

        The component index is drawn first (binary search on the cumulative
        weights), then one draw is made from that component only.

        Parameters
        ----------
        sample_shape : int or tuple of int, default ()
        rng : None, int or numpy.random.Generator
            See :meth:`Distribution.sample`.
        return_index : bool, default False
            Also return the chosen component indices, shape
            ``(*sample_shape, *batch_shape)``.

        Returns
        -------
        numpy.ndarray
            Samples of shape ``(*sample_shape, *batch_shape, *event_shape)``
            (and the indices if ``return_index``).
        """
        sample_shape = as_shape(sample_shape, "sample_shape", self._batch_shape + self._event_shape)
        from .. import plan

        cumw = self.mixture_distribution._cumw()
        spec = self.component_distribution._kernel_spec(self._dtype)
        dev = self._placement()
        if spec is not None:
            return plan.sample(spec, sample_shape, self._batch_shape, self._event_shape, rng,
                               cumw=cumw, return_index=return_index, device=dev)
        if dev is not None:
            return self._via_host(MixtureSameFamily._sample_fallback, sample_shape, rng, cumw,
                                  return_index)
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
            sel = flat_idx[s0:s0 + n].reshape((n, B, 1) + (1,) * len(self._event_shape))
            parts.append(np.take_along_axis(draws, sel, axis=2)[:, :, 0])
        out = (np.concatenate(parts, axis=0) if parts
               else np.empty((0, B) + self._event_shape, dtype=comp.sample((0,)).dtype))
        out = out.reshape(tuple(sample_shape) + self._batch_shape + self._event_shape)
        return (out, idx) if return_index else out

    def expand(self, batch_shape):
        batch_shape = self._expanded_batch(batch_shape)
        K = self._num_component
        new = self._expanded_copy(batch_shape)  # keeps a subclass
        new.mixture_distribution = self.mixture_distribution.expand(batch_shape)
        new.component_distribution = self.component_distribution.expand(batch_shape + (K,))
        return new

    def __repr__(self):
        return (f"MixtureSameFamily(\n  {self.mixture_distribution!r},\n  "
                f"{self.component_distribution!r})")



