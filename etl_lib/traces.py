"""Predict the batch: exam-style traces of small streaming queries, answered by Spark itself.

A *trace* is a small query (a windowed count, a deduplication, a stream-stream join, session windows) and a
few micro-batches of events.  The exam question is: what does each batch emit, where is the watermark after it,
how many rows does the query hold in state?  This module

* generates traces of eight *families* from a seed (``generate``; ``--student`` gives each student their own),
* answers them by running the real query on real Spark, one micro-batch per batch of the trace
  (``answer``: a JSON file source read one file per trigger, ``foreachBatch`` recording what each batch
  emitted, the query's progress records giving the watermark and the state rows), so no answer is typed in,
* checks a student's prediction field by field and names the first wrong batch with the rule that decides it
  (``check``), and prints a set for paper practice with the answers on a page of their own (``paper``).

The rules, in the words of the pinned Spark (4.2) and its source, are in :data:`RULES`; docs/traces.md explains
them with worked examples.

>>> t = generate("tumbling-append", seed=3)
>>> t.family.mode, len(t.batches) >= 4, t.batches[-1] == ()
('append', True, True)
>>> generate("tumbling-append", seed=3) == t          # the same seed, the same trace
True
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["FAMILIES", "Family", "Event", "Trace", "BatchAnswer", "Answer", "Verdict", "RULES", "generate",
           "generate_set", "make_trace", "table", "score_round", "answer_lines", "answer", "answer_all", "check", "paper", "hhmm", "minutes"]

DAY = "2018-04-02"
NOON = 12 * 60  # traces start around 12:00, as the Spark guide's example does


def hhmm(minute: int | None) -> str | None:
    """Minutes after midnight as ``"HH:MM"`` (None stays None).

    >>> hhmm(12 * 60 + 7), hhmm(None)
    ('12:07', None)
    """
    return None if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"


def minutes(text: str) -> int:
    """``"HH:MM"`` as minutes after midnight.

    >>> minutes("12:07")
    727
    """
    hours, _, mins = str(text).partition(":")
    return int(hours) * 60 + int(mins[:2])


# What decides each field, quoted by check() when a prediction is wrong.  Where Spark's guide and the pinned
# engine differ (the guide predates the late-row rule of Spark 3.4), the rule says what the engine does: the
# lesson shows the guide's own example run on it (notebooks 15, cell guide-example).
RULES: dict[str, str] = {
    "watermark": "The watermark after a batch is the largest event time seen so far minus the delay (with two "
                 "inputs, the smaller of the inputs' watermarks, none until both have had events); it never moves "
                 "back, and a batch with no events leaves it where it was. The next batch runs with it.",
    "late-window": "A row is dropped from a window as too late only when the window's end is at or behind the "
                   "watermark the previous batch ran with. A row whose window ends between that watermark and "
                   "this batch's is still counted, and the window closes at the end of this very batch.",
    "append": "Append mode emits a window once, with its final count, at the end of the first batch that runs "
              "with a watermark at or past the window's end; never before, never again.",
    "update": "Update mode emits, in each batch, only the windows whose count changed in that batch (a row "
              "dropped as too late changes nothing).",
    "complete": "Complete mode emits every window the query has ever counted, in every batch, empty batches "
                "too; it never forgets a window, so the state only grows.",
    "state-window": "After a batch the state holds every window not yet closed: a window is removed at the end of "
                    "the first batch that runs with a watermark at or past its end (complete mode removes none).",
    "dedup": "dropDuplicatesWithinWatermark emits the first row of each id and drops a later row with the same id "
             "while Spark remembers the id; it forgets the id at the end of the first batch that runs with a "
             "watermark at or past the first row's event time plus the delay. A row at or behind the watermark "
             "the previous batch ran with is dropped as late.",
    "state-dedup": "After a batch the state holds one row per id still remembered (see the dedup rule for when "
                   "an id is forgotten).",
    "join": "An inner join emits a pair in the batch in which the second of its two rows arrives, if the right "
            "time is within the range of the left time and that row is not late (at or behind the watermark the "
            "previous batch ran with); rows wait in state until the watermark shows they can match nothing more.",
    "join-left": "A left outer join emits a matched pair in the batch in which the second row arrives; a left row "
                 "with no match comes out once, with nulls, in the first batch whose watermark shows no right row "
                 "can still match it.",
    "state-join": "After a batch the state holds the rows of both sides that may still match a row to come (the "
                  "count is of both sides together).",
    "session": "A session grows with each event within the gap of its last one and ends a gap after its last "
               "event; in append mode a session is emitted once, at the end of the first batch that runs with a "
               "watermark at or past its end.",
    "state-session": "After a batch the state holds every session not yet closed by the watermark.",
}


@dataclass(frozen=True)
class Family:
    """One kind of trace: a query shape, its output mode, and the rules a prediction of it depends on."""

    name: str
    title: str
    kind: str  # "window", "dedup", "join" or "session"
    mode: str
    rows: str  # what one emitted row is, for the student
    rules: tuple[str, ...]

    def query(self, params: dict[str, int]) -> str:
        """The query as PySpark code, with this trace's parameters (what the student reads)."""
        delay = f'.withWatermark("t", "{params["delay"]} minutes")'
        if self.kind == "window":
            slide = f', "{params["slide"]} minutes"' if params.get("slide") else ""
            by_id = ', "id"' if params.get("by_id") else ""
            return (f'events{delay}\n  .groupBy(window("t", "{params["window"]} minutes"{slide}){by_id}).count()\n'
                    f'  .writeStream.outputMode("{self.mode}")')
        if self.kind == "dedup":
            return f'events{delay}\n  .dropDuplicatesWithinWatermark(["id"])\n  .writeStream.outputMode("append")'
        if self.kind == "session":
            return (f'events{delay}\n  .groupBy("id", session_window("t", "{params["gap"]} minutes")).count()\n'
                    f'  .writeStream.outputMode("append")')
        how = "inner" if self.mode == "inner" else "left_outer"
        return (f'left{delay}.join(right{delay},\n  expr("lid = rid AND rt >= lt AND rt <= lt + interval '
                f'{params["bound"]} minutes"),\n  "{how}").writeStream.outputMode("append")')


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("tumbling-append", "tumbling windows, append mode", "window", "append",
           "(window start, count)", ("watermark", "late-window", "append", "state-window")),
    Family("tumbling-update", "tumbling windows, update mode", "window", "update",
           "(window start, count)", ("watermark", "late-window", "update", "state-window")),
    Family("tumbling-complete", "tumbling windows, complete mode", "window", "complete",
           "(window start, count)", ("watermark", "complete", "state-window")),
    Family("sliding-update", "sliding windows, update mode", "window", "update",
           "(window start, count)", ("watermark", "late-window", "update", "state-window")),
    Family("dedup", "dropDuplicatesWithinWatermark", "dedup", "append",
           "(id, event time)", ("watermark", "dedup", "state-dedup")),
    Family("join-inner", "stream-stream inner join with a time range", "join", "inner",
           "(left id, left time, right time)", ("watermark", "join", "state-join")),
    Family("join-left", "stream-stream left outer join with a time range", "join", "left",
           "(left id, left time, right time or None)", ("watermark", "join-left", "state-join")),
    Family("session", "session windows, append mode", "session", "append",
           "(id, session start, session end, count)", ("watermark", "session", "state-session")),
)}


