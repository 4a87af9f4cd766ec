"""Distributions as plain dicts: :meth:`Distribution.to_dict` and :func:`from_dict`.

The dict is the in-memory form of the saved-model format (``docs/api/io.md``):
nested nodes of plain values with NumPy arrays as leaves.  :mod:`mixstat.io`
writes it to a file (a JSON header, the arrays beside it) and reads it back.

Rules
-----
* Only the classes exported by :mod:`mixstat.distributions` are written and read
  (looked up by name in that whitelist: loading never imports or calls anything
  named by the data).
* The state is saved, not the arguments: the normalised weights of a
  ``Categorical``, the float64 Cholesky factor and its inverse of a
  ``MultivariateNormal``, the parameters of the other families; so a loaded
  distribution holds the same bits and computes the same bits.  Broadcast
  (stride-0) dims are saved once and broadcast again on loading (``batch_shape``).
* Every node is validated on loading as its constructor validates, also where the
  saved ``validate_args`` is ``False``: a damaged or foreign dict raises
  ``ValueError`` naming the field.
"""

from __future__ import annotations

import base64
import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _device as _dev
from .._array import fmt_shape

if TYPE_CHECKING:
    from .distribution import Distribution

__all__ = []  # internal: from_dict is exported by the package

FORMAT = "mixstat.distribution"
VERSION = 1
#: the dtypes a saved array may have (parameters are float32 or float64)
DTYPES = ("float32", "float64")
#: nesting depth beyond which a dict is refused (a mixture of mixtures of ... )
MAX_DEPTH = 32

_COMMON = ("type", "dtype", "batch_shape", "validate_args")


def _classes():
    """The whitelist: exported class name -> class (every concrete Distribution of the package)."""
    import mixstat.distributions as pkg

    from .distribution import Distribution, KernelDistribution

    out = {}
    for n in pkg.__all__:
        obj = getattr(pkg, n, None)
        if isinstance(obj, type) and issubclass(obj, Distribution) and obj not in (Distribution, KernelDistribution):
            out[n] = obj
    return out


# -- writing ---------------------------------------------------------------------------
def _host(a):
    if _dev.is_device_array(a):
        a = _dev.to_host(a)
    return np.asarray(a)


def _compact(a, nb, like=()):
    """``a`` with every broadcast (stride-0) dim of its ``nb`` leading (batch) dims cut to size 1:
    the same values, stored once (``batch_shape`` broadcasts them again).  Dims broadcast in
    any array of ``like`` (of ``a``'s shape, of which ``a`` is an elementwise function) are cut too."""
    a = _host(a)
    if a.size == 0:
        return a
    arrays = [a] + [_host(b) for b in like]
    idx = tuple(
        slice(0, 1) if (i < nb and n > 1 and any(b.strides[i] == 0 for b in arrays)) else slice(None)
        for i, n in enumerate(a.shape)
    )
    return a[idx]


def to_dict(dist) -> dict:
    """See :meth:`mixstat.distributions.Distribution.to_dict`."""
    node = _node(dist, 0)
    return {"format": FORMAT, "version": VERSION, **node}


