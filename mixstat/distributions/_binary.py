"""Shared ``probs`` / ``logits`` handling of the success-probability families.

Used by :class:`~mixstat.distributions.Bernoulli`, ``Binomial``, ``Geometric``
and ``NegativeBinomial`` (torch.distributions' parameterisations: exactly one of
``probs`` and ``logits``; the other one is derived lazily).

:class:`BinaryParams` is a mixin placed before
:class:`~mixstat.distributions.KernelDistribution`::

    class Bernoulli(BinaryParams, KernelDistribution):
        family = "bernoulli"
        arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}

        def __init__(self, probs=None, logits=None, validate_args=None):
            self._init_binary(validate_args, probs, logits)

Other parameters come before ``probs``/``logits`` in ``arg_constraints`` and are
passed by keyword: ``self._init_binary(validate_args, probs, logits,
total_count=total_count)``.  The base then owns coercion (one float dtype for
all of them), broadcasting, read-only copies and validation of the given
parameters only (the derived one is not validated: it is right by
construction).  The family's ``pack`` receives the parameters in
``arg_constraints`` order with ``None`` for the one that was not given, and
takes ``log p`` and ``log(1 - p)`` from :func:`log_pq` and ``p``, ``1 - p`` from :func:`p_q`.

Conventions
-----------
* ``probs`` must lie in ``[0, 1]`` (``constraints.unit_interval``; NaN fails).
* ``logits`` must not be NaN (``constraints.real``); ``-inf`` and ``+inf`` are
  allowed, as in torch, and mean ``p = 0`` and ``p = 1``.
* ``logits`` from ``probs``: ``log p - log1p(-p)`` (``-inf`` at 0, ``+inf`` at 1).
  ``probs`` from ``logits``: ``expit(logits)``.
* :func:`log_pq`: ``log p = -softplus(-logits)``, ``log(1 - p) = -softplus(logits)``
  from logits; ``log p``, ``log1p(-p)`` from probs: both accurate to a few ulp
  for tiny ``p`` and for ``p`` near 1 (for ``1 - p`` below the spacing of the
  floats near 1, give ``logits``).
"""

from __future__ import annotations

import numpy as np
from scipy import special as sc

from .distribution import KernelDistribution

__all__ = []  # internal: nothing exported

_BINARY = ("probs", "logits")


def one_of(owner, probs, logits):
    """``("probs", probs)`` or ``("logits", logits)``; a ValueError unless exactly one is given."""
    if probs is None and logits is None:
        raise ValueError(f"{owner}: give exactly one of probs or logits (got neither)")
    if probs is not None and logits is not None:
        raise ValueError(f"{owner}: give exactly one of probs or logits (got both)")
    return ("probs", probs) if probs is not None else ("logits", logits)


