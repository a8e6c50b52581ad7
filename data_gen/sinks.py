"""Where simulated records go: Kafka (kafka-python), JSON-lines files, and a real Bluebikes CSV replay."""

from __future__ import annotations

import csv
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .records import TOPICS, Delivery


class SinkError(RuntimeError):
    """The sink cannot take records (broker unreachable, sends failed); the message says why and what to do."""


def pace(deliveries: Iterable[Delivery], speedup: float | None,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
         ) -> Iterator[Delivery]:
    """Release each delivery at its simulated time divided by ``speedup`` (None: as fast as possible).

    ``speedup=60`` plays one simulated minute per wall second: a live stream for a notebook.
    """
    if not speedup:
        yield from deliveries
        return
    t0 = clock()
    for d in deliveries:
        wait = t0 + d.at / speedup - clock()
        if wait > 0:
            sleep(wait)
        yield d


@dataclass
class SinkReport:
    sent: dict[str, int] = field(default_factory=lambda: {t: 0 for t in TOPICS})
    failed: int = 0
    seconds: float = 0.0
    first_error: str | None = None


class _CachedPartitioner:
    """kafka-python's default (murmur2) partitioner, remembered per key.

    The kit's keys are few (stations, neighbourhoods, streets) and murmur2 is
    pure Python: computing it once per key instead of once per record gives the
    same partitions for less work.
    """

    def __init__(self) -> None:
        from kafka.partitioner.default import DefaultPartitioner

        self._default = DefaultPartitioner()
        self._cache: dict[tuple[bytes, int], int] = {}

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return self._default(key, all_partitions, available)
        k = (key, len(all_partitions))
        p = self._cache.get(k)
        if p is None:
            p = self._cache[k] = self._default(key, all_partitions, available)
        return p


class KafkaSink:
    """Sends records with kafka-python, tuned for throughput and safety.

    ``acks=all`` and idempotence, so a broker that fails and comes back (or a
    lost acknowledgement) makes the producer retry without writing a record
    twice or out of order, and nothing is lost silently; ``linger_ms`` and a
    large ``batch_size`` so records travel in batches; no per-message flush or
    ``future.get()`` (each would wait a network round trip per record).  Send
    failures are counted by a callback and reported at :meth:`close`.
    """

    def __init__(self, bootstrap_servers: str, topics: dict[str, str], *, linger_ms: int = 50,
                 batch_size: int = 1024 * 1024) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError, NoBrokersAvailable

        self.topics = topics
        self.report = SinkReport()
        self._lock = threading.Lock()
        try:
            self.producer = KafkaProducer(
                bootstrap_servers=bootstrap_servers,
                acks="all",
                enable_idempotence=True,
                # Retry for up to two minutes (a broker restart takes seconds), then report the failure.
                delivery_timeout_ms=120000,
                linger_ms=linger_ms,
                batch_size=batch_size,
                # kafka-python's idempotent producer needs one request in flight per broker connection.
                max_in_flight_requests_per_connection=1,
                request_timeout_ms=30000,
                client_id="data_gen",
                partitioner=_CachedPartitioner(),
            )
        except (NoBrokersAvailable, KafkaError, OSError) as err:
            if type(err).__name__ == "KafkaConfigurationError":
                raise
            raise SinkError(
                f"No Kafka broker answers at {bootstrap_servers} ({type(err).__name__}). Start one with "
                "`python -m etl_lib.kafka_local start`, or pass --bootstrap-servers / set KAFKA_BOOTSTRAP_SERVERS."
            ) from None

    def _failed(self, err: BaseException) -> None:
        with self._lock:
            self.report.failed += 1
            if self.report.first_error is None:
                self.report.first_error = f"{type(err).__name__}: {err}"

    def send(self, d: Delivery) -> None:
        self.producer.send(self.topics[d.topic], key=d.key, value=d.value).add_errback(self._failed)
        self.report.sent[d.topic] += 1

    def close(self, timeout: float = 120.0) -> SinkReport:
        self.producer.flush(timeout=timeout)
        self.producer.close(timeout=timeout)
        if self.report.failed:
            raise SinkError(f"{self.report.failed} records could not be delivered to Kafka; first error: "
                            f"{self.report.first_error}")
        return self.report


