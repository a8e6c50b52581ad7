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
from .core.settings import Settings, get_settings
from .parsing import PARTITION_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

__all__ = ["write_parquet_stream", "write_quarantine_stream", "write_silver_stream", "write_analytics_stream", "TOPIC_FOLDERS",
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
