"""Lesson 11: ``dedup_trips``, drop re-sent trips in a stream, with bounded state."""

from __future__ import annotations

from ..grader import exercise, plain
from ._common import Case, Context, expect, memory_stream, once_per_solution

BATCHES = [[("a", "08:01:00"), ("b", "08:02:00"), ("a", "08:01:00"), ("e", "08:01:00")],
           [("c", "08:05:00"), ("b", "08:02:00")],
           [("d", "08:09:00"), ("c", "08:05:00"), ("a", "08:01:00")],
           [("f", "10:00:00")]]


@exercise("dedup_trips", "11", "Drop re-sent trips in a stream, with bounded state", ["watermarks", "exactly-once"],
          needs="spark", requirements={
              "once": "Return the stream with each trip once",
              "bounded": "with state that does not grow for ever"})
def cases(ctx: Context) -> list[Case]:
    def run(fn) -> tuple[list, list[int]]:
        held: list[int] = []
        return memory_stream(ctx, fn, BATCHES, "dedup", held), held

    streamed = once_per_solution(run)  # one streaming run per solution, shared by both cases

    def observe_once(fn) -> list:
        """The trip ids the query wrote, in the order written."""
        return [plain(r["trip_id"]) for r in streamed(fn)[0]]

    def judge_once(ids):
        expect(type(ids) is list and all(type(i) is str for i in ids),
               f"trip ids written {ids!r}, expected each of a to f once")
        got = sorted(ids)
        expect(got == ["a", "b", "c", "d", "e", "f"], f"trip ids written {got}, expected each of a to f once")

    def observe_bounded(fn) -> list:
        """The rows the query held in state after each micro-batch."""
        return plain(streamed(fn)[1])

    def judge_bounded(held):
        last = held[-1] if type(held) is list and held else None
        expect(type(last) is int and last <= 2,
               f"{last if last is not None else '?'} rows still held in state after a trip two hours later; the "
               "copies of 08:00-08:10 can no longer come")

    shown = ("micro-batches [a, b, a again, e], [c, b again], [d, c again, a again], [f two hours later]; "
             "copies within 10 minutes; e starts when a does")
    return [
        Case(shown + ": the trips written", observe_once, judge_once, "each trip once: a copy is the same trip id, "
             "in this micro-batch or a later one; two trips that start at the same time are two trips", 4, "once"),
        Case(shown + ": the state", observe_bounded, judge_bounded, "bounded state: the query must know how late a "
             "copy can come (10 minutes of event time), so it can forget a trip id once no copy can arrive", 4,
             "bounded"),
    ]
