"""``mixstat.jax``: ``custom_vjp`` over ``pure_callback`` under jit, grad and vmap.

The adapter's own tests, so they use JAX (the CPU build of the ``interop`` extra;
``make test-interop``); without JAX they are skipped.  References: SciPy for the values,
``jax.test_util.check_grads`` (finite differences, float64) for the gradients.  float64
is switched on for the duration of each test and restored afterwards.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

jax = pytest.importorskip("jax", reason="mixstat.jax needs JAX (extra 'interop')")
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

mj = pytest.importorskip("mixstat.jax")


@pytest.fixture(autouse=True)
def _x64():
    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


def _inputs(B=5, K=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(B, K)), rng.normal(size=(B, K)), rng.uniform(0.5, 2.0, (B, K)), 2 * rng.normal(size=B))


def _scipy_lp(lg, loc, sc, x):
    logw = lg - special.logsumexp(lg, axis=-1, keepdims=True)
    return special.logsumexp(logw + stats.norm.logpdf(np.asarray(x)[..., None], loc, sc), axis=-1)


def test_values_under_jit_against_scipy():
    args = _inputs()
    lp = jax.jit(mj.mixture_log_prob)(*args)
    assert lp.dtype == jnp.float64 and lp.shape == (5,)
    np.testing.assert_allclose(np.asarray(lp), _scipy_lp(*args), rtol=1e-12)
    a32 = [jnp.asarray(a, jnp.float32) for a in args]
    lp32 = mj.mixture_log_prob(*a32)
    assert lp32.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(lp32), _scipy_lp(*args), rtol=1e-5, atol=1e-5)


def test_check_grads():
    check_grads(mj.mixture_log_prob, _inputs(), order=1, modes=("rev",))


def test_jit_grad_matches_finite_differences_with_broadcasting():
    """A shared scale (K,) and a scalar value: the gradient is summed over the rows."""
    lg, loc, _, _ = _inputs(B=4)
    sc = np.array([0.7, 1.3, 2.0])

    def loss(lg, loc, sc, x):
        return -mj.mixture_log_prob(lg, loc, sc, x).mean()

    check_grads(loss, (lg, loc, sc, 0.3), order=1, modes=("rev",))
    g = jax.jit(jax.grad(loss, argnums=(2, 3)))(lg, loc, sc, 0.3)
    assert g[0].shape == (3,) and g[1].shape == ()


def test_vmap():
    """vmap over a leading axis equals the batched call; vmap of grad gives per-row gradients."""
    lg, loc, sc, x = _inputs(B=6)
    v = jax.vmap(mj.mixture_log_prob)(lg, loc, sc, x)
    np.testing.assert_allclose(np.asarray(v), _scipy_lp(lg, loc, sc, x), rtol=1e-12)
    rows = jax.vmap(jax.grad(mj.mixture_log_prob, argnums=1))(lg, loc, sc, x)
    whole = jax.grad(lambda m: mj.mixture_log_prob(lg, m, sc, x).sum())(loc)
    np.testing.assert_allclose(np.asarray(rows), np.asarray(whole), rtol=1e-13)
    # vmap over the values only, with shared parameters: each call sees the whole batch
    xs = np.linspace(-3, 3, 7)
    per = jax.jit(jax.vmap(lambda t: mj.mixture_log_prob(lg[0], loc[0], sc[0], t)))(xs)
    np.testing.assert_allclose(np.asarray(per), _scipy_lp(lg[0], loc[0], sc[0], xs), rtol=1e-12)


def test_errors():
    lg, loc, sc, x = _inputs()
    with pytest.raises(ValueError, match="do not broadcast"):
        mj.mixture_log_prob(lg, loc, sc, np.zeros(7))
    with pytest.raises(ValueError, match="last dim"):
        mj.mixture_log_prob(0.0, loc, sc, x)
