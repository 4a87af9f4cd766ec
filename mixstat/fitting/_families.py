"""What fitting needs of each family: statistics, M-step, support, free parameters.

One :class:`FitFamily` per family, in :data:`FIT_FAMILIES` (keyed by the façade's
class name).  The per-point statistics are numba functions in
:mod:`mixstat.fitting._kernel` (``SUFF``, used inside the fused E-step); everything
here is NumPy on the ``K x ...`` sums, so importing this module compiles nothing.

The arrays an M-step sees: ``st`` of shape ``(B, K, D, S)`` (the responsibility-
weighted sums of the ``S`` statistics of each of the ``D`` coordinates), ``nk``
``(B, K)`` (the summed responsibilities) and ``old``, the current parameters as a
dict of ``(B, K, D)`` arrays (the statistics of the location families are centred
on the current location).  It returns the new parameters and a ``(B, K)`` mask of
the components that collapsed (a parameter reached the edge of its range and was
clamped; the caller warns).  Components with (almost) no weight are the caller's:
it keeps their old parameters.
"""

from __future__ import annotations

import numpy as np
from scipy import special as sc

__all__ = ["FitFamily", "FIT_FAMILIES", "solve_log_minus_digamma", "inv_bessel_ratio"]

#: clamp of concentration-like parameters (Gamma, VonMises): a component on one value
MAX_CONCENTRATION = 1e10


def _safe(nk):
    """``nk`` with empty entries replaced by 1 (their results are discarded), as ``(B, K, 1)``."""
    return np.where(nk > 0, nk, 1.0)[..., None]


def solve_log_minus_digamma(t, iters=30):
    """``a > 0`` with ``log(a) - digamma(a) = t`` (``t > 0``), elementwise, by Newton from
    Minka's (2002) approximation; ``t`` is clamped so that ``a <= MAX_CONCENTRATION``."""
    t = np.maximum(np.asarray(t, dtype=np.float64), 0.5 / MAX_CONCENTRATION)
    a = (3.0 - t + np.sqrt((t - 3.0) ** 2 + 24.0 * t)) / (12.0 * t)
    for _ in range(iters):
        f = np.log(a) - sc.digamma(a) - t
        fp = 1.0 / a - sc.polygamma(1, a)
        step = f / fp
        new = a - step
        new = np.where(new > 0, new, 0.5 * a)
        done = np.abs(new - a) <= 1e-15 * a
        a = new
        if done.all():
            break
    return np.minimum(a, MAX_CONCENTRATION)


def inv_bessel_ratio(r, iters=30):
    """``kappa`` with ``I1(kappa) / I0(kappa) = r`` for ``0 <= r < 1`` (the von Mises
    maximum-likelihood concentration), by Newton from Banerjee et al.'s (2005)
    approximation; in ``[1e-8, MAX_CONCENTRATION]``."""
    r = np.clip(np.asarray(r, dtype=np.float64), 0.0, 1.0 - 1e-16)
    k = np.maximum(r * (2.0 - r * r) / (1.0 - r * r), 1e-8)
    for _ in range(iters):
        a = sc.i1e(k) / sc.i0e(k)
        fp = 1.0 - a / k - a * a
        new = k - (a - r) / np.maximum(fp, 1e-300)
        new = np.where(new > 0, new, 0.5 * k)
        new = np.minimum(new, 2 * MAX_CONCENTRATION)
        done = np.abs(new - k) <= 1e-14 * k
        k = new
        if done.all():
            break
    return np.clip(k, 1e-8, MAX_CONCENTRATION)


def _is_int(x):
    return np.floor(x) == x


