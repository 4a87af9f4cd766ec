"""mixstat's side of W1-W4 alone: a fresh process, no peer imported.

    python benchmarks/alone.py [--repeats 5]

The same data as ``compare.py`` (``benchmarks/workloads.py``), the median of
repeats after a warm-up call, on the default threads.  For W1 it also times the
value array at a few offsets inside a larger buffer, because the kernel's speed
depends on where the array lies (see RESULTS.md, *Placement*).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import workloads as wl


def median_ms(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    r = ap.parse_args().repeats
    p = wl.mix1d(10**7)
    print(f"W1 float64  {median_ms(wl.mixstat_w1(p), r):7.1f} ms   ({10**7 * 16:.1e} point-components)")
    buf = np.empty(10**7 + 1024)
    for off in (0, 1, 8, 64, 511):
        x = buf[off : off + 10**7]
        x[:] = p.x
        q = wl.Mix1D(p.w, p.mu, p.sd, x)
        print(f"   x at offset {off:3d}: {median_ms(wl.mixstat_w1(q), r):7.1f} ms")
    print(f"W1 float32  {median_ms(wl.mixstat_w1(p.astype(np.float32)), r):7.1f} ms")
    print(f"W2 float64  {median_ms(wl.mixstat_w2(p, 10**7), r):7.1f} ms")
    m = wl.mix_mvn(10**6)
    print(f"W3          {median_ms(wl.mixstat_w3(m), r):7.1f} ms")
    b = wl.mdn(10**6)
    print(f"W4          {median_ms(wl.mixstat_w4(b), r):7.1f} ms   (construction + log_prob)")


if __name__ == "__main__":
    main()
