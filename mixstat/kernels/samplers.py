"""Exact scalar samplers on the counter-based Philox stream.

Every function here is a plain Python function registered with
:func:`numba.extending.register_jitable` (not ``inline='always'``): it compiles
into CPU ``njit`` / ``njit(parallel=True)`` kernels, into ``numba.cuda.jit``
kernels as a device function, and runs as Python in the CUDA simulator.  So the
bodies use only scalar float64 arithmetic, ``math.*``, ``np.float64`` /
``np.uint64`` casts, and loops with a fixed cap on the number of tries (after
the cap a deterministic fallback is returned: nothing hangs, nothing raises).
Invalid parameters (``<= 0`` or NaN) give NaN.

Signatures
----------
Each sampler takes ``(key0, key1, n, c, *params)``: the Philox key, the output
element ``n`` and the first counter word ``c`` the draw may use.

``open_uniform(key0, key1, n, c, j)``
    Uniform on the open interval (0, 1) from block ``j`` of word ``c``.
``std_normal(key0, key1, n, c)``, ``std_exponential``, ``std_cauchy``,
``std_laplace``, ``std_gumbel``
    Standard forms (Gumbel: of the maximum, scipy's ``gumbel_r``).
``std_gamma(key0, key1, n, c, a)``, ``log_std_gamma(key0, key1, n, c, a)``
    Gamma(a, 1) and its logarithm, any ``a > 0``.
``std_beta(key0, key1, n, c, a, b)``, ``std_t(key0, key1, n, c, df)``
``von_mises(key0, key1, n, c, kappa)``
    An angle in [-pi, pi] centred at 0 (the caller adds ``loc`` and wraps).

Random words
------------
``block_c(key0, key1, n, j, c)`` gives four 32-bit words ``(w0, w1, w2, w3)``
of block ``j`` of counter word ``c`` of element ``n``; block ``j = 0`` is never
used here (``(j=0, c=0)`` chooses the mixture component).  From a word pair
``(hi, lo)``:

* ``u53(hi, lo)``: the top 53 bits, ``k * 2**-53`` in [0, 1);
* ``_open(hi, lo)``: the top 52 bits, ``(k + 1/2) * 2**-52`` in (0, 1) strictly
  (``2**-53 <= U <= 1 - 2**-53``, every value exact, ``1 - U`` exact too).

Counter-word allocation (a draw started at word ``c``; a coordinate owns
``[4 i, 4 i + 4)``, so ``c = 4 i``)
--------------------------------------------------------------------------
=================  ========  =====================================================
sampler            words     blocks
=================  ========  =====================================================
open_uniform       c         block j (the argument), words (w0, w1)
std_normal         c         block 1, all four words (Box-Muller)
std_exponential,   c         block 1, words (w0, w1) (``open_uniform(.., c, 1)``)
cauchy, laplace,
gumbel
std_gamma,         c         try t = 1, 2, ... uses blocks 2t-1 (the normal, by
log_std_gamma                Box-Muller, four words) and 2t (the acceptance
                             uniform, words (w0, w1)); for a < 1 the boost uniform
                             is words (w2, w3) of block 2 (unused by the loop)
std_beta           c, c+1    Gamma(a) on word c, Gamma(b) on word c+1
std_t              c, c+1    Gamma(df/2) on word c, the normal on word c+1 block 1
von_mises          c         try t uses block t: (w0, w1) -> the proposal,
                             (w2, w3) -> the acceptance uniform, bit 0 of w1 (one
                             of the 11 bits ``u53`` drops) -> the sign
=================  ========  =====================================================

So every draw uses at most two of its coordinate's four words, and a result
depends only on (key, n, c, parameters): the same bits at any thread count,
chunking or device.

Algorithms
----------
* Normal: Box-Muller (Box & Muller, Ann. Math. Statist. 29, 1958), the cosine
  branch, ``sqrt(-2 log(1 - u53(w0, w1))) * cos(2 pi u53(w2, w3))`` (the same
  value as the first of ``philox.normal_pair`` for ``c = 0``).
* Exponential, Cauchy, Laplace, Gumbel: inversion of the cdf at an open
  uniform; Cauchy as ``tan(pi (U - 1/2))`` for ``|U - 1/2| <= 1/4`` and
  ``-+cot(pi min(U, 1 - U))`` in the tails (no loss near the poles); Laplace
  ``log(2 U)`` / ``-log(2 (1 - U))``; Gumbel ``-log(-log U)`` with
  ``log U = log1p(-(1 - U))`` for ``U > 1/2``.
* Gamma, a >= 1: Marsaglia & Tsang, "A simple method for generating gamma
  variables", ACM TOMS 26(3), 2000: ``d = a - 1/3``, ``v = (1 + x / sqrt(9 d))**3``
  with x normal, accept if ``u < 1 - 0.0331 x**4`` or
  ``log u < x**2 / 2 + d (1 - v + log v)``; ``G = d v``, ``log G = log d + log v``.
  At most 1000 tries (acceptance >= 0.95 per try); then ``G = d``.
* Gamma, a < 1: the boost of Marsaglia & Tsang (same paper, and Stuart 1962):
  ``G(a) = G(a + 1) U**(1/a)``, computed in logs,
  ``log G(a) = log G(a + 1) + log(U) / a``, which stays finite when ``G(a)``
  underflows (a = 1e-3); ``std_gamma`` is ``exp`` of it for a < 1.
* Beta: ``X / (X + Y)`` with X ~ Gamma(a), Y ~ Gamma(b) (e.g. Devroye,
  Non-Uniform Random Variate Generation, 1986, ch. IX), from the logs:
  ``1 / (1 + exp(log Y - log X))`` (written so that exp never overflows), so
  a, b << 1 work.  (If both logs are -inf, a and b below ~1e-308, it returns 1/2.)
* Student t: ``Z / sqrt(G / h)`` with ``h = df / 2`` and G ~ Gamma(h) (chi-square
  with df degrees of freedom over df), exact for any df > 0; for h < 1 through
  ``log G``.
* von Mises: Best & Fisher, "Efficient simulation of the von Mises
  distribution", Appl. Statist. 28(2), 1979 (wrapped-Cauchy envelope):
  ``tau = 1 + sqrt(1 + 4 k**2)``, ``rho = (tau - sqrt(2 tau)) / (2 k)``,
  ``r = (1 + rho**2) / (2 rho)``; ``z = cos(pi U1)``, ``f = (1 + r z) / (r + z)``,
  ``c = k (r - f)``; accept if ``c (2 - c) > U2`` or ``log(c / U2) + 1 - c >= 0``;
  ``theta = +-acos(f)``.  Rewritten without cancellation, exact in exact
  arithmetic: ``rho = 2 k / (tau + sqrt(2 tau))``,
  ``1 - rho = (1 + 1/(sqrt(1 + 4 k**2) + 2 k) + sqrt(2 tau)) / (tau + sqrt(2 tau))``,
  ``e = r - 1 = (1 - rho)**2 / (2 rho)``; with ``z = -cos(pi w)``,
  ``p = 1 + z = 2 sin(pi w / 2)**2`` and ``q = 1 - z = 2 cos(pi w / 2)**2``:
  ``c = k e (2 + e) / (e + p)`` and
  ``theta = 2 atan2(sqrt(e q), sqrt((2 + e) p))`` (half-angle form of acos(f)),
  so kappa = 700, 1e5, 1e6 keep full relative accuracy (theta ~ kappa**-1/2)
  and small kappa needs no special form.  The exact path is used down to
  kappa = 1e-17; below (and at kappa = 0) the angle is uniform, which differs
  from von Mises by less than kappa in total variation, under the 2**-53
  resolution of the uniforms.  At most 1000 tries (acceptance >= 0.65 per
  try); then the last proposal.  Above kappa = 1e300 (where 2 kappa may
  overflow) ``e = 1/(2 kappa)`` and ``kappa (r**2 - 1) = 1``, exact to a
  relative 1e-150.

Tests: ``tests/test_draws.py`` (its docstring states the false-alarm rate).
"""

