"""``python -m mixstat``: command-line tools.

``python -m mixstat warmup [--family NAME ...] [--dtype float64 float32] [--jobs N]``
    Compile the CPU kernels of the given families (default: every family) into
    the on-disk cache, in ``N`` processes at once (default: the CPU count), so
    that the first call of each operation in later processes loads its kernel
    in milliseconds instead of compiling it.  Prints one line per kernel with
    its compile time and the wall time of the whole warm-up.
"""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mixstat")
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("warmup", help="compile the CPU kernels into the on-disk cache")
    w.add_argument("--family", nargs="*", default=None, help="families (default: all)")
    w.add_argument("--dtype", nargs="*", default=["float64", "float32"], choices=["float64", "float32"])
    w.add_argument("--jobs", type=int, default=None, help="processes (default: the CPU count)")
    args = ap.parse_args(argv)
    if args.cmd == "warmup":
        from ._warmup import warmup

        try:
            warmup(args.family, tuple(args.dtype), args.jobs)
        except KeyError as exc:
            print(f"mixstat warmup: {exc.args[0]}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
