"""Spark's Kafka connector reads what kafka-python wrote: same count, same keys and values."""

from __future__ import annotations

import json

from etl_lib.core.kafka import create_topics
from etl_lib.spark import read_kafka_batch, read_kafka_stream


def test_batch_read_returns_what_was_produced(spark, settings):
    from kafka import KafkaProducer

    topic = "spark-roundtrip"
    create_topics(settings, [topic], partitions=2)
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

    from etl_lib.core.errors import BrokerError
    from etl_lib.core.kafka import free_port

    bad = settings.replace(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    with pytest.raises(BrokerError, match="No Kafka broker answers.*python -m etl_lib broker start"):
        read_kafka_stream(spark, "bike-trips", bad)


def test_local_files_are_created_without_a_chmod_process_and_keep_their_permissions(spark, tmp_path):
    """The kit's local file system (jvm/localfs): Parquet files, their .crc checksums and the partition folders
    as Hadoop's own would leave them, with permissions set by NIO instead of one `chmod` process per file."""
    import os
    import stat

    fs = spark.sparkContext._jvm.org.apache.hadoop.fs.FileSystem.get(
        spark.sparkContext._jvm.java.net.URI("file:///"), spark.sparkContext._jsc.hadoopConfiguration())
    assert fs.getClass().getName() == "etlkit.NioLocalFileSystem"
    out = tmp_path / "hours"
    (spark.range(0, 6).selectExpr("id", "id % 3 AS hour").write.partitionBy("hour").parquet(str(out)))
    files = sorted(p for p in out.rglob("*.parquet"))
    assert sorted({p.parent.name for p in files}) == ["hour=0", "hour=1", "hour=2"]
    assert all((p.parent / f".{p.name}.crc").is_file() for p in files)  # checksums kept
    umask = os.umask(0)
    os.umask(umask)
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o666 & ~umask}
    assert {stat.S_IMODE(p.parent.stat().st_mode) for p in files} == {0o777 & ~umask}
    assert spark.read.parquet(str(out)).count() == 6
    # The mode bits themselves (the part that replaced `chmod`), through the same file system.
    path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(str(files[0]))
    perm = spark.sparkContext._jvm.org.apache.hadoop.fs.permission.FsPermission.createImmutable(0o640)
    fs.setPermission(path, perm)
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o640
