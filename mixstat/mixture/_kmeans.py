"""k-means++ seeding and Lloyd's k-means in NumPy, in bounded memory (chunks of rows).

Used to initialise :class:`mixstat.mixture.GaussianMixture` (``init_params="kmeans"``
and ``"k-means++"``).  The algorithms are those of scikit-learn's ``KMeans``
(greedy k-means++ with ``2 + int(log K)`` local trials; Lloyd iterations until
the centres move less than ``tol`` times the mean variance of the data), with
point weights, but the random draws differ, so the centres are not those of
scikit-learn for the same seed.  Memory beyond the data: a few arrays of ``N``
numbers (distances, int32 labels) and ``CHUNK x K`` scratch.
"""

from __future__ import annotations

import numpy as np

__all__ = ["kmeans_plusplus", "kmeans"]

#: rows per chunk of the distance computations (``_rows(K)``: about 2**21 distances per chunk)
CHUNK = 8192


def _rows(K):
    return max(CHUNK, (1 << 21) // max(K, 1))


def _sqdist(X, C, cn=None):
    """Squared distances ``(len(X), len(C))`` in float64, clipped at 0."""
    X = np.asarray(X, dtype=np.float64)
    if cn is None:
        cn = np.einsum("ij,ij->i", C, C)
    d = np.einsum("ij,ij->i", X, X)[:, None] - 2.0 * (X @ C.T) + cn[None, :]
    return np.maximum(d, 0.0, out=d)


def _closest(X, C, labels=None):
    """Distance of every row to its nearest centre (and, into ``labels``, which centre)."""
    N = X.shape[0]
    out = np.empty(N)
    cn = np.einsum("ij,ij->i", C, C)
    R = _rows(C.shape[0])
    for n0 in range(0, N, R):
        xc = np.asarray(X[n0 : n0 + R], dtype=np.float64)
        d = xc @ (-2.0 * C.T)
        d += cn  # |x - c|^2 - |x|^2: the same argmin
        j = np.argmin(d, axis=1)
        out[n0 : n0 + R] = np.maximum(d[np.arange(d.shape[0]), j] + np.einsum("ij,ij->i", xc, xc), 0.0)
        if labels is not None:
            labels[n0 : n0 + R] = j
    return out


def _weighted(v, w, n0=0, n1=None):
    s = v[n0:n1]
    return s if w is None else s * w[n0:n1]


def _draw_d2(rng, closest, w, n_draws):
    """Indices drawn with probability proportional to ``w * closest`` (chunked cumulative sums)."""
    N = closest.shape[0]
    starts = np.arange(0, N, CHUNK)
    sums = np.array([_weighted(closest, w, a, a + CHUNK).sum() for a in starts])
    cum = np.cumsum(sums)
    total = cum[-1]
    vals = rng.uniform(size=n_draws) * total
    out = np.empty(n_draws, dtype=np.int64)
    for t, v in enumerate(vals):
        c = min(int(np.searchsorted(cum, v)), len(starts) - 1)
        rem = v - (cum[c - 1] if c else 0.0)
        local = np.cumsum(_weighted(closest, w, starts[c], starts[c] + CHUNK))
        out[t] = starts[c] + min(int(np.searchsorted(local, rem)), len(local) - 1)
    return out


def kmeans_plusplus(X, n_clusters, rng, sample_weight=None):
    """Greedy k-means++ seeding.

    Parameters
    ----------
    X : ndarray (N, D)
    n_clusters : int
    rng : numpy.random.RandomState or Generator
    sample_weight : ndarray (N,), optional

    Returns
    -------
    centers : ndarray (n_clusters, D) float64
    indices : ndarray (n_clusters,) int64, the rows chosen
    """
    N, D = X.shape
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, D))
    idx = np.empty(n_clusters, dtype=np.int64)
    p = None if w is None else w / w.sum()
    first = int(rng.choice(N, p=p))
    centers[0] = X[first]
    idx[0] = first
    closest = _closest(X, centers[:1])
    for c in range(1, n_clusters):
        if not np.any(_weighted(closest, w) > 0):  # every point is a centre already
            rest = np.setdiff1d(np.flatnonzero(w > 0) if w is not None else np.arange(N), idx[:c])
            cand = np.array([rest[0] if rest.size else idx[0]])
        else:
            cand = _draw_d2(rng, closest, w, trials)
        Cc = np.asarray(X[cand], dtype=np.float64)
        pot = np.zeros(len(cand))
        for n0 in range(0, N, CHUNK):
            d = np.minimum(_sqdist(X[n0 : n0 + CHUNK], Cc), closest[n0 : n0 + CHUNK, None])
            pot += (d if w is None else d * w[n0 : n0 + CHUNK, None]).sum(axis=0)
        best = int(np.argmin(pot))
        centers[c] = Cc[best]
        idx[c] = cand[best]
        np.minimum(closest, _closest(X, Cc[best : best + 1]), out=closest)
    return centers, idx


