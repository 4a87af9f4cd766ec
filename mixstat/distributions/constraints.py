"""Constraints: the sets that parameters and values must lie in.

Each constraint has ``check(value) -> bool array`` (over the event dims it
covers, ``event_dim``) and a human-readable ``__str__`` used in error
messages.  The names follow ``torch.distributions.constraints``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "Constraint",
    "real",
    "real_vector",
    "positive",
    "positive_finite",
    "simplex",
    "nonnegative",
    "nonnegative_finite",
    "integer_interval",
    "boolean",
    "greater_than",
    "left_open_interval",
    "nonnegative_integer",
    "positive_integer",
    "interval",
    "half_open_interval",
    "less_than",
    "unit_interval",
    "positive_definite",
    "lower_cholesky",
    "independent",
    "dependent",
]


class Constraint:
    """Base class: a region of valid values.

    Attributes
    ----------
    event_dim : int
        Number of rightmost dims that together form one constrained object.
    is_discrete : bool
        True for sets of integers.
    """

    event_dim = 0
    is_discrete = False

    def check(self, value):
        """Return a boolean array of shape ``value.shape[:-event_dim]``."""
        raise NotImplementedError

    def __repr__(self):
        return self.__class__.__name__.lstrip("_").lower()


class _Dependent(Constraint):
    """Placeholder for sets that depend on other parameters (e.g. mixture support)."""

    def check(self, value):
        raise ValueError("cannot check a dependent constraint")


class _Real(Constraint):
    def check(self, value):
        return value == value  # False only for NaN

    def __repr__(self):
        return "real"


class _RealVector(Constraint):
    event_dim = 1

    def check(self, value):
        return np.all(value == value, axis=-1)

    def __repr__(self):
        return "real_vector"


class _Finite(Constraint):
    def check(self, value):
        return np.isfinite(value)

    def __repr__(self):
        return "finite"


class _Positive(Constraint):
    def check(self, value):
        return value > 0

    def __repr__(self):
        return "positive"


class _PositiveFinite(Constraint):
    def check(self, value):
        return (value > 0) & np.isfinite(value)

    def __repr__(self):
        return "positive (finite, > 0)"


class _Nonnegative(Constraint):
    def check(self, value):
        return value >= 0

    def __repr__(self):
        return "nonnegative"


class _NonnegativeFinite(Constraint):
    def check(self, value):
        return (value >= 0) & np.isfinite(value)

    def __repr__(self):
        return "nonnegative (finite, >= 0)"


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        with np.errstate(invalid="ignore"):  # inf - inf in the sum: NaN, not on the simplex
            return np.all(value >= 0, axis=-1) & (np.abs(value.sum(-1) - 1) < 1e-6)

    def __repr__(self):
        return "simplex"


class integer_interval(Constraint):
    """Integers in ``[lower_bound, upper_bound]``."""

    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        #: bounds given per distribution (arrays, e.g. Binomial's total_count): a mixture takes
        #: the union over components
        self.depends_on_parameters = np.ndim(lower_bound) > 0 or np.ndim(upper_bound) > 0

    def check(self, value):
        with np.errstate(invalid="ignore"):  # inf % 1 is NaN: not an integer, no warning
            return (value % 1 == 0) & (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        lo, hi = (
            b if np.ndim(b) == 0 else np.array2string(np.asarray(b), threshold=6)
            for b in (self.lower_bound, self.upper_bound)
        )
        return f"integer_interval(lower_bound={lo}, upper_bound={hi})"


class _Boolean(Constraint):
    """The values 0 and 1 (torch's ``boolean``)."""

    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)

    def __repr__(self):
        return "boolean"


class _IntegerGreaterThan(Constraint):
    """Integers ``>= lower_bound`` (torch's ``integer_greater_than``; ``+inf`` is not an integer)."""

    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        with np.errstate(invalid="ignore"):  # inf % 1 is NaN: not an integer, no warning
            return (value % 1 == 0) & (value >= self.lower_bound)

    def __repr__(self):
        return f"integer_greater_than(lower_bound={self.lower_bound})"


