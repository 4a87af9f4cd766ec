"""Fused EM steps for Gaussian mixtures: the E-step kernel and the M-step on its statistics.

Parameters use scikit-learn's layouts for each ``covariance_type``:

============  ======================  ======================================
type          ``covariances``         ``precisions_cholesky`` (``P = U U^T``)
============  ======================  ======================================
``full``      ``(K, D, D)``           ``(K, D, D)``, upper triangular
``tied``      ``(D, D)``              ``(D, D)``, upper triangular
``diag``      ``(K, D)``              ``(K, D)``: ``1 / sqrt(var)``
``spherical`` ``(K,)``                ``(K,)``: ``1 / sqrt(var)``
============  ======================  ======================================

:func:`gaussian_estep` makes one pass over the points (compiled, parallel over
blocks of a fixed size, reduced in block order: the same bits at any thread
count) and returns the weighted log-likelihood and the sufficient statistics;
:func:`gaussian_mstep` turns them into parameters (NumPy, on ``K x D x D``
numbers).  Statistics of successive chunks of the data add up, so both serve
streaming fits.

Numerics: the statistics are accumulated in float64 for float32 and float64
data, about a centre (``center``; the current means is the natural choice), so
that the covariances ``S / n - d d^T`` are formed without cancellation and are
never negative (scikit-learn issue #30382 for float32).  Components that lose
all their points keep their centre as mean and ``reg_covar`` as covariance; a
covariance that is not positive definite after adding ``reg_covar`` (possible
only with ``reg_covar == 0``) has its eigenvalues raised to a floor.  Both
raise :class:`DegenerateComponentWarning`; no parameter is ever NaN.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "gaussian_estep",
    "gaussian_mstep",
    "gaussian_score",
    "precisions_cholesky_from_covariances",
    "precisions_from_cholesky",
    "first_nonfinite_row",
    "DegenerateComponentWarning",
    "COVARIANCE_TYPES",
]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
_MODE = {"full": 0, "tied": 1, "diag": 2, "spherical": 2}
_LOG_2PI = math.log(2.0 * math.pi)
_lock = threading.RLock()
_compiled: dict = {}
#: the E-step's per-block partial sums take at most this many floats (blocks are reduced in
#: groups of ``_GROUP_FLOATS // L`` of them, L the length of one block's statistics; the result
#: does not depend on it: blocks are always added in block order)
_GROUP_FLOATS = 2**21


class DegenerateComponentWarning(UserWarning):
    """A mixture component lost its points, or its covariance collapsed (it is kept: see the notes
    of :mod:`mixstat.fitting._gaussian`)."""


def _cache_dir():
    from .. import _jit

    src = Path(__file__).with_name("_gaussian_kernels.py")
    h = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
    path = os.path.join(_jit.cache_dir(None), "fitting-gaussian-" + h)
    os.makedirs(path, exist_ok=True)
    return path


def _kernel(name, dtype):
    """The compiled kernel ``name`` ("estep" or "score") for data of ``dtype``."""
    key = (name, str(dtype))
    k = _compiled.get(key)
    if k is not None:
        return k
    with _lock:
        k = _compiled.get(key)
        if k is None:
            import numba
            from numba import types

            from .. import _jit
            from . import _gaussian_kernels as gk

            ft = types.float32 if str(dtype) == "float32" else types.float64
            f64 = types.float64
            x = types.Array(ft, 2, "A", readonly=True)
            r1 = types.Array(f64, 1, "A", readonly=True)
            r2 = types.Array(f64, 2, "A", readonly=True)
            r3 = types.Array(f64, 3, "A", readonly=True)
            i64 = types.int64
            if name == "estep":
                x3 = types.Array(ft, 3, "A", readonly=True)
                r4 = types.Array(f64, 4, "A", readonly=True)
                u1 = types.Array(types.uint8, 1, "A", readonly=True)
                sig = types.void(x3, r2, r3, r4, r3, r2, r3, u1, i64, i64, types.Array(f64, 2, "C"))
            else:
                sig = types.void(
                    x,
                    r2,
                    r3,
                    r2,
                    r1,
                    i64,
                    types.Array(f64, 1, "C"),
                    types.Array(types.int64, 1, "C"),
                    types.Array(f64, 2, "A"),
                )
            fn = getattr(gk, name)
            with _jit.compiling_into(_cache_dir()):
                if getattr(fn, "parts", False):  # a kernel of parts (mixstat.kernels.parts)
                    disp = numba.njit([sig.return_type(*sig.args, i64, i64)], **_jit.NJIT_OPTIONS)(fn)
                    k = _jit.Parts(disp, False)
                else:
                    k = numba.njit([sig], parallel=True, **_jit.NJIT_OPTIONS)(fn)
            _compiled[key] = k
    return k


def _call(kernel, *args):
    from .. import _jit

    return _jit.call(kernel, *args)


# ----------------------------------------------------------------------------------------------
# checks and parameter preparation


def _as_data(x, name="x"):
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        if x.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
        x = x.astype(np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D), got shape {x.shape}")
    return x


def first_nonfinite_row(x, chunk=65536):
    """Index of the first row of ``x`` (N, D) with a NaN or infinite entry, or -1 (chunked scan)."""
    for n0 in range(0, x.shape[0], chunk):
        part = x[n0 : n0 + chunk]
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(part.sum(axis=1)).all():  # NaN and inf propagate into the row sums
                continue
        bad = ~np.isfinite(part).all(axis=1)  # exact (a sum may overflow on finite rows)
        if bad.any():
            return n0 + int(np.argmax(bad))
    return -1


def _check_type(covariance_type):
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")


def _prepare(log_weights, means, precisions_cholesky, covariance_type, D):
    """Float64 kernel arguments ``(means, U, pd, cst, mode)`` from scikit-learn's layouts."""
    _check_type(covariance_type)
    means = np.asarray(means, dtype=np.float64)
    if means.ndim != 2 or means.shape[1] != D:
        raise ValueError(f"means must have shape (K, {D}), got shape {means.shape}")
    K = means.shape[0]
    logw = np.asarray(log_weights, dtype=np.float64)
    if logw.shape != (K,):
        raise ValueError(f"log_weights must have shape ({K},) to match means {means.shape}, got {logw.shape}")
    pc = np.asarray(precisions_cholesky, dtype=np.float64)
    want = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K,)}[covariance_type]
    if pc.shape != want:
        raise ValueError(
            f"precisions_cholesky must have shape {want} for covariance_type="
            f"{covariance_type!r} with means {means.shape}, got {pc.shape}"
        )
    if not np.all(np.isfinite(pc)):
        raise ValueError("precisions_cholesky must be finite")
    if not np.all(np.isfinite(means)):
        raise ValueError("means must be finite")
    if np.any(np.isnan(logw)) or np.any(logw == np.inf):
        raise ValueError("log_weights must be finite or -inf")
    if covariance_type in ("full", "tied"):
        pc = _upper_factor(pc)
    diag = np.diagonal(pc, axis1=-2, axis2=-1) if covariance_type in ("full", "tied") else pc
    if not np.all(diag > 0):
        raise ValueError(
            f"precisions_cholesky for covariance_type={covariance_type!r} must have a positive "
            "diagonal (positive entries for diag/spherical)"
        )
    means, U, pd, cst, mode = prepare_batch(logw[None], means[None], pc[None], covariance_type, D)
    return means[0], U[0], pd[0], cst[0], mode


