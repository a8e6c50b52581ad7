"""Streaming sinks: raw Parquet partitioned by year/month/date/hour, quarantine, and analytics.

Each stream gets its own checkpoint folder, which is what makes the Parquet
file sink exactly-once: a restarted query reads its checkpoint, skips the
micro-batches it already committed and resumes from the Kafka offsets it
recorded.  ``available_now=True`` processes what Kafka holds at start and then
stops (notebooks, tests, batch runs); otherwise the query runs every
``BATCH_INTERVAL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .core.kinds import KINDS
from .core.settings import Location, Settings, get_settings
from .parsing import PARTITION_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery
    from pyspark.sql.types import StructType

__all__ = ["write_raw_streams", "read_table_stream", "RAW_QUERY", "EVENTS", "write_parquet_stream",
           "write_quarantine_stream", "write_silver_stream", "write_analytics_stream", "TOPIC_FOLDERS",
           "one_file_per_partition", "count_rows"]

# The seed's folder names under OUTPUT_BASE_PATH (and QUARANTINE_PATH), by record kind: etl_lib.core.kinds.
TOPIC_FOLDERS = {k.id: k.folder for k in KINDS}

# ``available_now=FOLLOW``: a later layer's query in an available-now run.  It cannot be available-now itself (it
# would read what the layer before had written when it started, and stop), so it runs a trigger every
# FOLLOW_INTERVAL beside the layer it reads, and the orchestrator stops it once it has processed everything that
# layer wrote (etl_lib.main.EtlRun.drain_next).
FOLLOW = "follow"
FOLLOW_INTERVAL = "500 milliseconds"


def _start(df: "DataFrame", path: Path, checkpoint: Path, name: str, settings: Settings, available_now: bool,
           partition_by: tuple[str, ...] = (), output_mode: str = "append") -> "StreamingQuery":
    writer = (
        df.writeStream
        .format("parquet")
        .option("path", str(path))
        .option("checkpointLocation", str(checkpoint))
        .outputMode(output_mode)
        .queryName(name)
    )
    if partition_by:
        writer = writer.partitionBy(*partition_by)
    return _trigger(writer, available_now, settings).start()


def _trigger(writer, available_now: "bool | str", settings: Settings):
    if available_now == FOLLOW:
        return writer.trigger(processingTime=FOLLOW_INTERVAL)
    if available_now:
        return writer.trigger(availableNow=True)
    return writer.trigger(processingTime=settings.batch_interval)


def one_file_per_partition(df: "DataFrame") -> "DataFrame":
    """Gather each year/month/date/hour into one task, so each micro-batch writes one file per hour.

    Without it every Kafka partition's task writes its own small file into every
    hour it touches (3 partitions x 168 hours = 504 files for a week): the
    "small files problem", slow to write and slower to read.
    """
    from pyspark.sql import functions as F

    return df.repartition(*[F.col(c) for c in PARTITION_COLUMNS])


def write_parquet_stream(df: "DataFrame", subfolder: str, settings: Settings | None = None,
                         available_now: bool = False) -> "StreamingQuery":
    """Parsed records to ``OUTPUT_BASE_PATH/<subfolder>``, partitioned by year/month/date/hour, append mode.

    Usage (needs Spark and a broker, so not a doctest)::

        q = write_parquet_stream(parse_bike_stream(raw), "bike_trips", available_now=True)
        q.awaitTermination()
    """
    s = settings or get_settings()
    return _start(one_file_per_partition(df), s.output_base_path / subfolder, s.checkpoint_base_path / subfolder,
                  f"raw_{subfolder}", s, available_now, partition_by=PARTITION_COLUMNS)


def write_quarantine_stream(df: "DataFrame", subfolder: str, settings: Settings | None = None,
                            available_now: bool = False) -> "StreamingQuery":
    """Rejected records to ``QUARANTINE_PATH/<subfolder>``, partitioned by the day they arrived."""
    s = settings or get_settings()
    return _start(df, s.quarantine_path / subfolder, s.checkpoint_base_path / f"quarantine_{subfolder}",
                  f"quarantine_{subfolder}", s, available_now, partition_by=("ingest_date",))


def ensure_folder(spark: "SparkSession", path) -> None:
    """Create a folder a file source will watch (it needs the folder before the query that fills it writes):
    on this machine directly, on s3a:// or hdfs:// through Spark's own file system."""
    if isinstance(path, Location):
        jvm = spark.sparkContext._jvm
        hpath = jvm.org.apache.hadoop.fs.Path(str(path))
        hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).mkdirs(hpath)
    else:
        path.mkdir(parents=True, exist_ok=True)


