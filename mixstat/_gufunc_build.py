"""Builds the gufuncs of :mod:`mixstat.gufuncs` (private; imports numba).

A gufunc's body turns raw parameters into the packed row of its family, one
component at a time, in a scratch table on the stack, and evaluates it with the
family's own hooks (``logpdf1`` / ``cdf1`` / ``logpdf``, the exact ones the
kernels use for the points they redo); mixtures normalise the logits of the row
and combine the terms with :func:`mixstat.kernels.lse.lse_add` (log-densities) or a
weighted sum (cdfs).

The row of a component is written by a jitable *row function*
``row(tab, k, o, p, big) -> valid``: the family module's ``row1`` hook where it
has one, else the one of :data:`ROWS` here.  It writes the ``P`` floats that the
family's NumPy ``pack`` writes, at ``tab[0, k, o:o + P]``, with the module's named
offsets, from the float64 parameters ``p`` (a tuple, in the order of the
façade's ``arg_constraints``); ``big`` is the largest finite number of the
table's dtype; it returns whether the parameters satisfy the façade's
constraints (else the gufunc gives NaN).  ``tests/test_gufuncs.py`` checks every
row function against ``pack``.

The set of gufuncs is derived from :data:`mixstat.kernels.registry.FAMILIES`
(:func:`catalogue`): every scalar family with a row function gets
``<family>_log_prob``, ``<family>_cdf`` (if it has ``cdf1``),
``<family>_mixture_log_prob`` and ``<family>_mixture_cdf``; the families of
:data:`DIAG` get the diagonal (``Independent``) forms; ``mvn`` its vector forms.

Caching: each gufunc is compiled with ``cache=True`` into a folder of
:func:`mixstat._jit.cache_dir` of its family (keyed by the shared kernel
sources and the family module) under a subfolder keyed by this file, so an
edited hook or row function is never met by a stale cached caller.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload, register_jitable

from .kernels import registry
from .kernels.cpu import CDF_THRESH
from .kernels.families import (
    bernoulli as _bern,
    beta as _beta,
    cauchy as _cauchy,
    dirichlet as _dir,
    exponential as _expo,
    gamma as _gamma,
    geometric as _geom,
    gumbel as _gumbel,
    halfnormal as _hn,
    laplace as _lap,
    lognormal as _ln,
    lowrank_mvn as _lr,
    mvn as _mvn,
    normal as _norm,
    poisson as _pois,
    studentt as _st,
    uniform as _unif,
    weibull as _weib,
)
from .kernels.fastmath import exp_neg, exp_neg_any, log_pos
from .kernels.lse import lse_add, lse_end
from .kernels.special import lbeta

__all__ = ["catalogue", "build", "Spec", "ROWS", "DIAG"]

_INF = math.inf
_NAN = math.nan
_SQRT_HALF = math.sqrt(0.5)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_LOG_PI = math.log(math.pi)
_LN2 = math.log(2.0)
_F32_MAX = float(np.finfo(np.float32).max)
_F64_MAX = float(np.finfo(np.float64).max)


# --- helpers --------------------------------------------------------------------------------


def _dtype_max(v):
    """The largest finite number of ``v``'s float type."""


@overload(_dtype_max)
def _dtype_max_ov(v):
    if v == types.float32:
        return lambda v: _F32_MAX
    return lambda v: _F64_MAX


def _prev_float(v, hi):
    """``nextafter(hi, -inf)`` in the float type of ``v`` (as float64)."""


@overload(_prev_float)
def _prev_float_ov(v, hi):
    if v == types.float32:

        def impl(v, hi):
            return np.float64(np.nextafter(np.float32(hi), np.float32(-np.inf)))
    else:

        def impl(v, hi):
            return np.nextafter(np.float64(hi), -np.inf)

    return impl


@intrinsic
def _scratch(typingctx, n, m, like):
    """A ``(1, n, m)`` C-contiguous array of ``like``'s float type on the stack of the calling
    function (``n``, ``m`` compile-time constants; the array must not outlive the call)."""
    if not (isinstance(n, types.IntegerLiteral) and isinstance(m, types.IntegerLiteral)):
        return None
    if like not in (types.float32, types.float64):
        return None
    N, M = n.literal_value, m.literal_value
    arrty = types.Array(like, 3, "C")

    def codegen(context, builder, signature, args):
        llty = context.get_data_type(like)
        ptr = cgutils.alloca_once(builder, llty, size=N * M)
        ary = context.make_array(arrty)(context, builder)
        itemsize = context.get_abi_sizeof(llty)
        intp = types.intp
        shape = [context.get_constant(intp, v) for v in (1, N, M)]
        strides = [context.get_constant(intp, v * itemsize) for v in (N * M, M, 1)]
        context.populate_array(
            ary, data=ptr, shape=shape, strides=strides, itemsize=context.get_constant(intp, itemsize), meminfo=None
        )
        return ary._getvalue()

    return arrty(n, m, like), codegen


def _as(v, like):
    """``v`` in the float type of ``like``."""


@overload(_as)
def _as_ov(v, like):
    if like == types.float32:
        return lambda v, like: np.float32(v)
    return lambda v, like: np.float64(v)


def _fe_all_except():
    """glibc's ``FE_ALL_EXCEPT`` for this machine (0: clearing is skipped)."""
    import platform

    return {"x86_64": 0x3D, "amd64": 0x3D, "aarch64": 0x1F, "arm64": 0x1F}.get(platform.machine().lower(), 0)


_FE_ALL = _fe_all_except()


def _load_feclearexcept():
    import ctypes.util

    import llvmlite.binding as ll

    if not ll.address_of_symbol("feclearexcept"):
        lib = ctypes.util.find_library("m")
        if lib:
            ll.load_library_permanently(lib)
    return bool(ll.address_of_symbol("feclearexcept"))


@intrinsic
def _clear_fpe(typingctx):
    """``feclearexcept(FE_ALL_EXCEPT)``: NumPy warns after a ufunc loop that raised a
    floating-point flag; the flags of intermediate invalid operations (a NaN for invalid
    parameters, a selected-away ``inf - inf``) are dropped at the end of every call."""
    from llvmlite import ir

    def codegen(context, builder, signature, args):
        if _FE_ALL == 0x3D:  # x86-64: only the SSE flags are raised by this code; clear them in
            # MXCSR directly (feclearexcept also rewrites the x87 environment: 4x dearer)
            i32 = ir.IntType(32)
            slot = cgutils.alloca_once(builder, i32)
            ptr = builder.bitcast(slot, ir.IntType(8).as_pointer())
            fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()])
            builder.call(cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse.stmxcsr"), [ptr])
            builder.store(builder.and_(builder.load(slot), ir.Constant(i32, 0xFFFFFFC0)), slot)
            builder.call(cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse.ldmxcsr"), [ptr])
        elif _FE_ALL and _load_feclearexcept():
            i32 = ir.IntType(32)
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, [i32]), "feclearexcept")
            builder.call(fn, [ir.Constant(i32, _FE_ALL)])
        return context.get_dummy_value()

    return types.void(), codegen