def _node(dist, depth):
    from . import (
        Categorical,
        Distribution,
        Independent,
        KernelDistribution,
        LowRankMultivariateNormal,
        MixtureSameFamily,
        MultivariateNormal,
    )

    if depth > MAX_DEPTH:
        raise ValueError(f"to_dict: distributions nested deeper than {MAX_DEPTH} levels")
    if not isinstance(dist, Distribution):
        raise TypeError(f"to_dict: expected a mixstat Distribution, got {type(dist).__name__}")
    cls = type(dist)
    name = cls.__name__
    if _classes().get(name) is not cls:
        raise TypeError(
            f"to_dict: {cls.__module__}.{name} is not a class of mixstat.distributions "
            "(only those are saved and loaded)"
        )
    node = {
        "type": name,
        "dtype": str(np.dtype(dist.dtype)),
        "batch_shape": [int(s) for s in dist.batch_shape],
        "validate_args": dist.validate_args,
    }
    nb = len(dist.batch_shape)
    if isinstance(dist, MixtureSameFamily):
        node["mixture_distribution"] = _node(dist.mixture_distribution, depth + 1)
        node["component_distribution"] = _node(dist.component_distribution, depth + 1)
    elif isinstance(dist, Independent):
        node["base_distribution"] = _node(dist.base_dist, depth + 1)
        node["reinterpreted_batch_ndims"] = int(dist.reinterpreted_batch_ndims)
    elif isinstance(dist, Categorical):
        # both when both are set (one was derived from the other, elementwise: cut alike)
        if dist._logits is None and dist._probs is None:
            _ = dist.logits  # (normalised now: a file holds normalised rows)
        both = [a for a in (dist._logits, dist._probs) if a is not None]
        params = {}
        if dist._logits is not None:
            params["logits"] = _compact(dist._logits, nb, both)
        if dist._probs is not None:
            params["probs"] = _compact(dist._probs, nb, both)
        node["params"] = params
        node["normalized"] = True
        if dist._weak_dtype:
            node["weak_dtype"] = True
    elif isinstance(dist, MultivariateNormal):
        node["params"] = {
            "loc": _compact(dist.loc, nb),
            "scale_tril": _compact(dist._L64, nb),
            "scale_tril_inverse": _compact(dist._W64, nb),
        }
    elif isinstance(dist, LowRankMultivariateNormal):
        node["params"] = {n: _compact(getattr(dist, n), nb) for n in ("loc", "cov_factor", "cov_diag")}
    elif isinstance(dist, KernelDistribution):
        given = getattr(dist, "_given", None)  # BinaryParams: only the parameter that was given
        node["params"] = {
            n: _compact(getattr(dist, n), nb)
            for n in dist.arg_constraints
            if given is None or n not in ("probs", "logits") or n == given
        }
    else:  # pragma: no cover - a future exported class without a rule here
        raise TypeError(f"to_dict: no saved form is defined for {name}")
    return node


# -- reading ---------------------------------------------------------------------------
def _fail(path, msg):
    raise ValueError(f"field {path!r}: {msg}")


def _join(path, key):
    return f"{path}.{key}" if path else key


def from_dict(d: Mapping[str, Any]) -> Distribution:
    """Rebuild a distribution from :meth:`~mixstat.distributions.Distribution.to_dict`'s dict.

    Parameters
    ----------
    d : dict
        ``{"format": "mixstat.distribution", "version": 1, "type": ..., ...}``
        (``format`` and ``version`` may be left out of a hand-written dict).
        Array leaves may be NumPy arrays, numbers or nested lists (float64), or
        ``{"dtype": "float32", "data": [...]}`` / ``{"dtype", "shape", "base64"}``
        objects (see ``docs/api/io.md``).

    Returns
    -------
    Distribution
        On the CPU, with the saved bits.

    Raises
    ------
    ValueError
        If a field is missing, unknown, of the wrong kind, or its values violate the
        class's constraints (the message names the field); for a newer ``version``.
    TypeError
        If ``d`` is not a dict.

    Examples
    --------
    >>> import numpy as np
    >>> from mixstat.distributions import Normal, from_dict
    >>> d = Normal(np.float32([0.0, 1.0]), np.float32(2.0))
    >>> e = from_dict(d.to_dict())
    >>> e.batch_shape, e.dtype, bool((e.scale == d.scale).all())
    ((2,), dtype('float32'), True)
    >>> from_dict({"type": "Normal", "params": {"loc": 0.0, "scale": -1.0}})
    Traceback (most recent call last):
    ...
    ValueError: field 'params': Normal: parameter scale of shape () must satisfy ...
    """
    return _from_dict(d, None)


