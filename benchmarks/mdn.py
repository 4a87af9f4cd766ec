"""One mixture-density-network training step: the loss and its gradients.

The loss is the mean negative log-likelihood of ``B`` rows under per-row Normal mixtures
of ``K`` components (``logits``, ``loc``, ``scale`` of shape ``(B, K)``: a network's
outputs), and the gradients are with respect to those three arrays (what backpropagation
into the network needs).  Forward and backward, in float32 and float64:

* ``mixstat log_prob_grad``: ``MixtureSameFamily.log_prob_grad`` (one fused kernel), the
  construction of the distribution (with its parameter checks) included;
* ``mixstat per-row kernel alone``: the kernel ``log_prob_grad`` runs for these parameters
  (:func:`mixstat.distributions._grad.normal_rows_grad`), no distribution object: the
  difference to the row above is the construction's share;
* ``mixstat log_prob_grad, general loop``: the first row through the general
  ``log_prob_grad`` loop (packed table), the path before the per-row kernel;
* ``mixstat.torch``: the same through the torch custom operator, ``loss.backward()``;
* ``torch autograd``: ``torch.distributions.MixtureSameFamily`` (``validate_args=False``,
  its fastest setting), ``loss.backward()``;
* ``numpyro``: ``jax.jit(jax.value_and_grad(...))`` of ``numpyro.distributions.MixtureSameFamily``.

Every peer's loss and gradients are checked against mixstat's before it is timed.  Times are
medians (wall), with the user and system CPU time of the process per call (all threads).
Targets: at least 10x torch and 3x NumPyro.  Run: ``python benchmarks/mdn.py [--B 100000]
[--K 8] [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CpuMonitor, CrossCheckError, check_close, fmt_ratio, fmt_time, timeit


def _data(B, K, dtype, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(B, K))
    loc = rng.normal(size=(B, K)) * 2
    scale = rng.uniform(0.3, 2.0, size=(B, K))
    x = rng.normal(size=B) * 2
    return [a.astype(dtype) for a in (logits, loc, scale, x)]


def mixstat_direct(logits, loc, scale, x):
    from mixstat.distributions import Categorical, MixtureSameFamily, Normal

    B = x.shape[0]
    cot = np.full(B, -1.0 / B, dtype=x.dtype)

    def step():
        d = MixtureSameFamily(Categorical(logits=logits), Normal(loc, scale))
        lp, g = d.log_prob_grad(x, wrt=("logits", "loc", "scale"), cotangent=cot)
        return -lp.mean(), g["logits"], g["loc"], g["scale"]

    return step


def mixstat_general(logits, loc, scale, x):
    """``log_prob_grad`` through the general loop (the packed table; the path before the
    per-row kernel), for the before/after figure in one run."""
    from mixstat.distributions import _grad

    inner = mixstat_direct(logits, loc, scale, x)

    def step():
        old, _grad.ROWS_MIN = _grad.ROWS_MIN, 1 << 62
        try:
            return inner()
        finally:
            _grad.ROWS_MIN = old

    return step


def mixstat_kernel(logits, loc, scale, x):
    """The per-row kernel alone (what ``log_prob_grad`` runs for these parameters), no
    distribution object: the step less the façade's construction and checks."""
    from mixstat.distributions._grad import normal_rows_grad

    B = x.shape[0]
    cot = np.full(B, -1.0 / B, dtype=x.dtype)

    def step():
        _bad, lp, _, gl, gm, gs = normal_rows_grad(logits, loc, scale, x, cot, ("logits", "loc", "scale"))
        return -lp.mean(), gl, gm, gs

    return step


def mixstat_torch(logits, loc, scale, x):
    import torch

    import mixstat.torch as mt

    ts = [torch.from_numpy(a) for a in (logits, loc, scale)]
    tx = torch.from_numpy(x)

    def step():
        ps = [t.detach().requires_grad_() for t in ts]
        loss = -mt.mixture_log_prob(*ps, tx).mean()
        loss.backward()
        return loss.item(), *(p.grad.numpy() for p in ps)

    return step


