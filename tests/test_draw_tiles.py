"""The CPU's SIMD tile samplers (``draw_tile``) of Exponential, Cauchy and Gumbel against the
scalar ``draw1`` (the CUDA loops' hook, ``math.*``), point by point.

Two checks per family:

* the whole ``draw_tile`` on the Philox stream (many points, components, batch rows and
  coordinates, a point index crossing 2**32, a partial tile written at a row offset;
  float64 and float32 tables), against ``draw1`` run as Python (glibc's ``math``);
* the standard variate of the tile (``_std_tile`` of the two words of the open uniform) at
  chosen words: the smallest and largest uniforms the stream can give (``2**-53`` and
  ``1 - 2**-53``), the neighbours of the branch points 1/4, 1/2, 3/4, ``sqrt(1/2)``,
  ``1/e``, and ``2**-m``, ``1 - 2**-m`` for every ``m``, against ``draw1`` fed the same words
  (``samplers.block_c`` replaced while the Python ``draw1`` runs) and against mpmath.

The hooks are compiled here with the kernels' options (``mixstat._jit.NJIT_OPTIONS``:
FMA contraction and reciprocal division allowed), as ``make_sample`` inlines them.

Bounds (``eps = 2**-52``; ``C``, ``G`` the standard draws, ``|.|`` of ``draw1``'s value):

=============  ==============================  =====================================
family         standard variate                ``draw_tile`` vs ``draw1``
=============  ==============================  =====================================
Exponential    ``2 eps |E|``                   ``3 eps |x|`` + 2 subnormal spacings
Cauchy         ``4 eps |C|``                   ``6 eps (|loc| + |C| scale)``
Gumbel         ``2 eps (1 + |G|)``;            ``4 eps (|loc| + (1 + |G|) scale)``
               ``E = -log U``: ``2 eps |E|``
=============  ==============================  =====================================

(Gumbel's bound is absolute near ``G = 0``: ``-log`` is ill-conditioned at ``E = 1``, so
an ulp of ``E`` is an absolute ``eps`` in ``G`` for any implementation.)  float32 tables
and outputs: within one float32 ulp of ``draw1`` (computed in float64 on the same float32
rows, as the compiled ``draw1`` promotes them) rounded to float32.
"""

import functools
import math

import mpmath as mp
import numpy as np
import pytest
from numba import njit

from mixstat._jit import NJIT_OPTIONS
from mixstat.kernels import samplers
from mixstat.kernels.families import cauchy, exponential, gumbel

EPS = np.finfo(np.float64).eps
TINY = 5e-324
_OPTS = {k: v for k, v in NJIT_OPTIONS.items() if k != "cache"}
FAMS = {"exponential": exponential, "cauchy": cauchy, "gumbel": gumbel}


@functools.cache
def _jit(name, fn):
    return njit(**_OPTS)(getattr(FAMS[name], fn))


def _params(name, rng, B, K, D, dtype):
    """Packed rows ``(B, K, D * P)`` and the per-(b, k, j) ``(loc, scale)`` in float64."""
    shape = (B, K, D)
    scale = 10.0 ** rng.uniform(-3, 3, shape)
    if dtype == np.float64:  # extremes of the scale (rate), finite and subnormal results
        scale[0, 0, 0], scale[-1, -1, -1] = 1e-300, 1e300
    m = FAMS[name]
    if name == "exponential":
        tab = m.pack(1.0 / scale, dtype)
        loc = np.zeros(shape)
    else:
        loc = rng.standard_normal(shape) * 10.0 ** rng.uniform(-2, 3, shape)
        tab = m.pack(loc, scale, dtype)
    tab = tab.reshape(B, K, D * m.P)
    t = tab.astype(np.float64).reshape(B, K, D, m.P)
    if name == "exponential":
        return tab, np.zeros(shape), 1.0 / t[..., m.RATE]
    return tab, t[..., m.LOC], t[..., m.SCALE]


def _bound(name, want, loc, scale):
    """The stated bound on ``|draw_tile - draw1|`` (float64 tables), elementwise."""
    if name == "exponential":
        return 3 * EPS * np.abs(want) + 2 * TINY
    std = (want - loc) / scale
    if name == "cauchy":
        return 6 * EPS * (np.abs(loc) + np.abs(std) * scale)
    return 4 * EPS * (np.abs(loc) + (1.0 + np.abs(std)) * scale)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", sorted(FAMS))
def test_draw_tile_agrees_with_draw1_on_the_stream(name, dtype):
    m = FAMS[name]
    rng = np.random.default_rng(sorted(FAMS).index(name))
    B, K, D = 2, 4, 3
    tab, loc, scale = _params(name, rng, B, K, D, dtype)
    n, nl, row0 = 2000, 1993, 5  # a partial tile: scratch longer than the points drawn
    g0 = 2**32 - 700  # the point index crosses into the counter's high word
    key0, key1 = 0x9E3779B9, 12345
    bb = rng.integers(0, B, n)
    kk = rng.integers(0, K, n)
    out = np.full((row0 + nl + 4, D), np.nan, dtype=dtype)
    _jit(name, "draw_tile")(key0, key1, g0, nl, tab, bb, kk, out, row0, np.empty(n), np.empty(n))
    assert np.isnan(out[:row0]).all() and np.isnan(out[row0 + nl :]).all()  # nothing else written
    got = out[row0 : row0 + nl].astype(np.float64)
    t64 = tab.astype(np.float64)  # draw1 on the same (rounded) rows, in float64
    want = np.array(
        [[m.draw1(key0, key1, g0 + i, 4 * j, t64, bb[i], kk[i], j * m.P) for j in range(D)] for i in range(nl)]
    )
    lp = loc[bb[:nl], kk[:nl]]  # (nl, D)
    sp = scale[bb[:nl], kk[:nl]]
    assert np.isfinite(want).all() and np.isfinite(got).all()
    if dtype == np.float64:
        err = np.abs(got - want)
        bound = _bound(name, want, lp, sp)
        assert (err <= bound).all(), (err / bound).max()
        assert (err > 0).any()  # the polynomial log (sin/cos) is really in use
    else:
        w32 = want.astype(np.float32)
        ulp = np.spacing(np.abs(w32)).astype(np.float64)
        assert (np.abs(got - w32.astype(np.float64)) <= ulp).all()


