"""Lesson 15: ``predict_batches``, a pure-Python prediction of what a windowed count does batch by batch (the rows
each micro-batch emits, the watermark after it, the windows it holds in state), judged against Spark itself.

The student's function never meets Spark: the observing half only calls it on the events of each trace.  The judging
half runs the same query on real Spark, one micro-batch per batch (:func:`etl_lib.traces.answer_all`, answers kept in
``DATA_DIR/traces/answers.json``), and compares field by field (:func:`etl_lib.traces.check`): no expected value is
typed in here.  The traces are the student's own (``traces.generate`` from :meth:`Context.seed`), plus fixed ones
built so that each rule bites: a row whose window ends between the watermark the previous batch ran with and this
batch's (counted, then closed in that batch), rows behind the previous batch's watermark (dropped), a row exactly at
the watermark, an empty batch in the middle, a batch of stragglers only, a watermark exactly at a window's end."""

from __future__ import annotations

import threading
from typing import Any

from ... import traces
from ..grader import exercise, plain, shown
from ._common import Case, Context, Mismatch

_ANSWERING = threading.Lock()  # grade-class judges students in threads: one Spark run (and cache write) at a time

# The fixed traces' events by batch (the last batch empty), each with its watermark delay; window 10 minutes.
RULES_BITE = {
    # b2: 12:08 ends 12:10, between 12:07 (b1 ran with) and 12:12 (b2 runs with): counted, closed in b2; 12:05 is
    # behind 12:07 but its window is open.  b3: empty.  b4: 12:19 dropped (12:20 <= 12:21), 12:21 exactly at the
    # watermark.  b5: a straggler only (the watermark stays).  b7: the watermark reaches 12:40, a window's end.
    "S": (5, [["12:01", "12:04", "12:12"], ["12:17", "12:09"], ["12:26", "12:08", "12:05"], [],
              ["12:21", "12:19", "12:33"], ["12:24"], ["12:45"], []]),
    # b1: empty before any watermark.  b3: stragglers only, both windows between 11:53 and 12:17: counted, closed.
    # b4: 12:08 dropped, 12:19 counted.
    "T": (10, [["12:03"], [], ["12:14", "12:27"], ["12:09", "12:02"], ["12:08", "12:19", "12:36"], []]),
}
FIXED = [("S", "append"), ("S", "update"), ("S", "complete"), ("T", "append"), ("T", "update")]
SEEDS = {"append": 1501, "update": 1502, "complete": 1503}  # the bases of the student's own traces


def fixed_trace(name: str, mode: str) -> traces.Trace:
    delay, times = RULES_BITE[name]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    return traces.make_trace(f"tumbling-{mode}", {"delay": delay, "window": 10},
                             [[f"{next(letters)}@{t}" for t in batch] for batch in times])


def arguments(trace: traces.Trace) -> tuple[list[list[str]], int, int, str]:
    """What the student's function is called with: event times only (the ids play no part)."""
    return ([[traces.hhmm(e.minute) for e in batch] for batch in trace.batches], trace.params["window"],
            trace.params["delay"], trace.family.mode)


def call_text(trace: traces.Trace) -> str:
    batches, window, delay, mode = arguments(trace)
    return f"predict_batches({batches!r}, window={window}, delay={delay}, mode={mode!r})"


def prediction(fn: Any, trace: traces.Trace) -> list[dict[str, Any]]:
    """The observing half: call the student's function on a fresh copy of the trace's events and return its answer
    as plain data, or raise :class:`Mismatch` when it is not one dict per batch of the right shape."""
    batches, window, delay, mode = arguments(trace)
    got = fn(batches, window, delay, mode)
    if not isinstance(got, (list, tuple)):
        raise Mismatch(f"returned {shown(plain(got))[:200]}, expected a list with one dict per batch")
    if len(got) != len(batches):
        raise Mismatch(f"returned a list of {len(got)} for {len(batches)} batches: one dict per batch, the last "
                       "(empty) batch too")
    out = []
    for n, batch in enumerate(got):
        if not isinstance(batch, dict) or not {"rows", "watermark", "state"} <= set(batch):
            raise Mismatch(f"batch {n}: returned {shown(plain(batch))[:200]}, expected a dict with the keys "
                           "'rows', 'watermark' and 'state'")
        rows, mark, state = batch["rows"], batch["watermark"], batch["state"]
        if not isinstance(rows, (list, tuple)) or not all(isinstance(r, (list, tuple)) and len(r) == 2
                                                          for r in rows):
            raise Mismatch(f"batch {n}: rows is {shown(plain(rows))[:200]}, expected a list of (window start, "
                           "count) pairs")
        if mark is not None and not isinstance(mark, str):
            raise Mismatch(f"batch {n}: watermark is {shown(plain(mark))[:200]}, expected a text 'HH:MM' or None")
        if isinstance(state, bool) or not isinstance(state, int):
            raise Mismatch(f"batch {n}: state is {shown(plain(state))[:200]}, expected a whole number of windows")
        out.append({"rows": plain(traces.normal_rows(rows)), "watermark": plain(mark), "state": int(state)})
    return out


