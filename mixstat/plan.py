"""The step between façade and kernels.

It resolves shapes once (``value -> (S, B, D)`` views, parameters ->
``(B, K, P)`` tables, log-weights -> ``(B, K)``, broadcasting by stride 0, not by
copying), allocates the output and calls one kernel.  Every check on the user's
input has happened in the façade before anything here runs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import _buffers, _jit
from ._rng import key_for

__all__ = [
    "KernelSpec",
    "log_prob",
    "cdf",
    "log_cdf",
    "log_sf",
    "icdf",
    "terms",
    "posterior",
    "mode",
    "sample",
    "choose",
    "flat_value",
    "moments",
    "exp",
    "backend",
]


class KernelSpec(NamedTuple):
    """How a distribution looks to the kernels.

    family : str
        Name of a :class:`mixstat.kernels.registry.Family` (a module of
        :mod:`mixstat.kernels.families`).
    table : ndarray, shape ``(*batch, P)`` (or ``(*batch, K, P)`` for components)
        One packed parameter row per distribution.
    dim : int
        ``D``, the flat size of one event (0 for an event with a size-0 dim).
    discrete : bool
        Values are integers (samples are returned as int64).
    """

    family: str
    table: np.ndarray
    dim: int
    discrete: bool = False


def _prod(shape):
    return int(math.prod(shape))


def _out_shapes(vshape, batch_shape, event_shape):
    """Output shape and effective batch shape for a value of shape ``vshape`` (see :func:`flat_value`)."""
    ne = len(event_shape)
    vb = tuple(vshape[: len(vshape) - ne])
    out_shape = tuple(np.broadcast_shapes(vb, tuple(batch_shape)))
    nb = len(batch_shape)
    return out_shape, out_shape[len(out_shape) - nb :]


def flat_value(value, batch_shape, event_shape):
    """View ``value`` (already checked) as ``(S, B, D)``.

    Returns the view, the output shape and the effective batch shape: the
    trailing ``len(batch_shape)`` dims of the output.  These differ from
    ``batch_shape`` where the value stretches a batch dim of size 1; the
    parameter rows are then broadcast (by stride 0) to the effective batch.
    """
    out_shape, eff_batch = _out_shapes(value.shape, batch_shape, event_shape)
    nb = len(batch_shape)
    full = np.broadcast_to(value, out_shape + tuple(event_shape))
    B = _prod(eff_batch)
    S = _prod(out_shape[: len(out_shape) - nb])
    D = _prod(event_shape)
    return full.reshape(S, B, D), out_shape, eff_batch


def _rows(table, batch_shape, K):
    """``(*b, K, P)`` parameter rows -> ``(B, K, P)`` with stride-0 broadcasting."""
    P = table.shape[-1]
    t = np.broadcast_to(table, tuple(batch_shape) + (K, P))
    return t.reshape(_prod(batch_shape), K, P)


def _weights(w, batch_shape, K):
    return np.broadcast_to(w, tuple(batch_shape) + (K,)).reshape(_prod(batch_shape), K)


def _tables(spec, batch_shape, weights, neutral):
    """Parameter rows ``(B, K, P)`` and per-component weights ``(B, K)``.

    A non-mixture (``weights is None``) is a mixture of one component whose
    weight is ``neutral`` (0 for log-weights, 1 for weights and cumulative weights).
    """
    dtype = spec.table.dtype
    if weights is None:
        tab = _rows(spec.table[..., None, :], batch_shape, 1)
        w = np.broadcast_to(np.full((1, 1), neutral, dtype=dtype), (tab.shape[0], 1))
    else:
        K = weights.shape[-1]
        tab = _rows(spec.table, batch_shape, K)
        w = _weights(weights.astype(dtype, copy=False), batch_shape, K)
    return tab, w


# -- backends: the device, chosen once per call ------------------------------------
class CPUBackend:
    """Host arrays and the compiled CPU kernels of :mod:`mixstat._jit`."""

    name = "cpu"

    def value(self, value, batch_shape, event_shape):
        """``value`` as an ``(S, B, D)`` view, the output shape and the effective batch."""
        return flat_value(value, batch_shape, event_shape)

    def tables(self, key, make):
        """Parameter rows and weights for the kernel (broadcast views: nothing to cache)."""
        return make()

    def empty(self, shape, dtype, out=None):
        """A fresh output of ``shape``, or the caller's ``out`` (checked by the façade:
        C-contiguous, same size and dtype) viewed with that shape: the kernel writes into it."""
        if out is not None:
            return np.asarray(out).reshape(shape)
        return _buffers.empty(shape, dtype)

    def launch(self, op, family, dtype, dim, n, *args):
        if n:
            return _jit.call(_jit.get_kernel(op, family, dtype, dim), *args)
        return None


class CUDABackend:
    """Device arrays and the CUDA kernels of :mod:`mixstat.kernels.cuda`.

    Parameter tables and weights are packed on the host by the same NumPy code
    as for the CPU, copied to the device once per (distribution, dtype,
    effective batch) and cached in the distribution's
    :class:`mixstat._device.Placement`; broadcast (stride-0) dims stay broadcast
    on the device.  Values already on the device are viewed as ``(S, B, D)``
    without a copy where strides allow; host values are copied over once.
    """

    name = "cuda"

    def __init__(self, placement):
        self.placement = placement
        self.kc = placement.kernels

    def value(self, value, batch_shape, event_shape):
        from . import _device

        kc = self.kc
        if isinstance(value, np.ndarray):
            x, out_shape, eff = flat_value(value, batch_shape, event_shape)
            return kc.to_device(x), out_shape, eff
        out_shape, eff = _out_shapes(tuple(value.shape), batch_shape, event_shape)
        if _prod(out_shape) == 0:
            return None, out_shape, eff
        x = _device.flat_device_value(kc, value, out_shape, event_shape, len(batch_shape))
        if x is None:  # no strided view reaches this layout: one copy through the host
            x, out_shape, eff = flat_value(kc.to_host(value), batch_shape, event_shape)
            x = kc.to_device(x)
        return x, out_shape, eff

    def tables(self, key, make):
        return self.placement.upload(key, make)

    def empty(self, shape, dtype, out=None):
        if out is not None:  # a device array checked by the façade
            return self.kc.as_device(out).reshape(shape)
        return self.kc.empty(shape, dtype)

    def launch(self, op, family, dtype, dim, n, *args):
        self.kc.launch(op, family, n, *args)


_CPU = CPUBackend()


def backend(device):
    """The backend for ``device``: None (the CPU) or a :class:`mixstat._device.Placement`."""
    return _CPU if device is None else CUDABackend(device)


def _evaluate(op, spec, value, batch_shape, event_shape, weights, neutral, device=None, width=None, out=None):
    be = backend(device)
    user_out = out
    x, out_shape, eff = be.value(value, batch_shape, event_shape)
    dtype = spec.table.dtype
    N = _prod(out_shape)
    shape = (N,) if width is None else (N, width)
    if spec.dim == 0:  # an empty event: log p_k is a sum over no coordinates (0)
        tab, w = _tables(spec, eff, weights, neutral)
        B = _prod(eff)
        if width is None:  # log-sum-exp of normalised log-weights (or the plain log p): 0
            out = np.zeros(shape, dtype=dtype)
        else:  # the terms are the log-weights
            out = np.ascontiguousarray(np.broadcast_to(w, (N // max(B, 1), B, width)).reshape(shape))
        return _into(be, user_out, _dev_result(be, out.reshape(out_shape + shape[1:])))
    out = be.empty(shape, dtype, user_out)
    if N:
        tab, w = be.tables(
            (op, spec.family, id(spec.table), id(weights), eff), lambda: _tables(spec, eff, weights, neutral)
        )
        be.launch(op, spec.family, dtype, x.shape[2], N, x, w, tab, out)
    return user_out if user_out is not None else out.reshape(out_shape + shape[1:])


def _into(be, user_out, result):
    """``result`` (a small array made outside a kernel) copied into the caller's ``out``
    (returned), or ``result`` itself when there is none."""
    if user_out is None:
        return result
    if be.name == "cpu":
        np.copyto(user_out, result)
    else:
        be.kc.as_device(user_out).copy_to_device(result)
    return user_out


def _dev_result(be, host):
    if be.name == "cpu":
        return host
    return be.kc.to_device(np.ascontiguousarray(host))


def moments(device, w, mu, var, batch_shape, event_shape):
    """Mixture mean and variance on the device (one CUDA kernel) from host weights ``(*b, K)``
    and component means and variances ``(*b, K, *event)``."""
    be = backend(device)
    K = w.shape[-1]
    B = _prod(batch_shape)
    D = max(_prod(event_shape), 1)
    dtype = mu.dtype
    full = tuple(batch_shape) + (K,) + tuple(event_shape)
    wd = be.kc.to_device(_weights(w.astype(dtype, copy=False), batch_shape, K))
    mud = be.kc.to_device(np.broadcast_to(mu, full).reshape(B, K, D))
    vard = be.kc.to_device(np.broadcast_to(var.astype(dtype, copy=False), full).reshape(B, K, D))
    mean = be.empty((B * D,), dtype)
    variance = be.empty((B * D,), dtype)
    be.launch("moments", None, dtype, 0, B * D, wd, mud, vard, mean, variance)
    shape = tuple(batch_shape) + tuple(event_shape)
    return mean.reshape(shape), variance.reshape(shape)


def exp(device, x):
    """``exp`` of a C-contiguous device array, on the device."""
    be = backend(device)
    flat = x.reshape((_prod(x.shape),))
    out = be.empty(flat.shape, x.dtype)
    be.launch("exp", None, x.dtype, 0, flat.shape[0], flat, out)
    return out.reshape(tuple(x.shape))


def log_prob(spec: KernelSpec, value, batch_shape, event_shape, logw=None, device=None, out=None):
    """``logsumexp_k(logw[b, k] + logpdf_k(x[s, b]))`` (or the plain log-density).

    ``device``: None for the CPU, or a :class:`mixstat._device.Placement` (CUDA).
    A plain univariate distribution (``logw`` None) on the CPU takes the
    one-component kernel (``log_prob1``).
    """
    op = "log_prob"
    if logw is None and device is None:
        from .kernels import registry

        if registry.family(spec.family).univariate:
            op = "log_prob1"
    return _evaluate(op, spec, value, batch_shape, event_shape, logw, 0.0, device, out=out)


def cdf(spec: KernelSpec, value, batch_shape, probs=None, device=None, out=None):
    """``sum_k w[b, k] F_k(x[s, b])`` for univariate families."""
    return _evaluate("cdf", spec, value, batch_shape, (), probs, 1.0, device, out=out)


def log_cdf(spec: KernelSpec, value, batch_shape, logw=None, device=None, out=None):
    """``logsumexp_k(logw[b, k] + log F_k(x[s, b]))`` for univariate families (log space per
    component: finite in far tails)."""
    return _evaluate("log_cdf", spec, value, batch_shape, (), logw, 0.0, device, out=out)


def icdf(spec: KernelSpec, value, batch_shape, probs=None, device=None, out=None):
    """``inf {x : sum_k w[b, k] F_k(x) >= q[s, b]}`` for univariate families, in float64
    (``spec`` a float64 table, ``value`` float64); NaN for ``q`` outside ``(0, 1)``."""
    return _evaluate("icdf", spec, value, batch_shape, (), probs, 1.0, device, out=out)


def log_sf(spec: KernelSpec, value, batch_shape, logw=None, device=None, out=None):
    """``logsumexp_k(logw[b, k] + log(1 - F_k(x[s, b])))`` for univariate families."""
    return _evaluate("log_sf", spec, value, batch_shape, (), logw, 0.0, device, out=out)


def terms(spec: KernelSpec, value, batch_shape, event_shape, logw, device=None):
    """Per-component terms ``logw[b, k] + log p_k(x[s, b])``, shape ``(*sample, *batch, K)``."""
    return _evaluate("terms", spec, value, batch_shape, event_shape, logw, 0.0, device, width=logw.shape[-1])


def posterior(spec: KernelSpec, value, batch_shape, event_shape, logw, device=None):
    """Normalised log-responsibilities ``t_k - logsumexp_j t_j``, ``t_k = logw[b, k] + log p_k(x[s, b])``,
    shape ``(*sample, *batch, K)`` (one kernel; NaN rows where the posterior is undefined)."""
    return _evaluate("posterior", spec, value, batch_shape, event_shape, logw, 0.0, device, width=logw.shape[-1])


def mode(spec: KernelSpec, value, batch_shape, event_shape, logw, device=None, out=None):
    """``argmax_k (logw[b, k] + log p_k(x[s, b]))`` as int64, shape ``(*sample, *batch)``; ties to
    the lowest index, ``-1`` where the posterior is undefined.  One kernel, no ``(N, K)`` array."""
    be = backend(device)
    user_out = out
    x, out_shape, eff = be.value(value, batch_shape, event_shape)
    N = _prod(out_shape)
    if spec.dim == 0:  # an empty event: the terms are the log-weights (every row has a finite one)
        tab, w = _tables(spec, eff, logw, 0.0)
        B = max(_prod(eff), 1)
        best = np.argmax(w, axis=-1).astype(np.int64)
        return _into(
            be, user_out, _dev_result(be, np.ascontiguousarray(np.broadcast_to(best, (N // B, B))).reshape(out_shape))
        )
    out = be.empty((N,), np.int64, user_out)
    if N:
        tab, w = be.tables(("mode", spec.family, id(spec.table), id(logw), eff), lambda: _tables(spec, eff, logw, 0.0))
        be.launch("mode", spec.family, spec.table.dtype, x.shape[2], N, x, w, tab, out)
    return user_out if user_out is not None else out.reshape(out_shape)


def sample(
    spec: KernelSpec, sample_shape, batch_shape, event_shape, rng, cumw=None, return_index=False, device=None, out=None
):
    """Ancestral draws: component first (binary search on ``cumw``), then that component only
    (into ``out``, the caller's checked array, when given)."""
    be = backend(device)
    dtype = spec.table.dtype
    N = _prod(sample_shape) * _prod(batch_shape)
    key0, key1 = key_for(rng)
    shape = tuple(sample_shape) + tuple(batch_shape)
    # discrete families: int64 draws on either device
    odt = np.int64 if spec.discrete else dtype
    if spec.dim == 0:  # an empty event: nothing to draw, the components are still chosen
        out = (
            out
            if out is not None
            else _dev_result(be, np.empty(shape + tuple(event_shape), dtype=np.int64 if spec.discrete else dtype))
        )
        if not return_index:
            return out
        c = cumw if cumw is not None else np.ones(tuple(batch_shape) + (1,), dtype=dtype)
        return out, choose(c, sample_shape, batch_shape, None, key=(key0, key1), device=device)
    user_out = out
    out = be.empty((N, spec.dim), odt, user_out)
    # the CPU kernel writes the component indices only when asked (an empty array)
    index = be.empty((N if (return_index or be.name == "cuda") else 0,), np.int64)
    if N:
        tab, cw = be.tables(
            ("sample", spec.family, id(spec.table), id(cumw), tuple(batch_shape)),
            lambda: _tables(spec, batch_shape, cumw, 1.0),
        )
        be.launch("sample", spec.family, dtype, spec.dim, N, cw, tab, key0, key1, np.int64(0), out, index)
    out = user_out if user_out is not None else out.reshape(shape + tuple(event_shape))
    if return_index:
        return out, index.reshape(shape)
    return out


def choose(cumw, sample_shape, batch_shape, rng, key=None, device=None, out=None):
    """Category indices ``(*sample_shape, *batch_shape)`` from cumulative weights ``(*b, K)``.

    ``key`` (a Philox key from :func:`mixstat._rng.key_for`) replaces ``rng`` when given.
    """
    be = backend(device)
    B = _prod(batch_shape)
    N = _prod(sample_shape) * B
    K = cumw.shape[-1]
    key0, key1 = key_for(rng) if key is None else key
    index = be.empty((N,), np.int64, out)
    if N:
        (cw,) = be.tables(("choose", id(cumw), tuple(batch_shape)), lambda: (_weights(cumw, batch_shape, K),))
        be.launch("choose", None, cw.dtype, 0, N, cw, key0, key1, np.int64(0), index)
    return out if out is not None else index.reshape(tuple(sample_shape) + tuple(batch_shape))


#: parameters with at least this many entries are checked and packed by the
#: parallel prep kernels (:mod:`mixstat.kernels.prep`); below, NumPy is as fast
PREP_MIN = 1 << 16


def _prep_ok(*arrays):
    a = arrays[0]
    return (
        a.size >= PREP_MIN
        and a.dtype in (np.float32, np.float64)
        and all(x.flags.c_contiguous and x.dtype == a.dtype and x.shape == a.shape for x in arrays)
    )


def normalized_logits(param, normalise=True):
    """``(param - logsumexp(param, -1), bad)`` in one parallel pass, or None if not applicable;
    with ``normalise`` False, ``(copy of param, bad)``: the same checks, no normalisation.

    ``bad`` counts NaN / ``+inf`` entries and rows without a finite entry.
    """
    if param.ndim < 1 or not _prep_ok(param):
        return None
    p2 = param.reshape(-1, param.shape[-1])
    out = _buffers.empty(p2.shape, param.dtype)
    bad = _jit.call(_jit.get_kernel("logits", None, param.dtype), p2, out, np.int64(bool(normalise)))
    return out.reshape(param.shape), int(bad)


def normal_table(loc, scale):
    """Normal rows ``(*shape, 4)`` for scalar ``loc``/``scale`` of one shape, or None.

    None when not applicable or when some entry is invalid (or a subnormal
    scale): the caller then takes its NumPy checks and packing.
    """
    if not _prep_ok(loc, scale):
        return None
    out = _buffers.empty((loc.size, 4), loc.dtype)
    bad = _jit.call(_jit.get_kernel("normal_rows", None, loc.dtype), loc.reshape(-1, 1), scale.reshape(-1, 1), out)
    if bad:
        return None
    return out.reshape(loc.shape + (4,))


def sample_grad(spec: KernelSpec, value, cotangent, batch_shape, logw=None, n_params=1, device=None):
    """Implicit reparameterisation sums of samples ``value`` (univariate, float64 host arrays,
    shape ``(*sample, *batch_shape)``) with ``cotangent`` (the same shape), one kernel:
    ``(gth, gw)`` of shapes ``(*batch_shape, K, n_params)`` and ``(*batch_shape, K)``, float64
    host arrays (see :func:`mixstat.kernels.cpu.make_sample_grad`; on a CUDA ``device`` its
    twin, one thread per point with atomic sums).  A plain distribution (``logw`` None) is a
    mixture of one component."""
    be = backend(device)
    x, _out_shape, eff = flat_value(value, batch_shape, ())
    c, _, _ = flat_value(cotangent, batch_shape, ())
    B = _prod(eff)
    if be.name == "cpu":
        tab, w = _tables(spec, eff, logw, 0.0)
    else:
        tab, w = be.tables(
            ("sample_grad", spec.family, id(spec.table), id(logw), eff), lambda: _tables(spec, eff, logw, 0.0)
        )
    K = w.shape[1]
    gth = np.zeros((B, K, n_params))
    gw = np.zeros((B, K))
    if x.size and B:
        if be.name == "cpu":
            _jit.call(_jit.get_kernel("sample_grad", spec.family, "float64"), x, w, tab, c, gth, gw)
        else:
            kc = be.kc
            gthd, gwd = kc.to_device(gth), kc.to_device(gw)
            xd, cd = kc.to_device(np.ascontiguousarray(x)), kc.to_device(np.ascontiguousarray(c))
            kc.launch("sample_grad", spec.family, x.shape[0] * x.shape[1], xd, w, tab, cd, gthd, gwd)
            gth, gw = kc.to_host(gthd), kc.to_host(gwd)
    return gth.reshape(tuple(eff) + (K, n_params)), gw.reshape(tuple(eff) + (K,))


def log_prob_grad(
    spec: KernelSpec,
    value,
    batch_shape,
    event_shape,
    logw=None,
    cotangent=None,
    want_x=True,
    want_w=False,
    want_p=False,
    zero_w=False,
    nparams=0,
    device=None,
):
    """Log-density and its derivatives in one kernel (``log_prob_grad``), in float64.

    ``spec`` has a float64 table and ``value`` is float64.  ``cotangent``: None (ones) or an
    array broadcastable to the output shape.  ``nparams``: the derivative floats per
    component row (``Q``: ``D * len(GRAD_PARAMS)``, or MultivariateNormal's
    ``D + D (D + 1) / 2``).  Returns ``(lp, gx, gw, gp, eff)``: the log-density
    ``(*sample, *batch)``; ``cotangent * d lp / d value`` per point,
    ``(*sample, *batch, *event)``; the cotangent-weighted sums of the responsibilities
    (the derivative with respect to the normalised log-weights) ``(*eff, K)`` and of the
    responsibilities times the parameter derivatives ``(*eff, K, Q)`` over the points of
    each row of the effective batch ``eff``; an unwanted one is None.
    """
    be = backend(device)
    x, out_shape, eff = be.value(value, batch_shape, event_shape)
    N = _prod(out_shape)
    B = _prod(eff)
    D = x.shape[2] if x is not None else _prod(event_shape)
    K = 1 if logw is None else logw.shape[-1]
    f8 = np.float64
    lp = be.empty((N,), f8)
    gx = be.empty((N * D if want_x else 0,), f8)
    host_zeros = np.zeros
    gw = host_zeros((B if want_w else 0, K), f8)
    gp = host_zeros((B if want_p else 0, K, nparams), f8)
    if N and D:
        if cotangent is None:
            cot = np.broadcast_to(np.ones(1, f8), (N,))
        else:
            cot = np.broadcast_to(np.asarray(cotangent, dtype=f8), out_shape).reshape(N)
        tab, w = be.tables(
            ("log_prob_grad", spec.family, id(spec.table), id(logw), eff), lambda: _tables(spec, eff, logw, 0.0)
        )
        if be.name == "cpu":
            be.launch(
                "log_prob_grad", spec.family, "float64", D, N, x, w, tab, cot, np.int64(bool(zero_w)), lp, gx, gw, gp
            )
        else:
            kc = be.kc
            gwd, gpd = kc.to_device(gw), kc.to_device(gp)
            kc.launch_grad(
                spec.family,
                N,
                D + nparams,
                x,
                w,
                tab,
                kc.to_device(np.ascontiguousarray(cot)),
                np.int64(bool(zero_w)),
                lp,
                gx,
                gwd,
                gpd,
            )
            gw, gp = kc.to_host(gwd), kc.to_host(gpd)
            lp, gx = kc.to_host(lp), kc.to_host(gx)
    elif N:  # an empty event: log p is the log-sum-exp of the log-weights (0), no value derivative
        lp = np.zeros((N,), f8)
        if want_w:
            wts = np.exp(_weights(logw.astype(f8), eff, K)) if logw is not None else np.ones((B, 1))
            c = (
                np.ones(out_shape) if cotangent is None else np.broadcast_to(np.asarray(cotangent, dtype=f8), out_shape)
            ).reshape(-1, B)
            gw = wts * c.sum(0)[:, None]
    if be.name != "cpu" and not isinstance(lp, np.ndarray):
        lp, gx = be.kc.to_host(lp), be.kc.to_host(gx)
    return (
        lp.reshape(out_shape),
        gx.reshape(out_shape + tuple(event_shape)) if want_x else None,
        gw.reshape(tuple(eff) + (K,)) if want_w else None,
        gp.reshape(tuple(eff) + (K, nparams)) if want_p else None,
        tuple(eff),
    )


def can_copy_checked(a):
    """Whether :func:`copy_checked` applies to ``a``."""
    return isinstance(a, np.ndarray) and _prep_ok(a)


def copy_checked(a, kind, copy=True):
    """``(c, bad)``: a fresh copy ``c`` of ``a`` (``None`` with ``copy=False``: a check alone) and
    the number of its entries that violate constraint ``kind`` (a code of
    :data:`mixstat.kernels.rows.KINDS`), in one parallel pass; None if not applicable (small,
    not C-contiguous, not float32/float64).  The copy is marked read-only here."""
    if not _prep_ok(a):
        return None
    flat = a.reshape(-1)
    out = _buffers.empty(a.shape if copy else (0,), a.dtype)
    bad = _jit.call(_jit.get_kernel("copy_checked", None, a.dtype), flat, out.reshape(-1), np.int64(kind))
    if not copy:
        return None, int(bad)
    _buffers.seal(out)
    return out, int(bad)


def rows_ok(batch_shape, *params, min_size=PREP_MIN):
    """Whether ``params`` (``(*batch_shape, K)`` each) can be read by the per-row kernels of
    :mod:`mixstat.kernels.rows` as ``(B, K)`` arrays without a copy: C-contiguous, of that shape
    and one float dtype, and (``min_size`` entries) large enough for the parallel CPU kernels
    to pay (the CUDA twin takes any size: ``min_size=0``)."""
    a = params[0]
    shape = tuple(batch_shape) + a.shape[-1:]
    return (
        a.ndim >= 1
        and a.size >= min_size
        and a.dtype in (np.float32, np.float64)
        and all(p.shape == shape and p.dtype == a.dtype and p.flags.c_contiguous for p in params)
    )


def normal_mixture_rows(value, logits, loc, scale, batch_shape, normalise=False, out=None, device=None):
    """The log-density of a mixture of Normals with per-row parameters ``logits``, ``loc``,
    ``scale`` (``(*batch_shape, K)``, checked by :func:`rows_ok`) at ``value`` (already checked,
    of their dtype), by one kernel that reads them directly (no packed table).  ``normalise``:
    the logits are raw (normalised per row in the kernel) rather than already normalised.
    ``device``: None for the CPU, or a :class:`mixstat._device.Placement` (CUDA: the three
    arrays are copied to the device once per distribution and dtype, and cached there).
    None when the value stretches a batch dim of size 1 (the caller takes the general loop)."""
    if device is not None:
        return _normal_mixture_rows_cuda(backend(device), value, logits, loc, scale, batch_shape, normalise, out)
    x, out_shape, eff = flat_value(value, batch_shape, ())
    if tuple(eff) != tuple(batch_shape):  # a value that stretches a batch dim of size 1
        return None
    K = loc.shape[-1]
    B = _prod(batch_shape)
    dtype = loc.dtype
    N = _prod(out_shape)
    res = _buffers.empty((N,), dtype) if out is None else np.asarray(out).reshape(N)
    if N:
        _jit.call(
            _jit.get_kernel("normal_mixture_rows", None, dtype),
            x.reshape(x.shape[0], B),
            logits.reshape(B, K),
            loc.reshape(B, K),
            scale.reshape(B, K),
            np.int64(bool(normalise)),
            res,
        )
    return out if out is not None else res.reshape(out_shape)


def _normal_mixture_rows_cuda(be, value, logits, loc, scale, batch_shape, normalise, out):
    """:func:`normal_mixture_rows` on the CUDA backend ``be`` (one thread per point)."""
    x, out_shape, eff = be.value(value, batch_shape, ())
    if tuple(eff) != tuple(batch_shape):
        return None
    K = loc.shape[-1]
    B = _prod(batch_shape)
    dtype = loc.dtype
    N = _prod(out_shape)
    res = be.empty((N,), dtype, out)
    if N:
        params = be.tables(
            ("normal_mixture_rows", id(logits), id(loc), id(scale)),
            lambda: tuple(np.ascontiguousarray(a).reshape(B, K) for a in (logits, loc, scale)),
        )
        be.launch("normal_mixture_rows", None, dtype, 0, N, x, *params, np.int64(bool(normalise)), res)
    return res.reshape(out_shape)


def normal_mixture_rows_grad(x, logits, loc, scale, cot, lp, gx, gl, gm, gs):
    """The fused per-row Normal-mixture gradient kernel (:mod:`mixstat.kernels.rows_grad`) on
    C-contiguous arrays of one dtype, outputs allocated by the caller (an output of length 0 is
    not computed); returns the number of invalid parameters it counted."""
    kernel = _jit.get_kernel("normal_mixture_rows_grad", None, np.dtype(loc.dtype))
    return int(_jit.call(kernel, x, logits, loc, scale, cot, lp, gx, gl, gm, gs))
