"""The ``mixstat`` command (also ``python -m mixstat``); see ``docs/cli.md``.

Subcommands: ``sample``, ``log-prob``, ``cdf``, ``icdf``, ``fit``, ``info``, ``bench``
and ``warmup``.  Data are ``.npy`` files, memory-mapped and processed in chunks of
rows (constant memory, so 10**9 values work); outputs are written with
``numpy.lib.format.open_memmap`` into a temporary file beside the target and renamed
over it when complete.  Models are files written by :func:`mixstat.save` (recognised
by their content, whatever their name) or inline JSON (``'{"type": "Normal", ...}'``).

Exit status: 0 on success, 2 for a usage error or a bad model or data file (the
message names the file or the field and what is wrong), 1 for any other failure;
no traceback unless ``MIXSTAT_TRACEBACK=1``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

__all__ = ["main"]


class UsageError(Exception):
    """A bad argument, model or data file: exit status 2, the message alone."""


# -- argument types ----------------------------------------------------------------------
def _count(text):
    """A non-negative integer given as ``1000000``, ``1e6`` or ``1_000_000``."""
    s = str(text).strip().replace("_", "")
    try:
        n = int(s)
    except ValueError:
        try:
            f = float(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(f) or not f.is_integer():
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        n = int(f)
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return n


def _positive(text):
    n = _count(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return n


# -- the parser ----------------------------------------------------------------------------
def _parser(prog):
    ap = argparse.ArgumentParser(
        prog=prog, description="mixstat: finite mixtures from the command line (see docs/cli.md)"
    )
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--threads", type=_positive, default=None, help="numba threads (default: all, or NUMBA_NUM_THREADS)"
    )
    common.add_argument(
        "--dtype",
        choices=["float32", "float64"],
        default=None,
        help="compute in this dtype (the model and the data are cast; default: as stored)",
    )
    common.add_argument(
        "--no-progress", action="store_true", help="no progress bar (also off when stdout or stderr is not a terminal)"
    )

    model_help = "a model file written by mixstat.save (any name), or inline JSON"
    chunk = argparse.ArgumentParser(add_help=False)
    chunk.add_argument(
        "--chunk", type=_positive, default=None, help="rows per chunk (default: about 8 million values per chunk)"
    )

    s = sub.add_parser(
        "sample",
        parents=[common, chunk],
        help="draw samples into a .npy file",
        description="Draw N samples of MODEL into OUT.npy, chunk by chunk; the bits equal "
        "load(MODEL).sample((N,), rng=SEED).",
    )
    s.add_argument("model", metavar="MODEL", help=model_help)
    s.add_argument("-n", type=_count, required=True, metavar="N", help="number of samples (1e9 works)")
    s.add_argument("-o", "--output", required=True, metavar="OUT.npy")
    s.add_argument("--seed", type=_count, default=None, help="the seed (rng=SEED); default: a fresh one, printed")

    for name, what in (
        ("log-prob", "log-density (log-mass)"),
        ("cdf", "cdf"),
        ("icdf", "quantile function (DATA holds probabilities)"),
    ):
        p = sub.add_parser(
            name,
            parents=[common, chunk],
            help=f"the {what} of MODEL at DATA.npy",
            description=f"Write the {what} of MODEL at the values of DATA.npy to OUT.npy "
            "(DATA has shape (N, ..., *batch_shape, *event_shape), broadcast "
            "against the model's batch).",
        )
        p.add_argument("model", metavar="MODEL", help=model_help)
        p.add_argument("data", metavar="DATA.npy")
        p.add_argument("-o", "--output", required=True, metavar="OUT.npy")

    f = sub.add_parser(
        "fit",
        parents=[common],
        help="fit a mixture to DATA.npy by EM",
        description="Fit a K-component mixture to DATA.npy (shape (N,) or (N, D)) with "
        "mixstat.fit_mixture; print its log-likelihood and BIC; save it.",
    )
    f.add_argument("data", metavar="DATA.npy")
    f.add_argument("-k", "--components", type=_positive, required=True, metavar="K")
    f.add_argument("--family", default="normal", help="component family (default: normal)")
    f.add_argument(
        "--covariance",
        choices=["full", "diag", "spherical", "tied"],
        default="full",
        help="covariance of a multivariate normal component (D > 1; default: full)",
    )
    f.add_argument("-o", "--output", required=True, metavar="MODEL", help="where to save the fitted model")
    f.add_argument("--seed", type=_count, default=0, help="the initialisation's seed (default: 0)")
    f.add_argument("--max-iter", type=_positive, default=100)
    f.add_argument("--tol", type=float, default=1e-3)
    f.add_argument("--n-init", type=_positive, default=1)

    i = sub.add_parser("info", parents=[common], help="shapes, moments and quantiles of MODEL")
    i.add_argument("model", metavar="MODEL", help=model_help)
    i.add_argument(
        "--samples",
        type=_positive,
        default=100_000,
        help="samples for estimated quantiles where there is no icdf (default: 1e5)",
    )
    i.add_argument("--seed", type=_count, default=0)

    b = sub.add_parser("bench", parents=[common], help="time log_prob and sample on MODEL")
    b.add_argument("model", metavar="MODEL", help=model_help)
    b.add_argument("-n", type=_positive, default=1_000_000, metavar="N", help="rows per timed call (default: 1e6)")
    b.add_argument("--repeats", type=_positive, default=3)

    w = sub.add_parser("warmup", help="compile the CPU kernels into the on-disk cache")
    w.add_argument("--family", nargs="*", default=None, help="families (default: all)")
    w.add_argument("--dtype", nargs="*", default=["float64", "float32"], choices=["float64", "float32"])
    w.add_argument("--jobs", type=int, default=None, help="processes (default: the CPU count)")
    w.add_argument("--skip-op", nargs="*", default=None, help="operations whose kernels are not compiled")
    w.add_argument("--op", nargs="*", default=None, help="only these operations' kernels (default: every operation's)")
    w.add_argument(
        "--gufuncs",
        nargs="*",
        default=None,
        metavar="NAME",
        help="also build the gufuncs of mixstat.gufuncs: those named, or (no name) every one of the families",
    )
    return ap


# -- progress ------------------------------------------------------------------------------
class _Progress:
    """tqdm where it is installed and both stdout and stderr are terminals; a plain
    percentage on stderr without tqdm; nothing otherwise."""

    def __init__(self, total, desc, enabled):
        self.bar = None
        self.plain = False
        self.total, self.done, self.desc = total, 0, desc
        if not (enabled and total and sys.stderr.isatty() and sys.stdout.isatty()):
            return
        try:
            from tqdm import tqdm
        except ImportError:
            self.plain = True
            return
        self.bar = tqdm(total=total, desc=desc, unit=" rows", unit_scale=True, file=sys.stderr, dynamic_ncols=True)

    def update(self, n):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.plain:
            sys.stderr.write(f"\r{self.desc}: {100.0 * self.done / self.total:5.1f}%")
            sys.stderr.flush()

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.plain:
            sys.stderr.write("\n")


# -- models and data -------------------------------------------------------------------------
def _model(arg, dtype=None):
    """The distribution of MODEL (a file, or inline JSON), cast to ``dtype`` when given."""
    from . import io
    from .distributions import _serial, from_dict

    if os.path.isfile(arg):
        try:
            dist = io.load(arg)
        except ValueError as exc:
            raise UsageError(f"model {exc}") from None
        except OSError as exc:
            raise UsageError(f"model {arg}: {exc.strerror or exc}") from None
    elif arg.lstrip().startswith("{"):
        try:
            dist = io.loads(arg, "(inline JSON)")
        except ValueError as exc:
            raise UsageError(f"model {exc}") from None
    else:
        what = "is a folder" if os.path.isdir(arg) else "no such file"
        raise UsageError(f"model {arg}: {what} (and not inline JSON)")
    if dtype is not None and np.dtype(dist.dtype) != np.dtype(dtype):
        try:
            dist = from_dict(_serial.cast_dict(dist.to_dict(), dtype))
        except ValueError as exc:
            raise UsageError(f"model {arg}: cannot be cast to {dtype}: {exc}") from None
    return dist


def _data(path):
    """DATA.npy memory-mapped (read-only)."""
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as exc:
        raise UsageError(f"data {path}: {exc.strerror or exc}") from None
    if magic != b"\x93NUMPY":
        raise UsageError(f"data {path}: not a .npy file (NumPy's format, as written by numpy.save)")
    try:
        x = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise UsageError(f"data {path}: cannot be read: {exc}") from None
    except OSError as exc:
        raise UsageError(f"data {path}: {exc.strerror or exc}") from None
    if x.dtype.kind not in "biuf":
        raise UsageError(f"data {path}: dtype {x.dtype} is not a real number type")
    return x


def _fmt(shape):
    from ._array import fmt_shape

    return fmt_shape(shape)


def _rows(row_values, chunk):
    """Rows per chunk: ``--chunk`` or about 2**23 values."""
    return chunk or max(1, (1 << 23) // max(1, row_values))


def _output(path):
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"output {path}: the folder {folder} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"output {path}: is a folder")
    return path


class _Out:
    """An ``open_memmap`` in a temporary file beside ``path``, renamed over it by :meth:`commit`."""

    def __init__(self, path, dtype, shape):
        import tempfile

        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        fd, self.tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
        os.close(fd)
        try:
            self.array = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=dtype, shape=tuple(shape))
        except BaseException:
            self.discard()
            raise

    def commit(self):
        from .io import _umask

        self.array.flush()
        del self.array
        os.chmod(self.tmp, 0o666 & ~_umask())
        os.replace(self.tmp, self.path)

    def discard(self):
        self.__dict__.pop("array", None)
        try:
            os.unlink(self.tmp)
        except OSError:
            pass


#: bytes of a memory map touched between two releases of its pages (see :func:`_release`)
_RELEASE_BYTES = 1 << 27


def _release(*arrays):
    """Drop the resident pages of memory-mapped arrays (an output is flushed first): the data
    stay in the file and the page cache, the process's memory stays bounded."""
    import mmap

    for a in arrays:
        mm = getattr(a, "_mmap", None)
        if mm is None:
            continue
        if a.flags.writeable:
            a.flush()
        try:
            mm.madvise(mmap.MADV_DONTNEED)
        except (AttributeError, OSError, ValueError):  # not on this platform: the OS evicts them
            pass