class FitFamily:
    """The fitting hooks of one family (see the module notes).

    Attributes
    ----------
    name : str
        The kernel family (``mixstat.kernels.registry``).
    cls_name : str
        The façade class in :mod:`mixstat.distributions`.
    params : tuple of str
        The façade's constructor arguments that are fitted, in order.
    options : dict
        Family options of :func:`mixstat.fit_mixture` and their defaults.
    support_text : str
        The support, for error messages.
    """

    name = ""
    cls_name = ""
    params: tuple[str, ...] = ()
    options: dict[str, object] = {}
    support_text = "the real line"
    S = 1

    def n_stats(self, opts):
        return self.S

    def support_msg(self, opts):
        return self.support_text

    def bad_rows(self, x, opts):
        """``(B, n)`` mask of the rows of ``x`` ``(B, n, D)`` outside the support (finite already)."""
        return np.zeros(x.shape[:2], dtype=bool)

    def placeholder(self, centres, opts):
        """Parameters ``(B, K, D)`` whose table the initial (hard) pass reads for centring."""
        raise NotImplementedError

    def mstep(self, st, nk, old, opts, init):
        raise NotImplementedError

    def n_free(self, D, opts):
        """Free parameters of one component with ``D`` coordinates."""
        return len(self.params) * D

    def build(self, params, opts, validate=False):
        """The façade over ``params`` (arrays ``(..., K, D)``): batch ``(..., K, D)``."""
        from .. import distributions as dist

        cls = getattr(dist, self.cls_name)
        return cls(
            **{n: params[n] for n in self.params}, **self.fixed(params, opts), validate_args=None if validate else False
        )

    def fixed(self, params, opts):
        return {}

    #: whether the number of categories may be inferred from the data (Categorical)
    infers_categories = False

    def options_from_template(self, base, D, event_ndim, family_options, opts):
        """Fill ``opts`` from a template distribution ``base`` (known parameters that are
        not fitted, such as Binomial's ``total_count``); nothing by default."""

    def check_options(self, opts, D):
        """Raise for invalid family options (after the template's); nothing by default."""

    def extract(self, comp, shape, opts, scalar_event):
        """The fitted parameters of façade ``comp`` (batch ``(..., K)`` for a scalar event, else
        ``(..., K, D)``), as ``(B, K, D)`` arrays."""
        out = {}
        for n in self.params:
            a = np.asarray(getattr(comp, n), np.float64)
            out[n] = np.broadcast_to(a[..., None] if scalar_event else a, shape).copy()
        return out


class _Normal(FitFamily):
    name, cls_name, params = "normal", "Normal", ("loc", "scale")
    options = {"reg_covar": 1e-6}
    S = 2

    def placeholder(self, centres, opts):
        return {"loc": centres.copy(), "scale": np.ones_like(centres)}

    def mstep(self, st, nk, old, opts, init):
        n = _safe(nk)
        md = st[..., 0] / n
        var = st[..., 1] / n - md * md
        reg = opts["reg_covar"]
        collapsed = (var < reg).any(-1) & (nk > 0)
        scale = np.sqrt(np.maximum(var, 0.0) + reg)
        return {"loc": old["loc"] + md, "scale": scale}, collapsed


class _LogNormal(_Normal):
    name, cls_name = "lognormal", "LogNormal"
    support_text = "x > 0"

    def bad_rows(self, x, opts):
        return (x <= 0).any(-1)

    def placeholder(self, centres, opts):
        return {"loc": np.log(centres), "scale": np.ones_like(centres)}


class _StudentT(FitFamily):
    name, cls_name, params = "studentt", "StudentT", ("df", "loc", "scale")
    options = {"reg_covar": 1e-6, "df": None, "df_init": 10.0}
    S = 4

    def placeholder(self, centres, opts):
        # df huge: the latent precisions are 1 (the initial pass is the Normal one)
        return {"df": np.full_like(centres, 1e12), "loc": centres.copy(), "scale": np.ones_like(centres)}

    def mstep(self, st, nk, old, opts, init):
        n = _safe(nk)
        su = np.where(st[..., 0] > 0, st[..., 0], 1.0)
        md = st[..., 1] / su
        var = (st[..., 2] - st[..., 1] * md) / n
        reg = opts["reg_covar"]
        collapsed = (var < reg).any(-1) & (nk > 0)
        scale = np.sqrt(np.maximum(var, 0.0) + reg)
        if opts["df"] is not None:
            df = np.broadcast_to(np.asarray(opts["df"], np.float64), md.shape).copy()
        elif init:
            df = np.full_like(md, float(opts["df_init"]))
        else:
            nu = old["df"]
            c = 1.0 + st[..., 3] / n + sc.digamma((nu + 1.0) / 2.0) - np.log((nu + 1.0) / 2.0)
            # log(h) - digamma(h) = -c with h = df / 2 (the complete-data likelihood of df)
            df = np.clip(2.0 * solve_log_minus_digamma(-c), 1e-3, 1e7)
        return {"df": df, "loc": old["loc"] + md, "scale": scale}, collapsed

    def n_free(self, D, opts):
        return (2 if opts["df"] is not None else 3) * D


