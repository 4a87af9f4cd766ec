"""mixstat's CUDA path beside torch and CuPy on one GPU, with the card's floor beside each figure.

    python benchmarks/gpu.py [--dtype float32|float64] [--repeats R] [--sizes-tiny] [--simulator]
                             [--json PATH] [--families NAME ...]

Workloads (sizes as in the design card):
  W1  log_prob, 1-D Normal mixture, shared parameters, N = 1e7 points, K = 16
  W2  sample, the same mixture, N = 1e7 draws
  W3  log_prob, MultivariateNormal components, full covariance, D = 8, K = 16, N = 1e6
  W4  batched small mixtures: batch 1e6, K = 8, one value each, construction included
      (parameters are device arrays; mixstat validates and packs them on the host)
  <family> log_prob / sample, one pair per continuous family of the registry
      (lognormal, halfnormal, laplace, studentt, cauchy, gumbel, gamma, beta, uniform,
      weibull, vonmises, exponential; a name missing from
      ``mixstat.kernels.registry.FAMILIES`` is skipped with a line saying so):
      log_prob of a K = 16 mixture at N = 1e7 points drawn from it, and N = 1e7 draws,
      beside torch.distributions' MixtureSameFamily of the same family on cuda
      (``validate_args=False``).  ``--families`` picks some (none: ``--families``
      alone).  A family whose GPU values disagree with its CPU path, or that
      raises, is reported and the others still run; the exit status is then 1.
      torch's values are compared with mixstat's and the largest relative
      difference is printed beside its time (torch's own approximations, e.g.
      VonMises' Bessel series, are not float64-exact, so a difference there is
      reported, not fatal).

Each figure is the median of repeats after a warm-up (compile), with the GPU
synchronised around each call.  Every peer's values are checked against
mixstat's before it is timed, and mixstat's GPU values against its CPU path on a
slice.  The floor of each workload is the larger of (bytes that must move) /
(measured memory bandwidth) and (exp/log calls) / (measured exp rate): the
bandwidth of a copy kernel and the throughput of an ``exp`` kernel, both
measured here on this card, are printed first.

Without a GPU it prints why and exits 0.  ``--simulator`` runs everything except
the peers at tiny sizes under numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``,
set here before numba is imported): a smoke test of this script, not a timing.
``--sizes-tiny`` divides every size by 1e4 (on a GPU or in the simulator).

``--json PATH`` writes every figure: ``{"card", "dtype", "simulator",
"bandwidth_bytes_per_s", "exp_per_s", "peers", "rows": [{"workload", "who",
"seconds", "units", "unit", "ns_per_unit", "ratio_to_mixstat", "floor_seconds",
"x_floor", "max_rel_diff_vs_mixstat"}], "errors": [{"workload", "error"}],
"skipped": [{"workload", "reason"}]}``, rewritten after every row (a run cut
short keeps what it measured).  Without a GPU it holds ``"available": false``
and the reason.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import statistics
import sys
import time
import traceback

if "--simulator" in sys.argv:  # must precede the first numba import
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mixstat
import mixstat.distributions
from mixstat import _device
from mixstat.distributions import Categorical, MixtureSameFamily, MultivariateNormal, Normal

SIZES = {"W1": 10_000_000, "W2": 10_000_000, "W3": 1_000_000, "W4": 1_000_000, "family": 10_000_000}
UNITS = {"W1": "point", "W2": "draw", "W3": "point", "W4": "batch entry"}

#: the continuous families benchmarked beside W1-W4, in this order
FAMILY_NAMES = (
    "lognormal",
    "halfnormal",
    "laplace",
    "studentt",
    "cauchy",
    "gumbel",
    "gamma",
    "beta",
    "uniform",
    "weibull",
    "vonmises",
    "exponential",
)


def _family_params(rng, K):
    """K components' parameters per family, by the façade's (and torch's) parameter names.

    Ranges as in ``tests/examples/<family>.py``; locations spread so that the
    components overlap only partly (every term of the log-sum-exp matters somewhere).
    """
    loc = rng.uniform(-2.0, 2.0, K) + np.linspace(-6.0, 6.0, K)
    scale = rng.uniform(0.5, 2.0, K)
    return {
        "lognormal": {"loc": rng.uniform(-1.0, 1.0, K), "scale": rng.uniform(0.3, 0.8, K)},
        "halfnormal": {"scale": scale},
        "laplace": {"loc": loc, "scale": scale},
        "studentt": {"df": rng.uniform(3.0, 10.0, K), "loc": loc, "scale": scale},
        "cauchy": {"loc": loc, "scale": scale},
        "gumbel": {"loc": loc, "scale": scale},
        "gamma": {"concentration": rng.uniform(0.5, 4.0, K), "rate": rng.uniform(0.5, 2.0, K)},
        "beta": {"concentration1": rng.uniform(0.8, 4.0, K), "concentration0": rng.uniform(0.8, 4.0, K)},
        "uniform": {"low": rng.uniform(-2.0, 1.0, K), "high": rng.uniform(1.5, 4.0, K)},
        "weibull": {"scale": scale, "concentration": rng.uniform(0.6, 3.0, K)},
        "vonmises": {"loc": rng.uniform(-3.0, 3.0, K), "concentration": rng.uniform(0.5, 4.0, K)},
        "exponential": {"rate": rng.uniform(0.5, 2.0, K)},
    }


#: transcendental calls (exp, log, log1p, cos, pow, ...) per (point, component) term of
#: log_prob, the log-sum-exp's exp included, and per point (the family's pre-computed
#: log x etc. and the final log); per draw of sample (component choice excluded).
#: Counted by hand from the formulas, for the floor only.
FAMILY_COST = {  # name: (per term, per point, per draw)
    "lognormal": (1, 2, 4),
    "halfnormal": (1, 1, 3),
    "laplace": (1, 1, 1),
    "studentt": (2, 1, 6),
    "cauchy": (2, 1, 1),
    "gumbel": (2, 1, 2),
    "gamma": (1, 2, 6),
    "beta": (1, 3, 12),
    "uniform": (1, 1, 0),
    "weibull": (2, 2, 2),
    "vonmises": (2, 1, 6),
    "exponential": (1, 1, 1),
}


# -- timing ------------------------------------------------------------------------
def sync():
    cuda.synchronize()
    for name in ("torch", "cupy"):
        mod = sys.modules.get(name)
        if mod is None:
            continue
        if name == "torch" and mod.cuda.is_available():
            mod.cuda.synchronize()
        if name == "cupy":
            mod.cuda.Device().synchronize()


def timeit(fn, repeats):
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def to_host(x):
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach"):  # torch
        return x.detach().cpu().numpy()
    if hasattr(x, "get"):  # cupy
        return x.get()
    return x.copy_to_host()


# -- the card's floor ---------------------------------------------------------------
cuda = None  # numba.cuda, imported by main() once CUDA is known to work


def _copy(src, dst):
    for i in range(cuda.grid(1), src.shape[0], cuda.gridsize(1)):
        dst[i] = src[i]


def _exps(x, out, reps):
    # four independent chains per thread keep the exp unit busy; exp(-a) stays in (0, 1]
    for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
        a = x[i]
        b = a + 0.25
        c = a + 0.5
        d = a + 0.75
        for _ in range(reps):
            a = math.exp(-a)
            b = math.exp(-b)
            c = math.exp(-c)
            d = math.exp(-d)
        out[i] = a + b + c + d


def measure_floor(dtype, tiny):
    """Copy-kernel bandwidth (bytes/s) and exp throughput (exp/s) of this card, measured."""
    copy, exps = cuda.jit(_copy), cuda.jit(_exps)
    n = 2**12 if tiny else 2**27  # 1 GiB of float64 per array on a GPU
    src = cuda.to_device(np.ones(n, dtype=dtype))
    dst = cuda.device_array_like(src)
    tpb = 8 if tiny else 256
    blocks = 2 if tiny else 4096
    t = timeit(lambda: copy[blocks, tpb](src, dst), 1 if tiny else 5)
    bandwidth = 2 * src.nbytes / t
    m = 2**10 if tiny else 2**22
    reps = 4 if tiny else 256
    x = cuda.to_device(np.linspace(0, 1, m).astype(dtype))
    out = cuda.device_array_like(x)
    t = timeit(lambda: exps[blocks, tpb](x, out, reps), 1 if tiny else 5)
    rate = 4 * m * reps / t
    return bandwidth, rate


def floor(bytes_moved, transcendentals, bandwidth, exp_rate):
    return max(bytes_moved / bandwidth, transcendentals / exp_rate)


# -- workloads ----------------------------------------------------------------------
def w1_problem(K, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (
        rng.dirichlet(np.ones(K)).astype(dtype),
        rng.normal(0, 3, K).astype(dtype),
        rng.uniform(0.5, 2.0, K).astype(dtype),
    )


def w3_problem(K, D, dtype, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(K, D, D))
    cov = A @ np.swapaxes(A, -1, -2) / D + np.eye(D)
    return (rng.dirichlet(np.ones(K)).astype(dtype), rng.normal(0, 2, (K, D)).astype(dtype), cov.astype(dtype))


def peers_available():
    peers = {}
    try:
        import torch

        if torch.cuda.is_available():
            peers["torch"] = torch
    except ImportError:
        pass
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
        peers["cupy"] = cupy
    except Exception:
        pass
    return peers


class Recorder:
    """Every figure of a run, printed as it comes and kept for ``--json`` (rewritten per row)."""

    def __init__(self, path, **meta):
        self.path = path
        self.data = dict(meta, rows=[], errors=[], skipped=[])
        self.flush()

    @property
    def rows(self):
        return self.data["rows"]

    def flush(self):
        if not self.path:
            return
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(_finite(self.data), f, indent=1, allow_nan=False, default=_json_default)
        os.replace(tmp, self.path)

    def report(self, work, who, t, fl, units, unit, diff=None):
        base = next((r["seconds"] for r in self.rows if r["workload"] == work and r["who"].startswith("mixstat")), None)
        self.rows.append(
            {
                "workload": work,
                "who": who,
                "seconds": t,
                "units": units,
                "unit": unit,
                "ns_per_unit": t / units * 1e9 if units else None,
                "ratio_to_mixstat": (t / base if base else 1.0 if who.startswith("mixstat") else None),
                "floor_seconds": fl,
                "x_floor": t / fl if fl > 0 else None,
                "max_rel_diff_vs_mixstat": diff,
            }
        )
        ratio = "" if base is None or who.startswith("mixstat") else f"   {t / base:6.2f} x mixstat"
        agree = "" if diff is None else f"   (values: max rel diff {diff:.1e})"
        print(
            f"{work:21s} {who:28s} {t * 1e3:10.3f} ms   floor {fl * 1e3:8.3f} ms   "
            f"{t / fl if fl > 0 else math.inf:6.1f} x floor   {t / units * 1e9:8.3f} ns/{unit}" + ratio + agree,
            flush=True,
        )
        self.flush()

    def error(self, work, who, exc, fatal=True):
        msg = f"{type(exc).__name__}: {exc}".strip()
        tb = traceback.extract_tb(exc.__traceback__)
        if tb:
            msg += f" (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno})"
        self.data["errors"].append({"workload": work, "who": who, "error": msg, "fatal": fatal})
        print(f"{work:21s} {who:28s} {'FAILED' if fatal else 'not timed'}: {msg}", flush=True)
        self.flush()

    def skip(self, work, reason):
        self.data["skipped"].append({"workload": work, "reason": reason})
        print(f"{work:21s} skipped: {reason}", flush=True)
        self.flush()

    @property
    def failed(self):
        return any(e["fatal"] for e in self.data["errors"])


def _finite(x):
    """``x`` with every non-finite float written as a string ("inf", "nan"): JSON has neither."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, (float, np.floating)) and not math.isfinite(x):
        return str(float(x))
    return x


def _json_default(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    raise TypeError(type(x).__name__)


def _max_rel(a, b):
    """Largest |a - b| / max(|b|, 1) over entries (log-densities cross 0, hence the floor at 1;
    equal infinities and NaN pairs: 0; a non-finite value against another: inf); None if empty."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.size == 0:
        return None
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    fin = np.isfinite(a) & np.isfinite(b)
    if (~same & ~fin).any():
        return math.inf
    if not fin.any():
        return 0.0
    d = np.abs(a[fin] - b[fin]) / np.maximum(np.abs(b[fin]), 1.0)
    return float(np.where(same[fin], 0.0, d).max())


def run(args, rec=None):
    dtype = np.dtype(args.dtype)
    tiny = args.sizes_tiny or args.simulator
    scale = 10_000 if tiny else 1
    sizes = {k: max(v // scale, 8) for k, v in SIZES.items()}
    repeats = 1 if tiny else args.repeats
    peers = {} if args.simulator else peers_available()
    isz = dtype.itemsize
    tname = "float32" if dtype == np.float32 else "float64"

    bandwidth, exp_rate = measure_floor(dtype, tiny)
    card = _device.cuda_status()[1]
    print(f"card: {card}; {tname}")
    print(
        f"measured: copy bandwidth {bandwidth / 1e9:.0f} GB/s, exp {exp_rate / 1e9:.1f} G/s"
        + (" (simulator: meaningless)" if args.simulator else "")
    )
    print("peers: " + (", ".join(peers) if peers else "none installed with a GPU"))
    if rec is None:
        rec = Recorder(None)
    rec.data.update(
        available=True,
        card=card,
        dtype=tname,
        simulator=bool(args.simulator),
        sizes_tiny=bool(tiny),
        repeats=repeats,
        bandwidth_bytes_per_s=bandwidth,
        exp_per_s=exp_rate,
        peers=sorted(peers),
        sizes=sizes,
    )
    rec.flush()

    def report(work, who, t, fl):
        rec.report(work, who, t, fl, sizes[work], UNITS[work])

    try:
        _w1_to_w4(sizes, repeats, peers, dtype, isz, tname, bandwidth, exp_rate, report)
    except Exception as exc:  # the family rows still run; the exit status says it failed
        rec.error("W1-4", "mixstat or a peer", exc)
    names = FAMILY_NAMES if args.families is None else tuple(args.families)
    for name in names:
        family_rows(name, sizes["family"], repeats, peers, dtype, bandwidth, exp_rate, rec)
    return rec


def family_rows(name, N, repeats, peers, dtype, bandwidth, exp_rate, rec, K=16):
    """``<name>.log_prob`` and ``<name>.sample``: a K-component mixture of the family, N points/draws."""
    import zlib

    from mixstat.kernels import registry

    isz = dtype.itemsize
    tname = dtype.name
    tol = dict(rtol=1e-5, atol=1e-6) if isz == 4 else dict(rtol=1e-11, atol=1e-12)
    if name not in {f.name for f in registry.FAMILIES}:
        rec.skip(name, f"no kernel family {name!r} in mixstat.kernels.registry.FAMILIES")
        return
    cls = next(
        (
            c
            for c in vars(mixstat.distributions).values()
            if isinstance(c, type) and issubclass(c, mixstat.distributions.KernelDistribution) and c.family == name
        ),
        None,
    )
    if cls is None:
        rec.skip(name, f"no distribution class of family {name!r} in mixstat.distributions")
        return
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    params = _family_params(rng, K).get(name)
    if params is None:
        rec.skip(name, f"no benchmark parameters for {name!r} in benchmarks/gpu.py")
        return
    names = list(inspect.signature(cls).parameters)
    p = {k: params[k].astype(dtype) for k in names if k in params}
    w = rng.dirichlet(np.ones(K)).astype(dtype)
    per_term, per_point, per_draw = FAMILY_COST.get(name, (1, 1, 1))
    m = min(N, 1000)
    work = f"{name}.log_prob"
    try:
        cpu = MixtureSameFamily(Categorical(probs=w), cls(**p))
    except Exception as exc:
        rec.error(name, "mixstat", exc)
        return
    try:
        gpu = cpu.to("cuda")
        x = np.ascontiguousarray(cpu.sample((N,), rng=1))
        xd = _device.to_device(x)
        got = to_host(gpu.log_prob(xd))
        np.testing.assert_allclose(
            got[:m], cpu.log_prob(x[:m]), equal_nan=True, **tol, err_msg=f"{work}: GPU against CPU"
        )
        fl = floor(2 * N * isz, N * (K * per_term + per_point), bandwidth, exp_rate)
        rec.report(work, "mixstat", timeit(lambda: gpu.log_prob(xd), repeats), fl, N, "point")
    except Exception as exc:
        rec.error(work, "mixstat", exc)
        gpu = None
    torch = peers.get("torch")
    tm = None
    tcls = getattr(torch.distributions, cls.__name__, None) if torch is not None else None
    if torch is not None and tcls is None:
        rec.skip(work + " torch", f"torch.distributions has no {cls.__name__}")
    if gpu is not None and tcls is not None:
        try:
            td, tdt = torch.distributions, getattr(torch, tname)
            tp = {k: torch.tensor(v, dtype=tdt, device="cuda") for k, v in p.items()}
            tm = td.MixtureSameFamily(
                td.Categorical(probs=torch.tensor(w, dtype=tdt, device="cuda"), validate_args=False),
                tcls(**tp, validate_args=False),
                validate_args=False,
            )
            xt = torch.as_tensor(xd, device="cuda")  # zero-copy view of the same device array
            diff = _max_rel(to_host(tm.log_prob(xt))[:m], got[:m])
            rec.report(
                work, f"torch {cls.__name__} mixture", timeit(lambda: tm.log_prob(xt), repeats), fl, N, "point", diff
            )
        except Exception as exc:
            rec.error(work, "torch.distributions", exc, fatal=False)
            tm = None
    work = f"{name}.sample"
    try:
        gpu = cpu.to("cuda")
        s_gpu, i_gpu = gpu.sample((m,), rng=3, return_index=True)
        s_cpu, i_cpu = cpu.sample((m,), rng=3, return_index=True)
        if not np.array_equal(to_host(i_gpu), i_cpu):
            raise AssertionError(f"{work}: GPU and CPU chose different components")
        np.testing.assert_allclose(to_host(s_gpu), s_cpu, **tol, err_msg=f"{work}: GPU against CPU")
        fl = floor(N * (isz + 8), N * per_draw, bandwidth, exp_rate)
        rec.report(work, "mixstat", timeit(lambda: gpu.sample((N,), rng=4), repeats), fl, N, "draw")
    except Exception as exc:
        rec.error(work, "mixstat", exc)
        return
    if tm is not None:
        try:
            rec.report(work, f"torch {cls.__name__} mixture", timeit(lambda: tm.sample((N,)), repeats), fl, N, "draw")
        except Exception as exc:
            rec.error(work, "torch.distributions", exc, fatal=False)


def _w1_to_w4(sizes, repeats, peers, dtype, isz, tname, bandwidth, exp_rate, report):
    # W1 -------------------------------------------------------------------------
    K, N = 16, sizes["W1"]
    w, mu, sd = w1_problem(K, dtype)
    cpu = MixtureSameFamily(Categorical(probs=w), Normal(mu, sd))
    gpu = cpu.to("cuda")
    x = np.random.default_rng(1).normal(0, 4, N).astype(dtype)
    xd = _device.to_device(x)
    got = to_host(gpu.log_prob(xd))
    np.testing.assert_allclose(got[:1000], cpu.log_prob(x[:1000]), rtol=1e-5 if isz == 4 else 1e-12)
    fl = floor(2 * N * isz, N * (K + 1), bandwidth, exp_rate)
    report("W1", "mixstat", timeit(lambda: gpu.log_prob(xd), repeats), fl)
    if "torch" in peers:
        torch = peers["torch"]
        td = torch.distributions
        tdt = getattr(torch, tname)
        tm = td.MixtureSameFamily(
            td.Categorical(probs=torch.tensor(w, dtype=tdt, device="cuda")),
            td.Normal(torch.tensor(mu, dtype=tdt, device="cuda"), torch.tensor(sd, dtype=tdt, device="cuda")),
        )
        xt = torch.as_tensor(xd, device="cuda")  # zero-copy view of the same device array
        np.testing.assert_allclose(to_host(tm.log_prob(xt))[:1000], got[:1000], rtol=1e-4 if isz == 4 else 1e-10)
        report("W1", "torch.distributions", timeit(lambda: tm.log_prob(xt), repeats), fl)
    if "cupy" in peers:
        cp = peers["cupy"]
        from cupyx.scipy.special import logsumexp

        xc = cp.asarray(xd)  # zero-copy
        logw, muc, sdc = cp.log(cp.asarray(w)), cp.asarray(mu), cp.asarray(sd)
        c0 = -cp.log(sdc) - 0.5 * math.log(2 * math.pi)

        def cupy_w1():
            z = (xc[:, None] - muc) / sdc
            return logsumexp(logw + c0 - 0.5 * z * z, axis=1)

        np.testing.assert_allclose(to_host(cupy_w1())[:1000], got[:1000], rtol=1e-4 if isz == 4 else 1e-10)
        report("W1", "cupy (N x K logsumexp)", timeit(cupy_w1, repeats), fl)

    # W2 -------------------------------------------------------------------------
    N = sizes["W2"]
    s_gpu, i_gpu = gpu.sample((min(N, 1000),), rng=3, return_index=True)
    s_cpu, i_cpu = cpu.sample((min(N, 1000),), rng=3, return_index=True)
    assert np.array_equal(to_host(i_gpu), i_cpu), "W2: GPU and CPU chose different components"
    # float32: the simulator's NumPy scalars round some steps to float32 where compiled code keeps float64
    np.testing.assert_allclose(to_host(s_gpu), s_cpu, rtol=1e-5 if isz == 4 else 1e-12, atol=1e-6 if isz == 4 else 0)
    # writes: the draws and the component indices (int64); Box-Muller: one log, sqrt, cos per draw
    fl = floor(N * (isz + 8), N, bandwidth, exp_rate)
    report("W2", "mixstat", timeit(lambda: gpu.sample((N,), rng=4), repeats), fl)
    if "torch" in peers:
        report("W2", "torch.distributions", timeit(lambda: tm.sample((N,)), repeats), fl)
    if "cupy" in peers:
        cumw = cp.cumsum(cp.asarray(w))

        def cupy_w2():
            k = cp.searchsorted(cumw, cp.random.random(N, dtype=tname) * cumw[-1], side="right")
            k = cp.minimum(k, K - 1)
            return muc[k] + sdc[k] * cp.random.standard_normal(N, dtype=tname)

        report("W2", "cupy (choose, then draw)", timeit(cupy_w2, repeats), fl)

    # W3 -------------------------------------------------------------------------
    K, D, N = 16, 8, sizes["W3"]
    w, mu, cov = w3_problem(K, D, dtype)
    cpu3 = MixtureSameFamily(Categorical(probs=w), MultivariateNormal(mu, covariance_matrix=cov))
    gpu3 = cpu3.to("cuda")
    x = np.random.default_rng(2).normal(0, 3, (N, D)).astype(dtype)
    xd = _device.to_device(x)
    got = to_host(gpu3.log_prob(xd))
    np.testing.assert_allclose(got[:500], cpu3.log_prob(x[:500]), rtol=1e-4 if isz == 4 else 1e-11)
    fl = floor(N * (D + 1) * isz, N * (K + 1), bandwidth, exp_rate)
    report("W3", "mixstat", timeit(lambda: gpu3.log_prob(xd), repeats), fl)
    if "torch" in peers:
        tdt = getattr(torch, tname)
        tm3 = td.MixtureSameFamily(
            td.Categorical(probs=torch.tensor(w, dtype=tdt, device="cuda")),
            td.MultivariateNormal(
                torch.tensor(mu, dtype=tdt, device="cuda"),
                covariance_matrix=torch.tensor(cov, dtype=tdt, device="cuda"),
            ),
        )
        xt = torch.as_tensor(xd, device="cuda")
        np.testing.assert_allclose(to_host(tm3.log_prob(xt))[:500], got[:500], rtol=1e-3 if isz == 4 else 1e-9)
        report("W3", "torch.distributions", timeit(lambda: tm3.log_prob(xt), repeats), fl)
    if "cupy" in peers:
        xc = cp.asarray(xd)
        Lc = cp.linalg.cholesky(cp.asarray(cov))
        Wc = cp.linalg.inv(Lc)  # L^{-1}, (K, D, D)
        c3 = cp.log(cp.asarray(w)) - cp.log(cp.diagonal(Lc, axis1=1, axis2=2)).sum(-1) - 0.5 * D * math.log(2 * math.pi)
        mu3 = cp.asarray(mu)

        def cupy_w3():
            y = cp.einsum("kij,nkj->nki", Wc, xc[:, None, :] - mu3)  # (N, K, D) temporary
            return logsumexp(c3 - 0.5 * (y * y).sum(-1), axis=1)

        np.testing.assert_allclose(to_host(cupy_w3())[:500], got[:500], rtol=1e-3 if isz == 4 else 1e-9)
        report("W3", "cupy (einsum, N x K x D)", timeit(cupy_w3, repeats), fl)

    # W4 -------------------------------------------------------------------------
    Bn, K = sizes["W4"], 8
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(Bn, K)).astype(dtype)
    loc = rng.normal(0, 3, (Bn, K)).astype(dtype)
    scale = rng.uniform(0.5, 2, (Bn, K)).astype(dtype)
    val = rng.normal(0, 3, Bn).astype(dtype)
    dl, dloc, dsc, dval = (_device.to_device(a) for a in (logits, loc, scale, val))

    def mixstat_w4():
        m = MixtureSameFamily(Categorical(logits=dl), Normal(dloc, dsc))
        return m.log_prob(dval)

    got = to_host(mixstat_w4())
    ref = MixtureSameFamily(Categorical(logits=logits[:200]), Normal(loc[:200], scale[:200])).log_prob(val[:200])
    np.testing.assert_allclose(got[:200], ref, rtol=1e-5 if isz == 4 else 1e-12)
    fl = floor((3 * K + 2) * Bn * isz, Bn * (2 * K + 1), bandwidth, exp_rate)  # 2K: logits' lse + mixture
    report("W4", "mixstat (build + log_prob)", timeit(mixstat_w4, repeats), fl)
    if "torch" in peers:
        tl, tloc, tsc, tval = (torch.as_tensor(a, device="cuda") for a in (dl, dloc, dsc, dval))

        def torch_w4():
            m = td.MixtureSameFamily(td.Categorical(logits=tl), td.Normal(tloc, tsc))
            return m.log_prob(tval)

        np.testing.assert_allclose(to_host(torch_w4())[:200], got[:200], rtol=1e-4 if isz == 4 else 1e-10)
        report("W4", "torch (build + log_prob)", timeit(torch_w4, repeats), fl)
    if "cupy" in peers:
        cl, cloc, csc, cval = (cp.asarray(a) for a in (dl, dloc, dsc, dval))

        def cupy_w4():
            lw = cl - logsumexp(cl, axis=1, keepdims=True)
            z = (cval[:, None] - cloc) / csc
            return logsumexp(lw - cp.log(csc) - 0.5 * math.log(2 * math.pi) - 0.5 * z * z, axis=1)

        np.testing.assert_allclose(to_host(cupy_w4())[:200], got[:200], rtol=1e-4 if isz == 4 else 1e-10)
        report("W4", "cupy (by hand)", timeit(cupy_w4, repeats), fl)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes-tiny", action="store_true", help="sizes / 1e4")
    ap.add_argument(
        "--simulator", action="store_true", help="tiny sizes under numba's CUDA simulator, no peers (a smoke test)"
    )
    ap.add_argument("--json", metavar="PATH", help="write every figure here (rewritten after each row)")
    ap.add_argument(
        "--families",
        nargs="*",
        metavar="NAME",
        default=None,
        help="family rows to run (default: " + " ".join(FAMILY_NAMES) + "; none if empty)",
    )
    args = ap.parse_args(argv)
    ok, reason = _device.cuda_status()
    if not ok:
        print(
            f"benchmarks/gpu.py: no GPU to benchmark on: {reason}\n"
            "(run with --simulator for a smoke test of this script under numba's CUDA simulator)"
        )
        Recorder(args.json, available=False, reason=reason, dtype=args.dtype)
        return 0
    global cuda
    from numba import cuda

    rec = run(args, Recorder(args.json, available=True))
    n_err = sum(e["fatal"] for e in rec.data["errors"])
    print(
        f"gpu.py: {len(rec.rows)} rows, {n_err} failed checks, {len(rec.data['skipped'])} skipped"
        + (f"; figures in {args.json}" if args.json else ""),
        flush=True,
    )
    return 1 if rec.failed else 0


if __name__ == "__main__":
    sys.exit(main())
