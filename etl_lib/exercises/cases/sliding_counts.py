"""Lesson 06: ``sliding_counts``, trips per 15-minute window sliding every 5 minutes."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from ..grader import exercise
from ._common import Case, Context, Mismatch, at, expect, hhmm


@exercise("sliding_counts", "06", "Trips per 15-minute window sliding every 5 minutes", ["tumbling-sliding"],
          needs="spark", requirements={
              "length": "per 15-minute window",
              "slide": "sliding every 5 minutes",
              "columns": "with columns `window_start`, `window_end` and `trips`"})
def cases(ctx: Context) -> list[Case]:
    def rows(fn, times):
        spark = ctx.spark()
        df = spark.createDataFrame([(f"t{i}", at(t)) for i, t in enumerate(times)], "trip_id string, "
                                   "start_time timestamp")
        out = fn(df)
        missing = {"window_start", "window_end", "trips"} - set(out.columns)
        if missing:
            raise Mismatch(f"no column(s) {sorted(missing)} in the result (it has {out.columns})")
        return out.collect()

    def case(times: list[str]):
        def observe(fn):
            return sorted([hhmm(r["window_start"]), int(r["trips"])] for r in rows(fn, times))

        def judge(got):
            counts: dict[datetime, int] = defaultdict(int)
            for t in times:
                ts = at(t)
                first = ts.replace(minute=ts.minute - ts.minute % 5, second=0) - timedelta(minutes=10)
                for k in range(3):
                    counts[first + timedelta(minutes=5 * k)] += 1
            want = sorted((w.strftime("%H:%M"), n) for w, n in counts.items())
            got = [tuple(g) for g in got]
            expect(got == want, f"(window_start, trips) {got}, expected {want}")
        return Case(f"trips at {times}", observe, judge, "a window slides every 5 minutes: each trip counts in the "
                    "three overlapping windows that contain it", len(times), "slide")

    def observe_length(fn):
        return sorted({(r["window_end"] - r["window_start"]).total_seconds() / 60
                       for r in rows(fn, ["08:01", "08:12"])})

    def judge_length(spans):
        expect(spans == [15.0], f"windows last {spans} minutes, expected 15")

    def observe_columns(fn):
        df = ctx.spark().createDataFrame([("t0", at("08:01"))], "trip_id string, start_time timestamp")
        return sorted(str(c) for c in fn(df).columns)

    def judge_columns(columns):
        missing = {"window_start", "window_end", "trips"} - set(columns)
        expect(not missing, f"no column(s) {sorted(missing)} in the result (it has {columns})")

    return [case(["08:01"]), case(["08:01", "08:04", "08:12", "08:29:59"]),
            Case("trips at ['08:01', '08:12']: window_end − window_start", observe_length, judge_length,
                 "each window is 15 minutes long, whatever its slide", 2, "length"),
            Case("trips at ['08:01']: the result's columns", observe_columns, judge_columns,
                 "the result has the columns window_start, window_end and trips (the window's start and end taken "
                 "out of its struct, the count named trips)", 0, "columns")]