def prepare_batch(log_weights, means, precisions_cholesky, covariance_type, D):
    """Float64 kernel arguments ``(means, U, pd, cst, mode)``, each with a leading batch axis,
    from ``log_weights`` ``(B, K)``, ``means`` ``(B, K, D)`` and ``precisions_cholesky`` in
    scikit-learn's layout per entry (upper triangular factors; checked by the caller)."""
    means = np.asarray(means, dtype=np.float64)
    logw = np.asarray(log_weights, dtype=np.float64)
    pc = np.asarray(precisions_cholesky, dtype=np.float64)
    B, K = means.shape[:2]
    empty4 = np.zeros((B, 0, 0, 0))
    empty3 = np.zeros((B, 0, 0))
    if covariance_type == "full":
        U, pd = pc, empty3
        logdet = np.log(np.diagonal(pc, axis1=-2, axis2=-1)).sum(axis=-1)
    elif covariance_type == "tied":
        U, pd = np.broadcast_to(pc[:, None], (B, K, D, D)), empty3
        logdet = np.broadcast_to(np.log(np.diagonal(pc, axis1=-2, axis2=-1)).sum(axis=-1)[:, None], (B, K))
    elif covariance_type == "diag":
        U, pd = empty4, pc
        logdet = np.log(pc).sum(axis=-1)
    else:
        U, pd = empty4, np.broadcast_to(pc[..., None], (B, K, D))
        logdet = D * np.log(pc)
    with np.errstate(invalid="ignore"):
        cst = logw + (logdet - 0.5 * D * _LOG_2PI)  # -inf for a zero weight
    mode = _MODE[covariance_type]
    if D == 1 and covariance_type in ("full", "tied"):  # one coordinate: the diagonal loops are the same
        U, pd, mode = empty4, np.ascontiguousarray(U[:, :, 0, :]), _MODE["diag"]
    return means, U, pd, cst, mode


