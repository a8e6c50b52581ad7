"""``python -m etl_lib run``: the orchestrator of seed 003.

It builds the Spark session, starts the raw ETL streams (parsed records to
Parquet, rejected records to quarantine) for the four topics and the analytics
whose ``ENABLE_*`` flag is on, prints a banner naming each stream as it starts,
and waits.  Ctrl+C or SIGTERM stops every query and then Spark; a failing
query is named and the program exits non-zero.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .core.cli import fail, run, settings_or_exit
from .core.errors import KitError
from .core.catalog import ANALYTICS, Analytic
from .core.kinds import KINDS, by_id
from .core.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery
    from pyspark.sql.types import StructType

__all__ = ["ANALYTICS", "EtlRun", "QueryFailedError", "build_analytic", "start_etl", "run_etl", "main"]


class QueryFailedError(KitError):
    """One or more streaming queries ended with an error; the message names each and its JVM cause."""

    def __init__(self, failures: list[tuple[str, str]], log_file: str | None = None) -> None:
        self.failures = failures
        lines = [f"query '{name}' failed: {cause}" for name, cause in failures]
        lines.append("The other queries were stopped; their checkpoints are intact, so a restart resumes them.")
        if log_file:
            lines.append(f"The Spark driver log has the full stack trace: {log_file}")
        super().__init__("\n".join(lines))


def describe_query_error(query: "StreamingQuery") -> str | None:
    """``Class: message`` of the JVM exception that ended ``query`` (its root cause), or None if it did not fail.

    pyspark's own ``str()`` of a StreamingQueryException needs the JVM and often
    shows only the outer wrapper; the root cause is what a person can act on.
    """
    try:
        jexc = query._jsq.exception()
        if not jexc.isDefined():
            return None
        throwable = jexc.get()
        seen = 0
        while throwable.getCause() is not None and seen < 20:
            throwable = throwable.getCause()
            seen += 1
        message = throwable.getMessage()
        return _first_line(f"{throwable.getClass().getName()}: {message}" if message
                           else throwable.getClass().getName())
    except Exception:  # noqa: BLE001 - fall back to what pyspark offers
        err = query.exception()
        return None if err is None else _first_line(repr(err))


def build_analytic(a: Analytic, streams: dict[str, "DataFrame"], settings: Settings) -> "DataFrame":
    """The streaming DataFrame of one registry entry: its build function applied to its input streams."""
    from . import analytics

    return getattr(analytics, a.build)(*(streams[name] for name in a.inputs), settings)


SILVER_QUERY = "silver_transport_weather_windows"


EVENTS_QUERY = "silver_events"


@dataclass
class EtlRun:
    """The started queries, by name, in start order.

    In an available-now run only the raw query is available-now: it reads what
    Kafka holds at its start.  The later layers read tables as file streams, and
    an available-now file source would read only what its input table held when
    it started, so they run a trigger every ``FOLLOW_INTERVAL`` beside the layer
    they read (``etl_lib.writers.FOLLOW``).  :meth:`drain_next` stops them layer by layer:
    once every query of a layer has ended, each query of the next one processes
    all its input holds and is stopped; then the analytics over the silver
    windows start, available-now (:attr:`deferred`).
    """

    queries: dict[str, "StreamingQuery"] = field(default_factory=dict)
    active_at_end: int | None = None
    # available-now: the names of each layer's queries, from the layer still running to the last one
    stages: list[tuple[str, ...]] = field(default_factory=list)
    # available-now: starts the analytics over the silver windows once the last followed layer has been drained
    deferred: Callable[[], None] | None = None

    def _ended(self, names: tuple[str, ...]) -> bool:
        """Every query named has ended, and none with an error."""
        return not any(q.isActive or describe_query_error(q) for q in (self.queries[n] for n in names
                                                                        if n in self.queries))

    def drain_next(self) -> bool:
        """If every query of the first listed layer has ended without error, stop the next layer the way an
        available-now query stops: each of its queries processes all that its input holds (``processAllAvailable``,
        which returns after a trigger finds nothing new, watermark-only batches included) and is stopped.  True if
        a layer was drained or the deferred analytics started; a query that fails meanwhile is left for
        :meth:`failed` to name."""
        drained = False
        while len(self.stages) > 1:
            if not self._ended(self.stages[0]):
                break
            self.stages.pop(0)
            queries = [self.queries[name] for name in self.stages[0]]
            # Side by side: processAllAvailable waits for a trigger that finds nothing new, so one query after
            # another would wait a trigger interval each.
            threads = [threading.Thread(target=_drain, args=(q,), daemon=True) for q in queries]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if any(describe_query_error(q) for q in queries):  # failed while draining: failed() names it
                return drained
            drained = True
        if len(self.stages) <= 1 and self.deferred is not None and self._ended(self.stages[0] if self.stages else ()):
            start, self.deferred = self.deferred, None
            start()
            drained = True
        return drained

    def stop(self) -> None:
        self.stages.clear()
        self.deferred = None
        for q in self.queries.values():
            try:
                q.stop()
            except Exception:  # noqa: BLE001 - stopping the others matters more
                pass

    def failed(self) -> list[tuple[str, str]]:
        """(query name, JVM cause) of every query that ended with an error."""
        out = []
        for name, q in self.queries.items():
            cause = describe_query_error(q)
            if cause is not None:
                out.append((name, cause))
        return out

    def active(self) -> int:
        """How many of the queries are still running."""
        return sum(1 for q in self.queries.values() if q.isActive)

    def rows_read(self) -> dict[str, dict[str, int]]:
        """Input rows of each query by source kind (``kafka`` or ``files``), over its recent progress records.

        Shows what each query reads: every query that starts from a topic reads
        all of it again; the analytics over the silver table read its windows.
        """
        out: dict[str, dict[str, int]] = {}
        for name, q in self.queries.items():
            kinds = {"kafka": 0, "files": 0}
            for p in q.recentProgress:
                for source in p.sources:
                    kinds["kafka" if source.description.startswith("Kafka") else "files"] += source.numInputRows
            out[name] = kinds
        return out

    def topic_reads(self) -> dict[str, dict[str, int]]:
        """Per Kafka topic: how many queries read it (``queries``) and how many records they read from it in all
        (``records``: the offsets each micro-batch moved over, per topic), over their recent progress records.
        The seed's design reads bike trips in a dozen queries; the kit's in one."""
        import json

        out: dict[str, dict[str, int]] = {}
        for q in self.queries.values():
            seen: set[str] = set()
            for p in q.recentProgress:
                for source in p.sources:
                    if not source.description.startswith("Kafka"):
                        continue
                    start = (json.loads(source.startOffset) if source.startOffset else None) or {}
                    end = (json.loads(source.endOffset) if source.endOffset else None) or {}
                    for topic, parts in end.items():
                        t = out.setdefault(topic, {"queries": 0, "records": 0})
                        # No start offset (a query's first batch): the topic's first offset, 0 on the kit's topics,
                        # which never delete by age.
                        before = start.get(topic) or {}
                        t["records"] += sum(int(o) - int(before.get(part, 0)) for part, o in parts.items())
                        if topic not in seen:
                            seen.add(topic)
                            t["queries"] += 1
        return out

    def progress_totals(self) -> tuple[int, int]:
        """(micro-batches reported, input rows) over every query's recent progress records."""
        batches = rows = 0
        for q in self.queries.values():
            for p in q.recentProgress:
                batches += 1
                rows += int(p["numInputRows"])
        return batches, rows