@dataclass(frozen=True)
class Event:
    """One event: its id (the key where the query has one), its event time in minutes after midnight, and for
    a join its side ("L" or "R")."""

    id: str
    minute: int
    side: str = ""

    def text(self) -> str:
        return f"{self.side}:{self.id}@{hhmm(self.minute)}" if self.side else f"{self.id}@{hhmm(self.minute)}"


@dataclass(frozen=True)
class Trace:
    """A family, its parameters (minutes: window, slide, delay, gap, bound; ``by_id``: 1 to count per id as well,
    a row then being (window start, id, count)) and its batches of events.

    The last batch is always empty: the stream goes quiet for one trigger, the batch in which append mode
    emits what the last events closed."""

    family: Family
    params: dict[str, int]
    batches: tuple[tuple[Event, ...], ...]
    seed: int = 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Trace) and self.key() == other.key()

    def __hash__(self) -> int:
        return hash(self.key())

    def key(self) -> str:
        """A stable text naming this trace exactly (the answer cache's key)."""
        return json.dumps([self.family.name, sorted(self.params.items()),
                           [[e.text() for e in b] for b in self.batches]])

    def describe(self) -> str:
        """The trace as a student reads it: the query, then the events of each batch."""
        lines = [f"{self.family.title}", self.family.query(self.params), ""]
        for n, batch in enumerate(self.batches):
            lines.append(f"  batch {n}: " + (", ".join(e.text() for e in batch) if batch else "(no events)"))
        return "\n".join(lines)


