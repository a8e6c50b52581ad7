"""Where simulated records go: Kafka (kafka-python), JSON-lines files, and a real Bluebikes CSV replay."""

from __future__ import annotations

import csv
import json
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from etl_lib.core import jvm
from etl_lib.core.errors import KitError
from etl_lib.core.kafka import (broker_answers, client_options, java_client_properties, no_broker_message,
                               write_java_properties)
from etl_lib.core.kinds import by_id
from etl_lib.core.settings import Settings, get_settings

from .records import TOPICS, Delivery


class SinkError(KitError):
    """The sink cannot take records (broker unreachable, sends failed); the message says why and what to do."""


class ReplayStopped(RuntimeError):
    """A replay ended early because its ``stop`` event was set; ``sent`` records reached the sink."""

    def __init__(self, sent: int = 0) -> None:
        super().__init__(f"replay stopped early: {sent:,} records sent")
        self.sent = sent


def pace(deliveries: Iterable[Delivery], speedup: float | None,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
         stop: threading.Event | None = None) -> Iterator[Delivery]:
    """Release each delivery at its simulated time divided by ``speedup`` (None: as fast as possible).

    ``speedup=60`` plays one simulated minute per wall second: a live stream for a notebook.
    When ``stop`` is set the replay ends at once, also in the middle of a wait,
    with :class:`ReplayStopped` (so a caller never mistakes it for the end).
    """
    if stop is not None and sleep is time.sleep:
        sleep = stop.wait  # a wait that a stop cuts short
    t0 = clock()
    for d in deliveries:
        if stop is not None and stop.is_set():
            raise ReplayStopped()
        wait = t0 + d.at / speedup - clock() if speedup else 0.0
        if wait > 0:
            sleep(wait)
            if stop is not None and stop.is_set():
                raise ReplayStopped()
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
                 batch_size: int = 1024 * 1024, settings: Settings | None = None) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError, NoBrokersAvailable

        self.topics = topics
        self.report = SinkReport()
        self._lock = threading.Lock()
        try:
            self.producer = KafkaProducer(
                bootstrap_servers=bootstrap_servers,
                **client_options(settings or get_settings()),
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
            raise SinkError(no_broker_message(bootstrap_servers, fix="pass --bootstrap-servers", cause=err)) from None

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


_FRAME_HEAD = struct.Struct(">Bi")  # topic number, key length
_FRAME_LEN = struct.Struct(">i")    # value length


class JavaKafkaSink:
    """Sends records through Kafka's Java producer in a second process: data_gen's fast path.

    kafka-python spends most of data_gen's time in ``send`` (its record accumulator
    is pure Python), on the same core that simulates the world.  This sink only
    frames each record (topic number, key, value) onto the standard input of
    ``etlkit.PipeProducer`` (jvm/producer, built by ``make jars``), which sends with
    the same guarantees as :class:`KafkaSink`: ``acks=all``, idempotence, two
    minutes of retries.  The bytes are the same, and so is each record's partition:
    Java's default partitioner and kafka-python's both take murmur2 of the key.
    At :meth:`close` the producer flushes and reports what it handed over; a
    count that differs from what was framed, or any failed send, raises
    :class:`SinkError`, so nothing is lost without a message.

    The security settings (``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*``,
    ``KAFKA_SSL_CA_FILE``) reach it as Java client properties.  Frames are
    buffered 1 MiB at a time; a paced (live) replay passes ``flush_each=True``
    so each record leaves when it is due.
    """

    def __init__(self, bootstrap_servers: str, topics: dict[str, str], *, linger_ms: int = 20,
                 batch_size: int = 1024 * 1024, startup_timeout: float = 5.0, flush_each: bool = False,
                 settings: Settings | None = None) -> None:
        classpath = jvm.producer_classpath()
        java = jvm.java_executable()
        jvm.java_version(java)
        settings = settings or get_settings()
        if not broker_answers(settings.replace(kafka_bootstrap_servers=bootstrap_servers), timeout=startup_timeout):
            raise SinkError(no_broker_message(bootstrap_servers, fix="pass --bootstrap-servers"))
        self.topics = topics
        self.report = SinkReport()
        self._index = {t: i for i, t in enumerate(TOPICS)}
        self._folder = tempfile.TemporaryDirectory(prefix="data_gen-producer-")
        props = {
            "bootstrap.servers": bootstrap_servers,
            "client.id": "data_gen",
            "acks": "all",
            "enable.idempotence": "true",
            "delivery.timeout.ms": "120000",
            "request.timeout.ms": "30000",
            "linger.ms": str(linger_ms),
            "batch.size": str(batch_size),
            "buffer.memory": str(64 * 1024 * 1024),
            # Metadata for a topic that does not exist ends a send after this long instead of a minute.
            "max.block.ms": "30000",
        }
        props.update(java_client_properties(settings))
        config = Path(self._folder.name) / "producer.properties"
        write_java_properties(config, props)  # may hold a SASL password: deleted at close
        self._log_path = Path(self._folder.name) / "producer.log"
        self._log = open(self._log_path, "wb")
        try:
            self._proc = subprocess.Popen(
                [java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m", "-cp", classpath,
                 "etlkit.PipeProducer", str(config), *(topics[t] for t in TOPICS)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, bufsize=1024 * 1024)
        except OSError as err:
            self._log.close()
            self._folder.cleanup()  # the properties file may hold a password
            raise SinkError(f"Could not start data_gen's Java producer with {java}: {err}") from None
        _widen_pipe(self._proc.stdin)
        self._write = self._proc.stdin.write
        self._flush_each = flush_each

    def send(self, d: Delivery) -> None:
        key, value = d.key, d.value
        try:
            self._write(_FRAME_HEAD.pack(self._index[d.topic], -1 if key is None else len(key)))
            if key is not None:
                self._write(key)
            self._write(_FRAME_LEN.pack(len(value)))
            self._write(value)
            if self._flush_each:
                self._proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            self._proc.wait(timeout=30)
            raise SinkError(f"data_gen's Java producer stopped (exit code {self._proc.returncode}) after "
                            f"{sum(self.report.sent.values()):,} records: {self._log_tail()}") from None
        self.report.sent[d.topic] += 1

    def close(self, timeout: float = 180.0) -> SinkReport:
        try:
            try:
                out, _ = self._proc.communicate(timeout=timeout)  # flushes and closes the frames' pipe first
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
                raise SinkError(f"data_gen's Java producer did not finish within {timeout:.0f} s: {self._log_tail()}")
            result = _last_json_line(out)
            if result is None:
                raise SinkError(f"data_gen's Java producer ended (exit code {self._proc.returncode}) without a report: "
                                f"{self._log_tail()}")
            if result["first_error"] or result["failed"]:
                raise SinkError(f"{result['failed']} records could not be delivered to Kafka; first error: "
                                f"{result['first_error']}")
            handed = dict(zip(TOPICS, result["sent"]))
            if handed != self.report.sent:
                raise SinkError(f"data_gen framed {self.report.sent} records but the Java producer received {handed}")
            return self.report
        finally:
            self._log.close()
            self._folder.cleanup()

    def _log_tail(self, lines: int = 5) -> str:
        self._log.flush()
        try:
            text = self._log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(nothing on its standard error)"


def _widen_pipe(stream: Any, size: int = 1024 * 1024) -> None:
    """Let the pipe hold up to 1 MiB (Linux), so the generator runs on while the producer catches up."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except (ImportError, OSError):
        pass  # another OS, or a lower limit: the default pipe works, a little slower


def _last_json_line(out: bytes) -> dict | None:
    for line in reversed(out.decode("utf-8", "replace").splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


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
# Bluebikes' files since 2023 (and Divvy-style exports) use another layout: refused by name.
_RIDE_LAYOUT = {"ride_id", "rideable_type", "started_at", "ended_at", "member_casual"}
# Timestamps as Bluebikes wrote them: 2018 "2018-01-01 00:16:33.8220" (the kit's own form: its records follow
# the source files), some 2017 months "7/1/2017 00:10".  Replayed trips are written in the bike kind's form.
_BIKE_TIME = by_id("bike").time_format
_TIME_FORMATS = (_BIKE_TIME, "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M")


class _RowError(ValueError):
    """A row that cannot be replayed: the column, what it should hold, and what it held."""

    def __init__(self, column: str, expected: str, got: str) -> None:
        super().__init__(f"column '{column}': expected {expected}, got {got!r}")


def _field(row: dict[str, str], column: str, convert: Any, expected: str) -> Any:
    text = row[column].strip()
    try:
        if text in ("", "\\N"):
            raise ValueError
        return convert(text)
    except (ValueError, OverflowError):
        raise _RowError(column, expected, row[column]) from None


def _bluebikes_time(text: str) -> str:
    # The kit's records drop the fraction of a second.
    text = text.split(".")[0]
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(text, fmt).strftime(_BIKE_TIME)
        except ValueError:
            continue
    raise ValueError(text)


def _whole(text: str) -> int:
    value = float(text)
    if not value.is_integer():
        raise ValueError(text)
    return int(value)


def bluebikes_row_to_record(row: dict[str, str], n: int) -> dict[str, Any]:
    """One Bluebikes CSV row as the kit's bike record (raises ValueError naming the column and the expected form)."""
    when = "a date and time like 2018-04-01 00:04:44 or 4/1/2018 00:04"
    record = {
        "trip_id": f"csv{n:09d}",
        "trip_duration": _field(row, "tripduration", _whole, "a whole number of seconds"),
        "start_time": _field(row, "starttime", _bluebikes_time, when),
        "stop_time": _field(row, "stoptime", _bluebikes_time, when),
        "start_station_id": _field(row, "start station id", int, "a station number"),
        "start_station_name": row["start station name"],
        "start_station_latitude": _field(row, "start station latitude", float, "a latitude"),
        "start_station_longitude": _field(row, "start station longitude", float, "a longitude"),
        "end_station_id": _field(row, "end station id", int, "a station number"),
        "end_station_name": row["end station name"],
        "end_station_latitude": _field(row, "end station latitude", float, "a latitude"),
        "end_station_longitude": _field(row, "end station longitude", float, "a longitude"),
        "bike_id": _field(row, "bikeid", int, "a bike number"),
        "user_type": row["usertype"],
        "birth_year": (None if row["birth year"].strip() in ("", "\\N")
                       else _field(row, "birth year", int, "a year, or \\N when unknown")),
        "gender": _field(row, "gender", int, "0, 1 or 2"),
    }
    if record["trip_duration"] < 0:
        raise _RowError("tripduration", "a duration of 0 seconds or more", row["tripduration"])
    return record


@dataclass
class ReplayReport:
    """What a CSV replay did with every line: each data row is sent or rejected; blank lines are skipped."""

    rows: int = 0
    sent: int = 0
    skipped_blank: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # line, raw, reason

    def write_rejects(self, path: Path | str) -> Path:
        """The rejected rows as JSON lines (line number, raw line, reason): nothing is dropped without a trace."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for r in self.rejected:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        return path

    def summary(self) -> str:
        return (f"{self.rows:,} rows read: {self.sent:,} sent, {len(self.rejected):,} rejected; "
                f"{self.skipped_blank:,} blank lines skipped")


class _Lines:
    """The file's lines as the csv reader takes them, remembering the raw text of the current row."""

    def __init__(self, f: Any) -> None:
        self.f = f
        self.current: list[str] = []

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        line = next(self.f)
        self.current.append(line)
        return line

    def take(self) -> str:
        raw, self.current = "".join(self.current), []
        return raw.rstrip("\r\n")


def read_bluebikes_csv(path: Path | str) -> tuple[list[Delivery], ReplayReport]:
    """Read a Bluebikes trip CSV (the 2015-2022 layout, as published) into bike-topic deliveries.

    Handles what the real files hold: a byte-order mark, CRLF line ends, quoted
    names with commas, ``\\N`` for an unknown birth year, 2017's ``7/1/2017 00:10``
    timestamps, extra columns such as 2020's ``postal code``.  A row that cannot be
    read (wrong number of columns, a value that does not parse) is not sent: it is
    in ``report.rejected`` with its line number, raw text and the column at fault.
    Blank lines are skipped and counted apart.  The newer ride layout
    (``ride_id, started_at, ...``) is refused by name.
    """
    path = Path(path)
    report = ReplayReport()
    out: list[Delivery] = []
    with open(path, newline="", encoding="utf-8-sig") as f:
        lines = _Lines(f)
        reader = csv.reader(lines)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise ValueError(f"{path} is empty") from None
        lines.take()
        if _RIDE_LAYOUT <= set(header):
            raise ValueError(f"{path} is in Bluebikes' newer ride layout (ride_id, started_at, ended_at, ...), "
                             "which has no trip duration, bike id or birth year; the replay reads the 2015-2022 "
                             "trip layout (tripduration, starttime, stoptime, ...)")
        missing = [h for h in BLUEBIKES_HEADER if h not in header]
        if missing:
            raise ValueError(f"{path} is not a Bluebikes trip file: missing columns {missing}")
        for values in reader:
            line, raw = reader.line_num, lines.take()
            if not values or (len(values) == 1 and not values[0].strip()):
                report.skipped_blank += 1
                continue
            report.rows += 1
            if len(values) != len(header):
                report.rejected.append({"line": line, "raw": raw,
                                        "reason": f"{len(values)} columns, expected {len(header)}"})
                continue
            try:
                record = bluebikes_row_to_record(dict(zip(header, values)), report.rows)
            except ValueError as err:
                report.rejected.append({"line": line, "raw": raw, "reason": str(err)})
                continue
            value = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
            out.append(Delivery("bike", str(record["start_station_id"]).encode(), value, 0.0, "valid"))
    report.sent = len(out)
    return out, report
