"""Implicit reparameterisation gradients of samples (``sample_grad``), univariate events.

A draw ``x`` of a univariate distribution with cdf ``F(x; theta)`` is, at a fixed
uniform ``u``, the solution of ``F(x; theta) = u``; by the implicit function theorem

.. math:: \\frac{\\partial x}{\\partial \\theta} = -\\frac{\\partial F(x; \\theta) / \\partial \\theta}{p(x; \\theta)}

(Figurnov, Mohamed and Mnih 2018, "Implicit reparameterization gradients"; for
mixtures, Graves 2016, "Stochastic backpropagation through mixture density
distributions").  For a mixture ``F = sum_k w_k F_k`` this is, for a parameter of
component ``k``, the responsibility ``r_k = w_k p_k(x) / p(x)`` times that
component's own derivative (the family's ``xgrad1`` hook), and for the weights
``dx/dlogit_k = w_k (F(x) - F_k(x)) / p(x)``.  One kernel per call
(:func:`mixstat.kernels.cpu.make_sample_grad`): one pass over the points, sums per
batch row and component, no ``(N, K)`` array; then NumPy sums over broadcast dims.
"""

from __future__ import annotations

import numpy as np

from .._array import as_real_array, fmt_shape, result_dtype

__all__ = ["sample_grad"]

_WEIGHTS = ("logits", "probs")


def _sum_to(g, shape):
    """``g`` summed over the dims that ``shape`` broadcasts (leading ones and size-1 ones)."""
    shape = tuple(shape)
    lead = g.ndim - len(shape)
    if lead:
        g = g.sum(axis=tuple(range(lead)))
    ax = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if ax:
        g = g.sum(axis=ax, keepdims=True)
    return g.reshape(shape)


def sample_grad(dist, samples, cotangent=None, wrt=None):
    """See :meth:`mixstat.distributions.MixtureSameFamily.sample_grad`."""
    from .distribution import KernelDistribution
    from .mixture_same_family import MixtureSameFamily

    owner = type(dist).__name__
    mixture = isinstance(dist, MixtureSameFamily)
    comp = dist.component_distribution if mixture else dist
    if dist.event_shape != ():
        raise NotImplementedError(
            f"{owner}.sample_grad: implicit reparameterisation needs a univariate event (got event_shape "
            f"{fmt_shape(dist.event_shape)}); for Independent or MultivariateNormal components draw with "
            "return_index=True and reparameterise the chosen component (docs/api/sample_grad.md)"
        )
    if not isinstance(comp, KernelDistribution) or not comp._kfamily.has("xgrad1"):
        raise NotImplementedError(
            f"{owner}.sample_grad: no implicit reparameterisation for {type(comp).__name__} "
            f"{'components' if mixture else 'distributions'} (continuous univariate families with a "
            "closed-form cdf derivative only; see docs/api/sample_grad.md)"
        )
    names = list(comp.arg_constraints)
    avail = tuple(getattr(comp._kfamily.module, "XGRAD", ()))
    weights = _WEIGHTS if mixture else ()
    if wrt is None:
        wrt = weights[:1] + avail
    elif isinstance(wrt, str):
        wrt = (wrt,)
    else:
        wrt = tuple(wrt)
    for name in wrt:
        if not isinstance(name, str):
            raise TypeError(f"{owner}.sample_grad: wrt must hold parameter names (str), got {name!r}")
        if name in weights or name in avail:
            continue
        if name in names:
            raise NotImplementedError(
                f"{owner}.sample_grad: no implicit derivative with respect to {name!r} of "
                f"{type(comp).__name__} (its cdf's derivative in {name!r} has no closed form); "
                f"available: {weights + avail}"
            )
        raise ValueError(f"{owner}.sample_grad: unknown parameter {name!r} in wrt; known: {weights + avail}")

    from .. import _device as _dev

    if _dev.is_device_array(samples):
        samples = _dev.to_host(samples)
    if cotangent is not None and _dev.is_device_array(cotangent):
        cotangent = _dev.to_host(cotangent)
    x, dtype = dist._checked_value(samples, "samples")
    nb = len(dist.batch_shape)
    if x.ndim < nb or tuple(x.shape[x.ndim - nb :]) != tuple(dist.batch_shape):
        raise ValueError(
            f"{owner}.sample_grad: samples of shape {fmt_shape(x.shape)} must end with "
            f"batch_shape {fmt_shape(dist.batch_shape)} (draws of dist.sample(sample_shape))"
        )
    if cotangent is None:
        c = np.ones(x.shape)
    else:
        c = as_real_array(cotangent, "cotangent")
        try:
            c = np.broadcast_to(c, x.shape)
        except ValueError:
            raise ValueError(
                f"{owner}.sample_grad: cotangent of shape {fmt_shape(c.shape)} does not "
                f"broadcast to the samples' shape {fmt_shape(x.shape)}"
            ) from None
        dtype = result_dtype(dtype, c.dtype)
    x64 = x.astype(np.float64, copy=False)
    c64 = c.astype(np.float64, copy=False)

    from .. import plan

    spec = comp._kernel_spec(np.float64)
    logw = None
    if mixture:
        logw = np.asarray(dist.mixture_distribution.logits, dtype=np.float64)
    gth, gw = plan.sample_grad(spec, x64, c64, dist.batch_shape, logw, len(names), device=dist._placement())
    out = {}
    for name in wrt:
        if name == "logits":
            w = np.broadcast_to(np.exp(logw), gw.shape)
            with np.errstate(invalid="ignore", over="ignore"):
                g = np.where(w > 0, w * gw, 0.0)  # zero weights: exactly 0
            g = _sum_to(g, dist.mixture_distribution.logits.shape)
        elif name == "probs":
            g = _sum_to(gw, dist.mixture_distribution.probs.shape)
        else:
            g = gth[..., names.index(name)]
            # the parameter's own shape: as given to the constructor (before broadcasting)
            own = (getattr(comp, "_param_shapes", None) or {}).get(name, np.shape(getattr(comp, name)))
            g = _sum_to(g if mixture else g[..., 0], own)
        out[name] = np.asarray(g, dtype=dtype)
    return out