@register_jitable
def _finite(v):
    return v - v == 0.0


@register_jitable
def _pos_finite(v):
    return v > 0.0 and v < _INF


@register_jitable
def _inv_or_nan(inv, big):
    return inv if inv <= big else _NAN


@register_jitable
def _no_pre1(v):
    return v, v


@register_jitable
def _log_norm(logits):
    """``(m, log sum exp(logits - m))`` of a row of logits, by the arithmetic of the façade's
    normalisation (:mod:`mixstat.kernels.prep`: the polynomial ``exp`` and ``log``); NaN for a
    NaN or ``+inf`` entry or a row without a finite entry (the weights are then undefined)."""
    m = -_INF
    for k in range(logits.shape[0]):
        v = np.float64(logits[k])
        if v != v or v == _INF:
            return _NAN, _NAN
        if v > m:
            m = v
    if m == -_INF:
        return _NAN, _NAN
    s = 0.0
    for k in range(logits.shape[0]):
        s += exp_neg(np.float64(logits[k]) - m)
    return m, log_pos(s)


# --- row functions (the per-component constants of each family's pack) ---------------------


@register_jitable
def _row_normal(tab, k, o, p, big):
    loc, scale = p[0], p[1]
    tab[0, k, o + _norm.LOC] = loc
    tab[0, k, o + _norm.INV] = _inv_or_nan(_SQRT_HALF / scale, big)
    tab[0, k, o + _norm.CONST] = -math.log(scale) - _HALF_LOG_2PI
    tab[0, k, o + _norm.SCALE] = scale
    return _finite(loc) and _pos_finite(scale)


@register_jitable
def _row_lognormal(tab, k, o, p, big):
    loc, scale = p[0], p[1]
    const = -math.log(scale) - _HALF_LOG_2PI
    tab[0, k, o + _ln.LOC] = loc
    tab[0, k, o + _ln.INV] = _inv_or_nan(_SQRT_HALF / scale, big)
    tab[0, k, o + _ln.CONST] = const
    tab[0, k, o + _ln.SCALE] = scale
    bound = const - loc + 0.5 * scale * scale
    tab[0, k, o + _ln.BOUND] = bound + 1e-6 * (1.0 + abs(bound))
    return _finite(loc) and _pos_finite(scale)


@register_jitable
def _row_exponential(tab, k, o, p, big):
    rate = p[0]
    tab[0, k, o + _expo.RATE] = rate
    tab[0, k, o + _expo.LOG_RATE] = math.log(rate)
    return _pos_finite(rate)


@register_jitable
def _row_halfnormal(tab, k, o, p, big):
    scale = p[0]
    tab[0, k, o + _hn.INV] = _inv_or_nan(_SQRT_HALF / scale, big)
    tab[0, k, o + _hn.CONST] = _hn._CONST0 - math.log(scale)
    tab[0, k, o + _hn.SCALE] = scale
    return _pos_finite(scale)


@register_jitable
def _row_laplace(tab, k, o, p, big):
    loc, scale = p[0], p[1]
    tab[0, k, o + _lap.LOC] = loc
    tab[0, k, o + _lap.INV] = _inv_or_nan(1.0 / scale, big)
    tab[0, k, o + _lap.CONST] = -math.log(scale) - _LN2
    tab[0, k, o + _lap.SCALE] = scale
    return _finite(loc) and _pos_finite(scale)


@register_jitable
def _row_cauchy(tab, k, o, p, big):
    loc, scale = p[0], p[1]
    tab[0, k, o + _cauchy.LOC] = loc
    tab[0, k, o + _cauchy.SCALE] = scale
    tab[0, k, o + _cauchy.INV] = _inv_or_nan(1.0 / scale, big)
    tab[0, k, o + _cauchy.CONST] = -_LOG_PI - math.log(scale)
    return _finite(loc) and _pos_finite(scale)


@register_jitable
def _row_gumbel(tab, k, o, p, big):
    loc, scale = p[0], p[1]
    tab[0, k, o + _gumbel.LOC] = loc
    tab[0, k, o + _gumbel.SCALE] = scale
    tab[0, k, o + _gumbel.INV] = _inv_or_nan(1.0 / scale, big)
    tab[0, k, o + _gumbel.CONST] = -math.log(scale)
    return _finite(loc) and _pos_finite(scale)


@register_jitable
def _row_weibull(tab, k, o, p, big):
    scale, c = p[0], p[1]
    const = math.log(c) - math.log(scale)
    a = 1.0 - 1.0 / c
    top = const + a * math.log1p(-1.0 / c) - a
    tab[0, k, o + _weib.SCALE] = scale
    tab[0, k, o + _weib.CONC] = c
    tab[0, k, o + _weib.LOG_SCALE] = math.log(scale)
    tab[0, k, o + _weib.CONST] = const
    tab[0, k, o + _weib.KM1] = c - 1.0
    tab[0, k, o + _weib.BOUND] = top if c > 1.0 else (const if c == 1.0 else _INF)
    return _pos_finite(scale) and _pos_finite(c)


@register_jitable
def _bound_up(bound):
    """``bound`` rounded up a little (as the packs do), so that it stays a bound in the row's dtype."""
    return bound + 1e-6 * (1.0 + abs(bound if bound - bound == 0.0 else 0.0))


@register_jitable
def _row_gamma(tab, k, o, p, big):
    a, r = p[0], p[1]
    lr = math.log(r)
    lg = math.lgamma(a)
    am1 = a - 1.0
    tab[0, k, o + _gamma.RATE] = r
    tab[0, k, o + _gamma.AM1] = am1
    tab[0, k, o + _gamma.CONST] = a * lr - lg
    tab[0, k, o + _gamma.AT0] = _INF if a < 1.0 else (lr if a == 1.0 else -_INF)
    if a > 1.0:
        bound = lr - lg + am1 * (math.log(am1) - 1.0)
    elif a == 1.0:
        bound = lr
    else:
        bound = _INF
    tab[0, k, o + _gamma.BOUND] = _bound_up(bound)
    tab[0, k, o + _gamma.CONC] = a
    tab[0, k, o + _gamma.LOG_RATE] = lr
    return _pos_finite(a) and _pos_finite(r)


@register_jitable
def _xlogy(x, y):
    return 0.0 if x == 0.0 and y == y else x * math.log(y)


