"""mixstat.mixture.GaussianMixture and the fused Gaussian EM kernels of mixstat.fitting._gaussian.

References: scikit-learn's GaussianMixture (the oracle, from the same explicit
initial parameters), SciPy's logsumexp and plain NumPy sums of responsibilities.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

sklearn = pytest.importorskip("sklearn", minversion="1.6")  # the estimator and its oracle

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture as SkGM  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from mixstat.fitting import _gaussian as G  # noqa: E402
from mixstat.mixture import DegenerateComponentWarning, GaussianMixture  # noqa: E402
from mixstat.mixture._kmeans import kmeans  # noqa: E402

TYPES = ["full", "tied", "diag", "spherical"]


def _data(rng, n=300, D=3, K=3, dtype=np.float64):
    centres = 4.0 * rng.normal(size=(K, D))
    X = np.concatenate([rng.normal(size=(n, D)) @ (np.eye(D) + 0.3 * rng.normal(size=(D, D))) + c for c in centres])
    return X.astype(dtype), centres


def _inits(rng, X, K, D, ct):
    w = rng.dirichlet(np.full(K, 5.0))
    m = X[rng.choice(len(X), K, replace=False)] + 0.1
    if ct == "full":
        A = rng.normal(size=(K, D, D))
        P = A @ np.swapaxes(A, 1, 2) + D * np.eye(D)  # dense SPD precisions
    elif ct == "tied":
        A = rng.normal(size=(D, D))
        P = A @ A.T + D * np.eye(D)
    elif ct == "diag":
        P = rng.uniform(0.3, 2.0, (K, D))
    else:
        P = rng.uniform(0.3, 2.0, K)
    return dict(weights_init=w, means_init=m, precisions_init=P)


def _rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def _quiet():
    c = warnings.catch_warnings()
    c.__enter__()
    warnings.simplefilter("ignore", ConvergenceWarning)
    return c


# ------------------------------------------------------------------------------------------------
# scikit-learn as the oracle


@pytest.mark.parametrize("ct", TYPES)
def test_twenty_iterations_match_sklearn(ct):
    rng = np.random.default_rng(10 + TYPES.index(ct))
    X, _ = _data(rng)
    K, D = 3, X.shape[1]
    kw = dict(n_components=K, covariance_type=ct, max_iter=20, tol=0.0, **_inits(rng, X, K, D, ct))
    c = _quiet()
    try:
        ref = SkGM(**kw).fit(X)
        got = GaussianMixture(**kw).fit(X)
    finally:
        c.__exit__(None, None, None)
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert getattr(got, name).shape == getattr(ref, name).shape, name
        assert _rel(getattr(got, name), getattr(ref, name)) < 1e-8, name
    assert abs(got.lower_bound_ - ref.lower_bound_) <= 1e-8 * abs(ref.lower_bound_)
    assert np.allclose(got.lower_bounds_, ref.lower_bounds_, rtol=1e-8, atol=0)
    assert got.n_iter_ == ref.n_iter_ == 20 and got.converged_ == ref.converged_
    assert _rel(got.score_samples(X), ref.score_samples(X)) < 1e-8
    assert np.allclose(got.predict_proba(X), ref.predict_proba(X), rtol=0, atol=1e-8)
    assert np.array_equal(got.predict(X), ref.predict(X))
    assert abs(got.bic(X) - ref.bic(X)) <= 1e-8 * abs(ref.bic(X))
    assert abs(got.aic(X) - ref.aic(X)) <= 1e-8 * abs(ref.aic(X))
    # sample: the same draws as scikit-learn for the same random_state
    got.random_state = ref.random_state = 7
    xs, ys = got.sample(50)
    xr, yr = ref.sample(50)
    assert np.array_equal(ys, yr) and np.allclose(xs, xr, rtol=1e-7, atol=1e-9)


def test_one_coordinate_matches_sklearn():
    # D = 1: full and tied models run the diagonal loops
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(m, s, (300, 1)) for m, s in ((-3, 1), (0, 0.5), (4, 2))])
    for ct in TYPES:
        P = {
            "full": np.array([[[1.0]], [[2.0]], [[0.5]]]),
            "tied": np.array([[1.5]]),
            "diag": np.array([[1.0], [2.0], [0.5]]),
            "spherical": np.array([1.0, 2.0, 0.5]),
        }[ct]
        kw = dict(
            n_components=3,
            covariance_type=ct,
            weights_init=[0.3, 0.3, 0.4],
            means_init=[[-2.0], [0.5], [3.0]],
            precisions_init=P,
            max_iter=20,
            tol=0.0,
        )
        c = _quiet()
        try:
            ref = SkGM(**kw).fit(X)
            got = GaussianMixture(**kw).fit(X)
        finally:
            c.__exit__(None, None, None)
        for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
            assert _rel(getattr(got, name), getattr(ref, name)) < 1e-8, (ct, name)
        assert abs(got.lower_bound_ - ref.lower_bound_) <= 1e-8 * abs(ref.lower_bound_)
        assert _rel(got.score_samples(X), ref.score_samples(X)) < 1e-8


def test_converged_fit_and_init_methods():
    rng = np.random.default_rng(3)
    X, centres = _data(rng, n=200, D=2, K=3)
    for ip in ("kmeans", "k-means++", "random_from_data"):
        gm = GaussianMixture(3, init_params=ip, random_state=0).fit(X)
        assert gm.converged_ and gm.n_iter_ < 100
        ref = SkGM(3, init_params=ip, random_state=0).fit(X)
        assert gm.lower_bound_ == pytest.approx(ref.lower_bound_, rel=1e-4)  # same optimum
        d = np.linalg.norm(gm.means_[:, None] - centres[None], axis=-1)
        assert np.all(d.min(axis=0) < 0.5)  # every true centre found
    gm = GaussianMixture(3, init_params="random", random_state=0, n_init=2, max_iter=300).fit(X)
    assert np.isfinite(gm.lower_bound_) and gm.lower_bound_ == max(gm.lower_bounds_[-1], gm.lower_bound_)


def test_kmeans_recovers_separated_clusters():
    rng = np.random.default_rng(4)
    centres = 10.0 * np.array([[0, 0], [1, 0], [0, 1], [1, 1]])
    X = np.concatenate([rng.normal(size=(150, 2)) + c for c in centres])
    C, labels = kmeans(X, 4, np.random.RandomState(0))
    assert np.all(np.linalg.norm(C[:, None] - centres[None], axis=-1).min(axis=0) < 0.5)
    truth = np.repeat(np.arange(4), 150)
    # a bijection between found and true clusters
    pairs = {(int(a), int(b)) for a, b in zip(labels, truth)}
    assert len(pairs) == 4 and len({a for a, _ in pairs}) == 4


@parametrize_with_checks([GaussianMixture()])
def test_sklearn_check_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", DegenerateComponentWarning)
        check(estimator)


# ------------------------------------------------------------------------------------------------
# the kernels against NumPy


def _reference_stats(X, w, logw, means, pc, ct, center):
    N, D = X.shape
    K = len(logw)
    cov = np.linalg.inv(G.precisions_from_cholesky(pc, ct)) if ct in ("full", "tied") else 1.0 / pc**2
    covs = {
        "full": lambda k: cov[k],
        "tied": lambda k: cov,
        "diag": lambda k: np.diag(cov[k]),
        "spherical": lambda k: cov[k] * np.eye(D),
    }[ct]
    lp = np.stack([multivariate_normal(means[k], covs(k)).logpdf(X) for k in range(K)], axis=1) + logw
    ll = logsumexp(lp, axis=1)
    r = np.exp(lp - ll[:, None]) * w[:, None]
    C = np.broadcast_to(center, (K, D))
    nk = r.sum(0)
    sx = np.stack([r[:, k] @ (X - C[k]) for k in range(K)])
    if ct == "full":
        sxx = np.stack([(r[:, k, None] * (X - C[k])).T @ (X - C[k]) for k in range(K)])
    elif ct == "tied":
        sxx = (w[:, None] * (X - C[0])).T @ (X - C[0])
    else:
        sxx = np.stack([r[:, k] @ (X - C[k]) ** 2 for k in range(K)])
    return float(w @ ll), nk, sx, sxx


@pytest.mark.parametrize("ct", TYPES)
def test_estep_matches_numpy_and_chunks_add_up(ct):
    rng = np.random.default_rng(20 + TYPES.index(ct))
    X, _ = _data(rng, n=1500, D=3, K=3)  # 4500 points: three blocks
    K, D = 3, 3
    init = _inits(rng, X, K, D, ct)
    logw = np.log(init["weights_init"])
    logw[1] = -np.inf  # a zero weight: no mass at all
    means = init["means_init"]
    P = init["precisions_init"]
    pc = G.precisions_cholesky_from_covariances(np.linalg.inv(P) if ct in ("full", "tied") else 1 / P, ct)
    w = rng.integers(0, 3, len(X)).astype(np.float64)
    for center in (None, (means.mean(0) if ct == "tied" else means + 0.5)):
        ref = _reference_stats(X, w, logw, means, pc, ct, 0.0 if center is None else center)
        got = G.gaussian_estep(X, logw, means, pc, ct, sample_weight=w, center=center)
        assert got[0] == pytest.approx(ref[0], rel=1e-12)
        for a, b in zip(got[1:], ref[1:]):
            assert a.shape == b.shape and a.dtype == np.float64
            assert np.allclose(a, b, rtol=1e-10, atol=1e-9 * np.abs(b).max())
        assert np.all(got[1][1] == 0) and np.all(got[2][1] == 0)
        # streaming: the sums of the chunks' statistics
        parts = [
            G.gaussian_estep(X[a : a + 1000], logw, means, pc, ct, sample_weight=w[a : a + 1000], center=center)
            for a in range(0, len(X), 1000)
        ]
        for i in range(4):
            tot = sum(p[i] for p in parts)
            assert np.allclose(tot, got[i], rtol=1e-12, atol=1e-10 * np.abs(got[i]).max())


def test_estep_bits_do_not_depend_on_grouping(monkeypatch):
    rng = np.random.default_rng(5)
    X, _ = _data(rng, n=3000, D=2, K=2)
    init = _inits(rng, X, 2, 2, "full")
    pc = np.linalg.cholesky(init["precisions_init"])
    args = (X, np.log(init["weights_init"]), init["means_init"], pc, "full")
    base = G.gaussian_estep(*args)
    for floats in (1, 3 * 21):  # groups of one block, of three blocks (L = 21 here)
        monkeypatch.setattr(G, "_GROUP_FLOATS", floats)
        again = G.gaussian_estep(*args)
        assert all(np.array_equal(a, b) for a, b in zip(base, again))


_THREAD_SCRIPT = r"""
import hashlib, numpy as np, numba
from mixstat.mixture import GaussianMixture
rng = np.random.default_rng(0)
X = np.concatenate([rng.normal(size=(3000, 3)) + 4 * rng.normal(size=3) for _ in range(3)])
out = []
for ct in ("full", "diag"):
    gm = GaussianMixture(3, covariance_type=ct, max_iter=10, tol=0, random_state=0,
                         init_params="random_from_data").fit(X)
    for a in (gm.weights_, gm.means_, gm.covariances_, np.array([gm.lower_bound_])):
        out.append(hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16])
