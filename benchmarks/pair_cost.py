"""What one (point, component) pair costs in the CPU tiles, piece by piece (one thread).

    python benchmarks/pair_cost.py [--repeats R]

Loops over a 256-point tile and 16 StudentT components built from the kernels' own SIMD
functions, compiled as the kernels are (fastmath ``contract, nsz, arcp``, the host's vector
width): the log-density alone, the polynomial ``exp`` alone, both in the two-loop tile the
kernel uses and fused in one loop; then ``fastmath.log_pos`` and ``exp_neg`` on their own, and a
division-free ``log`` (a float32 reciprocal refined by two Newton steps) to see whether the
division in ``log_pos`` is what costs.  Best of ``--repeats`` per row, ns per pair (or value).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from numba import njit

from mixstat._jit import _prefer_vector_width, _vector_width
from mixstat.kernels import fastmath as fm
from mixstat.kernels.families import studentt as st

FM = {"contract", "nsz", "arcp"}
L, K = 256, 16


@njit(inline="always", error_model="numpy", fastmath=FM)
def _log_nodiv(x):
    # log_pos with s = f / (2 + f) from a float32 reciprocal and two Newton steps
    bits = np.float64(x).view(np.int64)
    e = (bits >> 52) - 1023
    m = np.int64((bits & fm._MANT) | fm._ONE_BITS).view(np.float64)
    big = m > fm._SQRT2
    m = 0.5 * m if big else m
    e = e + 1 if big else e
    f = m - 1.0
    d = 2.0 + f
    r = np.float64(np.float32(1.0) / np.float32(d))
    r = r * (2.0 - d * r)
    r = r * (2.0 - d * r)
    s = f * r
    z = s * s
    w = z * z
    t1 = w * (fm._LG2 + w * (fm._LG4 + w * fm._LG6))
    t2 = z * (fm._LG1 + w * (fm._LG3 + w * (fm._LG5 + w * fm._LG7)))
    hfsq = 0.5 * f * f
    ef = np.float64(e)
    return ef * fm._LN2_HI - ((hfsq - (s * (hfsq + (t1 + t2)) + ef * fm._LN2_LO)) - f)


def _build():
    with _prefer_vector_width(_vector_width()):

        @njit(fastmath=FM, error_model="numpy")
        def two_loop(xt, tab, acc, sh, tv):
            for k in range(tab.shape[1]):
                for i in range(xt.shape[0]):
                    tv[i] = st.logpdf1_fast(xt[i], xt[i], xt[i], tab, 0, k, 0)
                for i in range(xt.shape[0]):
                    acc[i] += fm.exp_neg_any(tv[i] + sh[k])

        @njit(fastmath=FM, error_model="numpy")
        def fused(xt, tab, acc, sh, tv):
            for k in range(tab.shape[1]):
                for i in range(xt.shape[0]):
                    acc[i] += fm.exp_neg_any(st.logpdf1_fast(xt[i], xt[i], xt[i], tab, 0, k, 0) + sh[k])

        @njit(fastmath=FM, error_model="numpy")
        def density(xt, tab, acc, sh, tv):
            for k in range(tab.shape[1]):
                for i in range(xt.shape[0]):
                    acc[i] += st.logpdf1_fast(xt[i], xt[i], xt[i], tab, 0, k, 0)

        @njit(fastmath=FM, error_model="numpy")
        def exp_alone(xt, tab, acc, sh, tv):
            for k in range(tab.shape[1]):
                for i in range(xt.shape[0]):
                    acc[i] += fm.exp_neg_any(xt[i] * tab[0, k, 1] + sh[k])

        @njit(fastmath=FM, error_model="numpy")
        def log_pos(x, out):
            for i in range(x.shape[0]):
                out[i] += fm.log_pos(x[i])

        @njit(fastmath=FM, error_model="numpy")
        def log_nodiv(x, out):
            for i in range(x.shape[0]):
                out[i] += _log_nodiv(x[i])

        @njit(fastmath=FM, error_model="numpy")
        def exp_neg(x, out):
            for i in range(x.shape[0]):
                out[i] += fm.exp_neg(-x[i])

    return two_loop, fused, density, exp_alone, log_pos, log_nodiv, exp_neg


def _best(fn, calls, repeats):
    fn()
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t) / calls)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    two_loop, fused, density, exp_alone, log_pos, log_nodiv, exp_neg = _build()
    rng = np.random.default_rng(0)
    tab = st.pack(rng.uniform(2, 10, K), rng.normal(size=K), rng.uniform(0.5, 2, K), np.float64)[None]
    xt = rng.normal(size=L)
    acc, tv, sh = np.zeros(L), np.zeros(L), np.full(K, -5.0)
    print(f"one thread, a {L}-point tile, {K} StudentT components; load average {os.getloadavg()[0]:.2f}")
    for name, f in (("StudentT pair, two-loop tile", two_loop), ("StudentT pair, fused loop", fused)):
        print(f"{name:34s} {_best(lambda f=f: f(xt, tab, acc, sh, tv), 2000, args.repeats) / (L * K) * 1e9:6.3f} ns")
    for name, f in (("StudentT log-density alone", density), ("exp of the log-sum-exp alone", exp_alone)):
        print(f"{name:34s} {_best(lambda f=f: f(xt, tab, acc, sh, tv), 2000, args.repeats) / (L * K) * 1e9:6.3f} ns")
    x = 1.0 + rng.exponential(3.0, 4096)
    out = np.zeros(x.size)
    for name, f in (("log_pos", log_pos), ("log, division-free", log_nodiv), ("exp_neg", exp_neg)):
        print(f"{name + ' (a value)':34s} {_best(lambda f=f: f(x, out), 5000, args.repeats) / x.size * 1e9:6.3f} ns")
    got, ref = np.zeros(x.size), np.log(x)
    log_nodiv(x, got)
    print(f"division-free log: max error {np.max(np.abs(got - ref) / np.spacing(ref)):.1f} ulp of np.log")


if __name__ == "__main__":
    main()
