"""Lesson 11: ``join_condition``, the condition of a stream–stream join: same city, weather in the 30 minutes
before."""

from __future__ import annotations

from ..grader import exercise
from ._common import Case, Context, at, expect, hhmm, plain


def _pairs(got) -> object:
    """Pairs as the messages show them: tuples (they crossed JSON as lists)."""
    return [tuple(p) if isinstance(p, list) else p for p in got] if isinstance(got, list) else got


@exercise("join_condition", "11", "The condition of a stream–stream join: same city, weather in the 30 minutes before",
          ["joins"], needs="spark", requirements={
              "city": "the same city",
              "range": "the observation taken in the 30 minutes up to the accident",
              "ends": "both ends included"})
def cases(ctx: Context) -> list[Case]:
    def case(accidents, observations, want, shown, hint, need):
        def observe(fn) -> list:
            """(accident id, observation time "HH:MM") of every pair the join made, sorted."""
            spark = ctx.spark()
            acc = spark.createDataFrame([(i, c, at(t)) for i, c, t in accidents],
                                        "id string, city string, dispatch_ts timestamp").alias("a")
            wx = spark.createDataFrame([(c, at(t), 0.0) for c, t in observations],
                                       "city string, obs_ts timestamp, precip double").alias("w")
            rows = acc.join(wx, fn(acc, wx), "inner").select("a.id", "w.obs_ts").collect()
            return plain(sorted([r["id"], hhmm(r["obs_ts"])] for r in rows))

        def judge(got):
            expect(got == [list(p) for p in want], f"pairs (accident, observation) {_pairs(got)}, expected {want}")
        return Case(shown, observe, judge, hint, len(accidents) * len(observations), need)

    return [
        case([("a1", "boston", "09:10")], [("cambridge", "09:05"), ("boston", "09:00")], [("a1", "09:00")],
             "an accident in boston at 09:10; observations in cambridge at 09:05 and in boston at 09:00",
             "an observation of another city never goes with the accident: the same city is part of the condition",
             "city"),
        case([("a1", "boston", "09:10")], [("boston", t) for t in ("08:20", "08:50", "09:05", "09:20")],
             [("a1", "08:50"), ("a1", "09:05")],
             "an accident at 09:10; observations at 08:20, 08:50, 09:05 and 09:20 (boston)",
             "only observations in the 30 minutes up to the accident: none older, none after it", "range"),
        case([("a1", "boston", "09:10")], [("boston", t) for t in ("08:40", "09:10")],
             [("a1", "08:40"), ("a1", "09:10")],
             "an accident at 09:10; observations at exactly 08:40 and 09:10 (boston)",
             "both ends are included: an observation exactly 30 minutes before, or at the accident's minute",
             "ends"),
        case([("a1", "boston", "09:10"), ("a2", "boston", "10:00"), ("a3", "cambridge", "09:10"),
              ("a4", "boston", "09:20")],
             [("boston", "08:50"), ("boston", "09:05"), ("cambridge", "09:15"), ("boston", "09:20")],
             [("a1", "08:50"), ("a1", "09:05"), ("a4", "08:50"), ("a4", "09:05"), ("a4", "09:20")],
             "4 accidents and 4 observations in two cities",
             "an equality on city plus a time range: the observation at most 30 minutes before the accident, and "
             "not after it", "range"),
    ]
