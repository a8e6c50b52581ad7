"""The seed's main mode: every query on a processing-time trigger while data keeps arriving.

The rest of the suite drives the ETL with an available-now trigger.  That hides
faults that only show in a query that keeps running: Spark 4.1.1's Kafka source
failed its progress report (a NullPointerException) within seconds of the first
empty trigger.  Here all 14 queries run on ``trigger(processingTime=...)``
while data_gen produces from another thread, through empty batches and a
restart from the checkpoints, and the counts must still be exact at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from data_gen import GenParams, KafkaSink, generate
from data_gen.replay import start_replay
from data_gen.records import TOPICS
from etl_lib.config import ANALYTICS_FLAGS, project_root
from etl_lib.core.kafka import create_topics
from etl_lib.main import run_etl, start_etl
from etl_lib.writers import RAW_QUERY, TOPIC_FOLDERS, count_rows

QUIET = lambda *_: None  # noqa: E731
INTERVAL = "2 seconds"


def _own(settings, tmp, **changes):
    suffix = uuid.uuid4().hex[:8]
    s = settings.replace(data_dir=tmp, batch_interval=INTERVAL,
                         **{f"kafka_topic_{t}": f"{t}-{suffix}" for t in TOPICS}, **changes)
    create_topics(s, s.kafka_topics.values(), 3)
    return s


def _batches(run) -> dict[str, list[dict]]:
    """Every progress record each query reported, by query name."""
    return {name: [dict(p) for p in q.recentProgress] for name, q in run.queries.items()}


def _forget_last_commit(s) -> int:
    """Leave every checkpoint as a crash between "offsets written" and "batch committed" leaves it.

    A micro-batch first records its offset range in ``offsets/N``, then runs,
    then writes ``commits/N``.  Deleting the newest ``commits/N`` is the state a
    kill -9 in the middle of a batch leaves behind: on restart Spark must run
    batch N again from the offset log (the path that crashed Spark 4.1.1's
    Kafka source).  Returns how many checkpoints were changed.
    """
    changed = 0
    for root in (s.checkpoint_base_path, s.analytics_checkpoint_path):
        for commits in root.glob("*/commits"):
            done = sorted((p for p in commits.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
            if done:
                done[-1].unlink()
                (commits / f".{done[-1].name}.crc").unlink(missing_ok=True)
                changed += 1
    return changed


def _wait_for(run, predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failed = run.failed()
        assert not failed, failed
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"not reached within {timeout:.0f} s; batches so far: "
                         f"{ {n: len(p) for n, p in _batches(run).items()} }")


@pytest.mark.soak
@pytest.mark.timeout(600)
def test_all_queries_keep_running_through_empty_batches_and_a_restart(spark, settings, tmp_path):
    s = _own(settings, tmp_path)
    # Spark reports a progress record for an idle query only every 10 s by default; 1 s shows more of them.
    spark.conf.set("spark.sql.streaming.noDataProgressEventInterval", "1000")
    # A simulated day, played at 1,440x: one simulated minute per 1/24 s, about a minute of wall time.
    replay = start_replay(GenParams(days=1, scale=0.2, seed=5), s, speedup=1440.0)
    runs_seen: list[dict[str, list[dict]]] = []
    try:
        for attempt in range(2):  # the first run, then a restart after a simulated crash
            if attempt:
                assert _forget_last_commit(s) == 14
            run = start_etl(spark, s, echo=QUIET)
            try:
                assert len(run.queries) == 14
                _wait_for(run, lambda: all(len(q.recentProgress) >= 5 for q in run.queries.values()), 300)
                assert all(q.isActive for q in run.queries.values())
                runs_seen.append(_batches(run))
            finally:
                run.stop()
            assert not run.failed()
        replay.join(timeout=300)
        assert replay.finished, "data_gen did not finish"
        # With the producer done, the restarted queries see only empty triggers: they must survive those too.
        run = start_etl(spark, s, echo=QUIET)
        try:
            _wait_for(run, lambda: all(
                sum(1 for p in q.recentProgress if p["numInputRows"] == 0) >= 3 for q in run.queries.values()), 300)
            assert all(q.isActive for q in run.queries.values())
            runs_seen.append(_batches(run))
        finally:
            run.stop()
        assert not run.failed()
    finally:
        replay.join(timeout=300)
        spark.conf.unset("spark.sql.streaming.noDataProgressEventInterval")

    per_query = {name: sum(len(r.get(name, [])) for r in runs_seen) for name in runs_seen[0]}
    empty = {name: sum(1 for r in runs_seen for p in r.get(name, []) if p["numInputRows"] == 0)
             for name in runs_seen[0]}
    assert min(per_query.values()) >= 10, per_query
    assert min(empty.values()) >= 3, empty

    # Drain what is left, then every record is in raw or quarantine exactly once.
    run_etl(spark, s, available_now=True, echo=QUIET)
    for t, folder in TOPIC_FOLDERS.items():
        counts = replay.answer_key["counts"][t]
        assert count_rows(spark, s.output_base_path / folder) == counts["valid"], t
        assert count_rows(spark, s.quarantine_path / folder) == counts["quarantined"], t
    print(f"\nprocessing-time run: {sum(per_query.values())} progress records over {len(per_query)} queries "
          f"(min {min(per_query.values())} per query, {sum(empty.values())} empty), 2 restarts")


def _main_env(s, tmp_path) -> dict[str, str]:
    return {**os.environ, "DATA_DIR": str(tmp_path), "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
            "BATCH_INTERVAL": INTERVAL, "SPARK_MASTER": "local[4]", "SPARK_UI_ENABLED": "false",
            "SPARK_SHUFFLE_PARTITIONS": "2", "PYTHONUNBUFFERED": "1",
            **{f"KAFKA_TOPIC_{t.upper()}": topic for t, topic in s.kafka_topics.items()}}


def _main(env, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl_lib", "run", *args], env=env, cwd=project_root(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.soak
@pytest.mark.timeout(300)
def test_a_failed_query_is_named_with_its_cause_and_no_traceback(spark, settings, tmp_path):
    """A corrupt offset log makes one query fail at restart: the user reads which one, why, and where the log is."""
    # The raw query is enough to fail: the analytics stay off, so each run starts quickly.
    s = _own(settings, tmp_path, **{flag.lower(): False for flag in ANALYTICS_FLAGS})
    generate(GenParams(days=1, scale=0.05, seed=2), KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
    run_etl(spark, s, available_now=True, echo=QUIET)
    (s.checkpoint_base_path / RAW_QUERY / "offsets" / "0").write_text("v1\nthis is not an offset log\n")
    (s.checkpoint_base_path / RAW_QUERY / "offsets" / ".0.crc").unlink(missing_ok=True)
    out = _main({**_main_env(s, tmp_path), **{flag: "false" for flag in ANALYTICS_FLAGS}}, "--available-now")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    assert f"query '{RAW_QUERY}' failed:" in out.stderr, out.stderr
    assert "exception str() failed" not in out.stderr
    assert "spark-driver.log" in out.stderr
    print("\n" + out.stderr)
