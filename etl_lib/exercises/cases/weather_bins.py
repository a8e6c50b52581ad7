"""Lesson 08: ``weather_bins``, windows into the kit's rain categories (dry, light, heavy) with the mean bike trips
of each, the edges on the kit's sides (``etl_lib.parsing.precip_category``)."""

from __future__ import annotations

import math
import random

from ..grader import exercise
from ._common import Case, Context, expect, outcome, shown

CATEGORIES = ("dry", "light", "heavy")


def _category(mm_h: float, heavy: float) -> str:
    """The kit's rule, as the judging half applies it: 0 belongs to dry, ``heavy`` to heavy."""
    return "dry" if mm_h <= 0 else "light" if mm_h < heavy else "heavy"


def reference(windows: list[dict], heavy: float) -> dict:
    """What ``weather_bins(windows, heavy)`` must return (built by the judging half from the case's own inputs)."""
    out: dict = {c: [] for c in CATEGORIES}
    missing = 0
    for w in windows:
        if w["precip_intensity"] is None:
            missing += 1
        else:
            out[_category(w["precip_intensity"], heavy)].append(w["bike_count"])
    return {**{c: {"windows": len(v), "mean_bike_count": sum(v) / len(v) if v else None} for c, v in out.items()},
            "missing": missing}


def _same(got, want) -> bool:
    if want is None:
        return got is None
    return type(got) in (int, float) and math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


@exercise("weather_bins", "08", "Windows into rain categories, with the kit's edges", ["binning"], requirements={
    "edges": "the edge 0 belongs to dry and the edge `heavy` to heavy",
    "threshold": "use the `heavy` you are given",
    "mean": "the mean of `bike_count` over the category's windows",
    "empty": "even a category no window fell in",
    "missing": "goes in no category: count it in `\"missing\"`"})
def cases(ctx: Context) -> list[Case]:
    def case(windows, heavy, shown_as, hint, size, need, means=True, only_empty=False):
        """One case; its judge looks at what ``need`` is about: the windows per category (and their means when
        ``means``), only the empty categories (``only_empty``), the missing count for "missing"."""
        want = reference(windows, heavy)
        looked_at = [c for c in CATEGORIES if not only_empty or want[c]["windows"] == 0]

        def judge(seen):
            expect("returned" in seen, str(seen.get("described")))
            got = seen["returned"]
            expect(isinstance(got, dict), f"returned {shown(got)}, not a dict")
            for c in looked_at:
                expect(isinstance(got.get(c), dict), f"no entry for {c!r}: the dict holds {sorted(got)}")
                n, mean = got[c].get("windows"), got[c].get("mean_bike_count")
                expect(n == want[c]["windows"], f"{c!r} holds {shown(n)} windows, expected {want[c]['windows']}")
                expect(not means or _same(mean, want[c]["mean_bike_count"]),
                       f"{c!r} has mean_bike_count {shown(mean)}, expected {want[c]['mean_bike_count']!r}")
            if need == "missing":
                expect(got.get("missing") == want["missing"], f"'missing' is {shown(got.get('missing'))}, "
                                                              f"expected {want['missing']}")
        return Case(shown_as, lambda fn: outcome(lambda: fn([dict(w) for w in windows], heavy)), judge, hint, size,
                    need)

    def rows(pairs):
        return [{"precip_intensity": p, "bike_count": b} for p, b in pairs]

    def listed(pairs):
        return ", ".join(f"({p}, {b})" for p, b in pairs)

    each = "(precip_intensity, bike_count) of each window:"

    rng = random.Random(ctx.seed(8))
    edges_hint = ("0 mm/h is dry, rain starts above it; the heavy threshold itself is already heavy: each edge "
                  "belongs to one side only")
    on_edges = [(0.0, 30), (0.0, 34), (1.2, 20), (2.5, 8), (2.4999, 16), (7.0, 4)]
    near = [(0.0, 40), (0.01, 25), (2.49, 19), (2.5, 9), (3.0, 5)]
    # threshold: another heavy edge, some windows right on it
    heavy = rng.choice([0.5, 1.0, 4.0, 7.5])
    moved = [(0.0, 41), (round(heavy / 2, 3), 30), (heavy, 12), (heavy + 0.5, 6), (round(heavy * 0.9, 3), 27),
             (heavy * 3, 2)]
    threshold_hint = ("the heavy edge is a parameter: with another value the same windows fall in other categories "
                      "(never a number typed into the code)")
    counts = [rng.randint(0, 60) for _ in range(40)]
    precip = [rng.choice([0.0, 0.0, 0.0, round(rng.uniform(0.01, 6), 2)]) for _ in counts]
    many = list(zip(precip, counts))
    many[:3] = [(0.0, counts[0]), (1.0, counts[1]), (5.0, counts[2])]  # every category holds a window
    mean_hint = "each category's mean is its windows' trips added up, divided by its number of windows"
    empty_hint = ("list dry, light and heavy every time; a category without windows has 0 windows and no mean "
                  "(None): a mean of nothing is undefined, not 0")
    missing_hint = ("a window without a precipitation value is in no category: count it as missing; a missing value "
                    "is not 0 mm/h")
    with_none = [(0.0, 30), (None, 99), (1.0, 18), (None, 70), (3.0, 5)]
    return [
        case(rows(on_edges), 2.5, f"heavy=2.5, {each} {listed(on_edges)}", edges_hint, 6, "edges", means=False),
        case(rows(near), 2.5, f"heavy=2.5, {each} {listed(near)}", edges_hint, 5, "edges", means=False),
        case(rows(moved), heavy, f"heavy={heavy}, {each} {listed(moved)}", threshold_hint, 7, "threshold",
             means=False),
        case(rows(on_edges), 2.0, f"heavy=2.0, {each} {listed(on_edges)}", threshold_hint, 8, "threshold",
             means=False),
        case(rows([(0.0, 10), (0.0, 13), (0.0, 20), (0.4, 7), (3.1, 2), (6.0, 5)]), 2.5,
             f"heavy=2.5, {each} (0.0, 10), (0.0, 13), (0.0, 20), (0.4, 7), (3.1, 2), (6.0, 5)", mean_hint, 9, "mean"),
        case(rows(many), 2.5, f"heavy=2.5, 40 random windows (the first three: {listed(many[:3])})", mean_hint, 40,
             "mean"),
        case([], 2.5, "heavy=2.5, no windows at all", empty_hint, 0, "empty"),
        case(rows([(1.0, 12), (2.0, 15)]), 2.5, "heavy=2.5, two windows of light rain: (1.0, 12), (2.0, 15)",
             empty_hint, 2, "empty", only_empty=True),
        case(rows(with_none), 2.5, f"heavy=2.5, {each} {listed(with_none)}", missing_hint, 10, "missing"),
        case(rows([(None, 50), (None, 60)]), 2.5, "heavy=2.5, two windows without precipitation: (None, 50), "
             "(None, 60)", missing_hint, 11, "missing"),
    ]
