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
import socket
import sys
import urllib.parse
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .core import jvm
from .core.errors import BrokerError, ClusterError, ConfigError, KitError
from .core.kafka import broker_answers, no_broker_message, spark_kafka_options
from .core.settings import QUICK_START_JVM_OPTIONS, Location, Settings, get_settings

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
    A ``spark://`` or ``k8s://`` master that is not there, and a driver JVM
    that will not start, raise a :class:`KitError` naming the setting at fault.

    Usage (starts a JVM, so not a doctest)::

        spark = create_spark_session()
        spark.conf.get("spark.sql.session.timeZone")   # 'UTC'
    """
    from pyspark import SparkContext

    settings = settings or get_settings()
    if SparkContext._active_spark_context is None:
        _require_master(settings)  # a cluster that cannot be there is named before any JVM starts
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
        # Parquet timestamps as INT64 microseconds (Spark's default is the legacy INT96): pyarrow and pandas read
        # INT96 as nanoseconds, which wraps every time outside 1677-2262 (year 1 came back as 1754).
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        # AQE as in the seed: it plans batch queries (reports over the Parquet) and, since Spark 4.1, stateless
        # streaming queries; never stateful ones (notebook 07 shows both).
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
    from pyspark.errors import PySparkRuntimeError

    if SparkContext._active_spark_context is None:
        log = spark_log_file(settings)
        _make_log_folder(settings, log)
        # The log is appended to by every start: only what this start writes can say why it failed.
        start = log.stat().st_size if log.exists() else 0
        try:
            with _jvm_output_to(log):
                spark = builder.getOrCreate()
        except PySparkRuntimeError as err:
            if err.getCondition() != "JAVA_GATEWAY_EXITED":
                raise
            raise _jvm_start_error(settings, _read_from(log, start), log, java_major) from None
    else:
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


LOCAL_CHECKPOINT_FILE_MANAGER = (
    "org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager")


def _master_endpoints(master: str) -> list[tuple[str, int]]:
    """(host, port) of each master a ``spark://`` or ``k8s://`` URL names; empty for local mode and yarn.

    >>> _master_endpoints("spark://m1:7077,m2:7078")
    [('m1', 7077), ('m2', 7078)]
    >>> _master_endpoints("k8s://https://api.example:6443"), _master_endpoints("k8s://api.example")
    ([('api.example', 6443)], [('api.example', 443)])
    >>> _master_endpoints("local[4]")
    []
    """
    out: list[tuple[str, int]] = []
    if master.startswith("spark://"):
        # A standalone master with standbys lists them all: spark://m1:7077,m2:7077
        for item in master[len("spark://"):].rstrip("/").split(","):
            host, _, port = item.strip().rpartition(":")
            if host and port.isdigit():  # an item without a port is left for Spark to judge
                out.append((host.strip("[]"), int(port)))
    elif master.startswith("k8s://"):
        # Spark reads k8s://host:port as https (Utils.checkAndGetK8sMasterUrl adds the scheme).
        rest = master[len("k8s://"):]
        url = urllib.parse.urlsplit(rest if "://" in rest else "https://" + rest)
        if url.hostname:
            out.append((url.hostname, url.port or (80 if url.scheme == "http" else 443)))
    return out


def _require_master(settings: Settings, timeout: float = 3.0) -> None:
    """Refuse a ``spark://`` or ``k8s://`` SPARK_MASTER whose host is unknown or does not answer, before a JVM starts.

    Spark itself retries an unreachable master for about a minute and then
    ends in a long Py4J stack trace, with the cause only in the driver log.
    One answering master is enough (the others of a list may be standbys).
    """
    master = settings.spark_master
    endpoints = _master_endpoints(master)
    problems: list[str] = []
    unknown = 0
    for host, port in endpoints:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except socket.gaierror:
            unknown += 1
            problems.append(f"the host {host!r} is not known here (its name resolves to no address)")
        except OSError as err:
            why = err.strerror or f"no answer within {timeout:.0f} s"
            problems.append(f"nothing answers at {host}:{port} ({why})")
    if not problems:
        return
    if master.startswith("k8s://"):
        fix = ("check the API server's address (`kubectl cluster-info` prints it), or run Spark in this process: "
               "SPARK_MASTER=local[4].")
    else:
        fix = ("start the practice cluster with `python -m etl_lib cluster up` (its master is "
               f"spark://127.0.0.1:{settings.cluster_spark_port}), correct the address, or run Spark in this "
               "process: SPARK_MASTER=local[4].")
    kind = ConfigError if unknown == len(problems) else ClusterError
    raise kind(f"SPARK_MASTER={master!r}: {'; '.join(problems)}, so Spark cannot start there. Fix: {fix}")


def _make_log_folder(settings: Settings, log: Path) -> None:
    """Create the driver log's folder, naming DATA_DIR when the disk refuses.

    The settings' own check sees a file or a read-only folder; a folder that
    only refuses when asked (``/proc``, a full disk) shows here, at the first
    write under DATA_DIR.
    """
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"DATA_DIR={str(settings.data_dir)!r} cannot be written: making {str(log.parent)!r} "
                          f"failed ({err.strerror}). The kit writes its logs and outputs under DATA_DIR: point it at "
                          "a folder you can write, e.g. DATA_DIR=~/etl-kit-data.") from None


def _read_from(path: Path, offset: int, limit: int = 65536) -> str:
    """At most ``limit`` bytes of ``path`` from ``offset`` on, as text ('' when the file is missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


# Lines the JVM or spark-submit print around the reason, never the reason itself.
_JVM_BOILERPLATE = ("Error occurred during initialization of VM", "Error: Could not create the Java Virtual Machine",
                    "Error: A fatal exception has occurred", "WARNING:", "Picked up ")
# The JVM's words for an option value it will not start with (OpenJDK 17, `java -Xss1k -version` and the like).
# An unknown option never stops it here: Spark's launcher adds -XX:+IgnoreUnrecognizedVMOptions
# (JavaModuleOptions), so -XX:+NoSuchOption or -Xfoo are skipped without a word.
_JVM_OPTION_WORDS = re.compile(r"Improperly specified VM option|outside the allowed range|Missing \+/- setting|"
                               r"garbage collectors|stack size|Metaspace", re.IGNORECASE)
_HEAP_OPTIONS = re.compile(r"(^|\s)(-Xm[sxn]\S*|-XX:\S*Heap\S*)")


def _jvm_start_error(settings: Settings, output: str, log: Path, java_major: int) -> KitError:
    """The error for a driver JVM that exited before Spark started: the setting at fault, Java's reason, the fix.

    ``output`` is what the failed start wrote to the driver log.  Java prints
    its reason first (after "Error occurred during initialization of VM");
    spark-submit prints its own refusals as ``Error: ...`` before its usage text.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    said = next((line for line in lines if not line.startswith(_JVM_BOILERPLATE)), None)
    memory, options = settings.spark_driver_memory, settings.spark_driver_java_options
    if said is not None:
        said = re.sub(r"\s*\(was .*?\)", "", said.removeprefix("Error: "))[:300]
    who = "Spark's launcher" if said and "java options" in said else f"Java {java_major}"
    reason = f"The Spark driver JVM did not start. {who} said: {said}" if said else \
        f"The Spark driver JVM exited before it started, without a reason in {log}."
    if said and "Not allowed to specify max heap" in said:
        return ConfigError(f"{reason}\nSPARK_DRIVER_JAVA_OPTIONS={options!r} sets the heap (-Xmx), which Spark takes "
                           f"only from spark.driver.memory: remove it there and set SPARK_DRIVER_MEMORY instead "
                           f"(now {memory!r}; e.g. SPARK_DRIVER_MEMORY=2g).")
    if said and "heap" in said.lower():
        also = (f" and SPARK_DRIVER_JAVA_OPTIONS={options!r} sets heap sizes too (remove them there)"
                if _HEAP_OPTIONS.search(options) else "")
        return ConfigError(f"{reason}\nSPARK_DRIVER_MEMORY={memory!r} is the driver's heap (-Xmx{memory}){also}: "
                           "use a size Java accepts and this machine can give, e.g. SPARK_DRIVER_MEMORY=2g "
                           "(the default; `free -h` shows the memory).")
    if said and _JVM_OPTION_WORDS.search(said) and options:
        return ConfigError(f"{reason}\nSPARK_DRIVER_JAVA_OPTIONS={options!r} holds an option (or a mix of "
                           "options) this Java will not start with: correct or remove it (empty is fine; the kit's default is "
                           f"{QUICK_START_JVM_OPTIONS!r}).")
    return KitError(f"{reason}\nIts settings: SPARK_DRIVER_MEMORY={memory!r}, SPARK_DRIVER_JAVA_OPTIONS={options!r}, "
                    f"SPARK_MASTER={settings.spark_master!r}. The whole output is in {log}; "
                    "`python -m etl_lib doctor` checks Java and the jars.")


def _on_this_machine(master: str) -> bool:
    """Local mode, or a Spark master on loopback (the practice cluster): driver and executors share this machine."""
    return master.startswith("local") or bool(re.match(r"^spark://(127\.0\.0\.1|localhost)[:/]", master))


def _writes_only_local_files(settings: Settings) -> bool:
    """True when every folder Spark's streaming queries write (outputs, logs, checkpoints) is on this machine."""
    folders = (settings.output_base_path, settings.quarantine_path, settings.silver_path,
               settings.analytics_output_path, settings.checkpoint_base_path, settings.analytics_checkpoint_path)
    return not any(isinstance(f, Location) for f in folders)


def _require_broker(settings: Settings) -> None:
    if not broker_answers(settings):
        raise BrokerError(no_broker_message(settings.kafka_bootstrap_servers))


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
    One micro-batch reads at most ``KAFKA_MAX_OFFSETS_PER_TRIGGER`` records (or
    ``max_offsets_per_trigger``, where a lesson wants smaller batches), so a
    backlog is read in several batches.  ``max_offsets_per_trigger=0`` sets no
    cap: a query in real-time mode needs that, since Spark 4.2 refuses the
    option there ("maxOffsetsPerTrigger is not compatible with real time
    mode"; lesson 14 shows it).
    """
    settings = settings or get_settings()
    _require_broker(settings)
    reader = (
        spark.readStream
        .format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap_servers)
        .options(**spark_kafka_options(settings))
        .option("subscribe", topic)
        .option("startingOffsets", starting_offsets or settings.kafka_starting_offsets)
        .option("failOnDataLoss", "true" if settings.kafka_fail_on_data_loss else "false")
    )
    cap = settings.kafka_max_offsets_per_trigger if max_offsets_per_trigger is None else max_offsets_per_trigger
    if cap:
        reader = reader.option("maxOffsetsPerTrigger", str(cap))
    return reader.load()


def read_kafka_batch(spark: "SparkSession", topic: str, settings: Settings | None = None) -> "DataFrame":
    """Everything ``topic`` holds now, as a batch DataFrame (same columns as the stream)."""
    settings = settings or get_settings()
    _require_broker(settings)
    return (
        spark.read
        .format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap_servers)
        .options(**spark_kafka_options(settings))
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