def _upper_factor(pc):
    """``pc`` (..., D, D) if upper triangular, else the upper triangular ``U`` with
    ``U U^T = pc pc^T`` (scikit-learn's ``precisions_init`` gives lower factors)."""
    D = pc.shape[-1]
    if not np.any(pc[..., np.arange(D)[:, None] > np.arange(D)[None, :]]):
        return pc
    P = pc @ np.swapaxes(pc, -1, -2)
    J = np.arange(D)[::-1]
    try:
        L = np.linalg.cholesky(P[..., J[:, None], J[None, :]])  # J P J = L L^T
    except np.linalg.LinAlgError:
        raise ValueError("precisions_cholesky: a factor is singular (its precision is not positive definite)") from None
    return L[..., J[:, None], J[None, :]]  # J L J: upper triangular, (J L J)(J L J)^T = P


def _stat_len(K, D, covariance_type):
    T = D * (D + 1) // 2
    ss = {"full": K * T, "tied": T, "diag": K * D, "spherical": K * D}[covariance_type]
    return 1 + K + K * D + ss


def _unpack_tril(packed, D):
    """``(..., T)`` lower triangles packed row by row -> symmetric ``(..., D, D)``."""
    r, c = np.tril_indices(D)
    out = np.zeros(packed.shape[:-1] + (D, D))
    out[..., r, c] = packed
    out[..., c, r] = packed
    return out


# ----------------------------------------------------------------------------------------------
# E-step


def gaussian_estep(x, log_weights, means, precisions_cholesky, covariance_type, sample_weight=None, center=None):
    """One fused pass over ``x``: the weighted log-likelihood and every component's statistics.

    Parameters
    ----------
    x : ndarray of shape (N, D), float32 or float64
        The points (any strides; integers are converted to float64).  They are
        not checked for NaN or infinity (see :func:`first_nonfinite_row`).
    log_weights : ndarray of shape (K,)
        ``log pi_k`` (``-inf`` for a zero weight: the component then gets no mass).
    means : ndarray of shape (K, D)
    precisions_cholesky : ndarray
        scikit-learn's ``precisions_cholesky_`` for ``covariance_type`` (see the module notes).
    covariance_type : {"full", "tied", "diag", "spherical"}
    sample_weight : ndarray of shape (N,), optional
        Non-negative point weights (default 1); a zero weight contributes exactly nothing.
    center : ndarray, optional
        Centre of the statistics: ``(K, D)`` (``(D,)`` for ``"tied"``).  ``None``
        (default): the statistics are raw moments (computed about ``means``, or
        for ``"tied"`` the weighted average of the means, in float64, and shifted
        back).  Passing the current means (``"tied"``: any common point near the
        data) and the same ``center`` to :func:`gaussian_mstep` avoids the
        cancellation of ``E[x x^T] - mu mu^T`` in the M-step.

    Returns
    -------
    loglik_sum : float
        ``sum_n w_n log sum_k pi_k N(x_n | mu_k, Sigma_k)``.
    nk : ndarray (K,)
        ``sum_n w_n r_nk``.
    sx : ndarray (K, D)
        ``sum_n w_n r_nk (x_n - c_k)`` (``c = 0`` when ``center`` is None).
    sxx : ndarray
        ``sum_n w_n r_nk (x_n - c_k)(x_n - c_k)^T`` of shape ``(K, D, D)``
        (full); ``sum_n w_n (x_n - c)(x_n - c)^T`` of shape ``(D, D)`` (tied: the
        total over components); ``sum_n w_n r_nk (x_n - c_k)**2`` of shape
        ``(K, D)`` (diag, spherical).  All outputs are float64.

    Notes
    -----
    The ``N x K`` responsibilities are never stored.  Outputs for successive
    chunks of the data (with the same parameters and ``center``) may be summed.
    """
    x = _as_data(x)
    N, D = x.shape
    means, U, pd, cst, mode = _prepare(log_weights, means, precisions_cholesky, covariance_type, D)
    K = means.shape[0]
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (N,):
            raise ValueError(f"sample_weight must have shape ({N},) to match x {x.shape}, got {w.shape}")
    tied = covariance_type == "tied"
    raw = center is None
    if raw:
        if tied:
            pi = np.exp(np.asarray(log_weights, dtype=np.float64) - np.max(log_weights))
            c = (pi / pi.sum()) @ means
            C = np.broadcast_to(c, (K, D))
        else:
            C = means
    else:
        C = np.asarray(center, dtype=np.float64)
        want = (D,) if tied else (K, D)
        if C.shape != want:
            raise ValueError(f"center must have shape {want} for covariance_type={covariance_type!r}, got {C.shape}")
        if tied:
            C = np.broadcast_to(C, (K, D))
    out = estep_batch(
        x[None],
        None if sample_weight is None else w[None],
        means[None],
        U[None],
        pd[None],
        cst[None],
        np.broadcast_to(C, (K, D))[None],
        None,
        mode,
        covariance_type,
    )
    nk, sx, sxx = unpack_stats(out, K, D, covariance_type, mode)
    ll, nk, sx, sxx = float(out[0, 0]), nk[0], sx[0], sxx[0]
    if raw:  # shift the centred moments back to raw ones
        if covariance_type == "full":
            sxx += (
                C[:, :, None] * sx[:, None, :]
                + sx[:, :, None] * C[:, None, :]
                + nk[:, None, None] * C[:, :, None] * C[:, None, :]
            )
        elif tied:
            c = C[0]
            s = sx.sum(axis=0)
            sxx += np.outer(c, s) + np.outer(s, c) + nk.sum() * np.outer(c, c)
        else:
            sxx += 2.0 * C * sx + nk[:, None] * C * C
        sx += nk[:, None] * C
    return ll, nk, sx, sxx


