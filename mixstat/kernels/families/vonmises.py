"""von Mises family (torch's ``VonMises(loc, concentration)``, scipy's ``vonmises``).

Density ``exp(kappa cos(x - loc)) / (2 pi I0(kappa))`` on the real line,
periodic (as in torch and scipy: no ``-inf`` outside ``[-pi, pi]``).  With
``cos(d) = 1 - 2 sin(d/2)**2`` and ``I0(kappa) = i0e(kappa) exp(kappa)``:

    log p(x) = CONST - 2 kappa sin((x - loc) / 2)**2,
    CONST = -log(2 pi) - log(i0e(kappa))

(scipy's ``kappa cosm1(x - loc) - log(2 pi) - log(i0e(kappa))``), which keeps
full relative accuracy at large kappa, where ``kappa cos(d) - log I0`` would
cancel.

Row of one coordinate (``P = 6``; named offsets below):
``LOC | LOCW = loc wrapped to [-pi, pi) | CONC | NEG2K = -2 kappa | CONST | HI``,
``HI`` the largest number of the row's dtype below pi (draws are clamped to it,
so that a float32 draw does not round up to pi).

The CPU's SIMD form (``logpdf1_fast``) takes ``sin(d/2)**2`` from one polynomial
after a Cody-Waite reduction of ``d`` by ``2 pi`` (:func:`sin2_half`); the exact
form (``logpdf1``, also the CUDA one) calls ``math.sin``.

No cdf (torch has none): the module defines no ``cdf1``.
"""

import math

import numpy as np
from numba.extending import register_jitable
from scipy import special

from ..samplers import von_mises
from ..samplers_tile import von_mises_setup_fast, von_mises_try_fast

LOC, LOCW, CONC, NEG2K, CONST, HI = 0, 1, 2, 3, 4, 5
P = 6
NPRE = 0

_PI = math.pi
_TWO_PI = 2.0 * math.pi
_INV_2PI = 1.0 / (2.0 * math.pi)
_ROUND = 6755399441055744.0  # 1.5 * 2**52: (t + _ROUND) - _ROUND is t rounded to an integer
# 2 pi = _P1 + _P2 + 1.4e-26, _P1 with 20 trailing zero bits: n * _P1 is exact for |n| < 2**20
_P1 = 6.2831853069365025
_P2 = 2.430840202602477e-10
# sin(pi m)**2 = z Q(z), z = m**2, 0 <= m <= 1/4: Q interpolated at the 8 Chebyshev nodes of
# [0, 1/16] in 60-digit arithmetic (mpmath); max relative error of z Q(z) with these float64
# coefficients 6.4e-17 (tests/test_family_weibull.py checks it against mpmath)
_Q0, _Q1, _Q2, _Q3 = 9.869604401089358, -32.469697011333885, 42.72840860326017, -30.122320674836185
_Q4, _Q5, _Q6, _Q7 = 13.2131276932482, -3.9517443122787657, 0.8567428192933139, -0.13652457759463665
_LOG_2PI = math.log(2.0 * math.pi)
_NAN = math.nan
_INF = math.inf
# the SIMD form's reduction is exact to an ulp of the remainder up to here (|n| < 2**20);
# beyond, the exact form (math.sin)
_FAST_LIM = 1048576.0


