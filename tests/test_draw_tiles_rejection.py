"""The CPU's SIMD tile samplers (``draw_tile``) of the rejection families (Gamma, Beta, StudentT,
VonMises) against the scalar ``draw1`` (the CUDA loops' hook, ``math.*``), point by point.

A ``draw_tile`` runs the first try(s) of the scalar sampler of :mod:`mixstat.kernels.samplers`
for a whole tile with the polynomial functions of :mod:`mixstat.kernels.samplers_tile` (SIMD),
and every point those tries reject is drawn by ``draw1`` itself.  The tiles are reached through
the public sample path, from the kernels the warm-up compiled (no kernel is compiled for this
file): :func:`mixstat._sample_at.sample_rows` draws rows ``start .. start + S`` of a batch of
distributions (each batch entry a parameter set, so the tile's points gather different rows),
with the element index crossing ``2**32`` and tiles that start off the call's tile grid.  The
reference is ``draw1`` run as Python (glibc's ``math``) on the same key, element and (rounded)
row.  Checks per family:

* every point (accepted by the SIMD tries or redrawn by ``draw1``) within the stated bound of
  ``draw1``, and some points not bit-equal (the polynomial functions are really in use);
* the same bits in one call and in two calls that split the rows (chunking);
* float32 rows and outputs: within one float32 ulp of ``draw1`` (computed in float64 on the
  float32 rows) rounded to float32 (Gamma with ``a < 1``: plus ``|log rate| 2**-24`` relative,
  as ``draw1`` divides by the row's float32 ``exp(LOG_RATE)`` and the tile by its ``RATE``).

Bounds (``eps = 2**-52``).  The tile and ``draw1`` compute the same function of the same words
with different roundings, so their difference is a few ulp times the condition number of the
draw in the quantities the polynomial functions give; each bound is stated in terms of the
scalar sampler's own intermediate values (from :func:`mixstat.kernels.samplers._mt`, which the
test calls on the same words), with the normal's error ``4 eps |x| + 4e-16 r`` (``r <= 8.6``
the Box-Muller radius: ``cos`` has an absolute error):

* Gamma, ``G = d s**3`` with ``s = 1 + x / sqrt(9 d)``: relative ``eg = 3 (4 eps |s - 1| +
  c 3.5e-15) / s + 8 eps``, plus ``8 eps (1 + |log U / a| + |log G| + |log rate|)`` where the
  boost and the logs of ``draw1`` (``exp(log G - log rate)``) enter (``a < 1``);
* Beta ``X / (X + Y)``: relative ``(1 - B) (egX + egY + 8 eps (2 + |log X| + |log Y|)) + 8 eps``;
* StudentT ``loc + scale Z / sqrt(G / h)``: absolute ``scale |T| (egG / 2 + 8 eps) + scale
  (4 eps |Z| + 4e-16 8.6) sqrt(h / G) + 4 eps (|loc| + scale |T|)``;
* VonMises ``theta + loc`` (wrapped): absolute ``16 eps (|theta| + |loc| + pi)`` (the half-angle
  ``sin``/``cos`` and the ``atan2`` are within a few ulp relative, :func:`test_atan2_pos`).

Also here: the polynomial ``atan2`` of the VonMises tile against mpmath, and the first-try
helpers at parameters whose points must all be left to ``draw1`` (tiny concentrations, huge
``kappa``).  No statistical test here (the goodness of fit of the tile path is tested through
``sample`` in ``tests/test_family_gamma.py``, ``tests/test_family_studentt.py``,
``tests/test_family_weibull.py`` and ``tests/test_samplers.py``, at the samplers' switch
points): every check is exact or has a stated bound, and no false-alarm rate.
"""

import math

import mpmath as mp
import numpy as np
import pytest

from mixstat import plan
from mixstat._sample_at import sample_rows
from mixstat.distributions import Beta, Gamma, StudentT, VonMises
from mixstat.kernels import samplers as S, samplers_tile as T
from mixstat.kernels.families import beta, gamma, studentt, vonmises

