"""Goodness of fit of the samplers, parametrised over the registry (``tests/registry.py``).

What is tested, per batch entry of every example, with ``N_DRAWS = 50000`` draws
per batch entry and fixed seeds:

* univariate continuous examples: Kolmogorov-Smirnov (``scipy.stats.kstest``)
  against the reference cdf;
* vector events (MultivariateNormal, Independent(Normal), mixtures of them):
  KS of every coordinate against the reference marginal cdf;
* every continuous example: two-sided z-tests of each coordinate of the sample
  mean against the reference mean, and of every entry of the sample covariance
  (the variance, if univariate) against the reference covariance; the standard
  error is the sample standard deviation of the coordinate, or of the centred
  products, over sqrt(N).  (These catch scale errors of ~1.5% that KS misses);
* discrete examples (Categorical, the count families, mixtures of them; per
  coordinate under ``Independent``): Pearson chi-square
  (``scipy.stats.chisquare``) of the counts against the reference category
  probabilities (``ref.pmf()``: ``ref.n_cells`` cells, the last pooling the
  upper tail beyond ``ppf(1 - 1e-9)`` for an unbounded support); categories of
  probability zero must never be drawn (a hard check, no p-value); adjacent
  cells with expected counts below ``MIN_EXPECTED = 5`` are pooled (the pooling
  depends on the expected counts only, so the test stays exact in size);
* mixtures, through ``sample(..., return_index=True)``: chi-square of the
  component indices against the mixture weights (zero-weight components must
  never be chosen), and the draws that chose component ``k`` against component
  ``k`` alone (KS per coordinate, or chi-square for Categorical components).

False-alarm rate
----------------
Every p-value computed in this file is compared with one level ``ALPHA``.
``N_PVALUES`` is the number of p-values the whole file can compute, counted
from the registry at import by :func:`planned_pvalues` (each test asserts that
it computed no more than its plan).  With ``FAMILY_ALPHA = 0.005``,
``ALPHA = min(1e-4, FAMILY_ALPHA / N_PVALUES)`` (about 2.9e-6 with the
current registry: 1752 p-values over 57 examples), so by Bonferroni the
probability that a correct sampler fails any test of this file is at most
``N_PVALUES * ALPHA <= 0.005``, below 1% (up to the accuracy of the asymptotic
null distributions of the z- and chi-square statistics; every expected count
here is in the hundreds or more).
(The seeds are fixed, so the outcome is deterministic; the rate is the chance
that the fixed seeds, or the stream after a legitimate change of the RNG, give
a false alarm.)  The two power checks at the end expect a rejection and are
not part of that count.
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import registry as reg

N_DRAWS = 50000
FAMILY_ALPHA = 0.005
MIN_EXPECTED = 5.0  # chi-square: adjacent cells with fewer expected counts are pooled


def _n_categories(ex):
    ref = ex.ref.component if ex.is_mixture else ex.ref
    return ref.n_cells


def _cell_counts(x, n_cells):
    """Counts of the values ``0 .. n_cells - 1``, values above pooled into the last cell."""
    return np.bincount(np.minimum(np.asarray(x).reshape(-1), n_cells - 1), minlength=n_cells)


def _pool(counts, f_exp):
    """Pool adjacent cells (left to right) until each expects at least ``MIN_EXPECTED``."""
    if f_exp.min() >= MIN_EXPECTED:
        return counts, f_exp
    oc, oe = [], []
    c = e = 0.0
    for ci, ei in zip(counts, f_exp):
        c += ci
        e += ei
        if e >= MIN_EXPECTED:
            oc.append(c)
            oe.append(e)
            c = e = 0.0
    if e > 0 or c > 0:
        if oe:
            oc[-1] += c
            oe[-1] += e
        else:
            oc.append(c)
            oe.append(e)
    return np.array(oc), np.array(oe)


def planned_pvalues(ex):
    """Upper bound on the p-values each test computes for ``ex``: ``{test name: count}``."""
    B = ex.n_batch
    D = ex.event_shape[0] if ex.event_shape else 1
    plan = {}
    if ex.discrete:
        plan["test_chi_square"] = B * D
    else:
        plan["test_ks_marginals"] = B * D
        if "no-moments" not in ex.tags:  # heavy tails (Cauchy): no finite mean to test
            plan["test_mean_and_covariance"] = B * (D + D * (D + 1) // 2)
    if ex.is_mixture:
        K = ex.ref.K
        plan["test_index_chi_square"] = B
        plan["test_draws_given_index"] = B * K * D
    return plan


N_PVALUES = sum(sum(planned_pvalues(e).values()) for e in reg.EXAMPLES)
ALPHA = min(1e-4, FAMILY_ALPHA / N_PVALUES)


class PValues:
    """Collects the p-values of one test; fails on the smallest if it is below ``ALPHA``."""

    def __init__(self, ex, test):
        self.budget = planned_pvalues(ex)[test]
        self.items = []

    def add(self, label, p):
        self.items.append((float(p), label))

    def check(self):
        assert len(self.items) <= self.budget, "more p-values than planned: the Bonferroni count is wrong"
        assert self.items, "no p-value computed"
        p, label = min(self.items)
        assert p > ALPHA, f"{label}: p = {p:.3g} <= ALPHA = {ALPHA:.3g}"


def _batch_indices(batch):
    return list(np.ndindex(*batch)) if batch else [()]


def _at(x, idx):
    """Draws of batch entry ``idx`` from ``x`` of shape ``(N, *batch, *event)``."""
    return x[(slice(None),) + tuple(idx)]


def _chi_square(counts, probs, label, pv):
    """Hard check on zero-probability cells, then Pearson chi-square over the others."""
    counts = np.asarray(counts)
    probs = np.asarray(probs, dtype=np.float64)
    zero = probs <= 0
    assert counts[zero].sum() == 0, f"{label}: drew a category/component of probability 0"
    n = counts.sum()
    pos = ~zero
    if pos.sum() < 2:
        assert counts[pos].sum() == n
        return
    f_exp = n * probs[pos] / probs[pos].sum()
    obs, f_exp = _pool(counts[pos], f_exp)
    if obs.size < 2:
        return
    pv.add(label, stats.chisquare(obs, f_exp).pvalue)


def _ks(x, cdf, label, pv):
    pv.add(label, stats.kstest(np.asarray(x, dtype=np.float64), cdf).pvalue)


def test_bonferroni_budget():
    assert N_PVALUES * ALPHA <= FAMILY_ALPHA < 0.01
    assert ALPHA <= 1e-4


@pytest.mark.parametrize("ex", reg.examples(lambda e: not e.discrete))
def test_ks_marginals(ex):
    d = ex.make()
    x = d.sample((N_DRAWS,), rng=101)
    pv = PValues(ex, "test_ks_marginals")
    for idx in _batch_indices(ex.batch_shape):
        xb = _at(x, idx)
        if ex.event_shape == ():
            _ks(xb, ex.ref[idx].cdf, f"batch {idx}", pv)
        else:
            for i in range(ex.event_shape[0]):
                _ks(xb[:, i], ex.ref.marginal(i)[idx].cdf, f"batch {idx} coordinate {i}", pv)
    pv.check()


@pytest.mark.parametrize("ex", reg.examples(lambda e: not e.discrete and "no-moments" not in e.tags))
def test_mean_and_covariance(ex):
    """z-tests of the sample mean and of every entry of the sample covariance (variance if univariate)."""
    d = ex.make()
    x = d.sample((N_DRAWS,), rng=102).astype(np.float64)
    if ex.event_shape == ():
        x = x[..., None]
        mean = ex.ref.mean[..., None]
        cov = ex.ref.variance[..., None, None]
    else:
        mean, cov = ex.ref.mean, ex.ref.covariance
    D = x.shape[-1]
    pv = PValues(ex, "test_mean_and_covariance")
    for idx in _batch_indices(ex.batch_shape):
        xb = _at(x, idx)
        m = xb.mean(0)
        c = xb - m
        for i in range(D):
            z = (m[i] - mean[idx + (i,)]) / (c[:, i].std() / math.sqrt(N_DRAWS))
            pv.add(f"batch {idx} mean[{i}] z = {z:.2f}", 2 * stats.norm.sf(abs(z)))
        for i in range(D):
            for j in range(i + 1):
                prod = c[:, i] * c[:, j]
                z = (prod.mean() - cov[idx + (i, j)]) / (prod.std() / math.sqrt(N_DRAWS))
                pv.add(f"batch {idx} cov[{i},{j}] z = {z:.2f}", 2 * stats.norm.sf(abs(z)))
    pv.check()


@pytest.mark.parametrize("ex", reg.examples(lambda e: e.discrete))
def test_chi_square(ex):
    d = ex.make()
    x = d.sample((N_DRAWS,), rng=103)
    assert x.dtype == np.int64
    assert np.all((x >= 0) & (x <= ex.ref.support_max))
    if ex.event_shape == ():
        _chi_square_per_batch(ex, x, ex.ref.pmf(), _n_categories(ex), PValues(ex, "test_chi_square"))
        return
    pv = PValues(ex, "test_chi_square")  # Independent: every coordinate against its marginal
    for i in range(ex.event_shape[0]):
        m = ex.ref.marginal(i)
        probs, C = m.pmf(), m.n_cells
        for idx in _batch_indices(ex.batch_shape):
            _chi_square(_cell_counts(_at(x, idx)[:, i], C), probs[idx], f"batch {idx} coordinate {i}", pv)
    pv.check()


@pytest.mark.parametrize("ex", reg.examples(lambda e: e.is_mixture))
def test_index_chi_square(ex):
    d = ex.make()
    _, index = d.sample((N_DRAWS,), rng=104, return_index=True)
    K = ex.ref.K
    assert index.shape == (N_DRAWS,) + ex.batch_shape
    assert np.all((index >= 0) & (index < K))
    _chi_square_per_batch(ex, index, ex.ref.weights, K, PValues(ex, "test_index_chi_square"))


def _chi_square_per_batch(ex, draws, probs, n_cells, pv):
    """Chi-square of the draws' cell counts against ``probs`` for every batch entry."""
    for idx in _batch_indices(ex.batch_shape):
        counts = _cell_counts(_at(draws, idx), n_cells)
        _chi_square(counts, probs[idx], f"batch {idx}", pv)
    if n_cells == 1:
        assert np.all(draws == 0)
    else:
        pv.check()


