"""Faults, not clean stops: the ETL killed with SIGKILL at random moments while data keeps arriving (then
restarted as a user would, with ``--run-for``), and the broker killed in the middle of data_gen's produce.
Nothing may be lost and nothing counted twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest

from data_gen import GenParams
from data_gen.replay import start_replay
from data_gen.records import TOPICS
from etl_lib.commit_log import orphan_files, read_sink
from etl_lib.config import project_root
from etl_lib.core.broker import LocalKafka
from etl_lib.core.kafka import create_topics, free_port
from etl_lib.main import ANALYTICS, build_analytic, run_etl
from etl_lib.writers import TOPIC_FOLDERS, count_rows

QUIET = lambda *_: None  # noqa: E731


def _env(s, tmp_path) -> dict[str, str]:
    return {**os.environ, "DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
            "BATCH_INTERVAL": s.batch_interval, "SPARK_MASTER": "local[4]", "SPARK_UI_ENABLED": "false",
            "SPARK_SHUFFLE_PARTITIONS": str(s.spark_shuffle_partitions),
            **{f"KAFKA_TOPIC_{t.upper()}": topic for t, topic in s.kafka_topics.items()}}


def _started(s) -> int:
    return sum(1 for root in (s.checkpoint_base_path, s.analytics_checkpoint_path) for _ in root.glob("*/offsets/0"))


@pytest.mark.soak
@pytest.mark.timeout(900)
def test_etl_killed_at_random_moments_loses_and_duplicates_nothing(spark, settings, tmp_path, batch_streams):
    suffix = uuid.uuid4().hex[:8]
    s = settings.replace(data_dir=tmp_path, batch_interval="2 seconds",
                         **{f"kafka_topic_{t}": f"{t}-crash-{suffix}" for t in TOPICS})
    create_topics(s, s.kafka_topics.values(), 3)
    # No late records: at this speed a record 10 minutes late can fall into a later micro-batch than newer ones and
    # be dropped by the watermark, as it should be (test_etl tests that); here any difference from the batch
    # computation must be a record lost or doubled by a kill.
    replay = start_replay(GenParams(days=1, scale=0.2, seed=9, late_fraction=0.0), s,
                          speedup=86400 / 40)  # a day in about 40 s
    rng = random.Random(2026)
    kills = []
    try:
        for attempt in range(3):
            proc = subprocess.Popen([sys.executable, "-m", "etl_lib", "run"], env=_env(s, tmp_path),
                                    cwd=project_root(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)
            try:
                deadline = time.monotonic() + 180
                while _started(s) < 14 and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert _started(s) == 14, "the ETL never started all of its queries"
                # A random moment: during the first batches, or well into the run.
                wait = rng.uniform(0.5, 12.0)
                time.sleep(wait)
                assert proc.poll() is None, f"the ETL exited by itself (code {proc.returncode})"
            finally:
                os.killpg(proc.pid, signal.SIGKILL)  # driver and JVM at once, mid-batch or not
                proc.wait(timeout=60)
            kills.append(round(wait, 1))
            if attempt == 0:
                uncommitted = sum(1 for root in (s.checkpoint_base_path, s.analytics_checkpoint_path)
                                  for o in root.glob("*/offsets/*") if o.name.isdigit()
                                  and not (o.parent.parent / "commits" / o.name).exists())
        # Then as a user types it, in the seed's mode for a bounded time: every query comes back from the
        # killed runs' checkpoints (unfinished batches included), stays up, and the program exits 0.
        out = subprocess.run([sys.executable, "-m", "etl_lib", "run", "--run-for", "30"], env=_env(s, tmp_path),
                             cwd=project_root(), capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "ALL STREAMS STARTED (14 total)" in out.stdout, out.stdout
        assert "14 of 14 queries active at the end" in out.stdout, out.stdout
        assert "Traceback" not in out.stderr, out.stderr
    finally:
        replay.join(timeout=300)
    assert replay.finished, "data_gen did not finish"
    key = replay.answer_key
    orphans = sum(len(orphan_files(p)) for root in (s.output_base_path, s.quarantine_path, s.analytics_output_path)
                  if root.exists() for p in root.iterdir())

    # One last run, available-now, drains what is left.
    run_etl(spark, s, available_now=True, echo=QUIET)
    per_topic = {}
    for t, folder in TOPIC_FOLDERS.items():
        counts = key["counts"][t]
        raw, quarantine = s.output_base_path / folder, s.quarantine_path / folder
        seen = (count_rows(spark, raw), len(read_sink(raw, columns=["year"])),
                count_rows(spark, quarantine), len(read_sink(quarantine, columns=["reason"])))
        assert seen == (counts["valid"], counts["valid"], counts["quarantined"], counts["quarantined"]), (t, seen)
        per_topic[t] = seen[:1] + seen[2:3]
    # Every analytics row is the batch computation's row for the same key (no row twice, none changed).
    batch = batch_streams(s)
    for a in ANALYTICS:
        streamed = read_sink(s.analytics_output_path / a.name)
        expected = build_analytic(a, batch, s).toPandas()
        keys = [c for c in ("window_start", "group_start", "precip_category", "x_name", "y_name", "temp_bin",
                            "day_type", "period") if c in streamed.columns]
        assert not streamed.duplicated(keys).any(), f"{a.name}: a row written twice"
        merged = streamed.merge(expected, on=keys, how="left", suffixes=("", "_batch"), indicator=True)
        assert (merged["_merge"] == "both").all(), f"{a.name}: a streamed row the batch run does not have"
        for col in streamed.columns:
            if col in keys or streamed[col].dtype.kind not in "if":
                continue
            diff = (merged[col] - merged[f"{col}_batch"]).abs() <= 1e-6 * merged[f"{col}_batch"].abs().clip(lower=1)
            same = diff | (merged[col].isna() & merged[f"{col}_batch"].isna())
            assert same.all(), (a.name, col, merged.loc[~same, [*keys, col, f"{col}_batch"]].head(5).to_dict("records"))
    print(f"\nkilled at {kills} s after start ({uncommitted} batches unfinished at the first kill), then "
          f"30 s with 14 of 14 queries up; {orphans} orphan files left by killed batches; "
          f"raw/quarantine rows per topic {per_topic}")


@pytest.mark.soak
@pytest.mark.timeout(300)
def test_broker_killed_mid_produce_loses_and_duplicates_nothing(settings, tmp_path):
    """SIGKILL the broker while data_gen produces, restart it: data_gen finishes (idempotent retries), and
    the topics hold exactly what it reports as produced."""
    broker = LocalKafka(f"127.0.0.1:{free_port()}", tmp_path / "broker")
    broker.start()
    s = settings.replace(kafka_bootstrap_servers=broker.bootstrap_servers,
                         **{f"kafka_topic_{t}": f"{t}-bk" for t in TOPICS})
    topics = s.kafka_topics
    try:
        create_topics(s, topics.values(), 3)
        replay = start_replay(GenParams(days=1, scale=0.3, seed=4), s, speedup=86400 / 15)
        time.sleep(5)
        os.kill(broker.pid, signal.SIGKILL)
        broker._proc.wait(timeout=30)
        time.sleep(3)
        broker.start()
        replay.join(timeout=200)  # raises the SinkError if data_gen could not deliver
        assert replay.finished and not replay.thread.is_alive()
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers)
        try:
            for t, topic in topics.items():
                parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
                ends = sum(consumer.end_offsets(parts).values())
                assert ends == replay.answer_key["counts"][t]["produced"], t
        finally:
            consumer.close()
    finally:
        broker.stop()
