"""``GaussianMixture``: scikit-learn's estimator on mixstat's fused EM kernels."""

from __future__ import annotations

import numbers
import time
import warnings
from typing import TYPE_CHECKING, Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

try:
    from sklearn.base import BaseEstimator, DensityMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.utils import check_random_state
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as e:  # pragma: no cover - exercised only without scikit-learn
    raise ImportError("mixstat.mixture needs scikit-learn >= 1.6 (pip install 'mixstat[mixture]')") from e

from ..fitting._gaussian import (
    COVARIANCE_TYPES,
    DegenerateComponentWarning,
    first_nonfinite_row,
    gaussian_estep,
    gaussian_mstep,
    gaussian_score,
    precisions_cholesky_from_covariances,
    precisions_from_cholesky,
)
from ._kmeans import kmeans, kmeans_plusplus

if TYPE_CHECKING:
    from ..distributions import MixtureSameFamily

__all__ = ["GaussianMixture", "DegenerateComponentWarning"]


def _is_dask(x: Any) -> bool:
    return type(x).__module__.startswith("dask") and hasattr(x, "__dask_graph__") and hasattr(x, "chunks")


def _block_estep(x, w, lw, means, pc, ct, c):
    """:func:`gaussian_estep` of one block ``x`` (1, n, D) of a dask ``X``."""
    return gaussian_estep(x[0], lw, means, pc, ct, sample_weight=None if w is None else w[0], center=c)


def _block_sum(x, w):
    return (x[0].sum(axis=0) if w is None else w[0] @ x[0],)


