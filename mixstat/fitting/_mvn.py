"""MultivariateNormal components: EM on the Gaussian kernels of :mod:`._gaussian`.

The E-step is the batched kernel of :func:`._gaussian.estep_batch` (one fused pass per
chunk for every batch entry at once, statistics centred on the current means), the M-step
:func:`._gaussian.gaussian_mstep` (scikit-learn's, ``covariance_type`` ``"full"``,
``"diag"``, ``"spherical"`` or ``"tied"``, ``reg_covar`` added to the diagonal).
Parameters are kept per batch entry in scikit-learn's layouts with a leading batch
axis: ``means (B, K, D)``, ``cov`` and ``prec`` (``precisions_cholesky_``).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["resolve"]


class _GaussianModel:
    gaussian = True
    event_ndim = 1

    def __init__(self, opts, D):
        self.opts = opts
        self.D = D
        self.fam = None

    @property
    def covariance_type(self):
        return self.opts["covariance_type"]

    def engine(self, src, K, dev=None):
        return _Engine(self, src, K, dev)

    def n_free(self, K):
        D, ct = self.D, self.covariance_type
        tri = D * (D + 1) // 2
        return {"full": K * (D + tri), "diag": K * 2 * D, "spherical": K * (D + 1), "tied": K * D + tri}[ct]

    def _to_type(self, cov):
        """Full covariances ``(B, K, D, D)`` in the layout of ``covariance_type``."""
        ct = self.covariance_type
        if ct == "full":
            return cov
        if ct == "tied":
            return cov.mean(axis=1)
        d = np.diagonal(cov, axis1=-2, axis2=-1)
        return d if ct == "diag" else d.mean(axis=-1)

    def full(self, cov, K):
        """Layout ``covariance_type`` -> full matrices ``(B, K, D, D)``."""
        ct, D = self.covariance_type, self.D
        if ct == "full":
            return cov
        if ct == "tied":
            return np.broadcast_to(cov[:, None], (cov.shape[0], K, D, D)).copy()
        d = cov if ct == "diag" else np.broadcast_to(cov[..., None], cov.shape + (D,))
        return d[..., :, None] * np.eye(D)

    def extract(self, comp, src, K):
        from ._gaussian import precisions_cholesky_from_covariances

        B, D = src.B, self.D
        shape = src.batch_shape + (K, D)
        means = np.broadcast_to(np.asarray(comp.loc, np.float64), shape).reshape(B, K, D).copy()
        cov = np.broadcast_to(np.asarray(comp.covariance_matrix, np.float64), shape + (D,)).reshape(B, K, D, D)
        cov = np.ascontiguousarray(self._to_type(cov))
        prec = np.stack([precisions_cholesky_from_covariances(c, self.covariance_type) for c in cov])
        return {"means": means, "cov": cov, "prec": prec}

    def build(self, params, bshape, K, dtype):
        from .. import distributions as dist

        D = self.D
        cov = self.full(params["cov"], K).reshape(bshape + (K, D, D))
        return dist.MultivariateNormal(
            params["means"].reshape(bshape + (K, D)).astype(dtype), covariance_matrix=cov.astype(dtype)
        )


class _Engine:
    def __init__(self, model, src, K, dev=None):
        self.model, self.src, self.K = model, src, K
        self.dev = dev  # a ._cuda.DeviceData: the EM passes run on the GPU

    def _centre(self, params, logw, b):
        if self.model.covariance_type == "tied":
            w = np.exp(logw[b] - np.max(logw[b]))
            return (w / w.sum()) @ params["means"][b]
        return params["means"][b]

    def estep(self, params, logw, active, centres=None):
        B, K, D = self.src.B, self.K, self.model.D
        ct = self.model.covariance_type
        ll = np.zeros(B)
        nk = np.zeros((B, K))
        sx = np.zeros((B, K, D))
        sxx_shape = {"full": (K, D, D), "tied": (D, D), "diag": (K, D), "spherical": (K, D)}[ct]
        sxx = np.zeros((B,) + sxx_shape)
        cen = np.zeros((B, D) if ct == "tied" else (B, K, D))
        for b in range(B):
            if active[b]:
                cen[b] = (
                    centres[b].mean(axis=0)
                    if centres is not None and ct == "tied"
                    else (centres[b] if centres is not None else self._centre(params, logw, b))
                )
        if self.dev is not None and centres is None:
            ll, nk, sx, sxx = self.dev.sum_over(_device_stats, active, cen, ct, logw, params["means"], params["prec"])
        else:
            ll, nk, sx, sxx = self.src.sum_over(
                _chunk_stats, active, centres, cen, ct, logw, params["means"], params["prec"], (ll, nk, sx, sxx)
            )
        return ll, nk, (sx, sxx, cen)

    def mstep(self, nk, st, old, init, active=None):
        from ._gaussian import gaussian_mstep

        sx, sxx, cen = st
        B, K = nk.shape
        ct = self.model.covariance_type
        means, cov, prec = old["means"].copy(), old["cov"].copy(), old["prec"].copy()
        collapsed = np.zeros((B, K), bool)
        for b in range(B):
            if active is not None and not active[b]:
                continue
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                _, m, c, p = gaussian_mstep(nk[b], sx[b], sxx[b], ct, self.model.opts["reg_covar"], center=cen[b])
            if any(
                "collapsed" in str(r.message) or "positive definite" in str(r.message) or "raised" in str(r.message)
                for r in rec
            ):
                collapsed[b] = True
            means[b], cov[b], prec[b] = m, c, p
        return {"means": means, "cov": cov, "prec": prec}, collapsed

    def select(self, keep, new, old):
        B = keep.shape[0]
        means = np.where(keep[..., None], new["means"], old["means"])
        if self.model.covariance_type == "tied":
            row = keep.any(axis=1).reshape((B,) + (1,) * (new["cov"].ndim - 1))
        else:
            row = keep.reshape(keep.shape + (1,) * (new["cov"].ndim - 2))
        return {
            "means": means,
            "cov": np.where(row, new["cov"], old["cov"]),
            "prec": np.where(row, new["prec"], old["prec"]),
        }

    def initial(self, centres):
        from ._gaussian import precisions_cholesky_from_covariances

        B, K, D = self.src.B, self.K, self.model.D
        ct = self.model.covariance_type
        eye_cov = self.model._to_type(np.broadcast_to(np.eye(D), (B, K, D, D)).copy())
        ph = {
            "means": centres.copy(),
            "cov": eye_cov,
            "prec": np.stack([precisions_cholesky_from_covariances(c, ct) for c in eye_cov]),
        }
        _, nk, st = self.estep(ph, np.zeros((B, K)), np.ones(B, bool), centres)
        params, _ = self.mstep(nk, st, ph, True)
        return params, nk


def _chunk_stats(x, w, active, centres, cen, ct, logw, means, prec, zeros):
    """``(ll, nk, sx, sxx)`` of one chunk ``x`` (B, n, D) (``w`` None: unit weights), for the
    active batch entries (``zeros``: the shapes, all 0): one batched kernel call for every
    entry (the initial nearest-centre pass: NumPy, per entry)."""
    from ._gaussian import estep_batch, prepare_batch, unpack_stats

    if centres is None:
        B, _, D = x.shape
        K = means.shape[1]
        m, U, pd, cst, mode = prepare_batch(logw, means, prec, ct, D)
        C = np.broadcast_to(cen[:, None], (B, K, D)) if ct == "tied" else cen
        out = estep_batch(x, w, m, U, pd, cst, C, active, mode, ct)
        nk, sx, sxx = unpack_stats(out, K, D, ct, mode)
        return out[:, 0].copy(), nk, sx, sxx
    ll, nk, sx, sxx = (z.copy() for z in zeros)
    for b in range(x.shape[0]):
        if not active[b]:
            continue
        wb = np.ones(x.shape[1]) if w is None else w[b]
        r = _hard(x[b], wb, centres[b], cen[b], ct)
        ll[b] += r[0]
        nk[b] += r[1]
        sx[b] += r[2]
        sxx[b] += r[3]
    return ll, nk, sx, sxx


def _device_stats(xd, wd, active, cen, ct, logw, means, prec):
    """:func:`_chunk_stats` of one chunk on the GPU (the CUDA kernel of :mod:`._cuda`)."""
    from . import _cuda
    from ._gaussian import _MODE, _stat_len, prepare_batch, unpack_stats

    B, _, D = xd.shape
    K = means.shape[1]
    m, U, pd, cst, mode = prepare_batch(logw, means, prec, ct, D)
    C = np.broadcast_to(cen[:, None], (B, K, D)) if ct == "tied" else cen
    L = _stat_len(K, D, "diag" if mode == _MODE["diag"] else ct)
    out = _cuda.gaussian_estep(xd, wd, m, U, pd, cst, C, active, mode, L)
    nk, sx, sxx = unpack_stats(out, K, D, ct, mode)
    return out[:, 0].copy(), nk, sx, sxx


def _hard(x, w, centres, cen, ct, rows=1 << 16):
    """Statistics of the nearest-centre assignment (the initialisation), as ``gaussian_estep``'s
    (in pieces of ``rows`` points: bounded temporaries)."""
    if x.shape[0] > rows:
        parts = [_hard(x[i : i + rows], w[i : i + rows], centres, cen, ct, rows) for i in range(0, x.shape[0], rows)]
        return tuple(sum(p[i] for p in parts) for i in range(4))
    K, D = centres.shape
    d2 = ((x[:, None, :] - centres[None]) ** 2).sum(-1)
    lab = np.argmin(d2, axis=1)
    R = np.zeros((x.shape[0], K))
    R[np.arange(x.shape[0]), lab] = w
    nk = R.sum(axis=0)
    if ct == "tied":
        d = x - cen
        sx = R.T @ d
        sxx = (d * w[:, None]).T @ d
    else:
        sx = R.T @ x - nk[:, None] * cen
        if ct == "full":
            sxx = np.empty((K, D, D))
            for k in range(K):
                dk = x - cen[k]
                sxx[k] = (dk * R[:, k : k + 1]).T @ dk
        else:
            sxx = np.stack([R[:, k] @ ((x - cen[k]) ** 2) for k in range(K)])
    return 0.0, nk, sx, sxx


def resolve(template, family_options):
    from ._em import _options
    from ._gaussian import COVARIANCE_TYPES

    opts = _options({"covariance_type": "full", "reg_covar": 1e-6}, family_options, "MultivariateNormal")
    if opts["covariance_type"] not in COVARIANCE_TYPES:
        raise ValueError(
            f"fit_mixture: covariance_type must be one of {COVARIANCE_TYPES}, got {opts['covariance_type']!r}"
        )
    if not float(opts["reg_covar"]) >= 0:
        raise ValueError(f"fit_mixture: reg_covar must be non-negative, got {opts['reg_covar']!r}")
    D = template.event_shape[0] if template is not None else None
    return _GaussianModel(opts, D)