EPS = 2.0**-52
R_MAX = 8.6  # the largest Box-Muller radius sqrt(-2 log(2**-53)) = 8.57
KEY = (np.uint64(0x9E3779B9), np.uint64(0x1234567))

# parameter sets of each family's batch: both loops of the tile (every parameter >= 1, and
# some below 1), the switch points, and parameters whose points draw1 must finish (a rate whose
# draws overflow or underflow, a tiny concentration, kappa outside the tile's range)
CASES = {
    "gamma-big": (Gamma, dict(concentration=[1.0, 1.001, 1.7, 4.0, 30.0, 1e4], rate=[1.0, 0.5, 3.0, 1e-3, 2.0, 7.0])),
    "gamma-small": (
        Gamma,
        dict(concentration=[0.999, 0.5, 0.05, 1e-3, 2.5, 1.0, 0.3], rate=[1.5, 1e-300, 2.0, 1.0, 1e300, 1.0, 1e-5]),
    ),
    "beta-big": (Beta, dict(concentration1=[1.0, 2.5, 20.0, 1.3], concentration0=[1.0, 7.0, 30.0, 1e3])),
    "beta-small": (
        Beta,
        dict(concentration1=[0.1, 0.5, 1e-2, 3.0, 0.999, 1e-3], concentration0=[0.2, 0.5, 5.0, 0.7, 1.0, 1e-3]),
    ),
    "studentt-big": (StudentT, dict(df=[2.0, 2.001, 7.0, 1e4], loc=[0.5, -3.0, 0.0, 1e3], scale=[2.0, 0.1, 1.0, 5.0])),
    "studentt-small": (
        StudentT,
        dict(df=[0.05, 0.5, 1.0, 1.999, 5.0], loc=[0.0, 1.0, -2.0, 0.5, 0.0], scale=[1.0, 3.0, 1e-3, 1.0, 2.0]),
    ),
    "vonmises": (
        VonMises,
        dict(
            loc=[0.0, 3.0, -2.5, 3.13, 1.0, -1.0, 0.2, 2.0],
            concentration=[1e-20, 1e-6, 0.5, 700.0, 5.0, 1e5, 1e200, 1.0],
        ),
    ),
}
MODULES = {Gamma: gamma, Beta: beta, StudentT: studentt, VonMises: vonmises}
S_ROWS = 250


def _dist(name, dtype=np.float64):
    cls, p = CASES[name]
    if dtype == np.float32:  # parameters inside float32's range
        p = {k: np.clip(v, -1e30, 1e30) for k, v in p.items()}
        p = {k: np.where(np.abs(v) < 1e-30, np.sign(v) * 1e-30, v) if k != "loc" else v for k, v in p.items()}
    return cls(**{k: np.asarray(v, dtype=dtype) for k, v in p.items()})


def _start(B):
    """A row offset whose elements ``(start + s) B + b`` cross ``2**32`` (off the tile grid)."""
    return (2**32 - 777) // B


def _rows64(d):
    """The kernel's rows ``(B, 1, P)`` of ``d``, in float64 (as the compiled ``draw1`` promotes them)."""
    tab, _ = plan._tables(d._kernel_spec(d.dtype), tuple(d.batch_shape), None, 1.0)
    return np.asarray(tab, dtype=np.float64)


def _draw1_all(m, tab, start, nrows):
    """``draw1`` as Python for rows ``start ..`` of every batch entry: ``(nrows, B)``, and the elements."""
    B = tab.shape[0]
    n = (start + np.arange(nrows))[:, None] * B + np.arange(B)[None, :]
    want = np.array([[m.draw1(KEY[0], KEY[1], int(n[s, b]), 0, tab, b, 0, 0) for b in range(B)] for s in range(nrows)])
    return want, n


