"""Accuracy and portability of :mod:`mixstat.kernels.special` (incomplete gamma and beta).

References are mpmath at 50 digits: ``mpmath.gammainc`` for P and Q; for the
incomplete beta the continued fraction of Numerical Recipes evaluated in mpmath
at 50 digits (``mpmath.betainc`` goes through a hypergeometric series that takes
seconds a point once a and b are about 1e4; the two agree to 1e-40, checked
here where mpmath.betainc is fast).  The complement 1 - I is referred to the
exact ``1 - x`` (mpmath), never to a rounded one.  scipy.special is a coarse
cross-check only: its own error reaches 2e-13 in the bulk and 1e-11 in far tails.

Every comparison counts values down to 1e-300 (relative error), and the grids
reach into those tails (asserted).  ``python tests/test_special.py`` runs the
denser sweep whose figures the module docstring quotes (about two minutes).

Also: the functions compile and give the same bits under ``numba.njit``, as
plain Python and inside a ``numba.cuda.jit`` kernel in the CUDA simulator (a
subprocess with ``NUMBA_ENABLE_CUDASIM=1``), and a kernel calling them compiles
to PTX with NVVM (no GPU needed).
"""

import json
import math
import os
import subprocess
import sys

import mpmath
import numba
import numpy as np
import pytest
import scipy.special as sc
from mpmath import mpf

from mixstat.kernels import special as S

DPS = 50
TOL = 1e-13  # relative, for every value >= TINY
TINY = 1e-300
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------
# compiled wrappers (one compilation for the whole file)
# ---------------------------------------------------------------------------


@numba.njit
def _gamma_vec(a, x):
    p = np.empty(a.size)
    q = np.empty(a.size)
    for i in range(a.size):
        p[i] = S.gammainc(a[i], x[i])
        q[i] = S.gammaincc(a[i], x[i])
    return p, q


@numba.njit
def _beta_vec(a, b, x, y):
    out = np.empty((a.size, 4))
    for i in range(a.size):
        out[i, 0] = S.betainc(a[i], b[i], x[i])
        out[i, 1] = S.betaincc(a[i], b[i], x[i])
        out[i, 2], out[i, 3] = S.betainc_pair(a[i], b[i], x[i], y[i])
    return out


@numba.njit(parallel=True)
def _all_vec(a, b, x, y):
    out = np.empty((a.size, 8))
    for i in numba.prange(a.size):
        out[i, 0] = S.gammainc(a[i], x[i])
        out[i, 1] = S.gammaincc(a[i], x[i])
        out[i, 2] = S.betainc(a[i], b[i], x[i])
        out[i, 3] = S.betaincc(a[i], b[i], x[i])
        out[i, 4], out[i, 5] = S.betainc_pair(a[i], b[i], x[i], y[i])
        out[i, 6] = S.lbeta(a[i], b[i])
        out[i, 7] = S.log1pmx(x[i])
    return out


@numba.njit
def _lbeta_log1pmx_vec(a, b, x):
    out = np.empty((a.size, 2))
    for i in range(a.size):
        out[i, 0] = S.lbeta(a[i], b[i])
        out[i, 1] = S.log1pmx(x[i])
    return out


def _arr(*cols):
    return [np.ascontiguousarray(c, dtype=np.float64) for c in cols]


# ---------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------


def ref_gamma(a, x):
    """(P, Q) at DPS digits (mpmath); None where mpmath does not converge."""
    with mpmath.workdps(DPS):
        a_, x_ = mpf(a), mpf(x)
        try:
            p = mpmath.gammainc(a_, 0, x_, regularized=True)
            q = mpmath.gammainc(a_, x_, mpmath.inf, regularized=True)
        except (ValueError, mpmath.libmp.NoConvergence):
            return None
    return p, q


def _cf(a, b, x, tol):
    """Numerical Recipes' continued fraction of I_x(a, b) in mpmath (any precision)."""
    tiny = mpf(10) ** (-2 * mpmath.mp.dps)
    qab, qap, qam = a + b, a + 1, a - 1
    c = mpf(1)
    d = 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 200000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1 + aa * d
            c = 1 + aa / c
            d = 1 / (d if abs(d) > tiny else tiny)
            c = c if abs(c) > tiny else tiny
            delta = d * c
            h *= delta
        if abs(delta - 1) < tol:
            return h
    raise RuntimeError("reference continued fraction did not converge")


