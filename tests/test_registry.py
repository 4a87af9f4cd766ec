"""The family protocol: the registry, the hooks each family module defines, and their contracts.

Every family of :mod:`mixstat.kernels.registry` is checked with no per-family
list here: its module defines the hooks its event kind needs; on the
parameters of every registry example (``tests/registry.py``), ``bound1`` is an
upper bound of ``logpdf1`` (and finite where the family is declared
``bounded``), the SIMD variants agree with the exact hooks wherever they do
not return NaN, and ``pack`` gives one row of floats per component.  The hooks
are plain Python functions (``register_jitable``), so they are called here
directly, without compiling.
"""

import math
import os
import re
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import registry as reg

from mixstat.distributions import Independent, MixtureSameFamily
from mixstat.kernels import registry

FAMILY_NAMES = [f.name for f in registry.FAMILIES]


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_module_defines_the_hooks_of_its_event_kind(name):
    f = registry.family(name)
    need = {"scalar": ("pack", "logpdf1", "draw1"), "vector": ("pack", "logpdf", "draw")}[f.event]
    for h in need:
        assert f.has(h), f"{name} lacks {h}"
    assert f.hooks <= frozenset(registry.HOOKS[f.event])
    if f.bounded:
        assert f.has("bound1") or f.has("bound"), f"{name} is declared bounded but has no bound hook"
    if f.has("logpdf1_fast"):
        assert f.has("logpdf1")


def test_every_family_has_a_test_example_and_the_ops_are_derived():
    tested = {e.family for e in reg.EXAMPLES}
    for f in registry.FAMILIES:
        assert f.name in tested, f"no example of {f.name} in tests/examples"
        if f.univariate:
            assert f"mixture-{f.name}" in tested or f.name in ("normal", "categorical")
    cpu = registry.pairs("cpu")
    for f in registry.FAMILIES:
        assert ("log_prob", f.name) in cpu and ("sample", f.name) in cpu
        assert (("cdf", f.name) in cpu) == (f.univariate and f.has("cdf1"))


def test_no_if_chains_over_family_names():
    """Families are looked up in the registry, never compared by name in the library code."""
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mixstat")
    names = "|".join(FAMILY_NAMES + ["none"])
    pattern = re.compile(rf"""(==|!=)\s*["']({names})["']|["']({names})["']\s*(==|!=)""")
    bad = []
    for dirpath, _, files in os.walk(root):
        for fn in files:
            if fn.endswith(".py"):
                path = os.path.join(dirpath, fn)
                for i, line in enumerate(open(path), 1):
                    if pattern.search(line):
                        bad.append(f"{path}:{i}: {line.strip()}")
    assert not bad, "\n".join(bad)


def _leaf(d):
    while isinstance(d, (Independent, MixtureSameFamily)):
        d = d.component_distribution if isinstance(d, MixtureSameFamily) else d.base_dist
    return d


UNI = [
    e
    for e in reg.EXAMPLES
    if e.family in {f.name for f in registry.FAMILIES if f.univariate}
    or (e.family.startswith("mixture-") and e.family[8:] in {f.name for f in registry.FAMILIES if f.univariate})
]


@pytest.mark.parametrize("ex", [pytest.param(e, id=e.id) for e in UNI])
def test_bound_and_fast_hooks_on_the_example_parameters(ex):
    d = ex.make()
    leaf = _leaf(d)
    f = registry.family(leaf.family)
    m = f.module
    spec = (d.component_distribution if ex.is_mixture else d)._kernel_spec(ex.dtype)
    tab = np.asarray(spec.table, dtype=np.float64)
    tab = tab.reshape(-1, 1, tab.shape[-1])  # (components, 1, P)
    x = np.asarray(d.sample((8,), rng=3), dtype=np.float64).reshape(-1)[:24]
    rng = np.random.default_rng(0)
    x = np.concatenate([x, rng.normal(size=12) * 3 + 1, [0.0, 1.0, -1.0, 0.5]])
    npre = getattr(m, "NPRE", 0)
    rel = 1e-12 if ex.dtype == np.float64 else 2e-6  # float32 rows: constants rounded to float32
    for r in range(min(tab.shape[0], 6)):
        with np.errstate(all="ignore"):
            if f.has("bound1"):
                bound = m.bound1(tab, r, 0, 0)
                if f.bounded:
                    assert math.isfinite(bound), f"row {r}: declared bounded, bound {bound}"
            for v in x:
                p0, p1 = m.pre1(v) if npre else (v, v)
                lp = m.logpdf1(v, p0, p1, tab, r, 0, 0)
                if f.has("bound1"):
                    assert not lp > bound + 1e-9 * max(1.0, abs(bound)), f"row {r}: logpdf {lp} > bound {bound} at {v}"
                if f.has("logpdf1_fast"):
                    fast = m.logpdf1_fast(v, p0, p1, tab, r, 0, 0)
                    if not math.isnan(fast):
                        assert fast == pytest.approx(lp, rel=rel, abs=rel) or (fast == lp), (v, fast, lp)
                if f.has("cdf1_fast"):
                    cf = m.cdf1_fast(v, tab, r, 0, 0)
                    ce = m.cdf1(v, tab, r, 0, 0)
                    if not math.isnan(cf) and ce > 1e-10:
                        assert cf == pytest.approx(ce, rel=rel, abs=1e-14), (v, cf, ce)


@pytest.mark.parametrize(
    "ex",
    [
        pytest.param(e, id=e.id)
        for e in reg.representatives([e for e in reg.EXAMPLES if e.is_mixture and not e.discrete])
    ],
)
def test_per_component_terms_loop(ex):
    """The per-component loop (responsibilities and EM build on it): logw_k + log p_k(x), and its
    log-sum-exp is the mixture log-density."""
    from scipy.special import logsumexp

    from mixstat import plan

    d = ex.make()
    x = d.sample((7,), rng=4)
    comp = d.component_distribution
    spec = comp._kernel_spec(ex.dtype)
    logw = d.mixture_distribution.logits
    t = plan.terms(spec, x, d.batch_shape, d.event_shape, logw)
    K = logw.shape[-1]
    assert t.shape == (7,) + ex.batch_shape + (K,) and t.dtype == ex.dtype
    xk = np.expand_dims(x, x.ndim - len(ex.event_shape))
    with np.errstate(divide="ignore"):
        want = np.log(ex.ref.weights) + ex.ref.component.log_prob(xk)
    r = 1e-12 if ex.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(t, want, rtol=r, atol=r)
    np.testing.assert_allclose(logsumexp(t.astype(np.float64), axis=-1), d.log_prob(x), rtol=r, atol=r)
