"""The vectorisable erfc (mixstat/kernels/erfc.py): accuracy against mpmath,
special values, SIMD code, and ``erfc_any``'s meaning on each device (CPU
``njit``, CUDA compiled to PTX, the CUDA simulator)."""

import importlib.util
import inspect
import json
import math
import os
import re
import struct
import subprocess
import sys
import time
from fractions import Fraction

import llvmlite.binding as llvm
import mpmath as mp
import numpy as np
import pytest
from numba import njit

from mixstat.kernels import erfc as E

mp.mp.dps = 50

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EPS = 2.0**-52
TINY = 2.0**-1022  # below: erfc is subnormal (x > 26.54)
STEP = 2.0**-1074  # one subnormal step
_JIT = dict(error_model="numpy", fastmath={"contract", "nsz", "arcp"})

# measured maxima (tests below print them): relative error in units of 2**-52,
# with |erfc| floored at 2**-1022, i.e. absolute in subnormal steps beyond
BOUND = 4.0  # all of [-6.5, 28]; measured 3.2 (in [1.25, 2.857))
BOUND_LOW = 1.5  # x < 1.25; measured 1.1 (in [0, 0.84375))


@njit(**_JIT)
def _poly_loop(x, out):
    for i in range(x.size):
        out[i] = E.erfc_poly(x[i])


@njit(**_JIT)
def _any_loop(x, out):
    for i in range(x.size):
        out[i] = E.erfc_any(x[i])


@njit(**_JIT)
def _math_loop(x, out):
    for i in range(x.size):
        out[i] = math.erfc(x[i])


def _apply(loop, x):
    out = np.empty(x.shape, np.float64)
    loop(x, out)
    return out


def _grid():
    rng = np.random.default_rng(7)
    bounds = [0.25, E._X_MID, E._X_TAIL, E._X_RB, 1 / 0.35, 6.0, E._X_SCALE, 26.54, 27.2, 27.23, E._X_HUGE]
    near = []
    for b in bounds:
        for s in (1.0, -1.0):
            v = s * b
            near.append(v * (1 + np.linspace(-1e-3, 1e-3, 201)))
            for k in range(-3, 4):  # b and its neighbours, a few ulp apart
                near.append([v + k * math.ulp(v)])
    tiny = 2.0 ** -np.arange(20.0, 80.0)
    x = np.concatenate(
        [
            np.linspace(-6.0, 27.3, 75001),
            rng.uniform(-6.0, 27.3, 20000),
            *near,
            tiny,
            -tiny,
            [2.0**-28, np.nextafter(2.0**-28, 0), TINY, STEP, -STEP, 0.0, -0.0],
        ]
    )
    return x[(x >= -6.5) & (x <= 28.0)]


@pytest.fixture(scope="module")
def errors():
    """x, ulps of erfc_poly and ulps of math.erfc (glibc), against mpmath."""
    x = _grid()
    got = _apply(_poly_loop, x)
    ref = _apply(_math_loop, x)
    ulp_got = np.empty(x.size)
    ulp_ref = np.empty(x.size)
    tiny, eps = mp.mpf(TINY), mp.mpf(EPS)
    for i, v in enumerate(x):
        w = mp.erfc(mp.mpf(v))
        unit = eps * max(w, tiny)
        ulp_got[i] = float(abs(mp.mpf(got[i]) - w) / unit)
        ulp_ref[i] = float(abs(mp.mpf(ref[i]) - w) / unit)
    return x, got, ulp_got, ulp_ref


def test_accuracy_against_mpmath(errors):
    x, got, ulp_got, ulp_ref = errors
    print(f"\n{x.size} points; max error in ulp (2**-52 relative, |erfc| floored at 2**-1022)")
    print("    region                erfc_poly   math.erfc")
    edges = [-6.5, -E._X_RB, -E._X_TAIL, -E._X_MID, 0.0, E._X_MID, E._X_TAIL, E._X_RB, 6.0, E._X_SCALE, 26.54, 28.0]
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (x >= lo) & (x < hi)
        print(f"    [{lo:8.4f}, {hi:8.4f})  {ulp_got[sel].max():9.2f}   {ulp_ref[sel].max():9.2f}")
    assert np.all(np.isfinite(got))
    assert ulp_got.max() <= BOUND
    assert ulp_got[x < E._X_TAIL].max() <= BOUND_LOW