_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
_CHUNK = 8192


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture fitted by EM (a drop-in for ``sklearn.mixture.GaussianMixture``).

    Every EM iteration is one fused pass over the data (log-likelihood and
    weighted statistics of every component, accumulated in float64 about the
    current means, reduced in a fixed block order: the same bits at any thread
    count); the M-step runs on the ``K x D x D`` statistics.  See
    ``docs/api/GaussianMixture.md`` for the full reference.

    Parameters
    ----------
    n_components : int, default 1
        The number of mixture components.
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    tol : float, default 1e-3
        Convergence threshold on the change of the lower bound (mean log-likelihood).
    reg_covar : float, default 1e-6
        Added to the diagonal of the covariances.
    max_iter : int, default 100
        The largest number of EM iterations of each start.
    n_init : int, default 1
        The number of starts; the best lower bound is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
        The k-means paths use mixstat's own k-means (NumPy), not scikit-learn's ``KMeans``.
    weights_init, means_init, precisions_init : array-like, optional
        Initial parameters in scikit-learn's layouts.
    random_state : None, int or RandomState
        Seeds the initialisation (scikit-learn's convention).
    warm_start : bool, default False
        Start :meth:`fit` from the last fitted parameters (then ``n_init`` is 1).
    verbose, verbose_interval : int
        scikit-learn's progress messages: their level, and every how many iterations.
    learning_decay, learning_offset : float, defaults 0.6 and 2.0
        Step sizes ``(learning_offset + t) ** -learning_decay`` of :meth:`partial_fit`.

    Attributes
    ----------
    weights_ : ndarray (K,)
    means_ : ndarray (K, D)
    covariances_, precisions_, precisions_cholesky_ : ndarray
        ``(K, D, D)``, ``(D, D)``, ``(K, D)`` or ``(K,)`` by ``covariance_type``.
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
    lower_bounds_ : list of float
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.mixture import GaussianMixture
    >>> X = np.concatenate([np.random.default_rng(0).normal(m, 1.0, (200, 1)) for m in (-4, 4)])
    >>> gm = GaussianMixture(2, random_state=0).fit(X)
    >>> np.round(np.sort(gm.means_[:, 0]))
    array([-4.,  4.])
    """

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        tol: float = 1e-3,
        reg_covar: float = 1e-6,
        max_iter: int = 100,
        n_init: int = 1,
        init_params: str = "kmeans",
        weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        precisions_init: ArrayLike | None = None,
        random_state: int | np.random.RandomState | np.random.Generator | None = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        learning_decay: float = 0.6,
        learning_offset: float = 2.0,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    # ------------------------------------------------------------------------------------------
    # checks

    def _check_hyper(self):
        def integer(name, low):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")

        def real(name, low, strict=False):
            v = getattr(self, name)
            if (
                isinstance(v, bool)
                or not isinstance(v, numbers.Real)
                or not np.isfinite(v)
                or (v <= low if strict else v < low)
            ):
                raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} {low}, got {v!r}")

        integer("n_components", 1)
        integer("max_iter", 0)
        integer("n_init", 1)
        integer("verbose", 0)
        integer("verbose_interval", 1)
        real("tol", 0.0)
        real("reg_covar", 0.0)
        real("learning_offset", 0.0)
        if self.covariance_type not in COVARIANCE_TYPES:
            raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {self.covariance_type!r}")
        if self.init_params not in _INIT_PARAMS:
            raise ValueError(f"init_params must be one of {_INIT_PARAMS}, got {self.init_params!r}")
        d = self.learning_decay
        if isinstance(d, bool) or not isinstance(d, numbers.Real) or not 0.5 < d <= 1.0:
            raise ValueError(f"learning_decay must be in (0.5, 1], got {d!r}")

    def _check_inits(self, D):
        K, ct = self.n_components, self.covariance_type
        out = {}
        if self.weights_init is not None:
            w = np.asarray(self.weights_init, dtype=np.float64)
            if w.shape != (K,):
                raise ValueError(f"weights_init must have shape ({K},), got {w.shape}")
            if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w > 1):
                raise ValueError("weights_init must lie in [0, 1]")
            if abs(1.0 - w.sum()) > 1e-8:
                raise ValueError(f"weights_init must sum to 1, got sum {w.sum()!r}")
            out["weights"] = w
        if self.means_init is not None:
            m = np.asarray(self.means_init, dtype=np.float64)
            if m.shape != (K, D):
                raise ValueError(f"means_init must have shape ({K}, {D}), got {m.shape}")
            if not np.all(np.isfinite(m)):
                raise ValueError("means_init must be finite")
            out["means"] = m
        if self.precisions_init is not None:
            p = np.asarray(self.precisions_init, dtype=np.float64)
            want = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}[ct]
            if p.shape != want:
                raise ValueError(f"precisions_init must have shape {want} for covariance_type={ct!r}, got {p.shape}")
            if not np.all(np.isfinite(p)):
                raise ValueError("precisions_init must be finite")
            if ct in ("full", "tied"):
                mats = p[None] if ct == "tied" else p
                chol = np.empty_like(mats)
                for k, P in enumerate(mats):
                    if not np.allclose(P, P.T):
                        raise ValueError(f"precisions_init: component {k} is not symmetric")
                    try:
                        chol[k] = np.linalg.cholesky(P)  # lower, as scikit-learn
                    except np.linalg.LinAlgError:
                        raise ValueError(f"precisions_init: component {k} is not positive definite") from None
                out["precisions_cholesky"] = chol[0] if ct == "tied" else chol
            else:
                if np.any(p <= 0):
                    raise ValueError("precisions_init must be positive")
                out["precisions_cholesky"] = np.sqrt(p)
        return out

    def _validate_X(self, X: ArrayLike, reset: bool, min_samples: int = 2) -> np.ndarray:
        if _is_dask(X):
            return self._validate_dask_X(X, reset, min_samples)
        Xv: np.ndarray = validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_samples=min_samples,
            ensure_all_finite=False,
        )
        bad = first_nonfinite_row(Xv)
        if bad >= 0:
            raise ValueError(f"X contains NaN or inf in row {bad} (of shape {Xv.shape}): every entry must be finite")
        return Xv

    def _validate_dask_X(self, X: Any, reset: bool, min_samples: int) -> Any:
        """A dask ``X`` checked as :meth:`_validate_X` checks an array (one compute: the finite
        check), with its columns in one chunk; it stays a dask array."""
        import dask

        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features), got a dask array of shape {X.shape}")
        if X.dtype not in (np.float32, np.float64):
            if X.dtype.kind not in "biu":
                raise TypeError(f"X must hold real numbers, got dtype {X.dtype}")
            X = X.astype(np.float64)
        if X.shape[0] < min_samples:
            raise ValueError(
                f"Found array with {X.shape[0]} sample(s) (shape={X.shape}) while a minimum of "
                f"{min_samples} is required."
            )
        validate_data(self, np.zeros((1, X.shape[1]), X.dtype), reset=reset)  # the feature count
        X = X.rechunk({1: -1})
        ok = (X == X).all(axis=1) & (abs(X) < np.inf).all(axis=1)
        all_ok, bad = dask.compute(ok.all(), ok.argmin())
        if not all_ok:
            raise ValueError(
                f"X contains NaN or inf in row {int(bad)} (of shape {X.shape}): every entry must be finite"
            )
        return X

    @staticmethod
    def _check_weight(sample_weight, X):
        N = X.shape[0]
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight)
        if w.ndim == 0:
            w = np.full(N, float(w))
        if w.dtype.kind not in "biuf":
            raise TypeError(f"sample_weight must hold real numbers, got dtype {w.dtype}")
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (N,):
            raise ValueError(f"sample_weight must have shape ({N},) to match X {X.shape}, got {w.shape}")
        bad = np.flatnonzero(~np.isfinite(w) | (w < 0))
        if bad.size:
            raise ValueError(f"sample_weight must be finite and non-negative; entry {bad[0]} is {w[bad[0]]!r}")
        if not w.sum() > 0:
            raise ValueError("sample_weight must not be all zero (its sum must be positive)")
        return w

    # ------------------------------------------------------------------------------------------
    # initialisation

    def _resp_stats(self, X, w, resp_chunk, center):
        """Statistics about ``center`` (D,) of responsibilities given chunk by chunk (NumPy)."""
        N, D = X.shape
        K, ct = self.n_components, self.covariance_type
        nk = np.zeros(K)
        sx = np.zeros((K, D))
        sxx = {"full": np.zeros((K, D, D)), "tied": np.zeros((D, D))}.get(ct, np.zeros((K, D)))
        for n0 in range(0, N, _CHUNK):
            xc = np.asarray(X[n0 : n0 + _CHUNK], dtype=np.float64) - center
            r = resp_chunk(n0, min(N, n0 + _CHUNK))
            pw = np.ones(len(xc)) if w is None else w[n0 : n0 + _CHUNK]
            r = r * pw[:, None]
            nk += r.sum(axis=0)
            sx += r.T @ xc
            if ct == "full":
                for k in range(K):
                    if nk[k] > 0:
                        sxx[k] += (r[:, k, None] * xc).T @ xc
            elif ct == "tied":
                sxx += (pw[:, None] * xc).T @ xc
            else:
                sxx += r.T @ (xc * xc)
        return nk, sx, sxx

    def _label_stats(self, X, w, labels, center):
        """The statistics of one-hot responsibilities given by ``labels`` (N,) (-1: no component)."""
        N, D = X.shape
        K, ct = self.n_components, self.covariance_type
        nk = np.zeros(K)
        sx = np.zeros((K, D))
        sxx = {"full": np.zeros((K, D, D)), "tied": np.zeros((D, D))}.get(ct, np.zeros((K, D)))
        for n0 in range(0, N, _CHUNK):
            xc = np.asarray(X[n0 : n0 + _CHUNK], dtype=np.float64) - center
            pw = np.ones(len(xc)) if w is None else w[n0 : n0 + _CHUNK]
            lab = labels[n0 : n0 + _CHUNK]
            if ct == "tied":
                sxx += (pw[:, None] * xc).T @ xc
            keep = lab >= 0
            if not keep.all():
                xc, pw, lab = xc[keep], pw[keep], lab[keep]
            order = np.argsort(lab, kind="stable")
            xc, pw, lab = xc[order], pw[order], lab[order]
            ends = np.cumsum(np.bincount(lab, minlength=K))
            for k in np.flatnonzero(np.diff(ends, prepend=0)):
                a, b = (ends[k - 1] if k else 0), ends[k]
                rows, wk = xc[a:b], pw[a:b]
                nk[k] += wk.sum()
                sx[k] += wk @ rows
                if ct == "full":
                    sxx[k] += (wk[:, None] * rows).T @ rows
                elif ct != "tied":
                    sxx[k] += wk @ (rows * rows)
        return nk, sx, sxx

    def _initialize_parameters(self, X, w, rng, center):
        N, D = X.shape
        K = self.n_components
        given = self._check_inits(D)
        if not ("weights" in given and "means" in given and "precisions_cholesky" in given):
            ip = self.init_params
            if ip == "kmeans":
                _, labels = kmeans(X, K, rng, sample_weight=w)
                nk, sx, sxx = self._label_stats(X, w, labels, center)
                del labels
            elif ip == "random":
                resp = rng.uniform(size=(N, K))
                resp /= resp.sum(axis=1)[:, None]

                def chunk(a, b):
                    return resp[a:b]

                nk, sx, sxx = self._resp_stats(X, w, chunk, center)
                del resp
            else:
                if ip == "random_from_data":
                    if w is None:  # scikit-learn's draw
                        idx = rng.choice(N, size=K, replace=False)
                    else:  # among the rows of positive weight (fit checked there are K of them)
                        pool = np.flatnonzero(w > 0)
                        idx = pool[rng.choice(pool.size, size=K, replace=False)]
                else:
                    _, idx = kmeans_plusplus(X, K, rng, sample_weight=w)
                labels = np.full(N, -1, dtype=np.int32)  # row idx[k] belongs to component k alone
                labels[np.asarray(idx)] = np.arange(K)
                nk, sx, sxx = self._label_stats(X, w, labels, center)
                del labels
            tot = nk.sum()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DegenerateComponentWarning)
                weights, means, cov, pc = gaussian_mstep(
                    nk, sx, sxx, self.covariance_type, self.reg_covar, center=center
                )
            # scikit-learn divides the initial weights by n_samples
            weights = (nk + 10.0 * np.finfo(np.float64).eps) / tot
            self.covariances_ = cov
        else:
            weights = means = pc = None
            self.covariances_ = None
        self.weights_ = given.get("weights", weights)
        self.means_ = given.get("means", means)
        self.precisions_cholesky_ = given.get("precisions_cholesky", pc)
        if "precisions_cholesky" in given or self.covariances_ is None:
            # covariances from the given precisions (replaced at the first M-step)
            pcg = self.precisions_cholesky_
            if self.covariance_type in ("full", "tied"):
                P = precisions_from_cholesky(pcg, self.covariance_type)
                self.covariances_ = np.linalg.inv(P)
            else:
                self.covariances_ = 1.0 / pcg**2

    # ------------------------------------------------------------------------------------------
    # EM

    def _center(self, c_data):
        return c_data if self.covariance_type == "tied" else self.means_

    def _estep(self, X, w, c_data):
        c = self._center(c_data)
        with np.errstate(divide="ignore"):
            lw = np.log(self.weights_)
        if _is_dask(X):  # per-block statistics, a tree reduction, one compute
            from ..fitting._data import dask_sum

            weights = None if w is None else (lambda lo, hi: w[lo:hi].reshape(1, hi - lo))
            ll, nk, sx, sxx = dask_sum(
                X,
                0,
                _block_estep,
                (lw, self.means_, self.precisions_cholesky_, self.covariance_type, c),
                1,
                X.shape[1],
                weights,
            )
            return ll, (nk, sx, sxx, c)
        ll, nk, sx, sxx = gaussian_estep(
            X, lw, self.means_, self.precisions_cholesky_, self.covariance_type, sample_weight=w, center=c
        )
        return ll, (nk, sx, sxx, c)

    def _mstep(self, stats):
        nk, sx, sxx, c = stats
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = gaussian_mstep(
            nk, sx, sxx, self.covariance_type, self.reg_covar, center=c
        )

    def _get_parameters(self):
        return (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)

    def _set_parameters(self, params):
        self.weights_, self.means_, self.covariances_, self.precisions_cholesky_ = params
        self.precisions_ = precisions_from_cholesky(self.precisions_cholesky_, self.covariance_type)

    @staticmethod
    def _data_center(X, w):
        if _is_dask(X):
            from ..fitting._data import dask_sum

            weights = None if w is None else (lambda lo, hi: w[lo:hi].reshape(1, hi - lo))
            (s,) = dask_sum(X, 0, _block_sum, (), 1, X.shape[1], weights)
            return s / (X.shape[0] if w is None else w.sum())
        s = np.zeros(X.shape[1])
        for n0 in range(0, X.shape[0], _CHUNK):
            xc = np.asarray(X[n0 : n0 + _CHUNK], dtype=np.float64)
            s += xc.sum(axis=0) if w is None else w[n0 : n0 + _CHUNK] @ xc
        return s / (X.shape[0] if w is None else w.sum())

    def fit(self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None) -> Self:
        """Estimate the parameters by EM (``n_init`` starts; the best lower bound is kept).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data (float32 stays float32).
        y : None
            Ignored (scikit-learn's API).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights; an integer weight equals repeating the row.

        Returns
        -------
        GaussianMixture
            The fitted estimator itself.
        """
        self._fit(X, sample_weight)
        return self

    def fit_predict(self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None) -> NDArray[np.int64]:
        """Fit, then return the most probable component of every row of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data (float32 stays float32).
        y : None
            Ignored (scikit-learn's API).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights, as in :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples,)
            Component labels (int64).
        """
        X = self._fit(X, sample_weight)
        return gaussian_score(X, self._log_weights(), self.means_, self.precisions_cholesky_, self.covariance_type)[1]

    def _fit(self, X, sample_weight):
        self._check_hyper()
        X = self._validate_X(X, reset=True)
        N, D = X.shape
        K = self.n_components
        if N < K:
            raise ValueError(f"Expected n_samples >= n_components but got n_components = {K}, n_samples = {N}")
        w = self._check_weight(sample_weight, X)
        wsum = float(N if w is None else w.sum())
        if w is not None and np.count_nonzero(w) < K:
            raise ValueError(
                f"sample_weight: {np.count_nonzero(w)} rows have positive weight, fewer than n_components = {K}"
            )
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        if not do_init and self.means_.shape[1] != D:
            raise ValueError(f"X has {D} features, the warm-started model {self.means_.shape[1]}")
        n_init = self.n_init if do_init else 1
        rng = check_random_state(self.random_state)
        c_data = self._data_center(X, w)
        X_init = None
        if _is_dask(X) and all(v is not None for v in (self.weights_init, self.means_init, self.precisions_init)):
            X_init = X  # the initialisation reads no row
        max_lb = -np.inf
        best = None
        best_iter = 0
        best_lbs = []
        self.converged_ = False
        for init in range(n_init):
            self._verbose_init_beg(init)
            if do_init:
                if _is_dask(X) and X_init is None:  # the initialisation reads every row: in memory
                    X_init = np.asarray(X)
                self._initialize_parameters(X if X_init is None else X_init, w, rng, c_data)
            lb = -np.inf if do_init else self.lower_bound_
            lbs = []
            converged = False
            n_iter = 0
            for n_iter in range(1, self.max_iter + 1):
                prev = lb
                ll, stats = self._estep(X, w, c_data)
                self._mstep(stats)
                lb = ll / wsum
                lbs.append(lb)
                change = lb - prev
                self._verbose_iter_end(n_iter, change)
                if abs(change) < self.tol:
                    converged = True
                    break
            if self.max_iter == 0:
                best, best_iter = self._get_parameters(), 0
                continue
            self._verbose_init_end(lb, converged)
            if lb > max_lb or max_lb == -np.inf:
                max_lb = lb
                best = self._get_parameters()
                best_iter = n_iter
                best_lbs = lbs
                self.converged_ = converged
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init parameters, "
                "or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=3,
            )  # the caller of fit() or fit_predict()
        self._set_parameters(best)
        self.n_iter_ = best_iter
        self.lower_bound_ = max_lb
        self.lower_bounds_ = best_lbs
        for name in ("_online_", "n_steps_"):
            if hasattr(self, name):
                delattr(self, name)
        return X

    # ------------------------------------------------------------------------------------------
    # online EM

    def partial_fit(self, X: ArrayLike, y: object = None, sample_weight: ArrayLike | None = None) -> Self:
        """One step of stepwise online EM on a batch ``X`` (for data that arrive as a stream).

        The running sufficient statistics (per unit weight) are updated as
        ``s <- (1 - g) s + g s(batch)`` with ``g = 1`` for the first batch of an
        unfitted model (initialised from that batch with ``init_params``, like
        :meth:`fit`, with ``n_init=1``) and ``g = (learning_offset + t) **
        -learning_decay`` for the ``t``-th step after it; the parameters are the
        M-step of the running statistics.  A model fitted by :meth:`fit` (or
        made by :meth:`from_distribution`) continues from its parameters as the
        running statistics, with ``t = 1`` for the next batch.  ``lower_bound_``
        is the batch's mean log-likelihood under the parameters before the
        update; ``n_steps_`` counts the steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One batch (float32 stays float32).
        y : None
            Ignored (scikit-learn's API).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights of the batch's rows.

        Returns
        -------
        GaussianMixture
            The updated estimator itself.
        """
        self._check_hyper()
        fitted = hasattr(self, "means_") and self.means_ is not None and hasattr(self, "n_features_in_")
        X = self._validate_X(X, reset=not fitted, min_samples=1)
        N = X.shape[0]
        w = self._check_weight(sample_weight, X)
        wsum = float(N if w is None else w.sum())
        ct = self.covariance_type
        if not fitted:
            K = self.n_components
            if N < K:
                raise ValueError(
                    f"Expected n_samples >= n_components for the first batch but got "
                    f"n_components = {K}, n_samples = {N}"
                )
            self._initialize_parameters(X, w, check_random_state(self.random_state), self._data_center(X, w))
            self._set_parameters(self._get_parameters())
            self.converged_ = False
            self.n_iter_ = 0
            self.lower_bounds_ = []
        if not hasattr(self, "_online_"):
            if fitted:
                self._online_ = self._moments_from_params()
                self.n_steps_ = 1
            else:
                self._online_ = None
                self.n_steps_ = 0
        c_data = self._data_center(X, w)
        ll, (nk, sx, sxx, c) = self._estep(X, w, c_data)
        n2, m2, M2 = _moments(nk / wsum, sx / wsum, sxx / wsum, ct, c)
        if self._online_ is None:
            state = (n2, m2, M2)
        else:
            g = (self.learning_offset + self.n_steps_) ** -self.learning_decay
            state = _combine(self._online_, (n2, m2, M2), g, ct)
        self._online_ = state
        n, m, M = state
        with np.errstate(invalid="ignore", divide="ignore"):
            params = gaussian_mstep(n, np.zeros_like(m), M, ct, self.reg_covar, center=m)
        self._set_parameters(params)
        self.n_steps_ += 1
        self.n_iter_ = self.n_steps_
        self.lower_bound_ = ll / wsum
        self.lower_bounds_ = list(getattr(self, "lower_bounds_", [])) + [self.lower_bound_]
        return self

    def _moments_from_params(self):
        """Running statistics (per unit weight) equivalent to the current parameters."""
        ct = self.covariance_type
        n = np.asarray(self.weights_, dtype=np.float64)
        m = np.asarray(self.means_, dtype=np.float64)
        cov = np.asarray(self.covariances_, dtype=np.float64)
        D = m.shape[1]
        if ct == "full":
            M = n[:, None, None] * (cov - self.reg_covar * np.eye(D))
        elif ct == "tied":
            M = n.sum() * (cov - self.reg_covar * np.eye(D))
        elif ct == "diag":
            M = n[:, None] * (cov - self.reg_covar)
        else:
            M = n[:, None] * np.broadcast_to((cov - self.reg_covar)[:, None], m.shape)
        return n, m, M

    # ------------------------------------------------------------------------------------------
    # prediction

    def _log_weights(self):
        with np.errstate(divide="ignore"):
            return np.log(self.weights_)

    def _score(self, X: ArrayLike, resp: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
        check_is_fitted(self)
        X = self._validate_X(X, reset=False, min_samples=1)
        ll, lab, r = gaussian_score(
            X, self._log_weights(), self.means_, self.precisions_cholesky_, self.covariance_type, responsibilities=resp
        )
        return X, ll, lab, r

    def score_samples(self, X: ArrayLike) -> NDArray[np.floating]:
        """Log-density of every row of ``X`` under the model, shape (n_samples,), in ``X``'s dtype.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data (float32 stays float32).
        """
        X, ll, _, _ = self._score(X)
        return ll.astype(X.dtype, copy=False)

    def score(self, X: ArrayLike, y: object = None) -> float:
        """Mean log-likelihood per row of ``X`` (float).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data (float32 stays float32).
        y : None
            Ignored (scikit-learn's API).
        """
        X, ll, _, _ = self._score(X)
        return float(ll.mean())

    def predict(self, X: ArrayLike) -> NDArray[np.int64]:
        """Most probable component of every row, int64 (n_samples,).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data (float32 stays float32).
        """
        return self._score(X)[2]

    def predict_proba(self, X: ArrayLike) -> NDArray[np.floating]:
        """Posterior probabilities (n_samples, n_components), rows summing to 1, in ``X``'s dtype.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data (float32 stays float32).
        """
        X, _, _, r = self._score(X, resp=True)
        return r.astype(X.dtype, copy=False)

    def sample(self, n_samples: int = 1) -> tuple[NDArray[np.float64], NDArray[np.int_]]:
        """Draw ``n_samples`` points, grouped by component as in scikit-learn.

        The same draws for the same ``random_state``.

        Parameters
        ----------
        n_samples : int, default 1
            The number of points (at least 1).

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The points.
        y : ndarray of shape (n_samples,)
            Their component labels.
        """
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r}. The sampling requires at least one sample."
            )
        D = self.means_.shape[1]
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, self.weights_)
        ct = self.covariance_type
        if ct == "full":
            X = np.vstack(
                [rng.multivariate_normal(m, c, int(s)) for m, c, s in zip(self.means_, self.covariances_, counts)]
            )
        elif ct == "tied":
            X = np.vstack([rng.multivariate_normal(m, self.covariances_, int(s)) for m, s in zip(self.means_, counts)])
        else:
            X = np.vstack(
                [
                    m + rng.standard_normal(size=(s, D)) * np.sqrt(c)
                    for m, c, s in zip(self.means_, self.covariances_, counts)
                ]
            )
        y = np.concatenate([np.full(s, j, dtype=int) for j, s in enumerate(counts)])
        return X, y

    def _n_parameters(self):
        K, D = self.means_.shape
        cov = {"full": K * D * (D + 1) / 2.0, "diag": K * D, "tied": D * (D + 1) / 2.0, "spherical": K}[
            self.covariance_type
        ]
        return int(cov + K * D + K - 1)

    def bic(self, X: ArrayLike) -> float:
        """Bayesian information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data (float32 stays float32).
        """
        X = self._validate_X(X, reset=False, min_samples=1)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * np.log(X.shape[0])

    def aic(self, X: ArrayLike) -> float:
        """Akaike information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data (float32 stays float32).
        """
        X = self._validate_X(X, reset=False, min_samples=1)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()

    # ------------------------------------------------------------------------------------------
    # mixstat distributions

    def to_distribution(self) -> MixtureSameFamily:
        """The fitted mixture as a mixstat ``MixtureSameFamily`` (float64).

        ``full``/``tied``: ``Categorical(weights_)`` over ``MultivariateNormal(means_,
        scale_tril=cholesky(covariances_))`` (tied: the shared matrix broadcast to
        every component); ``diag``/``spherical``: over
        ``Independent(Normal(means_, sqrt(variances)), 1)``.
        """
        check_is_fitted(self)
        from ..distributions import Categorical, Independent, MixtureSameFamily, MultivariateNormal, Normal

        K, D = self.means_.shape
        ct = self.covariance_type
        mix = Categorical(probs=np.asarray(self.weights_, dtype=np.float64))
        m = np.asarray(self.means_, dtype=np.float64)
        cov = np.asarray(self.covariances_, dtype=np.float64)
        comp: MultivariateNormal | Independent
        if ct in ("full", "tied"):
            L = np.linalg.cholesky(np.broadcast_to(cov, (K, D, D)))
            comp = MultivariateNormal(m, scale_tril=L)
        else:
            sd = np.sqrt(cov if ct == "diag" else np.broadcast_to(cov[:, None], (K, D)))
            comp = Independent(Normal(m, np.ascontiguousarray(sd)), 1)
        return MixtureSameFamily(mix, comp)

    @classmethod
    def from_distribution(cls, dist: MixtureSameFamily, **params: Any) -> Self:
        """A fitted estimator from a mixstat ``MixtureSameFamily`` (the inverse of :meth:`to_distribution`).

        Parameters
        ----------
        dist : MixtureSameFamily
            With ``batch_shape == ()``, a ``Categorical`` mixture and
            ``MultivariateNormal`` components (``covariance_type="full"``) or
            ``Independent(Normal, 1)`` ones (``"diag"``).
        **params
            Constructor arguments; ``weights_init``, ``means_init`` and
            ``precisions_init`` are set from ``dist``, so that a later :meth:`fit`
            starts from it.

        Returns
        -------
        GaussianMixture
            Fitted (its attributes are those of ``dist``).
        """
        from ..distributions import Categorical, Independent, MixtureSameFamily, MultivariateNormal, Normal

        if not isinstance(dist, MixtureSameFamily):
            raise TypeError(f"dist must be a MixtureSameFamily, got {type(dist).__name__}")
        if tuple(dist.batch_shape) != ():
            raise ValueError(f"dist must have batch_shape (), got {tuple(dist.batch_shape)}")
        mix, comp = dist.mixture_distribution, dist.component_distribution
        if not isinstance(mix, Categorical):
            raise TypeError(f"dist's mixture must be a Categorical, got {type(mix).__name__}")
        w = np.asarray(mix.probs, dtype=np.float64)
        w = w / w.sum()
        K = w.shape[-1]
        if isinstance(comp, MultivariateNormal):
            ct = "full"
            m = np.broadcast_to(np.asarray(comp.loc, dtype=np.float64), tuple(comp.batch_shape) + comp.loc.shape[-1:])
            cov = np.array(
                np.broadcast_to(np.asarray(comp.covariance_matrix, dtype=np.float64), m.shape + m.shape[-1:])
            )
        elif (
            isinstance(comp, Independent) and isinstance(comp.base_dist, Normal) and comp.reinterpreted_batch_ndims == 1
        ):
            ct = "diag"
            base = comp.base_dist
            shape = np.broadcast_shapes(np.shape(base.loc), np.shape(base.scale))
            m = np.array(np.broadcast_to(np.asarray(base.loc, dtype=np.float64), shape))
            cov = np.array(np.broadcast_to(np.asarray(base.scale, dtype=np.float64), shape)) ** 2
        else:
            raise TypeError(
                f"dist's components must be MultivariateNormal or Independent(Normal, 1), got {type(comp).__name__}"
            )
        if m.shape[0] != K:
            raise ValueError(f"dist has {K} weights and components of batch shape {m.shape[:-1]}")
        m = np.array(m)
        pc = precisions_cholesky_from_covariances(cov, ct)
        prec = precisions_from_cholesky(pc, ct)
        params.setdefault("n_components", K)
        params["covariance_type"] = ct
        params.setdefault("weights_init", w)
        params.setdefault("means_init", m)
        params.setdefault("precisions_init", prec)
        est = cls(**params)
        est._set_parameters((w, m, cov, pc))
        est.n_features_in_ = m.shape[1]
        est.converged_ = False
        est.n_iter_ = 0
        est.lower_bound_ = -np.inf
        est.lower_bounds_ = []
        return est

    # ------------------------------------------------------------------------------------------
    # verbose output (scikit-learn's messages)

    def _verbose_init_beg(self, n_init):
        if self.verbose >= 1:
            print(f"Initialization {n_init}")
            self._init_prev_time = self._iter_prev_time = time.time()

    def _verbose_iter_end(self, n_iter, diff_ll):
        if self.verbose and n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print(f"  Iteration {n_iter}")
            else:
                t = time.time()
                print(f"  Iteration {n_iter}\t time lapse {t - self._iter_prev_time:.5f}s\t ll change {diff_ll:.5f}")
                self._iter_prev_time = t

    def _verbose_init_end(self, lb, converged):
        msg = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {msg}.")
        elif self.verbose >= 2:
            print(f"Initialization {msg}. time lapse {time.time() - self._init_prev_time:.5f}s\t lower bound {lb:.5f}.")


def _moments(nk, sx, sxx, ct, center):
    """``(n, mean, scatter about the mean)`` from statistics about ``center``."""
    K, D = sx.shape
    C = np.broadcast_to(np.asarray(center, dtype=np.float64), (K, D))
    safe = np.where(nk > 0, nk, 1.0)
    d = np.where(nk[:, None] > 0, sx / safe[:, None], 0.0)
    m = C + d
    if ct == "full":
        M = sxx - nk[:, None, None] * d[:, :, None] * d[:, None, :]
    elif ct == "tied":
        M = sxx - np.einsum("k,ki,kj->ij", nk, d, d)
    else:
        M = sxx - nk[:, None] * d * d
    return nk, m, M


def _combine(a, b, g, ct):
    """``(1 - g) a + g b`` of two ``(n, mean, scatter)`` states (Chan's parallel update)."""
    n1, m1, M1 = a
    n2, m2, M2 = b
    w1, w2 = (1.0 - g) * n1, g * n2
    n = w1 + w2
    safe = np.where(n > 0, n, 1.0)
    m = np.where(n[:, None] > 0, (w1[:, None] * m1 + w2[:, None] * m2) / safe[:, None], m1)
    f = w1 * w2 / safe
    dm = m1 - m2
    if ct == "full":
        M = (1.0 - g) * M1 + g * M2 + f[:, None, None] * dm[:, :, None] * dm[:, None, :]
    elif ct == "tied":
        M = (1.0 - g) * M1 + g * M2 + np.einsum("k,ki,kj->ij", f, dm, dm)
    else:
        M = (1.0 - g) * M1 + g * M2 + f[:, None] * dm * dm
    return n, m, M