def _threads(n):
    if n is None:
        return
    import numba

    top = numba.config.NUMBA_NUM_THREADS
    if n > top:
        raise UsageError(f"--threads {n}: at most {top} here (NUMBA_NUM_THREADS)")
    numba.set_num_threads(n)


def _write_chunks(res, bar, N, rows, first, chunk, row_bytes, inputs):
    """Fill ``res.array`` (``N`` rows) in chunks of ``rows``: ``first`` (already computed) then
    ``chunk(a, b)``, releasing the resident pages of the output and of the memory-mapped
    ``inputs`` every ``_RELEASE_BYTES``; commit the output (atomically), or discard it on any
    error.  Returns the seconds it took."""
    try:
        t = time.perf_counter()
        touched = 0
        for a in range(0, N, rows):
            b = min(N, a + rows)
            res.array[a:b] = first if a == 0 else chunk(a, b)
            bar.update(b - a)
            touched += (b - a) * row_bytes
            if touched > _RELEASE_BYTES:
                _release(res.array, *inputs)
                touched = 0
        bar.close()
        res.commit()
    except BaseException:
        bar.close()
        res.discard()
        raise
    return time.perf_counter() - t


# -- commands ---------------------------------------------------------------------------------
def _cmd_sample(args, out):
    from ._rng import initial_seed, key_for
    from ._sample_at import sample_rows

    dist = _model(args.model, args.dtype)
    path = _output(args.output)
    _threads(args.threads)
    seed = args.seed if args.seed is not None else initial_seed()
    key = key_for(seed)
    N = args.n
    row_shape = tuple(dist.batch_shape) + tuple(dist.event_shape)
    rows = _rows(math.prod(row_shape), args.chunk)
    first = sample_rows(dist, key, 0, min(rows, N))
    res = _Out(path, first.dtype, (N,) + row_shape)
    bar = _Progress(N, "sample", not args.no_progress)
    sec = _write_chunks(
        res,
        bar,
        N,
        rows,
        first,
        lambda a, b: sample_rows(dist, key, a, b - a),
        first.itemsize * math.prod(row_shape),
        (),
    )
    print(f"wrote {path}: {N:,} samples of shape {_fmt(row_shape)}, {first.dtype}, seed {seed} ({sec:.2f} s)", file=out)
    return 0


