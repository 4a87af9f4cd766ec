"""Seeds to Philox keys.

``rng`` follows SPEC 7: ``None`` (the default source), an ``int`` seed, or a
``numpy.random.Generator``.  Each sampling call consumes one 64-bit key; the
draws of that call are then a pure function of (key, position).

* ``rng=s`` (int) uses the key of call 0 of seed ``s``: the same bits every time.
* The default source, after ``manual_seed(s)``, uses the keys of calls 0, 1, 2, ...
  of seed ``s``, so ``manual_seed(s); d.sample(n)`` equals ``d.sample(n, rng=s)``.
* A ``Generator`` gives a key from its own stream (advancing it), so a seeded
  Generator reproduces a whole sequence of calls.
"""

from __future__ import annotations

import numbers
import threading
from typing import Any

import numpy as np

from ._typing import RNGLike

__all__ = ["manual_seed", "initial_seed", "key_for"]

_lock = threading.Lock()
_state: dict[str, Any] = {"seed": None, "calls": 0}


def _check_seed(seed: Any, name: str = "seed") -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be a non-negative int, got {type(seed).__name__} {seed!r}")
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed}")
    return seed


def manual_seed(seed: int) -> None:
    """Reseed mixstat's default random source.

    Parameters
    ----------
    seed : int
        A non-negative integer (any size).

    Examples
    --------
    >>> import mixstat
    >>> from mixstat.distributions import Normal
    >>> mixstat.manual_seed(7)
    >>> a = Normal(0.0, 1.0).sample((3,))
    >>> mixstat.manual_seed(7)
    >>> b = Normal(0.0, 1.0).sample((3,))
    >>> bool((a == b).all())
    True
    """
    seed = _check_seed(seed)
    with _lock:
        _state["seed"] = seed
        _state["calls"] = 0


def initial_seed() -> int:
    """The seed of the default source (drawn from OS entropy unless set)."""
    with _lock:
        if _state["seed"] is None:
            _state["seed"] = int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]  # an int when drawn
        return int(_state["seed"])


def _key(seed: int, call: int) -> tuple[np.uint64, np.uint64]:
    words = np.random.SeedSequence(seed, spawn_key=(call,)).generate_state(2, np.uint32)
    return np.uint64(words[0]), np.uint64(words[1])


def key_for(rng: RNGLike) -> tuple[np.uint64, np.uint64]:
    """The Philox key ``(k0, k1)`` (uint64 holding 32 bits each) for one call."""
    if rng is None:
        seed = initial_seed()
        with _lock:
            call = _state["calls"]
            _state["calls"] += 1
        return _key(seed, call)
    if isinstance(rng, np.random.Generator):
        words = rng.integers(0, 2**32, size=2, dtype=np.uint64)
        return np.uint64(words[0]), np.uint64(words[1])
    if isinstance(rng, np.random.RandomState):
        raise TypeError(
            "rng must be None, an int seed or a numpy.random.Generator; RandomState is not supported (SPEC 7)"
        )
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (numbers.Integral, np.integer)):
        raise TypeError(
            "rng must be None (mixstat's default source), a non-negative int seed or a "
            f"numpy.random.Generator, got {type(rng).__name__} {rng!r}"
        )
    return _key(_check_seed(rng, "rng"), 0)
