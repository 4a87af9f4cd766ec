"""Dask arrays through the distribution methods: lazy results, one task per block.

:func:`install` wraps, on every :class:`~mixstat.distributions.Distribution` class (from
its metaclass), the methods that take values -- ``log_prob``, ``prob``, ``cdf``,
``log_cdf``, ``survival_function``, ``log_survival_function``, ``icdf``,
``posterior_mode``, ``posterior_marginal`` -- and ``sample``.  A wrapped method runs the
original one unchanged unless

* its value is a ``dask.array.Array``: the result is a lazy ``dask.array.Array`` with one
  task per block of the value, each calling the same method on its NumPy block; or
* ``sample`` is given ``chunks=``: a lazy ``dask.array.Array`` whose every block is drawn
  in its own task from the counter-based stream at that block's offset
  (:func:`mixstat._sample_at.sample_rows`), so it has the bits of the in-memory call.

The distribution travels to the workers as one ``dask.delayed`` object (one key of the
graph, deserialised once per worker; its pickled form holds the parameters and no
cached tables).  Dask is imported only when a dask value (or ``chunks=``) is seen:
``import mixstat`` does not import it; dask arrays are recognised by their type's
module.  See ``docs/dask.md``.
"""

from __future__ import annotations

import functools
import inspect
import math

import numpy as np

__all__ = ["install", "is_dask_array"]

#: methods whose first argument is a value (``(*sample, *batch_shape, *event_shape)``)
VALUE_METHODS = (
    "log_prob",
    "prob",
    "cdf",
    "log_cdf",
    "survival_function",
    "log_survival_function",
    "icdf",
    "posterior_mode",
    "posterior_marginal",
)


def is_dask_array(v) -> bool:
    """True for a ``dask.array.Array`` (checked by its type's module: dask is not imported)."""
    return type(v).__module__.startswith("dask") and hasattr(v, "__dask_graph__") and hasattr(v, "chunks")


def install(cls):
    """Wrap the value methods and ``sample`` that ``cls`` defines itself (see the module notes)."""
    for name in VALUE_METHODS + ("sample",):
        fn = cls.__dict__.get(name)
        # already outermost? (``functools.wraps`` copies the mark onto a wrapper of a wrapper)
        if callable(fn) and getattr(fn, "_dask_wrapped", None) is not fn:
            setattr(cls, name, _sample_wrapper(fn) if name == "sample" else _value_wrapper(fn, name))


# -- values ------------------------------------------------------------------------------
def _value_wrapper(fn, name):
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        v = args[0] if args else kwargs.get("value")
        if type(v).__module__.startswith("dask") and is_dask_array(v):
            return _lazy_value_op(self, name, v, args[1:], kwargs)
        return fn(self, *args, **kwargs)

    wrapper._dask_wrapped = wrapper
    return wrapper


def _owner(dist, name):
    return f"{type(dist).__name__}.{name}"


def _check_common(dist, name, kwargs):
    if kwargs.get("out") is not None:
        raise ValueError(
            f"{_owner(dist, name)}: out= cannot be used with a dask array (the result is a lazy "
            "dask array; write it with dask.array.store or .compute())"
        )
    if dist.device != "cpu":
        raise ValueError(
            f"{_owner(dist, name)}: dask arrays need a CPU distribution (this one is on "
            f"{dist.device!r}); use dist.to('cpu')"
        )


def _shared(dist):
    """``dist`` as one delayed object (one key of the graph, named by its token)."""
    import dask

    return dask.delayed(dist, pure=True, traverse=False)


def _call_block(dist, name, kwargs, block):
    r = getattr(dist, name)(block, **kwargs)
    if name == "posterior_marginal":
        r = r.logits
    return np.asarray(r)