def _from_dict(d, arrays):
    """:func:`from_dict`; ``arrays(name, field)`` resolves ``{"npz": name}`` leaves (a saved .npz)."""
    if not isinstance(d, Mapping):
        raise TypeError(f"from_dict: expected a dict, got {type(d).__name__}")
    fmt = d.get("format", FORMAT)
    if fmt != FORMAT:
        _fail("format", f"expected {FORMAT!r}, got {fmt!r} (not a mixstat distribution)")
    version = d.get("version", VERSION)
    if isinstance(version, bool) or not isinstance(version, numbers.Integral):
        _fail("version", f"must be an integer, got {version!r}")
    if not 1 <= int(version) <= VERSION:
        _fail(
            "version",
            f"version {version} is not one this mixstat reads (1 to {VERSION}); a newer mixstat wrote it"
            if int(version) > VERSION
            else f"version {version} is invalid",
        )
    node = {k: v for k, v in d.items() if k not in ("format", "version")}
    return _build(node, "", 0, arrays)


def _keys(node, path, allowed, required):
    if not isinstance(node, Mapping):
        _fail(path or "<root>", f"expected an object (dict), got {type(node).__name__}")
    for k in node:
        if k not in allowed:
            _fail(_join(path, str(k)), f"unknown field for {node.get('type', '?')} (known: {', '.join(allowed)})")
    for k in required:
        if k not in node:
            _fail(_join(path, k), f"missing (required for {node.get('type', '?')})")


def _shape_field(v, path):
    if not isinstance(v, list | tuple) or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 0 for s in v
    ):
        _fail(path, f"must be a list of non-negative integers, got {v!r}")
    return tuple(int(s) for s in v)


def _array(v, path, arrays):
    """A leaf: an ndarray (float32/float64, native byte order) from any of the accepted forms."""
    if isinstance(v, np.ndarray | np.generic):
        a = np.asarray(v)
    elif isinstance(v, Mapping):
        if "npz" in v:
            if set(v) != {"npz"} or arrays is None:
                _fail(path, "an 'npz' array reference is only valid in a saved .npz model, alone")
            a = arrays(v["npz"], path)
            if a.dtype.newbyteorder("=").name not in DTYPES:  # a file holds float32/float64 only
                _fail(path, f"dtype {a.dtype} is not one of {', '.join(DTYPES)}")
        elif "base64" in v:
            if set(v) != {"dtype", "shape", "base64"}:
                _fail(path, "a base64 array needs exactly the fields dtype, shape and base64")
            dt = _dtype_field(v["dtype"], _join(path, "dtype"))
            shape = _shape_field(v["shape"], _join(path, "shape"))
            if not isinstance(v["base64"], str):
                _fail(_join(path, "base64"), "must be a string")
            try:
                raw = base64.b64decode(v["base64"].encode("ascii"), validate=True)
            except (ValueError, UnicodeEncodeError) as exc:
                _fail(_join(path, "base64"), f"is not valid base64 ({exc})")
            n = math.prod(shape)
            if len(raw) != n * dt.itemsize:
                _fail(
                    _join(path, "base64"),
                    f"holds {len(raw)} bytes; dtype {dt} and shape {fmt_shape(shape)} need {n * dt.itemsize}",
                )
            a = np.frombuffer(raw, dtype=dt.newbyteorder("<")).reshape(shape).astype(dt)
        elif "data" in v:
            if not set(v) <= {"dtype", "data"}:
                _fail(path, "a data array has only the fields dtype and data")
            dt = _dtype_field(v.get("dtype", "float64"), _join(path, "dtype"))
            a = _numeric(v["data"], _join(path, "data")).astype(dt)
        else:
            _fail(path, "an array object needs one of the fields 'data', 'base64' or 'npz'")
    else:
        a = _numeric(v, path)
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    if a.dtype.kind != "f" or a.dtype.newbyteorder("=").name not in DTYPES:
        _fail(path, f"dtype {a.dtype} is not one of {', '.join(DTYPES)}")
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    return a


def _dtype_field(v, path):
    if v not in DTYPES:
        _fail(path, f"must be one of {', '.join(DTYPES)}, got {v!r}")
    return np.dtype(v)