HINTS = {
    "watermark": "the watermark after a batch is the latest event time seen so far (in this batch or any before) "
                 "minus the delay: it never moves back, a batch of stragglers or no events leaves it where it was, "
                 "and it is None only until the first batch with events",
    "append": "append mode emits a window once, with its final count, at the end of the first batch that runs with "
              "a watermark at or past the window's end; a batch runs with the watermark the batch before it left, "
              "not the one its own events make",
    "update": "update mode emits, in each batch, only the windows whose count that batch changed, with their new "
              "count; an unchanged window is not emitted again",
    "complete": "complete mode emits every window ever counted, in every batch (an empty batch too), and never "
                "forgets one: no window closes, so no row is too late",
    "late": "a row is late, and dropped, only when its window ends at or before the watermark the previous batch "
            "ran with; a row whose window closes in this "
            "batch still counts, and a row behind the watermark whose window is still open counts too",
    "state": "after a batch the state holds every window not yet closed: a window leaves it at the end of the "
             "first batch that runs with a watermark at or past its end (in complete mode none ever leaves)",
}


@exercise("predict_batches", "15", "Predict the batch: rows, watermark and state of a windowed count",
          ["watermarks", "output-modes", "batch-trace"], needs="spark", requirements={
              "watermark": "the watermark after each batch",
              "append": "append mode emits each window once, when the watermark the batch runs with has reached "
                        "its end",
              "update": "update mode emits only the windows changed in the batch",
              "complete": "complete mode emits every window in every batch",
              "late": "a row whose window ends at or before the watermark the previous batch ran with is dropped; "
                      "one whose window closes in this batch still counts",
              "state": "the windows held in state after each batch"})
def cases(ctx: Context) -> list[Case]:
    own = [traces.generate(f"tumbling-{mode}", ctx.seed(base)) for mode, base in SEEDS.items()]
    fixed = {key: fixed_trace(*key) for key in FIXED}
    every = list(fixed.values()) + own
    engine: dict[str, Any] = {}

    def answer_of(trace: traces.Trace) -> traces.Answer:
        """Spark's answer to ``trace``: every trace of the exercise answered on first need (the judging half only)."""
        if not engine:
            try:
                with _ANSWERING:
                    found = traces.answer_all(ctx.spark(), every, cache=ctx.settings.data_dir / "traces" / "answers.json",
                                              scratch=ctx.settings.data_dir / "traces")
                engine.update({a.trace.key(): a for a in found})
            except Exception as err:  # noqa: BLE001 - kept, said by every case that asks
                engine["error"] = err
        if "error" in engine:
            raise RuntimeError(f"the grader could not run the trace on Spark: {engine['error']}")
        return engine[trace.key()]

    def case(trace: traces.Trace, requirement: str, field: str, what: str, size: int) -> Case:
        def observe(fn):
            return prediction(fn, trace)

        def judge(got):
            answer = answer_of(trace)
            guess = [{"rows": [tuple(r) for r in b["rows"]], "watermark": b["watermark"], "state": b["state"]}
                     for b in got]
            verdict = traces.check(answer, guess, fields=(field,))
            if not verdict.ok:
                raise Mismatch(verdict.text())

        return Case(f"{call_text(trace)}: {what}", observe, judge, HINTS[requirement], size, requirement)

    built = []
    for trace in [fixed[("S", "append")], fixed[("T", "update")]] + own:
        built.append(case(trace, "watermark", "watermark", "the watermark after each batch", 1))
    for trace in [own[0], fixed[("S", "append")], fixed[("T", "append")]]:
        built.append(case(trace, "append", "rows", "the rows each batch emits", 2))
    for trace in [own[1], fixed[("S", "update")], fixed[("T", "update")]]:
        built.append(case(trace, "update", "rows", "the rows each batch emits", 2))
    for trace in [own[2], fixed[("S", "complete")]]:
        built.append(case(trace, "complete", "rows", "the rows each batch emits", 2))
    for key in [("S", "update"), ("T", "update"), ("S", "append"), ("T", "append")]:
        built.append(case(fixed[key], "late", "rows", "the rows each batch emits, late rows among them", 3))
    for trace in every:
        built.append(case(trace, "state", "state", "the windows held in state after each batch", 4))
    return built