def ref_beta(a, b, x, y=None):
    """(I_x(a, b), 1 - I_x(a, b)) at DPS digits.  The smaller of x and y is exact,
    the other is 1 minus it (as betainc_pair reads them)."""
    with mpmath.workdps(DPS):
        a, b = mpf(a), mpf(b)
        if y is None or x <= y:
            x = mpf(x)
            y = 1 - x
        else:
            y = mpf(y)
            x = 1 - y
        lpref = a * mpmath.log(x) + b * mpmath.log(y) - mpmath.loggamma(a) - mpmath.loggamma(b) + mpmath.loggamma(a + b)
        pref = mpmath.exp(lpref)
        tol = mpf(10) ** (5 - DPS)
        if x < (a + 1) / (a + b + 2):
            i = pref * _cf(a, b, x, tol) / a
            c = 1 - i
            if c < 1e-15:
                c = pref * _cf(b, a, y, tol) / b
        else:
            c = pref * _cf(b, a, y, tol) / b
            i = 1 - c
            if i < 1e-15:
                i = pref * _cf(a, b, x, tol) / a
        return i, c


def _rel(v, r):
    return float(abs(mpf(float(v)) - r) / r)


class _Worst:
    """Largest relative error over values >= TINY, with the argument that gave it."""

    def __init__(self):
        self.err, self.where, self.smallest, self.n = 0.0, None, math.inf, 0

    def add(self, v, r, where):
        if r < TINY:
            return
        self.n += 1
        self.smallest = min(self.smallest, float(r))
        e = _rel(v, r)
        if e > self.err:
            self.err, self.where = e, (where, float(v), float(r))

    def __repr__(self):
        return f"max rel err {self.err:.3g} at {self.where} ({self.n} values down to {self.smallest:.3g})"


# ---------------------------------------------------------------------------
# grids
# ---------------------------------------------------------------------------


def gamma_grid(n_a=15):
    pts = []
    for a in np.geomspace(1e-3, 1e4, n_a):
        a = float(a)
        xs = [a * f for f in (1e-3, 1e-2, 0.1, 0.5, 0.9, 1.0, 1.1, 2.0, 4.0, 10.0)]
        xs += [a + k * math.sqrt(a) for k in (-37, -20, -8, -3, -1, 1, 3, 8, 20, 37)]
        xs += [1e-300, 1e-30, 0.3, 1.1, a + 1.0, 700.0]
        pts += [(a, float(x)) for x in xs if x > 0]
    return pts


def beta_grid(params=(0.01, 0.1, 0.5, 1.0, 3.7, 30.0, 300.0, 1e4)):
    pts = []
    for a in params:
        for b in params:
            mu = a / (a + b)
            sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
            thr = (a + 1) / (a + b + 2)
            xs = [mu + k * sd for k in (-36, -10, -3, -1, 0, 1, 3, 10, 36)]
            xs += [thr * f for f in (0.5, 1.0, 2.0)]
            xs += [1e-200, 1e-20, 1e-3, 0.5, 1 - 1e-3, 1 - 1e-12]
            pts += [(a, b, float(x)) for x in xs if 0 < x < 1]
    return pts


def tdist_grid():
    """(a, b, x, y) as the Student t cdf passes them: x = df/(df+t^2), y = t^2/(df+t^2)."""
    pts = []
    for df in (0.3, 1.0, 4.5, 30.0, 1000.0):
        for t in np.geomspace(1e-8, 1e8, 17):
            t2 = float(t) ** 2
            pts.append((df / 2, 0.5, df / (df + t2), t2 / (df + t2)))
    return pts


def gamma_errors(pts):
    a, x = _arr(*zip(*pts))
    p, q = _gamma_vec(a, x)
    wp, wq = _Worst(), _Worst()
    for i, (ai, xi) in enumerate(pts):
        r = ref_gamma(ai, xi)
        if r is None:
            continue
        wp.add(p[i], r[0], (ai, xi))
        wq.add(q[i], r[1], (ai, xi))
    return wp, wq


