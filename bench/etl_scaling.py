"""The whole ETL (raw, quarantine, silver and every analytic) over growing simulated periods, in one run.

For each size (default 1, 4, 16 and 52 simulated weeks at --scale 0.25: about
36k records for a week and 1.85M for the year; the demo's week is scale 0.5) data_gen writes the period into topics of its own
on one local broker and into JSON-lines files, then on one Spark session, warmed up first by a tiny run:

- the whole ETL from Kafka, available-now, as ``python -m etl_lib run
  --available-now`` runs it: wall seconds and records/s;
- the raw path alone (the four topics parsed into hourly Parquet) once from
  Kafka and once from the JSON-lines files: the Kafka/file ratio (file seconds
  over Kafka seconds; 1.0 means reading Kafka costs nothing extra);
- the peak resident memory of the Spark JVM (VmHWM, reset before each size).

It prints one table: marginal records/s is the slope between a size and the
one before (what one more record costs, without the fixed start-up of about
a dozen queries), the number to compare with a real year's volume; ETL/raw is
the whole ETL's time over the raw path's from Kafka (the aim: at most 1.6).
For each size it also prints how many queries read each topic from Kafka (one
each: the raw queries) and the busiest queries by time spent in batches.

Run: .venv/bin/python bench/etl_scaling.py [--weeks 1,4,16,52] [--scale 0.25] [--long-job]
     .venv/bin/python bench/etl_scaling.py --quick      (1 and 2 days at scale 0.2: a smoke run, about a minute)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from data_gen import FilesSink, GenParams, JavaKafkaSink, generate
from data_gen.records import TOPICS
from etl_lib.config import load_settings
from etl_lib.core.kinds import KINDS, by_id
from etl_lib.core.settings import LONG_JOB_JVM_OPTIONS
from etl_lib.core.broker import LocalKafka
from etl_lib.core.kafka import create_topics, free_port
from etl_lib.main import run_etl
from etl_lib.spark import create_spark_session, read_kafka_stream, stop_spark
from etl_lib.writers import write_parquet_stream
from etl_throughput import kafka_shaped_text  # bench/ is on the path when a bench runs


class Tee:
    """One generation into two sinks (Kafka and files), so both hold the very same records."""

    def __init__(self, *sinks) -> None:
        self.sinks = sinks

    def send(self, d) -> None:
        for s in self.sinks:
            s.send(d)

    def close(self) -> None:
        for s in self.sinks:
            s.close()


def jvm_pid(spark) -> int:
    return int(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())


def reset_peak_rss(pid: int) -> None:
    """Start VmHWM again from the current RSS (Linux: write 5 to clear_refs; ignored where refused)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def busiest(run) -> list[tuple[str, float, int]]:
    """(query, seconds its batches took, batches) from each query's progress records, busiest first."""
    out = []
    for name, q in run.queries.items():
        progress = q.recentProgress
        out.append((name, sum(p["durationMs"].get("triggerExecution", 0) for p in progress) / 1000, len(progress)))
    return sorted(out, key=lambda row: -row[1])


def file_streams(spark, folder: Path, settings) -> dict:
    """The four raw streams read from JSON-lines files, shaped like Kafka rows so the same parsers run."""
    out = {}
    for t, topic in settings.kafka_topics.items():
        sub = folder / t
        sub.mkdir()
        (folder / f"{topic}.jsonl").rename(sub / f"{topic}.jsonl")
        out[t] = kafka_shaped_text(spark, sub, topic)
    return out


def _own_folders(settings, folder: Path):
    """``settings`` writing the raw tables and their checkpoints under ``folder``."""
    return settings.replace(data_dir=folder, output_base_path=folder / "out", checkpoint_base_path=folder / "ck")