_OPS = {"log-prob": "log_prob", "cdf": "cdf", "icdf": "icdf"}


def _cmd_eval(args, out):
    dist = _model(args.model, args.dtype)
    method = _OPS[args.cmd]
    ne = len(dist.event_shape) if method == "log_prob" else 0
    if method != "log_prob" and dist.event_shape != ():
        raise UsageError(
            f"{args.cmd}: the model's event_shape is {_fmt(dist.event_shape)}: {args.cmd} needs a univariate model"
        )
    fn = getattr(dist, method, None)
    if fn is None:
        raise UsageError(f"{args.cmd}: {type(dist).__name__} has no {method}")
    x = _data(args.data)
    path = _output(args.output)
    batch = tuple(dist.batch_shape)
    event = tuple(dist.event_shape) if ne else ()
    if x.ndim - ne <= len(batch) or (ne and tuple(x.shape[x.ndim - ne :]) != event):
        raise UsageError(
            f"data {args.data}: shape {_fmt(x.shape)} must be (N, ..., *batch_shape, *event_shape) with a "
            f"leading sample dim: batch_shape {_fmt(batch)}, event_shape {_fmt(event)} "
            f"(for example {_fmt((x.shape[0] if x.ndim else 1,) + batch + event)})"
        )
    try:
        out_shape = np.broadcast_shapes(tuple(x.shape[: x.ndim - ne]), batch)
    except ValueError:
        raise UsageError(
            f"data {args.data}: shape {_fmt(x.shape)} does not broadcast with the model's "
            f"batch_shape {_fmt(batch)} + event_shape {_fmt(event)}"
        ) from None
    _threads(args.threads)
    N = x.shape[0]
    rows = _rows(math.prod(x.shape[1:]) + math.prod(out_shape[1:]), args.chunk)

    def chunk(a, b):
        v = np.array(x[a:b])
        if args.dtype is not None:
            v = v.astype(args.dtype)
        return np.asarray(fn(v))

    try:
        first = chunk(0, min(rows, N))
    except NotImplementedError as exc:
        raise UsageError(f"{args.cmd}: {exc}") from None
    res = _Out(path, first.dtype, out_shape)
    bar = _Progress(N, args.cmd, not args.no_progress)
    row_bytes = x.itemsize * math.prod(x.shape[1:]) + first.itemsize * math.prod(out_shape[1:])
    sec = _write_chunks(res, bar, N, rows, first, chunk, row_bytes, (x,))
    print(f"wrote {path}: {method} of shape {_fmt(out_shape)}, {first.dtype} ({sec:.2f} s)", file=out)
    return 0