def _lazy_value_op(dist, name, x, rest, kwargs):
    import dask.array as da

    from .._array import fmt_shape

    _check_common(dist, name, kwargs)
    if rest:
        raise TypeError(f"{_owner(dist, name)}: with a dask array, only the value is passed positionally")
    kwargs = {k: v for k, v in kwargs.items() if k not in ("value", "out")}
    if any(math.isnan(c) for cs in x.chunks for c in cs):
        raise ValueError(
            f"{_owner(dist, name)}: value is a dask array with unknown chunk sizes "
            f"(shape {x.shape}); call value.compute_chunk_sizes() first"
        )
    batch, event = tuple(dist.batch_shape), tuple(dist.event_shape)
    nb, ne = len(batch), len(event)
    dist._check_value_shape(x.shape, "value")
    # the result's dtype (and an early error for a wrong dtype or option): the method on an
    # empty value of the same trailing dims (nothing is computed or compiled for no points)
    probe = np.empty((0,) + (1,) * nb + tuple(x.shape), dtype=x.dtype)  # more sample dims, one empty
    dtype = _call_block(dist, name, kwargs, probe).dtype
    lead = x.ndim - ne
    if lead < nb:  # value broadcasts to the batch: give it the missing leading dims
        x = x[(None,) * (nb - lead)]
        lead = nb
    rechunk = {}
    adjust = {}
    for i, b in enumerate(batch):
        a = lead - nb + i
        n = x.shape[a]
        if n == 1 and b != 1:
            adjust[a] = b  # broadcast in each task: that dim of the result is one chunk of b
        elif b != 1 and len(x.chunks[a]) > 1:
            rechunk[a] = -1  # each task evaluates the whole batch dim against its parameters
    for a in range(lead, lead + ne):
        if len(x.chunks[a]) > 1:
            rechunk[a] = -1  # an event is one block
    if rechunk:
        x = x.rechunk(rechunk)
    out_ind = tuple(range(lead))
    new_axes = {}
    if name == "posterior_marginal":
        new_axes = {lead + ne: dist._num_component}
        out_ind = out_ind + (lead + ne,)
    out_ndim = len(out_ind)
    try:
        return da.blockwise(
            _call_block,
            out_ind,
            _shared(dist),
            None,
            name,
            None,
            kwargs,
            None,
            x,
            tuple(range(lead + ne)),
            dtype=dtype,
            meta=np.empty((0,) * out_ndim, dtype),
            adjust_chunks=adjust or None,
            new_axes=new_axes or None,
            concatenate=True,
            name=f"mixstat-{type(dist).__name__.lower()}-{name.replace('_', '-')}-{_token(dist, name, kwargs, x)}",
        )
    except ValueError as exc:  # pragma: no cover - shapes were checked above
        raise ValueError(f"{_owner(dist, name)}: value of shape {fmt_shape(x.shape)}: {exc}") from None


def _token(*args):
    from dask.base import tokenize

    return tokenize(*args)


