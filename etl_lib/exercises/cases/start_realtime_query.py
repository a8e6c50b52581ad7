"""Lesson 14: ``start_realtime_query``, a Kafka-to-Kafka filter in real-time mode, with what real-time mode refuses.

One run per solution, shared by the four cases: trips are sent to a one-partition topic, some before the student's
query starts and some after its first batch is planned (the last of them a sentinel trip that passes the filter);
the run waits until the sentinel's id reaches the output topic, the query fails, or 30 seconds pass, then stops the
query.  What it observed: Spark's refusal (at start, or the query's exception), the query's trigger, and the values
the output topic received.  The judges know which trips should pass from the case's own seed."""

from __future__ import annotations

import json
import random
import time
from typing import Any

from ..grader import exercise
from ._common import Case, Context, Mismatch, expect, once_per_solution, send_values

WAIT = 30.0  # seconds for the query's first plan, and again for the sentinel to reach the output topic


def _first_line(text: str) -> str:
    """Spark's message without the query's description (its ids and plan)."""
    said = text.split("=== Streaming Query ===")[0].split(" SQLSTATE")[0].strip()
    return (said.splitlines() or [""])[0][:400]


@exercise("start_realtime_query", "14", "A Kafka-to-Kafka filter in real-time mode", ["real-time-mode", "kafka-source"],
          needs="spark", requirements={
              "realtime": "Start it in real-time mode",
              "allowed": "use only what real-time mode accepts",
              "output": "one record per trip of at least `min_minutes` minutes, its value the trip's `trip_id`",
              "beginning": "read `source` from its first record"})