def beta_errors(pts):
    """Worst errors of (betainc, betaincc, betainc_pair I, betainc_pair 1 - I)."""
    a, b, x, y = _arr(*zip(*[(p[0], p[1], p[2], p[3] if len(p) > 3 else 1.0 - p[2]) for p in pts]))
    out = _beta_vec(a, b, x, y)
    worst = [_Worst() for _ in range(4)]
    for i, pt in enumerate(pts):
        if len(pt) == 3:
            ri, rc = ref_beta(*pt)
            worst[0].add(out[i, 0], ri, pt)
            worst[1].add(out[i, 1], rc, pt)
        else:
            ri, rc = ref_beta(*pt)
        worst[2].add(out[i, 2], ri, pt)
        worst[3].add(out[i, 3], rc, pt)
    return worst


# ---------------------------------------------------------------------------
# accuracy against mpmath
# ---------------------------------------------------------------------------


def test_gamma_against_mpmath():
    wp, wq = gamma_errors(gamma_grid())
    assert wp.n > 300 and wq.n > 300
    assert wp.smallest < 1e-250 and wq.smallest < 1e-250, "the grid must reach the far tails"
    assert wp.err <= TOL, f"gammainc: {wp}"
    assert wq.err <= TOL, f"gammaincc: {wq}"


def test_gamma_large_a_temme_against_mpmath():
    """a > 5e4: Temme's uniform expansion (the series would need more than 2000 terms)."""
    pts = [(a, a + k * math.sqrt(a)) for a in (5.0001e4, 1e5, 1e6) for k in (-30, -10, -3, -0.1, 0.0, 0.1, 3, 10, 30)]
    wp, wq = gamma_errors(pts)
    assert wp.n >= 20 and wq.n >= 20
    assert wp.err <= TOL, f"gammainc: {wp}"
    assert wq.err <= TOL, f"gammaincc: {wq}"


def test_beta_reference_matches_mpmath_betainc():
    """The continued-fraction reference against mpmath's own (hypergeometric) betainc."""
    worst = 0.0
    for a, b, x in [
        (0.01, 0.01, 0.3),
        (0.5, 2.5, 1e-8),
        (3.7, 0.1, 0.99),
        (30.0, 1.0, 0.9),
        (2.0, 40.0, 0.01),
        (0.2, 7.0, 0.6),
    ]:
        i, c = ref_beta(a, b, x)
        with mpmath.workdps(DPS):
            ri = mpmath.betainc(a, b, 0, x, regularized=True)
            rc = mpmath.betainc(a, b, x, 1, regularized=True)
        worst = max(worst, float(abs(i - ri) / ri), float(abs(c - rc) / rc))
    assert worst < 1e-40


def test_beta_against_mpmath():
    names = ("betainc", "betaincc", "betainc_pair I", "betainc_pair 1-I")
    worst = beta_errors(beta_grid())
    for name, w in zip(names, worst):
        assert w.n > 700, name
        assert w.smallest < 1e-250, f"{name}: the grid must reach the far tails"
        assert w.err <= TOL, f"{name}: {w}"


def test_beta_pair_student_t_inputs():
    """x = df/(df+t^2) and y = t^2/(df+t^2), each rounded: both results keep full
    relative accuracy, also where y is far below the rounding of 1 - x."""
    worst = beta_errors(tdist_grid())
    for name, w in zip(("I", "1 - I"), worst[2:]):
        assert w.n > 60
        assert w.err <= TOL, f"betainc_pair {name}: {w}"
    # y down to 1e-16, where 1.0 - x would keep no correct digit of it
    assert min(p[3] for p in tdist_grid()) < 1e-15


def test_student_t_tail_against_scipy():
    """The t survival function 0.5 I_x(df/2, 1/2) against scipy.special.stdtr."""
    df = np.array([0.5, 1.0, 3.0, 10.0, 100.0, 1000.0])[:, None] * np.ones((1, 12))
    t = np.ones((6, 1)) * np.geomspace(1e-3, 1e3, 12)[None, :]
    df, t = df.ravel(), t.ravel()
    x, y = df / (df + t * t), t * t / (df + t * t)
    a, b, x, y = _arr(df / 2, np.full(df.size, 0.5), x, y)
    out = _beta_vec(a, b, x, y)
    sf = 0.5 * out[:, 2]
    ref = sc.stdtr(df, -t)
    keep = ref > 1e-280
    np.testing.assert_allclose(sf[keep], ref[keep], rtol=1e-12)