def _drain(query: "StreamingQuery") -> None:
    """Process everything the query's sources hold (watermark-only batches too), then stop it; a query that fails
    meanwhile keeps its exception for EtlRun.failed to name."""
    try:
        query.processAllAvailable()
    except Exception:  # noqa: BLE001 - its exception stays on the query
        return
    query.stop()


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text)[:500]


def build_streams(spark: "SparkSession", settings: Settings, read: Callable | None = None) -> dict[str, "DataFrame"]:
    """The ETL's DataFrames by name (streaming by default, batch with ``read=read_kafka_batch``).

    ``raw:<kind>`` the Kafka records, ``<kind>`` the parsed valid records (what
    the raw Parquet gets: every record that arrived, duplicates too), for each
    record kind of :mod:`etl_lib.core.kinds` by its id, with its parser, and
    ``combined`` the 15-minute windows (where each event counts once).
    """
    from . import parsing
    from .analytics import create_combined_transport_weather_window
    from .spark import read_kafka_stream

    # A backlog (a year, a restart after days) is read in batches of at most KAFKA_MAX_OFFSETS_PER_TRIGGER records.
    read = read or read_kafka_stream
    raw = {t: read(spark, topic, settings) for t, topic in settings.kafka_topics.items()}
    streams: dict[str, "DataFrame"] = {f"raw:{t}": df for t, df in raw.items()}
    for kind in KINDS:
        streams[kind.id] = getattr(parsing, kind.parser)(raw[kind.id], settings)
    streams["combined"] = create_combined_transport_weather_window(
        streams["bike"], streams["taxi"], streams["weather"], settings)
    return streams


