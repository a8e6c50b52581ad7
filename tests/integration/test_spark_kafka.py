"""Spark's Kafka connector reads what kafka-python wrote: same count, same keys and values."""

from __future__ import annotations

import json

from etl_lib.kafka_local import create_topics
from etl_lib.spark import read_kafka_batch, read_kafka_stream


def test_batch_read_returns_what_was_produced(spark, settings):
    from kafka import KafkaProducer

    topic = "spark-roundtrip"
    create_topics(settings.kafka_bootstrap_servers, [topic], partitions=2)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    sent = {(f"key-{i % 5}", json.dumps({"n": i})) for i in range(250)}
    for key, value in sent:
        producer.send(topic, key=key.encode(), value=value.encode())
    producer.flush()
    producer.close()

    rows = (
        read_kafka_batch(spark, topic, settings)
        .selectExpr("CAST(key AS STRING) AS k", "CAST(value AS STRING) AS v")
        .collect()
    )
    assert len(rows) == 250
    assert {(r.k, r.v) for r in rows} == sent


def test_stream_reader_is_streaming_with_kafka_columns(spark, settings):
    df = read_kafka_stream(spark, settings.kafka_topic_bike, settings)
    assert df.isStreaming
    assert {"key", "value", "topic", "partition", "offset", "timestamp"} <= set(df.columns)


def test_session_is_utc_and_quiet(spark):
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert spark.conf.get("spark.ui.showConsoleProgress") == "false"
    assert any("spark-sql-kafka" in j for j in spark.conf.get("spark.jars").split(","))
    # Local folders: checkpoints renamed with one system call, not a `readlink` child process per file.
    from etl_lib.spark import LOCAL_CHECKPOINT_FILE_MANAGER

    assert spark.conf.get("spark.sql.streaming.checkpointFileManagerClass") == LOCAL_CHECKPOINT_FILE_MANAGER
    # SPARK_DRIVER_JAVA_OPTIONS reached the driver JVM itself (the quick-start JIT by default).
    jvm_args = list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert "-XX:TieredStopAtLevel=1" in jvm_args and "-XX:+UseParallelGC" in jvm_args
    assert "-XX:ReservedCodeCacheSize=256m" in jvm_args  # C1's own 48 MB fills up in a long session


def test_unreachable_broker_gives_clear_message(spark, settings):
    import pytest

    from etl_lib.kafka_local import BrokerError, free_port

    bad = settings.replace(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    with pytest.raises(BrokerError, match="No Kafka broker answers.*kafka_local start"):
        read_kafka_stream(spark, "bike-trips", bad)