import math

import numpy as np
from numba.extending import register_jitable

from .philox import block_c, u53

_S12 = np.uint64(12)
_S32 = np.uint64(32)
_ONE_U = np.uint64(1)
_ZERO_U = np.uint64(0)
_TWO_M52 = 1.0 / 4503599627370496.0
_PI = math.pi
_TWO_PI = 2.0 * math.pi
_HALF_PI = 0.5 * math.pi
_NAN = math.nan
_INF = math.inf
_MAX_TRIES = 1000
_KAPPA_UNIFORM = 1e-17
_KAPPA_HUGE = 1e300  # above, 2 kappa may overflow: the asymptotic e, exact to 1e-150
_LN2 = math.log(2.0)
_EXP_MAX = 709.0  # exp of more would overflow (and raises in the simulator)


@register_jitable
def _open(hi, lo):
    """A float64 in (0, 1) strictly, ``(k + 1/2) * 2**-52``, from the top 52 of 64 bits."""
    k = ((np.uint64(hi) << _S32) | np.uint64(lo)) >> _S12
    return (np.float64(k) + 0.5) * _TWO_M52


@register_jitable
def open_uniform(key0, key1, n, c, j):
    """Uniform on (0, 1), never 0 nor 1, from words (w0, w1) of block ``j`` (>= 1) of word ``c``."""
    w0, w1, w2, w3 = block_c(key0, key1, n, j, c)
    return _open(w0, w1)


