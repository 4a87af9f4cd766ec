"""Whole-loop gufuncs: a NumPy inner loop that sees every row of a call at once.

numba's ``@guvectorize`` calls its kernel once per element of the outer loop, so a gufunc over
per-row mixtures evaluates one row at a time: its per-component constants (``log scale``,
``1/scale``), the logits' normalisation and the log-sum-exp are scalar code, and the call
itself costs more than the arithmetic of a small mixture (measured: ~77 ns per row, ~10 ns per
component, for ``normal_mixture_log_prob`` with K = 8; 139 ms for 10⁶ rows on 2 threads).

Here the ufunc's loop is a numba ``cfunc`` with NumPy's loop signature
``(char **args, npy_intp *dimensions, npy_intp *steps, void *data)``, registered with
numba's own ufunc constructor.  It views its arguments with the strides NumPy gives (any
layout: broadcast parameters have stride 0) and hands the whole outer loop to the per-row kernel
of :mod:`mixstat.kernels.rows` (tiles of 256 rows transposed to component-major scratch, SIMD
over rows, threads over tiles) in its validating form: a row with an invalid parameter gives NaN,
as every gufunc's does.  The result is a real :class:`numpy.ufunc` (``dask.array`` and
``xarray.apply_ufunc`` dispatch it as any other), cached on disk beside the kernels.

:data:`LOOPS` names the gufuncs built this way; :func:`mixstat._gufunc_build.build` uses it
where numba's threading layer allows parallel kernels to be called from several threads at once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np
from numba import types
from numba.extending import intrinsic

# a global of the loops, not a closure variable: an intrinsic's pickle (in the cache key of a
# closure) differs from process to process
from ._gufunc_build import _clear_fpe

#: gufuncs whose loop is a whole-loop kernel: name -> its kernel, ``make_<kernel>(dtype,
#: validate=True)`` of :mod:`mixstat.kernels.rows` (the layout is the catalogue entry's)
LOOPS = {"normal_mixture_log_prob": "normal_mixture_rows"}

#: NumPy's ``PyUFuncGenericFunction``: ``(char **args, npy_intp *dimensions, npy_intp *steps, void *data)``
_LOOP_SIG = types.void(
    types.CPointer(types.voidptr), types.CPointer(types.intp), types.CPointer(types.intp), types.voidptr
)


@intrinsic
def _view(typingctx, ptr, n0, n1, s0, s1, like):
    """A ``(n0, n1)`` array of ``like``'s float type over ``ptr`` with byte strides ``(s0, s1)``
    (A layout, no owner: valid during the loop call only)."""
    if like not in (types.float32, types.float64):
        return None
    arrty = types.Array(like, 2, "A")

    def codegen(context, builder, signature, args):
        p, a, b, sa, sb, _ = args
        llty = context.get_data_type(like)
        ary = context.make_array(arrty)(context, builder)
        data = builder.bitcast(p, llty.as_pointer())
        intp = types.intp
        context.populate_array(
            ary,
            data=data,
            shape=[a, b],
            strides=[sa, sb],
            itemsize=context.get_constant(intp, context.get_abi_sizeof(llty)),
            meminfo=None,
        )
        return ary._getvalue()

    return arrty(ptr, n0, n1, s0, s1, like), codegen


@intrinsic
def _cview(typingctx, ptr, n0, n1, like):
    """A C-contiguous ``(n0, n1)`` array of ``like``'s float type over ``ptr`` (no owner)."""
    if like not in (types.float32, types.float64):
        return None
    arrty = types.Array(like, 2, "C")

    def codegen(context, builder, signature, args):
        p, a, b, _ = args
        llty = context.get_data_type(like)
        ary = context.make_array(arrty)(context, builder)
        size = context.get_abi_sizeof(llty)
        intp = types.intp
        context.populate_array(
            ary,
            data=builder.bitcast(p, llty.as_pointer()),
            shape=[a, b],
            strides=[builder.mul(b, context.get_constant(intp, size)), context.get_constant(intp, size)],
            itemsize=context.get_constant(intp, size),
            meminfo=None,
        )
        return ary._getvalue()

    return arrty(ptr, n0, n1, like), codegen


