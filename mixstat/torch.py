"""PyTorch adapter: the Normal-mixture log-density as a ``torch.library`` custom operator.

``mixture_log_prob(logits, loc, scale, x)`` is the log-density of
``MixtureSameFamily(Categorical(logits=logits), Normal(loc, scale))`` at ``x``, with
per-row parameters ``(..., K)`` and values ``(...)`` (broadcast together), usable in
a torch training loop (autograd) and under ``torch.compile``.  Its forward pass is one
fused mixstat kernel over the tensors' memory (:mod:`mixstat.kernels.rows_grad`, the kernel
of :meth:`mixstat.distributions.MixtureSameFamily.log_prob_grad` for per-row Normal
mixtures; no distribution object is built): the log-density and its derivatives with respect
to every input, per row, the softmax of the logits inside; the backward pass multiplies
those by ``grad_output`` (no second pass over the data).

CPU tensors reach the kernel without a copy through DLPack (``numpy.from_dlpack`` on
the detached tensors) and the results come back with ``torch.from_numpy``; tensors on
another device are copied to the host and the results back.  float32 and float64
(mixed inputs are promoted as torch promotes them).

Importing this module imports torch (``import mixstat`` does not); it needs the
``interop`` extra (``pip install 'mixstat[interop]'``).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["mixture_log_prob"]


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a CPU tensor (DLPack, no copy); other devices are copied to the host."""
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    return np.from_dlpack(t)


def _batch_shape(logits, loc, scale, x):
    return torch.broadcast_shapes(logits.shape[:-1], loc.shape[:-1], scale.shape[:-1], x.shape)


@torch.library.custom_op("mixstat::mixture_log_prob", mutates_args=())
def _mixture_log_prob(
    logits: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(log p(x), d/dlogits, d/dloc, d/dscale, d/dx)`` for same-shaped ``(..., K)``
    parameters and ``(...)`` values, the derivatives per row (cotangent one), in one kernel
    over the tensors' memory (no distribution object, no copy of contiguous CPU tensors)."""
    from .distributions._grad import invalid_rows_params, normal_rows_grad

    K = logits.shape[-1]
    batch = tuple(x.shape)
    B = 1
    for n in batch:
        B *= n
    host = [_to_numpy(t).reshape(B, K) for t in (logits, loc, scale)]
    lg, mu, sd = host
    bad, lp, gx, gl, gm, gs = normal_rows_grad(lg, mu, sd, _to_numpy(x).reshape(B))
    if bad:
        raise invalid_rows_params("mixture_log_prob", lg, mu, sd)
    dev = x.device
    full = (*batch, K)
    outs = (lp.reshape(batch), gl.reshape(full), gm.reshape(full), gs.reshape(full), gx.reshape(batch))
    return tuple(torch.from_numpy(a).to(dev) for a in outs)


@_mixture_log_prob.register_fake
def _(logits, loc, scale, x):
    dtype = torch.promote_types(torch.promote_types(logits.dtype, loc.dtype), torch.promote_types(scale.dtype, x.dtype))
    batch = _batch_shape(logits, loc, scale, x)
    full = (*batch, logits.shape[-1])
    return (
        x.new_empty(batch, dtype=dtype),
        x.new_empty(full, dtype=dtype),
        x.new_empty(full, dtype=dtype),
        x.new_empty(full, dtype=dtype),
        x.new_empty(batch, dtype=dtype),
    )


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(*output[1:])
    ctx.mark_non_differentiable(*output[1:])


def _backward(ctx, grad_lp, *_unused):
    gl, gm, gs, gx = ctx.saved_tensors
    go = grad_lp.unsqueeze(-1)
    return go * gl, go * gm, go * gs, grad_lp * gx


_mixture_log_prob.register_autograd(_backward, setup_context=_setup_context)


def mixture_log_prob(logits: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Log-density of a Normal mixture with per-row parameters, differentiable in all inputs.

    Parameters
    ----------
    logits, loc, scale : torch.Tensor
        Shape ``(..., K)``: the (unnormalised) log-weights, locations and scales (``> 0``)
        of the ``K`` components; they broadcast with each other.
    x : torch.Tensor
        Shape ``(...)``, broadcasting with the parameters' leading dims.

    Returns
    -------
    torch.Tensor
        ``log sum_k softmax(logits)_k N(x; loc_k, scale_k)``, shape of the broadcast
        leading dims, in the promoted dtype (float32 or float64), on ``x``'s device.

    Notes
    -----
    The inputs are broadcast with ``torch.broadcast_to`` before the operator
    ``torch.ops.mixstat.mixture_log_prob`` (so autograd sums gradients over broadcast
    dims); the operator's forward computes the per-row gradients with the value, its
    backward scales them by ``grad_output``.  First derivatives only (no double
    backward).  Parameters are checked by mixstat (a ``ValueError`` for a scale that is
    not positive and finite).

    Examples
    --------
    >>> import torch
    >>> import mixstat.torch as mt
    >>> logits = torch.zeros(4, 2, requires_grad=True)
    >>> loc = torch.tensor([[-1.0, 1.0]] * 4, requires_grad=True)
    >>> scale = torch.ones(4, 2)
    >>> loss = -mt.mixture_log_prob(logits, loc, scale, torch.zeros(4)).mean()
    >>> loss.backward()
    >>> loc.grad.shape
    torch.Size([4, 2])
    """
    for name, t in (("logits", logits), ("loc", loc), ("scale", scale), ("x", x)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"mixture_log_prob: {name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"mixture_log_prob: {name} must be float32 or float64, got {t.dtype}")
    for name, t in (("logits", logits), ("loc", loc), ("scale", scale)):
        if t.dim() < 1:
            raise ValueError(f"mixture_log_prob: {name} must have a last dim of K components, got shape ()")
        if t.shape[-1] == 0:
            raise ValueError(f"mixture_log_prob: {name} of shape {tuple(t.shape)} has no components")
    try:
        K = torch.broadcast_shapes(logits.shape[-1:], loc.shape[-1:], scale.shape[-1:])[0]
        batch = _batch_shape(logits, loc, scale, x)
    except RuntimeError:
        raise ValueError(
            f"mixture_log_prob: shapes do not broadcast: logits {tuple(logits.shape)}, loc {tuple(loc.shape)}, "
            f"scale {tuple(scale.shape)} (each (..., K)), x {tuple(x.shape)} (...)"
        ) from None
    dtype = torch.promote_types(torch.promote_types(logits.dtype, loc.dtype), torch.promote_types(scale.dtype, x.dtype))
    full = (*batch, K)
    lp = _mixture_log_prob(
        logits.to(dtype).broadcast_to(full),
        loc.to(dtype).broadcast_to(full),
        scale.to(dtype).broadcast_to(full),
        x.to(dtype).broadcast_to(batch),
    )[0]
    return lp
