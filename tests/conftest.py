"""Shared fixtures: one real broker and one Spark session for the whole test run.

Each fresh JVM costs seconds, so integration tests share them.  The broker runs
on free ports in a temporary folder and is stopped at the end of the session,
also when tests fail.  Tests never touch the developer's ``data/`` folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_lib.config import Settings, load_settings


def _base_env(tmp: Path, bootstrap: str) -> dict[str, str]:
    return {
        "DATA_DIR": str(tmp),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "SPARK_MASTER": "local[4]",
        "SPARK_UI_ENABLED": "false",
        "SPARK_SHUFFLE_PARTITIONS": "2",
        "SPARK_DRIVER_MEMORY": "2g",
    }


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory):
    """A real Kafka broker on a free port, started once for the test session."""
    from etl_lib.core.broker import LocalKafka
    from etl_lib.core.kafka import free_port

    tmp = tmp_path_factory.mktemp("kafka")
    broker = LocalKafka(f"127.0.0.1:{free_port()}", tmp / "broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def settings(kafka_broker, tmp_path_factory) -> Settings:
    """Settings pointing at the session broker and a temporary DATA_DIR."""
    from etl_lib.core.kafka import create_topics

    s = load_settings(_base_env(tmp_path_factory.mktemp("data"), kafka_broker.bootstrap_servers))
    create_topics(s, s.kafka_topics.values())
    return s


@pytest.fixture(scope="session")
def spark(settings):
    """One SparkSession (with the Kafka connector) for the whole test session."""
    from etl_lib.spark import create_spark_session, stop_spark

    session = create_spark_session(settings, app_name="etl-kit tests")
    try:
        yield session
    finally:
        stop_spark(session)


@pytest.fixture
def batch_streams(spark):
    """Build the ETL's DataFrames from a batch read of the topics, each parsed topic cached.

    The stream == batch comparisons compute every analytic from the same four
    topics; without the cache each analytic reads Kafka and parses it again.
    Called with the test's settings; the cache is dropped when the test ends.
    """
    from etl_lib.analytics import create_combined_transport_weather_window
    from etl_lib.core.kinds import KINDS
    from etl_lib.main import build_streams
    from etl_lib.spark import read_kafka_batch

    cached = []

    def build(settings: Settings) -> dict:
        streams = build_streams(spark, settings, read=read_kafka_batch)
        for kind in KINDS:
            streams[kind.id] = streams[kind.id].cache()
            cached.append(streams[kind.id])
        streams["combined"] = create_combined_transport_weather_window(
            streams["bike"], streams["taxi"], streams["weather"], settings)
        return streams

    yield build
    for df in cached:
        df.unpersist()


def pytest_collection_modifyitems(config, items):
    # Mark by folder, so `-m "not integration"` runs the JVM-free tests alone.
    for item in items:
        parts = Path(str(item.fspath)).parts
        if "integration" in parts or "cluster" in parts:
            item.add_marker(pytest.mark.integration)
        if "notebooks" in parts:
            item.add_marker(pytest.mark.notebooks)