def test_lbeta_and_log1pmx_against_mpmath():
    ab = np.geomspace(1e-3, 1e5, 23)
    a, b = (g.ravel() for g in np.meshgrid(ab, ab))
    xs = np.concatenate(
        [
            -np.geomspace(1e-150, 0.999999, 40),
            np.geomspace(1e-150, 1e300, 60),
            np.linspace(-0.95, 3.05, 40),
            [1.8e15, 9e17],
        ]
    )
    out = _lbeta_log1pmx_vec(*_arr(a, b, np.resize(xs, a.size)))
    l1 = _lbeta_log1pmx_vec(*_arr(xs, xs, xs))[:, 1]
    worst_lb = worst_l1 = 0.0
    with mpmath.workdps(DPS):
        for i in range(a.size):
            r = mpmath.loggamma(a[i]) + mpmath.loggamma(b[i]) - mpmath.loggamma(mpf(a[i]) + b[i])
            worst_lb = max(worst_lb, float(abs(out[i, 0] - r) / max(1, abs(r))))
    for v, x in zip(l1, xs):
        # log1p(x) - x cancels to about x^2/2: carry 2 |log10 x| more digits
        with mpmath.workdps(DPS + 2 * max(0, int(-math.log10(abs(x))))):
            r = mpmath.log1p(mpf(x)) - mpf(x)
            if abs(r) >= TINY:
                worst_l1 = max(worst_l1, float(abs(v - r) / abs(r)))
    assert worst_lb <= 5e-16, worst_lb  # relative to max(1, |lbeta|)
    assert worst_l1 <= 3e-16, worst_l1


# ---------------------------------------------------------------------------
# coarse cross-check against scipy over a broad grid
# ---------------------------------------------------------------------------


def test_against_scipy_broad_grid():
    a, x = (g.ravel() for g in np.meshgrid(np.geomspace(1e-3, 1e4, 40), np.geomspace(1e-3, 10, 40)))
    x = a * x
    p, q = _gamma_vec(*_arr(a, x))
    for ours, theirs in ((p, sc.gammainc(a, x)), (q, sc.gammaincc(a, x))):
        keep = theirs > TINY
        np.testing.assert_allclose(ours[keep], theirs[keep], rtol=3e-11, atol=0)
    ab = np.geomspace(1e-2, 1e4, 15)
    a, b, x = (g.ravel() for g in np.meshgrid(ab, ab, np.linspace(0.5, 0.99, 15)))
    out = _beta_vec(*_arr(a, b, x, 1.0 - x))
    for ours, theirs in ((out[:, 0], sc.betainc(a, b, x)), (out[:, 1], sc.betainc(b, a, 1.0 - x))):
        keep = theirs > TINY
        np.testing.assert_allclose(ours[keep], theirs[keep], rtol=1e-11, atol=0)