def pack(loc, concentration, dtype):
    """Rows ``(..., P)`` for ``loc`` and ``concentration`` (broadcast together)."""
    loc = np.asarray(loc, dtype=np.float64)
    kappa = np.asarray(concentration, dtype=np.float64)
    loc, kappa = np.broadcast_arrays(loc, kappa)
    tab = np.empty(loc.shape + (P,), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = np.mod(loc + _PI, _TWO_PI) - _PI
        w = np.where(w >= _PI, w - _TWO_PI, w)
        tab[..., LOC] = loc
        tab[..., LOCW] = w
        tab[..., CONC] = kappa
        tab[..., NEG2K] = -2.0 * kappa
        tab[..., CONST] = -_LOG_2PI - np.log(special.i0e(kappa))
    dt = np.dtype(dtype).type
    tab[..., HI] = np.float64(np.nextafter(dt(np.pi), dt(0)))  # dt(pi) >= pi in float32 and float64
    return tab.astype(dtype, copy=False)


#: log I0 by its power series up to here, by its asymptotic series above (whose terms shrink to
#: an ulp there before they grow again, at k ~ 2 kappa)
_I0_SERIES_MAX = 20.0
_LOG_2PI_HALF = 0.5 * math.log(2.0 * math.pi)


@register_jitable
def log_i0e(kappa):
    """``log(i0e(kappa)) = log I0(kappa) - kappa`` for ``kappa >= 0`` (float64, jitable; the
    gufuncs' rows).  ``I0(k) = sum_j t_j``, ``t_j = ((k/2)^j / j!)^2`` (positive terms): for
    ``k <= 3`` as ``log1p(sum_{j>=1} t_j) - k`` (no cancellation near 0), up to 20 with every
    term scaled by ``e^-k`` (no cancellation between ``log I0`` and ``k``); above,
    ``i0e(k) = (2 pi k)^-1/2 (1 + sum_j prod_{i<=j} (2i - 1)^2 / (8 k i))``.  Within 3 ulp of
    mpmath (``tests/test_gufuncs.py``)."""
    z = np.float64(kappa)
    if z <= 3.0:
        q = 0.25 * z * z
        t = 1.0
        s = 0.0
        for j in range(1, 60):
            t *= q / np.float64(j * j)
            s += t
            if t <= 1e-17 * s:
                break
        return math.log1p(s) - z
    if z <= _I0_SERIES_MAX:
        q = 0.25 * z * z
        t = math.exp(-z)
        s = t
        for j in range(1, 200):
            t *= q / np.float64(j * j)
            s += t
            if t <= 1e-17 * s:
                break
        return math.log(s)
    r = 1.0 / (8.0 * z)
    t = 1.0
    s = 0.0
    for k in range(1, 100):
        t *= np.float64((2 * k - 1) * (2 * k - 1)) * r / np.float64(k)
        s += t
        if t <= 1e-17:
            break
    return math.log1p(s) - (_LOG_2PI_HALF + 0.5 * math.log(z))


#: the parameters of :func:`row1`, in its order (the gufuncs' ``vonmises_log_prob(x, loc, concentration)``)
ROW_PARAMS = ("loc", "concentration")


@register_jitable
def row1(tab, k, o, p, big):
    """The row of :func:`pack` for ``(loc, concentration)`` at ``tab[0, k, o:]`` (jitable: the
    gufuncs build it per element; ``big`` the largest number of the row's dtype); whether
    ``loc`` is finite and ``concentration`` positive and finite."""
    loc, kappa = p[0], p[1]
    ok = loc - loc == 0.0 and kappa > 0.0 and kappa < _INF
    w = (loc + _PI) % _TWO_PI - _PI if ok else _NAN
    if w >= _PI:
        w -= _TWO_PI
    tab[0, k, o + LOC] = loc
    tab[0, k, o + LOCW] = w
    tab[0, k, o + CONC] = kappa
    tab[0, k, o + NEG2K] = -2.0 * kappa
    tab[0, k, o + CONST] = -_LOG_2PI - log_i0e(kappa) if ok else _NAN
    # the largest number of the dtype below pi (float32: 3.1415925, float64: 3.1415926535897927)
    tab[0, k, o + HI] = 3.141592502593994 if big < 1e39 else 3.1415926535897927
    return ok


@register_jitable
def sin2_half(d):
    """``sin(d / 2)**2`` for ``|d| < 2**20``, branch-free (selects only; CPU SIMD form).

    Cody-Waite reduction: ``n`` the integer nearest ``d / (2 pi)``, ``r = d - 2 pi n``
    in two steps (``d - n _P1`` exact, then ``- n _P2``: ``r`` to about an ulp of
    itself), ``f = r / (2 pi)``, ``g = |f| <= 1/2`` (up to rounding):
    ``sin(pi g)**2`` is ``S(g)`` for ``g <= 1/4`` and ``1 - S(1/2 - g)`` above, with
    ``S(m) = sin(pi m)**2`` a polynomial on ``[0, 1/4]``: one polynomial, no
    cancellation (``1 - S >= 1/2``).
    """
    n = (d * _INV_2PI + _ROUND) - _ROUND
    r = (d - n * _P1) - n * _P2
    g = abs(r * _INV_2PI)
    low = g <= 0.25
    m = g if low else 0.5 - g
    z = m * m
    q = _Q7
    q = q * z + _Q6
    q = q * z + _Q5
    q = q * z + _Q4
    q = q * z + _Q3
    q = q * z + _Q2
    q = q * z + _Q1
    q = q * z + _Q0
    sq = z * q
    return sq if low else 1.0 - sq


@register_jitable
def logpdf1_fast(v, p0, p1, tab, b, k, o):
    """SIMD form ``CONST - 2 kappa sin2_half(d)``; NaN (the loop redoes the point with
    :func:`logpdf1`) for ``|d| >= 2**20``, infinite or NaN ``d``."""
    d = np.float64(v) - np.float64(tab[b, k, o + LOC])
    r = np.float64(tab[b, k, o + CONST]) + np.float64(tab[b, k, o + NEG2K]) * sin2_half(d)
    return r if abs(d) < _FAST_LIM else _NAN


@register_jitable
def logpdf1(v, p0, p1, tab, b, k, o):
    """``CONST - 2 kappa sin(d/2)**2``, ``d = x - loc``; NaN at infinite ``x`` (as scipy, torch)."""
    d = np.float64(v) - np.float64(tab[b, k, o + LOC])
    if not abs(d) < _INF:  # +-inf or NaN (math.sin(inf) raises in the CUDA simulator)
        return _NAN
    s = math.sin(0.5 * d)
    return np.float64(tab[b, k, o + CONST]) + np.float64(tab[b, k, o + NEG2K]) * (s * s)


@register_jitable
def bound1(tab, b, k, o):
    """The log-density at the mode ``x = loc``."""
    return tab[b, k, o + CONST]


@register_jitable
def draw1(key0, key1, n, c, tab, b, k, o):
    """Best-Fisher (:func:`..samplers.von_mises`) on word ``c``, plus ``loc``, wrapped to [-pi, pi)."""
    y = von_mises(key0, key1, n, c, np.float64(tab[b, k, o + CONC])) + np.float64(tab[b, k, o + LOCW])
    if y >= _PI:
        y -= _TWO_PI
    elif y < -_PI:
        y += _TWO_PI
    hi = np.float64(tab[b, k, o + HI])
    return hi if y > hi else y


@register_jitable
def draw_tile(key0, key1, g0, nl, tab, bb, kk, out, row0, z0, z1):
    """:func:`draw1` for points ``g0 + i``, ``i < nl``, every coordinate, ordered for SIMD.

    The concentrations are gathered into ``z0``; Best-Fisher's first three tries
    (:func:`..samplers_tile.von_mises_try_fast` on blocks 1, 2, 3 of word ``4 j``, as
    :func:`draw1`; each accepts 0.69 to 1 of the proposals) run for every point in
    a loop without gathers (it vectorises), into ``z1`` (NaN where all three
    rejected, or outside ``1e-17 <= kappa <= 1e150``);
    then ``+ loc``, wrapped and clamped as in :func:`draw1`.  The other points
    are drawn by :func:`draw1` itself.
    """
    D = out.shape[1]
    for j in range(D):
        o = j * P
        for i in range(nl):
            z0[i] = np.float64(tab[bb[i], kk[i], o + CONC])
        for i in range(nl):  # SIMD
            e, ke2, se, s2e, good = von_mises_setup_fast(z0[i])
            t1, ok1 = von_mises_try_fast(key0, key1, g0 + i, 4 * j, 1, e, ke2, se, s2e)
            t2, ok2 = von_mises_try_fast(key0, key1, g0 + i, 4 * j, 2, e, ke2, se, s2e)
            t3, ok3 = von_mises_try_fast(key0, key1, g0 + i, 4 * j, 3, e, ke2, se, s2e)
            t = t1 if ok1 else (t2 if ok2 else t3)
            z1[i] = t if good & (ok1 | ok2 | ok3) else _NAN
        for i in range(nl):
            b = bb[i]
            k = kk[i]
            y = z1[i]
            if y == y:
                y += np.float64(tab[b, k, o + LOCW])
                if y >= _PI:
                    y -= _TWO_PI
                elif y < -_PI:
                    y += _TWO_PI
                hi = np.float64(tab[b, k, o + HI])
                y = hi if y > hi else y
            else:
                y = draw1(key0, key1, g0 + i, 4 * j, tab, b, k, o)
            out[row0 + i, j] = y


# -- derivatives (the log_prob_grad operation) ---------------------------------------
from ..special import bessel_i1_i0 as _i1_i0  # noqa: E402

#: the constructor parameters ``grad1`` differentiates, in ``arg_constraints`` order
GRAD_PARAMS = ("loc", "concentration")


@register_jitable
def grad1(v, p0, p1, tab, b, k, o, g, j):
    """``log p(v)``; with ``d = v - loc``: ``d/dv = -kappa sin d = -d/dloc``,
    ``d/dkappa = cos d - I1(kappa) / I0(kappa)``."""
    lp = logpdf1(v, p0, p1, tab, b, k, o)
    if not abs(lp) < math.inf:
        return lp
    kap = np.float64(tab[b, k, o + CONC])
    d = np.float64(v) - np.float64(tab[b, k, o + LOC])
    sn = math.sin(d)
    g[j] = -kap * sn
    g[j + 1] = kap * sn
    g[j + 2] = math.cos(d) - _i1_i0(kap)
    return lp
