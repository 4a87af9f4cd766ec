"""JAX adapter: the Normal-mixture log-density as a ``jax.custom_vjp`` over ``jax.pure_callback``.

``mixture_log_prob(logits, loc, scale, x)`` is the log-density of
``MixtureSameFamily(Categorical(logits=logits), Normal(loc, scale))`` at ``x``, with
per-row parameters ``(..., K)`` and values ``(...)`` (broadcast together), usable under
``jax.jit``, ``jax.grad`` (reverse mode) and ``jax.vmap``.  The forward pass is one fused
mixstat kernel on the host (:mod:`mixstat.kernels.rows_grad`, the per-row kernel of
:meth:`mixstat.distributions.MixtureSameFamily.log_prob_grad`, with no distribution object):
the log-density and the per-row derivatives with respect to every input; the backward pass
multiplies those by the cotangent.  Under ``vmap`` the callback receives the whole batch at
once (``vmap_method="broadcast_all"``): the kernel handles leading batch dims itself.

float32 and float64 (float64 needs ``jax.config.update("jax_enable_x64", True)``).  The
callback runs on the CPU; arrays on an accelerator are copied to the host and back by JAX.
Importing this module imports JAX (``import mixstat`` does not); it needs the ``interop``
extra.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["mixture_log_prob"]


def _host(logits, loc, scale, x):
    """NumPy: ``(log p, d/dlogits, d/dloc, d/dscale, d/dx)``, per row, in the inputs' dtype: one
    call of the per-row kernel (:mod:`mixstat.kernels.rows_grad`), no distribution object."""
    from .distributions._grad import invalid_rows_params, normal_rows_grad

    logits, loc, scale, x = (np.asarray(a) for a in (logits, loc, scale, x))
    dtype = np.result_type(logits.dtype, loc.dtype, scale.dtype, x.dtype)
    batch = x.shape
    K = logits.shape[-1]
    B = int(np.prod(batch, dtype=np.int64))
    host = [a.astype(dtype, copy=False).reshape(B, K) for a in (logits, loc, scale)]
    lg, mu, sd = host
    bad, lp, gx, gl, gm, gs = normal_rows_grad(lg, mu, sd, x.astype(dtype, copy=False).reshape(B))
    if bad:
        raise invalid_rows_params("mixture_log_prob", lg, mu, sd)
    full = (*batch, K)
    return lp.reshape(batch), gl.reshape(full), gm.reshape(full), gs.reshape(full), gx.reshape(batch)


def _call(logits, loc, scale, x):
    batch = x.shape
    full = logits.shape
    dt = logits.dtype
    shapes = (
        jax.ShapeDtypeStruct(batch, dt),
        jax.ShapeDtypeStruct(full, dt),
        jax.ShapeDtypeStruct(full, dt),
        jax.ShapeDtypeStruct(full, dt),
        jax.ShapeDtypeStruct(batch, dt),
    )
    return jax.pure_callback(_host, shapes, logits, loc, scale, x, vmap_method="broadcast_all")


@jax.custom_vjp
def _mixture_log_prob(logits, loc, scale, x):
    return _call(logits, loc, scale, x)[0]


def _fwd(logits, loc, scale, x):
    lp, gl, gm, gs, gx = _call(logits, loc, scale, x)
    return lp, (gl, gm, gs, gx)


def _bwd(res, g):
    gl, gm, gs, gx = res
    go = g[..., None]
    return go * gl, go * gm, go * gs, g * gx


_mixture_log_prob.defvjp(_fwd, _bwd)


def mixture_log_prob(logits, loc, scale, x):
    """Log-density of a Normal mixture with per-row parameters, differentiable in all inputs.

    Parameters
    ----------
    logits, loc, scale : jax.Array
        Shape ``(..., K)``: the (unnormalised) log-weights, locations and scales (``> 0``)
        of the ``K`` components; they broadcast with each other.
    x : jax.Array
        Shape ``(...)``, broadcasting with the parameters' leading dims.

    Returns
    -------
    jax.Array
        ``log sum_k softmax(logits)_k N(x; loc_k, scale_k)``, shape of the broadcast
        leading dims, in the promoted float dtype.

    Notes
    -----
    The inputs are broadcast with ``jnp.broadcast_to`` before the ``custom_vjp`` (its
    transpose sums the gradients over broadcast dims).  Reverse mode only (``jax.grad``,
    ``jax.vjp``); forward mode (``jax.jvp``, ``jax.jacfwd``) is not defined for a
    ``custom_vjp``.  Invalid parameters raise mixstat's ``ValueError`` from inside the
    callback (JAX re-raises it as a runtime error).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import mixstat.jax as mj
    >>> f = jax.jit(jax.grad(lambda loc: -mj.mixture_log_prob(jnp.zeros(2), loc, jnp.ones(2), 0.5)))
    >>> f(jnp.array([-1.0, 1.0])).shape
    (2,)
    """
    logits, loc, scale, x = (jnp.asarray(a) for a in (logits, loc, scale, x))
    for name, a in (("logits", logits), ("loc", loc), ("scale", scale)):
        if a.ndim < 1:
            raise ValueError(f"mixture_log_prob: {name} must have a last dim of K components, got shape ()")
        if a.shape[-1] == 0:
            raise ValueError(f"mixture_log_prob: {name} of shape {a.shape} has no components")
    try:
        K = np.broadcast_shapes(logits.shape[-1:], loc.shape[-1:], scale.shape[-1:])[0]
        batch = np.broadcast_shapes(logits.shape[:-1], loc.shape[:-1], scale.shape[:-1], x.shape)
    except ValueError:
        raise ValueError(
            f"mixture_log_prob: shapes do not broadcast: logits {logits.shape}, loc {loc.shape}, "
            f"scale {scale.shape} (each (..., K)), x {x.shape} (...)"
        ) from None
    dt = jnp.result_type(logits, loc, scale, x)
    if not jnp.issubdtype(dt, jnp.floating):
        dt = jnp.result_type(dt, jnp.float32)
    full = (*batch, K)
    return _mixture_log_prob(
        jnp.broadcast_to(logits.astype(dt), full),
        jnp.broadcast_to(loc.astype(dt), full),
        jnp.broadcast_to(scale.astype(dt), full),
        jnp.broadcast_to(x.astype(dt), batch),
    )
