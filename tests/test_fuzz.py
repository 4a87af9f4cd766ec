"""Fuzzing the public API with Hypothesis: malformed input never crashes, hangs or lies.

Every case is judged by an oracle written here, independently of mixstat:

* the input is classified first (malformed data, shapes that do not
  broadcast, parameters outside their constraints, ...), from the raw
  values cast the way the documented dtype rules say;
* a malformed case must raise ``ValueError`` or ``TypeError`` (the class the
  oracle expects) whose message names the offending argument;
* a well-formed case must succeed, with the batch/event shapes and dtype the
  oracle computed, and values equal to a SciPy/NumPy reference (rtol 1e-12 in
  float64, 1e-5 in float32) at points within 10^6 scale units; NaN values give
  NaN, infinite values ``-inf`` log-densities, and nothing else is NaN.

Anything else (another exception, a wrong shape or dtype, a wrong value, a
case over the time limit of ``tests/conftest.py``) fails the test.  Case
counts: ``max_examples`` of the active profile (``ci`` for ``make test``,
``fuzz`` for ``make fuzz``) times the factor in each ``@settings``; the real
number run is printed at the end of the session.

Scales cover the whole positive range, from the smallest subnormal to the
dtype's largest number.  Inputs the fuzzers deliberately avoid: sample sizes
that fit in memory only in theory (those raise ``MemoryError``, which is the
truth).
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats
from scipy.special import logsumexp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import registry as reg

import mixstat
from mixstat.distributions import (
    Categorical,
    Distribution,
    Independent,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
)

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def examples(factor=1.0):
    """``max_examples`` of the active profile scaled by ``factor`` (at least 5)."""
    return max(5, int(settings().max_examples * factor))


# ============================================================== raw inputs
class Raw:
    """One argument as the user passes it, and what the oracle knows about it.

    raw : the object passed to mixstat
    bad : None, or the exception class a malformed argument must raise
    values : float64 array of the numbers it holds (None if bad)
    strong : dtype the argument imposes (None for Python numbers/lists: they follow the others)
    """

    def __init__(self, raw, bad=None, values=None, strong=None, ambiguous=False):
        self.raw, self.bad, self.values, self.strong = raw, bad, values, strong
        self.ambiguous = ambiguous

    @property
    def shape(self):
        return self.values.shape

    def __repr__(self):
        return f"Raw({self.raw!r}, bad={self.bad})"


NUMERIC_FORMS = [
    "f64",
    "f64",
    "f64",
    "f32",
    "f32",
    "list",
    "list",
    "f16",
    "int64",
    "int8",
    "uint16",
    "bool",
    "big-f8",
    "big-f4",
    "strided",
    "readonly",
    "fortran",
    "np-scalar",
]
BAD_FORMS = {
    "string": TypeError,
    "bytes": TypeError,
    "string-array": TypeError,
    "complex": TypeError,
    "complex-list": TypeError,
    "datetime": TypeError,
    "ragged": ValueError,
    "none-list": ValueError,
    "object": ValueError,
    "dict": ValueError,
}


def _bad_raw(form, shape):
    n = max(1, math.prod(shape))
    if form == "string":
        return "1.0"
    if form == "bytes":
        return b"1.0"
    if form == "string-array":
        return np.full(shape or (1,), "a")
    if form == "complex":
        return np.ones(shape, dtype=np.complex128) * (1 + 1j)
    if form == "complex-list":
        return [1.0 + 2j] * n
    if form == "datetime":
        return np.array(["2026-11-25"] * n, dtype="datetime64[D]")
    if form == "ragged":
        return [[1.0, 2.0], [3.0]]
    if form == "none-list":
        return [None, 1.0]
    if form == "object":
        return np.array([1.0, "x", None], dtype=object)
    if form == "dict":
        return {"a": 1.0}
    raise KeyError(form)


def _numeric_raw(form, v):
    """``v`` (float64 array) in the given form; returns Raw whose values are what NumPy reads from it
    (``np.asfortranarray`` makes a 0-d array 1-d, ``[]`` is shape (0,) whatever ``v`` was, ...)."""
    r = _numeric_form(form, v)
    with np.errstate(over="ignore", invalid="ignore"):
        r.values = np.asarray(r.raw).astype(F64)
    return r


def _numeric_form(form, v):
    with np.errstate(over="ignore", invalid="ignore"):
        if form == "f64":
            return Raw(v.copy(), values=v, strong=F64)
        if form == "f32":
            a = v.astype(F32)
            return Raw(a, values=a.astype(F64), strong=F32)
        if form == "list":
            lst = v.tolist()  # empty dims collapse: [] is shape (0,) to NumPy
            return Raw(lst, values=np.array(lst, dtype=F64), strong=None)
        if form == "np-scalar":
            if v.ndim:
                return _numeric_form("f64", v)
            a = np.float32(v)
            return Raw(a, values=np.asarray(a, F64), strong=F32)
        if form == "f16":
            a = v.astype(np.float16)
            return Raw(a, values=a.astype(F64), strong=F64)
        if form in ("int64", "int8", "uint16", "bool"):
            dt = np.dtype(form)
            info = np.iinfo(dt) if dt.kind in "iu" else None
            r = np.nan_to_num(np.round(v), nan=0.0, posinf=0.0, neginf=0.0)
            if info is not None:
                r = np.clip(r, info.min, info.max)
            a = (r != 0) if dt == np.bool_ else r.astype(dt)
            return Raw(a, values=a.astype(F64), strong=F64)
        if form == "big-f8":
            return Raw(v.astype(">f8"), values=v, strong=F64)
        if form == "big-f4":
            a = v.astype(">f4")
            return Raw(a, values=a.astype(F64), strong=F32)
        if form == "strided":
            buf = np.empty(v.shape + (2,), F64)
            buf[..., 0] = v
            buf[..., 1] = 12345.0
            return Raw(buf[..., 0], values=v, strong=F64)
        if form == "readonly":
            a = v.copy()
            a.flags.writeable = False
            return Raw(a, values=v, strong=F64)
        if form == "fortran":
            return Raw(np.asfortranarray(v), values=v, strong=F64)
    raise KeyError(form)


@st.composite
def raw_arg(draw, shape, elements, bad_rate=0.15, forms=NUMERIC_FORMS):
    """A possibly malformed argument of ``shape`` holding ``elements``."""
    if draw(st.floats(0, 1)) < bad_rate:
        form = draw(st.sampled_from(sorted(BAD_FORMS)))
        return Raw(_bad_raw(form, shape), bad=BAD_FORMS[form])
    v = draw(hnp.arrays(F64, shape, elements=elements))
    return _numeric_raw(draw(st.sampled_from(forms)), v)


SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)
SMALL = st.floats(-1e3, 1e3, allow_nan=False)
SPECIAL = st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300, -1e300, 1e300, 1.5])
LOCS = st.one_of(SMALL, SMALL, SMALL, SPECIAL, st.floats(-1e300, 1e300))
# scales over the whole positive range: subnormal (down to the smallest, 5e-324) to the largest float
SCALES = st.one_of(
    st.floats(1e-3, 1e3),
    st.floats(1e-300, 1e300),
    st.floats(5e-324, 1.7976931348623157e308),
    st.sampled_from(
        [
            0.0,
            -1.0,
            -0.0,
            np.nan,
            np.inf,
            -np.inf,
            1.0,
            5e-324,
            1e-310,
            1e-40,
            1e-45,
            1.4e300,
            3.4e38,
            1.7976931348623157e308,
        ]
    ),
)


def result_dtype(*raws):
    strong = [r.strong for r in raws if r.strong is not None]
    return F32 if strong and all(s == F32 for s in strong) else F64


def cast(values, dtype):
    with np.errstate(over="ignore"):
        return values.astype(dtype)


def expect(fn, problems, maybe=()):
    """Run ``fn``.  ``problems``: [(exception class, [names])]; any one must be raised, naming a name.

    With no problems ``fn`` must return (its result is returned).  ``maybe``:
    problems that may or may not be raised (borderline inputs); returns None then.
    """
    allowed = list(problems) + list(maybe)
    if not problems:
        if not maybe:
            return fn()
        try:
            return fn()
        except (ValueError, TypeError) as exc:
            _check_exc(exc, allowed)
            return None
    try:
        fn()
    except (ValueError, TypeError) as exc:
        _check_exc(exc, allowed)
        return None
    raise AssertionError(f"no error raised; expected one of {problems}")


def _check_exc(exc, allowed):
    msg = str(exc)
    ok = any(isinstance(exc, cls) and any(n in msg for n in names) for cls, names in allowed)
    assert ok, f"{type(exc).__name__}({msg!r}) does not match any of {allowed}"


def rtol_for(dtype):
    return 1e-12 if dtype == F64 else 1e-5


def close(actual, expected, dtype, what):
    """Values agree in the stated tolerance; NaN exactly where expected; no other NaN."""
    actual = np.asarray(actual, F64)
    expected = np.asarray(expected, F64)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=f"{what}: NaN pattern")
    r = rtol_for(dtype)
    fin = np.isfinite(expected)
    np.testing.assert_array_equal(
        actual[~fin & ~np.isnan(expected)], expected[~fin & ~np.isnan(expected)], err_msg=f"{what}: infinities"
    )
    err = np.abs(actual[fin] - expected[fin])
    bound = r * np.maximum(1.0, np.abs(expected[fin]))
    assert np.all(err <= bound), (
        f"{what}: max error {np.max(err - bound, initial=0)} over bound\n"
        f"{actual[fin][err > bound][:5]} vs {expected[fin][err > bound][:5]}"
    )


# ============================================================== Normal
def normal_points(loc, scale, z):
    """Points ``loc + z * scale`` (broadcast) and NaN/±inf; float64."""
    x = loc[..., None] + np.asarray(z) * scale[..., None]
    return np.moveaxis(x, -1, 0)


def check_normal(d, loc, scale, dtype, va):
    """log_prob, cdf and sample of a valid Normal against SciPy at points within 10^6 scale units."""
    z = np.array([-1e6, -30.0, -2.5, -0.3, 0.0, 1.0, 7.0, 1e6])
    with np.errstate(over="ignore", invalid="ignore"):
        x = cast(normal_points(loc, scale, z), dtype)
    ok = np.isfinite(x)
    x = np.where(ok, x, 0.0).astype(dtype)
    special = [np.inf, -np.inf] if va else [np.nan, np.inf, -np.inf]  # NaN is outside the support
    x = np.concatenate(
        [
            x,
            np.broadcast_to(
                np.array(special, dtype).reshape((len(special),) + (1,) * loc.ndim), (len(special),) + loc.shape
            ),
        ]
    )
    x64 = x.astype(F64)
    with np.errstate(all="ignore"):
        ref_lp = stats.norm.logpdf(x64, loc, scale)
        ref_cdf = stats.norm.cdf(x64, loc, scale)
    lp = d.log_prob(x)
    assert lp.shape == x.shape and lp.dtype == dtype
    close(lp, ref_lp, dtype, "Normal.log_prob")
    c = d.cdf(x)
    assert c.shape == x.shape and c.dtype == dtype
    close(c, ref_cdf, dtype, "Normal.cdf")  # relative 1e-12 also in the tails (|z| <= 30 here)
    s = d.sample((2,), rng=0)
    assert s.shape == (2,) + loc.shape and s.dtype == dtype
    with np.errstate(over="ignore"):
        assert np.all(np.isfinite(s) | ~np.isfinite(cast(loc, dtype) + 10 * cast(scale, dtype)))


@settings(max_examples=examples(1.5))
@given(data=st.data())
def test_normal_constructor(data):
    loc = data.draw(raw_arg(data.draw(SHAPES), LOCS), label="loc")
    scale = data.draw(raw_arg(data.draw(SHAPES), SCALES), label="scale")
    va = data.draw(st.sampled_from([None, None, True, False]), label="validate_args")
    problems = [(r.bad, [n]) for r, n in ((loc, "loc"), (scale, "scale")) if r.bad]
    shape = dtype = None
    if not problems:
        dtype = result_dtype(loc, scale)
        try:
            shape = np.broadcast_shapes(loc.shape, scale.shape)
        except ValueError:
            problems.append((ValueError, ["loc", "scale"]))
    if not problems:
        # constraints hold for the parameters broadcast to the batch (an empty batch has none to break)
        l = np.broadcast_to(cast(loc.values, dtype), shape)
        s = np.broadcast_to(cast(scale.values, dtype), shape)
        if va is not False:
            if not np.isfinite(l).all():
                problems.append((ValueError, ["loc"]))
            if not (np.isfinite(s) & (s > 0)).all():
                problems.append((ValueError, ["scale"]))
    d = expect(lambda: Normal(loc.raw, scale.raw, validate_args=va), problems)
    if d is None:
        return
    assert d.batch_shape == shape and d.event_shape == () and d.dtype == dtype
    lb, sb = np.broadcast_to(l, shape).astype(F64), np.broadcast_to(s, shape).astype(F64)
    if va is False and not (np.isfinite(lb).all() and (sb > 0).all() and np.isfinite(sb).all()):
        # unchecked invalid parameters: the user opted out; results only need the right shape
        assert d.log_prob(np.zeros(shape, dtype)).shape == shape
        return
    if dtype == F32 and (np.abs(lb) > 1e37).any():
        return  # loc +- 10^6 scale units overflows float32; covered by test_numerics
    check_normal(d, lb, sb, dtype, va)


# ============================================================== Categorical
PROBS = st.one_of(
    st.floats(0, 10),
    st.floats(0, 10),
    st.floats(0, 1e300),
    st.sampled_from([0.0, -1.0, np.nan, np.inf, 1e308, 5e-324, 1.0]),
)
LOGITS = st.one_of(
    st.floats(-50, 50),
    st.floats(-50, 50),
    st.floats(-1e300, 1e300),
    st.sampled_from([-np.inf, -np.inf, np.inf, np.nan, 0.0, 700.0, -800.0]),
)


def categorical_reference(values, kind):
    """Normalised (probabilities, log-probabilities), computed in extended precision (np.longdouble)."""
    v = values.astype(np.longdouble)
    m = v.max(-1, keepdims=True)
    if kind == "probs":
        q = v / m
        with np.errstate(divide="ignore"):
            lp = np.log(q) - np.log(q.sum(-1, keepdims=True))
    else:
        lp = (v - m) - np.log(np.exp(v - m).sum(-1, keepdims=True))
    return np.exp(lp).astype(F64), lp.astype(F64)


@settings(max_examples=examples(1.5))
@given(data=st.data())
def test_categorical_constructor(data):
    kind = data.draw(st.sampled_from(["probs", "logits"]), label="kind")
    shape = data.draw(SHAPES, label="shape")
    p = data.draw(raw_arg(shape, PROBS if kind == "probs" else LOGITS), label=kind)
    va = data.draw(st.sampled_from([None, None, True, False]), label="validate_args")
    problems = []
    if p.bad:
        problems.append((p.bad, [kind]))
    elif len(p.shape) < 1 or p.shape[-1] < 1:
        problems.append((ValueError, [kind]))
    else:
        v = cast(p.values, result_dtype(p))
        if va is not False:
            if kind == "probs":
                if not (np.isfinite(v) & (v >= 0)).all() or not (v.sum(-1) > 0).all():
                    problems.append((ValueError, ["probs"]))
            elif np.isnan(v).any() or (v == np.inf).any() or not (v > -np.inf).any(-1).all():
                problems.append((ValueError, ["logits"]))
    c = expect(lambda: Categorical(**{kind: p.raw}, validate_args=va), problems)
    if c is None:
        return
    dtype = result_dtype(p)
    assert c.batch_shape == p.shape[:-1] and c.dtype == dtype and c.param_shape == p.shape
    unchecked_invalid = not np.all(np.isfinite(v) | (v == -np.inf)) or (kind == "probs" and (v < 0).any())
    if va is False and unchecked_invalid:  # the user opted out of the checks: shapes only
        assert c.sample((2,), rng=1).shape == (2,) + c.batch_shape
        return
    with np.errstate(all="ignore"):
        want, want_log = categorical_reference(v.astype(F64), kind)
    if not np.isfinite(want).all():
        return  # unchecked rows with no mass (validate_args=False)
    # subnormal probabilities have only absolute precision: atol = the smallest normal number
    np.testing.assert_allclose(
        c.probs, want, rtol=10 * rtol_for(dtype), atol=float(np.finfo(dtype).tiny), err_msg="normalised probs"
    )
    K = p.shape[-1]
    lo, hi = (0, K) if va else (-1, K + 1)  # validate_args=True rejects values outside the support
    idx = np.arange(lo, hi, dtype=F64).reshape((-1,) + (1,) * len(c.batch_shape))
    at = np.clip(idx, 0, K - 1).astype(int)[..., None]
    ref_lp = np.where(
        (idx >= 0) & (idx < K),
        np.take_along_axis(np.broadcast_to(want_log, (hi - lo,) + want.shape), at, -1)[..., 0],
        -np.inf,
    )
    got_lp = c.log_prob(idx)
    # probabilities below the smallest normal number are stored rounded (as probs): there the
    # log-probability need only be at most log(tiny) (-inf allowed); everywhere else, the bound
    sub = ref_lp < np.log(np.finfo(dtype).tiny)
    assert np.all(got_lp[sub] <= np.log(np.finfo(dtype).tiny) + 1e-6), "a tiny probability came out large"
    close(np.where(sub, 0, got_lp), np.where(sub, 0, ref_lp), dtype, "Categorical.log_prob")
    s = c.sample((50,), rng=2)
    assert s.shape == (50,) + c.batch_shape and s.dtype == np.int64
    assert np.all((s >= 0) & (s < K))
    chosen = np.take_along_axis(np.broadcast_to(want, (50,) + want.shape), s[..., None], -1)
    assert np.all(chosen > 0), "drew a category of probability 0"


# ============================================================== MultivariateNormal
MAT_KINDS = ["spd", "spd", "spd", "asym", "not-pd", "nan", "inf", "tril-upper", "tril-negdiag"]
MVN_NAMES = ["covariance_matrix", "precision_matrix", "scale_tril"]


def _mvn_matrix(rng, batch, D, kind, name, exponent):
    """A matrix of the requested kind; returns (matrix, what is wrong with it or None).

    SPD matrices have eigenvalues in [0.5, 2] * 10**exponent; non-PD ones an
    eigenvalue of -10**exponent; non-symmetric ones an asymmetry of
    10**exponent: far from every tolerance.  Kinds that do not apply to
    ``name`` or ``D`` give a valid matrix.
    """
    batch = tuple(batch)
    if D == 0:
        return np.zeros(batch + (0, 0)), None
    c = 10.0**exponent
    Q, _ = np.linalg.qr(rng.normal(size=batch + (D, D)))
    ev = rng.uniform(0.5, 2.0, size=batch + (D,))
    if kind == "not-pd" and name != "scale_tril":
        ev[..., 0] = -1.0
    m = Q @ (ev[..., None] * np.swapaxes(Q, -1, -2)) * c
    m = 0.5 * (m + np.swapaxes(m, -1, -2))
    if name == "scale_tril":
        m = np.linalg.cholesky(m)
    m = m.copy()
    if kind == "not-pd":
        if name == "scale_tril":
            m[..., 0, 0] = -m[..., 0, 0]
            return m, "positive diagonal"
        return m, "positive-definite"
    if kind == "asym" and name != "scale_tril" and D >= 2:
        m[..., 0, 1] += c
        return m, "symmetric"
    if kind in ("nan", "inf"):
        m[(0,) * len(batch) + (D - 1, 0)] = np.nan if kind == "nan" else np.inf
        return m, "finite"
    if kind == "tril-upper" and name == "scale_tril" and D >= 2:
        m[..., 0, D - 1] = c
        return m, "lower-triangular"
    if kind == "tril-negdiag" and name == "scale_tril":
        m[..., 0, 0] = -m[..., 0, 0]
        return m, "positive diagonal"
    return m, None


@settings(max_examples=examples(1.0))
@given(data=st.data())
def test_mvn_constructor(data):
    D = data.draw(st.integers(0, 4), label="D")
    name = data.draw(st.sampled_from(MVN_NAMES), label="name")
    kind = data.draw(st.sampled_from(MAT_KINDS), label="kind")
    batch_m = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3), label="mbatch")
    batch_l = data.draw(st.sampled_from([batch_m, batch_m[1:], (), (2,) + batch_m, (5,)]), label="lbatch")
    Dl = data.draw(st.sampled_from([D, D, D, D + 1, max(D - 1, 0)]), label="Dl")
    square = data.draw(st.sampled_from([True, True, True, False]), label="square")
    exponent = data.draw(st.sampled_from([0, 0, -3, 3, -60, 60]), label="exponent")
    dtype = data.draw(st.sampled_from([F64, F64, F32]), label="dtype")
    loc_kind = data.draw(st.sampled_from(["ok", "ok", "ok", "nan", "inf", "scalar", "list"]), label="loc")
    va = data.draw(st.sampled_from([None, None, True, False]), label="validate_args")
    if dtype == F32 and abs(exponent) > 30:
        exponent = 0
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    m, what = _mvn_matrix(rng, batch_m, D, kind, name, exponent)
    if not square:
        m = m[..., : max(D - 1, 0)] if D else np.zeros(batch_m + (2, 1))
        what = None
    loc = rng.normal(size=batch_l + (Dl,)) * (10.0**exponent) ** 0.5
    if loc_kind in ("nan", "inf") and loc.size:
        loc.reshape(-1)[0] = np.nan if loc_kind == "nan" else -np.inf
    elif loc_kind in ("nan", "inf"):
        loc_kind = "ok"
    m = m.astype(dtype)
    loc = loc.astype(dtype)
    loc_raw = 1.0 if loc_kind == "scalar" else (loc.tolist() if loc_kind == "list" else loc)
    problems, maybe = [], []
    if loc_kind == "scalar":
        problems.append((ValueError, ["loc"]))
    elif m.ndim < 2 or m.shape[-1] != m.shape[-2]:
        problems.append((ValueError, [name]))
    elif Dl != m.shape[-1]:
        problems.append((ValueError, ["loc", name]))
    elif D < 1:
        problems.append((ValueError, ["D", "event"]))
    else:
        try:
            batch = np.broadcast_shapes(batch_l, batch_m)
        except ValueError:
            problems.append((ValueError, ["loc", name]))
    if not problems:
        if loc_kind in ("nan", "inf") and va is not False:
            problems.append((ValueError, ["loc"]))
        if what is not None and (va is not False or what == "positive-definite"):
            problems.append((ValueError, [name]))
        elif what is not None:
            maybe.append((ValueError, [name]))  # unchecked: a failed factorisation is still reported
    d = expect(lambda: MultivariateNormal(loc_raw, **{name: m}, validate_args=va), problems, maybe)
    if d is None:
        return
    assert d.batch_shape == batch and d.event_shape == (D,) and d.dtype == dtype
    if what is not None or loc_kind in ("nan", "inf"):
        assert d.log_prob(np.zeros(D, dtype)).shape == batch  # unchecked invalid input: shapes only
        return
    cov = {
        "covariance_matrix": lambda a: a,
        "precision_matrix": np.linalg.inv,
        "scale_tril": lambda a: a @ np.swapaxes(a, -1, -2),
    }[name](m.astype(F64))
    locb = np.broadcast_to(loc.astype(F64), batch + (D,))
    covb = np.broadcast_to(cov, batch + (D, D))
    Lc = np.linalg.cholesky(covb)
    z = rng.normal(size=(3,) + batch + (D,)) * 2
    x = (locb + np.einsum("...ij,...j->...i", Lc, z)).astype(dtype)
    nan = np.full((1,) + batch + (D,), np.nan if not va else 0.5, dtype)  # NaN is outside the support
    x = np.concatenate([x, nan, np.full((1,) + batch + (D,), np.inf, dtype)])
    ref = np.stack([_mvn_logpdf(x[i].astype(F64), locb, covb) for i in range(x.shape[0])])
    lp = d.log_prob(x)
    assert lp.shape == (5,) + batch and lp.dtype == dtype
    r = 1e-10 if dtype == F64 else 1e-4  # the reference itself inverts matrices of condition <= 4
    err = np.abs(lp[:3] - ref[:3])
    assert np.all(err <= r * np.maximum(1, np.abs(ref[:3]))), (lp[:3], ref[:3])
    assert np.all(np.isnan(lp[3]) if not va else np.isfinite(lp[3])) and np.all(lp[4] == -np.inf)
    s = d.sample((2,), rng=3)
    assert s.shape == (2,) + batch + (D,) and s.dtype == dtype and np.isfinite(s).all()


def _mvn_logpdf(x, loc, cov):
    """Plain NumPy log-density of x (…, D) under N(loc, cov), broadcast over the batch."""
    D = loc.shape[-1]
    L = np.linalg.cholesky(cov)
    y = np.linalg.solve(L, (x - loc)[..., None])[..., 0]
    logdet = np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
    return -0.5 * (y * y).sum(-1) - logdet - 0.5 * D * math.log(2 * math.pi)


# ============================================================== Independent
@settings(max_examples=examples(0.7))
@given(data=st.data())
def test_independent_constructor(data):
    bshape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3), label="base batch")
    n = data.draw(
        st.one_of(st.integers(-2, 5), st.sampled_from([1.0, True, "1", None, np.int64(1), np.uint8(0), 2**70])),
        label="ndims",
    )
    base = Normal(np.zeros(bshape), np.ones(bshape))
    if isinstance(n, (bool, float, str)) or n is None:
        problems = [(TypeError, ["reinterpreted_batch_ndims"])]
    elif not 0 <= int(n) <= len(bshape):
        problems = [(ValueError, ["reinterpreted_batch_ndims"])]
    else:
        problems = []
    d = expect(lambda: Independent(base, n), problems)
    if d is None:
        return
    k = len(bshape) - int(n)
    assert d.batch_shape == bshape[:k] and d.event_shape == bshape[k:]
    x = np.linspace(-2, 2, math.prod(bshape)).reshape(bshape)
    want = stats.norm.logpdf(x).sum(axis=tuple(range(k, len(bshape))))
    close(d.log_prob(x), want, F64, "Independent.log_prob")
    assert d.sample((3,), rng=0).shape == (3,) + bshape


# ============================================================== MixtureSameFamily
@settings(max_examples=examples(1.5))
@given(data=st.data())
def test_mixture_constructor_and_results(data):
    K = data.draw(st.integers(1, 5), label="K")
    Kc = data.draw(st.sampled_from([K, K, K, K + 1]), label="Kc")
    wb = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3), label="weights batch")
    cb = data.draw(st.sampled_from([wb, wb[1:], (), (2,) + wb, (4,), tuple(1 for _ in wb)]), label="comp batch")
    wkind = data.draw(st.sampled_from(["probs", "logits"]), label="wkind")
    comp_kind = data.draw(
        st.sampled_from(["normal", "normal", "indep", "mvn", "cat", "scalar", "notdist", "notcat"]), label="comp"
    )
    dtype = data.draw(st.sampled_from([F64, F64, F32]), label="dtype")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    w = rng.uniform(0, 1, size=wb + (K,))
    zero = data.draw(st.booleans(), label="zero weight")
    if zero and K > 1:
        w[..., 0] = 0.0
    with np.errstate(divide="ignore"):
        wp = np.log(w) if wkind == "logits" else w
    mix = Categorical(**{wkind: wp.astype(dtype)})
    comp_batch = cb + (Kc,)
    D = 2
    if comp_kind == "normal":
        loc, scale = rng.normal(size=comp_batch) * 3, rng.uniform(0.3, 2, comp_batch)
        comp = Normal(loc.astype(dtype), scale.astype(dtype))
    elif comp_kind == "indep":
        loc, scale = rng.normal(size=comp_batch + (D,)) * 3, rng.uniform(0.3, 2, comp_batch + (D,))
        comp = Independent(Normal(loc.astype(dtype), scale.astype(dtype)), 1)
    elif comp_kind == "mvn":
        loc = rng.normal(size=comp_batch + (D,)) * 3
        A = rng.normal(size=comp_batch + (D, D))
        cov = A @ np.swapaxes(A, -1, -2) + np.eye(D)
        comp = MultivariateNormal(loc.astype(dtype), covariance_matrix=cov.astype(dtype))
    elif comp_kind == "cat":
        cp = rng.uniform(0, 1, comp_batch + (3,))
        cp[..., 1] = 0.0
        comp = Categorical(probs=cp.astype(dtype))
    elif comp_kind == "scalar":
        comp = Normal(np.array(0.0, dtype), np.array(1.0, dtype))
    elif comp_kind == "notdist":
        comp = np.zeros(comp_batch)
    else:
        comp = Normal(np.zeros(comp_batch, dtype), np.ones(comp_batch, dtype))
    mixture = Normal(0.0, 1.0) if comp_kind == "notcat" else mix
    problems = []
    if comp_kind == "notcat":
        problems.append(((ValueError, TypeError), ["mixture_distribution"]))
    elif comp_kind == "notdist":
        problems.append(((ValueError, TypeError), ["component_distribution"]))
    elif comp_kind == "scalar":
        problems.append((ValueError, ["component_distribution"]))
    elif Kc != K:
        problems.append((ValueError, ["component_distribution", "K="]))
    else:
        try:
            batch = np.broadcast_shapes(wb, cb)
        except ValueError:
            problems.append((ValueError, ["mixture_distribution", "component_distribution"]))
    d = expect(lambda: MixtureSameFamily(mixture, comp), problems)
    if d is None:
        return
    event = (D,) if comp_kind in ("indep", "mvn") else ()
    assert d.batch_shape == batch and d.event_shape == event and d.dtype == dtype
    probs = np.broadcast_to(w / w.sum(-1, keepdims=True), batch + (K,))
    # values: samples, and points around the components, NaN and inf
    x = d.sample((4,), rng=5)
    assert x.shape == (4,) + batch + event
    assert x.dtype == (np.int64 if comp_kind == "cat" else dtype)
    x = x.astype(dtype)
    special = np.full((2,) + batch + event, np.nan, dtype)
    special[1] = np.inf
    x = np.concatenate([x, special])
    comp_lp = comp.log_prob(x.reshape((6,) + batch + (1,) + event))  # (6, *batch, K): the components alone
    comp_lp = comp_lp.astype(F64)
    with np.errstate(divide="ignore", invalid="ignore"):
        want = logsumexp(comp_lp, b=probs, axis=-1)
    want[4] = np.nan
    want[5] = -np.inf
    close(d.log_prob(x), want, dtype, "mixture log_prob")
    _, index = d.sample((30,), rng=6, return_index=True)
    assert index.shape == (30,) + batch
    assert np.all(np.take_along_axis(np.broadcast_to(probs, (30,) + probs.shape), index[..., None], -1) > 0)
    if event == ():
        cdf_k = comp.cdf(x.reshape((6,) + batch + (1,))).astype(F64)
        want_c = (probs * cdf_k).sum(-1)
        want_c[4] = np.nan
        want_c[5] = 1.0
        close(d.cdf(x), want_c, dtype, "mixture cdf")


# ============================================================== values
def _value_elements(ex):
    if ex.discrete:
        return st.one_of(st.integers(-2, 6).map(float), st.sampled_from([0.5, 2.5, -0.5]))
    return st.one_of(st.floats(-20, 20), st.floats(-1e6, 1e6), st.sampled_from([0.0, 1.0, -3.0]))


@st.composite
def value_case(draw, ex):
    """A value for ``ex``: right, broadcast or wrong shape; any form; NaN/inf sprinkled in."""
    batch, event = ex.batch_shape, ex.event_shape
    how = draw(st.sampled_from(["event", "batch", "lead", "ones", "wrong-event", "wrong-batch", "random"]))
    if how == "event":
        shape = event
    elif how == "batch":
        shape = batch + event
    elif how == "lead":
        shape = (draw(st.integers(0, 3)),) + batch + event
    elif how == "ones":
        shape = (2,) + tuple(1 for _ in batch) + event
    elif how == "wrong-event":
        shape = batch + ((event[0] + draw(st.sampled_from([-1, 1])),) if event else (4,))
    elif how == "wrong-batch":
        shape = ((batch[0] + 1,) + batch[1:] if batch else (5,)) + event
    else:
        shape = draw(SHAPES)
    raw = draw(raw_arg(shape, _value_elements(ex), bad_rate=0.12))
    # sprinkle NaN / +-inf (only in float forms: ints cannot hold them)
    if (
        raw.bad is None
        and raw.values.size
        and draw(st.booleans())
        and raw.strong in (F64, F32)
        and isinstance(raw.raw, np.ndarray)
        and raw.raw.dtype.kind == "f"
    ):
        flat = np.array(raw.raw, copy=True).reshape(-1)
        i = draw(st.integers(0, flat.size - 1))
        flat[i] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        arr = flat.reshape(raw.raw.shape).astype(raw.raw.dtype)
        raw = Raw(arr, values=arr.astype(F64), strong=raw.strong)
    return raw


def expected_value_dtype(ex, raw):
    if ex.discrete:
        return ex.dtype
    return result_dtype(raw, Raw(None, strong=ex.dtype))


def _special_semantics(values, ex, op):
    """Expected results at values with NaN/inf (per event), and where the reference applies."""
    ev = values
    if ex.event_shape:
        nan = np.isnan(ev).any(-1)
        inf = np.isinf(ev).any(-1)
    else:
        nan, inf = np.isnan(ev), np.isinf(ev)
    out = np.full(nan.shape, np.nan)
    if op == "log_prob" and "periodic" in ex.tags:
        pass  # a periodic density (VonMises) has no value at +-inf: NaN
    elif op == "log_prob":
        out[inf & ~nan] = -np.inf
    else:
        out[inf & ~nan] = np.where(ev[inf & ~nan] > 0, 1.0, 0.0)
    return nan | inf, out


VALUE_EXAMPLES = list(reg.EXAMPLES)


@settings(max_examples=examples(3.0))
@given(data=st.data())
def test_log_prob_and_cdf_values(data):
    ex = data.draw(st.sampled_from(VALUE_EXAMPLES), label="example")
    has_cdf = ex.event_shape == () and "no-cdf" not in ex.tags
    op = data.draw(st.sampled_from(["log_prob", "cdf", "prob"] if has_cdf else ["log_prob", "prob"]), label="op")
    raw = data.draw(value_case(ex), label="value")
    va = data.draw(st.sampled_from([None, None, True]), label="validate_args")
    d = ex.make()
    if va:
        d._validate_args = True  # the registry factories take no validate_args: switch value checks on
    problems = []
    if raw.bad:
        problems.append((raw.bad, ["value"]))
    else:
        shape, ne = raw.shape, len(ex.event_shape)
        if len(shape) < ne or shape[len(shape) - ne :] != ex.event_shape:
            problems.append((ValueError, ["value"]))
        else:
            try:
                out_shape = np.broadcast_shapes(shape[: len(shape) - ne], ex.batch_shape)
            except ValueError:
                problems.append((ValueError, ["value"]))
    dtype = None if raw.bad else expected_value_dtype(ex, raw)
    if not problems and va:
        v = cast(raw.values, dtype)
        with np.errstate(invalid="ignore"):
            if ex.discrete:
                ok = (v % 1 == 0) & (v >= 0) & (v <= ex.ref.support_max)
            else:  # the reference's support (scipy's for the families of tests/examples)
                ok = np.asarray(ex.ref.in_support(v))
        if not ok.all():
            problems.append((ValueError, ["value"]))
    res = expect(lambda: getattr(d, op)(raw.raw), problems)
    if res is None:
        return
    assert isinstance(res, np.ndarray) and res.shape == out_shape, (res, out_shape)
    assert res.dtype == dtype, (res.dtype, dtype)
    v = cast(raw.values, dtype)
    special, sval = _special_semantics(v, ex, "cdf" if op == "cdf" else "log_prob")
    clean = np.where(np.isfinite(v), v, 0.0).astype(dtype)
    ref_op = "cdf" if op == "cdf" else "log_prob"
    with np.errstate(all="ignore"):
        want = np.array(getattr(ex.ref, ref_op)(clean), dtype=F64)
    want = np.broadcast_to(want, out_shape).copy()
    sb = np.broadcast_to(special, out_shape)
    want[sb] = np.broadcast_to(sval, out_shape)[sb]
    if op == "prob":
        want = np.exp(want)
    # a float32 distribution at float64 values gives float64 results, but its parameters (mixture
    # weights normalised in float32) carry float32 accuracy: float32 tolerance
    close(res, want, ex.dtype if ex.dtype == F32 else dtype, f"{ex.id}.{op}")


# ============================================================== sample
SAMPLE_SHAPES = st.one_of(
    st.integers(-3, 4),
    st.tuples(st.integers(-1, 3)),
    st.lists(st.integers(0, 3), max_size=3).map(tuple),
    st.lists(st.integers(0, 3), max_size=3),
    st.sampled_from(
        [
            (),
            (2.0,),
            2.5,
            (True,),
            True,
            "3",
            None,
            (np.int64(2), np.uint8(1)),
            np.array([2, 1]),
            np.array([2.0]),
            ((1,),),
            (0, 2**70),
            (2**62, 2**62),
            (2**65,),
            (np.int64(-1),),
            np.int32(3),
            {"a": 1},
        ]
    ),
)
RNGS = st.one_of(
    st.integers(0, 2**80),
    st.sampled_from([None, -1, 1.5, "seed", True, np.int64(3), np.uint64(2**63), b"x", [1, 2]]),
    st.integers(0, 100).map(np.random.default_rng),
    st.just(np.random.RandomState(0)),
)


def _expected_shape(ss):
    """The oracle's reading of a sample_shape: (tuple, None) or (None, exception class)."""
    if isinstance(ss, (bool, np.bool_)):
        return None, TypeError
    if isinstance(ss, (int, np.integer)):
        ss = (ss,)
    if isinstance(ss, np.ndarray):
        if ss.dtype.kind not in "iu":
            return None, TypeError
        ss = tuple(ss.tolist())
    if not isinstance(ss, (tuple, list)):
        return None, TypeError
    for s in ss:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            return None, TypeError
    if any(int(s) < 0 for s in ss):
        return None, ValueError
    return tuple(int(s) for s in ss), None