def _numeric(v, path):
    if isinstance(v, (bool, str, bytes)) or v is None:
        _fail(path, f"must be a number or a (nested) list of numbers, got {type(v).__name__} {v!r}"[:200])
    try:
        a = np.asarray(v)
    except ValueError as exc:
        _fail(path, f"is ragged or malformed ({exc})")
    if a.dtype.kind not in "biuf" or a.dtype == bool:
        _fail(path, f"must hold numbers only, got dtype {a.dtype}")
    return a


def _validate_flag(node, path):
    va = node.get("validate_args", None)
    if va is not None and not isinstance(va, bool):
        _fail(_join(path, "validate_args"), f"must be null, true or false, got {va!r}")
    return va


def _construct(path, fn):
    try:
        return fn()
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        if msg.startswith("field "):
            raise
        _fail(path, msg)


def _build(node, path, depth, arrays):
    from . import (
        Categorical,
        Independent,
        KernelDistribution,
        LowRankMultivariateNormal,
        MixtureSameFamily,
        MultivariateNormal,
    )

    if depth > MAX_DEPTH:
        _fail(path, f"distributions nested deeper than {MAX_DEPTH} levels")
    if not isinstance(node, Mapping):
        _fail(path or "<root>", f"expected an object (dict), got {type(node).__name__}")
    if "type" not in node:
        _fail(_join(path, "type"), "missing (the class name of the distribution)")
    name = node["type"]
    classes = _classes()
    if not isinstance(name, str) or name not in classes:
        _fail(
            _join(path, "type"),
            f"{name!r} is not a class of mixstat.distributions (known: {', '.join(sorted(classes))})"[:400],
        )
    cls = classes[name]
    va = _validate_flag(node, path)
    pp = _join(path, "params")

    if cls is MixtureSameFamily:
        _keys(
            node,
            path,
            _COMMON + ("mixture_distribution", "component_distribution"),
            ("mixture_distribution", "component_distribution"),
        )
        mix = _build(node["mixture_distribution"], _join(path, "mixture_distribution"), depth + 1, arrays)
        comp = _build(node["component_distribution"], _join(path, "component_distribution"), depth + 1, arrays)
        obj = _construct(path, lambda: MixtureSameFamily(mix, comp, validate_args=va))
    elif cls is Independent:
        _keys(
            node,
            path,
            _COMMON + ("base_distribution", "reinterpreted_batch_ndims"),
            ("base_distribution", "reinterpreted_batch_ndims"),
        )
        base = _build(node["base_distribution"], _join(path, "base_distribution"), depth + 1, arrays)
        n = node["reinterpreted_batch_ndims"]
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            _fail(_join(path, "reinterpreted_batch_ndims"), f"must be an integer, got {n!r}")
        obj = _construct(path, lambda: Independent(base, int(n), validate_args=va))
    elif cls is Categorical:
        _keys(node, path, _COMMON + ("params", "normalized", "weak_dtype"), ("params",))
        params = _params(node["params"], pp, ("probs", "logits"), arrays)
        obj = _categorical(node, path, params, va)
    elif cls is MultivariateNormal:
        _keys(node, path, _COMMON + ("params",), ("params",))
        params = _params(
            node["params"],
            pp,
            ("loc", "covariance_matrix", "precision_matrix", "scale_tril", "scale_tril_inverse"),
            arrays,
        )
        obj = _mvn(params, pp, va)
    elif cls is LowRankMultivariateNormal or issubclass(cls, KernelDistribution):
        _keys(node, path, _COMMON + ("params",), ("params",))
        names = ("loc", "cov_factor", "cov_diag") if cls is LowRankMultivariateNormal else tuple(cls.arg_constraints)
        params = _params(node["params"], pp, names, arrays)
        obj = _construct(pp, lambda: cls(**params, validate_args=va))
        if va is False:  # the saved values are checked all the same
            _construct(pp, lambda: cls(**params))
    else:  # pragma: no cover - a future exported class without a rule here
        _fail(_join(path, "type"), f"{name} has no saved form")

    if "batch_shape" in node:
        bs = _shape_field(node["batch_shape"], _join(path, "batch_shape"))
        if tuple(obj.batch_shape) != bs:
            obj = _construct(_join(path, "batch_shape"), lambda: obj.expand(bs))
    if "dtype" in node:
        dt = node["dtype"]
        if dt not in DTYPES:
            _fail(_join(path, "dtype"), f"must be one of {', '.join(DTYPES)}, got {dt!r}")
        if np.dtype(obj.dtype) != np.dtype(dt):
            _fail(_join(path, "dtype"), f"says {dt}, but the parameters give {np.dtype(obj.dtype)}")
    return obj


