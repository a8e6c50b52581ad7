"""Lesson 05: ``read_topic``, a Kafka topic as a streaming DataFrame: every record, key and value as text."""

from __future__ import annotations

import json
import random
from typing import Any

from ..grader import exercise, plain
from ._common import Case, Context, Mismatch, expect, once_per_solution, shown

STATIONS = ["Gänsemarkt", "Plaça de Catalunya", "Grand Central", "Café de Flore", "Dam", "Old Street"]
PARTITIONS = 3


def records(seed: int) -> list[dict[str, Any]]:
    """The records a case sends, in order: key, value (texts), and the partition and offset each lands at (a new
    topic, each partition chosen by the station, so one key always goes to one partition)."""
    rng = random.Random(seed)
    out, next_offset = [], [0] * PARTITIONS
    for i in range(8):
        station = 3 * rng.randint(1, 30) + i % PARTITIONS
        partition = station % PARTITIONS
        value = json.dumps({"trip_id": f"t{rng.randint(100, 999)}{i}", "start_station_id": station,
                            "station": rng.choice(STATIONS)}, ensure_ascii=False)
        out.append({"key": f"station-{station}", "value": value, "partition": partition,
                    "offset": next_offset[partition]})
        next_offset[partition] += 1
    return out


@exercise("read_topic", "05", "A Kafka topic as a streaming DataFrame: every record, key and value as text",
          ["kafka-source"], needs="spark", requirements={
              "stream": "Return a streaming DataFrame of the topic `topic`",
              "strings": "`key` and `value` as strings",
              "columns": "the record's `partition` and `offset`",
              "earliest": "every record already in the topic"})
def cases(ctx: Context) -> list[Case]:
    want = records(ctx.seed(5))

    def run(fn) -> dict[str, Any]:
        """Send the records (each awaited, so offsets are the order sent), then run what the student's function
        returns: a streaming DataFrame with an available-now trigger, a batch one by collecting it.  What it read:
        whether it streams, its columns and types, and key, value, partition and offset of every row."""
        from kafka import KafkaProducer

        from ...core.kafka import client_options

        spark = ctx.spark()
        topic = ctx.new_topic("read-topic", partitions=PARTITIONS)
        producer = KafkaProducer(bootstrap_servers=ctx.bootstrap(), acks="all", **client_options(ctx.settings))
        try:
            for r in want:
                done = producer.send(topic, key=r["key"].encode(), value=r["value"].encode(),
                                     partition=r["partition"]).get(timeout=30)
                if done.offset != r["offset"]:
                    raise RuntimeError(f"the case's record landed at offset {done.offset}, not {r['offset']}")
        finally:
            producer.close()
        df = fn(spark, ctx.bootstrap(), topic)
        if not hasattr(df, "isStreaming") or not hasattr(df, "schema"):
            raise Mismatch(f"returned {type(df).__name__}, not a DataFrame")
        columns = [c for c in ("key", "value", "partition", "offset") if c in df.columns]
        seen: dict[str, Any] = {"streaming": bool(df.isStreaming), "columns": list(df.columns),
                                "types": {f.name: type(f.dataType).__name__ for f in df.schema.fields}}
        if not columns:
            seen["rows"] = []
            return seen
        if df.isStreaming:
            rows: list[Any] = []
            query = (df.select(*columns).writeStream
                     .foreachBatch(lambda batch, _: rows.extend(batch.collect()))
                     .option("checkpointLocation", str(ctx.scratch("read-topic")))
                     .trigger(availableNow=True)
                     .start())
            try:
                if query.awaitTermination(120) is False:
                    raise Mismatch("the query had not read the topic's records after 120 s")
            finally:
                query.stop()
        else:
            rows = df.select(*columns).collect()
        seen["rows"] = [{c: plain(r[c]) for c in columns} for r in rows]
        return seen

    streamed = once_per_solution(run)  # one topic and one query per solution, shared by the four cases
    by_value = {r["value"]: r for r in want}

    def judge_stream(seen):
        expect(seen["streaming"] is True, "returned a batch DataFrame (isStreaming is False), not a streaming one")

    def judge_earliest(seen):
        n = len(seen["rows"])
        expect(n == len(want), f"the query read {n} records; the topic held {len(want)} before it started")

    def judge_strings(seen):
        types = seen["types"]
        for name in ("key", "value"):
            expect(types.get(name) == "StringType", f"column {name} is {types.get(name, 'missing')}, expected a "
                                                    "string (StringType)")
        for row in seen["rows"]:
            value, key = row.get("value"), row.get("key")
            expect(type(value) is str and value in by_value, f"a row's value is {shown(value)[:120]}, not the text "
                                                              "of a record sent")
            expect(key == by_value[value]["key"], f"the record {value[:60]} has key {shown(key)[:80]}, expected "
                                                  f"{by_value[value]['key']!r}")

    def judge_columns(seen):
        missing = [c for c in ("partition", "offset") if c not in seen["columns"]]
        expect(not missing, f"no column(s) {missing} (the columns are {seen['columns']})")
        pairs = {(r["partition"], r["offset"]) for r in want}
        for row in seen["rows"]:
            at = (row.get("partition"), row.get("offset"))
            said = f"a row says partition {shown(at[0])}, offset {shown(at[1])}"
            expect(at in pairs, f"{said}: no record sent is there")
            record = by_value.get(row.get("value")) if type(row.get("value")) is str else None
            expect(record is None or at == (record["partition"], record["offset"]),
                   f"{said}, but its record is at partition {record and record['partition']}, offset "
                   f"{record and record['offset']}")

    shown_as = (f"{len(want)} keyed records already in a {PARTITIONS}-partition topic when your query starts, e.g. "
                f"key {want[0]['key']!r}, value {want[0]['value']}")
    return [
        Case(shown_as + ": the DataFrame", streamed, judge_stream, "spark.readStream, not spark.read: a streaming "
             "DataFrame is what a query keeps reading as new records arrive", 1, "stream"),
        Case(shown_as + ": the records read", streamed, judge_earliest, "a new query's Kafka source starts at the "
             "latest offsets unless told where to start (startingOffsets): it then reads only records sent after "
             "it starts, none of those already in the topic", 2, "earliest"),
        Case(shown_as + ": key and value", streamed, judge_strings, "Kafka hands key and value over as bytes (binary "
             "columns): cast both to strings, as you would before from_json", 3, "strings"),
        Case(shown_as + ": where each record is", streamed, judge_columns, "keep the record's partition and offset, "
             "two of the columns the Kafka source gives with every record", 4, "columns"),
    ]