@settings(max_examples=examples(2.0))
@given(data=st.data())
def test_sample_shapes_and_rng(data):
    ex = data.draw(st.sampled_from(reg.EXAMPLES), label="example")
    ss = data.draw(SAMPLE_SHAPES, label="sample_shape")
    rng = data.draw(RNGS, label="rng")
    return_index = ex.is_mixture and data.draw(st.booleans(), label="return_index")
    d = ex.make()
    shape, exc = _expected_shape(ss)
    problems = []
    if exc is not None:
        problems.append((exc, ["sample_shape"]))
    else:
        full = shape + ex.batch_shape + ex.event_shape
        if any(s > np.iinfo(np.intp).max for s in full) or math.prod(full) * 8 > np.iinfo(np.intp).max:
            problems.append((ValueError, ["sample_shape"]))
        elif isinstance(rng, (bool, float, str, bytes, list, np.random.RandomState)):
            problems.append((TypeError, ["rng"]))
        elif isinstance(rng, (int, np.integer)) and int(rng) < 0:
            problems.append((ValueError, ["rng"]))
    kw = {"return_index": True} if return_index else {}
    res = expect(lambda: d.sample(ss, rng=rng, **kw), problems)
    if res is None:
        return
    s, idx = res if return_index else (res, None)
    assert s.shape == shape + ex.batch_shape + ex.event_shape
    assert s.dtype == (np.int64 if ex.discrete else ex.dtype)
    if ex.discrete:
        assert np.all((s >= 0) & (s <= ex.ref.support_max))
    else:
        assert np.isfinite(s).all()
    if idx is not None:
        assert idx.shape == shape + ex.batch_shape and idx.dtype == np.int64
        assert np.all((idx >= 0) & (idx < ex.ref.K))
    if isinstance(rng, (int, np.integer)):  # an int seed reproduces its bits
        again = d.sample(ss, rng=rng, **kw)
        np.testing.assert_array_equal(again[0] if return_index else again, s)


