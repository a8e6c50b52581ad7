"""Lesson 14: ``trips_until_quiet``, a StatefulProcessor with an event-time timer: trips per station until it goes
quiet.

Two kinds of case: the student's own rounds of trips driven through pyspark's ``TwsTester`` (the processor in
plain Python, the watermark set by hand after each round: no JVM, milliseconds), and four runs of a real streaming
query on Spark (``transformWithStateInPandas`` over a file source, RocksDB state store), which the tester cannot
replace: only the engine shows the processor working in a query."""

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


QUIET, DELAY = 15, 10  # minutes: a station is quiet after 15 minutes without a trip; the watermark lags 10


def _student_rounds(seed: int) -> list[list[tuple[int, int]]]:
    """Rounds of (station, minute after 08:00): station 1 trips in two rounds and goes quiet, station 2 goes quiet
    and comes back (a second count), station 3 stops within the hour (a processor waiting 60 minutes misses it);
    times, gaps and station numbers vary with the seed."""
    import random

    rng = random.Random(seed)
    a, b, c = rng.sample(range(1, 40), 3)
    t = rng.randint(0, 5)
    rounds = [[(a, t), (a, t + rng.randint(1, 4)), (b, t + rng.randint(0, 3))],
              [(a, t + rng.randint(6, 9)), (c, t + rng.randint(10, 14))],
              [(b, t + rng.randint(40, 50))],
              [(c, t + rng.randint(75, 85)), (b, t + rng.randint(86, 90))],
              [(rng.randint(40, 60), t + rng.randint(160, 170))]]
    return rounds


def _expected(rounds: list[list[tuple[int, int]]]) -> list[list[int]]:
    """[round, station, trips] of each row a correct processor emits when driven round by round as below."""
    counts: dict[int, int] = {}
    timers: dict[int, int] = {}
    out, newest = [], None
    for n, trips in enumerate(rounds):
        for station, _ in trips:
            counts[station] = counts.get(station, 0) + 1
        for station in {s for s, _ in trips}:
            timers[station] = max(m for s, m in trips if s == station) + QUIET
        newest = max([newest or 0] + [m for _, m in trips])
        for station in sorted(s for s, due in timers.items() if due <= newest - DELAY):
            out.append([n, station, counts.pop(station)])
            timers.pop(station)
    return out


def _tws_emitted(fn, rounds: list[list[tuple[int, int]]]) -> list[list[int]]:
    """Drive the student's processor through TwsTester: each round's trips per station, then the watermark set to
    the newest trip so far minus 10 minutes, which fires the timers it reaches. [round, station, trips] emitted."""
    import pandas as pd
    from pyspark.sql.streaming.tws_tester import TwsTester

    def at(minute: int) -> pd.Timestamp:
        return pd.Timestamp("2018-04-02 08:00") + pd.Timedelta(minutes=minute)

    tester = TwsTester(fn()(), timeMode="EventTime", outputMode="Append",
                       eventTimeExtractor=lambda row: int(pd.Timestamp(row["event_time"]).value // 1_000_000))
    out: list[list[int]] = []

    def take(n: int, frame: Any) -> None:
        if frame is not None and len(frame):
            out.extend([n, int(r["station"]), int(r["trips"])] for _, r in frame.iterrows())

    mark, newest = 0, None
    for n, trips in enumerate(rounds):
        for station in sorted({s for s, _ in trips}):
            times = [at(m) for s, m in trips if s == station]
            take(n, tester.testInPandas(station, pd.DataFrame({"station": [station] * len(times),
                                                               "event_time": times})))
        newest = max([newest or 0] + [m for _, m in trips])
        watermark = int(at(newest - DELAY).value // 1_000_000)
        if watermark > mark:
            take(n, tester.setWatermark(watermark))
            mark = watermark
    return sorted(out)  # by round, then station: the tester fires timers in the order they were first set


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
    rounds = _student_rounds(ctx.seed(1401))
    expected = _expected(rounds)
    told = "; ".join(f"round {n}: " + ", ".join(f"station {s} at {8 + m // 60:02d}:{m % 60:02d}" for s, m in trips)
                     for n, trips in enumerate(rounds))
    tested = once_per_solution(lambda fn: plain(_tws_emitted(fn, rounds)))

    def tws_case(requirement: str, pick, what: str, hint: str) -> Case:
        def judge(rows) -> None:
            expect(type(rows) is list and all(type(r) is list and len(r) == 3 and _ints(r) for r in rows),
                   f"the processor emitted {str(rows)[:200]}, not rows of (station, trips)")
            expect(pick(rows) == pick(expected), f"{what}: the processor emitted (round, station, trips) "
                                                 f"{pick(rows)}, expected {pick(expected)}")
        return Case(f"TwsTester, {told}, the watermark 10 minutes behind the newest trip after each round: {what}",
                    tested, judge, hint, 1, requirement)

    twice = next(r[1] for r in expected if sum(1 for x in expected if x[1] == r[1]) == 2)
    return [
        tws_case("count", lambda rows: sorted({r[1]: r[2] for r in reversed(rows)}.items()), "the first count of "
                 "each station", "count a station's trips in value state, adding each call's rows to what the "
                 "state already holds"),
        tws_case("quiet", lambda rows: [[r[0], r[1]] for r in rows], "which station goes quiet after which round",
                 "on each new row move the station's timer to its newest trip + 15 minutes; a timer fires once "
                 "the watermark reaches it"),
        tws_case("forget", lambda rows: [r[2] for r in rows if r[1] == twice], f"station {twice}'s counts",
                 "when the timer fires, emit the row and clear the station's state, so its next trip starts a new "
                 "count"),
        Case(shown + ": the counts", observe_count, judge_count, "count a station's trips in value state, adding each "
             "batch's rows to what the state already holds", 4, "count"),
        Case(shown + ": who goes quiet, when", observe_quiet, judge_quiet, "quiet for 15 minutes of event time: on "
             "each new row move the station's timer to its newest trip + 15 minutes; a timer fires once the "
             "watermark passes it", 4, "quiet"),
        Case(shown + ": station 2 twice", observe_forget, judge_forget, "when the timer fires, emit the row and "
             "forget the station (clear its state), so its next trip starts a new count", 4, "forget"),
    ]
