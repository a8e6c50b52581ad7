"""The Spark session and the Kafka source, set up for one machine or a cluster alike.

``create_spark_session`` attaches the Spark-Kafka connector as local jars
(``spark.jars``, resolved by ``make jars``), so nothing is downloaded through
Ivy at run time.  Pointing ``SPARK_MASTER`` at a ``spark://`` or ``k8s://`` URL
changes nothing else: Spark ships those jars to the executors itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .core import jvm
from .core.errors import BrokerError
from .core.kafka import broker_answers
from .core.settings import Location, Settings, get_settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

__all__ = ["create_spark_session", "planned_with_aqe", "read_kafka_stream", "read_kafka_batch", "spark_log_file",
           "stop_spark"]


def _log4j_conf() -> str:
    return str(resources.files("etl_lib") / "conf" / "log4j2-spark.properties")


@contextlib.contextmanager
def _jvm_output_to(path: Path) -> Iterator[None]:
    """Point file descriptors 1 and 2 at ``path`` while the Spark JVM is launched.

    The JVM inherits them for its whole life, so its start-up banner, warnings
    and log lines land in that file instead of a terminal or a notebook cell.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = (os.dup(1), os.dup(2))
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)


def spark_log_file(settings: Settings) -> Path:
    """Where the Spark driver JVM writes its output and log (``DATA_DIR/logs/spark-driver.log``)."""
    return settings.data_dir / "logs" / "spark-driver.log"


def create_spark_session(settings: Settings | None = None, app_name: str | None = None) -> "SparkSession":
    """A SparkSession with the Kafka connector, UTC time, few shuffle partitions and quiet logs.

    The driver JVM's own output goes to :func:`spark_log_file`; errors reach
    Python as exceptions, so nothing is lost by keeping it off the screen.

    Usage (starts a JVM, so not a doctest)::

        spark = create_spark_session()
        spark.conf.get("spark.sql.session.timeZone")   # 'UTC'
    """
    settings = settings or get_settings()
    java_major = jvm.java_version()  # a clear message now beats a Py4J error later
    # Python code that runs inside a query (a pandas UDF, transformWithStateInPandas) runs in Python workers;
    # without this they start the first `python3` on the PATH, which may lack pandas and pyarrow.  A
    # PYSPARK_PYTHON the user set (say for a cluster whose Python lives elsewhere) is kept.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    jars = jvm.connector_jars()
    from pyspark.sql import SparkSession

    java_opts = f"-Duser.timezone=UTC -Dlog4j2.configurationFile=file:{_log4j_conf()}"
    driver_opts = java_opts
    if java_major <= 21:
        # Without Hadoop's native library, every file Spark creates on a local disk gets its permissions
        # set by a `chmod` child process; vfork starts one without copying the page tables of a JVM of
        # several GB.  (Deprecated after Java 21, so only asked for up to there.)
        driver_opts += " -Djdk.lang.Process.launchMechanism=VFORK"
    if settings.spark_driver_java_options:
        driver_opts += " " + settings.spark_driver_java_options
    builder = (
        SparkSession.builder
        .master(settings.spark_master)
        .appName(app_name or settings.spark_app_name)
        .config("spark.jars", ",".join(jars))
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.driver.extraJavaOptions", driver_opts)
        .config("spark.executor.extraJavaOptions", java_opts)
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        # AQE as in the seed: it acts on batch queries (reports over the Parquet); Spark disables it for streaming
        # queries and logs a warning saying so (notebook 07 shows both).
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.adaptive.coalescePartitions.enabled", "true")
        .config("spark.sql.warehouse.dir", str(settings.data_dir / "spark-warehouse"))
        .config("spark.sql.streaming.forceDeleteTempCheckpointLocation", "true")
        .config("spark.ui.enabled", "true" if settings.spark_ui_enabled else "false")
        .config("spark.ui.port", str(settings.spark_ui_port))
        .config("spark.ui.showConsoleProgress", "false")
    )
    if _writes_only_local_files(settings):
        # Checkpoint and sink logs are written to a temporary file and renamed into place.  Through Hadoop's
        # FileContext (Spark's default) each rename on a local disk first runs `readlink` in a child process;
        # the FileSystem API renames with one system call, just as atomically on a local disk.  A fifth of the
        # ETL's wall time on a laptop; remote stores (s3a://, hdfs://) keep Spark's default.
        builder = builder.config("spark.sql.streaming.checkpointFileManagerClass", LOCAL_CHECKPOINT_FILE_MANAGER)
        local_fs = jvm.local_fs_jar()
        if local_fs and _on_this_machine(settings.spark_master):
            # Without Hadoop's native library, each file and folder Spark creates gets its permissions from a
            # `chmod` child process (two per Parquet file, with its .crc): a year of hourly partitions is tens of
            # thousands of them.  The kit's file system sets the same permissions with Java's NIO (same files,
            # same checksums).  Its jar must be on the JVM's class path, so only where the executors share
            # this machine's disk: local mode or the practice cluster.
            builder = (builder.config("spark.hadoop.fs.file.impl", jvm.LOCAL_FS_CLASS)
                       .config("spark.driver.extraClassPath", local_fs)
                       .config("spark.executor.extraClassPath", local_fs))
    if _on_this_machine(settings.spark_master):
        # One machine (local mode, or the practice cluster on loopback): keep the driver on loopback too,
        # so executors reach it without a hostname lookup and nothing is exposed.
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    from pyspark import SparkContext

    if SparkContext._active_spark_context is None:
        with _jvm_output_to(spark_log_file(settings)):
            spark = builder.getOrCreate()
    else:
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