class interval(Constraint):
    """Reals in ``[lower_bound, upper_bound]``; the bounds may be arrays (broadcast with the value)."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        #: bounds given per distribution (arrays): a mixture takes the union over components
        self.depends_on_parameters = np.ndim(lower_bound) > 0 or np.ndim(upper_bound) > 0

    def check(self, value):
        return (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        lo, hi = (np.array2string(np.asarray(b), threshold=6) for b in (self.lower_bound, self.upper_bound))
        return f"interval(lower_bound={lo}, upper_bound={hi})"


class greater_than(Constraint):
    """Reals (``+inf`` included) strictly above ``lower_bound``; NaN fails."""

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return value > self.lower_bound

    def __repr__(self):
        return f"greater_than(lower_bound={self.lower_bound})"


class left_open_interval(Constraint):
    """Reals in ``(lower_bound, upper_bound]`` (Geometric's probs: ``(0, 1]``); NaN fails."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (value > self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return f"left_open_interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class half_open_interval(Constraint):
    """Reals in ``[lower_bound, upper_bound)`` (torch's ``half_open_interval``); NaN fails."""

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound

    def check(self, value):
        return (value >= self.lower_bound) & (value < self.upper_bound)

    def __repr__(self):
        return f"half_open_interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class less_than(Constraint):
    """Reals (``-inf`` included) strictly below ``upper_bound`` (torch's ``less_than``); NaN fails."""

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound

    def __repr__(self):
        return f"less_than(upper_bound={self.upper_bound})"


class _PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, value):
        value = np.asarray(value, dtype=np.float64)
        finite = np.all(np.isfinite(value), axis=(-2, -1))
        safe = np.where(finite[..., None, None], value, 0.0)
        scale = np.abs(safe).max(axis=(-2, -1), keepdims=True)
        sym = np.all(np.abs(safe - np.swapaxes(safe, -1, -2)) <= 1e-6 * scale, axis=(-2, -1))
        sym_part = 0.5 * (safe + np.swapaxes(safe, -1, -2))
        pd = np.linalg.eigvalsh(sym_part)[..., 0] > 0
        return finite & sym & pd

    def __repr__(self):
        return "positive_definite"


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        lower = np.all(np.triu(value, 1) == 0, axis=(-2, -1))
        diag = np.all(np.diagonal(value, axis1=-2, axis2=-1) > 0, axis=-1)
        return lower & diag & np.all(np.isfinite(value), axis=(-2, -1))

    def __repr__(self):
        return "lower_cholesky"


class independent(Constraint):
    """Reinterpret ``reinterpreted_batch_ndims`` batch dims of a constraint as event dims."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = int(reinterpreted_batch_ndims)
        self.event_dim = base_constraint.event_dim + self.reinterpreted_batch_ndims
        self.is_discrete = base_constraint.is_discrete
        self.depends_on_parameters = getattr(base_constraint, "depends_on_parameters", False)

    def check(self, value):
        ok = self.base_constraint.check(value)
        n = self.reinterpreted_batch_ndims
        if n:
            ok = np.all(ok, axis=tuple(range(-n, 0)))
        return ok

    def __repr__(self):
        return f"independent({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


dependent: Constraint = _Dependent()
real: Constraint = _Real()
finite: Constraint = _Finite()
real_vector: Constraint = _RealVector()
positive: Constraint = _Positive()
positive_finite: Constraint = _PositiveFinite()
nonnegative: Constraint = _Nonnegative()
nonnegative_finite: Constraint = _NonnegativeFinite()
nonnegative_integer: Constraint = _IntegerGreaterThan(0)
positive_integer: Constraint = _IntegerGreaterThan(1)
simplex: Constraint = _Simplex()
positive_definite: Constraint = _PositiveDefinite()
lower_cholesky: Constraint = _LowerCholesky()
unit_interval: Constraint = interval(0.0, 1.0)
boolean: Constraint = _Boolean()
