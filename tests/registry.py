"""The one registry of example parameter sets that drives the generic and sampler tests.

Each :class:`Example` has

* ``id``: a readable test id;
* ``make``: a zero-argument factory that builds the mixstat distribution;
* ``ref``: a plain NumPy/SciPy reference (see :mod:`reference`) built from the
  *same* raw parameters (cast to float64), never from mixstat;
* ``batch_shape``, ``event_shape``, ``dtype``: written down by hand here, so the
  shape tests compare mixstat against an expectation stated independently;
* ``sampler``: how the sampler is checked in ``test_samplers.py``:

  ``"ks"``
      univariate continuous: Kolmogorov-Smirnov against ``ref.cdf`` per batch entry;
  ``"ks-marginals"``
      vector events: KS of every coordinate against ``ref.marginal(i).cdf`` per
      batch entry, plus the sample covariance against ``ref.covariance``;
  ``"chi2"``
      discrete: chi-square of the counts against ``ref.pmf()`` per batch entry
      (``ref.n_cells`` cells, the last pooling the values above; see ``reference.py``);
  ``"chi2-marginals"``
      discrete vector events (``Independent`` of a discrete family): the same per
      coordinate against ``ref.marginal(i).pmf()``.

  Mixtures (``is_mixture``) are additionally checked through
  ``sample(..., return_index=True)``: chi-square of the indices against the
  mixture weights ``ref.weights``, and the draws given index ``k`` against
  component ``k`` (``ref.component``).

Parameters are fixed (drawn once from a seeded NumPy generator at import time).
"""

from __future__ import annotations

import math
import os
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mixstat.distributions import Categorical, Independent, MixtureSameFamily, MultivariateNormal, Normal

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference as R

F64 = np.dtype(np.float64)
F32 = np.dtype(np.float32)


@dataclass(frozen=True)
class Example:
    id: str
    make: Callable[[], Any]
    ref: Any
    batch_shape: tuple
    event_shape: tuple
    dtype: np.dtype
    sampler: str
    family: str
    is_mixture: bool = False
    tags: frozenset = field(default_factory=frozenset)

    @property
    def discrete(self):
        return self.sampler in ("chi2", "chi2-marginals")

    @property
    def n_batch(self):
        return math.prod(self.batch_shape)

    @property
    def has_entropy(self):
        # "no-entropy": a family without one (NegativeBinomial, as in torch): NotImplementedError
        return not self.is_mixture and "no-entropy" not in self.tags

    @property
    def has_numeric_mean(self):
        return not self.discrete

    def __repr__(self):
        return f"Example({self.id})"


EXAMPLES: list[Example] = []

_rng = np.random.default_rng(20261125)


def _add(**kw):
    ex = Example(**kw)
    assert ex.id not in {e.id for e in EXAMPLES}, ex.id
    EXAMPLES.append(ex)
    return ex


def _spd(batch, D, rng=_rng):
    """A well-conditioned symmetric positive-definite matrix per batch entry."""
    A = rng.normal(size=tuple(batch) + (D, D))
    return A @ np.swapaxes(A, -1, -2) / D + 0.5 * np.eye(D)


def _tril(batch, D, rng=_rng):
    L = np.tril(rng.normal(scale=0.4, size=tuple(batch) + (D, D)), -1)
    d = rng.uniform(0.5, 1.5, size=tuple(batch) + (D,))
    return L + d[..., :, None] * np.eye(D)


def _cast(dtype, *arrays):
    return tuple(np.asarray(a, dtype=dtype) for a in arrays)


def _sfx(dtype):
    return "-f32" if dtype == F32 else ""


def _bid(batch):
    return "b" + ("x".join(str(s) for s in batch) if batch else "0")


# ---------------------------------------------------------------- Normal
for batch, pshape_loc, pshape_scale, dt in [
    ((), (), (), F64),
    ((3,), (3,), (3,), F64),
    ((2, 4), (2, 4), (4,), F64),  # scale broadcast against loc
    ((3,), (3,), (), F32),
    ((2, 4), (2, 1), (4,), F32),  # both broadcast
    ((3, 1), (3, 1), (1,), F64),  # a size-1 batch dim
]:
    loc, scale = _cast(dt, _rng.uniform(-2, 2, pshape_loc), _rng.uniform(0.5, 2.0, pshape_scale))
    _add(
        id=f"normal-{_bid(batch)}{_sfx(dt)}",
        make=(lambda loc=loc, scale=scale: Normal(loc, scale)),
        ref=R.NormalRef(loc=loc, scale=scale),
        batch_shape=batch,
        event_shape=(),
        dtype=dt,
        sampler="ks",
        family="normal",
    )