def _gamma_rel(key0, key1, n, c, a):
    """The bound on the relative difference of a Gamma(a) draw on word ``c`` (module docstring),
    from the scalar sampler's accepted try."""
    small = a < 1.0
    ap = a + 1.0 if small else a
    d, v, lv, ub = S._mt(key0, key1, n, c, ap)
    s = v ** (1.0 / 3.0)
    cc = 1.0 / math.sqrt(9.0 * d)
    rel = 3.0 * (4 * EPS * abs(s - 1.0) + cc * 3.5e-15) / s + 8 * EPS
    if small:
        t = math.log(ub) / a
        rel += 8 * EPS * (1.0 + abs(t) + abs(math.log(d) + lv + t))
    return rel, math.log(d) + lv + (math.log(ub) / a if small else 0.0)


def _bound(name, tab, n, want):
    """The stated bound on ``|draw_tile - draw1|`` (absolute), elementwise ``(S, B)``."""
    B = tab.shape[0]
    out = np.empty_like(want)
    k0, k1 = KEY
    for s in range(want.shape[0]):
        for b in range(B):
            e = int(n[s, b])
            w = want[s, b]
            row = tab[b, 0]
            if name.startswith("gamma"):
                rel, lg = _gamma_rel(k0, k1, e, 0, row[gamma.CONC])
                if row[gamma.CONC] < 1.0:  # draw1's exp(log G - log rate)
                    rel += 8 * EPS * abs(row[gamma.LOG_RATE])
                out[s, b] = rel * abs(w) + (1e-320 if w < 1e-300 else 0.0)
            elif name.startswith("beta"):
                rx, lx = _gamma_rel(k0, k1, e, 0, row[beta.A])
                ry, ly = _gamma_rel(k0, k1, e, 1, row[beta.B])
                rel = (1.0 - w) * (rx + ry + 8 * EPS * (2.0 + abs(lx) + abs(ly))) + 8 * EPS
                out[s, b] = rel * abs(w)
            elif name.startswith("studentt"):
                h = 0.5 * row[studentt.DF]
                loc, scale = row[studentt.LOC], row[studentt.SCALE]
                rg, lg = _gamma_rel(k0, k1, e, 0, h)
                z = S.std_normal(k0, k1, e, 1)
                t = (w - loc) / scale
                out[s, b] = (
                    scale * abs(t) * (0.5 * rg + 8 * EPS)
                    + scale * (4 * EPS * abs(z) + 4e-16 * R_MAX) * math.exp(-0.5 * (lg - math.log(h)))
                    + 4 * EPS * (abs(loc) + scale * abs(t))
                )
            else:
                theta = S.von_mises(k0, k1, e, 0, row[vonmises.CONC])
                out[s, b] = 16 * EPS * (abs(theta) + abs(row[vonmises.LOCW]) + math.pi)
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_draw_tile_agrees_with_draw1(name):
    d = _dist(name)
    m = MODULES[type(d)]
    tab = _rows64(d)
    B = tab.shape[0]
    start = _start(B)
    assert start * B < 2**32 < (start + S_ROWS) * B
    got = np.asarray(sample_rows(d, KEY, start, S_ROWS), dtype=np.float64)
    want, n = _draw1_all(m, tab, start, S_ROWS)
    assert got.shape == want.shape == (S_ROWS, B)
    assert np.isfinite(want).all() and np.isfinite(got).all()
    err = np.abs(got - want)
    bound = _bound(name, tab, n, want)
    assert (err <= bound).all(), (np.unravel_index(np.argmax(err / bound), err.shape), (err / bound).max())
    assert (err > 0).any()  # the polynomial functions are really in use
    # chunking: two calls that split the rows give the same bits
    cut = 97
    a = np.asarray(sample_rows(d, KEY, start, cut))
    c = np.asarray(sample_rows(d, KEY, start + cut, S_ROWS - cut))
    assert np.array_equal(np.concatenate([a, c]), got)