def _params(p, path, names, arrays):
    if not isinstance(p, Mapping):
        _fail(path, f"expected an object (dict) of parameters, got {type(p).__name__}")
    out = {}
    for k, v in p.items():
        if k not in names:
            _fail(_join(path, str(k)), f"unknown parameter (known: {', '.join(names)})")
        out[k] = _array(v, _join(path, k), arrays)
    return out


def _readonly(a):
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def _categorical(node, path, params, va):
    from .categorical import Categorical

    pp = _join(path, "params")
    normalized = node.get("normalized", False)
    weak = node.get("weak_dtype", False)
    for key, v in (("normalized", normalized), ("weak_dtype", weak)):
        if not isinstance(v, bool):
            _fail(_join(path, key), f"must be true or false, got {v!r}")
    if not params:
        _fail(pp, "give probs or logits")
    if not normalized:  # a hand-written one: the constructor's rules (exactly one, normalised here)
        obj = _construct(pp, lambda: Categorical(**params, validate_args=va))
        if va is False:
            _construct(pp, lambda: Categorical(**params))
        obj._weak_dtype = weak
        return obj
    # saved state: the normalised weights as they were (re-normalising would change their bits)
    first = "logits" if "logits" in params else "probs"
    obj = _construct(pp, lambda: Categorical(**{first: params[first]}, validate_args=va))
    if va is False:
        _construct(pp, lambda: Categorical(**{first: params[first]}))
    shapes = {k: a.shape for k, a in params.items()}
    dts = {k: a.dtype for k, a in params.items()}
    if len(set(shapes.values())) > 1 or len(set(dts.values())) > 1:
        _fail(pp, f"probs and logits differ in shape or dtype: {shapes}, {dts}")
    a = params[first]
    K = a.shape[-1]
    tol = max(1e-9 if a.dtype == np.float64 else 1e-5, 8 * K * float(np.finfo(a.dtype).eps))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if "probs" in params:
            s = params["probs"].astype(np.float64).sum(-1)
            if not np.all(np.abs(s - 1.0) <= tol):
                _fail(
                    _join(pp, "probs"),
                    f"rows must sum to 1 (normalized is true); a row sums to "
                    f"{float(np.ravel(s)[np.argmax(np.abs(np.ravel(s) - 1.0))])!r}",
                )
        if "logits" in params:
            lg = params["logits"].astype(np.float64)
            m = lg.max(-1, keepdims=True)
            lse = np.log(np.exp(lg - m).sum(-1)) + m[..., 0]
            if not np.all(np.abs(lse) <= tol):
                worst = float(np.ravel(lse)[np.argmax(np.abs(np.ravel(lse)))])
                _fail(
                    _join(pp, "logits"),
                    f"rows must be normalised log-probabilities (normalized is true); a row's logsumexp is {worst!r}",
                )
        if len(params) == 2:
            p64, l64 = params["probs"].astype(np.float64), params["logits"].astype(np.float64)
            e64 = np.exp(l64)
            if not np.all(np.abs(e64 - p64) <= tol * np.maximum(p64, e64) + np.finfo(a.dtype).tiny):
                _fail(pp, "probs and logits disagree (probs must be exp(logits))")
    obj._logits = _readonly(params["logits"]) if "logits" in params else None
    obj._probs = _readonly(params["probs"]) if "probs" in params else None
    obj.__dict__.pop("_cum", None)
    obj._specs = {}
    obj._weak_dtype = weak
    return obj