# ---------------------------------------------------------------- Categorical
_cat_cases = [
    # id, batch, kind, param (before cast), dtype
    ("probs", (), "probs", np.array([0.2, 0.5, 0.3]), F64),
    (
        "probs-unnormalised-zero",
        (3,),
        "probs",
        np.array([[1.0, 0.0, 2.0, 1.0], [0.5, 0.5, 0.5, 0.5], [0.0, 3.0, 1.0, 0.0]]),
        F64,
    ),
    ("logits-neginf", (2, 4), "logits", None, F64),
    ("logits", (3,), "logits", _rng.normal(size=(3, 5)), F32),
    ("probs", (2, 4), "probs", None, F32),
    ("probs-K1", (3,), "probs", np.full((3, 1), 2.0), F64),
    ("probs", (3, 1), "probs", None, F64),
]
for name, batch, kind, param, dt in _cat_cases:
    if param is None and kind == "logits":
        param = _rng.normal(size=batch + (5,))
        param[0, 1, 2] = -np.inf
        param[1, 3, 0] = -np.inf
        param[1, 0, 4] = -np.inf
    elif param is None:
        param = _rng.uniform(0.1, 1.0, size=batch + (3,))
    (param,) = _cast(dt, param)
    if kind == "probs":
        make = lambda p=param: Categorical(probs=p)
        ref = R.CategoricalRef(probs=param)
    else:
        make = lambda p=param: Categorical(logits=p)
        ref = R.CategoricalRef(logits=param)
    _add(
        id=f"cat-{name}-{_bid(batch)}{_sfx(dt)}",
        make=make,
        ref=ref,
        batch_shape=batch,
        event_shape=(),
        dtype=dt,
        sampler="chi2",
        family="categorical",
        tags=frozenset({"K1"}) if param.shape[-1] == 1 else frozenset(),
    )

# ---------------------------------------------------------------- MultivariateNormal
_MVN_KW = {"cov": "covariance_matrix", "prec": "precision_matrix", "tril": "scale_tril"}
for kind, batch, loc_batch, mat_batch, D, dt in [
    ("cov", (), (), (), 3, F64),
    ("prec", (3,), (3,), (3,), 3, F64),
    ("tril", (2, 4), (2, 4), (4,), 3, F64),  # matrix broadcast against loc
    ("cov", (3,), (3,), (3,), 1, F64),
    ("prec", (), (), (), 1, F64),
    ("tril", (2, 4), (), (2, 4), 1, F64),  # loc broadcast against the matrices
    ("cov", (3,), (3,), (), 3, F32),
    ("tril", (2, 4), (2, 4), (2, 4), 3, F32),
    ("cov", (3, 1), (3, 1), (1,), 2, F64),
]:
    loc = _rng.uniform(-2, 2, loc_batch + (D,))
    mat = _tril(mat_batch, D) if kind == "tril" else _spd(mat_batch, D)
    loc, mat = _cast(dt, loc, mat)
    kw = _MVN_KW[kind]
    _add(
        id=f"mvn-{kind}-D{D}-{_bid(batch)}{_sfx(dt)}",
        make=(lambda loc=loc, mat=mat, kw=kw: MultivariateNormal(loc, **{kw: mat})),
        ref=R.MVNRef(loc=loc, cov=R.mvn_cov_from(**{kw: mat})),
        batch_shape=batch,
        event_shape=(D,),
        dtype=dt,
        sampler="ks-marginals",
        family="mvn",
    )

# ---------------------------------------------------------------- Independent(Normal, 1)
for batch, D, dt in [((), 3, F64), ((3,), 2, F64), ((2, 4), 3, F64), ((3,), 4, F32), ((3, 1), 2, F64)]:
    loc, scale = _cast(dt, _rng.uniform(-2, 2, batch + (D,)), _rng.uniform(0.5, 2.0, batch + (D,)))
    _add(
        id=f"indep-D{D}-{_bid(batch)}{_sfx(dt)}",
        make=(lambda loc=loc, scale=scale: Independent(Normal(loc, scale), 1)),
        ref=R.DiagNormalRef(loc=loc, scale=scale),
        batch_shape=batch,
        event_shape=(D,),
        dtype=dt,
        sampler="ks-marginals",
        family="independent",
    )


