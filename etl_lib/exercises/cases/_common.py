"""What the cases of several exercises share: small helpers for both halves of a case (see
:class:`~etl_lib.exercises.grader.Case`) and the streaming runs the Spark exercises feed their solutions with.

The observing half (``observe``) runs where the student's code runs and returns plain data; the judging half
(``judge``) decides from that data alone, in the grading parent under grade-class.  A helper here that calls the
student's code belongs to the observing half; one that raises :class:`Mismatch` on data belongs to the judging
half (``expect``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..grader import Case, Context, Mismatch, outcome, plain, raised, shown

__all__ = ["Case", "Context", "Mismatch", "outcome", "plain", "raised", "shown", "expect", "at", "once_per_solution",
           "send_values", "memory_stream", "json_rounds", "local_path", "hhmm"]


def expect(condition: Any, problem: str) -> None:
    """The judging half's one verb: ``problem`` is the case's failure when ``condition`` does not hold."""
    if not condition:
        raise Mismatch(problem)


def at(hhmm_text: str) -> datetime:
    """A time of 2 April 2018 from ``"HH:MM"`` or ``"HH:MM:SS"``."""
    return datetime(2018, 4, 2, int(hhmm_text[:2]), int(hhmm_text[3:5]),
                    int(hhmm_text[6:8]) if len(hhmm_text) > 5 else 0)


def hhmm(value: Any) -> str:
    """A timestamp the student's query wrote, as ``"HH:MM"`` (plain data for the judge); anything else as its
    repr, which no judge accepts as a time."""
    return value.strftime("%H:%M") if isinstance(value, datetime) else f"not a time: {value!r}"[:120]


def once_per_solution(build: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``build(fn)`` run once per solution and shared by the cases of one exercise (a streaming run is slow):
    its result, or the error it raised, raised again for every case that asks."""
    runs: dict[int, Any] = {}

    def shared(fn: Any) -> Any:
        if id(fn) not in runs:
            try:
                runs[id(fn)] = build(fn)
            except Exception as err:  # noqa: BLE001 - kept, and raised again by each case that needs the run
                runs[id(fn)] = err
        found = runs[id(fn)]
        if isinstance(found, Exception):
            raise found
        return found

    return shared


def send_values(ctx: Context, topic: str, values: list[str]) -> None:
    """Write ``values`` (texts) to ``topic`` and wait until every one is written."""
    from kafka import KafkaProducer

    from ...core.kafka import client_options

    producer = KafkaProducer(bootstrap_servers=ctx.bootstrap(), acks="all", **client_options(ctx.settings))
    for v in values:
        producer.send(topic, value=v.encode())
    producer.flush()
    producer.close()


def memory_stream(ctx: Context, fn: Any, batches: list[list[tuple[str, str]]], label: str,
                  state: list[int] | None = None) -> list[Any]:
    """Feed (trip_id, start_time) batches through Kafka, one micro-batch each, into ``fn``; return the output rows.
    ``state``, if given, receives the rows the query held in state after each micro-batch."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    spark = ctx.spark()
    topic = ctx.new_topic(label, partitions=1)
    schema = T.StructType([T.StructField("trip_id", T.StringType()), T.StructField("start_time", T.StringType())])
    stream = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", ctx.bootstrap())
              .option("subscribe", topic).option("startingOffsets", "earliest").load()
              .select(F.from_json(F.col("value").cast("string"), schema).alias("r"))
              .select("r.trip_id", F.to_timestamp("r.start_time").alias("start_time")))
    name = f"exercise_{label}_{uuid.uuid4().hex[:8]}"
    query = (fn(stream).writeStream.format("memory").queryName(name).outputMode("append")
             .option("checkpointLocation", str(ctx.scratch(label))).start())
    try:
        for batch in batches:
            send_values(ctx, topic, [json.dumps({"trip_id": i, "start_time": f"2018-04-02 {t}"}) for i, t in batch])
            query.processAllAvailable()
            if state is not None:
                state.append(sum(op["numRowsTotal"] for op in (query.lastProgress or {}).get("stateOperators", [])))
        rows = spark.sql(f"select * from {name}").collect()
    finally:
        query.stop()
    return rows


def json_rounds(ctx: Context, label: str, schema: str, rounds: list[list[dict[str, Any]]], start: Any) -> Any:
    """Feed ``rounds`` to a JSON file source one file per round; after each, ``start(stream, checkpoint)`` runs an
    available-now query and returns it.  Returns the checkpoint folder."""
    spark = ctx.spark()
    base = ctx.scratch(label)
    source, checkpoint = base / "in", base / "ck"
    source.mkdir()
    stream = spark.readStream.schema(schema).json(str(source))
    for n, rows in enumerate(rounds):
        (source / f"round{n}.json").write_text("\n".join(json.dumps(r) for r in rows))
        query = start(stream, str(checkpoint))
        try:
            query.awaitTermination(180)
        finally:
            query.stop()
    return checkpoint


def local_path(path: Any) -> str:
    """A path or a file:// URI as a plain local path."""
    from urllib.parse import unquote, urlparse

    text = str(path)
    return unquote(urlparse(text).path) if text.startswith("file:") else text
