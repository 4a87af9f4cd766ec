"""Compiling the CPU kernels into the on-disk cache ahead of use (``python -m mixstat warmup``)."""

from __future__ import annotations

import os
import sys
import time

__all__ = ["warmup"]


def _kernels(families, dtypes, skip_ops=(), only_ops=()):
    """``(op, family, dtype, dim)`` of every CPU kernel a call on these families can need
    (with ``only_ops``: only those operations' kernels)."""
    from .kernels import registry

    out = []
    for dt in dtypes:
        if not only_ops:  # the family-free kernels
            out.append(("choose", None, dt, 0))
            out.append(("logits", None, dt, 0))  # large Categorical(logits=...) batches
            if "normal" in families:
                out.append(("normal_rows", None, dt, 0))  # large Normal batches
                out.append(("normal_mixture_rows", None, dt, 0))  # per-row Normal mixtures (kernels.rows)
                out.append(("normal_mixture_rows_grad", None, dt, 0))  # per-row Normal mixtures' gradients
            out.append(("copy_checked", None, dt, 0))  # large parameters: copied and checked at once
        for op, fam in registry.pairs("cpu"):
            # "terms" has no public caller yet (responsibilities and EM build on it);
            # posteriors (posterior_marginal / posterior_mode) compile on first use
            if fam is None or fam not in families or (not only_ops and op in ("terms", "posterior", "mode")):
                continue
            f = registry.family(fam)
            if dt not in registry.op(op).dtypes or op in skip_ops or (only_ops and op not in only_ops):
                continue
            if op in ("log_prob", "log_prob1") and f.univariate and f.static_scalar:
                out.append((op, fam, dt, 1))  # a scalar event (compiled with D = 1)
                out.append((op, fam, dt, 0))  # Independent: a diagonal event of D coordinates
            else:
                out.append((op, fam, dt, 0))
    return out


def _gufuncs(families, names=None):
    """``("gufunc", name, None, 0)`` for every gufunc of :mod:`mixstat.gufuncs` over these families
    (with ``names``: those gufuncs alone; a KeyError names an unknown one)."""
    from . import _gufunc_build

    cat = _gufunc_build.catalogue()
    if names is not None:
        unknown = sorted(set(names) - set(cat))
        if unknown:
            raise KeyError(f"unknown gufunc(s) {', '.join(unknown)}; known: {', '.join(sorted(cat))}")
        return [("gufunc", name, None, 0) for name in dict.fromkeys(names)]
    return [("gufunc", name, None, 0) for name, e in cat.items() if e.family in families]


def _compile_one(key):
    from . import _jit

    t = time.perf_counter()
    if key[0] == "gufunc":  # both dtype loops of one gufunc
        from . import gufuncs

        getattr(gufuncs, key[1])
    else:
        _jit.get_kernel(*key)
    return key, time.perf_counter() - t


def warmup(
    families=None, dtypes=("float64", "float32"), jobs=None, out=sys.stdout, skip_ops=(), gufuncs=False, only_ops=()
):
    """Compile (or load) the kernels (and with ``gufuncs`` True the gufuncs of these families, or
    with ``gufuncs`` a sequence of names those gufuncs, built on first use otherwise; with
    ``only_ops``, only those operations' kernels); returns ``[(key, seconds)]``."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from .kernels import registry

    families = [f.name for f in registry.FAMILIES] if not families else list(families)
    for f in families:
        registry.family(f)  # a KeyError names the known families
    for o in (*skip_ops, *only_ops):
        registry.op(o)  # a KeyError names an unknown operation
    keys = _kernels(set(families), dtypes, tuple(skip_ops), tuple(only_ops))
    if gufuncs is True:
        keys += _gufuncs(set(families))
    elif gufuncs:
        keys += _gufuncs(set(families), tuple(gufuncs))
    jobs = jobs or os.cpu_count() or 1
    t0 = time.perf_counter()
    results = []
    if jobs == 1:
        results = [_compile_one(k) for k in keys]
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as ex:
            for r in ex.map(_compile_one, keys):
                results.append(r)
    for (op, fam, dt, dim), sec in results:
        print(f"{op:9s} {fam or '-':12s} {dt or 'both':8s} D={'any' if dim == 0 else dim:3}  {sec:6.2f} s", file=out)
    print(f"{len(results)} kernels in {time.perf_counter() - t0:.1f} s wall with {jobs} processes", file=out)
    return results