# ------------------------------------------------------------------ chosen uniforms
def _words(k):
    """Words ``(w0, w1)`` with ``_open(w0, w1) == (k + 1/2) 2**-52`` (the 12 dropped bits set)."""
    return k >> 20, ((k << 12) & 0xFFFFFFFF) | 0xFFF


def _chosen_k():
    top = 2**52
    ks = {0, 1, 2, top - 3, top - 2, top - 1}
    for m in range(53):
        ks.update({2**m - 1, 2**m, top - 2**m} if m < 52 else {2**m - 1})
    for q in (0.25, 0.5, 0.75, math.sqrt(0.5), math.exp(-1.0)):  # branch points, G = 0
        c = int(q * top)
        ks.update(range(c - 2, c + 3))
    return sorted(k for k in ks if 0 <= k < top)


KS = _chosen_k()


@functools.cache
def _std_all(name):
    f = _jit(name, "_std_tile")
    return np.array([f(*_words(k)) for k in KS])


def _draw1_on_words(name):
    """``draw1`` (loc 0, scale 1 / rate 1) run as Python with ``samplers.block_c`` giving the
    chosen words for point ``n``: the exact scalar path, on chosen uniforms."""
    m = FAMS[name]
    tab = m.pack(1.0, np.float64) if name == "exponential" else m.pack(0.0, 1.0, np.float64)
    tab = tab.reshape(1, 1, m.P)

    def fake_block_c(key0, key1, n, j, c):
        assert j == 1 and c == 0
        w0, w1 = _words(KS[n])
        return np.uint64(w0), np.uint64(w1), np.uint64(0), np.uint64(0)

    with pytest.MonkeyPatch.context() as mp_:
        mp_.setattr(samplers, "block_c", fake_block_c)
        return np.array([m.draw1(0, 0, n, 0, tab, 0, 0, 0) for n in range(len(KS))], dtype=np.float64)


def _exact(name, k):
    """The exact standard draw at ``U = (k + 1/2) 2**-52``, by mpmath (inversion formulas)."""
    with mp.workdps(60):
        u = (mp.mpf(k) + mp.mpf(0.5)) * mp.mpf(2) ** -52
        if name == "exponential":
            return float(-mp.log(u))
        if name == "cauchy":
            return float(mp.tan(mp.pi * (u - mp.mpf(0.5))))
        return float(-mp.log(-mp.log(u)))


def _std_bound(name, ref):
    if name == "exponential":
        return 2 * EPS * np.abs(ref)
    if name == "cauchy":
        return 4 * EPS * np.abs(ref)
    return 2 * EPS * (1.0 + np.abs(ref))


@pytest.mark.parametrize("name", sorted(FAMS))
def test_std_tile_agrees_with_draw1_at_the_extreme_uniforms(name):
    got = _std_all(name)
    want = _draw1_on_words(name)
    exact = np.array([_exact(name, k) for k in KS])
    assert np.isfinite(got).all() and np.isfinite(want).all()
    assert (np.abs(got - want) <= _std_bound(name, want)).all(), KS[
        int(np.argmax(np.abs(got - want) / _std_bound(name, want)))
    ]
    # both against the exact value (so the replacement of block_c really fed draw1)
    assert (np.abs(got - exact) <= _std_bound(name, exact)).all()
    assert (np.abs(want - exact) <= _std_bound(name, exact)).all()
    # the ends: U = 2**-53 and 1 - 2**-53
    lo, hi = got[0], got[-1]
    if name == "exponential":
        assert lo == pytest.approx(53 * math.log(2.0), rel=4 * EPS) and hi == pytest.approx(2.0**-53, rel=4 * EPS)
    elif name == "cauchy":
        assert lo == pytest.approx(-1.0 / (math.pi * 2.0**-53), rel=4 * EPS) and hi == -lo
    else:
        assert lo == pytest.approx(-math.log(53 * math.log(2.0)), rel=4 * EPS)
        assert hi == pytest.approx(53 * math.log(2.0), rel=4 * EPS)


def test_gumbel_neg_log_u_keeps_its_relative_accuracy_near_one():
    """``E = -log U`` of the Gumbel tile against ``std_gumbel``'s ``-log1p(-(1 - U))`` above 1/2
    (and ``-log U`` below), relative, at the chosen uniforms: near ``U = 1`` an ulp of ``E`` is
    below the absolute bound of ``G``, so it is checked on its own."""
    f = _jit("gumbel", "_neg_log_u")
    got = np.array([f(*_words(k)) for k in KS])
    u = (np.array(KS, dtype=np.float64) + 0.5) * 2.0**-52
    want = np.array([-math.log1p(-(1.0 - x)) if x > 0.5 else -math.log(x) for x in u])
    assert want[-1] == pytest.approx(2.0**-53, rel=EPS)  # U = 1 - 2**-53: E = 1.1e-16
    err = np.abs(got - want) / want
    assert (err <= 2 * EPS).all(), KS[int(np.argmax(err))]