def test_subnormal_results(errors):
    """Beyond x = 26.54 the result is rounded once, to the subnormal grid."""
    x, got, ulp_got, _ = errors
    sub = x > 26.55
    assert sub.sum() > 500
    assert ulp_got[sub].max() <= BOUND  # in subnormal steps here
    # deep in the subnormal range the relative error no longer shows: within
    # one step of the exact value (it is 0.5 plus the rounding of the normal
    # intermediate)
    deep = x > 26.7
    assert ulp_got[deep].max() <= 1.0
    # erfc(x) < 2**-1075 from x = 27.23: the result rounds to 0
    assert np.all(got[x >= 27.24] == 0.0)
    assert np.all(got[(x > 27.0) & (x < 27.2)] > 0.0)


def test_tiny_arguments(errors):
    x, got, ulp_got, _ = errors
    t = np.abs(x) < 2.0**-28
    assert t.sum() > 100
    assert ulp_got[t].max() <= 1.0
    assert np.all(got[(np.abs(x) < 2.0**-54)] == 1.0)


def test_special_values():
    x = np.array(
        [
            np.nan,
            -np.nan,
            np.inf,
            -np.inf,
            0.0,
            -0.0,
            28.0,
            30.0,
            1e300,
            -6.0,
            -6.5,
            -27.0,
            -30.0,
            -1e300,
            5e-324,
            -5e-324,
        ]
    )
    for loop in (_poly_loop, _any_loop):
        got = _apply(loop, x)
        assert np.isnan(got[0]) and np.isnan(got[1])
        assert got[2] == 0.0 and got[3] == 2.0
        assert got[4] == 1.0 and got[5] == 1.0
        assert np.all(got[6:9] == 0.0)
        assert np.all(got[10:14] == 2.0)  # 2 - erfc(|x|) rounds to 2 below -6
        assert got[9] == math.erfc(-6.0)
        assert got[14] == 1.0 and got[15] == 1.0
    nan_payload = np.array([0x7FF0000000000123, -0x000FFFFFFFFFFFFF], np.int64).view(np.float64)
    assert np.all(np.isnan(_apply(_poly_loop, nan_payload)))
    # from Python, the dispatcher and the plain function
    assert E.erfc_poly(0.5) == _apply(_poly_loop, np.array([0.5]))[0]
    assert E.erfc_any(0.5) == math.erfc(0.5)


def test_float32_and_integer_input():
    rng = np.random.default_rng(3)
    x32 = rng.uniform(-6, 12, 1000).astype(np.float32)
    want = _apply(_poly_loop, x32.astype(np.float64))
    got = _apply(_any_loop, x32)  # erfc_any(float32) computes and returns float64
    np.testing.assert_array_equal(got, want)

    @njit(**_JIT)
    def types_of(x32, n):
        return E.erfc_any(x32), E.erfc_any(n)

    a, c = types_of(np.float32(1.5), 2)
    assert type(a) is float and a == E.erfc_poly(1.5) == E.erfc_poly(np.float32(1.5))
    assert c == E.erfc_poly(2.0)


@njit(**_JIT)
def _near_loop(x, out):
    # the tail regions without the clamp and the scaling, each where the Normal cdf's tiles use it
    for i in range(x.size):
        out[i] = E.erfc_tail_a_near(x[i]) if x[i] < E._X_RB else E.erfc_tail_b_near(x[i])


def test_tail_without_clamp_is_the_same_bits():
    """``erfc_tail_a_near`` / ``erfc_tail_b_near`` (no clamp, no scaling) are the bits of
    ``erfc_poly`` on ``[1.25, 26]``, every region edge included."""
    rng = np.random.default_rng(5)
    x = np.concatenate(
        [rng.uniform(1.25, 26.0, 20000), np.nextafter([E._X_RB, E._X_RB], [0, 30]), [1.25, E._X_RB, 26.0]]
    )
    np.testing.assert_array_equal(_apply(_near_loop, x), _apply(_poly_loop, x))


def _horner(t, cs):
    p = np.full_like(t, cs[-1])
    for c in cs[-2::-1]:
        p = p * t + c
    return p


def _tail_exponents(ax):
    """The two exponents of the tail (1.25 <= |x| < 28), in numpy, as in erfc_poly."""
    w = 1.0 / (ax * ax)
    ra = _horner(w, [getattr(E, f"_RA{i}") for i in range(8)])
    sa = _horner(w, [1.0] + [getattr(E, f"_SA{i}") for i in range(1, 9)])
    rb = _horner(w, [getattr(E, f"_RB{i}") for i in range(7)])
    sb = _horner(w, [1.0] + [getattr(E, f"_SB{i}") for i in range(1, 8)])
    rs = np.where(ax < E._X_RB, ra / sa, rb / sb)
    z = (ax.view(np.int64) & E._HI_MASK).view(np.float64)
    e1 = -z * z - 0.5625
    e2 = (z - ax) * (z + ax) + rs
    return z, e1, e2