@register_jitable
def _row_poisson(tab, k, o, p, big):
    r = p[0]
    tab[0, k, o + _pois.RATE] = r
    tab[0, k, o + _pois.LOG_RATE] = math.log(r) if r > 0.0 else (-_INF if r == 0.0 else _NAN)
    bound = 0.0
    if r > 0.0 and r < 1e6:
        mode = math.floor(r)
        bound = _xlogy(mode, r) - r - math.lgamma(mode + 1.0)
    tab[0, k, o + _pois.BOUND] = min(_bound_up(bound), 0.0)
    return r >= 0.0 and r < _INF


@register_jitable
def _beta_end(c, neg_lb):
    return _INF if c < 1.0 else (neg_lb if c == 1.0 else -_INF)


@register_jitable
def _row_beta(tab, k, o, p, big):
    a, b = p[0], p[1]
    if a == 1.0:
        neg_lb = math.log(b)
    elif b == 1.0:
        neg_lb = math.log(a)
    else:
        neg_lb = -lbeta(a, b)
    am1 = a - 1.0
    bm1 = b - 1.0
    tab[0, k, o + _beta.AM1] = am1
    tab[0, k, o + _beta.BM1] = bm1
    tab[0, k, o + _beta.NEG_LBETA] = neg_lb
    tab[0, k, o + _beta.AT0] = _beta_end(a, neg_lb)
    tab[0, k, o + _beta.AT1] = _beta_end(b, neg_lb)
    s = am1 + bm1
    ok = a >= 1.0 and b >= 1.0
    if ok and s > 0.0:
        bound = _xlogy(am1, am1 / s) + _xlogy(bm1, bm1 / s) + neg_lb
    elif ok:
        bound = neg_lb
    else:
        bound = _INF
    tab[0, k, o + _beta.BOUND] = _bound_up(bound)
    tab[0, k, o + _beta.A] = a
    tab[0, k, o + _beta.B] = b
    return _pos_finite(a) and _pos_finite(b)


@register_jitable
def _row_studentt(tab, k, o, p, big):
    df, loc, scale = p[0], p[1], p[2]
    w = 1.0 / (scale * math.sqrt(df))
    lb = lbeta(0.5 * df, 0.5)
    tab[0, k, o + _st.DF] = df
    tab[0, k, o + _st.LOC] = loc
    tab[0, k, o + _st.SCALE] = scale
    tiny = 1.1754943508222875e-38 if big < 1e39 else 2.2250738585072014e-308
    tab[0, k, o + _st.W] = w if (w <= big and w >= tiny) else _NAN
    tab[0, k, o + _st.H1] = 0.5 * (df + 1.0)
    tab[0, k, o + _st.CONST] = -lb - 0.5 * math.log(df) - math.log(scale)
    tab[0, k, o + _st.LBETA] = lb
    return _pos_finite(df) and _finite(loc) and _pos_finite(scale)


@register_jitable
def _row_uniform(tab, k, o, p, big):
    lo, hi = p[0], p[1]
    w = hi - lo
    lw = math.log(w) if (w - w == 0.0 or w != w) else math.log(0.5 * hi - 0.5 * lo) + _LN2
    tab[0, k, o + _unif.LOW] = lo
    tab[0, k, o + _unif.HIGH] = hi
    tab[0, k, o + _unif.NEG_LOG_W] = -lw
    tab[0, k, o + _unif.HPREV] = _prev_float(tab[0, k, o], hi)
    return _finite(lo) and _finite(hi) and lo < hi


@register_jitable
def _row_bernoulli(tab, k, o, p, big):
    pr = p[0]
    tab[0, k, o + _bern.LOGP] = math.log(pr) if pr > 0.0 else (-_INF if pr == 0.0 else _NAN)
    tab[0, k, o + _bern.LOGQ] = math.log1p(-pr) if pr < 1.0 else (-_INF if pr == 1.0 else _NAN)
    tab[0, k, o + _bern.PROB] = pr
    tab[0, k, o + _bern.QROB] = 1.0 - pr
    return pr >= 0.0 and pr <= 1.0


@register_jitable
def _row_geometric(tab, k, o, p, big):
    pr = p[0]
    lq = math.log1p(-pr) if pr < 1.0 else (-_INF if pr == 1.0 else _NAN)
    tab[0, k, o + _geom.LOGP] = math.log(pr) if pr > 0.0 else (-_INF if pr == 0.0 else _NAN)
    tab[0, k, o + _geom.LOGQ] = lq
    tab[0, k, o + _geom.NEG_LOGQ] = -lq
    return pr > 0.0 and pr <= 1.0


@dataclass(frozen=True)
class Spec:
    """One family's gufunc recipe: the row function and its parameters (façade names, order)."""

    row: object
    params: tuple


#: the row functions of the families whose modules define no ``row1`` hook
ROWS = {
    "normal": Spec(_row_normal, ("loc", "scale")),
    "lognormal": Spec(_row_lognormal, ("loc", "scale")),
    "exponential": Spec(_row_exponential, ("rate",)),
    "halfnormal": Spec(_row_halfnormal, ("scale",)),
    "laplace": Spec(_row_laplace, ("loc", "scale")),
    "cauchy": Spec(_row_cauchy, ("loc", "scale")),
    "gumbel": Spec(_row_gumbel, ("loc", "scale")),
    "weibull": Spec(_row_weibull, ("scale", "concentration")),
    "gamma": Spec(_row_gamma, ("concentration", "rate")),
    "poisson": Spec(_row_poisson, ("rate",)),
    "beta": Spec(_row_beta, ("concentration1", "concentration0")),
    "studentt": Spec(_row_studentt, ("df", "loc", "scale")),
    "uniform": Spec(_row_uniform, ("low", "high")),
    "bernoulli": Spec(_row_bernoulli, ("probs",)),
    "geometric": Spec(_row_geometric, ("probs",)),
}

#: scalar families that also get the diagonal (``Independent``) vector forms
DIAG = ("normal",)


# --- kernel bodies (module-level factories; the closures hold module-level functions and ints) ---
#
# The per-point arithmetic is that of the CPU loops of :mod:`mixstat.kernels.cpu` (so the values
# agree with the distribution objects to an ulp or two): the SIMD hooks (``logpdf1_fast``,
# ``cdf1_fast``) in the table's dtype, a log-sum-exp scaled by ``max_k(logw_k + bound_k)`` with the
# polynomial ``exp`` (or by the largest term, where a bound is infinite), and the exact hooks with
# a running maximum for the points the loops redo (NaN, far tails, a cdf below ``CDF_THRESH``).

#: components whose rows live on the stack; larger mixtures allocate their table
KMAX = 64


@register_jitable
def _p1(a, b, c, k):
    return (np.float64(a[k]),)


@register_jitable
def _p2(a, b, c, k):
    return (np.float64(a[k]), np.float64(b[k]))