# ---------------------------------------------------------------------------
# special values, limits of the method
# ---------------------------------------------------------------------------

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize(
    "f, args, want",
    [
        ("gammainc", (2.0, 0.0), 0.0),
        ("gammainc", (2.0, -1.0), 0.0),
        ("gammainc", (2.0, INF), 1.0),
        ("gammainc", (NAN, 1.0), NAN),
        ("gammainc", (1.0, NAN), NAN),
        ("gammainc", (-1.0, 1.0), NAN),
        ("gammainc", (0.0, 1.0), 1.0),
        ("gammainc", (INF, 1.0), 0.0),
        ("gammaincc", (2.0, 0.0), 1.0),
        ("gammaincc", (2.0, -1.0), 1.0),
        ("gammaincc", (2.0, INF), 0.0),
        ("gammaincc", (NAN, 1.0), NAN),
        ("gammaincc", (1.0, NAN), NAN),
        ("gammaincc", (0.0, 1.0), 0.0),
        ("betainc", (2.0, 3.0, 0.0), 0.0),
        ("betainc", (2.0, 3.0, -0.5), 0.0),
        ("betainc", (2.0, 3.0, 1.0), 1.0),
        ("betainc", (2.0, 3.0, 1.5), 1.0),
        ("betainc", (2.0, 3.0, NAN), NAN),
        ("betainc", (NAN, 3.0, 0.5), NAN),
        ("betainc", (-1.0, 3.0, 0.5), NAN),
        ("betainc", (0.0, 3.0, 0.5), 1.0),
        ("betainc", (2.0, 0.0, 0.5), 0.0),
        ("betaincc", (2.0, 3.0, 0.0), 1.0),
        ("betaincc", (2.0, 3.0, 1.0), 0.0),
        ("betaincc", (2.0, 3.0, NAN), NAN),
        ("lbeta", (1.0, 1.0), 0.0),
        ("lbeta", (0.0, 1.0), INF),
        ("lbeta", (NAN, 1.0), NAN),
        ("log1pmx", (0.0,), 0.0),
        ("log1pmx", (-1.0,), -INF),
        ("log1pmx", (-2.0,), NAN),
        ("log1pmx", (INF,), -INF),
        ("log1pmx", (NAN,), NAN),
    ],
)
def test_special_values(f, args, want):
    got = getattr(S, f)(*args)  # plain Python: the code the CUDA simulator runs
    if math.isnan(want):
        assert math.isnan(got)
    elif math.isinf(want):
        assert got == want
    else:
        assert abs(got - want) <= 1e-17  # lbeta(1, 1) is 9e-19, not 0


def test_exact_values():
    """Closed forms: P(1, x) = 1 - e^-x, I_x(a, 1) = x^a, I_x(1, b) = 1 - (1-x)^b,
    I_{1/2}(a, a) = 1/2."""
    x = np.geomspace(1e-5, 50, 30)
    p, q = _gamma_vec(*_arr(np.ones_like(x), x))
    np.testing.assert_allclose(p, -np.expm1(-x), rtol=1e-15)
    np.testing.assert_allclose(q, np.exp(-x), rtol=1e-15)
    a = np.geomspace(0.01, 1e4, 25)
    xb = np.full_like(a, 0.3)
    out = _beta_vec(*_arr(a, np.ones_like(a), xb, 1.0 - xb))
    np.testing.assert_allclose(out[:, 0], 0.3**a, rtol=2e-15)
    out = _beta_vec(*_arr(np.ones_like(a), a, xb, 1.0 - xb))
    with mpmath.workdps(DPS):  # (1 - x)^b with the exact 1 - x, not the double 0.7
        want = [float((1 - mpf(0.3)) ** mpf(v)) for v in a]
    np.testing.assert_allclose(out[:, 1], want, rtol=2e-15)
    out = _beta_vec(*_arr(a, a, np.full_like(a, 0.5), np.full_like(a, 0.5)))
    np.testing.assert_allclose(out[:, 2], 0.5, rtol=1e-14)


def test_outside_the_range_bounded():
    """Beyond the validated range the iteration caps hold: results stay in [0, 1], are
    finite, and the calls return (no hang; speed is for benchmarks, not tests)."""
    big = [
        (1e9, 1e9, 0.5),
        (1e12, 1e12, 0.5),
        (1e300, 1e300, 0.5),
        (1e-300, 1e-300, 0.5),
        (1e9, 1.0, 0.999999999),
        (1e12, 3.0, 1e12),
        (1e300, 1.0, 1e300),
        (1e-300, 2.0, 1e-300),
    ]
    a, b, x = _arr(*zip(*big))
    out = _beta_vec(a, b, x, 1.0 - x)  # returns at all: the caps end every loop
    p, q = _gamma_vec(a, x)
    for v in (out.ravel(), p, q):
        assert np.all(np.isfinite(v)) and np.all((v >= 0) & (v <= 1))
    # a = 1e12 is deep in Temme's expansion: P(a, a) = 1/2 + 1/(3 sqrt(2 pi a)) + O(1/a)
    assert abs(p[5] - (0.5 + 1 / (3 * math.sqrt(2 * math.pi * 1e12)))) < 1e-12


# ---------------------------------------------------------------------------
# one source, three targets: njit, plain Python, the CUDA simulator; and PTX
# ---------------------------------------------------------------------------