def test_tail_exponents_are_negative_and_the_first_is_exact():
    """Both exponents are <= 0 and the first is exact (exp_neg2 adds the second after the exact reduction)."""
    ax = np.concatenate(
        [np.linspace(E._X_TAIL, E._X_HUGE, 200001), np.nextafter(E._X_RB, [0.0, 3.0]), [np.nextafter(E._X_HUGE, 0.0)]]
    )
    z, e1, e2 = _tail_exponents(ax)
    assert e2.max() < -0.0098  # R/S < log(1/sqrt(pi)) + 0.5625 = -0.0099, (z-x)(z+x) <= 0
    assert e1.max() < 0
    big = ax > E._X_SCALE
    e1s = e1[big] + E._SCALE_HI
    e2s = e2[big] + E._SCALE_LO
    assert e1s.max() < 0 and e2s.max() < 0
    # not flushed by exp_neg2 (below -708.4), unscaled or scaled
    assert e1[~big].min() > -708.39 and e1s.min() > -708.39
    # exactness of -z*z - 0.5625 (and of the scaled one): z has 21 significant bits
    assert np.all((z.view(np.int64) & 0xFFFFFFFF) == 0)
    for i in range(0, ax.size, 997):
        assert Fraction(e1[i]) == -(Fraction(z[i]) ** 2) - Fraction(9, 16)
    for zi, e in zip(z[big][::97], e1s[::97]):
        assert Fraction(e) == -(Fraction(zi) ** 2) - Fraction(9, 16) + Fraction(E._SCALE_HI)
    assert Fraction(E._SCALE_HI) == 128 * Fraction(E._LN2_HI)
    assert abs(mp.mpf(E._SCALE_HI) + mp.mpf(E._SCALE_LO) - 128 * mp.log(2)) < 1e-23


def test_coefficients_match_their_fdlibm_bit_patterns():
    """Every constant typed in decimal agrees with the hex words beside it."""
    src = inspect.getsource(E)
    rows = re.findall(r"^(_[A-Z0-9_]+) = (\S+)\s+# 0x([0-9A-F]{8}) ([0-9A-F]{8})", src, re.MULTILINE)
    assert len(rows) == 55  # erx, 10 pp/qq, 13 pa/qa, 16 ra/sa, 14 rb/sb, and 1/0.35's bound
    for name, dec, hi, lo in rows:
        bits = struct.unpack("<q", struct.pack("<d", float(dec)))[0] & 0xFFFFFFFFFFFFFFFF
        assert bits == int(hi + lo, 16), name
        assert getattr(E, name) == float(dec), name
    assert E._X_MID == 0.84375 and E._X_TAIL == 1.25 and E._X_HUGE == 28.0
    assert E._X_RB < 1 / 0.35 and np.nextafter(E._X_RB, 3.0) < 1 / 0.35


_HOST_AVX = "+avx" in llvm.get_host_cpu_features().flatten().split(",")


def _vector_widths(ir):
    return {int(n) for n in re.findall(r"<(\d+) x double>", ir)}


def test_loop_vectorises_and_is_faster_than_math_erfc():
    n = 10**7
    x = np.linspace(-6.0, 27.0, n)
    out = np.zeros(n)
    for loop in (_poly_loop, _any_loop, _math_loop):
        loop(x[:8], out[:8])
    for loop in (_poly_loop, _any_loop):
        ir = loop.inspect_llvm(loop.signatures[0])
        assert max(_vector_widths(ir), default=0) >= 2, "no vector instructions"
        assert re.search(r"fdiv[^\n]*<\d+ x double>", ir), "the divisions are not vectorised"
        assert not re.search(r"@erfc\w*\(", ir)
        if _HOST_AVX:  # then LLVM uses its 256- or 512-bit registers
            asm = loop.inspect_asm(loop.signatures[0])
            assert re.search(r"%[yz]mm\d", asm)
    # the control: math.erfc is a scalar call
    ir = _math_loop.inspect_llvm(_math_loop.signatures[0])
    assert re.search(r"@erfc\(", ir)
    times = {}
    for name, loop in (("erfc_poly", _poly_loop), ("erfc_any", _any_loop), ("math.erfc", _math_loop)):
        best = math.inf
        for _ in range(3):
            t = time.perf_counter()
            loop(x, out)
            best = min(best, time.perf_counter() - t)
        times[name] = best
    print(
        "\n1e7 points: "
        + ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in times.items())
        + f"; speed-up {times['math.erfc'] / times['erfc_poly']:.1f}x"
    )


# -- erfc_any on CUDA -----------------------------------------------------------
needs_numba_cuda = pytest.mark.skipif(
    importlib.util.find_spec("numba_cuda") is None and os.environ.get("MIXSTAT_REQUIRE_PTX") != "1",
    reason="numba-cuda (the cuda extra) is not installed",
)