@register_jitable
def _p3(a, b, c, k):
    return (np.float64(a[k]), np.float64(b[k]), np.float64(c[k]))


@register_jitable
def _s1(a, b, c):
    return (np.float64(a),)


@register_jitable
def _s2(a, b, c):
    return (np.float64(a), np.float64(b))


@register_jitable
def _s3(a, b, c):
    return (np.float64(a), np.float64(b), np.float64(c))


_PK = {1: _p1, 2: _p2, 3: _p3}
_PS = {1: _s1, 2: _s2, 3: _s3}


@register_jitable
def _no_bound1(tab, b, k, o):
    return _INF


def _jitable(*key):
    """``register_jitable`` for a factory's inner function, under a module-level name unique to
    ``key``: numba's disk cache keys a kernel by a pickle of its closure, and a function found
    under its module and name pickles by reference, so the key is the same in every process
    (an inner function would be pickled by value, which is not)."""

    def deco(fn):
        name = "_gu_" + "_".join(str(k) for k in key) + "_" + fn.__name__
        fn.__name__ = fn.__qualname__ = name
        fn.__module__ = __name__
        globals()[name] = fn
        return register_jitable(fn)

    return deco


class _Hooks:
    """A scalar family's hooks as the loops use them (stand-ins where the module has none)."""

    def __init__(self, fam):
        m = fam.module
        self.name = fam.name
        self.P = m.P
        self.npre = getattr(m, "NPRE", 0)
        self.pre1 = getattr(m, "pre1", _no_pre1)
        self.logpdf1 = m.logpdf1
        self.logpdf1_fast = getattr(m, "logpdf1_fast", m.logpdf1)
        self.bound1 = getattr(m, "bound1", _no_bound1)
        self.bounded = fam.bounded and hasattr(m, "bound1")
        self.cdf1 = getattr(m, "cdf1", None)
        self.cdf1_fast = getattr(m, "cdf1_fast", self.cdf1)


def _wrap(body, m, mixture):
    """The gufunc's kernel of arity ``m``: its arguments, passed on to ``body``."""
    if mixture:
        if m == 1:

            def kern(x, logits, a, out):
                body(x, logits, a, a, a, out)
        elif m == 2:

            def kern(x, logits, a, b, out):
                body(x, logits, a, b, b, out)
        else:

            def kern(x, logits, a, b, c, out):
                body(x, logits, a, b, c, out)
    else:
        if m == 1:

            def kern(x, a, out):
                body(x, a, a, a, out)
        elif m == 2:

            def kern(x, a, b, out):
                body(x, a, b, b, out)
        else:

            def kern(x, a, b, c, out):
                body(x, a, b, c, out)

    return kern


def _single(kind, row, h, m):
    """``<family>_log_prob`` / ``<family>_cdf``: ``(), (), ... -> ()``."""
    P = h.P
    ps = _PS[m]
    npre = h.npre
    pre1, logpdf1, fast = h.pre1, h.logpdf1, h.logpdf1_fast
    cdf1, cdf_fast = h.cdf1, h.cdf1_fast
    thresh = CDF_THRESH
    if kind == "log_prob":

        @_jitable(h.name, "single", kind, m)
        def body(x, a, b, c, out):
            tab = _scratch(1, P, out[0])
            if row(tab, 0, 0, ps(a, b, c), _dtype_max(out[0])):
                p0, p1 = pre1(x) if npre > 0 else (x, x)
                r = fast(x, _as(p0, x), _as(p1, x), tab, 0, 0, 0)
                if not r > -_INF:  # NaN or -inf: the exact hook (as the loops redo such points)
                    r = logpdf1(x, p0, p1, tab, 0, 0, 0)
                out[0] = r
            else:
                out[0] = _NAN
            _clear_fpe()
    else:

        @_jitable(h.name, "single", kind, m)
        def body(x, a, b, c, out):
            tab = _scratch(1, P, out[0])
            if row(tab, 0, 0, ps(a, b, c), _dtype_max(out[0])):
                v = np.float64(x)
                r = cdf_fast(v, tab, 0, 0, 0)
                if not r >= thresh:
                    r = cdf1(v, tab, 0, 0, 0)
                out[0] = min(r, 1.0)
            else:
                out[0] = _NAN
            _clear_fpe()

    return _wrap(body, m, False)


def _mixture(kind, row, h, m):
    """``<family>_mixture_log_prob`` / ``_mixture_cdf``: ``(), (k), (k), ... -> ()``."""
    P = h.P
    P1 = P + 1  # the row, then the component's log-weight
    pk = _PK[m]
    npre = h.npre
    pre1, logpdf1, fast, bound1, bounded = h.pre1, h.logpdf1, h.logpdf1_fast, h.bound1, h.bounded
    cdf1, cdf_fast = h.cdf1, h.cdf1_fast
    thresh = CDF_THRESH
    kmax = KMAX

    @_jitable(h.name, "mixture", kind, m)
    def rows(tab, logits, a, b, c, out):
        """Write the rows and log-weights of the components into ``tab``; whether all are valid."""
        K = logits.shape[0]
        sh, ls = _log_norm(logits)
        ok = sh == sh
        big = _dtype_max(out[0])
        for k in range(K):
            if ok:
                ok = row(tab, k, 0, pk(a, b, c, k), big)
                tab[0, k, P] = (np.float64(logits[k]) - sh) - ls
        return ok

    if kind == "log_prob":

        @_jitable(h.name, "mixture", kind, m)
        def body(x, logits, a, b, c, out):
            K = logits.shape[0]
            # the stack table lives in this frame (it must not be returned by a callee)
            if K <= kmax:
                tab = _scratch(kmax, P1, out[0])
            else:
                tab = np.empty((1, K, P1), out.dtype)
            ok = rows(tab, logits, a, b, c, out)
            if not ok:
                out[0] = _NAN
                _clear_fpe()
                return
            zero = _as(0.0, out[0])
            p0, p1 = pre1(x) if npre > 0 else (x, x)
            q0 = _as(p0, x)
            q1 = _as(p1, x)
            mb = -_INF
            for k in range(K):
                vk = _as(tab[0, k, P] + bound1(tab, 0, k, 0), x)
                mb = vk if vk > mb else mb
            acc = zero
            if not bounded and mb == _INF:  # the largest term first
                mv = _as(-_INF, x)
                for k in range(K):
                    vk = _as(fast(x, q0, q1, tab, 0, k, 0) + tab[0, k, P], x)
                    mv = vk if vk > mv else mv
                mv = mv if mv > -_INF else zero
                for k in range(K):
                    acc += exp_neg_any(_as(fast(x, q0, q1, tab, 0, k, 0) + tab[0, k, P] - mv, x))
            else:
                mv = _as(mb if mb > -_INF else 0.0, x)
                for k in range(K):
                    sk = tab[0, k, P] - mv
                    acc += exp_neg_any(_as(fast(x, q0, q1, tab, 0, k, 0) + sk, x))
            r = mv + _as(log_pos(np.float64(acc)), x)
            if not acc >= _thresh(x):
                mm, ac = -_INF, 0.0
                for k in range(K):
                    mm, ac = lse_add(mm, ac, tab[0, k, P] + logpdf1(x, p0, p1, tab, 0, k, 0))
                r = _as(lse_end(mm, ac), x)
            out[0] = r
            _clear_fpe()
    else:

        @_jitable(h.name, "mixture", kind, m)
        def body(x, logits, a, b, c, out):
            K = logits.shape[0]
            # the stack table lives in this frame (it must not be returned by a callee)
            if K <= kmax:
                tab = _scratch(kmax, P1, out[0])
            else:
                tab = np.empty((1, K, P1), out.dtype)
            ok = rows(tab, logits, a, b, c, out)
            if not ok:
                out[0] = _NAN
                _clear_fpe()
                return
            v = np.float64(x)
            acc = 0.0
            tot = 0.0
            for k in range(K):
                wk = np.float64(_as(math.exp(np.float64(tab[0, k, P])), x))
                tot += wk
                if wk != 0.0:
                    acc += wk * cdf_fast(v, tab, 0, k, 0)
            r = acc / tot
            if not r >= thresh:
                acc = 0.0
                for k in range(K):
                    wk = np.float64(_as(math.exp(np.float64(tab[0, k, P])), x))
                    if wk != 0.0:
                        acc += wk * cdf1(v, tab, 0, k, 0)
                r = acc / tot
            out[0] = min(r, 1.0)
            _clear_fpe()

    return _wrap(body, m, True)


