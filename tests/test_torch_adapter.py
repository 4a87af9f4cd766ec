"""``mixstat.torch``: the custom operator, its autograd and fake registrations, torch.compile.

The adapter's own tests, so they use torch (the CPU build of the ``interop`` extra;
``make test-interop``); without torch they are skipped.  References: SciPy/NumPy for the
values, ``torch.autograd.gradcheck`` (finite differences, float64) for the gradients, and
``torch.library.opcheck`` for the operator's registrations.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy import special, stats

torch = pytest.importorskip("torch", reason="mixstat.torch needs torch (extra 'interop')")
mt = pytest.importorskip("mixstat.torch")


def _inputs(B=5, K=3, dtype=torch.float64, seed=0, grad=True):
    g = torch.Generator().manual_seed(seed)
    lg = torch.randn(B, K, dtype=dtype, generator=g)
    loc = torch.randn(B, K, dtype=dtype, generator=g)
    sc = torch.rand(B, K, dtype=dtype, generator=g) + 0.5
    x = 2 * torch.randn(B, dtype=dtype, generator=g)
    return [t.requires_grad_(grad) for t in (lg, loc, sc, x)]


def _scipy_lp(lg, loc, sc, x):
    lg, loc, sc, x = (t.detach().double().numpy() for t in (lg, loc, sc, x))
    logw = lg - special.logsumexp(lg, axis=-1, keepdims=True)
    return special.logsumexp(logw + stats.norm.logpdf(x[..., None], loc, sc), axis=-1)


def test_import_mixstat_imports_no_torch():
    import subprocess

    code = "import sys, mixstat; mixstat.distributions.Normal(0.0, 1.0); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_values_against_scipy(dtype):
    args = _inputs(dtype=dtype, grad=False)
    lp = mt.mixture_log_prob(*args)
    assert lp.dtype == dtype and lp.shape == (5,)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(lp.numpy(), _scipy_lp(*args), rtol=tol, atol=tol)


def test_gradcheck_float64():
    assert torch.autograd.gradcheck(mt.mixture_log_prob, tuple(_inputs()))


def test_gradcheck_broadcast_parameters():
    """A scale shared by every row (K,) and values broadcast over rows: autograd sums."""
    lg, loc, _, _ = _inputs(B=4)
    sc = (torch.rand(3, dtype=torch.float64) + 0.5).requires_grad_()
    x = torch.randn(2, 1, dtype=torch.float64).requires_grad_()
    assert mt.mixture_log_prob(lg, loc, sc, x).shape == (2, 4)
    assert torch.autograd.gradcheck(mt.mixture_log_prob, (lg, loc, sc, x))


def test_float32_gradients_match_float64():
    a64 = _inputs()
    a32 = [t.detach().float().requires_grad_() for t in a64]
    mt.mixture_log_prob(*a64).sum().backward()
    mt.mixture_log_prob(*a32).sum().backward()
    for t64, t32 in zip(a64, a32):
        assert t32.grad.dtype == torch.float32
        np.testing.assert_allclose(t32.grad.numpy(), t64.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_opcheck():
    """Schema, fake (meta) implementation, autograd registration and AOT dispatch."""
    for dtype in (torch.float64, torch.float32):
        args = tuple(t.detach() for t in _inputs(dtype=dtype))
        torch.library.opcheck(torch.ops.mixstat.mixture_log_prob.default, args)


def test_cpu_tensors_are_not_copied():
    t = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    assert np.shares_memory(mt._to_numpy(t), t.numpy())
    assert np.shares_memory(mt._to_numpy(t.expand(4, 2, 3)), t.numpy())


def test_torch_compile_training_step():
    """One compiled loss-and-backward step (AOTAutograd through the fake and autograd
    registrations, no graph break) equals the eager one."""
    args = _inputs()

    def loss(lg, loc, sc, x):
        return -mt.mixture_log_prob(lg, loc, sc, x).mean()

    compiled = torch.compile(loss, backend="aot_eager", fullgraph=True)
    lc = compiled(*args)
    lc.backward()
    gc = [t.grad.clone() for t in args]
    for t in args:
        t.grad = None
    le = loss(*args)
    le.backward()
    assert torch.allclose(lc, le)
    for a, t in zip(gc, args):
        assert torch.allclose(a, t.grad, rtol=1e-12, atol=1e-14)


def test_training_loop_reduces_the_loss():
    """A tiny mixture density network fitted for a few steps: the NLL goes down."""
    g = torch.Generator().manual_seed(1)
    u = torch.rand(256, 1, dtype=torch.float64, generator=g)
    y = torch.sin(6 * u[:, 0]) + 0.1 * torch.randn(256, dtype=torch.float64, generator=g)
    net = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 9)).double()
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        out = net(u)
        lg, loc, ls = out[:, :3], out[:, 3:6], out[:, 6:]
        loss = -mt.mixture_log_prob(lg, loc, torch.nn.functional.softplus(ls) + 1e-3, y).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 0.5


def test_errors():
    lg, loc, sc, x = _inputs(grad=False)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        mt.mixture_log_prob(lg, loc, sc, x.numpy())
    with pytest.raises(TypeError, match="float32 or float64"):
        mt.mixture_log_prob(lg, loc, sc, x.to(torch.int64))
    with pytest.raises(ValueError, match="do not broadcast"):
        mt.mixture_log_prob(lg, loc, sc, torch.zeros(7, dtype=torch.float64))
    with pytest.raises(ValueError, match="scale"):
        mt.mixture_log_prob(lg, loc, -sc, x)