@register_jitable
def _box_muller(w0, w1, w2, w3):
    u1 = 1.0 - u53(w0, w1)  # (0, 1]: the log is finite
    u2 = u53(w2, w3)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)


@register_jitable
def std_normal(key0, key1, n, c):
    """Standard normal, Box-Muller (cosine branch) from block 1 of word ``c``."""
    w0, w1, w2, w3 = block_c(key0, key1, n, 1, c)
    return _box_muller(w0, w1, w2, w3)


@register_jitable
def std_exponential(key0, key1, n, c):
    """Exp(1) by inversion, ``-log U``, U open uniform from block 1 of word ``c``."""
    return -math.log(open_uniform(key0, key1, n, c, 1))


@register_jitable
def std_cauchy(key0, key1, n, c):
    """Standard Cauchy by inversion from block 1 of word ``c``."""
    u = open_uniform(key0, key1, n, c, 1)
    h = u - 0.5  # exact
    if h < -0.25:
        return -1.0 / math.tan(_PI * u)
    if h > 0.25:
        return 1.0 / math.tan(_PI * (1.0 - u))  # 1 - u exact
    return math.tan(_PI * h)


@register_jitable
def std_laplace(key0, key1, n, c):
    """Standard Laplace (density exp(-|x|)/2) by inversion from block 1 of word ``c``."""
    u = open_uniform(key0, key1, n, c, 1)
    if u < 0.5:
        return math.log(2.0 * u)
    return -math.log(2.0 * (1.0 - u))


@register_jitable
def std_gumbel(key0, key1, n, c):
    """Standard Gumbel of the maximum, ``-log(-log U)``, from block 1 of word ``c``."""
    u = open_uniform(key0, key1, n, c, 1)
    if u > 0.5:
        e = -math.log1p(-(1.0 - u))  # 1 - u exact: -log U to full relative accuracy
    else:
        e = -math.log(u)
    return -math.log(e)


@register_jitable
def _mt(key0, key1, n, c, a):
    """Marsaglia-Tsang for ``a >= 1`` on word ``c``: ``(d, v, log v, boost uniform)``, G = d v.

    Try t uses block 2t-1 (normal) and block 2t words (w0, w1) (acceptance
    uniform).  The boost uniform is words (w2, w3) of block 2, which no try uses.
    """
    d = a - 1.0 / 3.0
    cc = 1.0 / math.sqrt(9.0 * d)
    ub = 0.5
    for t in range(1, _MAX_TRIES + 1):
        w0, w1, w2, w3 = block_c(key0, key1, n, 2 * t - 1, c)
        x = _box_muller(w0, w1, w2, w3)
        w0, w1, w2, w3 = block_c(key0, key1, n, 2 * t, c)
        if t == 1:
            ub = _open(w2, w3)
        v = 1.0 + cc * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = _open(w0, w1)
        x2 = x * x
        if u < 1.0 - 0.0331 * (x2 * x2):
            return d, v, math.log(v), ub
        lv = math.log(v)
        if math.log(u) < 0.5 * x2 + d * (1.0 - v + lv):
            return d, v, lv, ub
    return d, 1.0, 0.0, ub  # not reached in practice: P(1000 rejections) < 1e-1000


@register_jitable
def log_std_gamma(key0, key1, n, c, a):
    """``log G`` with G ~ Gamma(a, 1), any ``a > 0``, accurate when G underflows; word ``c``.

    a >= 1: Marsaglia-Tsang; a < 1: ``log G(a + 1) + log(U) / a``.
    """
    if not (a > 0.0):
        return _NAN
    if a >= 1.0:
        d, v, lv, ub = _mt(key0, key1, n, c, a)
        return math.log(d) + lv
    d, v, lv, ub = _mt(key0, key1, n, c, a + 1.0)
    return (math.log(d) + lv) + math.log(ub) / a