def _thresh(v):
    """The loops' redo threshold of a log-sum-exp's scaled sum (``exp(-60)`` in float32)."""


@overload(_thresh)
def _thresh_ov(v):
    if v == types.float32:
        t = float(np.float32(math.exp(-60.0)))
    else:
        t = math.exp(-600.0)
    return lambda v: t


def _diag(row, h):
    """Diagonal vector forms (``Independent`` over the last axis), two parameters:
    ``(d), (d), (d) -> ()`` and, for mixtures, ``(d), (k), (k, d), (k, d) -> ()``."""
    P = h.P
    npre = h.npre
    pre1, logpdf1, fast, bound1, bounded = h.pre1, h.logpdf1, h.logpdf1_fast, h.bound1, h.bounded

    @_jitable(h.name, "diag")
    def exact(x, a, b, tab, big):
        """``(sum_j logpdf1(x[j]; a[j], b[j]), valid)``; ``-inf`` where a coordinate is outside
        the support, even beside a ``+inf`` one (as the loops)."""
        r = 0.0
        outside = False
        nan = False
        ok = True
        for j in range(x.shape[0]):
            ok = row(tab, 0, 0, (np.float64(a[j]), np.float64(b[j])), big) and ok
            if ok:
                v = x[j]
                p0, p1 = pre1(v) if npre > 0 else (v, v)
                lj = logpdf1(v, p0, p1, tab, 0, 0, 0)
                outside = outside | (lj == -_INF)
                nan = nan | (v != v)
                r += lj
        return (r if (nan or not outside) else -_INF), ok

    @_jitable(h.name, "diag")
    def fast_top(x, a, b, tab, big):
        """``(sum_j logpdf1_fast, sum_j bound1, valid)``."""
        r = 0.0
        t = 0.0
        ok = True
        for j in range(x.shape[0]):
            ok = row(tab, 0, 0, (np.float64(a[j]), np.float64(b[j])), big) and ok
            if ok:
                v = x[j]
                p0, p1 = pre1(v) if npre > 0 else (v, v)
                r += fast(v, _as(p0, v), _as(p1, v), tab, 0, 0, 0)
                t += bound1(tab, 0, 0, 0)
        return r, t, ok

    def single(x, a, b, out):
        tab = _scratch(1, P, out[0])
        big = _dtype_max(out[0])
        r, _t, ok = fast_top(x, a, b, tab, big)
        if ok and not _as(r, out[0]) > -_INF:
            r, ok = exact(x, a, b, tab, big)
        out[0] = r if ok else _NAN
        _clear_fpe()

    def mixture(x, logits, a, b, out):
        K = logits.shape[0]
        sh, ls = _log_norm(logits)
        big = _dtype_max(out[0])
        tab = _scratch(1, P, out[0])
        ok = sh == sh
        zero = _as(0.0, out[0])
        mb = -_INF
        for k in range(K):  # the scale, and the rows' validity
            if ok:
                r, t, ok = fast_top(x, a[k], b[k], tab, big)
                lw = _as((np.float64(logits[k]) - sh) - ls, zero)
                vk = _as(lw + t, zero)
                mb = vk if vk > mb else mb
        if not ok:
            out[0] = _NAN
            _clear_fpe()
            return
        acc = zero
        if not bounded and mb == _INF:
            mv = _as(-_INF, zero)
            for k in range(K):
                r, t, ok = fast_top(x, a[k], b[k], tab, big)
                vk = _as(r + _as((np.float64(logits[k]) - sh) - ls, zero), zero)
                mv = vk if vk > mv else mv
            mv = mv if mv > -_INF else zero
        else:
            mv = _as(mb if mb > -_INF else 0.0, zero)
        for k in range(K):
            r, t, ok = fast_top(x, a[k], b[k], tab, big)
            lw = _as((np.float64(logits[k]) - sh) - ls, zero)
            acc += exp_neg_any(_as(r + (lw - mv), zero))
        res = mv + _as(log_pos(np.float64(acc)), zero)
        if not np.float64(acc) >= _thresh(zero):
            mm, ac = -_INF, 0.0
            for k in range(K):
                lw = _as((np.float64(logits[k]) - sh) - ls, zero)
                t, ok = exact(x, a[k], b[k], tab, big)
                mm, ac = lse_add(mm, ac, lw + t)
            res = _as(lse_end(mm, ac), zero)
        out[0] = res
        _clear_fpe()

    return single, mixture


