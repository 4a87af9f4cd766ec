"""Every numba option of mixstat, in one place.

* Kernels are built lazily, on first use, one dispatcher per (operation,
  family, dtype) with an explicit signature whose arrays are ``A``-layout and
  read-only, so broadcast (stride-0) views and contiguous arrays share one
  compiled kernel.  ``import mixstat`` imports no numba and compiles nothing.
* Compiled kernels are cached on disk (``cache=True``) in a folder keyed by a
  hash of the shared kernel sources, the family's module, the numba version and
  ``NUMBA_BOUNDSCHECK``, so an edited scalar function never meets a stale caller
  in the cache (and editing one family recompiles that family's kernels only).  Set
  ``MIXSTAT_CACHE_DIR`` to move the cache.
* ``error_model="numpy"`` (division by zero gives inf/nan, never raises) and
  only the ``fastmath`` flags that keep NaN/Inf semantics and the order of
  additions ('reassoc' would undo the rounding tricks of the polynomial exp).
* On CPUs with AVX-512, kernels are compiled for 512-bit vectors (LLVM
  prefers 256-bit ones there): the LLVM function attribute
  ``"prefer-vector-width"="512"`` is added to mixstat's kernels only, while
  they compile, so the rest of the process is unaffected (unlike
  ``NUMBA_CPU_FEATURES``).  ``MIXSTAT_VECTOR_WIDTH=256`` turns it off.
* Events of size ``MAX_STATIC_DIM`` (1) or less are compiled with the size as a
  constant, so the loop over coordinates disappears and the loop over points
  vectorises; larger events share one kernel with a run-time size.  (Sizes up
  to 8 as constants gained nothing for MultivariateNormal, whose tile loop
  vectorises anyway, and cost a compile per size.)
* Most kernels are serial functions of parts (:mod:`mixstat.kernels.parts`): :class:`Parts`
  shares a call's chunks among mixstat's worker threads, which compiles in about 60 % of the
  time of numba's ``prange``.  Calls of the kernels still on ``prange`` (icdf, the gradients)
  are serialised when numba fell back to the ``workqueue`` threading layer, which aborts the
  process under concurrent calls.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = ["get_kernel", "call", "cache_dir", "NJIT_OPTIONS"]

#: options for every CPU kernel.  No 'nnan'/'ninf': NaN and Inf must survive.
#: No 'reassoc': the polynomial exp relies on the order of its additions.
NJIT_OPTIONS = dict(
    cache=True,
    error_model="numpy",
    fastmath={"contract", "nsz", "arcp"},
    nogil=True,
)

#: event sizes up to this are compiled as constants (see the module notes)
MAX_STATIC_DIM = 1

_KERNEL_DIR = Path(__file__).parent / "kernels"
_lock = threading.RLock()
_kernels: dict = {}
_cache_dirs: dict = {}
_common_hash = None
_layer_checked = False
_serialise = True  # until the threading layer is known


def cache_dir(family=None) -> str:
    """The on-disk cache folder for this build of the kernels of ``family`` (a name, or None).

    Keyed by the shared kernel sources (every file of :mod:`mixstat.kernels`
    but the CUDA loops and the family modules), this file, the numba version,
    ``NUMBA_BOUNDSCHECK``, ``NUMBA_OPT`` and the vector width, and, for a family's kernels,
    that family's module: editing one family recompiles its kernels only.
    (Family modules import shared modules only, never each other.)
    """
    key = family or ""
    path = _cache_dirs.get(key)
    if path is None:
        import numba

        global _common_hash
        if _common_hash is None:
            h = hashlib.sha256()
            for p in sorted(_KERNEL_DIR.rglob("*.py")):
                rel = p.relative_to(_KERNEL_DIR).as_posix()
                if rel == "cuda.py" or rel.startswith("families/"):
                    continue
                h.update(rel.encode())
                h.update(p.read_bytes())
            h.update(numba.__version__.encode())
            h.update(str(numba.config.BOUNDSCHECK).encode())
            h.update(str(numba.config.OPT).encode())  # NUMBA_OPT: a kernel built at -O0 is not the -O3 one
            h.update(str(_vector_width()).encode())
            h.update(Path(__file__).read_bytes())
            _common_hash = h.copy()
        h = _common_hash.copy()
        if family:
            h.update(family.encode())
            h.update((_KERNEL_DIR / "families" / f"{family}.py").read_bytes())
        root = os.environ.get("MIXSTAT_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
            "mixstat",
        )
        name = h.hexdigest()[:16]
        path = os.path.join(root, name)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError:
            import tempfile

            path = os.path.join(tempfile.gettempdir(), "mixstat-cache", name)
            os.makedirs(path, exist_ok=True)
        _cache_dirs[key] = path
    return path


def unique_name(fn, *key):
    """Rename a factory's inner function ``fn`` after ``key`` (its op, family, dtype...): numba
    mangles a compiled function's symbol from its qualified name and a per-process counter, and
    kernels compiled in different processes meet in one process when they are loaded from the
    disk cache.  Module-level functions are left as they are (they pickle by reference)."""
    if "<locals>" in fn.__qualname__:
        fn.__name__ = fn.__qualname__ = "_".join([fn.__name__, *(str(k) for k in key if k is not None)])
    return fn


@contextmanager
def compiling_into(path, width=True):
    """numba's disk cache in ``path`` while kernels compile (the callers hold their own lock),
    and with ``width`` the host's preferred vector width on every function lowered meanwhile.
    Every compile of mixstat goes through here: the kernels, the EM kernels, the gufuncs."""
    import numba

    old = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = path
    try:
        if width:
            with _prefer_vector_width(_vector_width()):
                yield
        else:
            yield
    finally:
        numba.config.CACHE_DIR = old


def _vector_width():
    """512 where the CPU has AVX-512 (unless MIXSTAT_VECTOR_WIDTH says otherwise), else None."""
    want = os.environ.get("MIXSTAT_VECTOR_WIDTH", "")
    if want:
        return int(want) if want in ("256", "512") else None
    import llvmlite.binding as ll

    return 512 if ll.get_host_cpu_features().get("avx512f") else None


@contextmanager
def _prefer_vector_width(width):
    """Add ``"prefer-vector-width"`` to every function numba lowers meanwhile (under ``_lock``)."""
    if width is None:
        yield
        return
    from numba.core import cgutils

    original = cgutils.normalize_ir_text
    attr = f' "prefer-vector-width"="{width}" {{'

    def with_width(text):
        return original(
            _DEFINE.sub(lambda m: m.group(1) + (_INLINE_ATTR if _ALWAYS.search(m.group(1)) else "") + attr, text)
        )

    from numba.core.base import BaseContext

    # and arrays made in the kernels (their scratch tiles) aligned to the vector, 64 bytes:
    # numba asks for 32, which glibc's arenas of threads other than the main one give at 32
    # mod 64, so that every 512-bit load of a tile straddled two cache lines (measured: a part
    # of the MVN log_prob took 11.6 ms on a worker thread against 8.7 ms on the main one)
    align = BaseContext.get_preferred_array_alignment
    cgutils.normalize_ir_text = with_width
    BaseContext.get_preferred_array_alignment = _align64
    try:
        yield
    finally:
        cgutils.normalize_ir_text = original
        BaseContext.get_preferred_array_alignment = align


def _align64(context, ty):
    return 64


# a function definition's first line, up to its opening brace
_DEFINE = re.compile(r"^(define [^\n]*?)\s*\{[ \t]*$", re.MULTILINE)
# family hooks named ``*_fast`` (the SIMD forms, called in the loops over a tile's points)
_ALWAYS = re.compile(r"@\"?_ZN[^(]*\d+[a-z0-9_]*_fast[^a-z0-9_]")
_INLINE_ATTR = " alwaysinline"


def _signature(op, dtype, discrete=False):
    """The CPU signature of operation ``op`` (see :mod:`mixstat.kernels.registry`); draws of a
    ``discrete`` family are written as int64 (a float32 buffer would round counts above 2**24)."""
    from numba import types

    ft = types.float32 if dtype == "float32" else types.float64
    ro3 = types.Array(ft, 3, "A", readonly=True)
    ro2 = types.Array(ft, 2, "A", readonly=True)
    ro1 = types.Array(ft, 1, "A", readonly=True)
    out3 = types.Array(ft, 3, "C")
    out1 = types.Array(ft, 1, "C")
    out2 = types.Array(ft, 2, "C")
    idx1 = types.Array(types.int64, 1, "C")
    idx2 = types.Array(types.int64, 2, "C")
    i64, u64 = types.int64, types.uint64
    sigs = {
        # x (S, B, D), logw or w (B, K), table (B, K, P), out (S*B,)
        "logsumexp": types.void(ro3, ro2, ro3, out1),
        "sum": types.void(ro3, ro2, ro3, out1),
        # q (S, B, 1), w (B, K), table (B, K, P), out (S*B,)
        "quantile": types.void(ro3, ro2, ro3, out1),
        # x, logw, table, out (S*B, K)
        "terms": types.void(ro3, ro2, ro3, out2),
        # x, logw, table, out (S*B, K): normalised log-responsibilities
        "posterior": types.void(ro3, ro2, ro3, out2),
        # x, logw, table, index (S*B,): the component of the largest term
        "argmax": types.void(ro3, ro2, ro3, idx1),
        # cumw (B, K), table (B, K, P), key0, key1, offset, out (N, D), index (N,) or (0,)
        "ancestral": types.void(ro2, ro3, u64, u64, i64, idx2 if discrete else out2, idx1),
        # x (S, B, 1), logw (B, K), table (B, K, P), cotangent (S, B, 1),
        # out (B, K, n_params) and (B, K): implicit reparameterisation gradients
        "reparam": types.void(ro3, ro2, ro3, ro3, types.Array(ft, 3, "C"), out2),
        # x, logw, table, cotangent (S*B,), zero_w, log_prob (S*B,), d/dx (S*B*D,) or (0,),
        # d/dlogw (B, K) or (0, K), d/dparams (B, K, Q) or (0, K, Q)
        "grad": types.void(ro3, ro2, ro3, ro1, i64, out1, out1, out2, out3),
    }
    prep = {
        # cumw (B, K), key0, key1, offset, index (N,)
        "choose": types.void(ro2, u64, u64, i64, idx1),
        # param (R, K), out (R, K) -> number of invalid entries
        "logits": i64(ro2, out2, i64),
        # loc (R, D), scale (R, D), out (R, P D) -> number of invalid entries
        "normal_rows": i64(ro2, ro2, out2),
        # src (R,), dst (R,) or (0,), constraint code -> number of invalid entries (kernels.rows;
        # C-contiguous: unit-stride SIMD loops)
        "copy_checked": i64(types.Array(ft, 1, "C", readonly=True), out1, i64),
        # x (S, B), logits, loc, scale (B, K) C-contiguous, normalise, out (S*B,) (kernels.rows)
        "normal_mixture_rows": types.void(ro2, *([types.Array(ft, 2, "C", readonly=True)] * 3), i64, out1),
        # x (S, B), logits, loc, scale (B, K) C-contiguous, cot (S*B,), lp (S*B,), d/dx (S*B,) or
        # (0,), d/dlogits, d/dloc, d/dscale (B, K) or (0, K) -> invalid entries (kernels.rows_grad)
        "normal_mixture_rows_grad": i64(
            ro2, *([types.Array(ft, 2, "C", readonly=True)] * 3), ro1, out1, out1, out2, out2, out2
        ),
    }
    if op in prep:
        return prep[op]
    from .kernels import registry

    return sigs[registry.op(op).reduction]


def get_kernel(op: str, family, dtype, dim: int = 0) -> object:
    """Return the compiled CPU kernel for ``op`` on ``family`` (a name, or None) in ``dtype``.

    ``dim`` is the event size; it is compiled in as a constant for ``log_prob``
    when at most ``MAX_STATIC_DIM``.
    """
    dtype = str(dtype)
    if not (op in ("log_prob", "log_prob1") and 0 < dim <= MAX_STATIC_DIM and _static_scalar(family)):
        dim = 0
    key = (op, family, dtype, dim)
    k = _kernels.get(key)
    if k is not None:
        return k
    with _lock:
        k = _kernels.get(key)
        if k is None:
            import numba

            from .kernels import cpu, prep, registry, rows, rows_grad

            fam = None
            if op in prep.OPS:
                impl = prep.make(op)
            elif op in rows.OPS:  # kernels over raw per-row parameters (no packed table)
                impl = unique_name(rows.make(op, dtype), op, dtype)
            elif op in rows_grad.OPS:  # the gradient of a Normal mixture over raw per-row parameters
                impl = unique_name(rows_grad.make(op, dtype), op, dtype)
            else:
                fam = None if family is None else registry.family(family)
                impl = cpu.make(op, fam, dtype, dim)
                # a loop's symbol is mangled from its name and a per-process counter: a name of
                # its own, so that two processes' kernels never share one (see quantile.jitable_named)
                unique_name(impl, op, family, dtype, dim)
            import warnings

            from numba.core.errors import NumbaIRAssumptionWarning

            with compiling_into(cache_dir(family)), warnings.catch_warnings():
                # numba's SSA pass warns about the phi nodes of the inlined SIMD erfc
                # (numba-internal bookkeeping; the kernels' results are tested)
                warnings.simplefilter("ignore", NumbaIRAssumptionWarning)
                sig = _signature(op, dtype, fam is not None and fam.discrete)
                if getattr(impl, "parts", False):  # a serial kernel of parts on threads (kernels.parts)
                    i64 = numba.types.int64
                    disp = numba.njit([sig.return_type(*sig.args, i64, i64)], **NJIT_OPTIONS)(impl)
                    k = Parts(disp, sig.return_type != numba.types.void)
                else:
                    k = numba.njit([sig], parallel=True, **NJIT_OPTIONS)(impl)
            _kernels[key] = k
    return k


#: a call whose largest array has fewer entries than this runs on the calling thread alone
#: (16 tiles of points)
PARTS_MIN_SIZE = 4096
#: ... and so does a call whose estimated serial time is below this many hand-offs (a split in
#: two saves half the time and costs one hand-off: a gain from 2 on, worth it from 4)
PARTS_MIN_GAIN = 4.0
#: parts per thread of a split call (claimed in order by whichever thread is free: a thread
#: that starts late or runs slowly takes fewer)
PARTS_PER_THREAD = 4
_handoff_s = None


def _handoff():
    """Seconds of one hand-off of a part to a worker thread and back (the least of 9 no-op
    round trips through a worker of its own, measured on first use)."""
    global _handoff_s
    if _handoff_s is None:
        w = _Worker()
        best = math.inf
        for _ in range(9):
            claims, dones = [threading.Lock()], [threading.Lock()]
            dones[0].acquire()
            t0 = time.perf_counter()
            w.job = (_noop, (), claims, dones, [None])
            w.go.release()
            w.done.acquire()
            best = min(best, time.perf_counter() - t0)
        _handoff_s = best
    return _handoff_s


def _noop(part, nparts):
    return 0


class _Worker:
    """A thread that helps with one call at a time: woken by releasing ``go``, it takes the
    call's parts in order, running each one whose claim it wins, then releases ``done``.

    Each part of a call has a claim lock and a done lock: whoever claims a part first (the
    caller or a worker) runs it, so a call never waits for a thread that has not woken yet
    (a wake-up costs about 15 us on the development machine's AMD EPYC and 70 us on its
    Intel VM, against 65-80 us for a ``concurrent.futures`` round trip), and a thread slowed
    by another process's threads takes fewer parts.  ``pending``: the caller has not yet seen
    this thread's ``done`` of the last call posted (it waits for it before posting the next)."""

    def __init__(self):
        self.go = threading.Lock()
        self.go.acquire()
        self.done = threading.Lock()
        self.done.acquire()
        self.job = None
        self.pending = False
        threading.Thread(target=self._run, name="mixstat-kernel", daemon=True).start()

    def _run(self):
        while True:
            self.go.acquire()
            job = self.job  # None: the call ended before this thread woke (nothing left)
            if job is not None:
                _run_parts(*job)
            # no reference to the call's arrays stays here once it returns (mixstat._buffers
            # hands a buffer out again only when nothing else holds it)
            self.job = job = None
            self.done.release()

    def ready(self):
        """Wait until this thread is done with the last call posted to it."""
        if self.pending:
            self.done.acquire()
            self.pending = False