def estep_batch(x, w, means, U, pd, cst, center, active, mode, covariance_type):
    """The batched kernel (:func:`._gaussian_kernels.estep`): ``out`` ``(B, L)`` float64.

    ``x`` ``(B, N, D)`` float32 or float64, ``w`` ``(B, N)`` or None (unit weights), the
    arguments of :func:`prepare_batch`, ``center`` ``(B, K, D)``, ``active`` ``(B,)`` bool or
    None (every entry).
    """
    B, N, D = x.shape
    K = means.shape[1]
    as_diag = mode == _MODE["diag"]  # also full and tied models of one coordinate
    L = _stat_len(K, D, "diag" if as_diag else covariance_type)
    out = np.zeros((B, L))
    if N and B:
        act = np.ones(B, np.uint8) if active is None else np.asarray(active, np.uint8)
        wk = np.zeros((B, 0)) if w is None else np.asarray(w, np.float64)
        group = int(max(1, min(256, _GROUP_FLOATS // L)))
        _call(_kernel("estep", x.dtype), x, wk, means, U, pd, cst, center, act, mode, group, out)
    return out


def unpack_stats(out, K, D, covariance_type, mode):
    """``(nk (B, K), sx (B, K, D), sxx)`` from the kernel's ``out`` ``(B, L)`` (centred statistics,
    ``sxx`` in the layout of :func:`gaussian_estep` with a leading batch axis)."""
    B = out.shape[0]
    as_diag = mode == _MODE["diag"]
    nk = out[:, 1 : 1 + K].copy()
    sx = out[:, 1 + K : 1 + K + K * D].reshape(B, K, D).copy()
    ss = out[:, 1 + K + K * D :]
    if as_diag and covariance_type == "full":
        sxx = ss.reshape(B, K, 1, 1).copy()
    elif as_diag and covariance_type == "tied":  # per-component sums about the common centre add up
        sxx = ss.sum(axis=1).reshape(B, 1, 1)
    elif covariance_type == "full":
        sxx = _unpack_tril(ss.reshape(B, K, -1), D)
    elif covariance_type == "tied":
        sxx = _unpack_tril(ss, D)
    else:
        sxx = ss.reshape(B, K, D).copy()
    return nk, sx, sxx


def gaussian_score(x, log_weights, means, precisions_cholesky, covariance_type, responsibilities=False):
    """Per-point log-density, most probable component and (optionally) responsibilities.

    Parameters are those of :func:`gaussian_estep`.  Returns ``(log_prob (N,) float64,
    labels (N,) int64, resp)`` with ``resp`` the ``(N, K)`` float64 responsibilities when
    ``responsibilities`` is true, else None.
    """
    x = _as_data(x)
    N, D = x.shape
    means, U, pd, cst, mode = _prepare(log_weights, means, precisions_cholesky, covariance_type, D)
    K = means.shape[0]
    ll = np.empty(N)
    lab = np.empty(N, dtype=np.int64)
    resp = np.empty((N, K)) if responsibilities else np.empty((0, K))
    if N:
        _call(_kernel("score", x.dtype), x, means, U, pd, cst, mode, ll, lab, resp)
    return ll, lab, (resp if responsibilities else None)


# ----------------------------------------------------------------------------------------------
# M-step


def gaussian_mstep(nk, sx, sxx, covariance_type, reg_covar, center=None):
    """Parameters from the statistics of :func:`gaussian_estep` (the EM M-step, as scikit-learn).

    Parameters
    ----------
    nk, sx, sxx : ndarrays
        As returned by :func:`gaussian_estep` (summed over chunks if need be).
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        Non-negative, added to the diagonal of every covariance.
    center : ndarray, optional
        The ``center`` the statistics were computed about (None: raw moments).

    Returns
    -------
    weights : ndarray (K,)
    means : ndarray (K, D)
    covariances : ndarray
        In scikit-learn's layout for ``covariance_type``.
    precisions_cholesky : ndarray
        Same layout (upper triangular factors ``U`` with ``precision = U U^T``).

    Notes
    -----
    As scikit-learn, ``nk + 10 eps`` divides the sums (``eps`` of float64), so an empty
    component gets a (tiny) positive weight, its centre as mean (0 for raw
    statistics) and ``reg_covar`` as variance.  Empty components, covariances
    that collapse onto a point in some coordinate, and covariances repaired to be
    positive definite (only possible with ``reg_covar == 0``) raise
    :class:`DegenerateComponentWarning`.  All outputs are float64 and finite.
    """
    _check_type(covariance_type)
    nk = np.asarray(nk, dtype=np.float64)
    sx = np.asarray(sx, dtype=np.float64)
    sxx = np.asarray(sxx, dtype=np.float64)
    if sx.ndim != 2 or nk.shape != (sx.shape[0],):
        raise ValueError(f"nk (K,) and sx (K, D) do not match: shapes {nk.shape} and {sx.shape}")
    K, D = sx.shape
    want = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K, D)}[covariance_type]
    if sxx.shape != want:
        raise ValueError(f"sxx must have shape {want} for covariance_type={covariance_type!r}, got {sxx.shape}")
    reg_covar = float(reg_covar)
    if not reg_covar >= 0.0:
        raise ValueError(f"reg_covar must be non-negative, got {reg_covar}")
    if center is None:
        C = np.zeros((K, D))
    else:
        C = np.broadcast_to(np.asarray(center, dtype=np.float64), (K, D))
    n = nk + 10.0 * np.finfo(np.float64).eps
    weights = n / n.sum()
    d = sx / n[:, None]
    means = C + d
    empty = np.flatnonzero(nk <= 1e-10 * max(nk.sum(), 1e-300))
    notes = []
    if empty.size:
        notes.append(f"components {empty.tolist()} have no points (kept with covariance reg_covar)")
    # sum r (x - c - d)(x - c - d)^T = S - d sx^T - sx d^T + nk d d^T
    f = 2.0 - nk / n
    if covariance_type == "full":
        cov = (sxx - f[:, None, None] * d[:, :, None] * sx[:, None, :]) / n[:, None, None]
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        diag = np.diagonal(cov, axis1=1, axis2=2)
    elif covariance_type == "tied":
        cov = (sxx - np.einsum("k,ki,kj->ij", n, d, d)) / n.sum()
        cov = 0.5 * (cov + cov.T)
        diag = np.diagonal(cov)[None]
    else:
        cov = (sxx - f[:, None] * d * sx) / n[:, None]
        diag = cov
    scale = float(np.max(diag, initial=0.0))
    collapsed = np.flatnonzero((diag <= 1e-12 * scale).any(axis=-1))
    if covariance_type == "tied":
        collapsed = np.arange(K) if collapsed.size else collapsed
    collapsed = np.setdiff1d(collapsed, empty)
    if collapsed.size:
        notes.append(
            f"components {collapsed.tolist()} collapsed onto a point or subspace "
            f"(a variance below 1e-12 of the largest; reg_covar={reg_covar} keeps them)"
        )
    if covariance_type in ("full", "tied"):
        cov = cov.copy()
        idx = np.arange(D)
        if covariance_type == "full":
            cov[:, idx, idx] += reg_covar
        else:
            cov[idx, idx] += reg_covar
        floor = max(reg_covar, 1e-12 * scale, np.finfo(np.float64).tiny ** 0.5)
        cov, fixed = _make_pd(cov, floor)
        if fixed:
            notes.append(
                f"covariances of components {fixed if covariance_type == 'full' else 'all'} "
                f"were not positive definite; their eigenvalues were raised to {floor:.3g}"
            )
    else:
        floor = max(1e-12 * scale, np.finfo(np.float64).tiny ** 0.5)
        cov = np.maximum(cov, 0.0) + reg_covar
        if covariance_type == "spherical":
            cov = cov.mean(axis=1)
        low = cov < floor
        if np.any(low):
            cov = np.maximum(cov, floor)
            notes.append(f"variances below {floor:.3g} (reg_covar=0) were raised to it")
    if notes:
        warnings.warn("Gaussian mixture M-step: " + "; ".join(notes), DegenerateComponentWarning, stacklevel=2)
    return weights, means, cov, precisions_cholesky_from_covariances(cov, covariance_type)


def _make_pd(cov, floor):
    """``cov`` (…, D, D) with the non-positive-definite matrices' eigenvalues raised to ``floor``."""
    single = cov.ndim == 2
    c = cov[None] if single else cov
    fixed = []
    try:
        np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        c = c.copy()
        for k in range(c.shape[0]):
            try:
                np.linalg.cholesky(c[k])
            except np.linalg.LinAlgError:
                lam, V = np.linalg.eigh(c[k])
                c[k] = (V * np.maximum(lam, floor)) @ V.T
                c[k] = 0.5 * (c[k] + c[k].T)
                fixed.append(k)
    return (c[0] if single else c), fixed


def precisions_cholesky_from_covariances(covariances, covariance_type):
    """scikit-learn's ``precisions_cholesky_`` from ``covariances_`` (float64).

    ``full``/``tied``: ``U = L^{-T}`` with ``L`` the lower Cholesky factor of the
    covariance (upper triangular, ``precision = U U^T``); ``diag``/``spherical``:
    ``1 / sqrt(var)``.  Raises ``ValueError`` naming the component for a
    covariance that is not positive definite.
    """
    from scipy.linalg import solve_triangular

    _check_type(covariance_type)
    cov = np.asarray(covariances, dtype=np.float64)
    if covariance_type in ("full", "tied"):
        single = covariance_type == "tied"
        c = cov[None] if single else cov
        if c.ndim != 3 or c.shape[1] != c.shape[2]:
            raise ValueError(f"covariances must have shape {'(D, D)' if single else '(K, D, D)'}, got {cov.shape}")
        D = c.shape[1]
        try:
            L = np.linalg.cholesky(c)
        except np.linalg.LinAlgError:
            for k in range(c.shape[0]):
                try:
                    np.linalg.cholesky(c[k])
                except np.linalg.LinAlgError:
                    raise ValueError(f"covariances: component {k} is not symmetric positive definite") from None
            raise
        if c.shape[0] <= 4:
            out = np.stack([solve_triangular(Lk, np.eye(D), lower=True).T for Lk in L])
        else:  # one batched solve (K small triangular solves cost more in call overhead)
            out = np.swapaxes(np.tril(np.linalg.solve(L, np.broadcast_to(np.eye(D), L.shape))), 1, 2)
        return out[0] if single else out
    if not np.all(cov > 0):
        raise ValueError(
            "covariances must be positive for covariance_type="
            f"{covariance_type!r}; component {int(np.argmin(cov.reshape(cov.shape[0], -1).min(1)))}"
            " is not"
        )
    return 1.0 / np.sqrt(cov)


def precisions_from_cholesky(precisions_cholesky, covariance_type):
    """``precisions_`` from ``precisions_cholesky_`` (``U U^T``, or squares)."""
    pc = np.asarray(precisions_cholesky)
    if covariance_type == "full":
        return pc @ np.swapaxes(pc, 1, 2)
    if covariance_type == "tied":
        return pc @ pc.T
    return pc**2
