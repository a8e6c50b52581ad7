"""Lesson 13: ``open_windows``, the windows a query still holds, read from its state store."""

from __future__ import annotations

import re

from ..grader import exercise, plain
from ._common import Case, Context, Mismatch, expect, json_rounds, shown

TIMES = [["08:01", "08:16", "08:02"], ["08:17", "08:31"], ["08:47"]]  # the trips of each run (round)


def _pairs_are(got, want: list[tuple[str, int]]) -> bool:
    """True when ``got`` (plain data) is exactly the (start text, whole count) pairs ``want``."""
    return (type(got) is list and all(type(p) is list and len(p) == 2 and type(p[0]) is str and type(p[1]) is int
                                      for p in got)
            and got == [list(p) for p in want])


def _show_pairs(got) -> object:
    return [tuple(p) if isinstance(p, list) else p for p in got] if isinstance(got, list) else got


@exercise("open_windows", "13", "The windows a query still holds, read from its state store",
          ["state-store", "watermarks"], needs="spark", requirements={
              "held": "the windows it still holds in its state store after its last batch",
              "pairs": "as a list of `(start, trips)` pairs sorted by start",
              "format": "the start as `\"HH:MM\"`"})
def cases(ctx: Context) -> list[Case]:
    made: dict[int, str] = {}

    def checkpoint(rounds: int) -> str:
        """The checkpoint of a windowed count after ``rounds`` of the three runs: made once for all cases."""
        if rounds not in made:
            from pyspark.sql import functions as F

            def start(stream, folder):
                counts = (stream.select(F.to_timestamp("start_time").alias("start_time"))
                          .withWatermark("start_time", "10 minutes")
                          .groupBy(F.window("start_time", "15 minutes")).agg(F.count("*").alias("trips")))
                return (counts.writeStream.outputMode("append").foreachBatch(lambda df, batch: df.count())
                        .option("checkpointLocation", folder).trigger(availableNow=True).start())

            trips = [[{"start_time": f"2018-04-02 {t}:00"} for t in ts] for ts in TIMES[:rounds]]
            made[rounds] = str(json_rounds(ctx, "open_windows", "start_time string", trips, start))
        return made[rounds]

    def returned(fn, rounds: int) -> list:
        """What the student's function returned for the checkpoint after ``rounds`` runs; a list, or the case
        cannot go on."""
        got = fn(ctx.spark(), checkpoint(rounds))
        if not isinstance(got, list):
            raise Mismatch(f"returned {type(got).__name__}, expected a list of (start, trips) pairs")
        return got

    def observe_pairs(rounds: int):
        """(start as text, trips as a whole number) of every pair returned, in the order returned."""
        return lambda fn: plain([[str(w), int(n)] for w, n in returned(fn, rounds)])

    def judge_held(got):
        want = [("08:30", 1), ("08:45", 1)]
        expect(_pairs_are(got, want), f"returned {_show_pairs(got)}, expected {want}: the windows the watermark "
                                      "evicted are no longer held")

    def judge_pairs(got):
        want = [("08:00", 2), ("08:15", 1)]
        expect(_pairs_are(got, want), f"returned {_show_pairs(got)}, expected [('08:00', 2), ('08:15', 1)]")

    def observe_starts(fn) -> list:
        """The starts returned, as they are (a text stays a text; anything else is shown by its class)."""
        return plain([w for w, _ in returned(fn, 1)])

    def judge_format(starts):
        said = f"[{', '.join(shown(w) for w in starts)}]" if isinstance(starts, list) else shown(starts)
        expect(type(starts) is list and all(type(w) is str and re.fullmatch(r"\d\d:\d\d", w) for w in starts),
               f"window starts {said}, expected texts such as '08:00'")

    return [
        Case("trips at 08:01, 08:16 and 08:02, one run: the starts", observe_starts, judge_format, "the start as a "
             "time of day, \"HH:MM\" (date_format of the window's start)", 1, "format"),
        Case("trips at 08:01, 08:16 and 08:02, one run: the pairs", observe_pairs(1), judge_pairs, "one (start, "
             "trips) pair per window still in state, sorted by start; the count is the state's value", 2, "pairs"),
        Case("three runs: [08:01, 08:16, 08:02], [08:17, 08:31], [08:47]: the windows held", observe_pairs(3),
             judge_held, "read the state the store holds after its last batch (spark.read.format('statestore')), "
             "not every window ever seen: the watermark has evicted 08:00 and 08:15", 3, "held"),
    ]