def _run_parts(fn, args, claims, dones, results):
    """Run every part of a call whose claim this thread wins (``results[p] = (ok, value)``,
    then ``dones[p]`` released)."""
    for p in range(len(claims)):
        if claims[p].acquire(blocking=False):
            try:
                results[p] = (True, fn(*args, p, len(claims)))
            except BaseException as exc:  # handed to the caller
                results[p] = (False, exc)
            dones[p].release()


_workers: list = []
#: held by the call that is using the workers; a call that finds it held runs on its own thread
#: (concurrent callers, such as dask's threads, are the parallelism then)
_busy = threading.Lock()


def _reset_workers():
    global _busy
    _workers.clear()
    _busy = threading.Lock()


if hasattr(os, "register_at_fork"):  # a forked child has the workers' objects but not their threads
    os.register_at_fork(after_in_child=_reset_workers)


class Parts:
    """A kernel of :mod:`mixstat.kernels.parts`: ``kernel(*args)`` runs its ``nparts`` parts, part 0
    on the calling thread and the others on a pool of threads (the kernels release the GIL), and
    returns the sum of the parts' counts for a kernel that returns one.

    ``nparts`` is :func:`numba.get_num_threads` (so ``numba.set_num_threads`` and
    ``NUMBA_NUM_THREADS`` set it, as for numba's own parallel kernels), or 1 for a call whose
    largest array has fewer than :data:`PARTS_MIN_SIZE` entries, or whose serial time, as
    estimated from this kernel's last call (seconds per entry of the largest array), is below
    :data:`PARTS_MIN_GAIN` hand-offs of a part to a thread (measured once per process: about
    15 us on the development machine's AMD EPYC, 70 us on its Intel VM).  Results do not
    depend on it.  Attributes other than the call (``stats``, ``signatures``...) are the numba
    dispatcher's.
    """

    __slots__ = ("dispatcher", "per_entry", "returns")

    def __init__(self, dispatcher, returns):
        self.dispatcher = dispatcher
        self.returns = returns
        self.per_entry = 0.0  # serial seconds per entry of the largest array (0: not known yet)

    def __getattr__(self, name):
        if name in Parts.__slots__:  # not set yet (a copy being built): no recursion
            raise AttributeError(name)
        return getattr(self.dispatcher, name)

    def __call__(self, *args):
        import numba

        disp = self.dispatcher
        size = max((a.size for a in args if hasattr(a, "size") and hasattr(a, "shape")), default=0)
        nparts = numba.get_num_threads() if size >= PARTS_MIN_SIZE else 1
        if nparts > 1 and self.per_entry * size < PARTS_MIN_GAIN * _handoff():
            nparts = 1  # (per_entry 0, not known yet, also passes: then measured below)
            t0 = time.perf_counter()
            r = disp(*args, 0, 1)
            self.per_entry = (time.perf_counter() - t0) / size
            return r
        busy = _busy
        if nparts <= 1 or not busy.acquire(blocking=False):
            return disp(*args, 0, 1)
        t0 = time.perf_counter()
        try:
            threads = nparts
            nparts *= PARTS_PER_THREAD
            while len(_workers) < threads - 1:
                _workers.append(_Worker())
            used = _workers[: threads - 1]
            claims = [threading.Lock() for _ in range(nparts)]
            dones = [threading.Lock() for _ in range(nparts)]
            for d in dones:
                d.acquire()
            results = [None] * nparts
            for w in used:
                w.ready()
                w.job = (disp, args, claims, dones, results)
                w.pending = True
                w.go.release()
            _run_parts(disp, args, claims, dones, results)
            r = 0
            failed = None
            for p in range(nparts):
                dones[p].acquire()  # (at once for the parts run here)
                ok, v = results[p]
                if not ok:
                    failed = failed or v
                elif self.returns:
                    r = r + v
            results = None
            for w in used:  # a thread that has not woken yet holds no reference to the arrays
                w.job = None
            if failed is not None:
                raise failed
            # the serial equivalent of this call, less the hand-off
            t = time.perf_counter() - t0
            self.per_entry = max(t - _handoff(), 0.0) * threads / size
            return r if self.returns else None
        finally:
            busy.release()


def _static_scalar(family):
    from .kernels import registry

    return registry.family(family).static_scalar


def call(kernel, *args):
    """Run a parallel kernel (serialised if the threading layer is unsafe); return its result."""
    global _serialise, _layer_checked
    if _serialise and not isinstance(kernel, Parts):
        with _lock:
            r = kernel(*args)
            if not _layer_checked:
                import numba

                _layer_checked = True
                _serialise = numba.threading_layer() == "workqueue"
        return r
    return kernel(*args)