def raw_path_seconds(spark, settings, raw: dict) -> float:
    """The four topics parsed and written as hourly Parquet, exactly as the ETL's raw queries, timed together."""
    from etl_lib import parsing

    t0 = time.perf_counter()
    queries = [write_parquet_stream(getattr(parsing, k.parser)(raw[k.id]), k.folder, settings, available_now=True)
               for k in KINDS]
    for q in queries:
        q.awaitTermination()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", default="1,4,16,52", help="comma-separated simulated weeks, smallest first")
    parser.add_argument("--scale", type=float, default=0.25, help="data_gen's rate multiplier (1.0 ~ the real city)")
    parser.add_argument("--quick", action="store_true", help="1 and 2 simulated days at scale 0.2 (a smoke run)")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    parser.add_argument("--long-job", action="store_true",
                        help="the driver JVM with C2 on (SPARK_DRIVER_JAVA_OPTIONS=LONG_JOB_JVM_OPTIONS), as "
                             "docs/scale.md advises for a year")
    parser.add_argument("--etl-only", action="store_true", help="skip the raw-path Kafka/file comparison")
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                        help="a kit setting for the session and every run (e.g. SPARK_SHUFFLE_PARTITIONS=2); repeatable")
    args = parser.parse_args(argv)
    if args.quick:
        sizes_days, scale = [1, 2], 0.2
    else:
        sizes_days, scale = [int(float(w) * 7) for w in args.weeks.split(",")], args.scale
    extra = dict(item.split("=", 1) for item in args.set)
    if args.long_job:
        extra.setdefault("SPARK_DRIVER_JAVA_OPTIONS", LONG_JOB_JVM_OPTIONS)
    rows, failed = [], []
    with tempfile.TemporaryDirectory(prefix="etl-scaling-") as tmp:
        tmp = Path(tmp)
        broker = LocalKafka(f"127.0.0.1:{free_port()}", tmp / "broker", heap="1g")
        broker.start()
        spark = None
        try:
            def settings_for(folder: str, topics: dict[str, str] | None = None):
                """The kit's settings for one run: its own DATA_DIR and topics, this broker, the --set ones."""
                return load_settings({"DATA_DIR": str(tmp / folder), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                                      "SPARK_UI_ENABLED": "false", **extra,
                                      **{by_id(t).setting: n for t, n in (topics or {}).items()}})

            base = settings_for("data")
            spark = create_spark_session(base)
            pid = jvm_pid(spark)
            # Warm-up: the session's first queries pay class loading and code generation; not part of any size.
            warm = {t: f"warmup.{t}" for t in TOPICS}
            create_topics(base, warm.values())
            generate(GenParams(days=1, scale=0.05), JavaKafkaSink(broker.bootstrap_servers, warm))
            run_etl(spark, settings_for("warmup", warm), available_now=True, echo=lambda *_: None)
            for days in sizes_days:
                topics = {t: f"scale{days}d.{t}" for t in TOPICS}
                s = settings_for(f"run{days}", topics)
                create_topics(s, topics.values())
                t0 = time.perf_counter()
                key = generate(GenParams(days=days, scale=scale),
                               Tee(JavaKafkaSink(broker.bootstrap_servers, topics), FilesSink(tmp / f"files{days}", topics)))
                gen_s = time.perf_counter() - t0
                records = sum(c["produced"] for c in key["counts"].values())
                print(f"# {days} days: {records:,} records generated in {gen_s:.0f} s", file=sys.stderr, flush=True)
                reset_peak_rss(pid)
                t0 = time.perf_counter()
                try:
                    run = run_etl(spark, s, available_now=True, echo=lambda *_: None)
                except Exception as err:  # noqa: BLE001 - an OOM at a size is a finding: print it, stop there
                    cause = str(err).strip().splitlines()[0][:300]
                    print(f"#   whole ETL FAILED after {time.perf_counter() - t0:.0f} s: {cause}", file=sys.stderr)
                    failed.append({"days": days, "records": records, "failed": cause,
                                   "etl_s": round(time.perf_counter() - t0, 1), "peak_rss_mb": round(peak_rss_mb(pid))})
                    break
                etl_s = time.perf_counter() - t0
                peak = peak_rss_mb(pid)
                print(f"#   whole ETL {etl_s:.1f} s ({len(run.queries)} queries), peak RSS {peak:.0f} MB",
                      file=sys.stderr, flush=True)
                if hasattr(run, "topic_reads"):  # the kit's ETL reads each topic once (issue 40)
                    print("#   Kafka reads per topic (queries, records): " + ", ".join(
                        f"{t} {v['queries']} {v['records']:,}" for t, v in sorted(run.topic_reads().items())),
                        file=sys.stderr, flush=True)
                busy = busiest(run)
                print("#   busiest queries (s in batches, batches): " + ", ".join(
                    f"{name} {secs:.1f} ({n})" for name, secs, n in busy[:8]), file=sys.stderr, flush=True)
                row = {"days": days, "records": records, "etl_s": round(etl_s, 2),
                       "etl_rec_per_s": round(records / etl_s), "peak_rss_mb": round(peak),
                       "raw_kafka_s": float("nan"), "raw_file_s": float("nan"), "kafka_over_file": float("nan")}
                rows.append(row)
                if args.etl_only:
                    continue
                kafka = {t: read_kafka_stream(spark, topic, s) for t, topic in topics.items()}
                kafka_s = raw_path_seconds(spark, _own_folders(s, tmp / f"rawk{days}"), kafka)
                file_s = raw_path_seconds(spark, _own_folders(s, tmp / f"rawf{days}"),
                                          file_streams(spark, tmp / f"files{days}", s))
                print(f"#   raw path: Kafka {kafka_s:.1f} s, files {file_s:.1f} s", file=sys.stderr, flush=True)
                row.update(raw_kafka_s=round(kafka_s, 2), raw_file_s=round(file_s, 2),
                           kafka_over_file=round(file_s / kafka_s, 3))
        finally:
            if spark is not None:
                stop_spark(spark)
            broker.stop()
    for prev, row in zip([None, *rows], rows):
        row["marginal_rec_per_s"] = (None if prev is None or row["etl_s"] <= prev["etl_s"] else
                                     round((row["records"] - prev["records"]) / (row["etl_s"] - prev["etl_s"])))
    print(f"{'days':>5} {'records':>10} {'ETL s':>8} {'rec/s':>8} {'marginal':>9} {'peak RSS':>9} "
          f"{'raw Kafka s':>11} {'raw file s':>10} {'Kafka/file':>10} {'ETL/raw':>8}")
    for r in rows:
        marginal = "-" if r["marginal_rec_per_s"] is None else f"{r['marginal_rec_per_s']:,}"
        r["etl_over_raw"] = round(r["etl_s"] / r["raw_kafka_s"], 2) if r["raw_kafka_s"] == r["raw_kafka_s"] else None
        print(f"{r['days']:>5} {r['records']:>10,} {r['etl_s']:>8.1f} {r['etl_rec_per_s']:>8,} {marginal:>9} "
              f"{r['peak_rss_mb']:>6} MB {r['raw_kafka_s']:>11.1f} {r['raw_file_s']:>10.1f} {r['kafka_over_file']:>10.2f}"
              f" {'-' if r['etl_over_raw'] is None else r['etl_over_raw']:>8}")
    for r in failed:
        print(f"{r['days']:>5} {r['records']:>10,} failed after {r['etl_s']:.0f} s (peak RSS {r['peak_rss_mb']} MB): "
              f"{r['failed']}")
    info = {"scale": scale, "spark_master": base.spark_master, "driver_memory": base.spark_driver_memory,
            "shuffle_partitions": base.spark_shuffle_partitions,
            "max_offsets_per_trigger": base.kafka_max_offsets_per_trigger, "cores": os.cpu_count(), "set": extra}
    print(json.dumps(info))
    if args.json:
        args.json.write_text(json.dumps({"settings": info, "rows": rows, "failed": failed}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