class _Gamma(FitFamily):
    name, cls_name, params = "gamma", "Gamma", ("concentration", "rate")
    support_text = "x > 0"
    S = 2

    def bad_rows(self, x, opts):
        return (x <= 0).any(-1)

    def placeholder(self, centres, opts):
        return {"concentration": np.ones_like(centres), "rate": np.ones_like(centres)}

    def mstep(self, st, nk, old, opts, init):
        n = _safe(nk)
        mean = st[..., 0] / n
        mlog = st[..., 1] / n
        with np.errstate(divide="ignore"):
            t = np.log(np.where(mean > 0, mean, 1.0)) - mlog
        a = solve_log_minus_digamma(t)
        collapsed = (a >= MAX_CONCENTRATION).any(-1) & (nk > 0)
        return {"concentration": a, "rate": a / np.where(mean > 0, mean, 1.0)}, collapsed


class _VonMises(FitFamily):
    name, cls_name, params = "vonmises", "VonMises", ("loc", "concentration")
    S = 2

    def placeholder(self, centres, opts):
        return {"loc": centres.copy(), "concentration": np.ones_like(centres)}

    def mstep(self, st, nk, old, opts, init):
        n = _safe(nk)
        c = st[..., 0] / n
        s = st[..., 1] / n
        loc = old["loc"] + np.arctan2(s, c)
        loc = np.arctan2(np.sin(loc), np.cos(loc))  # wrapped to [-pi, pi]
        kappa = inv_bessel_ratio(np.hypot(c, s))
        collapsed = (kappa >= MAX_CONCENTRATION).any(-1) & (nk > 0)
        return {"loc": loc, "concentration": kappa}, collapsed


class _Rate(FitFamily):
    """One-statistic families: the M-step is a function of the weighted mean."""

    S = 1

    def placeholder(self, centres, opts):
        return {self.params[0]: np.full_like(centres, 0.5)}


class _Poisson(_Rate):
    name, cls_name, params = "poisson", "Poisson", ("rate",)
    support_text = "the non-negative integers"

    def bad_rows(self, x, opts):
        return ((x < 0) | ~_is_int(x)).any(-1)

    def mstep(self, st, nk, old, opts, init):
        return {"rate": st[..., 0] / _safe(nk)}, np.zeros(nk.shape, bool)


class _Exponential(_Rate):
    name, cls_name, params = "exponential", "Exponential", ("rate",)
    support_text = "x >= 0"

    def bad_rows(self, x, opts):
        return (x < 0).any(-1)

    def mstep(self, st, nk, old, opts, init):
        mean = st[..., 0] / _safe(nk)
        collapsed = (mean < 1e-300).any(-1) & (nk > 0)
        return {"rate": 1.0 / np.maximum(mean, 1e-300)}, collapsed


class _Geometric(_Rate):
    name, cls_name, params = "geometric", "Geometric", ("probs",)
    support_text = "the non-negative integers"

    def bad_rows(self, x, opts):
        return ((x < 0) | ~_is_int(x)).any(-1)

    def mstep(self, st, nk, old, opts, init):
        return {"probs": 1.0 / (1.0 + st[..., 0] / _safe(nk))}, np.zeros(nk.shape, bool)


class _Bernoulli(_Rate):
    name, cls_name, params = "bernoulli", "Bernoulli", ("probs",)
    support_text = "{0, 1}"

    def bad_rows(self, x, opts):
        return ((x != 0) & (x != 1)).any(-1)

    def mstep(self, st, nk, old, opts, init):
        return {"probs": np.clip(st[..., 0] / _safe(nk), 0.0, 1.0)}, np.zeros(nk.shape, bool)