def _family(name):
    from . import distributions as D

    key = name.replace("_", "").replace("-", "").lower()
    classes = {n.lower(): getattr(D, n) for n in D.__all__ if isinstance(getattr(D, n), type)}
    aliases = {"mvn": "multivariatenormal", "gaussian": "normal", "t": "studentt"}
    cls = classes.get(aliases.get(key, key))
    if cls is None or cls.__name__ in ("Distribution", "KernelDistribution", "MixtureSameFamily", "Independent"):
        known = sorted(
            n for n in classes if n not in ("distribution", "kerneldistribution", "mixturesamefamily", "independent")
        )
        raise UsageError(f"--family {name}: unknown family (known: {', '.join(known)})")
    return cls


def _cmd_fit(args, out):
    import mixstat

    fit = getattr(mixstat, "fit_mixture", None)
    if fit is None:
        try:
            from .fitting import fit_mixture as fit
        except ImportError:
            fit = None
    if fit is None:
        raise UsageError("fit: this mixstat has no fitting (mixstat.fit_mixture is not available)")
    x = _data(args.data)
    _output(args.output)
    if x.ndim not in (1, 2):
        raise UsageError(f"data {args.data}: shape {_fmt(x.shape)}: fit takes (N,) or (N, D) data")
    cls = _family(args.family)
    _threads(args.threads)
    D = x.shape[1] if x.ndim == 2 else None
    options = {}
    if args.dtype is not None:
        x = np.asarray(x, dtype=args.dtype)
    if cls.__name__ in ("Normal", "MultivariateNormal") and D is not None:
        from .distributions import MultivariateNormal

        component = MultivariateNormal
        options["covariance_type"] = args.covariance
    elif D is not None:
        component = _template(cls, D)
    else:
        if cls.__name__ == "MultivariateNormal":
            raise UsageError(f"--family {args.family}: needs (N, D) data, got shape {_fmt(x.shape)}")
        component = cls
    t = time.perf_counter()
    try:
        res = fit(
            x,
            component,
            args.components,
            rng=args.seed,
            max_iter=args.max_iter,
            tol=args.tol,
            n_init=args.n_init,
            **options,
        )
    except (ValueError, TypeError) as exc:
        raise UsageError(f"fit: {exc}") from None
    sec = time.perf_counter() - t
    from .io import save

    save(res.distribution, args.output)
    ll = getattr(res, "final_log_likelihood", None)
    if ll is None:
        ll = np.asarray(res.log_likelihood)[-1]
    conv = getattr(res, "converged", None)
    kind = getattr(component, "__name__", None) or f"Independent({type(component.base_dist).__name__})"
    if options:
        kind += f" ({args.covariance} covariance)"
    print(
        f"fitted {args.components} {kind} components to {x.shape[0]:,} points of {args.data} "
        f"in {sec:.2f} s ({getattr(res, 'n_iter', '?')} iterations, converged: {conv})",
        file=out,
    )
    print(f"log-likelihood {float(ll):.6f}", file=out)
    print(f"BIC {float(res.bic()):.6f}", file=out)
    print(f"saved to {args.output}", file=out)
    return 0


