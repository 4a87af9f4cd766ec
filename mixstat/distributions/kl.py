r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p \,\|\, q) = E_p[\log p(X) - \log q(X)]` in closed form.

:func:`kl_divergence` dispatches on the pair of classes to the most specific
rule registered with :func:`register_kl` (by the classes' method resolution
orders, as in ``torch.distributions.kl``).  Rules compute in float64 from the
parameters, with forms that stay accurate where ``p`` and ``q`` are close
(``r - 1 - log r`` and ``expm1(x) - x`` by series near 0, ``lgamma(1 + x) + euler_gamma x``
by its zeta series for the Gumbel pair, ``log1p`` for the Cauchy pair, second-order terms
``lgamma(y) - lgamma(x) - psi(x) (y - x)`` for the Gamma,
Beta and Dirichlet pairs, triangular solves with Cholesky factors for the Gaussians), and
follow torch's support conventions: ``+inf`` where ``q``'s support does not
cover ``p``'s (a Uniform ``q`` narrower than ``p``, a zero probability of
``q`` where ``p``'s is positive, a real-valued ``p`` against a positive
``q``).  Terms of zero ``p``-probability contribute exactly 0.  Ratios of scales
or rates go through their logarithms, so they may under- or overflow.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from scipy import special as sc

from .. import _device as _dev
from .._array import fmt_shape, result_dtype
from .._typing import Array
from ._binary import log_pq, p_q
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .categorical import Categorical
from .cauchy import Cauchy
from .dirichlet import Dirichlet
from .distribution import Distribution
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .halfnormal import HalfNormal
from .independent import Independent
from .laplace import Laplace
from .lognormal import LogNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .poisson import Poisson
from .studentt import StudentT
from .uniform import Uniform
from .weibull import Weibull

__all__ = ["kl_divergence", "register_kl"]

_EULER = 0.57721566490153286061
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

#: (type_p, type_q) -> rule; filled by :func:`register_kl`
_KL_REGISTRY: dict[tuple[type, type], Callable] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[Callable], Callable]:
    """Decorator registering a rule for ``kl_divergence(p, q)`` with ``p`` of class ``type_p``
    and ``q`` of class ``type_q`` (subclasses included).

    The rule takes ``(p, q)`` and returns an array broadcastable to
    ``broadcast(p.batch_shape, q.batch_shape)``; :func:`kl_divergence`
    broadcasts it and casts it to the distributions' dtype.  Among the rules
    whose classes match, the most specific one in both arguments is used; a
    pair for which no single rule is most specific (say rules for
    ``(Base, Derived)`` and ``(Derived, Base)`` and a call with two
    ``Derived``) is ambiguous: :func:`kl_divergence` raises a ``RuntimeError``
    asking for a rule for the pair.

    Parameters
    ----------
    type_p, type_q : type
        Subclasses of :class:`~mixstat.distributions.Distribution`.

    Returns
    -------
    callable
        The decorator; it returns the rule unchanged.

    Raises
    ------
    TypeError
        If ``type_p`` or ``type_q`` is not a ``Distribution`` subclass.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Normal, kl_divergence, register_kl
    >>> class Shifted(Normal):
    ...     pass
    >>> @register_kl(Shifted, Shifted)
    ... def _kl_shifted(p, q):
    ...     return np.zeros(np.broadcast_shapes(p.batch_shape, q.batch_shape))
    >>> float(kl_divergence(Shifted(0.0, 1.0), Shifted(1.0, 1.0)))
    0.0
    >>> float(kl_divergence(Normal(0.0, 1.0), Normal(1.0, 1.0)))
    0.5
    """
    for name, t in (("type_p", type_p), ("type_q", type_q)):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"register_kl: {name} must be a Distribution subclass, got {t!r}")

    def decorator(fun):
        _KL_REGISTRY[type_p, type_q] = fun
        _dispatch.cache_clear()
        return fun

    return decorator


@functools.total_ordering
class _Match:
    """A registered pair ordered by specificity (torch.distributions.kl's order)."""

    __slots__ = ("types",)

    def __init__(self, *types):
        self.types = types

    def __eq__(self, other):
        return self.types == other.types

    def __hash__(self):
        return hash(self.types)

    def __le__(self, other):
        for x, y in zip(self.types, other.types):
            if not issubclass(x, y):
                return False
            if x is not y:
                break
        return True


@functools.cache
def _dispatch(type_p, type_q):
    matches = [(sp, sq) for sp, sq in _KL_REGISTRY if issubclass(type_p, sp) and issubclass(type_q, sq)]
    if not matches:
        return None
    left_p, left_q = min(_Match(*m) for m in matches).types
    right_q, right_p = min(_Match(*reversed(m)) for m in matches).types
    left, right = _KL_REGISTRY[left_p, left_q], _KL_REGISTRY[right_p, right_q]
    if left is not right:
        raise RuntimeError(
            f"ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}): the rules for "
            f"({left_p.__name__}, {left_q.__name__}) and ({right_p.__name__}, {right_q.__name__}) "
            f"both match; register a rule with register_kl({left_p.__name__}, {right_q.__name__})"
        )
    return left


def kl_divergence(p: Distribution, q: Distribution) -> Array:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(p\,\|\,q) = E_p[\log p(X) - \log q(X)]`,
    in closed form, batched.

    Parameters
    ----------
    p, q : Distribution
        Distributions with equal ``event_shape`` and broadcastable
        ``batch_shape`` (see ``docs/api/kl_divergence.md`` for the supported pairs).

    Returns
    -------
    numpy.ndarray
        Shape ``broadcast(p.batch_shape, q.batch_shape)``; float32 when both
        distributions are float32, float64 otherwise.  ``+inf`` where the
        support of ``q`` does not cover that of ``p``.

    Raises
    ------
    NotImplementedError
        If no closed form is registered for the pair (the message names both
        classes), for ``Binomial`` pairs with ``p.total_count < q.total_count``
        and for ``Independent`` pairs that reinterpret different numbers of dims.
    ValueError
        If the event shapes differ, the batch shapes do not broadcast, or two
        ``Categorical`` have different numbers of categories.
    TypeError
        If ``p`` or ``q`` is not a ``Distribution``.
    RuntimeError
        If the registered rules are ambiguous for the pair (see :func:`register_kl`).

    Notes
    -----
    Every rule computes in float64 and the result is cast to the
    distributions' dtype.  On a CUDA distribution the result is computed on the
    host and copied to the device.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Normal, Uniform, kl_divergence
    >>> p = Normal(np.array([0.0, 1.0]), 1.0)
    >>> kl_divergence(p, Normal(0.0, 2.0)).round(6)
    array([0.318147, 0.443147])
    >>> kl_divergence(Uniform(0.0, 2.0), Uniform([0.0, 1.0], 2.0))
    array([ 0., inf])
    """
    for name, d in (("p", p), ("q", q)):
        if not isinstance(d, Distribution):
            raise TypeError(f"kl_divergence: {name} must be a Distribution, got {type(d).__name__}")
    fun = _dispatch(type(p), type(q))
    if fun is None:
        raise NotImplementedError(
            f"no closed-form KL divergence for {type(p).__name__} || {type(q).__name__}; "
            "estimate it with mixstat.estimate_kl"
        )
    if tuple(p.event_shape) != tuple(q.event_shape):
        raise ValueError(
            f"kl_divergence: event shapes differ: p ({type(p).__name__}) has event_shape "
            f"{fmt_shape(p.event_shape)}, q ({type(q).__name__}) has {fmt_shape(q.event_shape)}"
        )
    try:
        batch = np.broadcast_shapes(p.batch_shape, q.batch_shape)
    except ValueError:
        raise ValueError(
            f"kl_divergence: batch shapes do not broadcast: p ({type(p).__name__}) "
            f"{fmt_shape(p.batch_shape)}, q ({type(q).__name__}) {fmt_shape(q.batch_shape)}"
        ) from None
    on_device = (p.device == "cuda" or q.device == "cuda") and not _dev.host_scope_active()
    with _dev.host_only(), np.errstate(divide="ignore", over="ignore", under="ignore"):
        out = np.asarray(fun(p, q))
        out = np.array(np.broadcast_to(out, batch), dtype=result_dtype(p.dtype, q.dtype))
    return _dev.to_device(out) if on_device else out


# -- accurate elementary pieces ---------------------------------------------------------------
def _f(a):
    return np.asarray(a, dtype=np.float64)


def _rm1_minus_log(x, log_r):
    """``r - 1 - log r`` from ``x = r - 1`` and ``log r``, each computed from the parameters
    (so that ``log r`` stays exact where ``r`` under- or overflows, or where ``1 + x`` would
    round).  For ``|x| < 1/2`` the series in ``u = x / (2 + x)``:
    ``x - log1p(x) = 2u^2/(1-u) - 2 sum_{k>=1} u^(2k+1)/(2k+1)`` (no cancellation near 0);
    ``+inf`` for ``r = 0`` and ``r = +inf``."""
    x = _f(x)
    log_r = _f(log_r)
    small = np.abs(x) < 0.5
    u = np.where(small, x, 0.0)
    u = u / (2.0 + u)
    u2 = u * u
    term = u * u2
    s = np.zeros_like(u)
    for k in range(1, 21):  # |u| <= 1/3: u2**20 < 1e-19
        s = s + term / (2 * k + 1)
        term = term * u2
    series = 2.0 * u2 / (1.0 - u) - 2.0 * s
    with np.errstate(invalid="ignore"):  # inf - inf for r = inf: replaced below
        direct = np.where(x == np.inf, np.inf, x - log_r)
    return np.where(small, series, direct)


def _expm1_minus_x(x):
    """``expm1(x) - x``, accurate near 0 (Taylor series for ``|x| < 1/2``); ``+inf`` at ``-inf``."""
    x = _f(x)
    small = np.abs(x) < 0.5
    xs = np.where(small, x, 0.0)
    term = xs * xs / 2.0
    s = np.zeros_like(xs)
    for n in range(3, 22):  # 0.5**20 / 20! is far below 1e-16 of the first term
        s = s + term
        term = term * xs / n
    big = np.where(small, 1.0, x)
    with np.errstate(over="ignore", invalid="ignore"):
        direct = np.where(np.isinf(big), np.inf, np.expm1(big) - big)
    return np.where(small, s, direct)


def _lgamma_bregman(y, x, d=None):
    """``lgamma(y) - lgamma(x) - psi(x) (y - x)`` for ``x, y > 0``: second order in ``y - x``;
    for ``|y - x| < x / 16`` the Taylor series ``sum_{k>=2} psi^(k-1)(x) (y - x)^k / k!`` (term
    ``k`` below ``16^-(k-2)`` of the first; no cancellation), else as written (beyond ``x / 16``
    the rounding of the ``lgamma`` values is below 1e-11 of the result).  ``d``: ``y - x`` when the caller
    has it more accurately than the difference of the rounded ``y`` and ``x`` (sums of
    parameters)."""
    x, y = np.broadcast_arrays(_f(x), _f(y))
    d = y - x if d is None else np.broadcast_to(_f(d), x.shape)
    small = np.abs(d) < x / 16.0
    out = sc.gammaln(y) - sc.gammaln(x) - sc.digamma(x) * d
    if small.any():
        xs, ds = x[small], d[small]
        # term k over the first is below rho^(k-2), rho = max |d| / x < 1/16: stop at 1e-17
        rho = float(np.max(np.abs(ds) / xs))
        kmax = 2 if rho == 0.0 else min(20, 3 + math.ceil(39.2 / -math.log(rho)))
        s = np.zeros_like(xs)
        fact = 1.0
        dk = ds
        for k in range(2, kmax + 1):
            fact *= k
            dk = dk * ds
            s = s + sc.polygamma(k - 1, xs) * (dk / fact)
        out = np.array(out)
        out[small] = s
    return out


def _inf_like(p, q):
    return np.full(np.broadcast_shapes(p.batch_shape, q.batch_shape), np.inf)


def _solve_tril(L, B):
    """``L^{-1} B`` for lower-triangular ``L (..., n, n)`` and ``B (..., n, m)`` by forward
    substitution, vectorised over the batch (no inverse)."""
    n = L.shape[-1]
    shape = np.broadcast_shapes(L.shape[:-2], B.shape[:-2]) + (n, B.shape[-1])
    L = np.broadcast_to(L, shape[:-2] + (n, n))
    B = np.broadcast_to(B, shape)
    X = np.empty(shape)
    for i in range(n):
        acc = B[..., i, :]
        if i:
            acc = acc - (L[..., i : i + 1, :i] @ X[..., :i, :])[..., 0, :]
        X[..., i, :] = acc / L[..., i, i, None]
    return X


def _sumsq(X, axes):
    return (X * X).sum(axis=axes)


# -- univariate continuous families: same-family pairs ---------------------------------------
def _gauss(mp, sp, mq, sq):
    vr1 = ((sp - sq) / sq) * ((sp + sq) / sq)  # var_ratio - 1, accurate near 0
    z = (mp - mq) / sq
    return 0.5 * (_rm1_minus_log(vr1, 2.0 * (np.log(sp) - np.log(sq))) + z * z)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    return _gauss(_f(p.loc), _f(p.scale), _f(q.loc), _f(q.scale))


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p, q):
    return _gauss(_f(p.loc), _f(p.scale), _f(q.loc), _f(q.scale))


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return _gauss(0.0, _f(p.scale), 0.0, _f(q.scale))


def _gamma_core(ap, bp, aq, bq):
    """KL(Gamma(ap, bp) || Gamma(aq, bq)) with the rate terms as ``aq (y - log1p y) + (ap - aq) y``."""
    y = (bq - bp) / bp
    return aq * _rm1_minus_log(y, np.log(bq) - np.log(bp)) + (ap - aq) * y + _lgamma_bregman(aq, ap)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    return _gamma_core(_f(p.concentration), _f(p.rate), _f(q.concentration), _f(q.rate))


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    bp, bq = _f(p.rate), _f(q.rate)
    return _rm1_minus_log((bq - bp) / bp, np.log(bq) - np.log(bp))


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    return _gamma_core(1.0, _f(p.rate), _f(q.concentration), _f(q.rate))


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return _gamma_core(_f(p.concentration), _f(p.rate), 1.0, _f(q.rate))


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    # the Bregman divergence of the log-normaliser lgamma(a) + lgamma(b) - lgamma(a + b)
    # (torch's lgamma / digamma form, regrouped into second-order terms)
    ap, bp = _f(p.concentration1), _f(p.concentration0)
    aq, bq = _f(q.concentration1), _f(q.concentration0)
    ds = (aq - ap) + (bq - bp)
    return _lgamma_bregman(aq, ap) + _lgamma_bregman(bq, bp) - _lgamma_bregman(aq + bq, ap + bp, ds)


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    mp, sp, mq, sq = _f(p.loc), _f(p.scale), _f(q.loc), _f(q.scale)
    r = sp / sq
    y = np.abs(mp - mq) / sp
    # -log r + r - 1 + r (y + expm1(-y))
    return _rm1_minus_log((sp - sq) / sq, np.log(sp) - np.log(sq)) + r * _expm1_minus_x(-y)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    lp, hp, lq, hq = _f(p.low), _f(p.high), _f(q.low), _f(q.high)
    out = np.log(hq - lq) - np.log(hp - lp)
    return np.where((lq > lp) | (hq < hp), np.inf, out)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    mp, sp, mq, sq = _f(p.loc), _f(p.scale), _f(q.loc), _f(q.scale)
    d = mp - mq
    # log(((sp + sq)^2 + d^2) / (4 sp sq)) = log1p(((sp - sq)^2 + d^2) / (4 sp sq)); where the
    # argument of log1p is large, the logarithms of the scaled terms (no overflow)
    arg = 0.25 * (((sp - sq) / sp) * ((sp - sq) / sq) + (d / sp) * (d / sq))
    t = np.maximum(sp + sq, np.abs(d))
    big = 2.0 * np.log(t) + np.log(((sp + sq) / t) ** 2 + (d / t) ** 2) - np.log(4.0) - np.log(sp) - np.log(sq)
    return np.where(arg < 1.0, np.log1p(arg), big)


_ZETA_OVER_K = [(-1.0) ** k * float(sc.zeta(k)) / k for k in range(2, 32)]


def _lgamma1p_plus_euler(x, r, log_r):
    """``lgamma(r) + euler_gamma x`` for ``r = 1 + x > 0`` (``x``, ``r`` and ``log r`` each
    computed from the parameters), accurate near ``x = 0`` (where both terms are ``O(x)`` and
    the sum ``O(x^2)``): ``sum_{k>=2} (-1)^k zeta(k) x^k / k`` for ``|x| < 1/4``; for
    ``r < 1e-300``, ``lgamma(r) = -log r - euler_gamma r`` (to rounding)."""
    x = _f(x)
    small = np.abs(x) < 0.25
    xs = np.where(small, x, 0.0)
    s = np.zeros_like(xs)
    for c in reversed(_ZETA_OVER_K):  # Horner in x, from x^2 to x^31; 0.25^29 < 1e-17
        s = (s + c) * xs
    series = s * xs
    tiny = r < 1e-300
    lg = np.where(tiny, -log_r - _EULER * r, sc.gammaln(np.where(tiny, 1.0, r)))
    return np.where(small, series, lg + _EULER * x)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    mp, sp, mq, sq = _f(p.loc), _f(p.scale), _f(q.loc), _f(q.scale)
    # with r = sp/sq = 1 + e and z = (mp - mq)/sq:
    # KL = -log r + z + gamma (r - 1) + exp(-z + lgamma(1 + r)) - 1
    #    = g(e) + expm1(w) - w,  g(e) = lgamma(1 + e) + gamma e,  w = -z + lgamma(2 + e)
    e = (sp - sq) / sq
    r = sp / sq
    log_r = np.log(sp) - np.log(sq)
    g = _lgamma1p_plus_euler(e, r, log_r)
    w = (mq - mp) / sq + (np.where(np.abs(e) < 0.25, np.log1p(e), log_r) + g - _EULER * e)
    return g + _expm1_minus_x(w)


# -- cross pairs of univariate continuous families -----------------------------------------------
def _entropy_mean_var(p):
    """``(H, E X, Var X)`` in float64 for the families with a finite variance used below."""
    if isinstance(p, Exponential):
        b = _f(p.rate)
        return 1.0 - np.log(b), 1.0 / b, 1.0 / (b * b)
    if isinstance(p, Gamma):
        a, b = _f(p.concentration), _f(p.rate)
        return a - np.log(b) + sc.gammaln(a) + (1.0 - a) * sc.digamma(a), a / b, a / (b * b)
    if isinstance(p, Beta):
        a, b = _f(p.concentration1), _f(p.concentration0)
        s = a + b
        h = sc.betaln(a, b) - (a - 1.0) * sc.digamma(a) - (b - 1.0) * sc.digamma(b) + (s - 2.0) * sc.digamma(s)
        return h, a / s, a * b / (s * s * (s + 1.0))
    if isinstance(p, Uniform):
        lo, hi = _f(p.low), _f(p.high)
        return np.log(hi - lo), 0.5 * (lo + hi), (hi - lo) ** 2 / 12.0
    if isinstance(p, Laplace):
        m, s = _f(p.loc), _f(p.scale)
        return 1.0 + np.log(2.0 * s), m, 2.0 * s * s
    if isinstance(p, Gumbel):
        m, s = _f(p.loc), _f(p.scale)
        return np.log(s) + _EULER + 1.0, m + _EULER * s, (math.pi * s) ** 2 / 6.0
    if isinstance(p, HalfNormal):
        s = _f(p.scale)
        return 0.5 * np.log(0.5 * math.pi * s * s) + 0.5, s * math.sqrt(2.0 / math.pi), s * s * (1.0 - 2.0 / math.pi)
    if isinstance(p, Normal):
        m, s = _f(p.loc), _f(p.scale)
        return 0.5 + _HALF_LOG_2PI + np.log(s), m, s * s
    raise TypeError(type(p).__name__)  # pragma: no cover - only registered classes reach here


def _to_normal(p, q):
    """``-H(p) + log s + log(2 pi)/2 + (Var p + (E p - m)^2) / (2 s^2)`` for ``q = Normal(m, s)``."""
    h, mean, var = _entropy_mean_var(p)
    m, s = _f(q.loc), _f(q.scale)
    z = (mean - m) / s
    return -h + np.log(s) + _HALF_LOG_2PI + 0.5 * (var / s / s + z * z)


_cls: type
_p: type
_q: type
for _cls in (Exponential, Gamma, Beta, Uniform, Laplace, Gumbel, HalfNormal):
    register_kl(_cls, Normal)(_to_normal)


def _mean_log(p):
    """``E log X`` in float64 for the non-negative families used below (Uniform: ``low >= 0``)."""
    if isinstance(p, Beta):
        a, b = _f(p.concentration1), _f(p.concentration0)
        return sc.digamma(a) - sc.digamma(a + b)
    if isinstance(p, HalfNormal):
        return np.log(_f(p.scale)) - 0.5 * (_EULER + math.log(2.0))
    lo, hi = _f(p.low), _f(p.high)  # Uniform; entries with low < 0 are replaced by inf by the caller
    bad = lo < 0.0
    lo, hi = np.where(bad, 1.0, lo), np.where(bad, 2.0, hi)
    return (sc.xlogy(hi, hi) - sc.xlogy(lo, lo)) / (hi - lo) - 1.0


def _to_gamma(p, q):
    """``-H(p) - a log b + lgamma(a) - (a - 1) E log X + b E X`` for ``q = Gamma(a, b)``."""
    h, mean, _ = _entropy_mean_var(p)
    a, b = _f(q.concentration), _f(q.rate)
    out = -h - a * np.log(b) + sc.gammaln(a) - (a - 1.0) * _mean_log(p) + b * mean
    if isinstance(p, Uniform):
        out = np.where(_f(p.low) < 0.0, np.inf, out)
    return out


def _to_exponential(p, q):
    """``-H(p) - log b + b E X`` for ``q = Exponential(b)``."""
    h, mean, _ = _entropy_mean_var(p)
    b = _f(q.rate)
    out = -h - np.log(b) + b * mean
    if isinstance(p, Uniform):
        out = np.where(_f(p.low) < 0.0, np.inf, out)
    return out


for _cls in (Beta, Uniform, HalfNormal):
    register_kl(_cls, Gamma)(_to_gamma)
    register_kl(_cls, Exponential)(_to_exponential)


def _log_mgf_neg(p, t):
    """``log E exp(-t X)`` for ``t > 0`` in float64."""
    if isinstance(p, Normal):
        m, s = _f(p.loc), _f(p.scale)
        return -t * m + 0.5 * (t * s) ** 2
    if isinstance(p, Exponential):
        b = _f(p.rate)
        return -np.log1p(t / b)
    if isinstance(p, Gamma):
        return -_f(p.concentration) * np.log1p(t / _f(p.rate))
    lo, hi = _f(p.low), _f(p.high)  # Uniform: (e^{-t lo} - e^{-t hi}) / (t (hi - lo))
    w = t * (hi - lo)
    return -t * lo + np.log(-np.expm1(-w)) - np.log(w)


def _to_gumbel(p, q):
    """``-H(p) + log s + (E X - m)/s + E exp(-(X - m)/s)`` for ``q = Gumbel(m, s)``."""
    h, mean, _ = _entropy_mean_var(p)
    m, s = _f(q.loc), _f(q.scale)
    return -h + np.log(s) + (mean - m) / s + np.exp(m / s + _log_mgf_neg(p, 1.0 / s))


for _cls in (Normal, Exponential, Gamma, Uniform):
    register_kl(_cls, Gumbel)(_to_gumbel)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    mp, sp, mq, b = _f(p.loc), _f(p.scale), _f(q.loc), _f(q.scale)
    d = mp - mq
    e_abs = sp * math.sqrt(2.0 / math.pi) * np.exp(-0.5 * (d / sp) ** 2) + d * sc.erf(d / (sp * math.sqrt(2.0)))
    return -(0.5 + _HALF_LOG_2PI + np.log(sp)) + np.log(2.0 * b) + e_abs / b


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    h, _, _ = _entropy_mean_var(p)
    lo, hi = _f(q.low), _f(q.high)
    return np.where((lo > 0.0) | (hi < 1.0), np.inf, -h + np.log(hi - lo))


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    lo, hi = _f(p.low), _f(p.high)
    a, b = _f(q.concentration1), _f(q.concentration0)
    out_of = (lo < 0.0) | (hi > 1.0)
    lo_c, hi_c = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
    w = hi - lo
    with np.errstate(invalid="ignore"):  # entries outside [0, 1] are replaced by inf below
        e_log_x = (sc.xlogy(hi_c, hi_c) - sc.xlogy(lo_c, lo_c)) / w - 1.0
        e_log_1mx = (sc.xlogy(1.0 - lo_c, 1.0 - lo_c) - sc.xlogy(1.0 - hi_c, 1.0 - hi_c)) / w - 1.0
        out = -np.log(w) + sc.betaln(a, b) - (a - 1.0) * e_log_x - (b - 1.0) * e_log_1mx
    return np.where(out_of, np.inf, out)


# supports that cannot hold p's: a real line or half line against a bounded or positive q
_REAL = (Normal, Laplace, Gumbel, Cauchy, StudentT)
_HALF_LINE = (Exponential, Gamma, HalfNormal, LogNormal, Weibull)
for _p in _REAL + _HALF_LINE:
    for _q in (Uniform, Beta):
        register_kl(_p, _q)(_inf_like)
for _p in _REAL:
    for _q in _HALF_LINE:
        if (_p, _q) not in _KL_REGISTRY:
            register_kl(_p, _q)(_inf_like)


# -- discrete families -------------------------------------------------------------------------
def _binary_logs(d):
    """``(p, 1 - p, log p, log(1 - p))`` in float64 from the given parameter of a binary family."""
    kw = {d._given: np.asarray(getattr(d, d._given))}
    pp, qq = p_q(**kw)
    lp, lq = log_pq(**kw)
    return pp, qq, lp, lq


def _bernoulli_core(p, q):
    pp, pq_, lpp, lpq = _binary_logs(p)
    _, _, lqp, lqq = _binary_logs(q)
    with np.errstate(invalid="ignore"):  # -inf - -inf where the weight is 0: masked
        t1 = np.where(pp > 0, pp * (lpp - lqp), 0.0)
        t2 = np.where(pq_ > 0, pq_ * (lpq - lqq), 0.0)
    return t1 + t2


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    return _bernoulli_core(p, q)


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    n_p, n_q = np.broadcast_arrays(_f(p.total_count), _f(q.total_count))
    if (n_p < n_q).any():
        raise NotImplementedError(
            "no closed-form KL divergence for Binomial || Binomial where "
            "p.total_count < q.total_count; estimate it with mixstat.estimate_kl"
        )
    kl = _bernoulli_core(p, q)
    with np.errstate(invalid="ignore"):
        out = np.where(n_p == 0, 0.0, n_p * kl)
    return np.where(n_p > n_q, np.inf, out)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    pp, pq_, lpp, lpq = _binary_logs(p)
    _, _, lqp, lqq = _binary_logs(q)
    with np.errstate(invalid="ignore"):
        tail = np.where(pq_ > 0, pq_ / pp * (lpq - lqq), 0.0)
    return (lpp - lqp) + tail


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    rp, rq = np.broadcast_arrays(_f(p.rate), _f(q.rate))
    pos = rp > 0
    with np.errstate(invalid="ignore"):
        rs = np.where(pos, rp, 1.0)
        out = rp * _rm1_minus_log(np.where(pos, (rq - rp) / rs, 0.0), np.log(rq) - np.log(rs))
    return np.where(pos, out, rq)


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    pp, pq_, lpp, lpq = _binary_logs(p)
    r = _f(q.rate)
    with np.errstate(invalid="ignore"):
        neg_h = np.where(pp > 0, pp * lpp, 0.0) + np.where(pq_ > 0, pq_ * lpq, 0.0)
    return neg_h + r - sc.xlogy(pp, r)


@register_kl(Poisson, Bernoulli)
def _kl_poisson_bernoulli(p, q):
    rp = _f(p.rate)
    _, _, _, lqq = _binary_logs(q)
    return np.where(rp == 0, -lqq, np.inf)


@register_kl(Poisson, Binomial)
def _kl_poisson_binomial(p, q):
    # a Poisson puts mass on every count unless its rate is 0 (a point mass at 0)
    rp = _f(p.rate)
    _, _, _, lqq = _binary_logs(q)
    with np.errstate(invalid="ignore"):  # n = 0 with log(1 - q) = -inf: the mass at 0 is 1
        at0 = np.where(_f(q.total_count) == 0, 0.0, -_f(q.total_count) * lqq)
    return np.where(rp == 0, at0, np.inf)


def _geometric_to_binary(p, q):
    # a Geometric puts mass on every count unless p = 1 (a point mass at 0)
    pp, _, _, _ = _binary_logs(p)
    _, _, _, lqq = _binary_logs(q)
    n = _f(getattr(q, "total_count", 1.0))
    with np.errstate(invalid="ignore"):
        at0 = np.where(n == 0, 0.0, -n * lqq)
    return np.where(pp == 1.0, at0, np.inf)


register_kl(Geometric, Bernoulli)(_geometric_to_binary)
register_kl(Geometric, Binomial)(_geometric_to_binary)


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    if p._num_events != q._num_events:
        raise ValueError(
            f"kl_divergence: Categorical p has {p._num_events} categories (probs of shape "
            f"{fmt_shape(p.param_shape)}), q has {q._num_events} (probs of shape "
            f"{fmt_shape(q.param_shape)})"
        )
    pp = _f(p.probs)
    lp, lq = _f(p.logits), _f(q.logits)
    with np.errstate(invalid="ignore"):
        t = np.where(pp > 0, pp * (lp - lq), 0.0)
    return t.sum(-1)


# -- vector families ---------------------------------------------------------------------------
@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    # torch's form regrouped: sum_i B(aq_i; ap_i) - B(sum aq; sum ap), B the lgamma Bregman term
    ap, aq = np.broadcast_arrays(_f(p.concentration), _f(q.concentration))
    ds = (aq - ap).sum(-1)
    return _lgamma_bregman(aq, ap).sum(-1) - _lgamma_bregman(aq.sum(-1), ap.sum(-1), ds)


def _logdet_tril(L):
    return np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    n = p.event_shape[0]
    Lp, Lq = p._L64, q._L64
    half_logdet = _logdet_tril(Lq) - _logdet_tril(Lp)
    term2 = _sumsq(_solve_tril(Lq, Lp), (-2, -1))
    z = _solve_tril(Lq, (_f(q.loc) - _f(p.loc))[..., None])[..., 0]
    return half_logdet + 0.5 * (term2 + _sumsq(z, -1) - n)


class _LowRank:
    """Woodbury pieces of a LowRankMultivariateNormal in float64: ``W``, ``d``,
    ``s = d^{-1/2}``, ``A = L_C^{-1} W^T D^{-1}`` (``r x D``) and ``log|Sigma|``."""

    def __init__(self, d):
        from ..kernels.families.lowrank_mvn import capacitance

        self.W = _f(d.cov_factor)
        self.d = _f(d.cov_diag)
        self.s = 1.0 / np.sqrt(self.d)
        B, self.logdet = capacitance(self.W, self.d)
        self.A = B * self.s[..., None, :]
        self._B = B

    def mahalanobis(self, x):
        """``x^T Sigma^{-1} x`` for ``x (..., D)``."""
        y = x * self.s
        By = (self._B @ y[..., None])[..., 0]
        return _sumsq(y, -1) - _sumsq(By, -1)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p, q):
    n = p.event_shape[0]
    P, Q = _LowRank(p), _LowRank(q)
    term1 = Q.logdet - P.logdet
    term3 = Q.mahalanobis(_f(q.loc) - _f(p.loc))
    # tr(Sigma_q^{-1} Sigma_p) with Sigma_q^{-1} = D_q^{-1} - A^T A and Sigma_p = W_p W_p^T + D_p
    term21 = (P.d / Q.d).sum(-1)
    term22 = _sumsq(P.W * Q.s[..., :, None], (-2, -1))
    term23 = _sumsq(Q.A * np.sqrt(P.d)[..., None, :], (-2, -1))
    term24 = _sumsq(Q.A @ P.W, (-2, -1))
    return 0.5 * (term1 + term21 + term22 - term23 - term24 + term3 - n)


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p, q):
    n = p.event_shape[0]
    Q = _LowRank(q)
    Lp = p._L64
    term1 = Q.logdet - 2.0 * _logdet_tril(Lp)
    term3 = Q.mahalanobis(_f(q.loc) - _f(p.loc))
    term21 = _sumsq(Lp * Q.s[..., :, None], (-2, -1))
    term22 = _sumsq(Q.A @ Lp, (-2, -1))
    return 0.5 * (term1 + term21 - term22 + term3 - n)


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p, q):
    n = p.event_shape[0]
    P = _LowRank(p)
    Lq = q._L64
    term1 = 2.0 * _logdet_tril(Lq) - P.logdet
    z = _solve_tril(Lq, (_f(q.loc) - _f(p.loc))[..., None])[..., 0]
    term21 = _sumsq(_solve_tril(Lq, P.W), (-2, -1)) if P.W.shape[-1] else 0.0
    term22 = _sumsq(_solve_tril(Lq, np.sqrt(P.d)[..., :, None] * np.eye(n)), (-2, -1))
    return 0.5 * (term1 + term21 + term22 + _sumsq(z, -1) - n)


# -- Independent ------------------------------------------------------------------------------
def _leaf(d):
    n = 0
    while isinstance(d, Independent):
        n += d.reinterpreted_batch_ndims
        d = d.base_dist
    return d, n


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    bp, n_p = _leaf(p)
    bq, n_q = _leaf(q)
    if n_p != n_q:
        raise NotImplementedError(
            f"no closed-form KL divergence for Independent || Independent reinterpreting different "
            f"numbers of batch dims ({n_p} and {n_q}); estimate it with mixstat.estimate_kl"
        )
    r = _f(kl_divergence(bp, bq))
    return r.sum(axis=tuple(range(-n_p, 0))) if n_p else r


del _cls, _p, _q
