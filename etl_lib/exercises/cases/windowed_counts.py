"""Lesson 06: ``windowed_counts``, trips per 15-minute window with a 10-minute watermark."""

from __future__ import annotations

from ..grader import exercise
from ._common import Case, Context, Mismatch, expect, hhmm, memory_stream, once_per_solution

BATCHES = [[("a", "08:01:00"), ("b", "08:05:00"), ("c", "08:20:00")],
           [("d", "08:40:00")],
           [("late", "08:07:00"), ("e", "08:41:00")],
           [("f", "10:00:00")]]


@exercise("windowed_counts", "06", "Trips per 15-minute window with a 10-minute watermark",
          ["watermarks", "tumbling-sliding"], needs="spark", requirements={
              "window": "trips per 15-minute tumbling window of `start_time`",
              "columns": "with columns `window_start`, `window_end` and `trips`",
              "append": "the query can run in append mode",
              "late": "a trip more than 10 minutes older than the newest one seen is left out"})
def cases(ctx: Context) -> list[Case]:
    shown = "micro-batches [08:01, 08:05, 08:20], [08:40], [a late 08:07, 08:41], [10:00], append mode"
    streamed = once_per_solution(lambda fn: memory_stream(ctx, fn, BATCHES, "windows"))  # shared by 4 cases

    def observe(fn) -> dict:
        """The rows the query wrote: the columns of the first, and (start, end, trips) of those that have all three."""
        try:
            rows = streamed(fn)
        except Exception as err:  # noqa: BLE001 - Spark's refusal, said the way the exercise asks
            if "watermark" in str(err).lower():
                raise Mismatch("Spark refused the query: append mode with an aggregation needs a watermark") from None
            raise
        columns = sorted(rows[0].asDict()) if rows else []
        table = []
        if {"window_start", "window_end", "trips"} <= set(columns):
            table = sorted([hhmm(r["window_start"]), hhmm(r["window_end"]), int(r["trips"])] for r in rows)
        return {"rows": len(rows), "columns": columns, "table": table}

    def table(seen) -> list:
        missing = {"window_start", "window_end", "trips"} - set(seen["columns"])
        expect(seen["rows"] and not missing, f"no column(s) {sorted(missing)} in the rows written" if seen["rows"]
               else "no window was written")
        return [tuple(row) for row in seen["table"]]

    def append(seen):
        expect(isinstance(seen, dict) and "rows" in seen, "the query did not run")

    def columns(seen):
        table(seen)

    def window(seen):
        got = [(s, e) for s, e, _ in table(seen)]
        want = [("08:00", "08:15"), ("08:15", "08:30"), ("08:30", "08:45")]
        expect(got == want, f"windows {got}, expected {want}")

    def late(seen):
        got = table(seen)
        want = [("08:00", "08:15", 2), ("08:15", "08:30", 1), ("08:30", "08:45", 2)]
        expect(got == want, f"rows {got}, expected {want}")

    return [
        Case(shown + ": the query runs", observe, append, "append mode with an aggregation needs a watermark on "
             "start_time (10 minutes) before the grouping, so that a window can be final", 4, "append"),
        Case(shown + ": the columns", observe, columns, "the rows have the columns window_start, window_end and "
             "trips (the window's start and end out of its struct, the count named trips)", 4, "columns"),
        Case(shown + ": the windows", observe, window, "15-minute tumbling windows of start_time: 08:00–08:15, "
             "08:15–08:30, ...; a window is written once the watermark passes its end", 4, "window"),
        Case(shown + ": the counts", observe, late, "a trip more than 10 minutes older than the newest one seen is "
             "late and left out: the 08:07 trip arrives after the watermark passed 08:15 (a 10-minute delay, not "
             "longer)", 4, "late"),
    ]