def _template(cls, D):
    """An ``Independent`` template of ``D`` coordinates of a univariate family (values are ignored)."""
    from .distributions import Independent

    one = np.ones(D)
    defaults = {
        "Normal": (0 * one, one),
        "LogNormal": (0 * one, one),
        "Laplace": (0 * one, one),
        "Cauchy": (0 * one, one),
        "Gumbel": (0 * one, one),
        "Exponential": (one,),
        "HalfNormal": (one,),
        "Gamma": (one, one),
        "Beta": (one, one),
        "Weibull": (one, one),
        "Poisson": (one,),
        "VonMises": (0 * one, one),
        "StudentT": (one,),
    }
    if cls.__name__ in defaults:
        return Independent(cls(*defaults[cls.__name__]), 1)
    if cls.__name__ in ("Bernoulli", "Geometric"):
        return Independent(cls(probs=0.5 * one), 1)
    raise UsageError(
        f"--family {cls.__name__}: not supported on (N, D) data by this command; "
        "use mixstat.fit_mixture with a template"
    )


def _describe(dist, indent, out, label=""):
    from .distributions import Categorical, Independent, MixtureSameFamily

    head = f"{' ' * indent}{label}{type(dist).__name__}"
    shapes = f"batch_shape {_fmt(dist.batch_shape)}, event_shape {_fmt(dist.event_shape)}, {dist.dtype}"
    if isinstance(dist, MixtureSameFamily):
        print(f"{head}: K = {dist._num_component}, {shapes}", file=out)
        _describe(dist.mixture_distribution, indent + 2, out, "mixture_distribution: ")
        _describe(dist.component_distribution, indent + 2, out, "component_distribution: ")
    elif isinstance(dist, Independent):
        print(f"{head}: reinterpreted_batch_ndims {dist.reinterpreted_batch_ndims}, {shapes}", file=out)
        _describe(dist.base_dist, indent + 2, out, "base_distribution: ")
    elif isinstance(dist, Categorical):
        print(f"{head}: {dist.param_shape[-1]} categories, {shapes}", file=out)
    else:
        print(f"{head}: {shapes}", file=out)


_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def _arr(a):
    a = np.asarray(a)
    return (
        np.array2string(a, precision=6, threshold=20, max_line_width=100, separator=", ")
        if a.ndim
        else f"{float(a):.6g}"
    )