LOCAL_CHECKPOINT_FILE_MANAGER = (
    "org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager")


def _on_this_machine(master: str) -> bool:
    """Local mode, or a Spark master on loopback (the practice cluster): driver and executors share this machine."""
    return master.startswith("local") or bool(re.match(r"^spark://(127\.0\.0\.1|localhost)[:/]", master))


def _writes_only_local_files(settings: Settings) -> bool:
    """True when every folder Spark's streaming queries write (outputs, logs, checkpoints) is on this machine."""
    folders = (settings.output_base_path, settings.quarantine_path, settings.silver_path,
               settings.analytics_output_path, settings.checkpoint_base_path, settings.analytics_checkpoint_path)
    return not any(isinstance(f, Location) for f in folders)


def _require_broker(settings: Settings) -> None:
    if not broker_answers(settings.kafka_bootstrap_servers, settings=settings):
        raise BrokerError(
            f"No Kafka broker answers at KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers!r}. "
            "Start the local one with `python -m etl_lib.kafka_local start` (or `docker compose up -d kafka`), "
            "or point KAFKA_BOOTSTRAP_SERVERS at a running broker."
        )


def read_kafka_stream(
    spark: "SparkSession",
    topic: str,
    settings: Settings | None = None,
    starting_offsets: str | None = None,
    max_offsets_per_trigger: int | None = None,
) -> "DataFrame":
    """A streaming DataFrame of the raw Kafka records of ``topic``.

    Columns: key, value (binary), topic, partition, offset, timestamp,
    timestampType.  Where to start and whether lost data stops the query come
    from ``KAFKA_STARTING_OFFSETS`` and ``KAFKA_FAIL_ON_DATA_LOSS``; they only
    matter for a new checkpoint: a restarted query resumes from its checkpoint.
    ``max_offsets_per_trigger`` caps the records one micro-batch reads (the ETL
    passes ``KAFKA_MAX_OFFSETS_PER_TRIGGER``), so a backlog is read in several
    batches.
    """
    settings = settings or get_settings()
    _require_broker(settings)
    reader = (
        spark.readStream
        .format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap_servers)
        .options(**settings.spark_kafka_options())
        .option("subscribe", topic)
        .option("startingOffsets", starting_offsets or settings.kafka_starting_offsets)
        .option("failOnDataLoss", "true" if settings.kafka_fail_on_data_loss else "false")
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return reader.load()


def read_kafka_batch(spark: "SparkSession", topic: str, settings: Settings | None = None) -> "DataFrame":
    """Everything ``topic`` holds now, as a batch DataFrame (same columns as the stream)."""
    settings = settings or get_settings()
    _require_broker(settings)
    return (
        spark.read
        .format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap_servers)
        .options(**settings.spark_kafka_options())
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("endingOffsets", "latest")
        .load()
    )


def planned_with_aqe(query: "StreamingQuery") -> bool:
    """Whether the query's last micro-batch ran under adaptive query execution (an ``AdaptiveSparkPlan`` root).

    Since release 4.1, ``spark.sql.adaptive.streaming.stateless.enabled`` (on by
    default) lets AQE plan each micro-batch of a *stateless* query; a stateful
    one (aggregation, deduplication, join) is always planned without it,
    because its state is partitioned by the shuffle AQE would change.
    """
    # pyspark's query.explain() prints the plan; the string behind it is read here instead.
    return "AdaptiveSparkPlan" in query._jsq.explainInternal(False)


def stop_spark(spark: "SparkSession", timeout: float = 60.0) -> None:
    """Stop Spark *and* wait until its JVM has exited, so no JVM is left behind.

    ``spark.stop()`` alone returns while the driver JVM is still shutting down;
    a program that then exits can leave it running for a while.  The JVM that
    pyspark launched exits when its standard input closes; this closes it and
    waits.  A later :func:`create_spark_session` starts a fresh JVM.
    """
    import subprocess

    from pyspark import SparkContext

    spark.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = getattr(gateway, "proc", None)
    with contextlib.suppress(Exception):
        gateway.shutdown()
    if proc is not None:
        with contextlib.suppress(Exception):
            proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    SparkContext._gateway = None
    SparkContext._jvm = None
