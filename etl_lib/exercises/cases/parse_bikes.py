"""Lesson 05: ``parse_bikes``, parse bike trips with an explicit schema; quarantine the rest with a reason."""

from __future__ import annotations

import json
import random

from ..grader import exercise
from ._common import Case, Context, Mismatch, expect, send_values

GOOD = [
    {"trip_id": "b1", "trip_duration": 300, "start_time": "2018-04-02 08:01:00", "stop_time": "2018-04-02 08:06:00",
     "start_station_id": 3, "end_station_id": 4},
    {"trip_id": "b2", "trip_duration": 1200, "start_time": "2018-04-02 09:15:30", "stop_time": "2018-04-02 09:35:30",
     "start_station_id": 7, "end_station_id": 7, "user_type": "Customer"},
]
BAD = [
    ("not json", "not JSON"),
    (json.dumps({"trip_duration": 300, "start_time": "2018-04-02 08:01:00", "stop_time": "2018-04-02 08:06:00",
                 "start_station_id": 3, "end_station_id": 4}), "trip_id missing"),
    (json.dumps({**GOOD[0], "trip_id": "b3", "trip_duration": "five minutes"}), "trip_duration not a number"),
    (json.dumps({**GOOD[0], "trip_id": "b4", "trip_duration": 0}), "trip_duration 0"),
    (json.dumps({**GOOD[0], "trip_id": "b5", "start_time": "02/04/2018 08:01"}), "start_time in another format"),
]
TYPES = (("trip_id", "StringType"), ("trip_duration", "IntegerType"), ("start_time", "TimestampType"),
         ("start_station_id", "IntegerType"))
ALL_TYPES = TYPES + (("stop_time", "TimestampType"), ("end_station_id", "IntegerType"))
# Broken records, none of them a trip: a schema inferred from any three of them has `_corrupt_record` and at most
# `trip_id` and the station ids, never `trip_duration`, `start_time` or `stop_time`.
BROKEN = ["not json", "{oops", "trip b9 from station 3", '{"trip_id": "b9", "trip_duration": 300',
          '{"trip_id": "b8"}', '{"start_station_id": 3, "end_station_id": 4}', "null"]


@exercise("parse_bikes", "05", "Parse bike trips with an explicit schema; quarantine the rest with a reason",
          ["schemas", "schema-inference", "dead-letters"], needs="spark", requirements={
              "types": "one row per good trip with typed columns",
              "reason": "with its original `value` as a string and a non-empty `reason`",
              "not-json": "it is not a JSON object",
              "fields": "a field above is missing or has the wrong type",
              "duration": "`trip_duration < 1`",
              "no-drop": "No record may be dropped: valid + rejected = all records",
              "explicit": "`valid` has these columns and types whatever the batch holds, even when it holds no "
                          "valid record"})
def cases(ctx: Context) -> list[Case]:
    def observe_with(values: list[str]):
        def observe(fn):
            from pyspark.sql import functions as F

            spark = ctx.spark()
            topic = ctx.new_topic("bikes", partitions=1)
            send_values(ctx, topic, values)
            raw = (spark.read.format("kafka").option("kafka.bootstrap.servers", ctx.bootstrap())
                   .option("subscribe", topic).option("startingOffsets", "earliest").load())
            out = fn(raw)
            if not (isinstance(out, tuple) and len(out) == 2):
                raise Mismatch("return a pair: (valid rows, rejected rows)")
            valid, rejected = out
            seen = {"types": {f.name: type(f.dataType).__name__ for f in valid.schema.fields},
                    "valid_ids": sorted(str(r.trip_id) for r in valid.select("trip_id").collect()),
                    "rejected_columns": list(rejected.columns)}
            if "reason" in rejected.columns and "value" in rejected.columns:
                rows = rejected.select(F.col("value").cast("string").alias("value"), "reason").collect()
                seen["rejected"] = [[r.value, None if r.reason is None else str(r.reason)] for r in rows]
            return seen
        return observe

    def judge_with(values: list[str], valid_ids: list[str], bad: int):
        def judge(seen):
            types = seen["types"]
            for name, kind in TYPES:
                expect(types.get(name) == kind, f"valid column {name} is {types.get(name, 'missing')}, expected "
                                                f"{kind}")
            expect(seen["valid_ids"] == valid_ids, f"valid trip ids {seen['valid_ids']}, expected {valid_ids}")
            expect("rejected" in seen, "the rejected rows need the columns value and reason (they have "
                                       f"{seen['rejected_columns']})")
            rows = seen["rejected"]
            expect(len(rows) == bad, f"{len(rows)} rejected rows, expected {bad}: every record is either valid or "
                                     "rejected, never dropped")
            expect(all(reason for _, reason in rows), "every rejected row needs a non-empty reason")
            expect(sorted(str(v) for v, _ in rows) == sorted(values[len(values) - bad:]) and
                   all(type(v) is str for v, _ in rows), "a rejected row's value is not the record's original text")
        return judge

    def case(shown: str, values: list[str], bad: int, hint: str, size: int, need: str) -> Case:
        return Case(shown, observe_with(values), judge_with(values, ["b1", "b2"], bad), hint, size, need)

    good = [json.dumps(r) for r in GOOD]
    kind = {"not JSON": ("not-json", "a record that is not a JSON object is rejected: from_json gives null for it"),
            "trip_duration 0": ("duration", "an impossible value is rejected too: trip_duration < 1 is not a trip")}
    fields = ("fields", "a required field that is missing or has the wrong type (a text where a number or a "
              "yyyy-MM-dd HH:mm:ss time belongs) gives null after parsing: reject the record instead")
    cases = [case("2 valid trips", good, 0, "typed columns: from_json with an explicit schema (a StructType), then "
                  "cast the time strings with to_timestamp and the format 'yyyy-MM-dd HH:mm:ss'", 2, "types")]
    for value, what in BAD:
        need, hint = kind.get(what, fields)
        cases.append(case(f"2 valid trips and one with {what}: {value[:60]}", good + [value], 1, hint, 3, need))
    cases.append(case("2 valid trips and a broken record: the rejected row", good + ["{oops"], 1,
                      "a rejected row keeps the record's original value as a string and says why, in a non-empty "
                      "reason", 4, "reason"))
    cases.append(case("2 valid trips and all 5 bad records", good + [v for v, _ in BAD], 5,
                      "no record may be dropped: valid + rejected must add up to what was read", 7, "no-drop"))

    broken = random.Random(ctx.seed(37)).sample(BROKEN, 3)

    def judge_explicit(seen):
        types = seen["types"]
        for name, kind in ALL_TYPES:
            expect(types.get(name) == kind, f"for a batch with no valid record, valid column {name} is "
                                            f"{types.get(name, 'missing')}, expected {kind}")
        judge_with(broken, [], len(broken))(seen)

    cases.append(Case(f"a batch of 3 broken records and no valid trip: {' | '.join(broken)}", observe_with(broken),
                      judge_explicit, "an explicit schema, written down: a schema inferred from the records has only "
                      "the fields those records happen to have, so the valid columns would change with the batch",
                      5, "explicit"))
    return cases