# ============================================================== expand
BATCH_SHAPES = st.one_of(
    st.lists(st.integers(0, 4), max_size=4).map(tuple),
    st.sampled_from([(-1,), (2.0,), "2", None, True, (True,), 3, np.array([2, 3]), (2**70,)]),
)


@settings(max_examples=examples(1.5))
@given(data=st.data())
def test_expand(data):
    ex = data.draw(st.sampled_from(reg.EXAMPLES), label="example")
    d = ex.make()
    target = data.draw(
        st.one_of(
            BATCH_SHAPES,
            st.lists(st.integers(1, 3), max_size=2).map(lambda lead: tuple(lead) + ex.batch_shape),
            st.just(tuple(2 if s == 1 else s for s in ex.batch_shape)),
        ),
        label="batch_shape",
    )
    shape, exc = _expected_shape(target)
    problems = []
    if exc is not None:
        problems.append((exc, ["batch_shape"]))
    else:
        try:
            ok = np.broadcast_shapes(ex.batch_shape, shape) == shape
        except ValueError:
            ok = False
        if not ok or any(s > np.iinfo(np.intp).max for s in shape):
            problems.append((ValueError, ["batch_shape"]))
    e = expect(lambda: d.expand(target), problems)
    if e is None:
        return
    assert isinstance(e, Distribution) and e.batch_shape == shape and e.event_shape == ex.event_shape
    assert e.dtype == d.dtype
    x = d.sample((2,), rng=1)
    x = x.reshape((2,) + (1,) * (len(shape) - len(ex.batch_shape)) + ex.batch_shape + ex.event_shape)
    want = np.broadcast_to(d.log_prob(x), (2,) + shape)
    np.testing.assert_array_equal(e.log_prob(x), want)
    s = e.sample((2,), rng=1)
    assert s.shape == (2,) + shape + ex.event_shape
    if ex.event_shape == () and "no-cdf" not in ex.tags:
        np.testing.assert_array_equal(e.cdf(x), np.broadcast_to(d.cdf(x), (2,) + shape))


# ============================================================== tensor
@settings(max_examples=examples(0.7))
@given(data=st.data())
def test_tensor(data):
    raw = data.draw(raw_arg(data.draw(SHAPES), LOCS, bad_rate=0.3), label="data")
    dtype = data.draw(st.sampled_from([None, None, "float32", "float64", "int64", "complex128", "U3"]), label="dtype")
    problems = []
    if raw.bad:
        problems.append((raw.bad, ["data"]))
    elif dtype in ("complex128", "U3"):
        problems.append((TypeError, ["dtype"]))
    if dtype == "int64" and not raw.bad and not np.isfinite(raw.values).all():
        return  # NumPy's own cast of NaN to int: not mixstat's business
    t = expect(lambda: mixstat.tensor(raw.raw, dtype=dtype), problems)
    if t is None:
        return
    assert isinstance(t, np.ndarray) and t.shape == raw.shape
    if dtype is None:
        want = np.asarray(raw.raw).dtype
        if want.kind == "f":
            want = F32 if want.itemsize == 4 else F64
        assert t.dtype == want
    else:
        assert t.dtype == np.dtype(dtype)
    if isinstance(raw.raw, np.ndarray):
        assert not np.shares_memory(t, raw.raw)