def _file_sink(spark: "SparkSession", path: Path, partition_by: tuple[str, ...]):
    """Spark's own Parquet file sink (the class a ``writeStream.format("parquet")`` query writes through), for
    one output of a ``foreachBatch`` query: its ``addBatch`` writes a micro-batch's files and then records them
    in ``<path>/_spark_metadata/<batch id>``, and skips a batch id the log already holds."""
    jvm = spark._jvm
    columns = jvm.java.util.ArrayList()
    for c in partition_by:
        columns.add(c)
    utils = jvm.org.apache.spark.api.python.PythonUtils
    return jvm.org.apache.spark.sql.execution.streaming.sinks.FileStreamSink(
        spark._jsparkSession, str(path), jvm.org.apache.spark.sql.execution.datasources.parquet.ParquetFileFormat(),
        utils.toSeq(columns), utils.toScalaMap(jvm.java.util.HashMap()))


# The raw query's name: one query reads the four topics (the seed's raw_<folder> streams are its outputs).
RAW_QUERY = "raw_topics"
# The table of events (every valid record of the four topics in one schema: etl_lib.analytics.kind_events), by the
# name it has in two layers: OUTPUT_BASE_PATH/events (bronze: as they arrived, duplicates too) and
# SILVER_PATH/events (each event once).
EVENTS = "events"


def _refuse_older_layout(s: Settings) -> None:
    """An older kit wrote each topic's raw table and quarantine with queries of their own, whose batch numbers are
    not the raw query's: continuing their logs from the raw query's numbers could skip records."""
    from .core.errors import KitError

    for kind in KINDS:
        for name in (kind.folder, f"quarantine_{kind.folder}"):
            old = s.checkpoint_base_path / name
            if not isinstance(old, Location) and old.exists():  # a cluster's storage: not checked from here
                raise KitError(
                    f"{old} is the checkpoint of a query an older version of the kit ran (a raw or quarantine query "
                    f"per topic); this one reads the four topics in one query ({RAW_QUERY}). Delete the ETL's "
                    f"outputs and checkpoints ({s.output_base_path}, {s.quarantine_path}, {s.checkpoint_base_path}, "
                    f"{s.silver_path}, {s.analytics_output_path}, {s.analytics_checkpoint_path}) and run again: the "
                    "ETL rebuilds them from Kafka.")


