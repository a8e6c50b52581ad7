"""Lesson 07: ``start_raw_query``, the whole writeStream chain: Parquet, partitions, checkpoint, mode, trigger."""

from __future__ import annotations

import json
import time
from typing import Any

from ..grader import exercise
from ._common import Case, Context, Mismatch, expect, once_per_solution


@exercise("start_raw_query", "07", "The whole writeStream chain: Parquet, partitions, checkpoint, mode, trigger",
          ["partition-by", "checkpointing", "exactly-once", "triggers", "output-modes"], needs="spark", requirements={
              "parquet": "writes the parsed records `df` to Parquet files under `path`",
              "partitions": "partitioned by `year`, `month`, `date` and `hour`",
              "trigger": "on an available-now trigger",
              "checkpoint": "Run again with the same folders, it must write only what arrived since, once"})
def cases(ctx: Context) -> list[Case]:
    def two_runs(fn) -> dict[str, Any]:
        """Two runs of the student's query (3 records, then 2 more); what each left, shared by the four cases:
        whether each run stopped by itself, the hour folders, whether any Parquet file exists, and the rows the
        sink's log committed after each run (-1: its files are not Parquet)."""
        from ...commit_log import read_sink

        spark = ctx.spark()
        base = ctx.scratch("raw")
        source, out, ck = base / "in", base / "out", base / "ck"
        source.mkdir()
        schema = "trip_id string, year int, month int, date string, hour int"
        stream = spark.readStream.schema(schema).json(str(source))
        seen: dict[str, Any] = {"stopped": True}

        def committed() -> int:
            try:
                return len(read_sink(out)) if (out / "_spark_metadata").is_dir() else 0
            except Exception:  # noqa: BLE001 - files that are not Parquet
                return -1

        def arrive(name: str, hours: list[int]) -> None:
            (source / name).write_text("\n".join(json.dumps({"trip_id": f"{name}-{i}", "year": 2018, "month": 4,
                                                              "date": "2018-04-02", "hour": h})
                                                  for i, h in enumerate(hours)))

        def stops_by_itself(query) -> bool:
            """Whether the query ended on its own: at once for an available-now trigger; a query on another trigger
            is given 5 s once it has read everything there is and waits for more (not 60 s, so a wrong solution
            is judged quickly too)."""
            deadline = time.monotonic() + 60
            while query.isActive and time.monotonic() < deadline:
                status = query.status
                if query.lastProgress is not None and not status["isDataAvailable"] and not status["isTriggerActive"]:
                    return query.awaitTermination(5) is not False
                time.sleep(0.2)
            return not query.isActive

        def once() -> None:
            query = fn(stream, str(out), str(ck))
            if not hasattr(query, "awaitTermination"):
                raise Mismatch(f"returned {type(query).__name__}, not a started StreamingQuery")
            try:
                seen["stopped"] &= stops_by_itself(query)
            finally:
                query.stop()

        arrive("a.json", [8, 8, 9])
        once()
        seen["hours"] = sorted(p.name for p in out.glob("year=2018/month=4/date=2018-04-02/hour=*"))
        seen["parquet"] = any(out.rglob("*.parquet"))
        seen["first"] = committed()
        arrive("b.json", [10, 10])
        once()
        seen["second"] = committed()
        return seen

    scenario = once_per_solution(two_runs)

    def parquet(s):
        expect(s["parquet"] is True and s["first"] != -1, "the files under the path are not Parquet")
        expect(s["first"] == 3, f"{s['first']} rows committed under the path after the first run, expected 3")

    def partitions(s):
        hours = s["hours"]
        expect(hours == ["hour=8", "hour=9"], f"partition folders under the path: {hours or 'none'}, expected "
                                              "year=2018/month=4/date=2018-04-02/hour=8 and hour=9")

    def trigger(s):
        expect(s["stopped"] is True, "the query did not stop by itself after reading what had arrived")

    def checkpoint(s):
        expect(s["second"] == 5, f"{s['second']} rows after a second run with 2 new records, expected 5 (each once)")

    shown = "3 records, then a second run after 2 more arrive (hours 8, 9, then 10)"
    return [
        Case(shown + ": the files", scenario, parquet, "writeStream.format('parquet') with the option path", 1,
             "parquet"),
        Case(shown + ": the folders", scenario, partitions, "partitioned by the four time columns, year first and "
             "hour last: one folder level per column, in that order", 1, "partitions"),
        Case(shown + ": the end of each run", scenario, trigger, "an available-now trigger reads what is there and "
             "stops the query by itself", 1, "trigger"),
        Case(shown + ": the second run", scenario, checkpoint, "option checkpointLocation with the checkpoint "
             "folder: the checkpoint is what lets the second run skip what the first wrote", 1, "checkpoint"),
    ]
