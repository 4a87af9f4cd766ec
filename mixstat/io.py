"""Saving and loading distributions: :func:`save` and :func:`load`.

A saved model is one file in one of two encodings of the same header (format
``mixstat.distribution``, version 1; the specification is ``docs/api/io.md``):

``npz``
    A ZIP archive (NumPy's ``.npz``): ``header.json``, the JSON header, whose array
    leaves are references ``{"npz": "a0"}`` to ``.npy`` members ``a0.npy``, ``a1.npy``, ...
``json``
    One JSON document whose array leaves are ``{"dtype", "shape", "base64"}``
    objects (the little-endian bytes, so values are exact).

:func:`load` recognises the encoding by the file's first bytes, never by its name.
Loading runs no code from the file: no pickle (``np.load(..., allow_pickle=False)``),
classes looked up by name in the whitelist of :mod:`mixstat.distributions`, arrays
of float32/float64 only, every parameter validated; a damaged or foreign file raises
``ValueError`` naming the file and the field.  Writes are atomic: the file is written
to a temporary file in the same folder and renamed over the target
(``os.replace``), so an interrupted save leaves the old file (or none) and never
half a file.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import zipfile
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from .distributions import Distribution

__all__ = ["save", "load", "loads", "atomic_write", "FORMAT", "VERSION"]

from .distributions._serial import FORMAT, VERSION  # the format's name and version

_ZIP_MAGIC = b"PK\x03\x04"
_HEADER = "header.json"
#: the largest header read (a header describes arrays stored beside it: it is small)
_MAX_HEADER = 1 << 26


# -- atomic writes -----------------------------------------------------------------------
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` atomically through a temporary file in the same folder.

    ``write(f)`` fills the temporary file (binary), which is then flushed, synced and
    renamed over ``path``.  On any error the temporary file is removed and ``path`` is
    untouched.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    write : callable
        Called once with the open binary file object.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# -- encoding ----------------------------------------------------------------------------
def _encode(node: dict[str, Any], leaf: Callable[[np.ndarray], object]) -> dict[str, Any]:
    """A copy of the dict ``node`` with its ndarray leaves replaced by ``leaf(array)``."""
    out: dict[str, Any] = {}
    for k, v in node.items():
        if isinstance(v, dict):
            out[k] = _encode(v, leaf)
        elif isinstance(v, np.ndarray):
            out[k] = leaf(v)
        else:
            out[k] = v
    return out


def _le(a: np.ndarray) -> np.ndarray:
    """C-contiguous little-endian copy of ``a`` (same values)."""
    return np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))


def _write_npz(f: IO[bytes], d: dict[str, Any]) -> None:
    names: list[tuple[str, np.ndarray]] = []

    def leaf(a: np.ndarray) -> dict[str, str]:
        name = f"a{len(names)}"
        names.append((name, a))
        return {"npz": name}

    header = _encode(d, leaf)
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr(_HEADER, json.dumps(header, indent=1, allow_nan=False))
        for name, a in names:
            with zf.open(name + ".npy", "w", force_zip64=True) as m:
                np.lib.format.write_array(m, _le(a), allow_pickle=False)


def _write_json(f: IO[bytes], d: dict[str, Any]) -> None:
    def leaf(a: np.ndarray) -> dict[str, Any]:
        return {
            "dtype": a.dtype.name,
            "shape": list(a.shape),
            "base64": base64.b64encode(_le(a).tobytes()).decode("ascii"),
        }

    f.write(json.dumps(_encode(d, leaf), indent=1, allow_nan=False).encode("utf-8"))
    f.write(b"\n")


def save(dist: Distribution, path: str | os.PathLike[str], format: Literal["npz", "json"] | None = None) -> None:
    """Save a distribution to ``path`` (atomically).

    Parameters
    ----------
    dist : Distribution
        Any distribution of :mod:`mixstat.distributions` (mixtures, ``Independent`` and
        nested ones included).  A CUDA distribution is saved from host copies of its
        parameters.
    path : str or os.PathLike
        The file to write (any name); an existing file is replaced only once the new
        one is complete.
    format : {None, "npz", "json"}
        ``"npz"``: a ZIP of a JSON header and ``.npy`` arrays; ``"json"``: one JSON
        document with base64 arrays.  ``None`` (default): ``"json"`` when ``path``
        ends with ``.json``, else ``"npz"``.  Both hold the same bits.

    Raises
    ------
    TypeError
        If ``dist`` is not a distribution of :mod:`mixstat.distributions`.
    ValueError
        If ``format`` is not one of the above.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import mixstat
    >>> from mixstat.distributions import Categorical, MixtureSameFamily, Normal
    >>> d = MixtureSameFamily(
    ...     Categorical(probs=np.float32([0.3, 0.7])), Normal(np.float32([-2.0, 2.0]), np.float32([0.5, 1.0]))
    ... )
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> mixstat.save(d, path)
    >>> e = mixstat.load(path)
    >>> e.dtype, bool((e.component_distribution.loc == d.component_distribution.loc).all())
    (dtype('float32'), True)
    """
    if format is None:
        format = "json" if os.fspath(path).lower().endswith(".json") else "npz"
    if format not in ("npz", "json"):
        raise ValueError(f"save: format must be None, 'npz' or 'json', got {format!r}")
    from .distributions import Distribution

    if not isinstance(dist, Distribution):
        raise TypeError(f"save: dist must be a mixstat Distribution, got {type(dist).__name__}")
    d = dist.to_dict()
    writer = _write_npz if format == "npz" else _write_json
    atomic_write(path, lambda f: writer(f, d))


# -- decoding ----------------------------------------------------------------------------
def _sniff(path: str | os.PathLike[str]) -> Literal["npz", "json"]:
    """``"npz"`` or ``"json"`` from the file's first bytes; ValueError otherwise."""
    with open(path, "rb") as f:
        head = f.read(64)
    if head.startswith(_ZIP_MAGIC):
        return "npz"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"{"):
        return "json"
    what = (
        "a NumPy .npy array"
        if head.startswith(b"\x93NUMPY")
        else ("empty" if not head else "neither a ZIP (.npz) archive nor a JSON document")
    )
    raise ValueError(f"{os.fspath(path)}: not a mixstat model file ({what})")