IDENTITY_INPUTS = [  # (a, b, x, y)
    (0.5, 0.5, 0.3, 0.7),
    (3.0, 1e4, 1e-4, 0.9999),
    (20.0, 2.0, 0.95, 0.05),
    (1e3, 1e3, 0.51, 0.49),
    (0.01, 0.01, 1e-30, 1.0),
    (7.5, 50.0, 0.2, 0.8),
    (1e4, 0.02, 0.9999, 1e-4),
    (2.0, 2.0, 1.0, 0.0),
    (1e-3, 0.1, 1.05, -0.05),
    (1e-3, 5.0, 0.45, 0.55),
    (0.7, 3.0, 1.1, -0.1),
    (9.0, 9.0, 0.5, 0.5),
    (150.0, 0.3, 0.999, 0.001),
    (1e4, 1e4, 0.4, 0.6),
    (6e4, 1.0, 0.6, 0.4),
    (1e6, 2.0, 0.7, 0.3),
    (0.3, 1e3, 2e-3, 0.998),
    (5.0, 4.0, 1e-200, 1.0),
    (NAN, 1.0, 0.5, 0.5),
    (0.0, 1.0, 0.5, 0.5),
    (1.0, NAN, -1.0, 2.0),
    (1.0, 1.0, INF, -INF),
]

_SIM_CODE = r"""
import json, sys
import numpy as np
from numba import cuda
from numba import config
from mixstat.kernels import special as S
assert config.ENABLE_CUDASIM, "not in the CUDA simulator"

@cuda.jit
def kernel(a, b, x, y, out):
    i = cuda.grid(1)
    if i < a.size:
        out[i, 0] = S.gammainc(a[i], x[i])
        out[i, 1] = S.gammaincc(a[i], x[i])
        out[i, 2] = S.betainc(a[i], b[i], x[i])
        out[i, 3] = S.betaincc(a[i], b[i], x[i])
        p, q = S.betainc_pair(a[i], b[i], x[i], y[i])
        out[i, 4] = p
        out[i, 5] = q
        out[i, 6] = S.lbeta(a[i], b[i])
        out[i, 7] = S.log1pmx(x[i])

cols = [np.array([float.fromhex(v) for v in c]) for c in json.loads(sys.stdin.read())]
dev = [cuda.to_device(c) for c in cols]
out = cuda.to_device(np.zeros((cols[0].size, 8)))
kernel[1, 32](*dev, out)
print(json.dumps([[float(v).hex() for v in row] for row in out.copy_to_host()]))
"""


def _same_bits(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan].view(np.uint64), want[~nan].view(np.uint64))


