"""A stateful processor checked two ways: pyspark's TwsTester (plain Python) against a streaming query on Spark.

The check: IdleStations(30) sees station 7's trips at 08:00 and 08:10, then a trip at 09:00 moves the watermark
(10-minute delay) to 08:50, past the run's timer (08:40): one run (08:00, 08:10, 2 trips) comes out. Prints the
seconds each way takes (the query's without Spark's start, which is timed apart) and their ratio; both ways must
emit the same run. Run: .venv/bin/python bench/tws_tester.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

ROUNDS = [["08:00", "08:10"], ["09:00"]]


def with_tester() -> list[tuple]:
    from pyspark.sql.streaming.tws_tester import TwsTester

    from etl_lib.state import IdleStations

    tester = TwsTester(IdleStations(30), timeMode="EventTime",
                       eventTimeExtractor=lambda row: int(pd.Timestamp(row["event_time"]).value // 1_000_000))
    out: list[tuple] = []
    newest = None
    for times in ROUNDS:
        stamps = pd.to_datetime([f"2018-04-02 {t}" for t in times])
        got = tester.testInPandas(7, pd.DataFrame({"start_station_id": [7] * len(times), "event_time": stamps}))
        out += [(r.station, f"{r.first_trip:%H:%M}", f"{r.last_trip:%H:%M}", r.trips) for r in got.itertuples()]
        newest = max([newest] + list(stamps)) if newest is not None else max(stamps)
        fired = tester.setWatermark(int((newest - pd.Timedelta(minutes=10)).value // 1_000_000))
        out += [(r.station, f"{r.first_trip:%H:%M}", f"{r.last_trip:%H:%M}", r.trips) for r in fired.itertuples()]
    return out


def with_query(spark, folder: Path) -> list[tuple]:
    from pyspark.sql import functions as F

    from etl_lib.state import RUN_SCHEMA, IdleStations

    source = folder / "in"
    source.mkdir()
    for n, times in enumerate(ROUNDS + [[]]):  # one more, empty, batch: it runs with the watermark 09:00 leaves
        path = source / f"round{n}.json"
        path.write_text("".join(json.dumps({"station": 7, "t": f"2018-04-02 {t}:00"}) + "\n" for t in times))
        os.utime(path, (1_500_000_000 + n, 1_500_000_000 + n))
    trips = (spark.readStream.schema("station int, t string").option("maxFilesPerTrigger", 1).json(str(source))
             .select(F.col("station").alias("start_station_id"), F.to_timestamp("t").alias("event_time"))
             .withWatermark("event_time", "10 minutes"))
    runs = trips.groupBy("start_station_id").transformWithStateInPandas(
        IdleStations(30), RUN_SCHEMA, outputMode="Append", timeMode="EventTime")
    out: list[tuple] = []
    query = (runs.writeStream.outputMode("append").trigger(availableNow=True)
             .foreachBatch(lambda df, _: out.extend((r["station"], f"{r['first_trip']:%H:%M}",
                                                      f"{r['last_trip']:%H:%M}", r["trips"]) for r in df.collect()))
             .option("checkpointLocation", str(folder / "checkpoint")).start())
    query.awaitTermination(300)
    return out


def main() -> None:
    from etl_lib.core.settings import get_settings
    from etl_lib.spark import create_spark_session, stop_spark
    from etl_lib.state import use_state_store

    t0 = time.perf_counter()
    tested = with_tester()
    tester_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    spark = create_spark_session(get_settings().replace(spark_ui_enabled=False), app_name="bench tws")
    start_s = time.perf_counter() - t0
    try:
        use_state_store(spark, "rocksdb")
        spark.conf.set("spark.sql.shuffle.partitions", "1")
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            queried = with_query(spark, Path(tmp))
            query_s = time.perf_counter() - t0
    finally:
        stop_spark(spark)
    assert tested == queried == [(7, "08:00", "08:10", 2)], (tested, queried)
    print(json.dumps({"emitted": tested, "tester_seconds": round(tester_s, 4), "spark_start_seconds": round(start_s, 1),
                      "query_seconds": round(query_s, 2), "query_over_tester": round(query_s / tester_s)}, indent=1))


if __name__ == "__main__":
    main()