@register_jitable
def _mvn_row(tab, k, loc, L, big, W):
    """The MultivariateNormal row of :func:`mixstat.kernels.families.mvn.pack` at ``tab[0, k]``
    from ``loc (D,)`` and ``L (D, D)``: ``L^{-1}`` by forward substitution (float64 scratch
    ``W (D, D)``), with the pack's power-of-two rescaling where it overflows the table's dtype.
    Returns whether ``L`` is a lower Cholesky factor (positive finite diagonal, finite lower
    triangle, zeros above) and ``loc`` is finite."""
    D = loc.shape[0]
    ok = True
    dmax = 0.0
    logdiag = 0.0
    for i in range(D):
        ok = ok and _finite(np.float64(loc[i]))
        d = np.float64(L[i, i])
        ok = ok and _pos_finite(d)
        if d > dmax:
            dmax = d
        for j in range(D):
            v = np.float64(L[i, j])
            if j < i:
                ok = ok and _finite(v)
            elif j > i:
                ok = ok and v == 0.0
    if not ok:
        return False
    for i in range(D):
        logdiag += math.log(np.float64(L[i, i]))
    xs = 1.0
    for attempt in range(2):
        fh = 1.0
        if attempt == 1:  # L 2**-e, e even (2**-e may overflow: two factors of 2**(-e/2))
            e = 2.0 * math.floor(math.log2(dmax) / 2.0)
            fh = 2.0 ** (-(e / 2.0))
            xs = fh
        over = False
        for i in range(D):
            lii = (np.float64(L[i, i]) * fh) * fh
            for j in range(i + 1):
                s = 1.0 if i == j else 0.0
                for l in range(j, i):
                    s -= ((np.float64(L[i, l]) * fh) * fh) * W[l, j]
                w = s / lii
                W[i, j] = w
                over = over or not (abs(w) * _SQRT_HALF <= big)
        if not over:
            break
    base = D
    for i in range(D):
        for j in range(i + 1):
            tab[0, k, base + j] = _SQRT_HALF * W[i, j]
        base += i + 1
    for i in range(D):
        tab[0, k, i] = loc[i]
    for i in range(D):
        for j in range(i + 1):
            tab[0, k, base + j] = L[i, j]
        base += i + 1
    const = -logdiag - D * _HALF_LOG_2PI
    tab[0, k, base] = xs
    tab[0, k, base + 1] = const
    tab[0, k, base + 2] = const if xs == 1.0 else _NAN
    return True


def _mvn_bodies():
    logpdf = _mvn.logpdf

    def single(x, loc, L, out):
        D = x.shape[0]
        tab = np.empty((1, 1, D + D * (D + 1) + 3), out.dtype)
        xb = np.empty((1, 1, D), out.dtype)
        W = np.empty((D, D))
        for j in range(D):
            xb[0, 0, j] = x[j]
        ok = _mvn_row(tab, 0, loc, L, _dtype_max(out[0]), W)
        out[0] = np.float64(logpdf(xb, 0, 0, tab, 0)) if ok else _NAN
        _clear_fpe()

    def mixture(x, logits, loc, L, out):
        D = x.shape[0]
        K = logits.shape[0]
        sh, ls = _log_norm(logits)
        tab = np.empty((1, 1, D + D * (D + 1) + 3), out.dtype)
        xb = np.empty((1, 1, D), out.dtype)
        W = np.empty((D, D))
        for j in range(D):
            xb[0, 0, j] = x[j]
        big = _dtype_max(out[0])
        ok = sh == sh
        mm, acc = -_INF, 0.0
        for k in range(K):
            if ok:
                ok = _mvn_row(tab, 0, loc[k], L[k], big, W)
                lw = (np.float64(logits[k]) - sh) - ls
                if ok and lw != -_INF:
                    mm, acc = lse_add(mm, acc, lw + np.float64(logpdf(xb, 0, 0, tab, 0)))
        out[0] = lse_end(mm, acc) if ok else _NAN
        _clear_fpe()

    return single, mixture


def _categorical_bodies():
    """``categorical_log_prob`` ``(),(c)->()`` and ``categorical_mixture_log_prob``
    ``(),(k),(k,c)->()``: ``log softmax(logits)[x]``; ``-inf`` for a value that is not an
    integer in ``[0, c)``, NaN for a NaN value or invalid logits."""

    def single(x, logits, out):
        sh, ls = _log_norm(logits)
        v = np.float64(x)
        C = logits.shape[0]
        if sh != sh or v != v:
            out[0] = _NAN
        elif v >= 0.0 and v < C and math.floor(v) == v:
            out[0] = (np.float64(logits[int(v)]) - sh) - ls
        else:
            out[0] = -_INF
        _clear_fpe()

    def mixture(x, logits, clogits, out):
        K = logits.shape[0]
        C = clogits.shape[1]
        sh, ls = _log_norm(logits)
        ok = sh == sh and C > 0
        for k in range(K):  # every component's logits must be valid (as the objects check)
            if ok:
                ck, _ = _log_norm(clogits[k])
                ok = ck == ck
        v = np.float64(x)
        if not ok or v != v:
            out[0] = _NAN
        elif v >= 0.0 and v < C and math.floor(v) == v:
            i = int(v)
            mm, acc = -_INF, 0.0
            for k in range(K):
                lw = (np.float64(logits[k]) - sh) - ls
                ck, lk = _log_norm(clogits[k])
                t = lw + ((np.float64(clogits[k, i]) - ck) - lk)
                if t != -_INF:
                    mm, acc = lse_add(mm, acc, t)
            out[0] = lse_end(mm, acc)
        else:
            out[0] = -_INF
        _clear_fpe()

    return single, mixture


@register_jitable
def _dirichlet_row(tab, a):
    """The Dirichlet row of :func:`mixstat.kernels.families.dirichlet.pack` (its ``BOUND``
    left out: unused here) at ``tab[0, 0]`` from ``a (D,)``; whether every ``a_i`` is positive
    and finite."""
    D = a.shape[0]
    ok = D > 0
    a0 = 0.0
    lg = 0.0
    for i in range(D):
        ai = np.float64(a[i])
        ok = ok and _pos_finite(ai)
        a0 += ai
    if not ok:
        return False
    for i in range(D):
        ai = np.float64(a[i])
        lg += math.lgamma(ai)
        tab[0, 0, i] = ai
        tab[0, 0, D + i] = ai - 1.0
    tab[0, 0, 2 * D] = -(lg - math.lgamma(a0))
    tab[0, 0, 2 * D + 1] = _INF
    return True


def _dirichlet_bodies():
    """``dirichlet_log_prob`` ``(d),(d)->()`` and ``dirichlet_mixture_log_prob``
    ``(d),(k),(k,d)->()``: the family's exact ``logpdf`` on a row built per call."""
    logpdf = _dir.logpdf

    def single(x, conc, out):
        D = x.shape[0]
        tab = np.empty((1, 1, 2 * D + 2))
        xb = np.empty((1, 1, D))
        for j in range(D):
            xb[0, 0, j] = x[j]
        ok = _dirichlet_row(tab, conc)
        out[0] = logpdf(xb, 0, 0, tab, 0) if ok else _NAN
        _clear_fpe()

    def mixture(x, logits, conc, out):
        D = x.shape[0]
        K = logits.shape[0]
        sh, ls = _log_norm(logits)
        tab = np.empty((1, 1, 2 * D + 2))
        xb = np.empty((1, 1, D))
        for j in range(D):
            xb[0, 0, j] = x[j]
        ok = sh == sh
        mm, acc = -_INF, 0.0
        for k in range(K):
            if ok:
                ok = _dirichlet_row(tab, conc[k])
                lw = (np.float64(logits[k]) - sh) - ls
                if ok and lw != -_INF:
                    mm, acc = lse_add(mm, acc, lw + logpdf(xb, 0, 0, tab, 0))
        out[0] = lse_end(mm, acc) if ok else _NAN
        _clear_fpe()

    return single, mixture