@pytest.mark.parametrize("name", ["gamma-small", "beta-small", "studentt-small", "vonmises"])
def test_draw_tile_float32(name):
    d = _dist(name, np.float32)
    m = MODULES[type(d)]
    tab = _rows64(d)
    B = tab.shape[0]
    start = _start(B)
    got = np.asarray(sample_rows(d, KEY, start, 60))
    assert got.dtype == np.float32
    want, _ = _draw1_all(m, tab, start, 60)
    w32 = want.astype(np.float32)
    ulp = np.spacing(np.abs(w32)).astype(np.float64)
    if name == "gamma-small":
        # for a < 1 draw1 takes exp(log G - LOG_RATE), with the row's float32 log(rate), the tile
        # G / RATE: the two rounded parameters differ by up to |log rate| 2**-24 relative
        ulp = ulp + np.abs(want) * np.abs(tab[:, 0, gamma.LOG_RATE]) * 2.0**-24
    assert (np.abs(got.astype(np.float64) - w32.astype(np.float64)) <= ulp).all()


# ------------------------------------------------------------------ the helpers
def _atan2_points():
    pts = [(0.0, 1.0), (1.0, 0.0), (1.0, 1.0), (5e-324, 1.0), (1.0, 5e-324), (1e-300, 1e300), (3.0, 4.0)]
    for q in (0.4375, 0.6875, 1.0):
        for t in (q * (1 - 4 * EPS), q, q * (1 + 4 * EPS)):
            pts += [(t, 1.0), (1.0, t), (t * 1e-200, 1e-200)]
    rng = np.random.default_rng(5)
    pts += [tuple(v) for v in 10.0 ** rng.uniform(-20, 20, (200, 2))]
    return pts


def test_atan2_pos():
    """The polynomial ``atan2`` for ``y, x >= 0`` against mpmath: within 2 ulp relative."""
    f = T.atan2_pos.py_func if hasattr(T.atan2_pos, "py_func") else T.atan2_pos
    for y, x in _atan2_points():
        got = f(y, x)
        with mp.workdps(40):
            want = float(mp.atan2(mp.mpf(y), mp.mpf(x)))
        assert abs(got - want) <= 2 * EPS * abs(want), (y, x, got, want)


@pytest.mark.parametrize(
    "fn,param",
    [
        ("gamma_first_fast", 1e-3),  # log U / a below -700 for most U: the scalar sampler's logs
        ("gamma_first_fast", -1.0),
        ("gamma_first_fast", math.nan),
        ("log_gamma_first_fast", -1.0),
        ("log_gamma_first_fast", math.nan),
    ],
)
def test_first_try_leaves_invalid_and_far_cases_to_draw1(fn, param):
    f = getattr(T, fn)
    acc = [f(KEY[0], KEY[1], n, 0, param)[1] for n in range(300)]
    if param == 1e-3:
        # accepted only where log U / a >= -700, i.e. U >= exp(-0.7): about half
        assert 0.3 < np.mean(acc) < 0.7
        for n in range(300):
            g, ok = f(KEY[0], KEY[1], n, 0, param)
            if ok:
                assert g > 0 and math.isfinite(g)
    else:
        assert not any(acc)


def test_von_mises_setup_range():
    """The tile's setup is used for 1e-17 <= kappa <= 1e150 only (draw1's special cases
    and the range where ``1 + 4 kappa**2`` is finite), and agrees with the scalar's there."""
    f = T.von_mises_setup_fast
    for kappa in (1e-18, math.inf, 1e151, math.nan):  # (run as Python here: no kappa = 0)
        assert not f(kappa)[4]
    for kappa in (1e-17, 1e-6, 0.5, 5.0, 700.0, 1e5, 1e150):
        e, ke2, se, s2e, ok = f(kappa)
        assert ok
        with mp.workdps(400):  # r - 1 = 5e-151 at kappa = 1e150
            k = mp.mpf(kappa)
            tau = 1 + mp.sqrt(1 + 4 * k * k)
            rho = (tau - mp.sqrt(2 * tau)) / (2 * k)
            r = (1 + rho * rho) / (2 * rho)
            ee = float(r - 1)
            kk = float(k * (r * r - 1))
        assert e == pytest.approx(ee, rel=16 * EPS) and ke2 == pytest.approx(kk, rel=16 * EPS)
