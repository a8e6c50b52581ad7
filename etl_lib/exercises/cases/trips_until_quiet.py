"""Lesson 14: ``trips_until_quiet``, a StatefulProcessor with an event-time timer: trips per station until it goes
quiet."""

from __future__ import annotations

from typing import Any

from ..grader import exercise, plain
from ._common import Case, Context, expect, json_rounds, once_per_solution


def _trip(station: int, hhmm: str) -> dict[str, Any]:
    return {"station": station, "start_time": f"2018-04-02 {hhmm}:00"}


ROUNDS = [[_trip(1, "08:00"), _trip(1, "08:05"), _trip(2, "08:02")],
          [_trip(1, "08:20"), _trip(3, "08:40")],
          [_trip(2, "09:00")],
          [_trip(4, "10:00")]]


def _ints(values) -> bool:
    return type(values) is list and all(type(v) is int for v in values)


@exercise("trips_until_quiet", "14", "A StatefulProcessor with an event-time timer: trips per station until it goes "
          "quiet", ["arbitrary-state", "watermarks"], needs="spark", requirements={
              "count": "It counts a station's trips",
              "quiet": "once the station has had no trip for 15 minutes of event time, emits one row",
              "forget": "forgets the station, so its next trip starts a new count"})
def cases(ctx: Context) -> list[Case]:
    def four_runs(fn) -> list[tuple[int, int]]:
        """The rows the student's processor emitted over four runs: one streaming run per solution, shared."""
        from pyspark.sql import functions as F

        from ...state import use_state_store

        spark = ctx.spark()
        before = spark.conf.get("spark.sql.streaming.stateStore.providerClass")
        rows: list[tuple[int, int]] = []

        def start(stream, checkpoint):
            trips = (stream.select("station", F.to_timestamp("start_time").alias("event_time"))
                     .withWatermark("event_time", "10 minutes"))
            out = trips.groupBy("station").transformWithStateInPandas(
                fn()(), "station INT, trips LONG", outputMode="Append", timeMode="EventTime")
            return (out.writeStream.outputMode("append")
                    .foreachBatch(lambda df, batch: rows.extend((r["station"], r["trips"]) for r in df.collect()))
                    .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())

        use_state_store(spark, "rocksdb")
        try:
            json_rounds(ctx, "quiet", "station int, start_time string", ROUNDS, start)
        finally:
            spark.conf.set("spark.sql.streaming.stateStore.providerClass", before)
        return sorted(rows)

    emitted = once_per_solution(four_runs)

    def observe_count(fn) -> list:
        """(station, trips) of the rows emitted for stations 1 and 3."""
        return plain([[station, trips] for station, trips in emitted(fn) if station in (1, 3)])

    def judge_count(pairs):
        expect(type(pairs) is list and all(type(p) is list and len(p) == 2 and _ints(p) for p in pairs),
               f"emitted (station, trips) {pairs!r} for stations 1 and 3, expected [(1, 3), (3, 1)]")
        got = {station: trips for station, trips in pairs}
        expect(got == {1: 3, 3: 1}, f"emitted (station, trips) {sorted(got.items())} for stations 1 and 3, "
                                    "expected [(1, 3), (3, 1)]")

    def observe_quiet(fn) -> list:
        """The station of every row emitted, sorted."""
        return plain([station for station, _ in emitted(fn)])

    def judge_quiet(got):
        expect(_ints(got) and got == [1, 2, 2, 3], f"emitted rows for stations {got}, expected [1, 2, 2, 3] (station "
                                                   "4's timer has not fired at the end)")

    def observe_forget(fn) -> list:
        """The trips of every row emitted for station 2."""
        return plain([trips for station, trips in emitted(fn) if station == 2])

    def judge_forget(got):
        expect(_ints(got) and got == [1, 1], f"station 2 emitted trips {got}, expected [1, 1]: its 09:00 trip starts "
                                             "a new count")

    shown = "four runs: [station 1 at 08:00, 08:05; station 2 at 08:02], [1 at 08:20; 3 at 08:40], [2 at 09:00], " \
            "[4 at 10:00]"
    return [
        Case(shown + ": the counts", observe_count, judge_count, "count a station's trips in value state, adding each "
             "batch's rows to what the state already holds", 4, "count"),
        Case(shown + ": who goes quiet, when", observe_quiet, judge_quiet, "quiet for 15 minutes of event time: on "
             "each new row move the station's timer to its newest trip + 15 minutes; a timer fires once the "
             "watermark passes it", 4, "quiet"),
        Case(shown + ": station 2 twice", observe_forget, judge_forget, "when the timer fires, emit the row and "
             "forget the station (clear its state), so its next trip starts a new count", 4, "forget"),
    ]