class FilesSink:
    """One JSON-lines file per topic (``<dir>/<topic name>.jsonl``): the exact bytes Kafka would get, one per line."""

    def __init__(self, directory: Path | str, topics: dict[str, str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.report = SinkReport()
        self.paths = {t: self.directory / f"{topics[t]}.jsonl" for t in TOPICS}
        self._files = {t: open(p, "wb") for t, p in self.paths.items()}

    def send(self, d: Delivery) -> None:
        # Records never contain a raw newline (JSON escapes it; the junk kinds have none).
        self._files[d.topic].write(d.value + b"\n")
        self.report.sent[d.topic] += 1

    def close(self) -> SinkReport:
        for f in self._files.values():
            f.close()
        return self.report


# ---------------------------------------------------------------------- Bluebikes CSV replay
BLUEBIKES_HEADER = [
    "tripduration", "starttime", "stoptime", "start station id", "start station name",
    "start station latitude", "start station longitude", "end station id", "end station name",
    "end station latitude", "end station longitude", "bikeid", "usertype", "birth year", "gender",
]


def _bluebikes_time(text: str) -> str:
    # Bluebikes writes "2018-01-01 00:16:33.8220"; the kit's records drop the fraction.
    return datetime.strptime(text.strip()[:19], "%Y-%m-%d %H:%M:%S").strftime("%Y-%m-%d %H:%M:%S")


def bluebikes_row_to_record(row: dict[str, str], n: int) -> dict[str, Any]:
    """One Bluebikes 2018 CSV row as the kit's bike record (raises ValueError with the reason)."""
    return {
        "trip_id": f"csv{n:09d}",
        "trip_duration": int(float(row["tripduration"])),
        "start_time": _bluebikes_time(row["starttime"]),
        "stop_time": _bluebikes_time(row["stoptime"]),
        "start_station_id": int(row["start station id"]),
        "start_station_name": row["start station name"],
        "start_station_latitude": float(row["start station latitude"]),
        "start_station_longitude": float(row["start station longitude"]),
        "end_station_id": int(row["end station id"]),
        "end_station_name": row["end station name"],
        "end_station_latitude": float(row["end station latitude"]),
        "end_station_longitude": float(row["end station longitude"]),
        "bike_id": int(row["bikeid"]),
        "user_type": row["usertype"],
        "birth_year": int(row["birth year"]) if row["birth year"].strip() not in ("", "\\N") else None,
        "gender": int(row["gender"]),
    }


@dataclass
class ReplayReport:
    rows: int = 0
    sent: int = 0
    bad_rows: list[dict[str, Any]] = field(default_factory=list)


def read_bluebikes_csv(path: Path | str) -> tuple[list[Delivery], ReplayReport]:
    """Read a Bluebikes trip CSV in its original header into bike-topic deliveries.

    Rows that cannot be read (wrong number of columns, a number or date that does
    not parse) are not sent; each is reported with its line number and reason.
    """
    path = Path(path)
    report = ReplayReport()
    out: list[Delivery] = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise ValueError(f"{path} is empty") from None
        missing = [h for h in BLUEBIKES_HEADER if h not in header]
        if missing:
            raise ValueError(f"{path} is not a Bluebikes trip file: missing columns {missing}")
        for values in reader:
            report.rows += 1
            line = reader.line_num
            if len(values) != len(header):
                report.bad_rows.append({"line": line, "reason": f"{len(values)} columns, expected {len(header)}"})
                continue
            try:
                record = bluebikes_row_to_record(dict(zip(header, values)), report.rows)
            except (ValueError, KeyError) as err:
                report.bad_rows.append({"line": line, "reason": str(err)})
                continue
            value = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
            out.append(Delivery("bike", str(record["start_station_id"]).encode(), value, 0.0, "valid"))
    report.sent = len(out)
    return out, report