@pytest.mark.parametrize("ex", reg.examples(lambda e: e.is_mixture))
def test_draws_given_index(ex):
    """The draws that chose component ``k`` follow component ``k`` (the gather is right)."""
    d = ex.make()
    x, index = d.sample((N_DRAWS,), rng=105, return_index=True)
    comp = ex.ref.component  # batch (*batch, K)
    pv = PValues(ex, "test_draws_given_index")
    for idx in _batch_indices(ex.batch_shape):
        xb, ib = _at(x, idx), _at(index, idx)
        for k in range(ex.ref.K):
            xk = xb[ib == k]
            if ex.ref.weights[idx + (k,)] == 0:
                assert xk.shape[0] == 0
                continue
            assert xk.shape[0] > 500  # positive weights are >= 0.05 by construction
            ck = comp[idx + (k,)]
            label = f"batch {idx} component {k}"
            if ex.discrete and ex.event_shape == ():
                _chi_square(_cell_counts(xk, ck.n_cells), ck.pmf(), label, pv)
            elif ex.discrete:
                for i in range(ex.event_shape[0]):
                    m = ck.marginal(i)
                    _chi_square(_cell_counts(xk[:, i], m.n_cells), m.pmf(), f"{label} coordinate {i}", pv)
            elif ex.event_shape == ():
                _ks(xk, ck.cdf, label, pv)
            else:
                for i in range(ex.event_shape[0]):
                    _ks(xk[:, i], ck.marginal(i).cdf, f"{label} coordinate {i}", pv)
    pv.check()


# ------------------------------------------------------------------ power checks
def test_ks_has_power_against_a_small_shift():
    """The KS set-up rejects a sampler off by 0.1 standard deviation (p far below ALPHA)."""
    ex = reg.BY_ID["msf-normal-b0"]
    x = ex.make().sample((N_DRAWS,), rng=106)
    sd = float(np.sqrt(ex.ref.variance))
    p = stats.kstest(x, lambda t: ex.ref.cdf(t - 0.1 * sd)).pvalue
    assert p < ALPHA


def test_chi_square_has_power_against_small_probability_errors():
    """The chi-square set-up rejects category probabilities off by 0.03."""
    ex = reg.BY_ID["cat-probs-b0"]
    x = ex.make().sample((N_DRAWS,), rng=107)
    p = np.array(ex.ref.pmf()) + np.array([0.03, -0.03, 0.0])
    counts = np.bincount(x, minlength=3)
    assert stats.chisquare(counts, N_DRAWS * p).pvalue < ALPHA