def _require_topics(settings: Settings) -> None:
    """Refuse to start the ETL when a topic it reads is not on the broker, naming its ``KAFKA_TOPIC_*`` setting.

    One admin call lists the broker's topics.  Without it, Spark starts every
    query, and each one reading a missing topic fails with an error that names
    the query instead of the setting.
    """
    from kafka.errors import KafkaError

    from .core.errors import BrokerError, ConfigError
    from .core.kafka import _admin

    bootstrap = settings.kafka_bootstrap_servers
    try:
        admin = _admin(settings, client_id="etl-kit-topics")
        try:
            present = set(admin.list_topics())
        finally:
            admin.close()
    except (KafkaError, OSError, ValueError) as err:
        from .spark import _require_broker

        _require_broker(settings)  # no broker: its own message names KAFKA_BOOTSTRAP_SERVERS and the fix
        raise BrokerError(f"Kafka at KAFKA_BOOTSTRAP_SERVERS={bootstrap!r} answers, but listing its topics failed: "
                          f"{type(err).__name__}: {err}") from None
    missing = [(kind, topic) for kind, topic in settings.kafka_topics.items() if topic not in present]
    if missing:
        raise ConfigError(
            "\n".join(f"{by_id(kind).setting}={topic!r}: the broker at {bootstrap} has no such topic."
                      for kind, topic in missing)
            + "\nCorrect the setting, or create and fill the topics with `python -m data_gen --days 1` (it writes to "
            "the topics these settings name), or run `python -m etl_lib demo`, which creates them and runs everything.")


def events_schema(streams: dict[str, "DataFrame"]) -> "StructType":
    """The schema of the events tables (bronze and silver): every record kind's parsed stream of
    :func:`build_streams` in the common event schema (:func:`etl_lib.analytics.kind_events`)."""
    from .analytics import kind_events

    union = None
    for kind in KINDS:
        part = kind_events(streams[kind.id], kind.id)
        union = part if union is None else union.unionByName(part)
    return union.schema


def _refuse_mixed_layout(settings: Settings) -> None:
    """The seed's design must not continue the kit's raw tables: their logs number the kit's raw query's batches."""
    from .core.settings import Location
    from .writers import RAW_QUERY

    done = settings.checkpoint_base_path / RAW_QUERY
    if not isinstance(done, Location) and done.exists():
        raise KitError(f"{settings.data_dir} holds the kit's ETL ({done}); the seed's design (silver=False) writes the "
                       "same folders with other queries. Give it a DATA_DIR of its own.")


def _start(spark: "SparkSession", settings: Settings, available_now: bool, echo: Callable[[str], None],
           silver: bool) -> EtlRun:
    from . import parsing
    from .writers import write_analytics_stream, write_parquet_stream, write_quarantine_stream

    _require_topics(settings)
    run = EtlRun()
    streams = build_streams(spark, settings)
    enabled = [a for a in ANALYTICS if getattr(settings, a.setting)]

    def analytic(a: Analytic, df: "DataFrame", trigger: "bool | str" = available_now) -> None:
        run.queries[a.name] = write_analytics_stream(df, a.name, "append", settings, trigger)
        echo(f"  ✓ {a.title} -> {a.name}")

    try:
        for a in ANALYTICS:
            if a not in enabled:
                echo(f"  - {a.title}: off ({a.flag}=false)")
        if silver:
            _start_layers(spark, settings, available_now, echo, run, streams, enabled, analytic)
            return run
        # The seed's design: every query reads Kafka and parses on its own (kept to compare: lesson 09).
        _refuse_mixed_layout(settings)
        echo("Step 1: raw ETL (Kafka -> parsed Parquet, rejected records -> quarantine)")
        for kind in KINDS:
            t, folder = kind.id, kind.folder
            run.queries[f"raw_{folder}"] = write_parquet_stream(streams[t], folder, settings, available_now)
            run.queries[f"quarantine_{folder}"] = write_quarantine_stream(
                parsing.quarantine_records(streams[f"raw:{t}"], t, settings), folder, settings, available_now)
            echo(f"  ✓ {settings.kafka_topics[t]:<13} -> raw_{folder} + quarantine_{folder}")
        echo("Step 2: analytics from Kafka")
        for a in enabled:
            analytic(a, build_analytic(a, streams, settings))
    except BaseException:
        run.stop()
        raise
    return run