@register_jitable
def _lowrank_row(tab, loc, W, d, C, Bm):
    """The LowRankMultivariateNormal row of :func:`mixstat.kernels.families.lowrank_mvn.pack`
    at ``tab[0, 0]`` from ``loc (D,)``, ``W (D, R)``, ``d (D,)``, with float64 scratch ``C
    (R, R)`` and ``Bm (R, D)``: the capacitance ``I + V^T V`` (``V = d^{-1/2} W``, scaled by
    ``2^-e`` where it would overflow, as the pack) by Cholesky, ``A = L_C^{-1} V^T d^{-1/2}``
    by forward substitution.  Whether ``loc`` and ``W`` are finite and ``d`` positive and finite."""
    D = loc.shape[0]
    R = W.shape[1]
    ok = D > 0
    for j in range(D):
        ok = ok and _finite(np.float64(loc[j])) and _pos_finite(np.float64(d[j]))
        for l in range(R):
            ok = ok and _finite(np.float64(W[j, l]))
    if not ok:
        return False
    big = 0.0
    logd = 0.0
    for j in range(D):
        dj = np.float64(d[j])
        logd += math.log(dj)
        sj = 1.0 / math.sqrt(dj)
        for l in range(R):
            v = abs(np.float64(W[j, l]) * sj)
            big = v if v > big else big
    e = 0
    if big > 2.0**256 and big < _INF:
        e = math.frexp(big)[1]
    f = math.ldexp(1.0, -e)
    for l in range(R):  # Bm[l, j] = V[j, l] 2^-e, then the capacitance C = 2^-2e I + Ve^T Ve
        for j in range(D):
            Bm[l, j] = (np.float64(W[j, l]) * (1.0 / math.sqrt(np.float64(d[j])))) * f
    for l in range(R):
        for m in range(l + 1):
            acc = 0.0
            for j in range(D):
                acc += Bm[l, j] * Bm[m, j]
            C[l, m] = acc + (f * f if l == m else 0.0)
    logdet = logd + (2.0 * math.log(2.0)) * R * e
    for l in range(R):  # Cholesky in place (lower triangle)
        s = C[l, l]
        for m in range(l):
            s -= C[l, m] * C[l, m]
        if not s > 0.0:
            return False
        C[l, l] = math.sqrt(s)
        logdet += 2.0 * math.log(C[l, l])
        for i in range(l + 1, R):
            t = C[i, l]
            for m in range(l):
                t -= C[i, m] * C[l, m]
            C[i, l] = t / C[l, l]
    for j in range(D):  # Bm <- L_C^{-1} Bm, column by column
        for l in range(R):
            t = Bm[l, j]
            for m in range(l):
                t -= C[l, m] * Bm[m, j]
            Bm[l, j] = t / C[l, l]
    base = _lr.AMAT * D
    for j in range(D):
        dj = np.float64(d[j])
        sj = 1.0 / math.sqrt(dj)
        tab[0, 0, _lr.LOC * D + j] = loc[j]
        tab[0, 0, _lr.ISD * D + j] = _SQRT_HALF * sj
        tab[0, 0, _lr.SD * D + j] = math.sqrt(dj)
        for l in range(R):
            tab[0, 0, base + l * D + j] = _SQRT_HALF * (Bm[l, j] * sj)
            tab[0, 0, base + R * D + l * D + j] = W[j, l]
    tab[0, 0, base + 2 * R * D] = -0.5 * logdet - D * _HALF_LOG_2PI
    return True


def _lowrank_bodies():
    """``lowrank_mvn_log_prob`` ``(d),(d),(d,r),(d)->()`` and ``lowrank_mvn_mixture_log_prob``
    ``(d),(k),(k,d),(k,d,r),(k,d)->()``: the family's ``logpdf`` (Woodbury, ``O(D r)`` per
    point and component) on a row built per call."""
    logpdf = _lr.logpdf

    def single(x, loc, W, d, out):
        D = x.shape[0]
        R = W.shape[1]
        tab = np.empty((1, 1, 3 * D + 2 * R * D + _lr.NCONST))
        xb = np.empty((1, 1, D))
        C = np.empty((R, R))
        Bm = np.empty((R, D))
        for j in range(D):
            xb[0, 0, j] = x[j]
        ok = _lowrank_row(tab, loc, W, d, C, Bm)
        out[0] = logpdf(xb, 0, 0, tab, 0) if ok else _NAN
        _clear_fpe()

    def mixture(x, logits, loc, W, d, out):
        D = x.shape[0]
        K = logits.shape[0]
        R = W.shape[2]
        sh, ls = _log_norm(logits)
        tab = np.empty((1, 1, 3 * D + 2 * R * D + _lr.NCONST))
        xb = np.empty((1, 1, D))
        C = np.empty((R, R))
        Bm = np.empty((R, D))
        for j in range(D):
            xb[0, 0, j] = x[j]
        ok = sh == sh
        mm, acc = -_INF, 0.0
        for k in range(K):
            if ok:
                ok = _lowrank_row(tab, loc[k], W[k], d[k], C, Bm)
                lw = (np.float64(logits[k]) - sh) - ls
                if ok and lw != -_INF:
                    mm, acc = lse_add(mm, acc, lw + logpdf(xb, 0, 0, tab, 0))
        out[0] = lse_end(mm, acc) if ok else _NAN
        _clear_fpe()

    return single, mixture


# --- the catalogue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One gufunc: its name, family, layout (NumPy signature) and how to build its body."""

    name: str
    family: str
    layout: str
    nin: int
    doc: str
    make: Callable[[], Callable]  # () -> python function of the kernel body


def _row_of(fam):
    hook = getattr(fam.module, "row1", None)
    if hook is not None:
        return Spec(hook, tuple(fam.module.ROW_PARAMS))
    return ROWS.get(fam.name)