@register_jitable
def std_gamma(key0, key1, n, c, a):
    """G ~ Gamma(a, 1), any ``a > 0``, on word ``c`` (underflows to 0 for a << 1)."""
    if not (a > 0.0):
        return _NAN
    if a >= 1.0:
        d, v, lv, ub = _mt(key0, key1, n, c, a)
        return d * v
    return math.exp(log_std_gamma(key0, key1, n, c, a))


@register_jitable
def std_beta(key0, key1, n, c, a, b):
    """Beta(a, b) from log-gammas: Gamma(a) on word ``c``, Gamma(b) on word ``c + 1``."""
    if not (a > 0.0 and b > 0.0):
        return _NAN
    x = log_std_gamma(key0, key1, n, c, a)
    y = log_std_gamma(key0, key1, n, c + 1, b)
    if x == y:  # equal, or both -inf (a and b below ~1e-308)
        return 0.5
    if x > y:
        return 1.0 / (1.0 + math.exp(y - x))
    e = math.exp(x - y)
    return e / (1.0 + e)


@register_jitable
def std_t(key0, key1, n, c, df):
    """Student t, ``Z / sqrt(G / h)``, h = df/2: Gamma(h) on word ``c``, Z on word ``c + 1``."""
    if not (df > 0.0):
        return _NAN
    h = 0.5 * df
    z = std_normal(key0, key1, n, c + 1)
    if not (h > 0.0):  # df/2 underflowed (df = 5e-324)
        return z * _INF
    if h >= 1.0:
        d, v, lv, ub = _mt(key0, key1, n, c, h)
        return z / math.sqrt(d * v / h)
    s = -0.5 * (log_std_gamma(key0, key1, n, c, h) - (math.log(df) - _LN2))  # h may underflow
    if s > _EXP_MAX:
        return z * _INF
    return z * math.exp(s)


@register_jitable
def von_mises(key0, key1, n, c, kappa):
    """von Mises(0, kappa), an angle in [-pi, pi]: Best-Fisher (1979) on word ``c``.

    Try t uses block t: (w0, w1) the proposal, (w2, w3) the acceptance uniform,
    bit 0 of w1 the sign.  kappa < 1e-17 (or 0): a uniform angle from block 1.
    """
    if not (kappa >= 0.0):
        return _NAN
    if kappa < _KAPPA_UNIFORM:
        w0, w1, w2, w3 = block_c(key0, key1, n, 1, c)
        return _PI * (2.0 * u53(w0, w1) - 1.0)
    if kappa == _INF:
        return 0.0
    if kappa > _KAPPA_HUGE:
        # e = 1/(2 kappa) (1 + O(kappa**-1/2)), kappa (r**2 - 1) = 1 + O(kappa**-1/2)
        e = 0.5 / kappa
        ke2 = 1.0
    else:
        s = math.hypot(1.0, 2.0 * kappa)  # sqrt(1 + 4 kappa**2)
        tau = 1.0 + s
        st = math.sqrt(2.0 * tau)
        den = tau + st
        rho = 2.0 * kappa / den
        omr = (1.0 + 1.0 / (s + 2.0 * kappa) + st) / den  # 1 - rho
        e = omr * omr / (2.0 * rho)  # r - 1
        ke2 = kappa * e * (2.0 + e)  # kappa (r**2 - 1)
    se = math.sqrt(e)
    s2e = math.sqrt(2.0 + e)
    theta = 0.0
    for t in range(1, _MAX_TRIES + 1):
        w0, w1, w2, w3 = block_c(key0, key1, n, t, c)
        w = u53(w0, w1)
        # z = cos(pi U1) with U1 = 1 - w; sp**2 = (1 + z)/2, cq**2 = (1 - z)/2
        if w <= 0.5:
            sp = math.sin(_HALF_PI * w)
            cq = math.cos(_HALF_PI * w)
        else:
            sp = math.cos(_HALF_PI * (1.0 - w))
            cq = math.sin(_HALF_PI * (1.0 - w))
        theta = 2.0 * math.atan2(se * cq, s2e * sp)
        if (w1 & _ONE_U) != _ZERO_U:
            theta = -theta
        cc = ke2 / (e + 2.0 * sp * sp)
        u2 = _open(w2, w3)
        if cc * (2.0 - cc) > u2:
            return theta
        if math.log(cc) - math.log(u2) + 1.0 - cc >= 0.0:
            return theta
    return theta