def _cmd_info(args, out):
    dist = _model(args.model, args.dtype)
    _describe(dist, 0, out)
    _threads(args.threads)
    for name in ("mean", "stddev"):
        try:
            value = getattr(dist, name)
        except (NotImplementedError, ValueError) as exc:
            value = f"n/a ({exc})"
        print(f"{name:8s} {value if isinstance(value, str) else _arr(value)}", file=out)
    q = np.array(_QUANTILES)
    batch, event = tuple(dist.batch_shape), tuple(dist.event_shape)
    values, how = None, None
    if event == () and hasattr(dist, "icdf"):
        try:
            values = np.asarray(dist.icdf(q.reshape((-1,) + (1,) * len(batch)).astype(dist.dtype)))
            how = "icdf"
        except NotImplementedError:
            values = None
    if values is None:
        from ._rng import key_for
        from ._sample_at import sample_rows

        n = args.samples
        s = np.asarray(sample_rows(dist, key_for(args.seed), 0, n), dtype=np.float64)
        values = np.quantile(s, q, axis=0)
        how = f"estimated from {n:,} samples, seed {args.seed}" + (", per coordinate" if event else "")
    print(f"quantiles ({how}):", file=out)
    for p, v in zip(_QUANTILES, values):
        print(f"  {p:5.2f}  {_arr(v)}", file=out)
    return 0


def _cmd_bench(args, out):
    from ._rng import key_for
    from ._sample_at import sample_rows

    dist = _model(args.model, args.dtype)
    _threads(args.threads)
    import numba

    n, R = args.n, args.repeats
    t = time.perf_counter()
    x = sample_rows(dist, key_for(0), 0, min(n, 1000))
    dist.log_prob(x)
    first = time.perf_counter() - t

    def best(fn):
        b = math.inf
        for _ in range(R):
            t = time.perf_counter()
            r = fn()
            b = min(b, time.perf_counter() - t)
        return r, b

    x, ts = best(lambda: dist.sample((n,), rng=1))
    _, tl = best(lambda: dist.log_prob(x))
    print(
        f"{type(dist).__name__}, batch_shape {_fmt(dist.batch_shape)}, event_shape "
        f"{_fmt(dist.event_shape)}, {dist.dtype}; {numba.get_num_threads()} threads; best of {R}",
        file=out,
    )
    print(f"  first calls (kernel compile or cache load) {first * 1e3:9.1f} ms", file=out)
    print(f"  sample((n,))   n = {n:,}  {ts * 1e3:9.1f} ms  {ts / n * 1e9:8.2f} ns/row", file=out)
    print(f"  log_prob       n = {n:,}  {tl * 1e3:9.1f} ms  {tl / n * 1e9:8.2f} ns/row", file=out)
    if dist.event_shape == ():
        try:
            _, tc = best(lambda: dist.cdf(x))
            print(f"  cdf            n = {n:,}  {tc * 1e3:9.1f} ms  {tc / n * 1e9:8.2f} ns/row", file=out)
        except NotImplementedError:
            pass
    return 0


def _cmd_warmup(args, out):
    from ._warmup import warmup

    try:
        warmup(
            args.family,
            tuple(args.dtype),
            args.jobs,
            skip_ops=tuple(args.skip_op or ()),
            gufuncs=False if args.gufuncs is None else (tuple(args.gufuncs) or True),
            only_ops=tuple(args.op or ()),
        )
    except KeyError as exc:
        print(f"mixstat warmup: {exc.args[0]}", file=sys.stderr)
        return 2
    return 0


_COMMANDS = {
    "sample": _cmd_sample,
    "log-prob": _cmd_eval,
    "cdf": _cmd_eval,
    "icdf": _cmd_eval,
    "fit": _cmd_fit,
    "info": _cmd_info,
    "bench": _cmd_bench,
    "warmup": _cmd_warmup,
}

#: errors of the environment or the user's files, not of mixstat (exit status 2)
_USER_OS_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def main(argv=None, prog=None) -> int:
    """Run the ``mixstat`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    if prog is None:
        prog = "mixstat" if os.path.basename(sys.argv[0] or "") == "mixstat" else "python -m mixstat"
    args = _parser(prog).parse_args(argv)  # usage errors: argparse exits with status 2
    where = f"{prog.split()[-1]} {args.cmd}"
    try:
        return _COMMANDS[args.cmd](args, sys.stdout)
    except UsageError as exc:
        print(f"{where}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except _USER_OS_ERRORS as exc:
        print(f"{where}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, NotImplementedError) as exc:
        if os.environ.get("MIXSTAT_TRACEBACK") == "1":
            raise
        print(f"{where}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # one line, not a traceback
        if os.environ.get("MIXSTAT_TRACEBACK") == "1":
            raise
        print(
            f"{where}: failed: {type(exc).__name__}: {exc} (MIXSTAT_TRACEBACK=1 shows the traceback)", file=sys.stderr
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
