"""The practice cluster, as a user would run it: 3 replicated KRaft brokers and a Spark standalone master with
2 workers (``python -m etl_lib cluster up``); a broker killed while data_gen produces; the ETL on the
standalone master; the broker back and in sync; ``down`` leaves no process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from data_gen import GenParams
from data_gen.replay import start_replay
from etl_lib.core.cluster import Cluster
from etl_lib.commit_log import read_sink
from etl_lib.config import ANALYTICS_FLAGS, project_root
from etl_lib.core.kafka import end_offsets, ensure_topics
from etl_lib.writers import TOPIC_FOLDERS

pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def settings(tmp_path_factory):
    """This test's base settings.  The practice cluster brings its own three brokers, so the session's single
    broker (the ``settings`` fixture of tests/conftest.py) is not started for it."""
    from etl_lib.config import load_settings

    return load_settings({"DATA_DIR": str(tmp_path_factory.mktemp("cluster-base")), "SPARK_UI_ENABLED": "false",
                          "SPARK_SHUFFLE_PARTITIONS": "2", "SPARK_DRIVER_MEMORY": "2g"})


def _isr(bootstrap: str, topics) -> dict[str, list[int]]:
    """In-sync replica count of each partition, per topic."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return {t["topic"]: [len(p["isr"]) for p in sorted(t["partitions"], key=lambda p: p["partition"])]
                for t in admin.describe_topics(list(topics))}
    finally:
        admin.close()


def test_cluster_survives_a_broker_kill_and_runs_the_etl_on_standalone_spark(settings, tmp_path):
    cluster = Cluster.of(settings.replace(data_dir=tmp_path))
    t0 = time.monotonic()
    cluster.up()
    started = time.monotonic() - t0
    try:
        s = settings.replace(data_dir=tmp_path, kafka_bootstrap_servers=cluster.bootstrap_servers,
                             spark_master=cluster.spark_master, kafka_replication_factor=3,
                             kafka_min_insync_replicas=2)
        ensure_topics(s)
        assert _isr(s.kafka_bootstrap_servers, s.kafka_topics.values())[s.kafka_topic_taxi] == [3, 3, 3]

        # acks=all + idempotence, one broker SIGKILLed mid-produce: 2 copies stay in sync (= min.insync.replicas).
        replay = start_replay(GenParams(days=1, scale=0.2, seed=8), s, speedup=86400 / 10)
        time.sleep(3)
        cluster.kill("kafka-2")
        replay.join(timeout=240)
        assert replay.finished, "data_gen finished with one broker down"
        counts = replay.answer_key["counts"]
        ends = end_offsets(s, s.kafka_topics.values())
        assert {t: sum(ends[s.kafka_topics[t]].values()) for t in counts} == \
            {t: c["produced"] for t, c in counts.items()}, "end offsets == produced: nothing lost, nothing twice"
        degraded = _isr(s.kafka_bootstrap_servers, s.kafka_topics.values())

        # The ETL (raw and quarantine streams) on the standalone master, as a user runs it.
        env = {**os.environ, "DATA_DIR": str(tmp_path), "SPARK_MASTER": cluster.spark_master,
               "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers, "SPARK_UI_ENABLED": "false",
               **{f"KAFKA_TOPIC_{t.upper()}": name for t, name in s.kafka_topics.items()},
               **{flag: "false" for flag in ANALYTICS_FLAGS}}
        t1 = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "etl_lib", "run", "--available-now"], cwd=project_root(), env=env,
                             capture_output=True, text=True, timeout=420)
        etl_seconds = time.monotonic() - t1
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        assert "Spark 4" in run.stdout and cluster.spark_master in run.stdout
        for t, folder in TOPIC_FOLDERS.items():
            assert len(read_sink(s.output_base_path / folder)) == counts[t]["valid"], t
            assert len(read_sink(s.quarantine_path / folder)) == counts[t]["quarantined"], t

        # The killed broker comes back and catches up: every partition has 3 copies in sync again.
        cluster.up()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            isr = _isr(s.kafka_bootstrap_servers, s.kafka_topics.values())
            if all(n == 3 for parts in isr.values() for n in parts):
                break
            time.sleep(1)
        assert all(n == 3 for parts in isr.values() for n in parts), isr
        print(f"\ncluster up in {started:.0f} s; ISR with kafka-2 down: {degraded}; ETL on {cluster.spark_master} "
              f"in {etl_seconds:.0f} s; ISR after restart: {isr}")
    finally:
        cluster.down()
    assert not any(cluster.alive().values()) and not cluster.pids, "down leaves no process"