print(numba.get_num_threads(), " ".join(out))
"""


def test_same_bits_at_one_and_two_threads():
    res = []
    for n in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=n, PYTHONWARNINGS="ignore")
        p = subprocess.run([sys.executable, "-c", _THREAD_SCRIPT], env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        threads, digest = p.stdout.strip().split(" ", 1)
        assert threads == n
        res.append(digest)
    assert res[0] == res[1]


# ------------------------------------------------------------------------------------------------
# sample weights, streaming, distributions


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_sample_weight_equals_repeated_rows(ct):
    rng = np.random.default_rng(30 + TYPES.index(ct))
    X, _ = _data(rng, n=100, D=2, K=3)
    w = rng.integers(0, 4, len(X))
    kw = dict(n_components=3, covariance_type=ct, max_iter=15, tol=0.0, **_inits(rng, X, 3, 2, ct))
    c = _quiet()
    try:
        a = GaussianMixture(**kw).fit(X, sample_weight=w)
        b = GaussianMixture(**kw).fit(np.repeat(X, w, axis=0))
    finally:
        c.__exit__(None, None, None)
    for name in ("weights_", "means_", "covariances_"):
        assert _rel(getattr(a, name), getattr(b, name)) < 1e-10, name
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-12)


def test_partial_fit_first_step_is_an_em_step_and_stream_converges():
    rng = np.random.default_rng(6)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    X = np.concatenate(
        [rng.normal(size=(n, 2)) * s + c for n, s, c in zip((2000, 1000, 1000), (1.0, 0.7, 1.3), centres)]
    )
    X = X[rng.permutation(len(X))]
    init = dict(
        weights_init=np.full(3, 1 / 3),
        means_init=centres + rng.normal(0, 0.8, (3, 2)),
        precisions_init=np.stack([np.eye(2)] * 3),
    )
    c = _quiet()
    try:
        one = GaussianMixture(3, max_iter=1, tol=0, **init).fit(X[:500])
        full = GaussianMixture(3, **init, max_iter=500, tol=1e-8).fit(X)
    finally:
        c.__exit__(None, None, None)
    online = GaussianMixture(3, **init).partial_fit(X[:500])
    assert _rel(online.means_, one.means_) < 1e-12 and _rel(online.covariances_, one.covariances_) < 1e-12
    assert online.n_steps_ == 1
    for a in range(500, len(X), 500):
        online.partial_fit(X[a : a + 500])
    assert online.n_steps_ == len(X) // 500
    ref, order = linear_sum_assignment(np.linalg.norm(full.means_[:, None] - online.means_[None], axis=-1))
    assert np.allclose(online.means_[order], full.means_[ref], atol=0.15)
    assert np.allclose(online.weights_[order], full.weights_[ref], atol=0.03)
    assert np.all(np.linalg.eigvalsh(online.covariances_) > 0)
    # a model fitted by fit() continues from its parameters
    full.partial_fit(X[:500])
    assert full.n_steps_ == 2 and np.allclose(full.means_[ref], online.means_[order], atol=0.3)


@pytest.mark.parametrize("ct", TYPES)
def test_to_and_from_distribution(ct):
    rng = np.random.default_rng(40 + TYPES.index(ct))
    X, _ = _data(rng, n=100, D=3, K=2)
    gm = GaussianMixture(2, covariance_type=ct, random_state=0).fit(X)
    d = gm.to_distribution()
    assert np.allclose(d.log_prob(X), gm.score_samples(X), rtol=1e-10, atol=1e-10)
    back = GaussianMixture.from_distribution(d)
    assert back.covariance_type == ("full" if ct in ("full", "tied") else "diag")
    assert np.allclose(back.score_samples(X), gm.score_samples(X), rtol=1e-10, atol=1e-10)
    assert np.allclose(back.means_, gm.means_) and np.allclose(back.weights_, gm.weights_)
    refit = back.fit(X)  # starts from the distribution's parameters
    assert refit.lower_bound_ >= gm.lower_bound_ - 1e-3
    with pytest.raises(TypeError, match="MixtureSameFamily"):
        GaussianMixture.from_distribution(d.component_distribution)


# ------------------------------------------------------------------------------------------------
# robustness


def test_float32_covariances_stay_positive():
    # far from the origin, small spread: E[x^2] - E[x]^2 in float32 cancels (sklearn #30382)
    rng = np.random.default_rng(7)
    X64 = 1e4 + np.concatenate([rng.normal(0, 1e-2, (400, 2)), rng.normal(0.5, 2e-2, (400, 2))])
    X = X64.astype(np.float32)
    for ct in TYPES:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gm = GaussianMixture(2, covariance_type=ct, reg_covar=0.0, random_state=0).fit(X)
        cov = np.asarray(gm.covariances_)
        if ct in ("full", "tied"):
            assert np.all(np.linalg.eigvalsh(cov) > 0)
        else:
            assert np.all(cov > 0)
        ref = GaussianMixture(2, covariance_type=ct, reg_covar=0.0, random_state=0).fit(X.astype(np.float64))
        assert _rel(gm.covariances_, ref.covariances_) < 1e-9  # accumulated in float64 either way
        s = gm.score_samples(X)
        assert s.dtype == np.float32 and np.all(np.isfinite(s))
        assert gm.predict_proba(X).dtype == np.float32


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_duplicate_points_and_collapsing_component():
    rng = np.random.default_rng(8)
    X = np.concatenate([rng.normal(size=(200, 2)), np.tile([[8.0, 8.0]], (30, 1))])  # 30 copies of a point
    for ct in TYPES:
        P = {"full": np.stack([np.eye(2)] * 2), "tied": np.eye(2), "diag": np.ones((2, 2)), "spherical": np.ones(2)}[ct]
        init = dict(means_init=[[0.0, 0.0], [8.0, 8.0]], weights_init=[0.8, 0.2], precisions_init=P)
        if ct == "tied":  # one shared covariance: nothing collapses
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                gm = GaussianMixture(2, covariance_type=ct, max_iter=30, **init).fit(X)
        else:
            with pytest.warns(DegenerateComponentWarning, match="collapsed"):
                gm = GaussianMixture(2, covariance_type=ct, max_iter=30, **init).fit(X)
        for a in (gm.weights_, gm.means_, gm.covariances_, gm.precisions_cholesky_):
            assert np.all(np.isfinite(a))
        if ct == "full":
            assert np.allclose(gm.covariances_[1], gm.reg_covar * np.eye(2), rtol=1e-6, atol=1e-12)
        assert np.allclose(gm.means_[1], [8.0, 8.0])
    with pytest.warns(DegenerateComponentWarning):  # reg_covar = 0: repaired, never NaN
        gm = GaussianMixture(
            2, reg_covar=0.0, means_init=[[0.0, 0.0], [8.0, 8.0]], max_iter=5, random_state=0, tol=0
        ).fit(X)
    assert np.all(np.isfinite(gm.precisions_cholesky_)) and np.all(np.linalg.eigvalsh(gm.covariances_) > 0)
    assert np.all(np.isfinite(gm.score_samples(X)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_empty_component_is_kept():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(300, 2))
    init = dict(
        weights_init=[0.5, 0.5],
        means_init=[[0.0, 0.0], [1e3, 1e3]],
        precisions_init=np.stack([np.eye(2), 1e4 * np.eye(2)]),
    )
    with pytest.warns(DegenerateComponentWarning, match="no points"):
        gm = GaussianMixture(2, max_iter=3, tol=0, **init).fit(X)
    assert np.array_equal(gm.means_[1], [1e3, 1e3])  # kept where it was
    assert np.allclose(gm.covariances_[1], gm.reg_covar * np.eye(2))
    assert 0 < gm.weights_[1] < 1e-15 and np.all(np.isfinite(gm.precisions_cholesky_))


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(20, 2))
    Xn = X.copy()
    Xn[5, 1] = np.nan
    with pytest.raises(ValueError, match="row 5"):
        GaussianMixture(2).fit(Xn)
    Xn[5, 1] = np.inf
    with pytest.raises(ValueError, match="row 5"):
        GaussianMixture(2).fit(Xn)
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixture(5).fit(X[:3])
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixture(2, covariance_type="banana").fit(X)
    with pytest.raises(ValueError, match="means_init must have shape"):
        GaussianMixture(2, means_init=np.zeros((3, 2))).fit(X)
    with pytest.raises(ValueError, match="sample_weight"):
        GaussianMixture(2).fit(X, sample_weight=-np.ones(20))
    gm = GaussianMixture(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="row 5"):
        gm.score_samples(Xn)
    with pytest.raises(ValueError, match="precisions_cholesky must have shape"):
        G.gaussian_estep(X, np.log(gm.weights_), gm.means_, gm.precisions_cholesky_[0], "full")
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        G.gaussian_estep(X, np.log(gm.weights_), gm.means_, gm.precisions_cholesky_, "full", sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="sxx must have shape"):
        G.gaussian_mstep(np.ones(2), np.ones((2, 2)), np.ones((2, 2)), "full", 1e-6)
