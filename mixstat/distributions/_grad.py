"""``log_prob_grad`` and ``score``: the façade side of the ``log_prob_grad`` kernels.

One kernel call gives the log-density, the value derivative per point and, summed per
row of the effective batch and component, the cotangent-weighted responsibilities and
parameter derivatives (:func:`mixstat.plan.log_prob_grad`).  This module checks the
request, and turns those sums into gradients in each input's own shape: summed over the
dims where the input was broadcast, the chain rule of the weights' normalisation applied.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._array import as_real_array, fmt_shape
from .._typing import Array, ArrayLike

if TYPE_CHECKING:
    from .distribution import Distribution

__all__ = ["log_prob_grad", "score"]


def _sum_to(g, shape):
    """``g`` summed down to ``shape`` (the reverse of broadcasting ``shape`` to ``g.shape``)."""
    shape = tuple(shape)
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return np.asarray(g).reshape(shape)


def _structure(dist):
    """``(mixture Categorical or None, component, leaf, params)``: the kernel leaf (a
    ``KernelDistribution`` under any ``Independent``, or a ``MultivariateNormal``) and the
    names of its differentiable parameters; ``leaf`` None when there is no kernel path."""
    from .independent import Independent
    from .mixture_same_family import MixtureSameFamily
    from .multivariate_normal import MultivariateNormal

    mix = None
    comp = dist
    if isinstance(dist, MixtureSameFamily):
        mix, comp = dist.mixture_distribution, dist.component_distribution
    leaf = comp
    while isinstance(leaf, Independent):
        leaf = leaf.base_dist
    from .categorical import Categorical

    if type(leaf) is Categorical:  # (its derivatives in NumPy: _categorical below)
        if leaf is not comp:
            return mix, comp, None, ()
        return mix, comp, leaf, ("probs", "logits")
    if isinstance(leaf, MultivariateNormal):
        if leaf is not comp:
            return mix, comp, None, ()
        return mix, comp, leaf, ("loc", "scale_tril")
    fam = getattr(leaf, "family", "")
    if not fam:
        return mix, comp, None, ()
    from ..kernels import registry

    f = registry.family(fam)
    if not (f.univariate and f.has("grad1")):
        return mix, comp, None, ()
    return mix, comp, leaf, tuple(f.module.GRAD_PARAMS)


def _check_wrt(dist, wrt):
    """``(wrt, keys, mix, comp, leaf, params)``: the names asked for and, for each, its
    internal key: ``"value"``, ``"w.logits"`` / ``"w.probs"`` (the mixture's weights) or
    ``"c.<name>"`` (the components' parameter ``<name>``).

    In a mixture ``"mixture.logits"``, ``"mixture.probs"`` and ``"component.<name>"`` are
    always accepted; the bare names too where they are not ambiguous (the components of
    the binary and count families also have ``probs`` and ``logits``)."""
    if isinstance(wrt, str):
        wrt = (wrt,)
    try:
        wrt = tuple(wrt)
    except TypeError:
        raise TypeError(
            f"{type(dist).__name__}.log_prob_grad: wrt must be a name or a sequence of names, got {wrt!r}"
        ) from None
    for n in wrt:
        if not isinstance(n, str):
            raise TypeError(f"{type(dist).__name__}.log_prob_grad: wrt must hold names (str), got {n!r}")
    mix, comp, leaf, params = _structure(dist)
    owner = f"{type(dist).__name__}.log_prob_grad"
    if leaf is None:
        inner = comp
        while hasattr(inner, "base_dist"):
            inner = inner.base_dist
        raise ValueError(
            f"{owner}: no derivatives for {type(inner).__name__} components "
            "(log_prob_grad covers the univariate families with derivative hooks, Independent "
            "over them, MultivariateNormal, and MixtureSameFamily of those)"
        )
    discrete = leaf.support is not None and leaf.support.is_discrete
    weights = ("logits", "probs") if mix is not None else ()
    both = set(weights) & set(params)
    spell = {} if discrete else {"value": "value"}  # the bare names first, then the qualified ones
    spell.update({n: "w." + n for n in weights if n not in both})
    spell.update({n: "c." + n for n in params if n not in both})
    spell.update({"mixture." + n: "w." + n for n in weights})
    if mix is not None:
        spell.update({"component." + n: "c." + n for n in params})
    keys = []
    for n in wrt:
        if n in both:
            cname = type(leaf).__name__
            raise ValueError(
                f"{owner}: {n!r} is ambiguous: it names the mixture's weights and the {cname} "
                f"components' parameter; say 'mixture.{n}' or 'component.{n}'"
            )
        if n not in spell:
            hint = ""
            if any(m in ("covariance_matrix", "precision_matrix") for m in (n, n.split(".")[-1])):
                hint = (
                    "; MultivariateNormal is differentiated with respect to its Cholesky factor "
                    "scale_tril (of covariance_matrix too)"
                )
            elif n == "value" and discrete:
                hint = f"; {type(leaf).__name__} takes integer values"
            raise ValueError(
                f"{owner}: cannot differentiate with respect to {n!r}; allowed: {', '.join(map(repr, spell))}{hint}"
            )
        keys.append(spell[n])
    if len(set(keys)) != len(keys):
        raise ValueError(f"{owner}: wrt names a parameter twice: {wrt!r}")
    return wrt, tuple(keys), mix, comp, leaf, params


def _own_shape(leaf, name):
    shapes = getattr(leaf, "_param_shapes", None) or {}
    if name in shapes:
        return tuple(shapes[name])
    return tuple(np.shape(getattr(leaf, name)))


def log_prob_grad(dist, value, wrt=("value",), cotangent=None, _per_point=False):
    """See :meth:`mixstat.distributions.Distribution.log_prob_grad`."""
    from .. import _device as _dev, plan

    wrt, keys, mix, comp, leaf, params = _check_wrt(dist, wrt)
    owner = f"{type(dist).__name__}.log_prob_grad"
    if _dev.is_device_array(value):
        value = _dev.to_host(value)
    value, dtype = dist._checked_value(value)
    vshape = tuple(value.shape)
    ne = len(dist.event_shape)
    out_shape = tuple(np.broadcast_shapes(vshape[: len(vshape) - ne], dist.batch_shape))
    if cotangent is not None:
        if _dev.is_device_array(cotangent):
            cotangent = _dev.to_host(cotangent)
        cotangent = as_real_array(cotangent, "cotangent")
        try:
            if np.broadcast_shapes(cotangent.shape, out_shape) != out_shape:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{owner}: cotangent of shape {fmt_shape(cotangent.shape)} does not broadcast "
                f"to the shape of log_prob {fmt_shape(out_shape)}"
            ) from None
    from .categorical import Categorical

    if type(leaf) is Categorical:
        return _categorical(dist, wrt, keys, mix, leaf, value, dtype, out_shape, cotangent)
    bare = tuple(k.split(".", 1)[-1] for k in keys)  # "w.logits" -> "logits" (no clash for Normal)
    fast = _per_row_normal(dist, mix, comp, bare, value, dtype, out_shape, cotangent)
    if fast is not None:
        return fast[0], {n: fast[1][b] for n, b in zip(wrt, bare)}
    spec = comp._kernel_spec(np.float64)
    if spec is None:
        raise ValueError(f"{owner}: {type(comp).__name__} has no kernel path")
    event = tuple(dist.event_shape)
    D = max(spec.dim, 0)
    mvn = not hasattr(leaf, "family")  # MultivariateNormal
    if mvn:
        Q = D + D * (D + 1) // 2
    else:
        Q = D * len(params)
    want_x = "value" in keys
    want_w = "w.logits" in keys or "w.probs" in keys
    want_p = any(k.startswith("c.") for k in keys)
    logw = None if mix is None else mix.logits
    lp, gx, gw, gp, eff = plan.log_prob_grad(
        spec,
        np.asarray(value, dtype=np.float64),
        dist.batch_shape,
        event,
        logw=logw,
        cotangent=cotangent,
        want_x=want_x,
        want_w=want_w,
        want_p=want_p,
        zero_w="w.probs" in keys,
        nparams=Q,
        device=dist._placement(),
    )
    grads = {}
    with np.errstate(invalid="ignore", over="ignore"):
        if want_x:
            gv = gx if _per_point else _sum_to(gx, vshape)
            grads["value"] = gv.astype(dtype, copy=False)
        if want_w:
            K = gw.shape[-1]
            w = np.broadcast_to(np.exp(mix.logits.astype(np.float64)), eff + (K,))
            live = w > 0
            g_logw = np.where(live, gw, 0.0)
            tot = g_logw.sum(-1, keepdims=True)  # the cotangents of the points of each row
            pshape = tuple(mix.param_shape)
            if "w.logits" in keys:
                grads["w.logits"] = _sum_to(g_logw - w * tot, pshape).astype(mix.dtype, copy=False)
            if "w.probs" in keys:
                # d/dp_k of log sum_j (p_j / sum p) f_j at the normalised probs:
                # p_k(x) / p(x) - 1 (responsibility over weight), also at a zero weight
                ratio = np.where(live, gw / np.where(live, w, 1.0), gw)
                grads["w.probs"] = _sum_to(ratio - tot, pshape).astype(mix.dtype, copy=False)
        if want_p:
            K = gp.shape[-2]
            lead = eff + ((K,) if mix is not None else ())
            g = gp if mix is not None else gp[..., 0, :]
            pdt = leaf.dtype
            if mvn:
                gl = g[..., :D]
                if "c.loc" in keys:
                    grads["c.loc"] = _sum_to(gl, _mvn_shape(leaf, "loc")).astype(pdt, copy=False)
                if "c.scale_tril" in keys:
                    rows, cols = np.tril_indices(D)
                    full = np.zeros(lead + (D, D))
                    full[..., rows, cols] = g[..., D:]
                    grads["c.scale_tril"] = _sum_to(full, _mvn_shape(leaf, "scale_tril")).astype(pdt, copy=False)
            else:
                NP = len(params)
                g = g.reshape(lead + event + (NP,))
                for q, name in enumerate(params):
                    if "c." + name in keys:
                        grads["c." + name] = _sum_to(g[..., q], _own_shape(leaf, name)).astype(pdt, copy=False)
    lp = lp.astype(dtype, copy=False)
    return lp, {n: grads[k] for n, k in zip(wrt, keys)}


def _categorical(dist, wrt, keys, mix, cat, value, dtype, out_shape, cotangent):
    """``log_prob_grad`` of a Categorical, or of a mixture of Categoricals (``cat`` the
    components, batch ``(*batch, K)`` over ``C`` categories), in NumPy: the components'
    log-probabilities at the points are a gather (no kernel to fuse), their log-sum-exp, the
    responsibilities ``r_k``, and per category the sums ``S[b, k, c] = sum_n cot_n r_nk
    [v_n = c]`` (one ``bincount`` per component).  ``d/dlogits_kc = S_kc - p_kc sum_c S_kc``
    (the chain rule of the normalisation), ``d/dprobs_kc = S_kc / p_kc - sum_c S_kc`` (at
    the normalised probs, as for the mixture's weights; the first term is 0 where ``p_kc = 0``:
    no point falls there).  Points whose
    log-probability is not finite (outside ``0 .. C-1``, non-integers, NaN) add nothing."""
    from .mixture_same_family import _lse_terms

    v = np.asarray(value, dtype=np.float64)
    batch = tuple(dist.batch_shape)
    C = int(cat.param_shape[-1])
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        if mix is None:
            lpk = np.asarray(cat.log_prob(v), dtype=np.float64)[..., None]  # (*out, 1)
            logw = np.zeros(batch + (1,))
        else:
            lpk = np.asarray(cat.log_prob(v[..., None]), dtype=np.float64)  # (*out, K)
            logw = np.asarray(mix.logits, dtype=np.float64)
        K = lpk.shape[-1]
        lpk = np.broadcast_to(lpk, tuple(out_shape) + (K,))
        t = logw + lpk
        lp = _lse_terms(t)
        ok = np.isfinite(lp)
        cot = np.ones(out_shape) if cotangent is None else np.broadcast_to(np.asarray(cotangent, np.float64), out_shape)
        cot = np.where(ok, cot, 0.0)
        lpf = np.where(ok, lp, 0.0)[..., None]
        live = logw > -np.inf
        r = np.where(live & ok[..., None], np.exp(np.where(live, t, -np.inf) - lpf), 0.0)
        cr = cot[..., None] * r  # (*out, K): the cotangent times the responsibilities
        B = int(np.prod(batch, dtype=np.int64))
        gw = _sum_to(cr, batch + (K,))  # (*batch, K)
        grads = {}
        if "w.logits" in keys or "w.probs" in keys:
            w = np.exp(logw)
            tot = gw.sum(-1, keepdims=True)
            pshape = tuple(mix.param_shape)
            if "w.logits" in keys:
                grads["w.logits"] = _sum_to(gw - w * tot, pshape).astype(mix.dtype, copy=False)
            if "w.probs" in keys:
                # zero weights: sum cot p_k(x) / p(x) (the responsibility it would have per weight)
                rz = _sum_to(cot[..., None] * np.where(ok[..., None], np.exp(lpk - lpf), 0.0), batch + (K,))
                ratio = np.where(live, gw / np.where(live, w, 1.0), rz)
                grads["w.probs"] = _sum_to(ratio - tot, pshape).astype(mix.dtype, copy=False)
        if "c.logits" in keys or "c.probs" in keys:
            # S[b, k, c]: a bincount over (row, category) per component
            S = np.zeros((B, K, C))
            if cr.size:
                vi = np.where(ok, np.broadcast_to(v, out_shape), 0).astype(np.int64).reshape(-1, B)
                idx = (vi + np.arange(B, dtype=np.int64) * C).ravel()
                crf = cr.reshape(-1, B, K)
                for k in range(K):
                    S[:, k, :] = np.bincount(idx, weights=crf[..., k].ravel(), minlength=B * C).reshape(B, C)
            S = S.reshape(batch + (K, C)) if mix is not None else S.reshape(batch + (C,))
            S0 = S.sum(-1, keepdims=True)
            p = np.asarray(cat.probs, dtype=np.float64)
            own = tuple(cat.param_shape)
            if "c.logits" in keys:
                grads["c.logits"] = _sum_to(S - p * S0, own).astype(cat.dtype, copy=False)
            if "c.probs" in keys:
                grads["c.probs"] = _sum_to(np.where(p > 0, S / np.where(p > 0, p, 1.0), 0.0) - S0, own).astype(
                    cat.dtype, copy=False
                )
    return lp.astype(dtype, copy=False), {n: grads[k] for n, k in zip(wrt, keys)}


#: the per-row kernel takes a Normal mixture from this many rows on (its work is split by tiles
#: of rows: a few rows with many samples each are the general loop's)
ROWS_MIN = 1024


def normal_rows_grad(logits, loc, scale, x, cotangent=None, want=("logits", "loc", "scale", "value")):
    """The per-row Normal-mixture kernel (:mod:`mixstat.kernels.rows_grad`) on NumPy arrays.

    ``logits``, ``loc``, ``scale``: ``(B, K)`` of one float dtype (raw logits: normalised per
    row in the kernel); ``x``: ``(S, B)`` (or ``(B,)``), ``cotangent`` broadcastable to it or
    None (ones).  Returns ``(bad, lp, gx, gl, gm, gs)``: the number of invalid parameters
    (the results are undefined unless it is 0), ``lp`` and ``gx = cot d lp / dx`` of ``x``'s
    shape, and the cotangent-weighted gradients ``(B, K)`` summed over the samples; an
    output not in ``want`` is None.  No other checks (the callers' job).
    """
    from .. import plan

    dtype = np.dtype(loc.dtype)
    B, K = loc.shape
    logits, loc, scale = (np.ascontiguousarray(a, dtype=dtype) for a in (logits, loc, scale))
    xshape = np.shape(x)
    x2 = np.asarray(x, dtype=dtype).reshape(-1, B)
    N = x2.size
    if cotangent is None:
        cot = np.broadcast_to(np.ones(1, dtype), (N,))
    else:
        cot = np.broadcast_to(np.asarray(cotangent, dtype=dtype), x2.shape).reshape(N)
    from .. import _buffers

    lp = _buffers.empty(N, dtype)
    gx = _buffers.empty(N if "value" in want else 0, dtype)
    gl, gm, gs = (_buffers.empty((B if n in want else 0, K), dtype) for n in ("logits", "loc", "scale"))
    bad = 0
    if N and K:
        bad = plan.normal_mixture_rows_grad(x2, logits, loc, scale, cot, lp, gx, gl, gm, gs)
    return (
        bad,
        lp.reshape(xshape),
        gx.reshape(xshape) if "value" in want else None,
        gl if "logits" in want else None,
        gm if "loc" in want else None,
        gs if "scale" in want else None,
    )


def invalid_rows_params(owner, logits, loc, scale):
    """The ``ValueError`` for parameters the per-row kernel counted as invalid (named, with an
    index), found again with NumPy (the error path only)."""
    checks = (
        ("logits", np.isnan(logits) | (logits == np.inf), "not NaN and not +inf"),
        ("logits", ~np.broadcast_to((logits > -np.inf).any(-1, keepdims=True), logits.shape), "finite in every row"),
        ("loc", ~np.isfinite(loc), "finite"),
        ("scale", ~((scale > 0) & np.isfinite(scale)), "positive and finite"),
    )
    for name, bad, what in checks:
        if bad.any():
            i = tuple(int(j) for j in np.argwhere(bad)[0])
            a = {"logits": logits, "loc": loc, "scale": scale}[name]
            return ValueError(
                f"{owner}: {name} of shape {fmt_shape(a.shape)} must be {what}; got {a[i]!r} at index {i}"
            )
    return ValueError(f"{owner}: invalid parameters")


def _per_row_normal(dist, mix, comp, wrt, value, dtype, out_shape, cotangent):
    """``log_prob_grad`` of a ``Categorical x Normal`` mixture with per-row ``(*batch, K)``
    parameters by the per-row kernel (no packed table), or None where it does not apply."""
    from .categorical import Categorical
    from .normal import Normal

    if type(mix) is not Categorical or type(comp) is not Normal or "probs" in wrt:
        return None
    if dist._placement() is not None or not isinstance(value, np.ndarray):
        return None
    batch = tuple(dist.batch_shape)
    K = int(mix.param_shape[-1])
    full = batch + (K,)
    B = int(np.prod(batch, dtype=np.int64))
    if B < ROWS_MIN or tuple(value.shape[len(value.shape) - len(batch) :]) != batch:
        return None
    if tuple(out_shape) != tuple(value.shape):
        return None
    # (the raw logits while the normalised ones are not made: the kernel normalises each row)
    logits, loc, scale = mix._logits_for_rows()[0], comp.loc, comp.scale
    pdt = np.dtype(loc.dtype)
    if pdt not in (np.float32, np.float64) or dtype != pdt:
        return None
    for a in (logits, loc, scale):
        if tuple(np.shape(a)) != full or np.dtype(a.dtype) != pdt:
            return None
    if _own_shape(comp, "loc") != full or _own_shape(comp, "scale") != full:
        return None
    want = tuple(wrt)
    bad, lp, gx, gl, gm, gs = normal_rows_grad(
        logits.reshape(B, K),
        loc.reshape(B, K),
        scale.reshape(B, K),
        value,
        None if cotangent is None else np.broadcast_to(cotangent, out_shape),
        want,
    )
    if bad:  # unchecked parameters (validate_args=False): the general loop's NaN rules
        return None
    grads = {}
    for name, g in (("value", gx), ("logits", gl), ("loc", gm), ("scale", gs)):
        if name in want:
            grads[name] = g if name == "value" else g.reshape(full)
    return lp, {n: grads[n] for n in wrt}


def _mvn_shape(leaf, name):
    shapes = getattr(leaf, "_param_shapes", None) or {}
    if name in shapes:
        return tuple(shapes[name])
    D = leaf.event_shape[0]
    return tuple(leaf.batch_shape) + ((D,) if name == "loc" else (D, D))


def score(dist: Distribution, value: ArrayLike) -> Array:
    """The score ``d/dx log p(x)`` of a distribution at ``value``, per point.

    One pass of the ``log_prob_grad`` kernel: the components' log-densities and slopes,
    their log-sum-exp and the responsibility-weighted slope together (for a shared Normal
    mixture in SIMD tiles, about the time of ``log_prob``).  The drift of Langevin, HMC and
    MALA proposals, and the input of Stein discrepancies.

    Parameters
    ----------
    dist : Distribution
        A distribution with derivative kernels: a continuous univariate family,
        ``Independent`` over one, ``MultivariateNormal``, or a ``MixtureSameFamily`` of those.
    value : array_like
        Broadcastable to ``(*sample, *batch_shape, *event_shape)``, as for ``log_prob``.

    Returns
    -------
    numpy.ndarray
        Shape ``(*sample, *batch_shape, *event_shape)`` (not summed over dims where
        ``value`` was broadcast; ``dist.log_prob_grad(value)`` gives the summed form), the
        dtype of ``log_prob``.  NaN where ``log_prob`` is not finite (a value outside every
        support, a NaN value).

    Raises
    ------
    TypeError
        If ``dist`` is not a mixstat distribution.
    ValueError
        If ``dist`` has no derivative kernels (discrete families, Dirichlet, nested
        mixtures) or ``value`` does not fit its shapes.

    Examples
    --------
    >>> import numpy as np, mixstat
    >>> from mixstat.distributions import Normal
    >>> mixstat.score(Normal(0.0, 2.0), np.array([1.0, -4.0]))
    array([-0.25,  1.  ])
    """
    from .distribution import Distribution

    if not isinstance(dist, Distribution):
        raise TypeError(f"score: dist must be a mixstat Distribution, got {type(dist).__name__}")
    return log_prob_grad(dist, value, ("value",), _per_point=True)[1]["value"]