def _from_header(header: object, where: str, arrays: Callable[[object, str], np.ndarray] | None = None) -> Distribution:
    from .distributions._serial import _from_dict

    if not isinstance(header, dict):
        raise ValueError(f"{where}: the header is not a JSON object")
    if "format" not in header:
        raise ValueError(f"{where}: field 'format' missing: not a mixstat model file")
    if "version" not in header:
        raise ValueError(f"{where}: field 'version' missing")
    try:
        return _from_dict(header, arrays)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{where}: not valid JSON ({exc})") from None


def loads(text: str, where: str = "<model>") -> Distribution:
    """Load a distribution from a JSON document.

    Parameters
    ----------
    text : str
        A saved ``json`` model or a hand-written one, whose ``format`` and ``version``
        may be left out.
    where : str, default "<model>"
        The name that error messages give the document (a file name).

    Returns
    -------
    Distribution
        On the CPU.

    Raises
    ------
    ValueError
        If the document is not valid JSON or not a valid model: the message names
        ``where`` and the field.
    """
    from .distributions import from_dict

    d = _parse_json(text, where)
    if not isinstance(d, dict):
        raise ValueError(f"{where}: the JSON is not an object")
    try:
        return from_dict(d)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _load_npz(path: str | os.PathLike[str], where: str) -> Distribution:
    with open(path, "rb") as f:  # our handle: closed also where NumPy fails on a damaged archive
        return _read_npz(f, where)


def _read_npz(f: IO[bytes], where: str) -> Distribution:
    try:
        npz = np.load(f, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise ValueError(f"{where}: damaged ZIP (.npz) archive ({type(exc).__name__}: {exc})") from None
    with npz:
        members = set(npz.files)
        if _HEADER not in members:
            raise ValueError(
                f"{where}: no member {_HEADER!r}: not a mixstat model file "
                f"(members: {', '.join(sorted(members))[:200]})"
            )
        size = npz.zip.getinfo(_HEADER).file_size
        if size > _MAX_HEADER:
            raise ValueError(f"{where}: member {_HEADER!r} is {size:,} bytes; a header is at most {_MAX_HEADER:,}")
        try:
            raw = npz[_HEADER]
        except Exception as exc:  # a damaged member, whatever zipfile raises
            raise ValueError(f"{where}: member {_HEADER!r} cannot be read ({type(exc).__name__}: {exc})") from None
        if not isinstance(raw, bytes):
            raise ValueError(f"{where}: member {_HEADER!r} is not a JSON text")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{where}: member {_HEADER!r} is not UTF-8 text ({exc})") from None
        header = _parse_json(text, where)
        used: set[str] = set()

        def arrays(name: object, field: str) -> np.ndarray:
            if not isinstance(name, str) or name == _HEADER or name not in members:
                raise ValueError(f"field {field!r}: array member {name!r} is not in the archive")
            used.add(name)
            try:
                a = npz[name]
            except Exception as exc:  # object arrays, damaged members
                raise ValueError(
                    f"field {field!r}: array member {name!r} cannot be read ({type(exc).__name__}: {exc})"
                ) from None
            if not isinstance(a, np.ndarray):
                raise ValueError(f"field {field!r}: array member {name!r} is not a .npy array")
            return a

        dist = _from_header(header, where, arrays)
        extra = members - used - {_HEADER}  # NpzFile names .npy members without the suffix
        if extra:
            raise ValueError(f"{where}: unexpected members {sorted(extra)[:5]} (not written by mixstat.save)")
        return dist


def load(path: str | os.PathLike[str]) -> Distribution:
    """Load a distribution saved by :func:`save` (either encoding) or a JSON model file.

    Parameters
    ----------
    path : str or os.PathLike
        The file; its encoding is recognised by its content, not its name.

    Returns
    -------
    Distribution
        On the CPU, with the saved bits and dtype.

    Raises
    ------
    ValueError
        If the file is not a mixstat model, is damaged, was written by a newer format
        version, or holds invalid parameters: the message names the file and the field.
    FileNotFoundError
        If there is no such file.

    Examples
    --------
    >>> import os, tempfile
    >>> import mixstat
    >>> path = os.path.join(tempfile.mkdtemp(), "normal.json")
    >>> with open(path, "w") as f:
    ...     _ = f.write('{"type": "Normal", "params": {"loc": [0, 1], "scale": 2}}')
    >>> mixstat.load(path).batch_shape
    (2,)
    """
    where = os.fspath(path)
    kind = _sniff(path)
    if kind == "npz":
        return _load_npz(path, where)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{where}: not UTF-8 text ({exc})") from None
    return loads(text, where)
