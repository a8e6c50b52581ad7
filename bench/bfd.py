"""Best-fit decreasing: the kit's bfd_buckets against the L2 lower bound and the `binpacking` package.

Prints, for 100k and 1M files of the realistic (log-normal) spread: seconds,
bucket count, L2, and at 100k the same input through binpacking.to_constant_volume
(time, count) with the speed ratio.  Run: .venv/bin/python bench/bfd.py [--skip-binpacking]
"""

from __future__ import annotations

import argparse
import json
import time

from etl_lib.pipelines.files import bfd_buckets, l2_lower_bound, lognormal_sizes

CAPACITY = 10 * 1024 * 1024


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-binpacking", action="store_true", help="binpacking takes minutes at 100k")
    args = parser.parse_args()
    results = {}
    for n in (100_000, 1_000_000):
        sizes = lognormal_sizes(n, seed=2026)
        buckets, seconds = timed(bfd_buckets, sizes, CAPACITY)
        l2 = l2_lower_bound(sizes, CAPACITY)
        row = {"files": n, "bfd_seconds": round(seconds, 3), "bfd_buckets": len(buckets), "l2_lower_bound": l2,
               "bfd_over_l2": len(buckets) - l2, "oversize": sum(b.oversize for b in buckets)}
        if n == 100_000 and not args.skip_binpacking:
            import binpacking

            bins, bp_seconds = timed(binpacking.to_constant_volume, sizes, CAPACITY)
            row.update({"binpacking_seconds": round(bp_seconds, 2), "binpacking_buckets": len(bins),
                        "speedup_vs_binpacking": round(bp_seconds / seconds, 1)})
        results[n] = row
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
