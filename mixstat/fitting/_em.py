"""``fit_mixture`` and ``select_n_components``: EM for mixtures of one family."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._array import fmt_shape
from .._typing import ArrayLike, RNGLike
from ._data import make_source
from ._families import FIT_FAMILIES

if TYPE_CHECKING:
    from ..distributions import Distribution

__all__ = ["fit_mixture", "select_n_components", "FitResult", "ComponentWarning"]

#: a component whose summed responsibility is at most this fraction of the total weight is empty
EMPTY_FRACTION = 1e-10
#: at most this many points per batch entry seed the initialisation (an even subsample)
POOL_MAX = 20000
#: and at most this many in all (over the batch)
POOL_TOTAL = 1 << 22
#: Lloyd iterations on the subsample after the k-means++ seeding
LLOYD_ITERS = 10


class ComponentWarning(RuntimeWarning):
    """A fitted component became empty (no weight) or collapsed (a parameter was clamped)."""


class FitResult:
    """The result of :func:`fit_mixture`.

    Attributes
    ----------
    distribution : MixtureSameFamily
        The fitted mixture; its ``batch_shape`` is the data's batch dims.
    log_likelihood : numpy.ndarray
        The (sample-weighted) log-likelihood after each EM iteration, shape ``(n_iter,)``;
        for batched data ``(max(n_iter), *batch)``, an entry's value repeated after it
        converged.  The last value is the log-likelihood of ``distribution``.
    n_iter : int or numpy.ndarray
        EM iterations (M-steps after the initialisation) of the kept initialisation;
        an int array of the batch shape for batched data.
    converged : bool or numpy.ndarray
        Whether the change of the log-likelihood per unit weight fell below ``tol``.
    n_samples : float or numpy.ndarray
        The total sample weight (the number of points without ``sample_weight``).
    n_parameters : int or numpy.ndarray
        Free parameters of one mixture (``K - 1`` weights and every component's); an
        int array of the batch shape for a batched :func:`select_n_components` result
        (each entry's chosen ``K``).
    """

    def __init__(self, distribution, log_likelihood, n_iter, converged, n_samples, n_parameters):
        self.distribution = distribution
        self.log_likelihood = log_likelihood
        self.n_iter = n_iter
        self.converged = converged
        self.n_samples = n_samples
        self.n_parameters = n_parameters

    @property
    def final_log_likelihood(self) -> float | np.ndarray:
        """The log-likelihood of ``distribution`` (the last of ``log_likelihood``)."""
        return self.log_likelihood[-1]

    def bic(self) -> float | np.ndarray:
        """Bayesian information criterion ``-2 log L + p log n`` (lower is better).

        ``p`` is :attr:`n_parameters` and ``n`` :attr:`n_samples`.
        """
        return -2.0 * self.final_log_likelihood + self.n_parameters * np.log(self.n_samples)

    def aic(self) -> float | np.ndarray:
        """Akaike information criterion ``-2 log L + 2 p`` (lower is better)."""
        return -2.0 * self.final_log_likelihood + 2.0 * self.n_parameters

    def __repr__(self):
        return f"FitResult(distribution={self.distribution!r}, n_iter={self.n_iter!r}, converged={self.converged!r})"


# -- the component ---------------------------------------------------------------------
class _Model:
    """The resolved component: a scalar family (over 1 or ``D`` coordinates) or a Gaussian."""

    def __init__(self, fam, opts, event_ndim, D, gaussian=False):
        self.fam = fam
        self.opts = opts
        self.event_ndim = event_ndim
        self.D = D
        self.gaussian = gaussian


def _options(defaults, given, owner):
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TypeError(
            f"fit_mixture: unknown option(s) {unknown} for {owner}; its options: {sorted(defaults) or 'none'}"
        )
    out = dict(defaults)
    out.update(given)
    return out


def _resolve(component, family_options):
    from .. import distributions as dist

    if isinstance(component, type):
        cls, template = component, None
    elif isinstance(component, dist.Distribution):
        cls, template = type(component), component
    else:
        raise TypeError(
            "fit_mixture: component must be a distribution class (such as "
            f"mixstat.distributions.Poisson) or a template distribution, got {component!r}"
        )
    if cls.__name__ == "MultivariateNormal":
        from . import _mvn

        return _mvn.resolve(template, family_options)
    event_ndim = 0
    base = template
    if cls is dist.Independent:
        if template is None:
            raise TypeError(
                "fit_mixture: an Independent component must be given as a template, such as "
                "Independent(Normal(np.zeros(D), np.ones(D)), 1)"
            )
        base = template.base_dist
        if template.reinterpreted_batch_ndims != 1 or base.event_shape != () or len(base.batch_shape) < 1:
            raise ValueError(
                "fit_mixture: an Independent template must reinterpret one batch dim of a "
                f"univariate family (got {template!r})"
            )
        cls = type(base)
        event_ndim = 1
    fam = FIT_FAMILIES.get(cls.__name__)
    if fam is None:
        raise TypeError(
            f"fit_mixture: no M-step for {cls.__name__}; fittable: "
            f"{sorted(FIT_FAMILIES) + ['MultivariateNormal', 'Independent(...)']}"
        )
    opts = _options(fam.options, family_options, cls.__name__)
    D = template.event_shape[0] if event_ndim else 1
    if base is not None:
        fam.options_from_template(base, D, event_ndim, family_options, opts)
    fam.check_options(opts, D)
    return _Model(fam, opts, event_ndim, D)


# -- checks ------------------------------------------------------------------------------
def _int_arg(v, name, lo):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Integral, np.integer)):
        raise TypeError(f"fit_mixture: {name} must be an int, got {v!r}")
    if v < lo:
        raise ValueError(f"fit_mixture: {name} must be at least {lo}, got {v}")
    return int(v)


def _row_name(src, b, n):
    if src.batch_shape:
        idx = np.unravel_index(b, src.batch_shape)
        return f"x[{', '.join(str(int(i)) for i in idx)}, {n}] (batch index {tuple(int(i) for i in idx)}, row {n})"
    return f"row {n} (x[{n}])"


def _validate(src, model):
    """Pass 0: every value finite and in the support; the number of rows; categories."""
    fam, opts = model.fam, model.opts
    infer_c = fam is not None and fam.infers_categories and opts.get("n_categories") is None
    if src.kind == "dask":
        _validate_blocks(src, model, infer_c)
        return
    cmax = -1.0
    for lo, x, _ in src.chunks():
        fin = np.isfinite(x).all(-1)
        if not fin.all():
            b, n = np.unravel_index(int(np.argmin(fin.ravel())), fin.shape)
            raise ValueError(f"fit_mixture: x has a NaN or infinite value at {_row_name(src, b, lo + n)}")
        if infer_c:
            if x.size:
                bad = (x < 0) | (np.floor(x) != x)
                if bad.any():
                    b, n = np.unravel_index(int(np.argmax(bad.any(-1).ravel())), bad.shape[:2])
                    raise ValueError(
                        f"fit_mixture: x at {_row_name(src, b, lo + n)} is not a category index "
                        "(a non-negative integer)"
                    )
                cmax = max(cmax, float(x.max()))
            continue
        if fam is None:
            continue
        bad = fam.bad_rows(x, opts)
        if bad.any():
            b, n = np.unravel_index(int(np.argmax(bad.ravel())), bad.shape)
            raise ValueError(
                f"fit_mixture: x at {_row_name(src, b, lo + n)} is outside the support of "
                f"{fam.cls_name} ({fam.support_msg(opts)})"
            )
    if infer_c:
        opts["n_categories"] = int(cmax) + 1 if cmax >= 0 else 1


def _block_checks(x, w, fam, opts, infer_c):
    """The checks of :func:`_validate` on one block: the first ``(b, n)`` of each problem (None
    where there is none) and the largest category."""
    out = {"nonfinite": None, "category": None, "support": None, "cmax": -1.0}
    fin = np.isfinite(x).all(-1)
    if not fin.all():
        out["nonfinite"] = np.unravel_index(int(np.argmin(fin.ravel())), fin.shape)
    elif infer_c:
        if x.size:
            bad = (x < 0) | (np.floor(x) != x)
            if bad.any():
                out["category"] = np.unravel_index(int(np.argmax(bad.any(-1).ravel())), bad.shape[:2])
            else:
                out["cmax"] = float(x.max())
    elif fam is not None:
        bad = fam.bad_rows(x, opts)
        if bad.any():
            out["support"] = np.unravel_index(int(np.argmax(bad.ravel())), bad.shape)
    return out


def _validate_blocks(src, model, infer_c):
    """:func:`_validate` of a dask source: the checks of every block in one compute, the errors
    those of the whole array in memory (the first row, batch entry first)."""
    fam, opts = model.fam, model.opts
    res = src.map_chunks(_block_checks, fam, opts, infer_c)

    def first(kind):
        hits = [(int(r[kind][0]), lo + int(r[kind][1])) for lo, r in res if r[kind] is not None]
        return min(hits) if hits else None

    hit = first("nonfinite")
    if hit is not None:
        raise ValueError(f"fit_mixture: x has a NaN or infinite value at {_row_name(src, *hit)}")
    if infer_c:
        hit = first("category")
        if hit is not None:
            raise ValueError(
                f"fit_mixture: x at {_row_name(src, *hit)} is not a category index (a non-negative integer)"
            )
        cmax = max([r["cmax"] for _, r in res] + [-1.0])
        opts["n_categories"] = int(cmax) + 1 if cmax >= 0 else 1
        return
    hit = first("support")
    if hit is not None:
        raise ValueError(
            f"fit_mixture: x at {_row_name(src, *hit)} is outside the support of "
            f"{fam.cls_name} ({fam.support_msg(opts)})"
        )


def _weights_summary(src, K):
    """Total weight and count of positive-weight rows per batch entry (checks the weights)."""
    B, N = src.B, src.N
    if src.sample_weight is None:
        tot = np.full(B, float(N))
        cnt = np.full(B, N)
    else:
        w = np.broadcast_to(np.asarray(src.sample_weight, np.float64), src.batch_shape + (N,)).reshape(B, N)
        ok = np.isfinite(w) & (w >= 0)
        if not ok.all():
            b, n = np.unravel_index(int(np.argmin(ok.ravel())), ok.shape)
            raise ValueError(
                f"fit_mixture: sample_weight must be finite and non-negative; it is "
                f"{w[b, n]!r} at {_row_name(src, b, n).replace('x[', 'sample_weight[')}"
            )
        tot = w.sum(axis=1)
        cnt = (w > 0).sum(axis=1)
    if (cnt < K).any():
        b = int(np.argmin(cnt))
        where = f" (batch entry {np.unravel_index(b, src.batch_shape)})" if src.batch_shape else ""
        raise ValueError(
            f"fit_mixture: {int(cnt[b])} point(s) with positive weight{where} are too few for "
            f"n_components={K} (x of shape {fmt_shape(src.batch_shape + (N,) + src.event_shape)})"
        )
    return tot


def _pool(src):
    """An even subsample of the rows (the same for every source kind), ``(B, M, D)``, and its weights."""
    B, N = src.B, src.N
    M = int(min(N, POOL_MAX, max(64, POOL_TOTAL // max(B, 1))))
    idx = (np.arange(M, dtype=np.int64) * N) // M
    pool, pw = src.rows(idx)
    return np.ascontiguousarray(pool), np.ascontiguousarray(pw)


# -- initialisation -------------------------------------------------------------------------
def _choose(gen, p):
    """One index per row of ``p`` (B, M), with probability proportional to ``p``."""
    cum = np.cumsum(p, axis=1)
    u = gen.random(p.shape[0]) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), p.shape[1] - 1)


def kmeans_pp(pool, pw, K, gen):
    """k-means++ seeds (Arthur & Vassilvitskii 2007) ``(B, K, D)`` from ``pool`` (B, M, D)."""
    B, _M, D = pool.shape
    rows = np.arange(B)
    centres = np.empty((B, K, D))
    idx = _choose(gen, pw)
    centres[:, 0] = pool[rows, idx]
    d2 = ((pool - centres[:, :1]) ** 2).sum(-1)
    for k in range(1, K):
        p = d2 * pw
        tot = p.sum(axis=1)
        p = np.where((tot > 0)[:, None], p, pw)
        idx = _choose(gen, p)
        centres[:, k] = pool[rows, idx]
        d2 = np.minimum(d2, ((pool - centres[:, k : k + 1]) ** 2).sum(-1))
    return centres


def lloyd(pool, pw, centres, iters=LLOYD_ITERS):
    """``centres`` (B, K, D) after up to ``iters`` weighted Lloyd (k-means) steps on ``pool``
    (compiled, :func:`._kernel.lloyd`); a centre that loses its points stays where it is."""
    from ._kernel import lloyd as _lloyd

    return _lloyd(pool, pw, np.ascontiguousarray(centres, dtype=np.float64), iters)


def random_seeds(pool, pw, K, gen):
    """``K`` distinct pool points per batch entry, uniformly among those of positive weight."""
    B = pool.shape[0]
    keys = np.where(pw > 0, gen.random(pw.shape), 2.0)
    idx = np.argsort(keys, axis=1, kind="stable")[:, :K]
    return pool[np.arange(B)[:, None], idx]


def _generator(rng):
    from .._rng import key_for

    k0, k1 = key_for(rng)
    return np.random.Generator(np.random.Philox(key=(int(k0) << 32) | int(k1)))


# -- EM ----------------------------------------------------------------------------------------
class _Scalar:
    """EM over a scalar family with the fused kernel of :mod:`._kernel`."""

    def __init__(self, model, src, K, dev=None):
        self.model, self.src, self.K = model, src, K
        self.S = model.fam.n_stats(model.opts)
        self.dev = dev  # a ._cuda.DeviceData: the EM passes run on the GPU

    def table(self, params):
        B, K = self.src.B, self.K
        comp = self.model.fam.build(params, self.model.opts)
        return np.ascontiguousarray(comp._diag_table(np.float64).reshape(B, K, -1))

    def estep(self, params, logw, active, centres=None):
        B, K, D, S = self.src.B, self.K, self.model.D, self.S
        tab = self.table(params)
        act = active.astype(np.uint8)
        if self.dev is not None and centres is None:
            ll, st = self.dev.sum_over(_device_scalar_estep, self.model.fam.name, logw, tab, act, S)
        else:
            ll, st = self.src.sum_over(_scalar_estep, self.model.fam.name, logw, tab, act, centres, S)
        return ll, st[..., 0], st[..., 1:].reshape(B, K, D, S)

    def mstep(self, nk, st, old, init, active=None):
        return self.model.fam.mstep(st, nk, old, self.model.opts, init)

    @staticmethod
    def select(keep, new, old):
        return _select(keep, new, old)

    def initial(self, centres):
        B, K = self.src.B, self.K
        ph = self.model.fam.placeholder(centres, self.model.opts)
        _, nk, st = self.estep(ph, np.zeros((B, K)), np.ones(B, bool), centres)
        params, _ = self.mstep(nk, st, ph, True)
        return params, nk


def _scalar_estep(x, w, family, logw, tab, act, centres, S):
    """Log-likelihood and sums of one chunk (``w`` None: unit weights), by the fused kernel."""
    from ._kernel import run_estep

    if w is None:
        w = np.broadcast_to(np.float64(1.0), x.shape[:2])
    return run_estep(family, x, w, logw, tab, act, centres, centres is not None, S)


def _device_scalar_estep(xd, wd, family, logw, tab, act, S):
    """:func:`_scalar_estep` of one chunk on the GPU (the CUDA kernel of :mod:`._cuda`)."""
    from ._cuda import scalar_estep

    return scalar_estep(family, xd, wd, logw, tab, act, S)


def _select(mask, new, old):
    """``new`` where ``mask`` (B, K) else ``old``, per parameter (arrays (B, K, ...))."""
    out = {}
    for n in new:
        m = mask.reshape(mask.shape + (1,) * (new[n].ndim - mask.ndim))
        out[n] = np.where(m, new[n], old[n])
    return out


def _log_weights(nk, tot):
    w = nk / tot[:, None]
    s = w.sum(axis=1, keepdims=True)
    w = np.where(s > 0, w / np.where(s > 0, s, 1.0), 1.0 / nk.shape[1])  # rows of 0: skipped entries
    with np.errstate(divide="ignore"):
        return np.log(w)


def _run(em, params, logw, tot, max_iter, tol, flags):
    """EM from ``params``/``logw``; returns the final state and the trajectory."""
    B = em.src.B
    active = np.ones(B, bool)
    ll, nk, st = em.estep(params, logw, active)
    traj = []
    n_iter = np.zeros(B, np.int64)
    converged = np.zeros(B, bool)
    for _ in range(max_iter):
        new, collapsed = em.mstep(nk, st, params, False, active)
        empty = nk <= EMPTY_FRACTION * tot[:, None]
        keep = active[:, None] & ~empty
        flags["empty"] |= bool((active[:, None] & empty).any())
        flags["collapsed"] |= bool((active[:, None] & collapsed & ~empty).any())
        params = em.select(keep, new, params)
        logw = np.where(active[:, None], _log_weights(nk, tot), logw)
        ll_new, nk, st = em.estep(params, logw, active)
        if not np.isfinite(ll_new[active]).all():
            raise FloatingPointError(
                "fit_mixture: a point has zero density under every component "
                "(the log-likelihood is -inf); try another initialisation"
            )
        n_iter[active] += 1
        done = active & (np.abs(ll_new - ll) <= tol * tot)
        converged |= done
        ll = np.where(active, ll_new, ll)
        traj.append(ll.copy())
        active &= ~done
        if not active.any():
            break
    return params, logw, ll, np.array(traj), n_iter, converged


def _from_init(init, model, src, K):
    """Initial parameters and log-weights from a ``MixtureSameFamily`` ``init``."""
    from .. import distributions as dist

    if not isinstance(init, dist.MixtureSameFamily):
        raise TypeError(f"fit_mixture: init must be 'k-means++', 'random' or a MixtureSameFamily, got {init!r}")
    comp = init.component_distribution
    B, D = src.B, model.D
    logits = np.asarray(init.mixture_distribution.logits, np.float64)
    if logits.shape[-1] != K:
        raise ValueError(f"fit_mixture: init has {logits.shape[-1]} components, n_components is {K}")
    try:
        lw = np.broadcast_to(logits, src.batch_shape + (K,)).reshape(B, K)
    except ValueError:
        raise ValueError(
            f"fit_mixture: init's batch_shape {fmt_shape(init.batch_shape)} does not broadcast to "
            f"the data's {fmt_shape(src.batch_shape)}"
        ) from None
    lw = lw - np.logaddexp.reduce(lw, axis=1, keepdims=True)
    if model.gaussian:
        return model.extract(comp, src, K), np.ascontiguousarray(lw)
    base = comp.base_dist if model.event_ndim else comp
    if type(base).__name__ != model.fam.cls_name:
        raise TypeError(f"fit_mixture: init's components are {type(base).__name__}, not {model.fam.cls_name}")
    shape = src.batch_shape + (K, D)
    params = model.fam.extract(base, shape, model.opts, model.event_ndim == 0)
    params = {n: a.reshape((B, K, D) + a.shape[len(shape) :]) for n, a in params.items()}
    return params, np.ascontiguousarray(lw)


def _distribution(model, params, logw, src, K, dtype):
    from .. import distributions as dist

    bshape = src.batch_shape
    w = np.exp(logw).reshape(bshape + (K,)).astype(dtype)
    mix = dist.Categorical(probs=w)
    if model.gaussian:
        return dist.MixtureSameFamily(mix, model.build(params, bshape, K, dtype))
    D = model.D
    out = {}
    for n, a in params.items():
        tail = a.shape[3:]
        a = a.reshape(bshape + (K, D) + tail)
        if model.event_ndim == 0:
            a = a.reshape(bshape + (K,) + tail)
        out[n] = a.astype(dtype)
    comp = model.fam.build(out, model.opts, validate=True)
    if model.event_ndim:
        comp = dist.Independent(comp, 1)
    return dist.MixtureSameFamily(mix, comp)


def fit_mixture(
    x: Any,
    component: type[Distribution] | Distribution,
    n_components: int,
    *,
    sample_weight: ArrayLike | None = None,
    init: str | ArrayLike = "k-means++",
    n_init: int = 1,
    max_iter: int = 100,
    tol: float = 1e-3,
    rng: RNGLike = None,
    device: str | None = None,
    **family_options: Any,
) -> FitResult:
    """Fit a finite mixture of one family by expectation-maximisation (EM).

    See ``docs/api/fit_mixture.md`` for the families, the algorithm, the
    handling of degenerate components and the streaming of large data.

    Parameters
    ----------
    x : array_like, numpy.memmap, callable or re-iterable
        Data of shape ``(*batch, N, *event_shape)``: one independent mixture is fitted per
        batch entry.  A ``numpy.memmap`` (``np.load(path, mmap_mode="r")``) is streamed
        in chunks; a callable returning an iterable of chunks (or a list of chunk arrays)
        yields arrays ``(*batch, n_i, *event_shape)``, read once per iteration.
    component : type or Distribution
        A family class (``mixstat.distributions.Poisson``) or an unfitted template
        (``Independent(Bernoulli(probs=np.full(D, 0.5)), 1)``,
        ``Binomial(total_count=10, probs=0.5)``); its parameter values are ignored, its
        family, event shape and fixed parameters (``total_count``, categories) are used.
    n_components : int
        ``K``, at least 1.
    sample_weight : array_like, optional
        Non-negative weights broadcastable to ``(*batch, N)`` (frequency weights: a
        weight of 2 counts a point twice; zero weights contribute nothing).
    init : {"k-means++", "random"} or MixtureSameFamily, default "k-means++"
        k-means++ seeds refined by up to 10 Lloyd iterations (or ``K`` random distinct
        points) on an even subsample of at most 20000 points per batch entry, each point
        given to its nearest seed for the initial M-step; or a mixture whose parameters
        start EM.
    n_init : int, default 1
        Initialisations; the one with the largest final log-likelihood is kept (per
        batch entry).
    max_iter : int, default 100
        EM iterations (M-steps) at most, at least 1.
    tol : float, default 1e-3
        Convergence: the log-likelihood changed by at most ``tol`` times the total
        weight (per-point change, as scikit-learn's ``tol``).
    rng : None, int or numpy.random.Generator
        The seeds' random source (mixstat's ``rng`` convention, SPEC 7).
    device : {None, "cpu", "cuda"}, default None
        Where the EM passes run.  None: ``"cuda"`` when ``x`` is a device array (CuPy,
        numba, a torch CUDA tensor), else ``"cpu"``.  On ``"cuda"`` the E-steps are CUDA
        kernels (the data are copied to the host once for the checks and the seeding,
        and to the GPU once as float64); the M-steps stay on the host, and the fitted
        distribution lives on ``"cuda"``.
    **family_options
        ``reg_covar`` (Normal, LogNormal, StudentT, MultivariateNormal: added to each
        variance, default 1e-6), ``df`` (StudentT: fix the degrees of freedom),
        ``df_init`` (StudentT, default 10), ``total_count`` (Binomial),
        ``n_categories`` (Categorical), ``covariance_type`` (MultivariateNormal:
        ``"full"``, ``"diag"``, ``"spherical"`` or ``"tied"``).

    Returns
    -------
    FitResult
        ``distribution`` (a ``MixtureSameFamily`` of batch shape ``batch``),
        ``log_likelihood``, ``n_iter``, ``converged``, ``bic()``, ``aic()``.

    Raises
    ------
    ValueError
        For NaN or infinite values (naming the first bad row), values outside the
        family's support, fewer points of positive weight than ``n_components``, bad
        weights or shapes.
    TypeError
        For an unknown family, option or argument type.

    Warns
    -----
    ComponentWarning
        When a component became empty (its parameters are kept, its weight is about 0)
        or collapsed (a variance reached ``reg_covar``, a concentration its cap).

    Examples
    --------
    >>> import numpy as np
    >>> import mixstat
    >>> from mixstat.distributions import Poisson
    >>> g = np.random.default_rng(0)
    >>> x = np.concatenate([g.poisson(2.0, 3000), g.poisson(20.0, 1000)])
    >>> fit = mixstat.fit_mixture(x, Poisson, 2, rng=0)
    >>> np.round(np.sort(fit.distribution.component_distribution.rate), 1)
    array([ 2. , 20.1])
    """
    K = _int_arg(n_components, "n_components", 1)
    n_init = _int_arg(n_init, "n_init", 1)
    max_iter = _int_arg(max_iter, "max_iter", 1)
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ValueError(f"fit_mixture: tol must be a non-negative number, got {tol!r}")
    if not (isinstance(init, str) and init in ("k-means++", "random")):
        from .. import distributions as dist

        if not isinstance(init, dist.MixtureSameFamily):
            raise ValueError(f"fit_mixture: init must be 'k-means++', 'random' or a MixtureSameFamily, got {init!r}")
    dev = _device_choice(device, x)
    x, sample_weight = _host_copies(x, sample_weight)
    model = _resolve(component, family_options)
    src = make_source(x, model.event_ndim, sample_weight)
    if src.kind == "chunks":
        _validate(src, model)  # also learns N
    if model.event_ndim and src.event_shape != (model.D,) and not model.gaussian:
        raise ValueError(
            f"fit_mixture: x's event shape {fmt_shape(src.event_shape)} does not match the "
            f"component's {fmt_shape((model.D,))}"
        )
    if model.gaussian:
        if len(src.event_shape) != 1 or (model.D is not None and src.event_shape != (model.D,)):
            raise ValueError(
                f"fit_mixture: x's event shape {fmt_shape(src.event_shape)} does not match the "
                f"MultivariateNormal component's (D,)" + (f" = ({model.D},)" if model.D else "")
            )
        model.D = src.D
    if src.kind != "chunks":
        _validate(src, model)
    tot = _weights_summary(src, K)
    dtype = np.float32 if src.in_dtype == np.float32 else np.float64
    ddata = None
    if dev is not None:
        from ._cuda import DeviceData

        ddata = DeviceData(src)
    em = model.engine(src, K, ddata) if model.gaussian else _Scalar(model, src, K, ddata)
    flags = {"empty": False, "collapsed": False}
    best = None
    gen = None
    pool = None
    for _ in range(n_init if isinstance(init, str) else 1):
        if isinstance(init, str):
            if pool is None:
                pool, pw = _pool(src)
                gen = _generator(rng)
            seeds = (
                lloyd(pool, pw, kmeans_pp(pool, pw, K, gen)) if init == "k-means++" else random_seeds(pool, pw, K, gen)
            )
            params, nk0 = em.initial(seeds)
            dead = nk0 <= 0
            if dead.any():
                # duplicate seeds (fewer distinct values than K): copy the heaviest component
                heavy = np.argmax(nk0, axis=1)
                src_params = {n: a[np.arange(src.B), heavy] for n, a in params.items()}
                for n in params:
                    rep = np.broadcast_to(src_params[n][:, None], params[n].shape)
                    m = dead.reshape(dead.shape + (1,) * (params[n].ndim - 2))
                    params[n] = np.where(m, rep, params[n])
                nk0 = np.where(dead, 1e-3 * tot[:, None] / K, nk0)
            logw = _log_weights(nk0, tot)
        else:
            params, logw = _from_init(init, model, src, K)
        out = _run(em, params, logw, tot, max_iter, tol, flags)
        best = out if best is None else _better(best, out)
    params, logw, _ll, traj, n_iter, converged = best
    if flags["empty"]:
        warnings.warn(
            "fit_mixture: a component became empty (its total responsibility fell below "
            f"{EMPTY_FRACTION:g} of the weight): its parameters were kept and its weight is about 0",
            ComponentWarning,
            stacklevel=2,
        )
    if flags["collapsed"]:
        warnings.warn(
            "fit_mixture: a component collapsed onto (nearly) one value: its variance was held at "
            "reg_covar (or its concentration at its cap)",
            ComponentWarning,
            stacklevel=2,
        )
    distribution = _distribution(model, params, logw, src, K, dtype)
    if dev is not None:
        distribution = distribution.to("cuda")
    bshape = src.batch_shape
    p = (K - 1) + (model.n_free(K) if model.gaussian else K * model.fam.n_free(model.D, model.opts))
    if bshape:
        res = FitResult(
            distribution,
            traj.reshape((traj.shape[0],) + bshape),
            n_iter.reshape(bshape),
            converged.reshape(bshape),
            tot.reshape(bshape),
            p,
        )
    else:
        res = FitResult(distribution, traj[:, 0], int(n_iter[0]), bool(converged[0]), float(tot[0]), p)
    # what select_n_components needs to merge batched fits of several K
    res._state = (model, src, params, logw, dtype, dev, K, traj, n_iter, converged, tot)
    return res


def _merge(fits, pick):
    """One batched :class:`FitResult` from ``fits`` (fits of the same batched data with different
    ``K``): entry ``b`` is ``fits[pick[b]]``'s, its components padded with zero-weight copies of
    its first component up to the largest ``K`` picked (a zero weight contributes exactly
    nothing: the mixture is the same distribution)."""
    st = [f._state for f in fits]
    model, src, dtype, dev = st[0][0], st[0][1], st[0][4], st[0][5]
    B = src.B
    rows = np.arange(B)
    Kmax = max(st[i][6] for i in set(pick.tolist()))
    T = max(len(s[7]) for s in st)
    params, logw, traj = {}, np.full((len(st), B, Kmax), -np.inf), np.empty((len(st), T, B))
    for i, s in enumerate(st):
        K = s[6]
        k = min(K, Kmax)
        logw[i, :, :k] = s[3][:, :k]
        traj[i] = np.concatenate([s[7], np.repeat(s[7][-1:], T - len(s[7]), axis=0)])
        for n, a in s[2].items():
            pad = np.concatenate([a, np.repeat(a[:, :1], max(0, Kmax - K), axis=1)], axis=1)[:, :Kmax]
            params.setdefault(n, np.empty((len(st),) + pad.shape, pad.dtype))[i] = pad
    params = {n: a[pick, rows] for n, a in params.items()}
    distribution = _distribution(model, params, logw[pick, rows], src, Kmax, dtype)
    if dev is not None:
        distribution = distribution.to("cuda")
    bshape = src.batch_shape

    def per_entry(values):
        return np.asarray(values)[pick, rows].reshape(bshape)

    return FitResult(
        distribution,
        traj[pick, :, rows].T.reshape((T,) + bshape),
        per_entry([s[8] for s in st]),
        per_entry([s[9] for s in st]),
        st[0][10].reshape(bshape),
        per_entry([np.broadcast_to(f.n_parameters, (B,)) for f in fits]),
    )


def _host_copies(x, sample_weight):
    """Device arrays among ``x`` and ``sample_weight`` copied to the host (the checks, the
    seeding and the M-steps read the data there)."""
    from .. import _device

    if _device.is_device_array(x):
        x = _device.to_host(x)
    if _device.is_device_array(sample_weight):
        sample_weight = _device.to_host(sample_weight)
    return x, sample_weight


def _device_choice(device, x):
    """None for the CPU; the CUDA kernel module for ``"cuda"`` (``device`` None: the device of
    ``x``).  Raises where CUDA cannot be used, saying why."""
    from .. import _device

    if device is None:
        name = "cuda" if _device.is_device_array(x) else "cpu"
    else:
        name = _device.parse(device)
    if name == "cpu":
        return None
    return _device.require_cuda()


def _better(a, b):
    """Per batch entry, the run with the larger final log-likelihood (``a`` on ties)."""
    take = b[2] > a[2]
    pa, pb = a[0], b[0]
    params = {n: np.where(take.reshape((-1,) + (1,) * (pa[n].ndim - 1)), pb[n], pa[n]) for n in pa}
    logw = np.where(take[:, None], b[1], a[1])
    ll = np.where(take, b[2], a[2])
    T = max(len(a[3]), len(b[3]))

    def pad(t):
        return np.concatenate([t, np.repeat(t[-1:], T - len(t), axis=0)]) if len(t) < T else t

    traj = np.where(take[None, :], pad(b[3]), pad(a[3]))
    return params, logw, ll, traj, np.where(take, b[4], a[4]), np.where(take, b[5], a[5])


def select_n_components(
    x: Any,
    component: type[Distribution] | Distribution,
    candidates: Iterable[int],
    criterion: str = "bic",
    **fit_options: Any,
) -> tuple[FitResult, dict[str, np.ndarray]]:
    """Fit one mixture per candidate number of components; keep the best by BIC or AIC.

    Parameters
    ----------
    x : array_like, numpy.memmap, callable or re-iterable
        As for :func:`fit_mixture`, with or without batch dims (each batch entry
        chooses its own number of components).
    component : type or Distribution
        As for :func:`fit_mixture`.
    candidates : iterable of int
        The numbers of components to try.
    criterion : {"bic", "aic"}, default "bic"
        Lower is better.
    **fit_options
        Passed to :func:`fit_mixture` (``rng``, ``n_init``, family options, ...).

    Returns
    -------
    best : FitResult
        The fit with the lowest criterion (the smallest ``K`` on ties).  For batched
        data, per batch entry: its mixture has as many components as the largest
        ``K`` chosen, the extra ones with weight 0 (copies of its first component, so
        the distribution is that of the chosen ``K``); ``n_iter``, ``converged``,
        ``log_likelihood`` and ``n_parameters`` are the chosen fit's, per entry.
    table : dict
        ``"n_components"``, ``"bic"``, ``"aic"``, ``"log_likelihood"`` and
        ``"n_parameters"``: one NumPy array entry per candidate, in the order given
        (for batched data ``"bic"``, ``"aic"`` and ``"log_likelihood"`` have shape
        ``(len(candidates), *batch)``, and ``"best_n_components"`` gives each entry's
        choice).

    Raises
    ------
    ValueError
        For an empty ``candidates`` or an unknown ``criterion``.

    Examples
    --------
    >>> import numpy as np
    >>> import mixstat
    >>> from mixstat.distributions import Normal
    >>> g = np.random.default_rng(1)
    >>> x = np.concatenate([g.normal(-4, 1, 600), g.normal(3, 0.5, 400)])
    >>> best, table = mixstat.select_n_components(x, Normal, [1, 2, 3, 4], rng=0)
    >>> best.distribution.mixture_distribution.probs.shape
    (2,)
    """
    if criterion not in ("bic", "aic"):
        raise ValueError(f"select_n_components: criterion must be 'bic' or 'aic', got {criterion!r}")
    cands = [_int_arg(k, "candidates", 1) for k in candidates]
    if not cands:
        raise ValueError("select_n_components: candidates is empty")
    fits = [fit_mixture(x, component, k, **fit_options) for k in cands]
    table = {
        "n_components": np.array(cands),
        "bic": np.array([f.bic() for f in fits]),
        "aic": np.array([f.aic() for f in fits]),
        "log_likelihood": np.array([f.final_log_likelihood for f in fits]),
        "n_parameters": np.array([f.n_parameters for f in fits]),
    }
    crit = table[criterion]
    # the lowest criterion, the smallest K on ties (per batch entry)
    order = np.argsort(np.array(cands), kind="stable")
    flat = crit.reshape(len(cands), -1)[order]
    pick = order[np.argmin(flat, axis=0)]
    if crit.ndim == 1:
        return fits[int(pick[0])], table
    table["best_n_components"] = np.array(cands)[pick].reshape(crit.shape[1:])
    return _merge(fits, pick), table