# ---------------------------------------------------------------- MixtureSameFamily
def _mixture_weights(wbatch, K, dt, zero=None, logits=False):
    w = _rng.uniform(0.2, 1.0, size=tuple(wbatch) + (K,))
    if zero is not None:
        w[zero] = 0.0
    if logits:
        with np.errstate(divide="ignore"):
            return _cast(dt, np.log(w) + 1.3)[0]
    return _cast(dt, w)[0]


def _add_mixture(name, batch, wbatch, cbatch, K, dt, comp_kind, D=None, zero=None, logits=False):
    w = _mixture_weights(wbatch, K, dt, zero, logits)
    wref = R.CategoricalRef(logits=w).probs if logits else w
    cb = tuple(cbatch) + (K,)
    if logits:
        mix = lambda w=w: Categorical(logits=w)
    else:
        mix = lambda w=w: Categorical(probs=w)
    if comp_kind == "normal":
        # well-separated component means so that the components are distinguishable
        loc = _rng.uniform(-1, 1, cb) + 3.0 * np.arange(K)
        loc, scale = _cast(dt, loc, _rng.uniform(0.5, 1.5, cb))
        comp = lambda loc=loc, scale=scale: Normal(loc, scale)
        cref = R.NormalRef(loc=loc, scale=scale)
        event, sampler = (), "ks"
    elif comp_kind == "indep":
        loc = _rng.uniform(-1, 1, cb + (D,)) + 3.0 * np.arange(K)[:, None]
        loc, scale = _cast(dt, loc, _rng.uniform(0.5, 1.5, cb + (D,)))
        comp = lambda loc=loc, scale=scale: Independent(Normal(loc, scale), 1)
        cref = R.DiagNormalRef(loc=loc, scale=scale)
        event, sampler = (D,), "ks-marginals"
    elif comp_kind in _MVN_KW:
        loc = _rng.uniform(-1, 1, cb + (D,)) + 3.0 * np.arange(K)[:, None]
        mat = _tril(cb, D) if comp_kind == "tril" else _spd(cb, D)
        loc, mat = _cast(dt, loc, mat)
        kw = _MVN_KW[comp_kind]
        comp = lambda loc=loc, mat=mat, kw=kw: MultivariateNormal(loc, **{kw: mat})
        cref = R.MVNRef(loc=loc, cov=R.mvn_cov_from(**{kw: mat}))
        event, sampler = (D,), "ks-marginals"
    elif comp_kind == "cat":
        p = _rng.uniform(0.1, 1.0, cb + (4,))
        p[..., 0, 3] = 0.0  # a zero-weight category in component 0
        (p,) = _cast(dt, p)
        comp = lambda p=p: Categorical(probs=p)
        cref = R.CategoricalRef(probs=p)
        event, sampler = (), "chi2"
    else:
        raise KeyError(comp_kind)
    _add(
        id=f"msf-{name}-{_bid(batch)}{_sfx(dt)}",
        make=(lambda mix=mix, comp=comp: MixtureSameFamily(mix(), comp())),
        ref=R.MixtureRef(wref, cref),
        batch_shape=tuple(batch),
        event_shape=event,
        dtype=dt,
        sampler=sampler,
        family=f"mixture-{comp_kind}",
        is_mixture=True,
        tags=frozenset({"K1"}) if K == 1 else frozenset(),
    )