def cases(ctx: Context) -> list[Case]:
    rng = random.Random(ctx.seed(1414))
    min_minutes = rng.randint(8, 15)
    ids = iter(rng.sample(range(16**5), 12))

    def trip(long: bool | None) -> dict[str, Any]:
        minutes = min_minutes if long is None else rng.randint(min_minutes + 1, 60) if long else rng.randint(
            1, min_minutes - 1)
        return {"trip_id": f"t{next(ids):05x}", "minutes": minutes}

    before = [trip(True), trip(False), trip(True), trip(False)]
    after = [trip(False), trip(None), trip(True), trip(False), trip(True)]  # the last one is the sentinel
    passing_before = sorted(t["trip_id"] for t in before if t["minutes"] >= min_minutes)
    passing_after = sorted(t["trip_id"] for t in after if t["minutes"] >= min_minutes)
    sentinel = after[-1]["trip_id"]

    def run(fn) -> dict[str, Any]:
        from kafka import KafkaConsumer

        from ...core.kafka import client_options

        spark = ctx.spark()
        source, target = ctx.new_topic("realtime-in", partitions=1), ctx.new_topic("realtime-out", partitions=1)
        send_values(ctx, source, [json.dumps(t) for t in before])
        running = {q.id for q in spark.streams.active}
        seen: dict[str, Any] = {"refused": None, "trigger": None, "values": []}
        query = None
        try:
            try:
                query = fn(spark, ctx.bootstrap(), source, target, min_minutes, str(ctx.scratch("realtime") / "ck"))
            except Exception as err:  # noqa: BLE001 - Spark's refusal at start is the observation
                seen["refused"] = f"{type(err).__name__}: {_first_line(str(err))}"
                return seen
            if not (hasattr(query, "stop") and hasattr(query, "exception")):
                raise Mismatch(f"returned {type(query).__name__}, not a started StreamingQuery")
            try:
                seen["trigger"] = str(query._jsq.streamingQuery().trigger().toString())
            except Exception as err:  # noqa: BLE001 - not a query Spark knows: the judges say so
                seen["trigger"] = f"unknown ({type(err).__name__})"
            # The first batch is planned once its start offsets are known; trips sent later are new to it.
            deadline = time.monotonic() + WAIT
            while (query.isActive and query.exception() is None and time.monotonic() < deadline
                   and query._jsq.explainInternal(False).startswith("No physical plan")):
                time.sleep(0.2)
            if query.isActive and query.exception() is None:
                send_values(ctx, source, [json.dumps(t) for t in after])
            consumer = KafkaConsumer(target, bootstrap_servers=ctx.bootstrap(), auto_offset_reset="earliest",
                                     consumer_timeout_ms=200, **client_options(ctx.settings))
            try:
                deadline = time.monotonic() + WAIT
                while time.monotonic() < deadline and len(seen["values"]) < 100:
                    seen["values"] += [(m.value or b"").decode("utf-8", errors="replace")[:200] for m in consumer]
                    if any(sentinel in v for v in seen["values"]) or not query.isActive or query.exception():
                        break
            finally:
                consumer.close()
            if query.exception() is not None:
                seen["refused"] = f"{type(query.exception()).__name__}: {_first_line(str(query.exception()))}"
        finally:
            if query is not None and hasattr(query, "stop"):
                query.stop()
            for other in spark.streams.active:  # anything else the function started
                if other.id not in running:
                    other.stop()
        return seen

    observed = once_per_solution(run)

    def started(seen: dict[str, Any]) -> None:
        expect(seen["refused"] is None, f"the query did not run: {seen['refused']}")

    def realtime(seen: dict[str, Any]) -> None:
        if seen["trigger"] is None:
            raise Mismatch(f"no query ran, so no trigger to check ({seen['refused']})")
        expect(str(seen["trigger"]).startswith("RealTimeTrigger"),
               f"the query runs on {seen['trigger']}, not in real-time mode")

    def output(seen: dict[str, Any]) -> None:
        started(seen)
        values = seen["values"]
        wrong = [v for v in values if v not in passing_before + passing_after]
        expect(not wrong, f"the output topic got {wrong[0]!r}, which is not the trip_id of a trip of at least "
                          f"{min_minutes} minutes" if wrong else "")
        twice = sorted({v for v in values if values.count(v) > 1})
        expect(not twice, f"the output topic got {twice[0]!r} more than once" if twice else "")
        missing = [t for t in passing_after if t not in values]
        expect(not missing, f"{len(passing_after) - len(missing)} of the {len(passing_after)} trips of at least "
                            f"{min_minutes} minutes sent after the query started reached the output topic within "
                            f"{WAIT:.0f} s (missing: {missing})")

    def beginning(seen: dict[str, Any]) -> None:
        started(seen)
        missing = [t for t in passing_before if t not in seen["values"]]
        expect(not missing, f"{len(passing_before) - len(missing)} of the {len(passing_before)} trips of at least "
                            f"{min_minutes} minutes already in the topic when the query started reached the output "
                            f"topic (missing: {missing})")

    shown = (f"min_minutes={min_minutes}; 4 trips in `source` before the start, 5 more sent once the query runs "
             f"(one of exactly {min_minutes} minutes)")
    return [
        Case(shown + ": Spark accepts the query", observed, started, "real-time mode accepts only what it can run "
             "record by record, and refuses the rest at start or in its first batch: the default append output "
             "mode (it needs update), a cap per batch on the Kafka source, any stateful operation. Read Spark's "
             "refusal", 1, "allowed"),
        Case(shown + ": the trigger", observed, realtime, "start it in real-time mode: a trigger of its own, given "
             "a batch duration (5 seconds at least); a processing-time trigger runs micro-batches", 1, "realtime"),
        Case(shown + ": the output topic", observed, output, "keep a trip when its minutes reach min_minutes (the "
             "edge included) and write only its trip_id as the record's value, to the target topic", 1, "output"),
        Case(shown + ": the trips sent before the start", observed, beginning, "a streaming Kafka source starts "
             "at the latest offsets unless told otherwise: the trips already in the topic are skipped. Read from the "
             "beginning", 1, "beginning"),
    ]
