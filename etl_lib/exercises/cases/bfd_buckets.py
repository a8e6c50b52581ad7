"""Lesson 03: ``bfd_buckets``, best-fit decreasing bin packing."""

from __future__ import annotations

import random

from ..grader import exercise
from ._common import Case, Context, expect, outcome, raised, shown


def reference_bucket_count(sizes: list[int], capacity: int) -> int:
    """How many buckets best-fit decreasing makes: the kit's own packer (ties do not change the count), run by
    the judging half."""
    from ...pipelines.files import bfd_buckets

    return len(bfd_buckets(sizes, capacity))


@exercise("bfd_buckets", "03", "Best-fit decreasing bin packing", ["bfd"], requirements={
    "indices": "return a list of buckets, each a list of **indices** into `sizes`",
    "capacity": "buckets of at most `capacity` bytes",
    "decreasing": "Take the files largest first",
    "best-fit": "where it fits most tightly (the least room left after it)",
    "oversize": "raise `ValueError` naming its size"})
def cases(ctx: Context) -> list[Case]:
    def valid(sizes, capacity, hint, size, need, shown_as=None):
        def observe(fn):
            return outcome(lambda: fn(list(sizes), capacity))

        def judge(seen):
            expect("returned" in seen, str(seen.get("described")))
            buckets = seen["returned"]
            expect(isinstance(buckets, list) and all(isinstance(b, list) for b in buckets),
                   f"returned {shown(buckets)}, not a list of buckets (lists of indices)")
            flat = sorted(i for b in buckets for i in b if type(i) is int)
            expect(flat == list(range(len(sizes))) and sum(map(len, buckets)) == len(sizes),
                   f"every file index must appear in exactly one bucket; got {buckets}")
            for n, b in enumerate(buckets):
                total = sum(sizes[i] for i in b)
                expect(total <= capacity, f"bucket {n} holds {total} bytes, more than the capacity {capacity}")
            want = reference_bucket_count(sizes, capacity)
            expect(len(buckets) == want, f"{len(buckets)} buckets; best-fit decreasing makes {want}")
        return Case(shown_as or f"sizes={sizes}, capacity={capacity}", observe, judge, hint, size, need)

    def judge_oversize(seen):
        expect(raised(seen, "ValueError"), f"returned {shown(seen.get('returned'))} for a file larger than the "
               "capacity instead of raising ValueError" if "returned" in seen else str(seen.get("described")))
        expect("12" in str(seen.get("message")),
               f"the ValueError does not name the file that is too big: {str(seen.get('message'))!r}")

    rng = random.Random(ctx.seed(3))
    randoms = [[rng.randint(1, 60) for _ in range(n)] for n in (20, 60, 200)]
    # First fit decreasing needs 3 buckets here; best fit (the fullest bucket that still fits) needs 2.
    first_vs_best = [20, 11, 11, 8, 5, 5]
    return [
        valid([6, 5, 4, 3, 2], 10, "return a list of buckets, each a list of indices into sizes", 5, "indices"),
        valid([], 10, "no files, no buckets", 0, "indices", "sizes=[], capacity=10"),
        valid([7, 7, 3, 3], 10, "a bucket holds at most capacity bytes: open a new one when a file does not fit",
              4, "capacity"),
        Case("sizes=[4, 12, 3], capacity=10", lambda fn: outcome(lambda: fn([4, 12, 3], 10)), judge_oversize,
             "a file larger than a bucket can never fit: refuse it with ValueError naming it", 3, "oversize"),
        valid(first_vs_best, 30, "put each file in the bucket with the LEAST room left that still fits (best "
              "fit), not the first one that fits", 6, "best-fit"),
        valid([1, 2, 8, 8], 10, "take the files largest first (decreasing): small files placed early can block "
              "large ones", 4, "decreasing"),
        *[valid(s, 100, "sort by size, largest first, then best fit", len(s), "best-fit", f"{len(s)} random sizes "
                f"from 1 to 60, capacity=100 (first: {s[:5]})") for s in randoms],
    ]
