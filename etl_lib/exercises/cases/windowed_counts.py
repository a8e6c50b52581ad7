"""Lesson 06: ``windowed_counts``, trips per 15-minute window with a 10-minute watermark, each window handed to the
sink once, when final: the student starts the query, so the output mode is theirs to choose."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from ..grader import exercise, plain
from ._common import Case, Context, Mismatch, expect, hhmm, once_per_solution, send_values

BATCHES = [[("a", "08:01:00"), ("b", "08:05:00"), ("c", "08:20:00")],
           [("d", "08:40:00")],
           [("late", "08:07:00"), ("e", "08:41:00")],
           [("f", "10:00:00")]]
LAST_WATERMARK = "09:50"  # the newest trip (10:00) minus the 10-minute delay: no window ending after it is final


@exercise("windowed_counts", "06", "Trips per 15-minute window with a 10-minute watermark, each window once",
          ["watermarks", "tumbling-sliding", "output-modes"], needs="spark", requirements={
              "window": "trips per 15-minute tumbling window of `start_time`",
              "columns": "with columns `window_start`, `window_end` and `trips`",
              "append": "each window once, with its final count",
              "late": "a trip whose window has already closed is left out"})
def cases(ctx: Context) -> list[Case]:
    shown = "rounds of trips [08:01, 08:05, 08:20], [08:40], [a late 08:07, 08:41], [10:00]"

    def stream(fn) -> dict[str, Any]:
        """Start the student's query on a stream of the trips, send them round by round, each round processed
        before the next; what each micro-batch handed `write`: per batch, the columns and the rows as
        (start, end, trips) where the rows have all three columns."""
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        spark = ctx.spark()
        topic = ctx.new_topic("windows", partitions=1)
        schema = T.StructType([T.StructField("trip_id", T.StringType()),
                               T.StructField("start_time", T.StringType())])
        bikes = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", ctx.bootstrap())
                 .option("subscribe", topic).option("startingOffsets", "earliest").load()
                 .select(F.from_json(F.col("value").cast("string"), schema).alias("r"))
                 .select("r.trip_id", F.to_timestamp("r.start_time").alias("start_time")))
        batches: list[dict[str, Any]] = []

        def write(df, batch_id) -> None:
            rows = df.collect()
            columns = sorted(df.columns)
            table = []
            if {"window_start", "window_end", "trips"} <= set(columns):
                table = [[hhmm(r["window_start"]), hhmm(r["window_end"]), plain(r["trips"])] for r in rows]
            batches.append({"columns": columns, "rows": len(rows), "table": table})

        try:
            query = fn(bikes, write)
        except Exception as err:  # noqa: BLE001 - Spark's refusal at start, said the way the exercise asks
            if "watermark" in str(err).lower():
                raise Mismatch("Spark refused the query: append mode with an aggregation needs a watermark") from None
            raise
        if not hasattr(query, "processAllAvailable"):
            raise Mismatch(f"returned {type(query).__name__}, not a started StreamingQuery")
        try:
            for n, trips in enumerate(BATCHES, start=1):
                send_values(ctx, topic, [json.dumps({"trip_id": i, "start_time": f"2018-04-02 {t}"})
                                         for i, t in trips])
                query.processAllAvailable()
                if not query.isActive and n < len(BATCHES):
                    raise Mismatch(f"the query stopped by itself after round {n}; it must keep running while the "
                                   "check sends more trips")
        finally:
            query.stop()
        return {"batches": [b for b in batches if b["rows"]]}

    observe = once_per_solution(stream)  # one streaming run per solution, shared by the four cases

    def table(seen) -> list:
        """Every row handed to the sink, over all batches; a Mismatch when there is none or a column is missing."""
        batches = seen["batches"]
        expect(batches, "no window was handed to the sink")
        missing = {"window_start", "window_end", "trips"} - set(batches[0]["columns"])
        expect(not missing, f"no column(s) {sorted(missing)} in the rows handed to the sink")
        return sorted(tuple(row) for b in batches for row in b["table"])

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

    def append(seen):
        expect(seen["batches"], "no window was handed to the sink")
        handed: dict[tuple[str, str], list[int]] = defaultdict(list)
        for batch in seen["batches"]:
            for start, end, trips in batch["table"]:
                handed[(start, end)].append(trips)
        for (start, end), counts in sorted(handed.items()):
            expect(len(counts) == 1, f"the window {start}–{end} was handed to the sink {len(counts)} times, with "
                                     f"{', '.join(map(str, counts))} trips")
            expect(end <= LAST_WATERMARK, f"the window {start}–{end} was handed to the sink, but the watermark "
                                          f"(last {LAST_WATERMARK}) never passed its end: its count was not final")

    return [
        Case(shown + ": what each micro-batch hands the sink", observe, append, "each window once, with its final "
             "count: choose the output mode that hands the sink a row only when it can no longer change (the "
             "watermark has passed the window's end), not every time it changes, nor the whole table every batch; "
             "that mode needs a watermark on start_time before the grouping", 4, "append"),
        Case(shown + ": the columns", observe, columns, "the rows have the columns window_start, window_end and "
             "trips (the window's start and end out of its struct, the count named trips)", 4, "columns"),
        Case(shown + ": the windows", observe, window, "15-minute tumbling windows of start_time: 08:00–08:15, "
             "08:15–08:30, ...; a window is written once the watermark passes its end", 4, "window"),
        Case(shown + ": the counts", observe, late, "a trip whose window has closed is late and left "
             "out: the 08:07 trip arrives after the watermark passed 08:15, the end of its window (a 10-minute "
             "delay, not longer)", 4, "late"),
    ]