@dataclass
class BatchAnswer:
    """What the engine did in one batch: rows emitted (sorted tuples), the watermark after the batch ("HH:MM",
    None while there is none), state rows after the batch, rows it dropped as late (progress counts them)."""

    rows: list[tuple]
    watermark: str | None
    state: int
    dropped: int = 0
    ran_with: str | None = None  # the watermark this batch ran with


@dataclass
class Answer:
    trace: Trace
    batches: list[BatchAnswer]
    seconds: float = 0.0


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _Marks:
    """The watermarks a generator aims at: the one each batch runs with, the rule of thumb only (the engine decides)."""

    def __init__(self, delay: int) -> None:
        self.delay, self.newest, self.ran = delay, None, [None]  # ran[n]: the watermark batch n runs with

    def now(self) -> int | None:
        return self.ran[-1]

    def before(self) -> int | None:
        """The watermark the previous batch ran with: rows behind what it closed are dropped as late."""
        return self.ran[-2] if len(self.ran) > 1 else None

    def close(self, batch: list[Event]) -> None:
        if batch:
            self.newest = max([self.newest or 0] + [e.minute for e in batch])
        self.ran.append(None if self.newest is None else max(self.ran[-1] or 0, self.newest - self.delay))


def _window_events(rng: random.Random, params: dict[str, int], count: int) -> list[list[Event]]:
    """Batches of events for a windowed count: time moves on a few minutes per batch, and now and then an event
    arrives around the watermark (late, exactly at it, behind it with its window still open, or just ahead), or a
    batch brings nothing."""
    names, width, slide = iter("abcdefghijklmnopqrstuvwxyz"), params["window"], params.get("slide") or params["window"]
    marks, frontier, batches = _Marks(params["delay"]), NOON + rng.randint(0, 4), []
    for n in range(count):
        times: list[int] = []
        if not n or rng.random() >= 0.18:
            frontier += rng.randint(3, 9)
            times = [frontier - rng.randint(0, 4) for _ in range(rng.randint(1, 3))]
            mark, before = marks.now(), marks.before()
            if mark is not None and rng.random() < 0.85:
                choice = _pick(rng, {"at": 1.0, "late": 1.4 if before is not None else 0.0,
                                     "between": 1.2 if before is not None else 0.0, "ahead": 0.4})
                if choice == "at":  # exactly at the watermark this batch runs with
                    times.append(mark)
                elif choice == "late":  # every window of it closed at the end of the batch before
                    times.append((before - width) // slide * slide + rng.randint(0, slide - 1) - rng.choice([0, 0, 5]))
                elif choice == "between":  # behind this batch's watermark, a window of it still open before it
                    times.append(rng.randint(before, mark))
                else:
                    times.append(mark + rng.randint(1, 3))
        batch = [Event(next(names), t) for t in times]
        rng.shuffle(batch)
        batches.append(batch)
        marks.close(batch)
    return batches


def _dedup_events(rng: random.Random, params: dict[str, int], count: int) -> list[list[Event]]:
    delay, ids, batches, frontier = params["delay"], "abcdefgh", [], NOON
    marks, seen = _Marks(delay), []
    for n in range(count):
        batch: list[Event] = []
        if not n or rng.random() >= 0.15:
            frontier += rng.randint(3, 8)
            batch = [Event(rng.choice(ids[:4 + n]), frontier - rng.randint(0, 3)) for _ in range(rng.randint(1, 2))]
            if seen and rng.random() < 0.85:  # the same id again: within the delay of its first row, or past it
                first = rng.choice(seen)
                batch.append(Event(first.id, first.minute + rng.choice([1, delay - 1, delay, delay + 2, delay + 6])))
            before = marks.before()
            if before is not None and rng.random() < 0.6:  # a straggler at or around the late line
                batch.append(Event(rng.choice(ids), before + rng.choice([-3, -1, 0, 0, 1])))
        rng.shuffle(batch)
        batches.append(batch)
        seen += batch
        marks.close(batch)
    return batches


def _session_events(rng: random.Random, params: dict[str, int], count: int) -> list[list[Event]]:
    gap, batches, marks = params["gap"], [], _Marks(params["delay"])
    clock = {"u": NOON + rng.randint(0, 3), "v": NOON + rng.randint(0, 5)}
    for n in range(count):
        batch: list[Event] = []
        if not n or rng.random() >= 0.15:
            for user in rng.sample(["u", "v"], rng.randint(1, 2)):
                clock[user] += rng.choice([1, 2, gap - 1, gap + 3, gap + 8, 2 * gap + 5])
                batch.append(Event(user, clock[user]))
            before = marks.before()
            if before is not None and rng.random() < 0.5:  # a straggler whose session [t, t + gap] closed already
                batch.append(Event(rng.choice(["u", "v"]), before - gap - rng.choice([0, 1, 4])))
            elif n >= 2 and rng.random() < 0.4:  # an event behind a user's clock, still in time
                user = rng.choice(["u", "v"])
                batch.append(Event(user, clock[user] - rng.randint(1, gap)))
        batches.append(batch)
        marks.close(batch)
    return batches


def _join_events(rng: random.Random, params: dict[str, int], count: int) -> list[list[Event]]:
    """Left rows and their right partners, some in the same batch, some later, some never or out of range; the last
    batch with events moves both sides on, so the watermark passes the rows that wait (a left outer join's nulls)."""
    bound, delay, batches = params["bound"], params["delay"], [[] for _ in range(count - 1)]
    clock = NOON
    for i, name in enumerate("abcdef"[:rng.randint(4, 6)]):
        clock += rng.randint(2, 7)
        arrives = min(count - 2, i * (count - 1) // 6 + rng.randint(0, 1))
        batches[arrives].append(Event(name, clock, "L"))
        fate = _pick(rng, {"match": 3.0, "never": 1.2, "outside": 1.0, "later": 1.5})
        if fate == "never":
            continue
        offset = rng.randint(0, bound) if fate != "outside" else bound + rng.randint(1, 4)
        when = min(count - 2, arrives + (rng.randint(1, 2) if fate == "later" else rng.randint(0, 1)))
        batches[when].append(Event(name, clock + offset, "R"))
    if rng.random() < 0.6:  # a right row nobody on the left asked for
        batches[rng.randint(0, count - 2)].append(Event("x", clock - rng.randint(0, 10), "R"))
    ahead = clock + bound + delay + rng.randint(1, 6)  # both sides move on: the watermark passes every waiting row
    batches.append([Event("z", ahead, "L"), Event("z", ahead + rng.randint(0, bound), "R")])
    for b in batches:
        rng.shuffle(b)
    return batches


def generate(family: str, seed: int = 0) -> Trace:
    """One trace of ``family`` (a key of :data:`FAMILIES`), the same for the same seed."""
    if family not in FAMILIES:
        raise ValueError(f"unknown trace family {family!r}; the families are: {', '.join(FAMILIES)}")
    fam = FAMILIES[family]
    rng = random.Random(f"{family}/{seed}")
    params: dict[str, int] = {"delay": rng.choice([5, 10])}
    count = rng.randint(4, 5) + (1 if fam.kind == "session" else 0)
    if fam.kind == "window":
        params["window"] = 10
        if family.startswith("sliding"):
            params["slide"] = 5
        batches = _window_events(rng, params, count)
    elif fam.kind == "dedup":
        batches = _dedup_events(rng, params, count)
    elif fam.kind == "session":
        params["gap"] = rng.choice([5, 10])
        batches = _session_events(rng, params, count)
    else:
        params["bound"] = rng.choice([5, 10])
        batches = _join_events(rng, params, count)
    while batches and not batches[-1]:
        batches.pop()  # one quiet batch at the end, added below, whatever the generator left
    return Trace(fam, params, tuple(tuple(b) for b in batches) + ((),), seed)


def make_trace(family: str, params: dict[str, int], batches: Iterable[Iterable[str]], mode: str | None = None
               ) -> Trace:
    """A trace written by hand: each event as ``"id@HH:MM"`` (``"L:id@HH:MM"`` / ``"R:..."`` for a join's sides);
    an empty batch is added at the end if the last one has events.  ``mode`` replaces a window family's output
    mode (the guide's sliding example in append mode, say).

    >>> make_trace("tumbling-append", {"window": 10, "delay": 5}, [["a@12:01"], []]).batches
    ((Event(id='a', minute=721, side=''),), ())
    >>> make_trace("join-left", {"delay": 5, "bound": 5}, [["L:a@12:06"]]).batches[0][0].text()
    'L:a@12:06'
    """
    def event(text: str) -> Event:
        side, rest = (text[0], text[2:]) if text[:2] in ("L:", "R:") else ("", text)
        name, _, at = rest.partition("@")
        return Event(name, minutes(at), side)

    found = [tuple(event(e) for e in b) for b in batches]
    if not found or found[-1]:
        found.append(())
    fam = FAMILIES[family]
    if mode is not None and mode != fam.mode:
        if fam.kind != "window" or mode not in ("append", "update", "complete"):
            raise ValueError(f"only a window family's mode can change, to append, update or complete, not {mode!r}")
        fam = replace(fam, name=f"{family.split('-')[0]}-{mode}", title=f"{fam.title.split(',')[0]}, {mode} mode",
                      mode=mode)
    return Trace(fam, dict(params), tuple(found))


def table(ans: Answer) -> "Any":
    """The engine's answer as a table (pandas): per batch its events, the watermark it ran with, what it
    emitted, the watermark after it, the state rows and the rows dropped as late."""
    import pandas as pd

    return pd.DataFrame([{
        "batch": n, "events": ", ".join(e.text() for e in ans.trace.batches[n]) or "-",
        "ran with": b.ran_with or "-", "emits": _rows_text(b.rows) if b.rows else "-",
        "watermark after": b.watermark or "-", "state rows": b.state, "dropped late": b.dropped,
    } for n, b in enumerate(ans.batches)]).set_index("batch")


def generate_set(count: int, student: str = "", families: Iterable[str] | None = None, base: int = 38) -> list[Trace]:
    """``count`` traces over ``families`` (all by default) in turn, each a seed of ``student``'s own."""
    from .core.variants import mixed_seed

    names = list(families or FAMILIES)
    return [generate(names[i % len(names)], mixed_seed(base * 1000 + i, student)) for i in range(count)]


# ---------------------------------------------------------------- the engine's answer

def _stream(spark: "SparkSession", folder: Path, batches: list[list[Event]]) -> "DataFrame":
    """A stream that reads ``batches`` one JSON file per micro-batch (plus one empty file after them)."""
    from pyspark.sql import functions as F

    folder.mkdir(parents=True)
    stamp = 1_500_000_000
    for n, batch in enumerate(list(batches) + [[]]):  # the extra empty file: its batch reads the last watermark
        path = folder / f"batch-{n:03d}.json"
        path.write_text("".join(json.dumps({"id": e.id, "t": f"{DAY} {hhmm(e.minute)}:00"}) + "\n" for e in batch))
        os.utime(path, (stamp + n, stamp + n))  # the file source takes files oldest first
    return (spark.readStream.schema("id string, t string").option("maxFilesPerTrigger", 1).json(str(folder))
            .select("id", F.to_timestamp("t").alias("t")))


def _query(trace: Trace, spark: "SparkSession", folder: Path) -> tuple["DataFrame", str]:
    """The trace's streaming DataFrame, selecting the emitted row's fields as texts and numbers, and its mode."""
    from pyspark.sql import functions as F

    fam, p = trace.family, trace.params
    delay = f"{p['delay']} minutes"
    time_of = lambda c: F.date_format(c, "HH:mm")  # noqa: E731
    if fam.kind == "join":
        sides = {s: [[e for e in b if e.side == s] for b in trace.batches] for s in "LR"}
        left = _stream(spark, folder / "left", sides["L"]).withWatermark("t", delay).select(
            F.col("id").alias("lid"), F.col("t").alias("lt"))
        right = _stream(spark, folder / "right", sides["R"]).withWatermark("t", delay).select(
            F.col("id").alias("rid"), F.col("t").alias("rt"))
        joined = left.join(right, F.expr(f"lid = rid AND rt >= lt AND rt <= lt + interval {p['bound']} minutes"),
                           "inner" if fam.mode == "inner" else "left_outer")
        return joined.select("lid", time_of("lt"), time_of("rt")), "append"
    events = _stream(spark, folder / "events", [list(b) for b in trace.batches]).withWatermark("t", delay)
    if fam.kind == "dedup":
        return events.dropDuplicatesWithinWatermark(["id"]).select("id", time_of("t")), "append"
    if fam.kind == "session":
        counted = events.groupBy("id", F.session_window("t", f"{p['gap']} minutes").alias("s")).count()
        return counted.select("id", time_of("s.start"), time_of("s.end"), "count"), "append"
    slide = f"{p['slide']} minutes" if p.get("slide") else None
    keys = [F.window("t", f"{p['window']} minutes", slide).alias("w")] + (["id"] if p.get("by_id") else [])
    counted = events.groupBy(*keys).count()
    return counted.select(time_of("w.start"), *(["id"] if p.get("by_id") else []), "count"), fam.mode


def _watermark(progress: dict[str, Any]) -> str | None:
    text = (progress.get("eventTime") or {}).get("watermark")
    if not text or text.startswith("1970-01-01"):
        return None  # Spark reports the epoch until the first batch with events has set one
    return text[11:16]


def answer(spark: "SparkSession", trace: Trace, scratch: Path | None = None) -> Answer:
    """Run ``trace`` on Spark, one micro-batch per batch, and record what each batch did.

    The query reads one file per trigger (``maxFilesPerTrigger=1``, available-now), writes through
    ``foreachBatch`` (which hands each batch's emitted rows to Python, any output mode), and runs in a session
    of its own with one shuffle partition (a few rows need no more).  One more empty batch follows the trace,
    so the watermark after its last batch can be read: a batch's progress reports the watermark it ran with,
    which is the one the batch before it left.
    """
    from .core.settings import get_settings

    session = spark.newSession()
    session.conf.set("spark.sql.shuffle.partitions", "1")
    base = Path(scratch or get_settings().data_dir / "traces") / f"trace-{uuid.uuid4().hex[:10]}"
    emitted: dict[int, list[tuple]] = {}

    def record(df: "DataFrame", batch_id: int) -> None:
        emitted[batch_id] = sorted((tuple(r) for r in df.collect()), key=lambda r: tuple(str(x) for x in r))

    t0 = time.monotonic()
    try:
        df, mode = _query(trace, session, base)
        query = (df.writeStream.outputMode(mode).foreachBatch(record).trigger(availableNow=True)
                 .option("checkpointLocation", str(base / "checkpoint")).queryName(f"trace_{uuid.uuid4().hex[:8]}")
                 .start())
        try:
            query.awaitTermination(120)
        finally:
            query.stop()
        error = query.exception()
        if error is not None:
            raise RuntimeError(f"Spark failed the trace's query: {error}")
        progress = {p["batchId"]: p for p in query.recentProgress}
    finally:
        shutil.rmtree(base, ignore_errors=True)
    shown = len(trace.batches)
    if sorted(progress) != list(range(shown + 1)):
        raise RuntimeError(f"expected batches 0..{shown} (the trace's and one to read the last watermark), "
                           f"Spark ran {sorted(progress)}")
    if emitted.get(shown) and emitted.get(shown) != (emitted.get(shown - 1) if mode == "complete" else None):
        raise RuntimeError("the batch after the trace emitted rows; a trace must end with an empty batch")
    out = []
    for n in range(shown):
        ops = progress[n].get("stateOperators") or []
        out.append(BatchAnswer(
            rows=emitted.get(n, []),
            watermark=_watermark(progress[n + 1]), state=sum(int(op["numRowsTotal"]) for op in ops),
            dropped=sum(int(op.get("numRowsDroppedByWatermark", 0)) for op in ops),
            ran_with=_watermark(progress[n])))
    return Answer(trace, out, time.monotonic() - t0)


def answer_all(spark: "SparkSession", traces: Iterable[Trace], cache: Path | None = None,
               scratch: Path | None = None) -> list[Answer]:
    """:func:`answer` for each trace (its files under ``scratch``); with ``cache`` (a JSON file), answers found there
    are not run again, and new ones are added to it (written whole under a name of its own, then renamed)."""
    stored: dict[str, Any] = {}
    if cache is not None and cache.exists():
        try:
            stored = json.loads(cache.read_text())
        except (OSError, ValueError):
            stored = {}
    out = []
    for trace in traces:
        found = stored.get(trace.key())
        if found is not None:
            out.append(Answer(trace, [BatchAnswer([tuple(r) for r in b["rows"]], b["watermark"], b["state"],
                                                  b["dropped"], b["ran_with"]) for b in found]))
            continue
        got = answer(spark, trace, scratch)
        stored[trace.key()] = [{**b.__dict__, "rows": [list(r) for r in b.rows]} for b in got.batches]
        out.append(got)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_text(json.dumps(stored))
        tmp.replace(cache)
    return out


# ---------------------------------------------------------------- checking a prediction

@dataclass
class Verdict:
    """The first wrong field of a prediction: ``batch`` None when every field is right."""

    batch: int | None = None
    field: str = ""
    expected: Any = None
    got: Any = None
    rule: str = ""
    right: int = 0  # fields right, over every batch
    fields: int = 0

    @property
    def ok(self) -> bool:
        return self.batch is None

    def text(self) -> str:
        if self.ok:
            return f"all {self.fields} answers right"
        return (f"batch {self.batch}, {self.field}: the engine says {self.expected!r}, you said {self.got!r} "
                f"({self.right} of {self.fields} answers right)\n  rule: {self.rule}")


def normal_rows(rows: Any) -> list[tuple]:
    """Rows as the engine's answer holds them: tuples of texts, whole numbers and None, sorted."""
    def one(value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and float(value).is_integer():
            return int(value)
        return str(value)
    return sorted((tuple(one(v) for v in (row if isinstance(row, (list, tuple)) else [row])) for row in rows or []),
                  key=lambda r: tuple(str(x) for x in r))


def _stragglers(answer: Answer, n: int) -> tuple[set[str], set[str]]:
    """The windows (starts) of batch ``n``'s stragglers, the events at or behind the watermark the batch runs with,
    whose fate the late rule decides: those Spark dropped (their window ended by the watermark the batch before ran
    with), and those it counted.  Complete mode keeps every window: no row is late there."""
    trace, now = answer.trace, answer.batches[n].ran_with
    if trace.family.mode == "complete" or now is None:
        return set(), set()
    width = trace.params["window"]
    before = answer.batches[n - 1].ran_with if n else None
    dropped, counted = set(), set()
    for event in trace.batches[n]:
        start = event.minute - event.minute % width
        if event.minute <= minutes(now):
            late = before is not None and start + width <= minutes(before)
            (dropped if late else counted).add(hhmm(start))
    return dropped, counted


def _tumbling_rows_rule(answer: Answer, n: int, expected: list, got: list) -> str:
    """The rule that decides a wrong batch ``n`` of rows: the late rule when a window differs because of a straggler
    (one Spark dropped and the prediction emits; one Spark counted in this batch and the prediction misses; a count
    that differs after stragglers), the output mode's rule when it differs in when it is emitted, both when it
    cannot tell (append mode emits a window batches after a straggler counted in it)."""
    mode = RULES[answer.trace.family.mode]
    want = {r[0]: r[1:] for r in expected if r}
    said = {r[0]: r[1:] for r in got if r}
    seen = [_stragglers(answer, k) for k in range(n + 1)]
    late = maybe = False
    for window in set(want) | set(said):
        if want.get(window) == said.get(window):
            continue
        if window not in want:
            late |= window in seen[n][0]
        elif window not in said:
            late |= window in seen[n][1]
            maybe |= any(window in counted for _, counted in seen[:n])
        else:
            late |= any(window in dropped | counted for dropped, counted in seen)
    if late:
        return RULES["late-window"]
    return f"{mode}\n  rule: {RULES['late-window']}" if maybe else mode


def _rule_for_rows(ans: Answer, n: int, expected: list[tuple], got: list[tuple]) -> str:
    """The rule for a wrong batch of rows.  A tumbling count (one row per window) is told apart window by window
    (:func:`_tumbling_rows_rule`); for the other window families, the family's rule, with the late-row rule beside
    it when the batch brought an event behind the watermark it ran with (or Spark dropped a row in it)."""
    fam, batch = ans.trace.family, ans.batches[n]
    if fam.kind == "window":
        if fam.mode == "complete":
            return RULES["complete"]
        if not ans.trace.params.get("slide") and not ans.trace.params.get("by_id"):
            return _tumbling_rows_rule(ans, n, expected, got)
        ran = batch.ran_with
        behind = batch.dropped or (ran is not None and any(e.minute <= minutes(ran) for e in ans.trace.batches[n]))
        return RULES[fam.mode] + ("\n  rule: " + RULES["late-window"] if behind else "")
    return RULES[{"dedup": "dedup", "session": "session"}.get(fam.kind, "join" if fam.mode == "inner"
                                                                    else "join-left")]


def check(ans: Answer, prediction: list[dict[str, Any]], fields: Iterable[str] = ("rows", "watermark", "state")
          ) -> Verdict:
    """Compare a prediction (per batch: ``rows``, ``watermark`` "HH:MM" or None, ``state``) with the engine's
    answer; the verdict names the first wrong batch and field and the rule that decides it."""
    fields = tuple(fields)
    verdict = Verdict()
    kind = ans.trace.family.kind
    for n, truth in enumerate(ans.batches):
        guess = prediction[n] if n < len(prediction) and isinstance(prediction[n], dict) else {}
        for name in fields:
            verdict.fields += 1
            if name == "rows":
                expected, got = normal_rows(truth.rows), normal_rows(guess.get("rows"))
                rule = _rule_for_rows(ans, n, expected, got)
            elif name == "watermark":
                expected, got = truth.watermark, guess.get("watermark")
                got = None if got in (None, "", "none", "None") else str(got)[:5].zfill(5)
                rule = RULES["watermark"]
            else:
                expected, got = truth.state, guess.get("state")
                rule = RULES["state-" + ("window" if kind == "window" else kind)]
            if name not in guess:
                got = "(no answer)"  # an empty prediction scores nothing, even where the engine emits nothing
            if expected == got:
                verdict.right += 1
            elif verdict.batch is None:
                verdict.batch, verdict.field, verdict.expected, verdict.got, verdict.rule = n, name, expected, got, rule
    return verdict


def score_round(answers: dict[str, Answer], predictions: dict[str, list[dict[str, Any]]]) -> "Any":
    """A trace round's score per family (pandas): answers right of all, and the first wrong batch and field
    (a family without a prediction scores 0 and says so)."""
    import pandas as pd

    out = []
    for name, ans in answers.items():
        verdict = check(ans, predictions.get(name) or [])
        first = ("-" if verdict.ok else "not answered" if not predictions.get(name)
                 else f"batch {verdict.batch}, {verdict.field}")
        out.append({"family": name, "right": verdict.right, "of": verdict.fields, "first wrong": first})
    return pd.DataFrame(out).set_index("family")


# ---------------------------------------------------------------- paper practice

def _rows_text(rows: list[tuple]) -> str:
    return "[" + ", ".join("(" + ", ".join("None" if v is None else str(v) for v in r) + ")" for r in rows) + "]"


def answer_lines(ans: Answer) -> list[str]:
    """The engine's answer as one line per batch: what it emitted, the watermark after it, the state rows."""
    return [f"batch {n}: emits {_rows_text(b.rows)}; watermark after: {b.watermark or 'none'}; state rows: {b.state}"
            + (f"; dropped as late: {b.dropped}" if b.dropped else "") for n, b in enumerate(ans.batches)]


def paper(answers: list[Answer], student: str = "") -> tuple[str, str]:
    """A practice set as two pages of text: the questions, and the engine's answers."""
    who = f" for {student}" if student else ""
    questions = [f"PREDICT THE BATCH: {len(answers)} traces{who}",
                 "For each batch write: the rows it emits, the watermark after it, the rows held in state after "
                 "it.", "Times are minutes of 2 April 2018; an event is id@time (L:/R: the side of a join).", ""]
    solutions = [f"ANSWERS{who} (computed by Spark, one micro-batch per batch)", ""]
    for i, ans in enumerate(answers, start=1):
        t = ans.trace
        questions += [f"{i}. {t.describe()}", f"   each emitted row: {t.family.rows}", ""]
        solutions += [f"{i}. {t.family.title}", *("   " + line for line in answer_lines(ans)), ""]
    return "\n".join(questions), "\n".join(solutions)