def _start_layers(spark: "SparkSession", settings: Settings, available_now: bool, echo: Callable[[str], None],
                  run: EtlRun, streams: dict[str, "DataFrame"], enabled: list[Analytic],
                  analytic: Callable[[Analytic, "DataFrame", "bool | str"], None]) -> None:
    """The kit's design, layer by layer: bronze (one raw query reads Kafka), silver (the events each once; the
    combined windows), gold (the analytics).  Every layer after the raw query reads the tables of the layer before
    as file streams; in an available-now run they follow it (``FOLLOW``) and ``EtlRun.drain_next`` stops them."""
    from .analytics import SILVER_WINDOWS, deduplicate_events, from_events, read_combined_windows_stream
    from .spark import read_kafka_stream
    from .writers import EVENTS, FOLLOW, RAW_QUERY, write_raw_streams, write_silver_stream

    later = FOLLOW if available_now else False
    schema = events_schema(streams)
    on_windows = [a for a in enabled if a.on_windows]
    on_events = [a for a in enabled if not a.on_windows]
    echo(f"Step 1: raw ETL, one query ({RAW_QUERY}): each topic read once, each record parsed once")
    topics = ",".join(settings.kafka_topics[k.id] for k in KINDS)
    run.queries[RAW_QUERY] = write_raw_streams(read_kafka_stream(spark, topics, settings), settings, available_now)
    for kind in KINDS:
        echo(f"  ✓ {settings.kafka_topics[kind.id]:<13} -> raw_{kind.folder} + quarantine_{kind.folder}")
    echo(f"  ✓ the four topics' events -> raw/{EVENTS}")
    stages: list[tuple[str, ...]] = [(RAW_QUERY,)]
    if not enabled:
        return
    echo("Step 2: silver: each event once, and the combined windows")
    run.queries[EVENTS_QUERY] = write_silver_stream(deduplicate_events(spark, schema, settings), EVENTS, settings,
                                                    later)
    echo(f"  ✓ raw/{EVENTS}, each event once -> silver/{EVENTS}")
    stages.append((EVENTS_QUERY,))
    third: list[str] = []
    if on_windows:
        windows = from_events("create_combined_transport_weather_window", spark, schema, settings)
        run.queries[SILVER_QUERY] = write_silver_stream(windows, SILVER_WINDOWS, settings, later)
        echo(f"  ✓ combined {settings.window_duration_medium} windows -> silver/{SILVER_WINDOWS}")
        third.append(SILVER_QUERY)
    echo("Step 3: gold: the analytics over the silver events and the silver windows")
    for a in on_events:
        analytic(a, from_events(a.build, spark, schema, settings), later)
        third.append(a.name)
    stages.append(tuple(third))

    def start_gold() -> None:
        combined = {"combined": read_combined_windows_stream(spark, streams["combined"].schema, settings)}
        for a in on_windows:
            analytic(a, build_analytic(a, combined, settings), available_now)

    if on_windows:
        if available_now:
            # The windows are few (96 a day), so in an available-now run these seven read them in one batch each,
            # available-now, once the silver windows have ended: that costs less than following them trigger by
            # trigger (bench/etl_scaling.py, issue 40's closing note).
            run.deferred = start_gold
            echo(f"  … {len(on_windows)} analytics over the windows start when the silver windows have ended")
        else:
            start_gold()
    run.stages = stages if available_now else []


def _wait_a_little(spark: "SparkSession") -> None:
    """Half a second, or until a query ends (a failed one is named with its cause by ``EtlRun.failed``)."""
    from pyspark.errors import PySparkException

    try:
        spark.streams.awaitAnyTermination(0.5)
    except PySparkException:
        pass
    spark.streams.resetTerminated()


