"""Inside a stateful query: the state Spark keeps, read back, and the tools of lessons 13 and 14.

A windowed count, a stream–stream join, a deduplication and a ``transformWithStateInPandas`` processor all keep
rows in a **state store**, one per operator and shuffle partition, saved in the checkpoint under
``state/<operator>/<partition>``.  Spark 4 reads that state back as a table:

- ``spark.read.format("state-metadata").load(checkpoint)``: one row per stateful operator (its name, partitions,
  the batches whose state is kept);
- ``spark.read.format("statestore").load(checkpoint)``: the key/value rows an operator held after a batch
  (``batchId``; the last one by default), one side of a join (``joinSide``), one variable of a
  ``transformWithState`` processor (``stateVarName``), or with ``readChangeFeed`` the rows each batch
  added, updated and deleted.

This module wraps what the lesson and its tests use more than once: choosing the provider (the default keeps
state in JVM maps and writes a delta file per batch; RocksDB keeps it off the heap and, with changelog
checkpointing, writes only the changed keys), counting a checkpoint's files, forgetting a batch's commit to
replay the moment between a sink's write and Spark's commit, the idle-station processor, and the latency of
a Kafka-to-Kafka query.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .core.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

    from .core.settings import Settings

__all__ = [
    "PROVIDERS", "use_state_store", "state_provider", "read_state", "state_metadata", "state_operators",
    "checkpoint_footprint", "driver_heap_mb", "forget_last_commit", "write_batch_once", "IdleStations", "RUN_SCHEMA",
    "sessions_as_runs", "route_records", "send_paced", "latencies_ms", "percentiles",
]

_STATE = "org.apache.spark.sql.execution.streaming.state."
PROVIDERS = {
    "hdfs": _STATE + "HDFSBackedStateStoreProvider",  # Spark's default: JVM hash maps, a delta file per batch
    "rocksdb": _STATE + "RocksDBStateStoreProvider",  # off-heap RocksDB; needed by transformWithState
}


def use_state_store(spark: "SparkSession", provider: str, changelog: bool = True) -> None:
    """Make queries started from now on keep their state with ``provider`` ("hdfs" or "rocksdb").

    ``changelog`` (RocksDB only) writes each batch's changed keys to a changelog file and uploads a full
    snapshot only now and then, instead of a RocksDB checkpoint every batch.  A query restarted from an existing
    checkpoint keeps the provider it was started with: Spark stores the setting in the checkpoint's offset log.
    """
    if provider not in PROVIDERS:
        raise ConfigError(f"unknown state store provider {provider!r}: use one of {', '.join(PROVIDERS)}")
    spark.conf.set("spark.sql.streaming.stateStore.providerClass", PROVIDERS[provider])
    spark.conf.set("spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled",
                   "true" if changelog else "false")


def state_provider(checkpoint: str | Path) -> str:
    """The provider a checkpoint's query keeps its state with ("hdfs" or "rocksdb"), from its newest offset log.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "offsets").mkdir()
    >>> _ = (folder / "offsets" / "3").write_text('v1\\n{"conf": {"spark.sql.streaming.stateStore.providerClass":'
    ...     ' "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"}}\\n{}')
    >>> state_provider(folder)
    'rocksdb'
    """
    offsets = Path(checkpoint) / "offsets"
    batches = sorted((int(p.name) for p in offsets.iterdir() if p.name.isdigit()), reverse=True) \
        if offsets.is_dir() else []
    if not batches:
        raise ConfigError(f"{checkpoint} has no offset log: no query has run a batch with this checkpoint yet")
    meta = json.loads((offsets / str(batches[0])).read_text().splitlines()[1])
    cls = meta.get("conf", {}).get("spark.sql.streaming.stateStore.providerClass", PROVIDERS["hdfs"])
    return next((name for name, c in PROVIDERS.items() if c == cls), cls)


def read_state(spark: "SparkSession", checkpoint: str | Path, *, batch_id: int | None = None,
               operator_id: int = 0, join_side: str | None = None, state_var: str | None = None,
               changes_from: int | None = None) -> "DataFrame":
    """The state rows of one operator of the query checkpointed at ``checkpoint``, as a DataFrame.

    ``batch_id`` picks the state after that batch (default: the last committed one); ``join_side`` ("left" or
    "right") one side of a stream–stream join; ``state_var`` one state variable of a transformWithState
    processor; ``changes_from`` returns the change feed instead: a row per key each batch wrote or deleted,
    from that batch on (columns ``batch_id``, ``change_type``, ``key``, ``value``; ``change_type`` is "update"
    for a key written, a new one included, and "delete"; lesson 13 shows the feed).
    """
    if not (Path(str(checkpoint)) / "state").is_dir() and "://" not in str(checkpoint):
        raise ConfigError(f"{checkpoint} holds no state: it is not the checkpoint of a stateful query "
                          "(or the query has not run a batch yet)")
    reader = spark.read.format("statestore").option("operatorId", operator_id)
    if changes_from is not None:
        reader = reader.option("readChangeFeed", True).option("changeStartBatchId", changes_from)
    elif batch_id is not None:
        reader = reader.option("batchId", batch_id)
    if join_side is not None:
        reader = reader.option("joinSide", join_side)
    if state_var is not None:
        reader = reader.option("stateVarName", state_var)
    return reader.load(str(checkpoint))


def state_metadata(spark: "SparkSession", checkpoint: str | Path) -> "pd.DataFrame":
    """One row per stateful operator of a checkpoint: id, name, partitions, first and last batch with state."""
    return (spark.read.format("state-metadata").load(str(checkpoint))
            .select("operatorId", "operatorName", "numPartitions", "minBatchId", "maxBatchId")
            .orderBy("operatorId").toPandas())


def state_operators(query: "StreamingQuery") -> "pd.DataFrame":
    """What each batch of ``query`` reported about its state: rows held, updated, removed, memory, per operator.

    Read from ``query.recentProgress`` (the last 100 batches of this run).
    """
    import pandas as pd

    rows = [{"batch": p["batchId"], "operator": op["operatorName"], "rows": op["numRowsTotal"],
             "updated": op["numRowsUpdated"], "removed": op.get("numRowsRemoved", 0),
             "memory_bytes": op["memoryUsedBytes"], "duration_ms": p["durationMs"].get("triggerExecution", 0)}
            for p in query.recentProgress for op in p["stateOperators"]]
    return pd.DataFrame(rows, columns=["batch", "operator", "rows", "updated", "removed", "memory_bytes",
                                       "duration_ms"])


def checkpoint_footprint(checkpoint: str | Path, folder: str = "state") -> tuple[int, int]:
    """Files and bytes under ``checkpoint/folder`` (Hadoop's ``.crc`` side files not counted).

    >>> import tempfile, pathlib
    >>> cp = pathlib.Path(tempfile.mkdtemp())
    >>> (cp / "state" / "0" / "1").mkdir(parents=True)
    >>> _ = (cp / "state" / "0" / "1" / "1.delta").write_bytes(b"x" * 10)
    >>> _ = (cp / "state" / "0" / "1" / ".1.delta.crc").write_bytes(b"c")
    >>> checkpoint_footprint(cp)
    (1, 10)
    """
    files = [p for p in (Path(checkpoint) / folder).rglob("*") if p.is_file() and not p.name.endswith(".crc")]
    return len(files), sum(p.stat().st_size for p in files)


def driver_heap_mb(spark: "SparkSession") -> float:
    """Megabytes of the driver JVM's heap in use after a garbage collection (in local mode the executors' state
    stores live in that JVM too, so the default provider's state shows here; RocksDB's does not)."""
    runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()  # type: ignore[union-attr]
    spark.sparkContext._jvm.java.lang.System.gc()  # type: ignore[union-attr]
    return round((runtime.totalMemory() - runtime.freeMemory()) / 2**20, 1)


def forget_last_commit(checkpoint: str | Path) -> int:
    """Delete the newest entry of a checkpoint's commit log and return its batch id.

    This puts the checkpoint where a crash between the sink's write and Spark's commit leaves it: the batch's
    offsets are logged, its output is written, its commit is not.  The next start runs that batch again, with
    the same offsets, so a sink that cannot recognise a batch it already wrote (the Kafka sink) writes it twice.

    >>> import tempfile, pathlib
    >>> cp = pathlib.Path(tempfile.mkdtemp())
    >>> (cp / "commits").mkdir()
    >>> for n in (0, 1):
    ...     _ = (cp / "commits" / str(n)).write_text("v1")
    ...     _ = (cp / "commits" / f".{n}.crc").write_text("")
    >>> forget_last_commit(cp), sorted(p.name for p in (cp / "commits").iterdir())
    (1, ['.0.crc', '0'])
    """
    commits = Path(checkpoint) / "commits"
    done = sorted(int(p.name) for p in commits.glob("*") if p.name.isdigit()) if commits.is_dir() else []
    if not done:
        raise ConfigError(f"{checkpoint} has no committed batch to forget")
    last = done[-1]
    (commits / str(last)).unlink()
    (commits / f".{last}.crc").unlink(missing_ok=True)
    return last


def write_batch_once(folder: str | Path) -> Callable[["DataFrame", int], None]:
    """A ``foreachBatch`` function that writes each micro-batch to ``folder/batch_id=<id>`` as Parquet, idempotently.

    A batch that runs again after a crash (same id, same rows) overwrites its own folder instead of adding
    copies: the batch id, which Spark keeps stable across restarts, is the key of the write.  Readers read
    ``folder`` whole (each ``batch_id=`` folder is a partition).
    """
    base = str(folder)

    def write(df: "DataFrame", batch_id: int) -> None:
        df.write.mode("overwrite").parquet(f"{base}/batch_id={batch_id}")

    return write


# --------------------------------------------------------------------------- transformWithStateInPandas
RUN_SCHEMA = "station INT, first_trip TIMESTAMP, last_trip TIMESTAMP, trips LONG"


def _processor_base() -> type:
    from pyspark.sql.streaming import StatefulProcessor

    return StatefulProcessor


class IdleStations(_processor_base()):  # type: ignore[misc]
    """A station's runs of activity: trips with no gap of ``idle_minutes`` or more between them.

    Grouped by station, with an event-time timer: each trip moves the station's timer to its last trip plus
    ``idle_minutes``; when the watermark passes that time, the run is over: the processor emits it
    (``RUN_SCHEMA``) and clears the station's state.  A trip that arrives ``idle_minutes`` or more after the
    last one (a gap both of whose ends came before the timer could fire) ends the run as well.  State per
    station: one value (first trip, last trip, trips), cleared when the run ends, so the timer is what bounds
    the state.  ``ttl_hours`` gives the value a time to live as well; Spark allows that only with
    ``timeMode="ProcessingTime"`` (TTL counts processing time) and refuses it with ``"EventTime"``.

    Use (a stream with ``start_station_id`` and ``event_time``, and a watermark)::

        trips.groupBy("start_station_id").transformWithStateInPandas(
            IdleStations(30), RUN_SCHEMA, outputMode="Append", timeMode="EventTime")
    """

    def __init__(self, idle_minutes: int = 30, ttl_hours: float | None = None) -> None:
        self.idle_ms = idle_minutes * 60_000
        self.ttl_ms = None if ttl_hours is None else int(ttl_hours * 3_600_000)

    def init(self, handle: Any) -> None:
        self.handle = handle
        self.run = handle.getValueState("run", "first_trip TIMESTAMP, last_trip TIMESTAMP, trips LONG",
                                        self.ttl_ms)

    def _emit(self, station: Any, first: Any, last: Any, trips: int) -> "pd.DataFrame":
        import pandas as pd

        return pd.DataFrame({"station": [int(station)], "first_trip": [pd.Timestamp(first)],
                             "last_trip": [pd.Timestamp(last)], "trips": [int(trips)]})

    def handleInputRows(self, key: Any, rows: Iterator["pd.DataFrame"], timerValues: Any) -> Iterator["pd.DataFrame"]:
        import pandas as pd

        times = sorted(t for frame in rows for t in pd.to_datetime(frame["event_time"]))
        if not times:  # every row was late (a tester may still call with none): nothing changes
            return
        first, last, trips = self.run.get() if self.run.exists() else (None, None, 0)
        first, last = (pd.Timestamp(first), pd.Timestamp(last)) if first is not None else (None, None)
        for t in times:
            if last is not None and (t - last).total_seconds() * 1000 >= self.idle_ms:
                yield self._emit(key[0], first, last, trips)  # the gap came in with the data
                first, trips = None, 0
            first = t if first is None else min(first, t)
            last = t if last is None else max(last, t)
            trips += 1
        for timer in self.handle.listTimers():
            self.handle.deleteTimer(timer)
        self.handle.registerTimer(int(last.value // 1_000_000) + self.idle_ms)
        self.run.update((first.to_pydatetime(), last.to_pydatetime(), trips))

    def handleExpiredTimer(self, key: Any, timerValues: Any, expiredTimerInfo: Any) -> Iterator["pd.DataFrame"]:
        if self.run.exists():
            first, last, trips = self.run.get()
            yield self._emit(key[0], first, last, trips)
        self.run.clear()

    def close(self) -> None:
        pass


def sessions_as_runs(trips: "DataFrame", idle_minutes: int) -> "DataFrame":
    """The same runs from ``session_window``: a session closes ``idle_minutes`` after its last trip.

    Columns as ``RUN_SCHEMA`` (the session's end minus the gap is its last trip).
    """
    from pyspark.sql import functions as F

    gap = f"{idle_minutes} minutes"
    return (trips.groupBy(F.col("start_station_id").alias("station"), F.session_window("event_time", gap))
            .agg(F.count("*").alias("trips"))
            .select("station", F.col("session_window.start").alias("first_trip"),
                    (F.col("session_window.end") - F.expr(f"INTERVAL {idle_minutes} MINUTES")).alias("last_trip"),
                    "trips"))


# --------------------------------------------------------------------------- Kafka to Kafka, and its latency
def route_records(raw: "DataFrame", topic: str, valid_topic: str, quarantine_topic: str) -> "DataFrame":
    """Parse raw Kafka rows of ``topic`` and route each record to ``valid_topic`` or ``quarantine_topic``.

    The result has the Kafka sink's columns: ``topic`` (per row), ``key`` and ``value`` (a JSON object with the
    raw record, the reason it failed or null, and ``in_ms``: the input record's Kafka timestamp in milliseconds,
    so a reader of the output can measure the end-to-end latency).  Stateless: fit for real-time mode.
    """
    from pyspark.sql import functions as F

    from .parsing import with_reasons

    checked = with_reasons(raw, topic)
    return checked.select(
        F.when(F.col("reason").isNull(), F.lit(valid_topic)).otherwise(F.lit(quarantine_topic)).alias("topic"),
        F.col("kafka_key").alias("key"),
        F.to_json(F.struct("raw_value", "reason", F.unix_millis("kafka_timestamp").alias("in_ms"))).alias("value"))


@dataclass
class PacedSend:
    """A background sender started by :func:`send_paced`; ``join()`` waits for it and returns records sent."""

    thread: threading.Thread
    sent: list[int]

    def join(self, timeout: float = 120.0) -> int:
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise TimeoutError(f"the paced sender had not finished after {timeout:.0f} s")
        return self.sent[0]


def send_paced(bootstrap: str, topic: str, records: list[dict[str, Any]], per_second: float,
               settings: "Settings | None" = None) -> PacedSend:
    """Send ``records`` as JSON to ``topic`` at ``per_second``, each flushed at once, from a background thread.

    Each record gets its Kafka timestamp when it is sent, so the latency a reader measures starts there.
    """
    from kafka import KafkaProducer

    from .core.kafka import client_options
    from .core.settings import get_settings

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, **client_options(settings or get_settings()))
    sent = [0]

    def run() -> None:
        try:
            start = time.monotonic()
            for n, record in enumerate(records):
                time.sleep(max(0.0, start + n / per_second - time.monotonic()))
                producer.send(topic, json.dumps(record).encode(), key=str(n).encode())
                producer.flush()
                sent[0] += 1
        finally:
            producer.close()

    thread = threading.Thread(target=run, name=f"send-paced-{topic}")
    thread.start()
    return PacedSend(thread, sent)


def latencies_ms(spark: "SparkSession", topic: str, settings: "Settings | None" = None) -> "pd.Series":
    """End-to-end latency of each record in ``topic`` (written by :func:`route_records`), in milliseconds:
    the output record's Kafka timestamp minus the input record's."""
    from pyspark.sql import functions as F

    from .spark import read_kafka_batch

    out = read_kafka_batch(spark, topic, settings).select(
        (F.unix_millis("timestamp") - F.get_json_object(F.col("value").cast("string"), "$.in_ms").cast("long"))
        .alias("ms"))
    return out.toPandas()["ms"].astype("int64")


def percentiles(values: "pd.Series", points: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    """``{"p50": ..., "p95": ..., "p99": ...}`` of ``values`` (nearest-rank, so each is a measured value).

    >>> import pandas as pd
    >>> percentiles(pd.Series(range(1, 101)))
    {'p50': 50.0, 'p95': 95.0, 'p99': 99.0}
    """
    import math

    ordered = sorted(float(v) for v in values)
    if not ordered:
        raise ValueError("no values to take percentiles of")
    return {f"p{p}": ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in points}