def write_raw_streams(raw: "DataFrame", settings: Settings | None = None,
                      available_now: bool = False) -> "StreamingQuery":
    """The bronze layer: one query reads the four topics (``raw``: a Kafka stream subscribed to all four), parses
    each record once and writes each topic's raw table and quarantine, and the events of all four in one table.

    Each micro-batch's Kafka rows are kept in memory for the batch, and each topic's records are parsed once
    (:func:`etl_lib.parsing.checked_records`).  The valid ones go to ``OUTPUT_BASE_PATH/<folder>``
    (year/month/date/hour, one file per hour) and, in the common event schema, to ``OUTPUT_BASE_PATH/events``;
    the rejected ones to ``QUARANTINE_PATH/<folder>`` (by the day they arrived).  Each of the nine outputs is
    written through Spark's own Parquet file sink with its commit log, so each is exactly-once as a one-sink
    query is: a batch redone after a crash is skipped by an output whose log holds it and written by one whose
    log does not.  The folders are what a Parquet query writes, so Spark's readers and the file streams of the
    later layers see committed batches only.  The events table gets a whole Kafka micro-batch of all four topics
    in one commit, as one query reading the topics would see them: what the silver events query needs to keep
    one watermark over every kind.  The outputs are written one after another: side by side, in threads of
    their own, the nine writes took longer (bench/etl_scaling.py, issue 40's note).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from . import parsing
    from .analytics import kind_events

    s = settings or get_settings()
    _refuse_older_layout(s)
    spark = raw.sparkSession
    sinks: dict = {}

    def write_batch(batch: "DataFrame", batch_id: int) -> None:
        if not sinks:  # in the driver, at the first batch: the sinks read their logs then
            for kind in KINDS:
                sinks[kind.id] = (_file_sink(spark, s.output_base_path / kind.folder, PARTITION_COLUMNS),
                                  _file_sink(spark, s.quarantine_path / kind.folder, ("ingest_date",)))
            sinks[EVENTS] = _file_sink(spark, s.output_base_path / EVENTS, ())
        rows = batch.persist(StorageLevel.MEMORY_AND_DISK)
        checked = {k.id: parsing.checked_records(rows.where(F.col("topic") == s.kafka_topics[k.id]), k.id, s)
                   .persist(StorageLevel.MEMORY_AND_DISK) for k in KINDS}
        try:
            valid = {t: parsing.valid_records(c, t) for t, c in checked.items()}
            for t, c in checked.items():
                sinks[t][0].addBatch(batch_id, one_file_per_partition(valid[t])._jdf)
                sinks[t][1].addBatch(batch_id, parsing.rejected_records(c)._jdf)
            events = None
            for t, df in valid.items():
                part = kind_events(df, t)
                events = part if events is None else events.unionByName(part)
            sinks[EVENTS].addBatch(batch_id, events.coalesce(2)._jdf)
        finally:
            for c in checked.values():
                c.unpersist()
            rows.unpersist()

    writer = (raw.writeStream.foreachBatch(write_batch)
              .option("checkpointLocation", str(s.checkpoint_base_path / RAW_QUERY)).queryName(RAW_QUERY))
    return _trigger(writer, available_now, s).start()


def read_table_stream(spark: "SparkSession", path, schema: "StructType") -> "DataFrame":
    """A Parquet table another query writes, as a stream (Spark's file source): how the later layers read the
    earlier ones instead of Kafka.  Over a folder a file sink writes, the source reads the sink's commit log,
    not the folder, so it sees each committed batch's files once and never a killed batch's orphans; the folder
    is created first, since the source needs it before the query that fills it has written."""
    ensure_folder(spark, path)
    return spark.readStream.schema(schema).parquet(str(path))


def write_silver_stream(df: "DataFrame", table: str, settings: Settings | None = None,
                        available_now: bool | str = False) -> "StreamingQuery":
    """A silver table (cleaned, deduplicated, windowed data other queries build on) to ``SILVER_PATH/<table>``.

    Append mode, like every Parquet sink: each window is written once, final.
    """
    s = settings or get_settings()
    return _start(df, s.silver_path / table, s.analytics_checkpoint_path / f"silver_{table}", f"silver_{table}", s,
                  available_now)


def write_analytics_stream(df: "DataFrame", subfolder: str, output_mode: str = "append",
                           settings: Settings | None = None, available_now: bool | str = False) -> "StreamingQuery":
    """An analytics result to ``ANALYTICS_OUTPUT_PATH/<subfolder>`` with its own checkpoint.

    The Parquet sink only supports append mode: a window's row is written once,
    when the watermark has passed its end and the row can no longer change.
    """
    s = settings or get_settings()
    if output_mode != "append":
        raise ValueError(f"the Parquet sink supports only output_mode='append', not {output_mode!r}")
    return _start(df, s.analytics_output_path / subfolder, s.analytics_checkpoint_path / subfolder, subfolder, s,
                  available_now, output_mode=output_mode)


def run_once(df: "DataFrame", folder: str, settings: Settings | None = None,
             output_mode: str = "append") -> "StreamingQuery":
    """A lesson's scratch query, start to end: ``df`` to Parquet in ``DATA_DIR/folder``, available-now, waited for.

    The chain lesson 07 writes by hand (sink, path, checkpoint in
    ``DATA_DIR/checkpoints/folder``, output mode, trigger), as one call; run it
    again with the same ``folder`` and it continues from its checkpoint.
    Returns the finished query, whose ``recentProgress`` tells what it read.
    """
    s = settings or get_settings()
    query = _start(df, s.data_dir / folder, s.data_dir / "checkpoints" / folder, folder, s, available_now=True,
                   output_mode=output_mode)
    query.awaitTermination()
    return query


def count_rows(spark: "SparkSession", path: Path | str) -> int:
    """Rows a Parquet sink holds: 0 when it has written nothing yet (Spark cannot read an empty folder).

    Reading through Spark honours the sink's ``_spark_metadata`` log, so files of
    a failed, uncommitted batch are not counted.
    """
    path = Path(path)
    if not path.exists() or not any(path.rglob("*.parquet")):
        return 0
    return spark.read.parquet(str(path)).count()