def torch_autograd(logits, loc, scale, x):
    import torch
    import torch.distributions as td

    ts = [torch.from_numpy(a) for a in (logits, loc, scale)]
    tx = torch.from_numpy(x)

    def step():
        lg, mu, sd = (t.detach().requires_grad_() for t in ts)
        d = td.MixtureSameFamily(
            td.Categorical(logits=lg, validate_args=False), td.Normal(mu, sd, validate_args=False), validate_args=False
        )
        loss = -d.log_prob(tx).mean()
        loss.backward()
        return loss.item(), lg.grad.numpy(), mu.grad.numpy(), sd.grad.numpy()

    return step


def numpyro_jit(logits, loc, scale, x):
    import jax

    jax.config.update("jax_enable_x64", True)
    import numpyro.distributions as nd

    def loss(lg, mu, sd, v):
        return -nd.MixtureSameFamily(nd.Categorical(logits=lg), nd.Normal(mu, sd)).log_prob(v).mean()

    f = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))
    args = [jax.device_put(a) for a in (logits, loc, scale, x)]

    def step():
        v, g = f(*args)
        v.block_until_ready()
        return float(v), *(np.asarray(a) for a in g)

    return step


PEERS = [
    ("mixstat log_prob_grad", mixstat_direct),
    ("mixstat per-row kernel alone", mixstat_kernel),
    ("mixstat log_prob_grad, general loop", mixstat_general),
    ("mixstat.torch custom op", mixstat_torch),
    ("torch autograd (torch.distributions)", torch_autograd),
    ("numpyro jax.jit(value_and_grad)", numpyro_jit),
]
TARGETS = {"torch autograd (torch.distributions)": 10.0, "numpyro jax.jit(value_and_grad)": 3.0}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--B", type=int, default=100_000)
    ap.add_argument("--K", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--dtype", choices=("float32", "float64", "both"), default="both")
    a = ap.parse_args(argv)
    dtypes = ("float64", "float32") if a.dtype == "both" else (a.dtype,)
    print(f"MDN step (loss + gradients wrt logits, loc, scale), B = {a.B}, K = {a.K}, {os.cpu_count()} CPUs")
    print(f"{'dtype':8s} {'implementation':40s} {'median':>9s} {'user':>9s} {'sys':>9s} {'x mixstat':>11s}  target")
    for dt in dtypes:
        data = _data(a.B, a.K, np.dtype(dt))
        ref = None
        base = None
        rtol = 1e-8 if dt == "float64" else 2e-3
        for name, make in PEERS:
            try:
                step = make(*data)
            except ImportError as e:
                print(f"{dt:8s} {name:40s} skipped ({e.name} is not installed)")
                continue
            if ref is None:
                ref = step()

                def check(r):
                    return None
            else:

                def check(r, ref=ref, name=name):
                    check_close(name + " loss", r[0], ref[0], rtol)
                    scale = max(np.abs(ref[2]).max(), 1e-30)
                    for gg, rr in zip(r[1:], ref[1:]):
                        check_close(name + " grads", gg, rr, rtol, atol=rtol * scale)

            mon = CpuMonitor()
            try:
                t = timeit(step, check=check, repeats=a.repeats, budget_s=20.0)
            except CrossCheckError as e:
                print(f"{dt:8s} {name:40s} MISMATCH: {e}")
                continue
            busy = mon.other_fraction()
            if base is None:
                base = t.median_s
            ratio = t.median_s / base
            tgt = TARGETS.get(name)
            status = "" if tgt is None else f">= {tgt:g}x: {'met' if ratio >= tgt else 'missed'}"
            note = f"  (other processes used {busy:.0%} of the CPUs)" if busy and busy > 0.05 else ""
            print(
                f"{dt:8s} {name:40s} {fmt_time(t.median_s):>9s} {fmt_time(t.user_s):>9s} {fmt_time(t.sys_s):>9s} "
                f"{fmt_ratio(ratio):>11s}  {status}{note}"
            )


if __name__ == "__main__":
    main()
