"""The one registry of component families and operations.

Everything per (operation, family) is derived from the two tables here: the CPU
loops (:mod:`.cpu`), the CUDA loops (:mod:`.cuda`), their compiled signatures
(:mod:`mixstat._jit`), the list of CUDA kernels compiled to PTX and its count
(``tests/cuda_ptx.py``), and the families the tests iterate.

A :class:`Family` names one scalar-math module of :mod:`.families` and says what
kind of event it has:

``"scalar"``
    univariate.  The module's math is per coordinate (``logpdf1``, ``cdf1``,
    ``draw1`` on ``P`` floats of the row, at offset ``o``), so the same loops
    serve a scalar event (``D = 1``) and a diagonal vector event
    (``Independent`` over ``D`` coordinates: a row of ``D * P`` floats,
    coordinate ``j`` at offset ``j * P``).
``"vector"``
    a full vector event: the math is over the whole row (``logpdf(x, s, b, tab, k)``,
    ``draw``), as for MultivariateNormal.

``discrete`` families take integer values (stored as floats in the kernels;
samples are returned as int64).  ``bounded`` says that the log-density has a
finite upper bound over ``x`` for every valid parameter, given by the module's
``bound`` hook (the log-density at the mode): the tiled log-sum-exp then scales
by one number per tile.  A family declared ``bounded=False`` (Gamma, whose
density is unbounded at 0 for concentration < 1) may still have a bound hook
that returns ``+inf`` where there is no finite bound; such tiles, and every
tile of a family without a bound hook, take each point's maximum term first
(the running-maximum path), automatically.  The code of that path is compiled
only for families declared ``bounded=False``.

The hooks a family provides are the names its module defines; see
:data:`HOOKS` and ``docs/contributing.md``.

An :class:`Op` is one operation kind with its loop on both devices.  ``needs``
lists the hooks it requires of a family (an empty tuple: a family-free loop).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

__all__ = ["Family", "Op", "FAMILIES", "OPS", "family", "op", "pairs", "HOOKS"]

#: every hook a family module may define, by event kind
HOOKS = {
    "scalar": (
        "pack",
        "P",
        "NPRE",
        "pre1",
        "pre1_fast",
        "logpdf1",
        "logpdf1_fast",
        "term1_fast",
        "FAST_EXACT_NINF",
        "FUSED_D1",
        "bound1",
        "cdf1",
        "cdf1_fast",
        "cdf1_tile",
        "draw1",
        "draw_tile",
        "logcdf1",
        "logsf1",
        "sf1",
        "icdf1",
        "xgrad1",
        "GRAD_PARAMS",
        "grad1",
        "score1_fast",
    ),
    "vector": ("pack", "logpdf", "prep_tile", "logpdf_tile", "bound", "draw", "grad"),
}


@dataclass(frozen=True)
class Family:
    """One component family: a module of :mod:`mixstat.kernels.families`."""

    name: str
    event: str  # "scalar" or "vector"
    discrete: bool = False
    bounded: bool = True
    #: a scalar event gets a log_prob kernel of its own, compiled with D = 1 (its loop over
    #: points fuses log-density and exp); other families' scalar events share the kernel of
    #: their diagonal events (fewer kernels to compile: about 2 of them per family and dtype)
    static_scalar: bool = False

    @property
    def module(self):
        """The scalar-math module (imports numba on first use)."""
        return importlib.import_module(f"{__package__}.families.{self.name}")

    @property
    def univariate(self) -> bool:
        return self.event == "scalar"

    @property
    def hooks(self) -> frozenset:
        """The hooks the module defines."""
        m = self.module
        return frozenset(h for h in HOOKS[self.event] if hasattr(m, h))

    def has(self, hook) -> bool:
        return hasattr(self.module, hook)


@dataclass(frozen=True)
class Op:
    """One operation: its loop kind, the hooks it needs, the weights it takes.

    ``weights``: ``"logw"`` (normalised log-weights, ``(B, K)``), ``"w"``
    (weights), ``"cumw"`` (cumulative weights) or ``None``.
    ``reduction``: how the components are combined: ``"logsumexp"``,
    ``"sum"``, ``"ancestral"``, ``"terms"`` (per component, not combined),
    ``"posterior"`` (per component, normalised by their log-sum-exp),
    ``"argmax"`` (the index of the largest term) or ``None`` (no components).
    """

    name: str
    needs: tuple
    weights: str | None
    reduction: str | None
    # which families (by event kind) the op applies to; empty: family-free
    events: tuple = ("scalar", "vector")
    # the devices with a loop for it
    devices: tuple = ("cpu", "cuda")
    # the dtypes of its compiled kernels (a float32 call of a float64-only op runs in float64)
    dtypes: tuple = ("float64", "float32")


#: every family with a compiled kernel.  New family: one line here (see docs/contributing.md).
FAMILIES = (
    Family("normal", "scalar", static_scalar=True),
    Family("categorical", "scalar", discrete=True),
    Family("mvn", "vector"),
    Family("lowrank_mvn", "vector"),  # covariance W W^T + diag(d), Woodbury
    Family("exponential", "scalar"),
    Family("lognormal", "scalar"),
    Family("halfnormal", "scalar"),
    Family("laplace", "scalar"),
    Family("studentt", "scalar"),
    Family("cauchy", "scalar"),
    Family("gumbel", "scalar"),
    Family("weibull", "scalar", bounded=False),  # unbounded at 0 for concentration < 1
    Family("vonmises", "scalar"),
    Family("gamma", "scalar", bounded=False),  # unbounded at 0 for concentration < 1
    Family("beta", "scalar", bounded=False),  # unbounded at an end for a concentration < 1
    Family("uniform", "scalar"),
    Family("bernoulli", "scalar", discrete=True),
    Family("binomial", "scalar", discrete=True),
    Family("geometric", "scalar", discrete=True),
    Family("poisson", "scalar", discrete=True),
    Family("negative_binomial", "scalar", discrete=True),
    Family("dirichlet", "vector", bounded=False),  # unbounded at the boundary for a concentration < 1
)

#: every operation.  ``needs`` are per event kind: a scalar family needs the
#: ``*1`` hooks, a vector family the whole-row ones.
OPS = (
    Op("log_prob", needs=("logpdf1|logpdf",), weights="logw", reduction="logsumexp"),
    # a plain (one-component) univariate distribution: the log-density itself, a kernel
    # far smaller than the mixture's (CUDA: the mixture loop serves both)
    Op("log_prob1", needs=("logpdf1",), weights="logw", reduction="logsumexp", events=("scalar",), devices=("cpu",)),
    Op("cdf", needs=("cdf1",), weights="w", reduction="sum", events=("scalar",)),
    # log F and log(1 - F), each in log space per component, combined by log-sum-exp
    Op("log_cdf", needs=("logcdf1",), weights="logw", reduction="logsumexp", events=("scalar",)),
    Op("log_sf", needs=("logsf1",), weights="logw", reduction="logsumexp", events=("scalar",)),
    # quantiles: a safeguarded Newton per point (:mod:`.quantile`), in float64 only
    Op("icdf", needs=("cdf1", "logpdf1"), weights="w", reduction="quantile", events=("scalar",), dtypes=("float64",)),
    Op("terms", needs=("logpdf1|logpdf",), weights="logw", reduction="terms"),
    # normalised log-responsibilities (N, K), and the index of the largest term (N,) int64
    Op("posterior", needs=("logpdf1|logpdf",), weights="logw", reduction="posterior"),
    Op("mode", needs=("logpdf1|logpdf",), weights="logw", reduction="argmax"),
    Op("sample", needs=("draw1|draw",), weights="cumw", reduction="ancestral"),
    # log-density, value and parameter derivatives in one pass (float64: a float32 call runs
    # in float64 and is cast back; one kernel per family)
    Op("log_prob_grad", needs=("grad1|grad",), weights="logw", reduction="grad", dtypes=("float64",)),
    # implicit reparameterisation gradients of samples (``sample_grad``): per point the
    # responsibilities times each component's ``xgrad1``, and the weights' terms from
    # the log-space cdfs; summed per batch row and component, in float64
    Op(
        "sample_grad",
        needs=("xgrad1", "logpdf1", "logcdf1", "logsf1"),
        weights="logw",
        reduction="reparam",
        events=("scalar",),
        dtypes=("float64",),
    ),
    Op("choose", needs=(), weights="cumw", reduction=None, events=()),
    Op("moments", needs=(), weights="w", reduction=None, events=()),
    Op("exp", needs=(), weights=None, reduction=None, events=()),
    # a Normal mixture's log-density and gradients over raw per-row (B, K) logits, locs and
    # scales (:mod:`.rows_grad`: no packed table; CUDA: one thread per row)
    Op("normal_mixture_rows_grad", needs=(), weights=None, reduction=None, events=()),
    # its log-density alone (:mod:`.rows`; the CPU kernel is built there, CUDA: one thread per point)
    Op("normal_mixture_rows", needs=(), weights=None, reduction=None, events=()),
)

_BY_NAME = {f.name: f for f in FAMILIES}
_OP_BY_NAME = {o.name: o for o in OPS}


def family(name: str) -> Family:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no kernel family {name!r}; known: {sorted(_BY_NAME)}") from None


def op(name: str) -> Op:
    try:
        return _OP_BY_NAME[name]
    except KeyError:
        raise KeyError(f"no operation {name!r}; known: {sorted(_OP_BY_NAME)}") from None


def supports(o: Op, f: Family) -> bool:
    """Whether family ``f`` has every hook operation ``o`` needs."""
    if f.event not in o.events:
        return False
    for need in o.needs:
        alts = need.split("|")
        if not any(f.has(h) for h in alts):
            return False
    return True


def pairs(device: str = "cpu"):
    """Every ``(op, family-or-None)`` pair that has a loop on ``device``.

    Family-free ops (``choose``, ``moments``, ``exp``) appear once with
    ``None``; ``moments`` and ``exp`` are CUDA-only (the CPU uses NumPy).
    """
    out: list[tuple[str, str | None]] = []
    for o in OPS:
        if device not in o.devices:
            continue
        if not o.events:
            if device == "cuda" or o.name == "choose":
                out.append((o.name, None))
            continue
        out.extend((o.name, f.name) for f in FAMILIES if supports(o, f))
    return tuple(out)