def catalogue() -> dict:
    """Every gufunc, by name (derived from the registry and the row functions)."""
    out = {}

    def add(name, fam, layout, nin, doc, make):
        out[name] = Entry(name, fam, layout, nin, doc, make)

    for fam in registry.FAMILIES:
        for args in VECTOR_GUFUNCS.get(fam.name, ()):
            add(*args)
        if fam.univariate:
            spec = _row_of(fam)
            if spec is None or not fam.has("logpdf1"):
                continue
            m = len(spec.params)
            scal = ",".join(["()"] * (m + 1))
            mixl = ",".join(["()", "(k)"] + ["(k)"] * m)
            pn = ", ".join(spec.params)
            n = fam.name
            for kind, hook in (("log_prob", "logpdf1"), ("cdf", "cdf1")):
                if not fam.has(hook):
                    continue
                what = "log-density" if kind == "log_prob" else "cdf"
                add(
                    f"{n}_{kind}",
                    n,
                    scal + "->()",
                    m + 1,
                    f"{n}_{kind}(x, {pn}): the {what}",
                    lambda kind=kind, fam=fam, spec=spec, m=m: _single(kind, spec.row, _Hooks(fam), m),
                )
                add(
                    f"{n}_mixture_{kind}",
                    n,
                    mixl + "->()",
                    m + 2,
                    f"{n}_mixture_{kind}(x, logits, {pn}): the {what} of the mixture over the last axis",
                    lambda kind=kind, fam=fam, spec=spec, m=m: _mixture(kind, spec.row, _Hooks(fam), m),
                )
            if n in DIAG and m == 2:
                add(
                    f"{n}_diag_log_prob",
                    n,
                    "(d),(d),(d)->()",
                    3,
                    f"{n}_diag_log_prob(x, {pn}): the log-density of independent coordinates",
                    lambda fam=fam, spec=spec: _diag(spec.row, _Hooks(fam))[0],
                )
                add(
                    f"{n}_diag_mixture_log_prob",
                    n,
                    "(d),(k),(k,d),(k,d)->()",
                    4,
                    f"{n}_diag_mixture_log_prob(x, logits, {pn}): a mixture of diagonal {n}s",
                    lambda fam=fam, spec=spec: _diag(spec.row, _Hooks(fam))[1],
                )
    return out


def _vector_pair(family, single, mixture, params, bodies, mixture_params=None):
    """The ``<family>_log_prob`` and ``<family>_mixture_log_prob`` entries of
    :data:`VECTOR_GUFUNCS`: layouts ``single`` and ``mixture``, the parameters' names (the
    mixture's after ``logits``: ``mixture_params``, default the same) and ``bodies()`` giving
    the two kernel bodies."""
    mp = mixture_params or params
    return (
        (
            f"{family}_log_prob",
            family,
            single,
            single.split("->")[0].count("("),
            f"{family}_log_prob(x, {params})",
            lambda: bodies()[0],
        ),
        (
            f"{family}_mixture_log_prob",
            family,
            mixture,
            mixture.split("->")[0].count("("),
            f"{family}_mixture_log_prob(x, logits, {mp})",
            lambda: bodies()[1],
        ),
    )


#: the gufuncs with layouts of their own (vector families, and the categorical's ``(c)`` axis),
#: by family: ``(name, family, layout, inputs, doc, build)``
VECTOR_GUFUNCS = {
    "categorical": _vector_pair(
        "categorical", "(),(c)->()", "(),(k),(k,c)->()", "logits", _categorical_bodies, "component_logits"
    ),
    "dirichlet": _vector_pair("dirichlet", "(d),(d)->()", "(d),(k),(k,d)->()", "concentration", _dirichlet_bodies),
    "lowrank_mvn": _vector_pair(
        "lowrank_mvn",
        "(d),(d),(d,r),(d)->()",
        "(d),(k),(k,d),(k,d,r),(k,d)->()",
        "loc, cov_factor, cov_diag",
        _lowrank_bodies,
    ),
    "mvn": _vector_pair("mvn", "(d),(d),(d,d)->()", "(d),(k),(k,d),(k,d,d)->()", "loc, scale_tril", _mvn_bodies),
}


def _types(layout, nin, ft):
    """numba's argument types of a layout: a scalar for a ``()`` input, else an A-layout array."""
    ins, _outs = layout.split("->")
    dims = []
    depth = 0
    cur = ""
    for ch in ins:
        if ch == "(":
            depth += 1
            cur = ""
        elif ch == ")":
            depth -= 1
            dims.append(cur)
        elif depth:
            cur += ch
    args = []
    for d in dims:
        nd = len([s for s in d.split(",") if s])
        args.append(ft if nd == 0 else types.Array(ft, nd, "A"))
    args.append(types.Array(ft, 1, "A"))
    return types.void(*args)


_lock = threading.RLock()
_target = None


def target():
    """``"parallel"``, or ``"cpu"`` where numba's threading layer is ``workqueue`` (which aborts the
    process when two threads call a parallel kernel at once, as dask's threaded scheduler does)."""
    global _target
    if _target is None:
        import numba
        from numba.np.ufunc import parallel

        parallel._launch_threads()
        _target = "cpu" if numba.threading_layer() == "workqueue" else "parallel"
    return _target


def _cache_folder(family, tgt):
    from . import _jit

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(tgt.encode())
    path = os.path.join(_jit.cache_dir(family), "gufunc-" + h.hexdigest()[:12])
    os.makedirs(path, exist_ok=True)
    return path


def build(entry: Entry, dtypes=("float32", "float64"), tgt=None, cache=True):
    """Compile ``entry`` into a ``numpy.ufunc`` with a loop per dtype of ``dtypes``, for numba's
    ``tgt`` (default :func:`target`); cached on disk.  (:mod:`mixstat.gufuncs` builds both
    loops for the parallel target; the tests build some float64-only serial ones, which compile
    faster: the same body, without the threads' wrapper; ``cache=False`` keeps such a build out
    of the disk cache, where another process may be writing the same entry.)"""
    import warnings

    import numba
    from numba.core.errors import NumbaIRAssumptionWarning

    from . import _gufunc_loops

    tgt = tgt or target()
    if tgt == "parallel" and entry.name in _gufunc_loops.LOOPS:  # a whole-loop kernel
        uf = _gufunc_loops.build(entry, dtypes)
        return uf, uf
    with _lock:
        body = entry.make()
        body.__name__ = body.__qualname__ = "gufunc_" + entry.name
        fts = {"float32": types.float32, "float64": types.float64}
        sigs = [_types(entry.layout, entry.nin, fts[d]) for d in dtypes]
        from . import _jit

        with _jit.compiling_into(_cache_folder(entry.family, tgt), width=False), warnings.catch_warnings():
            warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
            g = numba.guvectorize(sigs, entry.layout, target=tgt, cache=cache)(body)
        uf = g if isinstance(g, np.ufunc) else getattr(g, "ufunc", g)
        return g, uf
