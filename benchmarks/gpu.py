"""mixstat's CUDA path beside torch and CuPy on one GPU, with the card's floor beside each figure.

    python benchmarks/gpu.py [--dtype float32|float64] [--repeats R] [--sizes-tiny] [--simulator]

Workloads (sizes as in the design card):
  W1  log_prob, 1-D Normal mixture, shared parameters, N = 1e7 points, K = 16
  W2  sample, the same mixture, N = 1e7 draws
  W3  log_prob, MultivariateNormal components, full covariance, D = 8, K = 16, N = 1e6
  W4  batched small mixtures: batch 1e6, K = 8, one value each, construction included
      (parameters are device arrays; mixstat validates and packs them on the host)

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
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

if "--simulator" in sys.argv:  # must precede the first numba import
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import mixstat  # noqa: E402
from mixstat import _device  # noqa: E402
from mixstat.distributions import (Categorical, MixtureSameFamily, MultivariateNormal,  # noqa: E402
                                   Normal)

SIZES = {"W1": 10_000_000, "W2": 10_000_000, "W3": 1_000_000, "W4": 1_000_000}


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
    return (rng.dirichlet(np.ones(K)).astype(dtype), rng.normal(0, 3, K).astype(dtype),
            rng.uniform(0.5, 2.0, K).astype(dtype))


def w3_problem(K, D, dtype, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(K, D, D))
    cov = A @ np.swapaxes(A, -1, -2) / D + np.eye(D)
    return (rng.dirichlet(np.ones(K)).astype(dtype), rng.normal(0, 2, (K, D)).astype(dtype),
            cov.astype(dtype))


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


def run(args):
    dtype = np.dtype(args.dtype)
    tiny = args.sizes_tiny or args.simulator
    scale = 10_000 if tiny else 1
    sizes = {k: max(v // scale, 8) for k, v in SIZES.items()}
    repeats = 1 if tiny else args.repeats
    peers = {} if args.simulator else peers_available()
    isz = dtype.itemsize
    tname = "float32" if dtype == np.float32 else "float64"

    bandwidth, exp_rate = measure_floor(dtype, tiny)
    print(f"card: {_device.cuda_status()[1]}; {tname}")
    print(f"measured: copy bandwidth {bandwidth / 1e9:.0f} GB/s, exp {exp_rate / 1e9:.1f} G/s"
          + (" (simulator: meaningless)" if args.simulator else ""))
    print("peers: " + (", ".join(peers) if peers else "none installed with a GPU"))
    rows = []

    def report(work, who, t, fl):
        rows.append((work, who, t, fl))
        print(f"{work:4s} {who:28s} {t * 1e3:10.3f} ms   floor {fl * 1e3:8.3f} ms   "
              f"{t / fl:6.1f} x floor", flush=True)

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
        tm = td.MixtureSameFamily(td.Categorical(probs=torch.tensor(w, dtype=tdt, device="cuda")),
                                  td.Normal(torch.tensor(mu, dtype=tdt, device="cuda"),
                                            torch.tensor(sd, dtype=tdt, device="cuda")))
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
            td.MultivariateNormal(torch.tensor(mu, dtype=tdt, device="cuda"),
                                  covariance_matrix=torch.tensor(cov, dtype=tdt, device="cuda")))
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
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--sizes-tiny", action="store_true", help="sizes / 1e4")
    ap.add_argument("--simulator", action="store_true",
                    help="tiny sizes under numba's CUDA simulator, no peers (a smoke test)")
    args = ap.parse_args(argv)
    ok, reason = _device.cuda_status()
    if not ok:
        print(f"benchmarks/gpu.py: no GPU to benchmark on: {reason}\n"
              "(run with --simulator for a smoke test of this script under numba's CUDA simulator)")
        return 0
    global cuda
    from numba import cuda

    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