class _Binomial(_Rate):
    name, cls_name, params = "binomial", "Binomial", ("probs",)
    options = {"total_count": None}

    def _n(self, opts):
        if opts["total_count"] is None:
            raise TypeError(
                "fit_mixture: Binomial needs its known total_count (a template "
                "Binomial(total_count=n, probs=...) or the option total_count=n)"
            )
        return np.asarray(opts["total_count"], np.float64)

    def bad_rows(self, x, opts):
        return ((x < 0) | (x > self._n(opts)) | ~_is_int(x)).any(-1)

    def support_msg(self, opts):
        return f"the integers 0 .. total_count ({opts['total_count']})"

    def mstep(self, st, nk, old, opts, init):
        p = st[..., 0] / (_safe(nk) * np.where(self._n(opts) > 0, self._n(opts), 1.0))
        return {"probs": np.clip(p, 0.0, 1.0)}, np.zeros(nk.shape, bool)

    def fixed(self, params, opts):
        return {"total_count": np.broadcast_to(self._n(opts), params["probs"].shape)}

    def options_from_template(self, base, D, event_ndim, family_options, opts):
        if "total_count" in family_options:
            return
        tc = np.asarray(base.total_count, np.float64)
        tc = tc.reshape(-1, D) if event_ndim else tc.reshape(-1, 1)
        if not (tc == tc[:1]).all():
            raise ValueError("fit_mixture: the template Binomial's total_count must be the same for every component")
        opts["total_count"] = tc[0] if event_ndim else tc[0, 0]

    def check_options(self, opts, D):
        if opts["total_count"] is None:
            self._n(opts)  # raises, naming the option
        tc = np.asarray(opts["total_count"], np.float64)
        if tc.ndim > 1 or (tc.ndim == 1 and tc.shape[0] != D) or not np.all((tc >= 0) & (np.floor(tc) == tc)):
            raise ValueError(
                f"fit_mixture: total_count must be a non-negative integer (or {D} of them), got {opts['total_count']!r}"
            )


class _Categorical(FitFamily):
    name, cls_name, params = "categorical", "Categorical", ("probs",)
    options = {"n_categories": None}
    infers_categories = True

    def options_from_template(self, base, D, event_ndim, family_options, opts):
        if family_options.get("n_categories") is None:
            opts["n_categories"] = int(np.asarray(base.probs).shape[-1])

    def n_stats(self, opts):
        return int(opts["n_categories"])

    def bad_rows(self, x, opts):
        C = int(opts["n_categories"])
        return ((x < 0) | (x >= C) | ~_is_int(x)).any(-1)

    def support_msg(self, opts):
        return f"the category indices 0 .. {int(opts['n_categories']) - 1}"

    def placeholder(self, centres, opts):
        C = int(opts["n_categories"])
        return {"probs": np.full(centres.shape + (C,), 1.0 / C)}

    def mstep(self, st, nk, old, opts, init):
        return {"probs": st / _safe(nk)[..., None]}, np.zeros(nk.shape, bool)

    def n_free(self, D, opts):
        return (int(opts["n_categories"]) - 1) * D

    def extract(self, comp, shape, opts, scalar_event):
        C = int(opts["n_categories"])
        a = np.asarray(comp.probs, np.float64)
        if a.shape[-1] != C:
            raise ValueError(f"fit_mixture: init has {a.shape[-1]} categories, the data {C}")
        return {"probs": np.broadcast_to(a[..., None, :] if scalar_event else a, shape + (C,)).copy()}


#: the fittable scalar families, by façade class name
FIT_FAMILIES = {
    f.cls_name: f
    for f in (
        _Normal(),
        _LogNormal(),
        _StudentT(),
        _Gamma(),
        _VonMises(),
        _Poisson(),
        _Exponential(),
        _Geometric(),
        _Bernoulli(),
        _Binomial(),
        _Categorical(),
    )
}