def test_same_bits_njit_python_and_cuda_simulator():
    cols = _arr(*zip(*IDENTITY_INPUTS))
    jit = _all_vec(*cols)
    # plain Python (what the simulator executes per thread)
    py = np.array(
        [
            [
                S.gammainc(a, x),
                S.gammaincc(a, x),
                S.betainc(a, b, x),
                S.betaincc(a, b, x),
                *S.betainc_pair(a, b, x, y),
                S.lbeta(a, b),
                S.log1pmx(x),
            ]
            for a, b, x, y in IDENTITY_INPUTS
        ]
    )
    _same_bits(py, jit)
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    stdin = json.dumps([[float(v).hex() for v in c] for c in cols])
    r = subprocess.run(
        [sys.executable, "-c", _SIM_CODE], input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert r.returncode == 0, r.stdout + r.stderr
    rows = json.loads(r.stdout.splitlines()[-1])
    sim = np.array([[float.fromhex(v) for v in row] for row in rows])
    _same_bits(sim, jit)
    # and the values are the right ones, not merely the same
    assert jit[0, 0] == pytest.approx(sc.gammainc(0.5, 0.3), rel=1e-14)
    assert jit[0, 2] == pytest.approx(sc.betainc(0.5, 0.5, 0.3), rel=1e-14)


_PTX_CODE = r"""
import os
os.environ.pop("NUMBA_ENABLE_CUDASIM", None)
os.environ["NUMBA_FORCE_CUDA_CC"] = "8.0"
from numba import cuda, types
import numba.cuda.compiler, numba.cuda.dispatcher


class _StandInDevice:  # what numba-cuda asks of the current device (as tests/cuda_ptx.py)
    compute_capability = (8, 0)
    name = "stand-in for sm_80"


numba.cuda.dispatcher.get_current_device = _StandInDevice
numba.cuda.compiler.get_current_device = _StandInDevice
from mixstat.kernels import special as S


def kernel(a, b, x, out):
    i = cuda.grid(1)
    if i < a.size:
        out[i, 0] = S.gammainc(a[i], x[i])
        out[i, 1] = S.gammaincc(a[i], x[i])
        out[i, 2] = S.betainc(a[i], b[i], x[i])
        out[i, 3] = S.betaincc(a[i], b[i], x[i])
        p, q = S.betainc_pair(a[i], b[i], x[i], 1.0 - x[i])
        out[i, 4] = p + q
        out[i, 5] = S.lbeta(a[i], b[i])
        out[i, 6] = S.log1pmx(x[i])


f32 = types.Array(types.float32, 1, "C")  # callers' float32 is promoted inside
f64 = types.Array(types.float64, 2, "C")
ptx, _ = cuda.compile_ptx(kernel, (f32, f32, f32, f64), cc=(8, 0))
print(".target sm_80" in ptx, "cvt.f64.f32" in ptx)
"""


def test_kernel_compiles_to_ptx():
    """The simulator does no type checking: compile a kernel calling every function."""
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    r = subprocess.run(
        [sys.executable, "-c", _PTX_CODE], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split()[-2:] == ["True", "True"], r.stdout


# ---------------------------------------------------------------------------
# the denser sweep quoted in mixstat/kernels/special.py
# ---------------------------------------------------------------------------


def _sweep():
    import random

    rng = random.Random(2024)
    print("gamma, grid:", *gamma_errors(gamma_grid(43)), sep="\n  ")
    pts = []
    for _ in range(3000):
        a = 10 ** rng.uniform(-3, 4)
        k = rng.random()
        x = (
            a + rng.uniform(-40, 40) * math.sqrt(a)
            if k < 0.5
            else a * 10 ** rng.uniform(-3, 1)
            if k < 0.8
            else 10 ** rng.uniform(-300, 3)
        )
        if x > 0:
            pts.append((a, x))
    print("gamma, 3000 random a in [1e-3, 1e4]:", *gamma_errors(pts), sep="\n  ")
    print(
        "gamma, a in (5e4, 1e6] (Temme):",
        *gamma_errors([(a, a + k * math.sqrt(a)) for a in (5.0001e4, 1e5, 3e5, 1e6) for k in np.linspace(-37, 37, 21)]),
        sep="\n  ",
    )
    names = ("betainc", "betaincc", "pair I", "pair 1-I")
    grid = beta_grid(tuple(float(v) for v in np.geomspace(1e-2, 1e4, 13)))
    for n, w in zip(names, beta_errors(grid)):
        print(f"beta grid 13x13 {n}: {w}")
    pts = []
    for _ in range(4000):
        a, b = 10 ** rng.uniform(-2, 4), 10 ** rng.uniform(-2, 4)
        mu, sd = a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        k = rng.random()
        x = (
            mu + rng.uniform(-40, 40) * sd
            if k < 0.5
            else 10 ** rng.uniform(-300, 0)
            if k < 0.75
            else 1 - 10 ** rng.uniform(-16, 0)
        )
        if 0 < x < 1:
            pts.append((a, b, x))
    for n, w in zip(names, beta_errors(pts)):
        print(f"beta, 4000 random a, b in [1e-2, 1e4] {n}: {w}")
    for n, w in zip(("pair I", "pair 1-I"), beta_errors(tdist_grid())[2:]):
        print(f"beta, Student t inputs {n}: {w}")
    big = [
        (a, b, a / (a + b) + k * math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))))
        for a in (1e4, 1e5, 1e6)
        for b in (0.01, 1.0, 30.0, 1e4, 1e5, 1e6)
        for k in (-30, -5, -1, 0, 1, 5, 30)
    ]
    for n, w in zip(names, beta_errors([p for p in big if 0 < p[2] < 1])):
        print(f"beta, a in [1e4, 1e6], b in [1e-2, 1e6] {n}: {w}")


if __name__ == "__main__":
    _sweep()
