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

__all__ = ["write_raw_streams", "read_raw_table_stream", "RAW_QUERY", "WRITE_ORDER", "write_parquet_stream", "write_quarantine_stream", "write_silver_stream", "write_analytics_stream", "TOPIC_FOLDERS",
           "one_file_per_partition", "count_rows"]

# The seed's folder names under OUTPUT_BASE_PATH (and QUARANTINE_PATH), by record kind: etl_lib.core.kinds.
TOPIC_FOLDERS = {k.id: k.folder for k in KINDS}


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
    if available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=settings.batch_interval)
    return writer.start()


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
# The order in which the raw query writes each batch's tables: a table written later is never ahead of one
# written earlier, so the silver windows and the analytics take their watermark from the last one they read.
WRITE_ORDER = ("accidents", "bike", "taxi", "weather")


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
    each record once and writes each topic's raw table and quarantine.

    Each micro-batch's Kafka rows are kept in memory for the batch; each topic's records are parsed once
    (:func:`etl_lib.parsing.checked_records`); the valid ones go to ``OUTPUT_BASE_PATH/<folder>``
    (year/month/date/hour, one file per hour), the rejected ones to ``QUARANTINE_PATH/<folder>`` (by the day they
    arrived).  Each of the eight outputs is written through Spark's own Parquet file sink with its commit log, so
    each is exactly-once as a one-sink query is: a batch redone after a crash is skipped by an output whose log
    holds it and written by one whose log does not.  The folders are what a Parquet query writes, so Spark's
    readers and the file streams of the later layers (:func:`read_raw_table_stream`) see committed batches only.
    The tables are written in :data:`WRITE_ORDER`, weather last.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from . import parsing
    from .core.kinds import by_id

    s = settings or get_settings()
    _refuse_older_layout(s)
    spark = raw.sparkSession
    sinks: dict = {}

    def write_batch(batch: "DataFrame", batch_id: int) -> None:
        if not sinks:  # in the driver, at the first batch: the sinks read their logs then
            for t in WRITE_ORDER:
                folder = by_id(t).folder
                sinks[t] = (_file_sink(spark, s.output_base_path / folder, PARTITION_COLUMNS),
                            _file_sink(spark, s.quarantine_path / folder, ("ingest_date",)))
        rows = batch.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            for t in WRITE_ORDER:
                raw_sink, quarantine_sink = sinks[t]
                checked = parsing.checked_records(rows.where(F.col("topic") == s.kafka_topics[t]), t, s)
                checked = checked.persist(StorageLevel.MEMORY_AND_DISK)
                try:
                    raw_sink.addBatch(batch_id, one_file_per_partition(parsing.valid_records(checked, t))._jdf)
                    quarantine_sink.addBatch(batch_id, parsing.rejected_records(checked)._jdf)
                finally:
                    checked.unpersist()
        finally:
            rows.unpersist()

    writer = (raw.writeStream.foreachBatch(write_batch)
              .option("checkpointLocation", str(s.checkpoint_base_path / RAW_QUERY)).queryName(RAW_QUERY))
    writer = writer.trigger(availableNow=True) if available_now else writer.trigger(processingTime=s.batch_interval)
    return writer.start()


def read_raw_table_stream(spark: "SparkSession", kind_id: str, schema, settings: Settings | None = None,
                          watermark: bool = False) -> "DataFrame":
    """A topic's raw Parquet table as a stream (Spark's file source): what the silver windows and the analytics
    read instead of Kafka.  Over a folder a file sink writes, the source reads the sink's commit log, not the
    folder, so it sees each committed batch's files once and never a killed batch's orphans.

    ``schema``: the valid records' schema (:func:`etl_lib.parsing.parse_stream`'s), in any order; the
    partition columns come from the folder names and are put last, as the source returns them.
    ``watermark``: give it the event-time watermark (``WATERMARK_DELAY`` on ``event_time``).  A query over
    several tables gives it only to the one written last in :data:`WRITE_ORDER`: every other table is then at
    least as far on, so none of their records is late because another table ran ahead.
    """
    from pyspark.sql import types as T

    from .core.kinds import by_id

    s = settings or get_settings()
    path = s.output_base_path / by_id(kind_id).folder
    ensure_folder(spark, path)
    fields = [f for f in schema.fields if f.name not in PARTITION_COLUMNS]
    fields += [schema[c] for c in PARTITION_COLUMNS]
    df = spark.readStream.schema(T.StructType(fields)).parquet(str(path))
    return df.withWatermark("event_time", s.watermark_delay) if watermark else df


def write_silver_stream(df: "DataFrame", table: str, settings: Settings | None = None,
                        available_now: bool = False) -> "StreamingQuery":
    """A silver table (cleaned, deduplicated, windowed data other queries build on) to ``SILVER_PATH/<table>``.

    Append mode, like every Parquet sink: each window is written once, final.
    """
    s = settings or get_settings()
    return _start(df, s.silver_path / table, s.analytics_checkpoint_path / f"silver_{table}", f"silver_{table}", s,
                  available_now)


def write_analytics_stream(df: "DataFrame", subfolder: str, output_mode: str = "append",
                           settings: Settings | None = None, available_now: bool = False) -> "StreamingQuery":
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