def kmeans(X, n_clusters, rng, sample_weight=None, max_iter=300, tol=1e-4):
    """Lloyd's k-means from a k-means++ seeding.

    Returns ``(centers (K, D) float64, labels (N,) int32)``.  An empty cluster is
    moved to the point farthest from its centre.  Stops when the squared shift
    of the centres is at most ``tol`` times the mean variance of the data's
    coordinates, or when no label changes.
    """
    N, D = X.shape
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    centers, _ = kmeans_plusplus(X, n_clusters, rng, sample_weight)
    # tolerance as scikit-learn: tol * mean of the coordinates' variances
    wsum = float(N if w is None else w.sum())
    s1 = np.zeros(D)
    for n0 in range(0, N, CHUNK):
        xc = np.asarray(X[n0 : n0 + CHUNK], dtype=np.float64)
        s1 += xc.sum(0) if w is None else w[n0 : n0 + CHUNK] @ xc
    mu = s1 / wsum
    s2 = np.zeros(D)
    for n0 in range(0, N, CHUNK):
        xc = np.asarray(X[n0 : n0 + CHUNK], dtype=np.float64) - mu
        s2 += (xc * xc).sum(0) if w is None else w[n0 : n0 + CHUNK] @ (xc * xc)
    thresh = tol * float(np.mean(s2 / wsum))
    labels = np.full(N, -1, dtype=np.int32)
    new = np.empty(N, dtype=np.int32)
    for _ in range(max_iter):
        dist = _closest(X, centers, new)
        changed = not np.array_equal(new, labels)
        labels, new = new, labels
        sums = np.zeros(n_clusters * D)
        counts = np.zeros(n_clusters)
        R = _rows(n_clusters)
        cols = np.arange(D)
        for n0 in range(0, N, R):
            lab = labels[n0 : n0 + R]
            xc = np.asarray(X[n0 : n0 + R], dtype=np.float64)
            wc = None if w is None else w[n0 : n0 + R]
            counts += np.bincount(lab, weights=wc, minlength=n_clusters)
            # one bincount over (label, coordinate) pairs
            sums += np.bincount(
                (lab[:, None].astype(np.int64) * D + cols).ravel(),
                weights=(xc if wc is None else xc * wc[:, None]).ravel(),
                minlength=n_clusters * D,
            )
        sums = sums.reshape(n_clusters, D)
        old = centers
        centers = old.copy()
        full = counts > 0
        centers[full] = sums[full] / counts[full, None]
        for k in np.flatnonzero(~full):  # empty cluster: the farthest point
            far = int(np.argmax(_weighted(dist, w)))
            centers[k] = X[far]
            dist[far] = 0.0
        if not changed or float(((centers - old) ** 2).sum()) <= thresh:
            break
    _closest(X, centers, labels)
    return centers, labels
