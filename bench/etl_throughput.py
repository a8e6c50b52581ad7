"""Kafka -> raw Parquet for the largest topic (taxi) against the same parse and write from a JSON-lines file.

Both sides run the same parser (parse_taxi_stream) and the same partitioned
Parquet sink in available-now mode on one Spark session; only the source
differs.  Prints records/s of each, the ratio, and a breakdown per source
(read alone, parse, partition and write, from no-op-sink runs of the same plan).  With --full, also runs the
whole pipeline over the demo's simulated period twice, in the first version's
design (every analytic reads Kafka) and with the silver windows table, and
prints both wall times and their ratio.

Run: .venv/bin/python bench/etl_throughput.py [--days 7 --scale 0.5] [--full]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from pyspark.sql import functions as F

from data_gen import FilesSink, GenParams, KafkaSink, generate
from etl_lib.config import load_settings
from etl_lib.core.broker import LocalKafka
from etl_lib.core.kafka import create_topics, free_port
from etl_lib.main import run_etl
from etl_lib.parsing import parse_taxi_stream
from etl_lib.spark import create_spark_session, read_kafka_stream, stop_spark
from etl_lib.writers import one_file_per_partition


def kafka_shaped_text(spark, folder: Path, topic: str):
    """A streaming text source over ``folder`` with the columns of Kafka rows, so the very same parser runs on it."""
    return (spark.readStream.text(str(folder))
            .select(F.lit(topic).alias("topic"), F.lit(0).alias("partition"),
                    F.lit(0).cast("long").alias("offset"), F.current_timestamp().alias("timestamp"),
                    F.lit(None).cast("binary").alias("key"), F.col("value").cast("binary").alias("value")))


def timed_query(df, path: Path, checkpoint: Path) -> float:
    """The raw sink exactly as write_parquet_stream builds it, timed to completion."""
    t0 = time.perf_counter()
    q = (one_file_per_partition(df).writeStream.format("parquet").option("path", str(path)).option("checkpointLocation", str(checkpoint))
         .partitionBy("year", "month", "date", "hour").trigger(availableNow=True).start())
    q.awaitTermination()
    return time.perf_counter() - t0


def timed_noop(df, checkpoint: Path) -> float:
    """The same plan into Spark's no-op sink: everything but the Parquet writing, timed to completion."""
    t0 = time.perf_counter()
    q = df.writeStream.format("noop").option("checkpointLocation", str(checkpoint)).trigger(availableNow=True).start()
    q.awaitTermination()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--full", action="store_true", help="also time the whole pipeline")
    args = parser.parse_args()
    params = GenParams(days=args.days, scale=args.scale)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        broker = LocalKafka(f"127.0.0.1:{free_port()}", tmp / "broker", heap="1g")
        broker.start()
        spark = None
        try:
            s = load_settings({"DATA_DIR": str(tmp / "data"), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                               "SPARK_UI_ENABLED": "false"})
            create_topics(s, s.kafka_topics.values(), 3)
            key = generate(params, KafkaSink(broker.bootstrap_servers, s.kafka_topics))
            generate(params, FilesSink(tmp / "files", s.kafka_topics))
            n = key["counts"]["taxi"]["produced"]
            spark = create_spark_session(s)
            # Warm-up: the first query of a session pays class loading and code generation.
            timed_query(parse_taxi_stream(read_kafka_stream(spark, s.kafka_topic_taxi, s)).limit(1),
                        tmp / "warm", tmp / "ck_warm")
            kafka_s = timed_query(parse_taxi_stream(read_kafka_stream(spark, s.kafka_topic_taxi, s)),
                                  tmp / "out_kafka", tmp / "ck_kafka")
            files_dir = tmp / "taxi_only"
            files_dir.mkdir()
            (tmp / "files" / f"{s.kafka_topic_taxi}.jsonl").rename(files_dir / "taxi.jsonl")
            text = kafka_shaped_text(spark, files_dir, s.kafka_topic_taxi)
            files_s = timed_query(parse_taxi_stream(text), tmp / "out_files", tmp / "ck_files")
            result = {
                "taxi_records": n,
                "kafka_to_parquet_rec_per_s": round(n / kafka_s),
                "jsonl_file_to_parquet_rec_per_s": round(n / files_s),
                "kafka_over_file_ratio": round(files_s / kafka_s, 3),
            }
            # Where the difference goes: the same source read alone, then read and parsed, into the no-op sink;
            # the rest of each full run is the repartition by hour and the Parquet writing.
            sources = {"kafka": lambda: read_kafka_stream(spark, s.kafka_topic_taxi, s), "file": lambda: text}
            for name, source in sources.items():
                read_s = timed_noop(source().select("value"), tmp / f"ck_read_{name}")
                parse_s = timed_noop(parse_taxi_stream(source()), tmp / f"ck_parse_{name}")
                full_s = kafka_s if name == "kafka" else files_s
                result[f"breakdown_{name}_s"] = {"read": round(read_s, 2), "parse": round(parse_s - read_s, 2),
                                                 "partition_and_write": round(full_s - parse_s, 2),
                                                 "total": round(full_s, 2)}
            if args.full:
                # The same data through both designs, each into its own folders, in this one run:
                # every analytic from Kafka (the first version) and the silver windows table.
                records = sum(c["produced"] for c in key["counts"].values())
                for design, silver in (("every_analytic_from_kafka", False), ("silver_windows", True)):
                    d = s.replace(data_dir=tmp / f"full_{design}")
                    t0 = time.perf_counter()
                    run = run_etl(spark, d, available_now=True, echo=lambda *_: None, silver=silver)
                    result[f"full_pipeline_{design}_s"] = round(time.perf_counter() - t0, 1)
                    result[f"full_pipeline_{design}_queries"] = len(run.queries)
                result["full_pipeline_records"] = records
                result["silver_speedup"] = round(result["full_pipeline_every_analytic_from_kafka_s"]
                                                 / result["full_pipeline_silver_windows_s"], 2)
        finally:
            if spark is not None:
                stop_spark(spark)
            broker.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