_COMMON = r"""
import json, math, re
import numpy as np
from numba import njit
from mixstat.kernels import erfc as E

_JIT = dict(error_model="numpy", fastmath={"contract", "nsz", "arcp"})

@njit(**_JIT)
def any_loop(x, out):
    for i in range(x.size):
        out[i] = E.erfc_any(x[i])

def cpu_check(dtype):
    # erfc_any in njit code: the polynomial (no call to erfc, vector code)
    x = np.linspace(-7.0, 30.0, 1001).astype(dtype)
    got = np.empty(x.size)
    any_loop(x, got)
    ir = any_loop.inspect_llvm(any_loop.signatures[-1])
    want = np.array([math.erfc(float(v)) for v in x])
    return (bool(np.allclose(got, want, rtol=1e-15, atol=1e-320)) and "x double>" in ir
            and not re.search(r"@erfc", ir))
"""

_PTX_SCRIPT = (
    _COMMON
    + r"""
from numba import cuda, types
import numba.cuda.compiler, numba.cuda.dispatcher

class _StandInDevice:  # as tests/cuda_ptx.py: device functions ask for the current device
    compute_capability = (8, 0)
    name = "stand-in for sm_80"

numba.cuda.dispatcher.get_current_device = _StandInDevice
numba.cuda.compiler.get_current_device = _StandInDevice

def k_any(x, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = E.erfc_any(x[i])

def k_math(x, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = math.erfc(x[i])

def k_poly(x, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = E.erfc_poly(x[i])

def consts(ptx):  # the floating-point immediates: a fingerprint of the algorithm
    return sorted(re.findall(r"\b0[df][0-9A-F]{8,16}\b", ptx))

import struct
RB6 = "0d%016X" % struct.unpack("<Q", struct.pack("<d", E._RB6))[0]
rep = {"cpu_before": cpu_check(np.float64)}  # a CPU compile first: the overload-inlining hazard
for name, t in (("f64", types.float64), ("f32", types.float32)):
    sig = (t[::1], t[::1])
    a, _ = cuda.compile_ptx(k_any, sig, cc=(8, 0))
    b, _ = cuda.compile_ptx(k_math, sig, cc=(8, 0))
    rep[name] = {"target": ".target sm_80" in a, "same_consts": consts(a) == consts(b),
                 "n_consts": len(consts(a)), "fdlibm": RB6 in a}
c, _ = cuda.compile_ptx(k_poly, (types.float64[::1], types.float64[::1]), cc=(8, 0))
rep["control_fdlibm"] = RB6 in c and consts(c) != consts(b)
rep["cpu_after"] = cpu_check(np.float32)  # first float32 compile on the CPU, after CUDA's
print(json.dumps(rep))
"""
)

_SIM_SCRIPT = (
    _COMMON
    + r"""
from numba import cuda

@cuda.jit
def k(x, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = E.erfc_any(x[i])

from numba import config
rep = {"simulator": bool(config.ENABLE_CUDASIM)}
x = np.concatenate([np.linspace(-7.0, 30.0, 1001), [np.nan, np.inf, -np.inf, 0.0]])
for name, dt in (("f64", np.float64), ("f32", np.float32)):
    xd = x.astype(dt)
    out = np.zeros_like(xd)
    k[4, 256](xd, out)
    want = np.array([math.erfc(float(v)) for v in xd]).astype(dt)
    rep[name] = bool(np.array_equal(out, want, equal_nan=True))
rep["cpu"] = cpu_check(np.float64)
print(json.dumps(rep))
"""
)


def _run(script, **env_set):
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    env.update(env_set)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


@needs_numba_cuda
def test_erfc_any_is_math_erfc_in_cuda_ptx():
    """Compiled for CUDA (NVVM, no GPU), erfc_any is libdevice's erfc/erfcf, not the
    polynomial, whichever device compiled it first; on the CPU it stays the polynomial."""
    rep = _run(_PTX_SCRIPT, NUMBA_FORCE_CUDA_CC="8.0")
    assert rep["cpu_before"] and rep["cpu_after"], rep
    for name in ("f64", "f32"):
        assert rep[name]["target"] and rep[name]["same_consts"] and rep[name]["n_consts"] > 10, rep
        assert not rep[name]["fdlibm"], rep
    assert rep["control_fdlibm"], rep  # the fingerprint tells the two apart


@needs_numba_cuda
def test_erfc_any_is_math_erfc_in_the_simulator():
    rep = _run(_SIM_SCRIPT, NUMBA_ENABLE_CUDASIM="1")
    assert rep == {"simulator": True, "f64": True, "f32": True, "cpu": True}, rep
