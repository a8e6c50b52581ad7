"""Lesson 08: ``pearson_from_sums``, Pearson r from sufficient statistics."""

from __future__ import annotations

import math
import random

from ..grader import exercise
from ._common import Case, Context, expect, outcome, shown


def _sums(xs, ys):
    return (len(xs), sum(xs), sum(ys), sum(x * x for x in xs), sum(y * y for y in ys),
            sum(x * y for x, y in zip(xs, ys)))


def _reference(xs, ys):
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    vx, vy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return cov / math.sqrt(vx * vy)


def _returned(seen) -> object:
    """The float the student's function returned (or None); a Mismatch for anything else."""
    expect("returned" in seen, str(seen.get("described")))
    got = seen["returned"]
    expect(got is None or type(got) in (int, float), f"returned {shown(got)}, not a float")
    return got


@exercise("pearson_from_sums", "08", "Pearson r from sufficient statistics", ["pearson"], requirements={
    "formula": "returning Pearson's r as a float",
    "too-few": "fewer than 2 pairs",
    "no-variance": "x or y does not vary",
    "clamp": "must never give an r outside [−1, 1]"})
def cases(ctx: Context) -> list[Case]:
    def call(xs, ys):
        return lambda fn: outcome(lambda: fn(*_sums(xs, ys)))

    def case(xs, ys, want, shown_as, hint, size, need, tol=1e-9):
        def judge(seen):
            got = _returned(seen)
            if want is None:
                expect(got is None, f"returned {got!r}; r is undefined here, return None")
                return
            expect(type(got) is float and abs(got - want) <= tol, f"returned {got!r}, expected {want:.12g}")
        return Case(shown_as, call(xs, ys), judge, hint, size, need)

    def within_range(xs, ys, shown_as):
        def judge(seen):
            got = _returned(seen)
            expect(got is None or (type(got) is float and -1.0 <= got <= 1.0),
                   f"returned {got!r}: outside [-1, 1], which no correlation can be")
        return Case(shown_as, call(xs, ys), judge, "cancellation in n·Σx² − (Σx)² can push the formula's r past "
                    "±1: clamp r to [-1, 1], and treat a variance ≤ 0 as no variance", len(xs), "clamp")

    def cancelling(count: int) -> list[tuple[list[float], list[float]]]:
        """A few points near 1e5 on a line, for which the plain formula gives |r| > 1 (found, not typed in)."""
        pick, found = random.Random(ctx.seed(11)), []
        while len(found) < count:
            n = pick.randint(2, 5)
            xs = [1e5 + pick.random() for _ in range(n)]
            ys = [pick.choice([2.0, -3.0, 0.5]) * x + pick.uniform(-10, 10) for x in xs]
            n_, sx, sy, sxx, syy, sxy = _sums(xs, ys)
            vx, vy = n_ * sxx - sx * sx, n_ * syy - sy * sy
            if vx > 0 and vy > 0 and abs((n_ * sxy - sx * sy) / math.sqrt(vx * vy)) > 1.0:
                found.append((xs, ys))
        return found

    rng = random.Random(ctx.seed(5))
    xs = [rng.gauss(10, 3) for _ in range(200)]
    ys = [2 * x + rng.gauss(0, 4) for x in xs]
    big = [1e6 + rng.random() for _ in range(50)]
    return [*(within_range(cx, cy, f"{len(cx)} points near x = 1e5 on a straight line (the plain formula gives "
                                   "|r| > 1 here)") for cx, cy in cancelling(3)),
            within_range(big, [2 * b for b in big], "x around 1e6 varying by less than 1, y = 2x"),
            case([1, 2, 3], [2, 4, 6], 1.0, "x=[1, 2, 3], y=[2, 4, 6]",
                 "r = (n·Σxy − Σx·Σy) / sqrt((n·Σx² − (Σx)²)·(n·Σy² − (Σy)²))", 3, "formula"),
            case([1, 2, 3], [3, 2, 1], -1.0, "x=[1, 2, 3], y=[3, 2, 1]",
                 "Pearson's formula gives r = −1 for a perfect falling line", 3, "formula"),
            case([5], [7], None, "one pair", "with fewer than 2 pairs r is undefined: return None", 1, "too-few"),
            case([2, 2, 2], [1, 5, 9], None, "x constant: [2, 2, 2]",
                 "when x or y does not vary (no variance) the denominator is 0: return None, never divide by zero",
                 3, "no-variance"),
            case(xs, ys, _reference(xs, ys), "200 noisy pairs around y = 2x", "compare with the formula above", 200,
                 "formula"),
            case(big, [2 * b for b in big], 1.0, "x around 1e6 varying by less than 1, y = 2x",
                 "cancellation can make n·Σx² − (Σx)² slightly negative or r slightly above 1: clamp r to [-1, 1] "
                 "and treat a variance ≤ 0 as no variance", 50, "clamp", tol=1e-3)]
