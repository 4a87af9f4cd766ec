"""CPU loops over points, batches and components (``prange`` over flat points).

Each ``make_*`` returns a plain function closing over one family's scalar
functions; :mod:`mixstat._jit` compiles it with the project's options.  Point
``n`` of a flat ``S * B`` range is sample ``s = n // B`` of batch ``b = n % B``.
"""
import importlib
import math

from numba import prange

from .philox import search, uniform


def _family(name):
    return importlib.import_module(f"{__package__}.families.{name}")


def make_log_prob(logpdf):
    def log_prob(x, logw, tab, out):
        B = x.shape[1]
        K = logw.shape[1]
        N = x.shape[0] * B
        for n in prange(N):
            s = n // B
            b = n - s * B
            # one pass, running maximum: no (N, K) temporary
            m = -math.inf
            acc = 0.0
            for k in range(K):
                t = logw[b, k] + logpdf(x, s, b, tab, k)
                if t > m:
                    acc = acc * math.exp(m - t) + 1.0
                    m = t
                elif t == -math.inf:
                    pass
                elif t == m:
                    acc += 1.0
                else:
                    acc += math.exp(t - m)  # NaN propagates here
            out[n] = m + math.log(acc)

    return log_prob


def make_cdf(cdf):
    def mixture_cdf(x, w, tab, out):
        B = x.shape[1]
        K = w.shape[1]
        N = x.shape[0] * B
        for n in prange(N):
            s = n // B
            b = n - s * B
            acc = 0.0
            for k in range(K):
                acc += w[b, k] * cdf(x, s, b, tab, k)  # NaN x gives NaN
            out[n] = min(acc, 1.0)

    return mixture_cdf


def make_sample(draw):
    def sample(cumw, tab, key0, key1, offset, out, index):
        B = cumw.shape[0]
        K = cumw.shape[1]
        N = out.shape[0]
        for n in prange(N):
            g = offset + n
            b = g % B
            k = 0
            if K > 1:
                k = search(cumw, b, uniform(key0, key1, g, 0))
            index[n] = k
            draw(key0, key1, g, tab, b, k, out, n)

    return sample


def make_choose():
    def choose(cumw, key0, key1, offset, index):
        B = cumw.shape[0]
        N = index.shape[0]
        for n in prange(N):
            g = offset + n
            index[n] = search(cumw, g % B, uniform(key0, key1, g, 0))

    return choose


def make(op, family):
    """The uncompiled loop for ``op`` (log_prob, cdf, sample, choose) on ``family``."""
    if op == "choose":
        return make_choose()
    fam = _family(family)
    if op == "log_prob":
        return make_log_prob(fam.logpdf)
    if op == "cdf":
        return make_cdf(fam.cdf)
    if op == "sample":
        return make_sample(fam.draw)
    raise KeyError(op)