# Normal components
_add_mixture("normal", (), (), (), 3, F64, "normal")
_add_mixture("normal", (3,), (3,), (3,), 2, F64, "normal")
_add_mixture("normal", (2, 4), (2, 4), (2, 4), 3, F64, "normal")
_add_mixture("normal-shared", (3,), (3,), (), 4, F64, "normal")  # weights (3,K), comps (K,)
_add_mixture("normal-sharedw", (2, 4), (), (2, 4), 3, F64, "normal")  # weights (K,), comps (2,4,K)
_add_mixture("normal-K1", (3,), (3,), (3,), 1, F64, "normal")
_add_mixture("normal-zero-logit", (2, 4), (2, 4), (4,), 3, F64, "normal", zero=(1, 2, 1), logits=True)  # one -inf logit
_add_mixture("normal", (2, 4), (2, 4), (2, 4), 3, F32, "normal")
_add_mixture("normal-shared", (3,), (3,), (), 2, F32, "normal")
# Independent(Normal) components
_add_mixture("indep-D2", (), (), (), 3, F64, "indep", D=2)
_add_mixture("indep-D3", (3,), (3,), (3,), 2, F64, "indep", D=3)
_add_mixture("indep-D2-shared", (2, 4), (2, 4), (), 3, F64, "indep", D=2)
_add_mixture("indep-D3", (3,), (3,), (3,), 3, F32, "indep", D=3)
# MultivariateNormal components
_add_mixture("mvn-cov-D3", (), (), (), 3, F64, "cov", D=3)
_add_mixture("mvn-prec-D3", (3,), (3,), (3,), 2, F64, "prec", D=3)
_add_mixture("mvn-tril-D2", (2, 4), (2, 4), (2, 4), 3, F64, "tril", D=2)
_add_mixture("mvn-cov-D1", (3,), (3,), (3,), 2, F64, "cov", D=1)
_add_mixture("mvn-tril-D3-shared", (3,), (3,), (), 3, F64, "tril", D=3)
_add_mixture("mvn-prec-D2-K1", (), (), (), 1, F64, "prec", D=2)
_add_mixture("mvn-cov-D3", (3,), (3,), (3,), 2, F32, "cov", D=3)
# Categorical components
_add_mixture("cat", (), (), (), 2, F64, "cat")
_add_mixture("cat", (3,), (3,), (3,), 3, F64, "cat", zero=(0, 1))
_add_mixture("cat", (2, 4), (2, 4), (2, 4), 2, F64, "cat")
_add_mixture("cat-shared", (3,), (3,), (), 3, F64, "cat")
_add_mixture("cat-K1", (), (), (), 1, F64, "cat")
_add_mixture("cat", (2, 4), (2, 4), (4,), 3, F32, "cat")
# batch shapes with a size-1 dim
_add_mixture("normal", (3, 1), (3, 1), (1,), 2, F64, "normal")
_add_mixture("indep-D2", (3, 1), (3, 1), (3, 1), 2, F32, "indep", D=2)
_add_mixture("mvn-cov-D2", (3, 1), (3, 1), (3, 1), 2, F64, "cov", D=2)
_add_mixture("cat", (3, 1), (1,), (3, 1), 2, F64, "cat")