def _mvn(params, pp, va):
    from .multivariate_normal import MultivariateNormal

    mats = [k for k in ("covariance_matrix", "precision_matrix", "scale_tril") if k in params]
    if "loc" not in params:
        _fail(_join(pp, "loc"), "missing (required for MultivariateNormal)")
    if "scale_tril_inverse" not in params:  # a hand-written one: the constructor's rules
        obj = _construct(pp, lambda: MultivariateNormal(**params, validate_args=va))
        if va is False:
            _construct(pp, lambda: MultivariateNormal(**params))
        return obj
    # saved state: loc (its dtype), the float64 factor L and W = L^-1 as they were
    if mats != ["scale_tril"]:
        _fail(pp, "scale_tril_inverse goes with scale_tril (and no other matrix)")
    loc, L, W = params["loc"], params["scale_tril"], params["scale_tril_inverse"]
    for k, a in (("scale_tril", L), ("scale_tril_inverse", W)):
        if a.dtype != np.float64:
            _fail(_join(pp, k), f"must be float64 (the saved factor), got {a.dtype}")
    obj = _construct(pp, lambda: MultivariateNormal(loc, scale_tril=L, validate_args=va))
    if va is False:
        _construct(pp, lambda: MultivariateNormal(loc, scale_tril=L))
    if W.shape != L.shape:
        _fail(
            _join(pp, "scale_tril_inverse"),
            f"shape {fmt_shape(W.shape)} differs from scale_tril's {fmt_shape(L.shape)}",
        )
    D = L.shape[-1]
    with np.errstate(all="ignore"):
        ok = np.isfinite(W).all() and not np.triu(W, 1).any()
        if ok:
            err = np.abs(W @ L - np.eye(D))
            ok = bool(np.all(err <= 1e-8 * (np.abs(W) @ np.abs(L)) + 1e-12))
    if not ok:
        _fail(_join(pp, "scale_tril_inverse"), "must be the finite lower-triangular inverse of scale_tril")
    batch, event = obj.batch_shape, obj.event_shape
    obj._dtype = loc.dtype
    obj.loc = np.broadcast_to(_readonly(loc), batch + event)
    obj._L64 = np.broadcast_to(_readonly(L), batch + event + event)
    obj._W64 = np.broadcast_to(_readonly(W), batch + event + event)
    obj._specs = {}
    return obj


def cast_dict(d, dtype):
    """A copy of a :func:`to_dict` dict whose distribution computes in ``dtype`` (float32 or
    float64): parameters cast, weights re-normalised in the new dtype on loading (the float64
    factors of a ``MultivariateNormal`` are kept: they are float64 in either dtype)."""
    dtype = np.dtype(dtype)
    if dtype.name not in DTYPES:
        raise ValueError(f"cast_dict: dtype must be one of {', '.join(DTYPES)}, got {dtype}")

    def cast(node):
        out = {}
        for k, v in node.items():
            if isinstance(v, Mapping) and k != "params":
                out[k] = cast(v)
            else:
                out[k] = v
        if "dtype" in out:
            out["dtype"] = dtype.name
        if "params" in node:
            p = dict(node["params"])
            if node.get("type") == "Categorical":
                out.pop("normalized", None)
                out.pop("weak_dtype", None)
                p = {"logits": p["logits"]} if "logits" in p else {"probs": p["probs"]}
            out["params"] = {
                k: (
                    v
                    if k in ("scale_tril", "scale_tril_inverse") and node.get("type") == "MultivariateNormal"
                    else np.asarray(v).astype(dtype)
                )
                for k, v in p.items()
            }
        return out

    with np.errstate(over="ignore"):  # values beyond float32's range become inf: the checks name them
        return cast(d)