def start_etl(spark: "SparkSession", settings: Settings, available_now: bool = False,
              echo: Callable[[str], None] = print, *, silver: bool = True) -> EtlRun:
    """Start the ETL in layers, the medallion layout: bronze (the raw query: each topic read once, each record
    parsed once, to raw Parquet, quarantine and the events table), silver (each event once; the combined
    windows), gold (the analytics over the silver events and the silver windows).  Every query starts now;
    with ``available_now`` the later layers follow the raw query and :func:`run_etl` (or
    :meth:`EtlRun.drain_next`) stops them when it has ended.  ``silver=False`` runs seed 003's design instead:
    raw and quarantine each read Kafka, and so does every analytic (the slower design, kept for comparison).
    """
    run = _start(spark, settings, available_now, echo, silver)
    if run.deferred is None:
        echo(f"=== ALL STREAMS STARTED ({len(run.queries)} total) ===")
    else:
        echo(f"=== {len(run.queries)} STREAMS STARTED; the analytics over the windows follow ===")
    return run


def run_etl(spark: "SparkSession", settings: Settings, *, available_now: bool = False,
            run_for: float | None = None, echo: Callable[[str], None] = print,
            stop_event: threading.Event | None = None, silver: bool = True) -> EtlRun:
    """Start everything and wait: until each query finishes (available-now), ``run_for`` seconds pass,
    ``stop_event`` is set, or a query fails (raised as :class:`QueryFailedError` naming it and its cause).

    All queries are stopped at the end; ``run.active_at_end`` holds how many
    were still running when the wait ended (before they were stopped).
    """

    run = start_etl(spark, settings, available_now, echo, silver=silver)
    announced = run.deferred is None
    stop_event = stop_event or threading.Event()
    deadline = time.monotonic() + run_for if run_for else None
    try:
        while not stop_event.is_set():
            if run.failed():
                break
            if run.drain_next():
                if not announced and run.deferred is None:
                    echo(f"=== ALL STREAMS STARTED ({len(run.queries)} total) ===")
                    announced = True
                continue
            if run.active() == 0:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            _wait_a_little(spark)
        run.active_at_end = run.active()
    finally:
        failed = run.failed()  # read before stop(): the causes are in the JVM
        run.stop()
    if failed:
        from .spark import spark_log_file

        raise QueryFailedError(failed, str(spark_log_file(settings)))
    return run


@run
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl_lib run", description=__doc__.splitlines()[0] + " "
                                     "Reads the four Kafka topics, writes raw Parquet, quarantine and analytics.")
    parser.add_argument("--available-now", action="store_true",
                        help="process what Kafka holds now, then stop (batch-style run with streaming semantics)")
    parser.add_argument("--run-for", type=float, default=None, metavar="SECONDS",
                        help="stop all streams after this many seconds")
    parser.add_argument("--report", action="store_true", help="write the plots and HTML report at the end")
    args = parser.parse_args(argv)
    settings = settings_or_exit()

    stop = threading.Event()

    def on_signal(signum, frame):  # noqa: ARG001
        if stop.is_set():
            raise KeyboardInterrupt
        print("\nStopping all streams (Ctrl+C again to force)...", file=sys.stderr, flush=True)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    spark = None
    try:
        from .spark import create_spark_session

        print("=== Starting Boston Transport ETL with Data Analysis ===")
        _require_topics(settings)  # before the JVM: a missing topic is named in a second, not after Spark's start
        from .core.sharing import register

        register(settings, settings.kafka_topics.values(), outputs=True)  # no other run may reset these topics now
        spark = create_spark_session(settings)
        print(f"Spark {spark.version} ({settings.spark_master}); Kafka {settings.kafka_bootstrap_servers}")
        print(f"Raw data -> {settings.output_base_path}\nAnalytics -> {settings.analytics_output_path}")
        run = run_etl(spark, settings, available_now=args.available_now, run_for=args.run_for, stop_event=stop)
        batches, rows = run.progress_totals()
        print(f"Stopped: {run.active_at_end} of {len(run.queries)} queries active at the end "
              f"({batches} micro-batches reported, {rows:,} input rows)")
        if args.report:
            from .report import write_report

            print(f"Report: {write_report(settings)}")
        print("ETL finished")
        return 0
    except KitError as err:
        return fail(err)
    except Exception as err:  # noqa: BLE001 - a Spark error while starting a query: no traceback for the user
        from pyspark.errors import PySparkException

        if not isinstance(err, PySparkException):
            raise
        from .spark import spark_log_file

        return fail(KitError(f"Spark refused to start the ETL: {type(err).__name__}: {_first_line(str(err))}\n"
                             f"The Spark driver log has the details: {spark_log_file(settings)}"))
    finally:
        if spark is not None:
            from .spark import stop_spark

            stop_spark(spark)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