def add_family(name, cls, ref_cls, params, *, tags=frozenset(), K=3, D=3, f32=True):
    """Every standard example of a univariate family (the test touch point of a new family).

    ``cls(**p)`` builds the distribution and ``ref_cls(**p)`` its reference
    from the same raw parameters; ``params(rng, shape)`` draws valid parameters
    of ``shape`` (a dict of float64 arrays).  Adds the family alone (batch (),
    (3,), (2, 4) with a broadcast parameter, float32), under ``Independent``
    (a diagonal event of ``D`` coordinates) and as a ``MixtureSameFamily``
    component (``K`` components, shared and batched weights, a zero weight,
    and mixtures of ``Independent`` components).  A discrete family (its reference
    has ``discrete = True``) gets the ``"chi2"``/``"chi2-marginals"`` sampler checks;
    the tag ``"no-entropy"`` marks a family whose ``entropy()`` raises
    ``NotImplementedError`` (NegativeBinomial, as in torch).
    """
    tags = frozenset(tags)
    disc = bool(getattr(ref_cls, "discrete", False))
    sampler = "chi2" if disc else "ks"
    rng = np.random.default_rng(zlib.crc32(name.encode()))

    def cast(p, dt):
        return {k: np.asarray(v, dtype=dt) for k, v in p.items()}

    def std(batch, dt, pshapes=None):
        p = params(rng, batch)
        if pshapes:  # some parameters with fewer (broadcast) batch dims
            p = {k: (v[(0,) * (len(batch) - len(pshapes[k]))] if k in pshapes else v) for k, v in p.items()}
        return cast(p, dt)

    # alone
    for batch, dt, pshapes in [
        ((), F64, None),
        ((3,), F64, None),
        ((2, 4), F64, "last"),
        ((3,), F32, None),
        ((3, 1), F64, None),
    ]:
        p = params(rng, batch)
        if pshapes == "last" and len(p) > 1:  # the first parameter broadcast along the batch
            k0 = next(iter(p))
            p[k0] = p[k0][0]
        p = cast(p, dt)
        _add(
            id=f"{name}-{_bid(batch)}{_sfx(dt)}",
            make=(lambda p=p: cls(**p)),
            ref=ref_cls(**p),
            batch_shape=batch,
            event_shape=(),
            dtype=dt,
            sampler=sampler,
            family=name,
            tags=tags,
        )
    # Independent over D coordinates
    for batch, dt in [((), F64), ((2,), F64), ((3,), F32)]:
        p = std(batch + (D,), dt)
        _add(
            id=f"indep-{name}-D{D}-{_bid(batch)}{_sfx(dt)}",
            make=(lambda p=p: Independent(cls(**p), 1)),
            ref=R.DiagRef(ref_cls(**p)),
            batch_shape=batch,
            event_shape=(D,),
            dtype=dt,
            sampler="ks-marginals" if not disc else "chi2-marginals",
            family=f"independent-{name}",
            tags=tags | {"independent"},
        )
    # mixtures
    cases = [
        ((), (), (), K, F64, None),
        ((3,), (3,), (3,), K, F64, (1, 2)),
        ((2, 4), (), (2, 4), K, F64, None),
        ((3,), (3,), (), K, F32, None),
        ((3,), (3,), (3,), 1, F64, None),
    ]
    for batch, wbatch, cbatch, k, dt, zero in cases:
        w = _mixture_weights(wbatch, k, dt, zero)
        p = std(tuple(cbatch) + (k,), dt)
        _add(
            id=f"msf-{name}-K{k}-{_bid(batch)}{_sfx(dt)}",
            make=(lambda w=w, p=p: MixtureSameFamily(Categorical(probs=w), cls(**p))),
            ref=R.MixtureRef(w, ref_cls(**p)),
            batch_shape=tuple(batch),
            event_shape=(),
            dtype=dt,
            sampler=sampler,
            family=f"mixture-{name}",
            is_mixture=True,
            tags=tags | ({"K1"} if k == 1 else set()),
        )
    for batch, dt in [((), F64), ((2,), F32)]:
        w = _mixture_weights(batch, K, dt)
        p = std(tuple(batch) + (K, 2), dt)
        _add(
            id=f"msf-indep-{name}-D2-{_bid(batch)}{_sfx(dt)}",
            make=(lambda w=w, p=p: MixtureSameFamily(Categorical(probs=w), Independent(cls(**p), 1))),
            ref=R.MixtureRef(w, R.DiagRef(ref_cls(**p))),
            batch_shape=tuple(batch),
            event_shape=(2,),
            dtype=dt,
            sampler="ks-marginals" if not disc else "chi2-marginals",
            family=f"mixture-independent-{name}",
            is_mixture=True,
            tags=tags | {"independent"},
        )


def _load_family_examples():
    """Import every ``tests/examples/<family>.py``: each calls :func:`add_family`."""
    import importlib.util

    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "examples")
    for fn in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
        if fn.endswith(".py") and not fn.startswith("_"):
            spec = importlib.util.spec_from_file_location(f"mixstat_examples_{fn[:-3]}", os.path.join(folder, fn))
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)


_load_family_examples()

IDS = [e.id for e in EXAMPLES]
BY_ID = {e.id: e for e in EXAMPLES}


def representatives(examples, dtypes=(F64, F32)):
    """The first example of every (family, dtype, event rank): every kernel variant the
    examples reach, once (for the dtypes given)."""
    seen = set()
    out = []
    for e in examples:
        if e.dtype not in dtypes:
            continue
        leaf = e.family.replace("mixture-", "").replace("independent-", "")
        key = (leaf, e.dtype, len(e.event_shape))
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


#: ``MIXSTAT_TEST_SUBSET=1``: the generic tests run on the float64 :func:`representatives`
#: only (``make test`` does this for its second, bounds-checked run: every family's kernels
#: run with numba's bounds checking on; the float32 kernels are the same code)
SUBSET = os.environ.get("MIXSTAT_TEST_SUBSET") == "1"


def examples(pred=None):
    """``pytest.param`` list of the examples satisfying ``pred`` (all if None), with their ids."""
    import pytest

    pool = representatives(EXAMPLES, (F64,)) if SUBSET else EXAMPLES
    return [pytest.param(e, id=e.id) for e in pool if pred is None or pred(e)]
