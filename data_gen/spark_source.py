"""The simulated world as a Spark streaming source written in Python: ``spark.readStream.format("datagen")``.

pyspark 4's Python Data Source API lets a source be a Python class: a :class:`DataGenSource` names the source
and its schema, and its :class:`WorldStreamReader` tells Spark what a streaming source must for exactly-once:

* **offsets** it can name and replay: here the position in the kind's delivery order (``{"index": n}``: the
  first ``n`` records of the kind); the simulation is seeded, so the same ``n`` always means the same records;
* ``initialOffset()`` (``{"index": 0}``), ``latestOffset(start, limit)`` (how far a micro-batch may read; the
  ``maxRecordsPerBatch`` option is a read limit, ``ReadMaxRows``; the engine may still ask for everything with
  ``ReadAllAvailable``, with ``Trigger.Once`` for example);
* ``partitions(start, end)``: the micro-batch's range cut into ``numPartitions`` slices, each read by a task;
* ``read(partition)``: the rows of one slice, made again from the seed on the worker (nothing is shipped).

Spark writes each batch's end offsets to the checkpoint (its start is the previous batch's end) before it runs
the batch, so a restarted
query asks for the same ranges again and gets the same rows: with a sink that is idempotent per batch (the
Parquet file sink), exactly-once holds as it does with Kafka.  The rows have the Kafka source's columns (key,
value, topic, partition, offset, timestamp), so the kit's parsers read them unchanged::

    from data_gen.spark_source import register
    register(spark)
    raw = (spark.readStream.format("datagen").option("kind", "bike").option("days", 1)
           .option("scale", 0.1).load())

``timestamp`` is the simulated delivery time (Kafka's is the time the producer sent the record, or the broker's
with ``LogAppendTime``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Iterator, Sequence

from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
from pyspark.sql.streaming.datasource import ReadAllAvailable, ReadLimit, ReadMaxRows, SupportsTriggerAvailableNow

from .records import TOPICS, GenParams, Simulation

__all__ = ["DataGenSource", "WorldStreamReader", "SCHEMA", "register", "deliveries_of"]

SCHEMA = "key binary, value binary, topic string, partition int, offset long, timestamp timestamp"


@lru_cache(maxsize=8)
def deliveries_of(params: GenParams, kind: str) -> tuple[tuple[bytes, bytes, float], ...]:
    """(key, value, seconds from the start) of every record of ``kind``, in delivery order: the same every call,
    in every process (the simulation is seeded)."""
    return tuple((d.key, d.value, d.at) for d in Simulation(params).deliveries() if d.topic == kind)


def _params(options: dict[str, str]) -> tuple[GenParams, str, str, int, int | None]:
    """The options as (world, kind, topic name, partitions, records per batch), refused with the option named.
    Spark hands a source its options with names in lower case (they are case-insensitive), and so are they read."""
    options = {k.lower(): v for k, v in options.items()}
    kind = options.get("kind", "")
    if kind not in TOPICS:
        raise ValueError(f"the datagen source needs option kind = one of {', '.join(TOPICS)} (got {kind!r})")
    try:
        params = GenParams(days=int(options.get("days", "1")), seed=int(options.get("seed", "42")),
                           scale=float(options.get("scale", "0.1")),
                           start=datetime.fromisoformat(options.get("start", "2018-04-02")))
        params.validate()
        partitions = int(options.get("numpartitions", "3"))
        limit = int(options["maxrecordsperbatch"]) if "maxrecordsperbatch" in options else None
    except ValueError as err:
        raise ValueError(f"the datagen source's options: {err}") from None
    if partitions < 1 or (limit is not None and limit < 1):
        raise ValueError("the datagen source needs numPartitions >= 1 and maxRecordsPerBatch >= 1")
    return params, kind, options.get("topic", kind), partitions, limit


@dataclass(frozen=True)
class Slice(InputPartition):
    """Records ``start`` (included) to ``end`` (excluded) of the kind's delivery order; ``number``: the task."""

    start: int
    end: int
    number: int


class WorldStreamReader(DataSourceStreamReader, SupportsTriggerAvailableNow):
    """Offsets, partitions and rows of one kind of record of the simulated world (see the module's docstring).

    It supports the available-now trigger itself (``prepareForTriggerAvailableNow`` fixes the end), so an
    available-now run still honours ``maxRecordsPerBatch``, in as many micro-batches as it takes."""

    def __init__(self, options: dict[str, str]) -> None:
        self.params, self.kind, self.topic, self.slices, self.limit = _params(options)
        self.total = len(deliveries_of(self.params, self.kind))

    def prepareForTriggerAvailableNow(self) -> None:
        pass  # the world is complete from the start: its end is already fixed at self.total

    def initialOffset(self) -> dict:
        return {"index": 0}

    def getDefaultReadLimit(self) -> ReadLimit:
        return ReadMaxRows(self.limit) if self.limit is not None else ReadAllAvailable()

    def latestOffset(self, start: dict, limit: ReadLimit) -> dict:
        begin = int(start["index"])
        if isinstance(limit, ReadMaxRows):
            return {"index": min(self.total, begin + limit.max_rows)}
        return {"index": self.total}  # ReadAllAvailable: the whole world is there from the start

    def reportLatestOffset(self) -> dict:
        return {"index": self.total}

    def partitions(self, start: dict, end: dict) -> Sequence[InputPartition]:
        begin, stop = int(start["index"]), int(end["index"])
        step = max(1, -(-(stop - begin) // self.slices))
        return [Slice(a, min(stop, a + step), n) for n, a in enumerate(range(begin, stop, step))]

    def read(self, partition: InputPartition) -> Iterator[tuple]:
        assert isinstance(partition, Slice)
        records = deliveries_of(self.params, self.kind)
        for offset in range(partition.start, partition.end):
            key, value, at = records[offset]
            yield (key, value, self.topic, _partition(key, self.slices), offset,
                   self.params.start + timedelta(seconds=at))

    def commit(self, end: dict) -> None:
        pass  # nothing to release: the world is made again from its seed


def _partition(key: bytes, partitions: int) -> int:
    """The Kafka-like partition a key would land in (a stable hash, so the same key always goes to the same)."""
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big") % partitions


class DataGenSource(DataSource):
    """``format("datagen")``: options ``kind`` (bike, taxi, weather, accidents), ``days``, ``scale``, ``seed``,
    ``start``, ``topic`` (the name written in the topic column), ``numPartitions`` (tasks per batch, default 3),
    ``maxRecordsPerBatch`` (a read limit; none by default)."""

    @classmethod
    def name(cls) -> str:
        return "datagen"

    def schema(self) -> str:
        return SCHEMA

    def streamReader(self, schema: Any) -> DataSourceStreamReader:
        return WorldStreamReader(dict(self.options))


def register(spark: Any) -> None:
    """Make ``format("datagen")`` known to ``spark`` (once per session is enough; again is harmless)."""
    spark.dataSource.register(DataGenSource)