def log_pq(probs=None, logits=None):
    """``(log p, log(1 - p))`` in float64 from whichever of ``probs`` / ``logits`` is not None.

    No warnings for the end points: ``p = 0`` gives ``(-inf, 0)``, ``p = 1`` gives ``(0, -inf)``.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if logits is not None:
            t = np.asarray(logits, dtype=np.float64)
            return -np.logaddexp(0.0, -t), -np.logaddexp(0.0, t)
        p = np.asarray(probs, dtype=np.float64)
        return np.log(p), np.log1p(-p)


def p_q(probs=None, logits=None):
    """``(p, 1 - p)`` in float64 from whichever of ``probs`` / ``logits`` is not None: ``probs``
    themselves (exact) and ``1 - p``, or ``expit(logits)`` and ``expit(-logits)`` (each accurate
    to an ulp, also where it is tiny)."""
    if logits is not None:
        t = np.asarray(logits, dtype=np.float64)
        return sc.expit(t), sc.expit(-t)
    p = np.asarray(probs, dtype=np.float64)
    return p, 1.0 - p


def logits_from_probs(p):
    """``log p - log1p(-p)`` in the dtype of ``p`` (computed in float64)."""
    lp, lq = log_pq(probs=p)
    with np.errstate(invalid="ignore"):
        return np.asarray(lp - lq).astype(np.asarray(p).dtype, copy=False)


def probs_from_logits(t):
    """``expit(t)`` in the dtype of ``t`` (computed in float64)."""
    t = np.asarray(t)
    return np.asarray(sc.expit(t.astype(np.float64))).astype(t.dtype, copy=False)


def _readonly(a):
    a = np.asarray(a)
    if a.flags.writeable:
        a = a.copy()
        a.flags.writeable = False
    return a


class BinaryParams:
    """Mixin of a :class:`KernelDistribution` with exactly one of ``probs`` / ``logits``."""

    #: ``"probs"`` or ``"logits"``: the parameter that was given
    _given = "probs"

    def _init_binary(self, validate_args, probs, logits, **others):
        name, raw = one_of(type(self).__name__, probs, logits)
        self._given = name
        self.__dict__.pop("_derived", None)
        KernelDistribution._init_params(self, validate_args, **others, **{name: raw})

    # the given parameter is an attribute ``_probs`` / ``_logits``; the other is derived on first use
    def _get(self, name):
        if name == self._given:
            return self.__dict__["_" + name]
        d = self.__dict__.get("_derived")
        if d is None:
            g = self.__dict__["_" + self._given]
            d = logits_from_probs(g) if name == "logits" else probs_from_logits(g)
            d = np.broadcast_to(_readonly(d), g.shape)
            self.__dict__["_derived"] = d
        return d

    @property
    def probs(self):
        """Success probability, shape ``batch_shape`` (derived from ``logits`` if those were given)."""
        return self._get("probs")

    @probs.setter
    def probs(self, value):
        self._set("probs", value)

    @property
    def logits(self):
        """``log(p / (1 - p))``, shape ``batch_shape`` (derived from ``probs`` if those were given)."""
        return self._get("logits")

    @logits.setter
    def logits(self, value):
        self._set("logits", value)

    def _set(self, name, value):
        # used by the base's _init_params and expand (which set every parameter they know of)
        if name == self._given:
            self.__dict__["_" + name] = value
            d = self.__dict__.get("_derived")
            if d is not None:
                self.__dict__["_derived"] = np.broadcast_to(d, np.shape(value))

    def expand(self, batch_shape):
        """A new distribution with parameters broadcast to ``batch_shape`` (no copy; the derived
        parameter stays lazy)."""
        batch_shape = self._expanded_batch(batch_shape)
        new = self._expanded_copy(batch_shape)
        for n in self.arg_constraints:
            if n not in _BINARY or n == self._given:
                setattr(new, n, np.broadcast_to(getattr(self, n), batch_shape))
        return new

    @property
    def param_shape(self):
        """The shape of ``probs`` / ``logits``: ``batch_shape``."""
        return self._batch_shape

    def _validate_params(self):
        self._check_params(
            **{
                n: (getattr(self, n), c)
                for n, c in self.arg_constraints.items()
                if n not in _BINARY or n == self._given
            }
        )

    def _params(self, shape=None):
        """The parameters in ``arg_constraints`` order broadcast to ``shape``; None for the one not given."""
        shape = self._batch_shape if shape is None else tuple(shape)
        return [
            None if (n in _BINARY and n != self._given) else np.broadcast_to(getattr(self, n), shape)
            for n in self.arg_constraints
        ]

    def _log_pq(self):
        """``(log p, log(1 - p))`` in float64, shape ``batch_shape``."""
        return log_pq(**{self._given: np.asarray(getattr(self, self._given))})

    def _p_q(self):
        """``(p, 1 - p)`` in float64, each accurate (``1 - p`` from the logits when those were given)."""
        return p_q(**{self._given: np.asarray(getattr(self, self._given))})
