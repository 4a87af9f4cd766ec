"""Exact count samplers on the counter-based Philox stream: Poisson (and, through it, the
Gamma-Poisson mixture of the negative binomial).

A shared kernel module (family modules import shared modules only, never each other),
written like :mod:`.samplers`: ``register_jitable`` functions of scalar float64
arithmetic, ``math.*`` and loops with fixed caps, compiled for the CPU and as CUDA
device functions from this one source.  Each takes ``(key0, key1, n, c, lam)``: the
Philox key, the output element ``n``, the counter word ``c`` and the rate; it returns
the count as a float64 (an integer value; NaN for a NaN or negative rate).

Counter words
-------------
``poisson(.., c, lam)`` uses word ``c`` only:

* ``lam < 10``: inversion, one open uniform from words (w0, w1) of block 1;
* ``lam >= 10``: PTRS, try ``t = 1, 2, ..`` uses block ``t``: words (w0, w1) give
  ``U``, words (w2, w3) give ``V``.  At most 1000 tries (acceptance above 0.89 per
  try for ``lam >= 10``); then ``floor(lam)`` (not reached in practice).

``negative_binomial(.., c, total_count, log_odds)`` uses words ``c`` (the Gamma draw,
see :mod:`.samplers`) and ``c + 1`` (the Poisson draw).

Algorithms
----------
* Inversion by sequential search (e.g. Devroye 1986, X.3.3): ``p_0 = exp(-lam)``,
  ``p_k = p_{k-1} lam / k``, the first ``k`` with ``U <= p_0 + .. + p_k``; it stops
  when the partial sum no longer grows (``U`` within rounding of 1).
* PTRS, W. Hörmann, "The transformed rejection method for generating Poisson random
  variables", Insurance: Mathematics and Economics 12, 1993: ``b = 0.931 + 2.53
  sqrt(lam)``, ``a = -0.059 + 0.02483 b``, ``1/alpha = 1.1239 + 1.1328 / (b - 3.4)``,
  ``v_r = 0.9277 - 3.6224 / (b - 2)``; ``U`` uniform on (-1/2, 1/2), ``V`` on (0, 1),
  ``us = 1/2 - |U|``, ``k = floor((2 a / us + b) U + lam + 0.43)``; accept at once if
  ``us >= 0.07`` and ``V <= v_r``; reject if ``k < 0`` or ``us < 0.013`` and
  ``V > us``; else accept if ``log(V / alpha / (a / us^2 + b)) <= log p(k)``.
  ``log p(k) = k log lam - lam - log k!`` is formed directly, with ``log k!`` from a
  table, for ``k < 1024`` (``k log lam`` is then below ``1024 log lam``: an absolute
  error of at most about 4e-12 in the test for rates up to 1e15, 1e-12 for rates up to
  1000), and without cancellation above: ``-lam ((1 + t) log1pmx(t) + t^2) - log(2 pi k)
  / 2 - stirling(k)`` with ``t = (k - lam) / lam`` (Loader's deviance form), so that
  rates up to 1e15 (where ``k log lam`` is 3.5e16) keep the acceptance test exact to
  rounding.  The three logarithms of the test are one: ``log(V (1/alpha) / (a / us^2 + b))``.
* Negative binomial: ``Poisson(G odds)``, ``G ~ Gamma(total_count, 1)``, ``odds =
  probs / (1 - probs)`` (torch's convention), the rate formed as
  ``exp(log G + log odds)`` so that tiny and huge rates are right.
"""

import math

import numpy as np
from numba.extending import register_jitable

from .philox import block_c
from .samplers import _open, log_std_gamma
from .special import _stirling_corr, log1pmx

_NAN = math.nan
_INF = math.inf
_MAX_TRIES = 1000
_SWITCH = 10.0  # inversion below, PTRS at and above
_HL2PI = 0.5 * math.log(2.0 * math.pi)
_EXP_MAX = 709.0
_TWO52 = 4503599627370496.0
_MAX_INV = 400  # inversion steps: P(X > 400 | lam < 10) < 1e-500


#: ``log(k!)`` for ``k < LOG_FACT_N`` (SciPy's ``gammaln``, correctly rounded to about 1 ulp)
LOG_FACT_N = 1024


def _log_fact_table():
    from scipy import special

    return special.gammaln(np.arange(LOG_FACT_N, dtype=np.float64) + 1.0)