# -- sampling ------------------------------------------------------------------------------
def _sample_wrapper(fn):
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(self, *args, chunks=None, **kwargs):
        if chunks is None:
            return fn(self, *args, **kwargs)
        try:
            bound = sig.bind(self, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{type(self).__name__}.sample: {exc}") from None
        bound.apply_defaults()
        return _lazy_sample(self, fn, dict(bound.arguments), chunks)

    params = list(sig.parameters.values())
    extra = inspect.Parameter("chunks", inspect.Parameter.KEYWORD_ONLY, default=None)
    if "chunks" in sig.parameters:
        pass
    elif params and params[-1].kind == inspect.Parameter.VAR_KEYWORD:
        params.insert(len(params) - 1, extra)
    else:
        params.append(extra)
    wrapper.__signature__ = sig.replace(parameters=params)
    wrapper.__doc__ = _chunks_doc(fn.__doc__)
    wrapper._dask_wrapped = wrapper
    return wrapper


_CHUNKS_DOC = """chunks : None or dask chunks, optional
    A lazy ``dask.array`` sample (``docs/dask.md``): chunks over ``sample_shape`` only
    (an int, a tuple, a dict, ``"auto"``), every block drawn in its own task at its offset
    of the counter-based stream, so ``.compute()`` has the bits of the call without
    ``chunks`` for any chunking (not with ``method="qmc"``, ``return_index`` or ``out``).
"""


def _chunks_doc(doc):
    """``doc`` with the ``chunks`` parameter added at the end of its Parameters section."""
    if not doc or "chunks :" in doc:
        return doc
    lines = doc.split("\n")
    try:
        p = next(
            i
            for i, ln in enumerate(lines)
            if ln.strip() == "Parameters" and i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        )
    except StopIteration:
        return doc
    indent = lines[p][: len(lines[p]) - len(lines[p].lstrip())]
    end = len(lines)
    for i in range(p + 2, len(lines) - 1):
        if (
            lines[i].strip()
            and set(lines[i + 1].strip()) == {"-"}
            and lines[i].startswith(indent)
            and not lines[i][len(indent) :].startswith(" ")
        ):
            end = i
            break
    while end > p + 2 and not lines[end - 1].strip():
        end -= 1
    block = [indent + ln if ln else ln for ln in _CHUNKS_DOC.rstrip("\n").split("\n")]
    return "\n".join(lines[:end] + block + lines[end:])


def _lazy_sample(dist, fn, arguments, chunks):
    import dask.array as da

    from .._array import as_shape, fmt_shape
    from .._rng import key_for
    from .._sample_at import sample_rows

    owner = f"{type(dist).__name__}.sample"
    _check_common(dist, "sample", arguments)
    method = arguments.get("method", "random")
    if method != "random":
        raise ValueError(
            f"{owner}: chunks= needs method='random' (got method={method!r}: the scrambled "
            "Sobol points of method='qmc' are drawn as one sequence)"
        )
    if arguments.get("return_index"):
        raise ValueError(f"{owner}: chunks= cannot be combined with return_index=True")
    batch, event = tuple(dist.batch_shape), tuple(dist.event_shape)
    sample_shape = as_shape(arguments.get("sample_shape", ()), "sample_shape", batch + event)
    try:
        if isinstance(chunks, dict) and any(not -len(sample_shape) <= int(k) < len(sample_shape) for k in chunks):
            raise ValueError("a dict of chunks names a dim that is not a sample dim")
        nchunks = da.core.normalize_chunks(chunks, sample_shape, dtype=dist.dtype)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{owner}: chunks={chunks!r} is not a chunking of sample_shape "
            f"{fmt_shape(sample_shape)} (chunks split the sample dims only): {exc}"
        ) from None
    key = key_for(arguments.get("rng"))  # the one key of the in-memory call
    key = (np.uint64(key[0]), np.uint64(key[1]))
    try:
        empty = np.asarray(sample_rows(dist, key, 0, 0))  # compiles and draws nothing
    except NotImplementedError:
        raise NotImplementedError(
            f"{owner}: chunks= is not available for {type(dist).__name__} (no draws at an offset)"
        ) from None
    dtype = empty.dtype
    out_chunks = tuple(nchunks) + tuple((s,) for s in batch + event)
    ndim = len(out_chunks)
    if not sample_shape:  # one draw: one block
        out_chunks = tuple((s,) for s in batch + event)
    return da.map_blocks(
        _sample_block,
        _shared(dist),
        key,
        sample_shape,
        dtype=dtype,
        chunks=out_chunks,
        meta=np.empty((0,) * ndim, dtype),
        name=f"mixstat-{type(dist).__name__.lower()}-sample-{_token(dist, key, sample_shape, out_chunks)}",
    )


def _sample_block(dist, key, sample_shape, block_info=None):
    """The block of ``dist.sample(sample_shape)`` at ``block_info``'s location: contiguous runs
    of rows (a run spans the trailing sample dims that the block covers whole)."""
    from .._sample_at import sample_rows

    m = len(sample_shape)
    loc = block_info[None]["array-location"][:m]
    if not m:
        return np.asarray(sample_rows(dist, key, 0, 1))[0]
    lo = [a for a, _ in loc]
    n = [b - a for a, b in loc]
    j = m - 1  # dims after j are covered whole
    while j > 0 and n[j] == sample_shape[j]:
        j -= 1
    inner = math.prod(sample_shape[j + 1 :])
    run = n[j] * inner
    tail = tuple(dist.batch_shape) + tuple(dist.event_shape)
    parts = []
    for outer in np.ndindex(*n[:j]):
        row = 0
        for d in range(j):
            row = row * sample_shape[d] + lo[d] + outer[d]
        start = (row * sample_shape[j] + lo[j]) * inner
        parts.append(np.asarray(sample_rows(dist, key, start, run)))
    out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    return out.reshape(tuple(n) + tail)
