"""Small data sets shipped with mixstat (installed as package data).

:func:`faithful`
    The Old Faithful geyser eruptions (272 rows; R's ``datasets::faithful``).
"""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["faithful"]


def faithful() -> np.ndarray:
    """The Old Faithful eruptions: a float64 array of shape ``(272, 2)``.

    Column 0 is the eruption duration and column 1 the waiting time to the next
    eruption, both in minutes (Yellowstone National Park).  Source: W. Härdle
    (1991), *Smoothing Techniques with Implementation in S*, Springer, New York,
    as R's ``datasets::faithful``; public domain.  The file is
    ``mixstat/data/faithful.csv``.

    Returns
    -------
    numpy.ndarray
        Shape ``(272, 2)``: ``[:, 0]`` eruptions, ``[:, 1]`` waiting.

    Examples
    --------
    >>> from mixstat.data import faithful
    >>> x = faithful()
    >>> x.shape, round(float(x[:, 0].mean()), 4), round(float(x[:, 1].mean()), 4)
    ((272, 2), 3.4878, 70.8971)
    """
    text = resources.files(__name__).joinpath("faithful.csv").read_text(encoding="utf-8")
    return _parse(text)


def _parse(text):
    rows = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if rows[0] != "eruptions,waiting":
        raise ValueError(f"faithful.csv: unexpected header {rows[0]!r}")
    return np.array([[float(v) for v in r.split(",")] for r in rows[1:]], dtype=np.float64)
