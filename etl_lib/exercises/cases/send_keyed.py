"""Lesson 04: ``send_keyed``, send trips keyed by station, so each station's trips stay in order."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from typing import Any

from ..grader import exercise
from ._common import Case, Context, expect, once_per_solution


def trips(n: int, stations: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"trip_id": f"t{i}", "start_station_id": rng.randint(1, stations), "seq": i} for i in range(n)]


@exercise("send_keyed", "04", "Send trips keyed by station, so each station's trips stay in order",
          ["kafka-basics"], needs="kafka", requirements={
              "json": "Send every trip (a dict) to `topic` as JSON",
              "same-partition": "all trips of one start station land in the same partition",
              "order": "in the order given",
              "written": "make sure every record is written before the function returns"})
def cases(ctx: Context) -> list[Case]:
    def sent(fn, n, stations, seed) -> dict[str, Any]:
        """Call the student's function on a new 3-partition topic; what the topic holds right after it returns:
        the records it held then, and (partition, value as text) of every record read within 3 s."""
        from kafka import KafkaConsumer

        from ...core.kafka import client_options, end_offsets

        topic = ctx.new_topic("send-keyed")
        fn(ctx.bootstrap(), topic, trips(n, stations, ctx.seed(seed)))
        held = sum(end_offsets(ctx.settings, [topic])[topic].values())
        consumer = KafkaConsumer(topic, bootstrap_servers=ctx.bootstrap(), auto_offset_reset="earliest",
                                 consumer_timeout_ms=3000, **client_options(ctx.settings))
        got = []
        for m in consumer:  # every record that was sent, or what arrived within 3 s
            got.append([m.partition, (m.value or b"").decode("utf-8", errors="replace")])
            if len(got) >= n:
                break
        consumer.close()
        return {"held": held, "records": got}

    # The three cases about 300 trips judge one run of the student's function (a topic written and read once).
    three_hundred = once_per_solution(lambda fn: sent(fn, 300, 12, 2))

    def records(got: list) -> list[tuple[int, dict]]:
        """(partition, trip) of every record; a Mismatch naming the first value that is not a trip as JSON."""
        out = []
        for partition, value in got:
            try:
                record = json.loads(value)
                out.append((partition, record, int(record["seq"]), record["start_station_id"]))
            except (ValueError, TypeError, KeyError):
                expect(False, f"a value is not a trip as JSON: {value[:80]!r}")
        return out

    def judge_written(seen):
        expect(seen["held"] == 300, f"{seen['held']} of 300 records were in the topic when the call returned")

    def judge_json(seen):
        values = sorted(seq for _, _, seq, _ in records(seen["records"]))
        expect(values == list(range(6)), f"the values hold trips {values}, expected 0..5 once each")

    def judge_partitions(check_order: bool):
        def judge(seen):
            where: dict[Any, set[int]] = defaultdict(set)
            order: dict[Any, list[int]] = defaultdict(list)
            for partition, _, seq, station in records(seen["records"]):
                where[json.dumps(station)].add(partition)
                order[json.dumps(station)].append(seq)
            if check_order:
                expect(all(seq == sorted(seq) for seq in order.values()), "a station's trips are out of order")
            else:
                spread = {s: sorted(p) for s, p in where.items() if len(p) > 1}
                expect(not spread, f"station(s) {sorted(spread)[:3]} landed in several partitions")
        return judge

    return [
        Case("6 trips from 2 stations: the values", lambda fn: sent(fn, 6, 2, 1), judge_json,
             "send each trip serialised as JSON (json.dumps), bytes on the wire", 6, "json"),
        Case("300 trips from 12 stations (topic with 3 partitions): where they land",
             three_hundred, judge_partitions(False),
             "records with the same key go to the same partition: key each trip by its start station", 300,
             "same-partition"),
        Case("300 trips from 12 stations: the order within each station", three_hundred,
             judge_partitions(True), "a partition keeps the order records were sent in: send the trips in the order "
             "given", 301, "order"),
        Case("300 trips: the topic right after the call returns", three_hundred, judge_written,
             "send() only queues a record; flush() (or close()) the producer so every record is written before "
             "returning", 302, "written"),
    ]