_LOG_FACT = _log_fact_table()


@register_jitable
def log_factorial(x):
    """``log(x!) = lgamma(x + 1)`` for a non-negative integer float64 ``x``: a table lookup
    below :data:`LOG_FACT_N` (a scalar ``lgamma`` call per point made the per-point
    quantity of the count families cost more than their per-component terms), ``lgamma``
    above (and for NaN or inf)."""
    if x < LOG_FACT_N:
        return _LOG_FACT[np.int64(x)]
    return math.lgamma(x + 1.0)


@register_jitable
def log_factorial_fast(x):
    """:func:`log_factorial` without a branch (a SIMD loop's form): the table's entry for an
    integer ``0 <= x <`` :data:`LOG_FACT_N`, NaN for any other float64 (larger counts,
    non-integers, negative values, NaN and inf: the caller redoes those with
    :func:`log_factorial`)."""
    ok = (x >= 0.0) & (x < LOG_FACT_N)
    i = np.int64(x if ok else 0.0)
    return _LOG_FACT[i] if ok & (np.float64(i) == x) else math.nan


@register_jitable
def ffloor(x):
    """``floor(x)`` as a float64 (``math.floor`` gives an int64 in numba, which cannot hold
    ``|x| >= 2**63``; every float64 of magnitude ``>= 2**52`` is an integer already)."""
    if math.fabs(x) < _TWO52:
        return np.float64(math.floor(x))
    return x


@register_jitable
def is_count(x):
    """Whether the float64 ``x`` is a non-negative finite integer."""
    return x >= 0.0 and x < _INF and ffloor(x) == x


@register_jitable
def _log_pmf(k, lam, loglam):
    """``k log lam - lam - log k!`` for an integer ``k >= 0`` and ``lam >= 10``: directly, with
    ``log k!`` from the table, below :data:`LOG_FACT_N`, else in Loader's deviance form (see
    the module's docstring)."""
    if k < LOG_FACT_N:
        return k * loglam - lam - _LOG_FACT[np.int64(k)]
    t = (k - lam) / lam
    bd0 = lam * ((1.0 + t) * log1pmx(t) + t * t)  # k log(k / lam) + lam - k
    return -bd0 - 0.5 * math.log(k) - _HL2PI - _stirling_corr(k)


@register_jitable
def _inversion(key0, key1, n, c, lam):
    w0, w1, w2, w3 = block_c(key0, key1, n, 1, c)
    u = _open(w0, w1)
    p = math.exp(-lam)
    s = p
    k = 0
    while u > s and k < _MAX_INV:
        k += 1
        p *= lam / k
        s2 = s + p
        if s2 == s:
            break
        s = s2
    return np.float64(k)


@register_jitable
def _ptrs(key0, key1, n, c, lam):
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    for t in range(1, _MAX_TRIES + 1):
        w0, w1, w2, w3 = block_c(key0, key1, n, t, c)
        u = _open(w0, w1) - 0.5
        v = _open(w2, w3)
        us = 0.5 - math.fabs(u)
        k = ffloor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if math.log(v * invalpha / (a / (us * us) + b)) <= _log_pmf(k, lam, loglam):
            return k
    return ffloor(lam)  # not reached in practice


@register_jitable
def poisson(key0, key1, n, c, lam):
    """A Poisson(``lam``) count (as float64) from word ``c``; ``lam = 0`` gives 0."""
    lam = np.float64(lam)
    if not (lam >= 0.0):
        return _NAN
    if lam < _SWITCH:
        return _inversion(key0, key1, n, c, lam)
    if lam == _INF:
        return _INF
    return _ptrs(key0, key1, n, c, lam)


@register_jitable
def negative_binomial(key0, key1, n, c, total_count, log_odds):
    """Successes before ``total_count`` failures, success probability ``sigmoid(log_odds)``:
    ``Poisson(G exp(log_odds))``, G ~ Gamma(total_count) on word ``c``, the Poisson on ``c + 1``."""
    total_count = np.float64(total_count)
    log_odds = np.float64(log_odds)
    if not (total_count > 0.0) or log_odds != log_odds:
        return _NAN
    if log_odds == -_INF:
        return 0.0
    y = log_std_gamma(key0, key1, n, c, total_count) + log_odds
    if y > _EXP_MAX:
        return _INF
    return poisson(key0, key1, n, c + 1, math.exp(y))