def _make_loop(kernel, F):
    """The ufunc loop of ``(),(k),(k),(k)->()`` over ``kernel(x (1, n), logits, loc, scale,
    normalise, out (n,))`` (which runs small calls on the calling thread)."""
    w = np.dtype(F).itemsize

    def loop(args, dims, steps, data):
        n = dims[0]
        K = dims[1]
        zero = F(0.0)
        # C-contiguous value, rows and output (the common case): C-layout views, whose loops
        # vectorise better (16.6 against 27.5 ms for 10^6 rows of K = 8, measured)
        rows_c = steps[1] == K * w and steps[2] == K * w and steps[3] == K * w
        core_c = steps[5] == w and steps[6] == w and steps[7] == w
        if steps[0] == w and steps[4] == w and rows_c and core_c:
            kernel(
                _cview(args[0], 1, n, zero),
                _cview(args[1], n, K, zero),
                _cview(args[2], n, K, zero),
                _cview(args[3], n, K, zero),
                1,
                _cview(args[4], 1, n, zero)[0],
            )
        else:  # any strides (0 for broadcast parameters)
            kernel(
                _view(args[0], 1, n, 0, steps[0], zero),
                _view(args[1], n, K, steps[1], steps[5], zero),
                _view(args[2], n, K, steps[2], steps[6], zero),
                _view(args[3], n, K, steps[3], steps[7], zero),
                1,
                _view(args[4], n, 1, steps[4], 0, zero)[:, 0],
            )
        _clear_fpe()

    return loop


_lock = threading.RLock()


def _cache_folder(family):
    from . import _jit

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(Path(__file__).with_name("_gufunc_build.py").read_bytes())
    path = os.path.join(_jit.cache_dir(family), "gufunc-loops-" + h.hexdigest()[:12])
    os.makedirs(path, exist_ok=True)
    return path


def build(entry, dtypes=("float32", "float64")):
    """The ``numpy.ufunc`` of catalogue ``entry`` (:class:`mixstat._gufunc_build.Entry`, named
    in :data:`LOOPS`) with a whole-loop kernel per dtype."""
    import numba
    from numba.np.ufunc import _internal
    from numba.np.ufunc.sigparse import parse_signature
    from numba.np.ufunc.ufuncbuilder import parse_identity

    from . import _jit
    from .kernels import rows

    name, layout = entry.name, entry.layout
    op = LOOPS[name]
    make = getattr(rows, "make_" + op)
    sin, sout = parse_signature(layout)
    with _lock:
        funcs, typelist, keep = [], [], []
        for dt in dtypes:
            F = np.dtype(dt).type
            impl = _jit.unique_name(make(dt, validate=True), op, "validated", dt)
            with _jit.compiling_into(_cache_folder(entry.family)):
                # the options hold no set: the cfunc's cache key pickles this dispatcher, and a
                # set's pickle follows the process's string hashing (the cache would never hit)
                opts = dict(_jit.NJIT_OPTIONS, fastmath={"arcp": True, "contract": True, "nsz": True})
                kernel = numba.njit(parallel=True, **opts)(impl)
                kernel._set_uuid(f"{__name__}.{op}_validated_{dt}")
                loop = _make_loop(kernel, F)
                loop.__name__ = loop.__qualname__ = f"_loop_{name}_{dt}"
                cf = numba.cfunc(_LOOP_SIG, cache=True)(loop)
            funcs.append(int(cf.address))
            typelist.append([np.dtype(dt).num] * (len(sin) + len(sout)))
            keep.append((cf, kernel))
        uf = _internal.fromfunc(
            name,
            entry.doc,
            funcs,
            typelist,
            len(sin),
            len(sout),
            [None] * len(funcs),
            keep,
            parse_identity(None),
            layout,
            (),
        )
    return uf
