"""``python -m etl_lib.main``: the orchestrator of seed 003.

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

from . import _jvm
from ._cli import settings_or_exit
from .config import Settings
from .kafka_local import BrokerError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

__all__ = ["ANALYTICS", "EtlRun", "QueryFailedError", "start_etl", "run_etl", "main"]


class QueryFailedError(RuntimeError):
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


@dataclass(frozen=True)
class Analytic:
    flag: str
    name: str  # output folder and query name
    title: str
    build: Callable[[dict, Settings], "DataFrame"]


def _analytics() -> tuple[Analytic, ...]:
    from . import analytics as A

    c = "combined"
    return (
        Analytic("ENABLE_WEATHER_TRANSPORT_CORRELATION", "weather_transport_correlation",
                 "weather-transport correlation", lambda s, cfg: A.calculate_weather_transport_correlation(s[c])),
        Analytic("ENABLE_WEATHER_SAFETY_ANALYSIS", "weather_safety_analysis", "weather-safety analysis",
                 lambda s, cfg: A.calculate_weather_safety_risk(s["accidents"], s["weather"], cfg)),
        Analytic("ENABLE_SURGE_WEATHER_CORRELATION", "surge_weather_correlation", "surge-weather correlation",
                 lambda s, cfg: A.calculate_surge_weather_correlation(s[c], cfg)),
        Analytic("ENABLE_TRANSPORT_USAGE_SUMMARY", "transport_usage_summary", "transport usage summary",
                 lambda s, cfg: A.generate_transport_usage_summary(s["bike"], s["taxi"], cfg)),
        Analytic("ENABLE_PEARSON_CORRELATIONS", "pearson_correlations", "Pearson correlations",
                 lambda s, cfg: A.calculate_pearson_correlations(s[c], cfg)),
        Analytic("ENABLE_BINNED_AGGREGATIONS", "weather_binned_metrics", "binned weather aggregations",
                 lambda s, cfg: A.calculate_binned_weather_aggregations(s[c], cfg)),
        Analytic("ENABLE_PRECIPITATION_ANALYSIS", "precipitation_impact", "precipitation impact",
                 lambda s, cfg: A.calculate_precipitation_impact_analysis(s[c], cfg)),
        Analytic("ENABLE_TEMPORAL_CORRELATIONS", "temporal_correlations", "temporal segmented correlations",
                 lambda s, cfg: A.calculate_temporal_segmented_correlations(s[c], cfg)),
        Analytic("ENABLE_MULTI_VARIABLE_SUMMARY", "multi_variable_summary", "multi-variable summary",
                 lambda s, cfg: A.calculate_multi_variable_correlation_summary(s[c], cfg)),
    )


ANALYTICS: tuple[Analytic, ...] = _analytics()


@dataclass
class EtlRun:
    """The started queries, by name, in start order."""

    queries: dict[str, "StreamingQuery"] = field(default_factory=dict)
    active_at_end: int | None = None

    def stop(self) -> None:
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

    def progress_totals(self) -> tuple[int, int]:
        """(micro-batches reported, input rows) over every query's recent progress records."""
        batches = rows = 0
        for q in self.queries.values():
            for p in q.recentProgress:
                batches += 1
                rows += int(p["numInputRows"])
        return batches, rows


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text)[:500]


def build_streams(spark: "SparkSession", settings: Settings, read: Callable | None = None) -> dict[str, "DataFrame"]:
    """The ETL's DataFrames by name (streaming by default, batch with ``read=read_kafka_batch``).

    ``raw:<topic>`` the Kafka records, ``<topic>`` the parsed valid records (what
    the raw Parquet gets: every record that arrived, duplicates too), and
    ``combined`` the 15-minute windows (where each event counts once).
    """
    from . import parsing
    from .analytics import create_combined_transport_weather_window
    from .spark import read_kafka_stream

    read = read or read_kafka_stream
    raw = {t: read(spark, topic, settings) for t, topic in settings.kafka_topics.items()}
    streams: dict[str, "DataFrame"] = {f"raw:{t}": df for t, df in raw.items()}
    streams["bike"] = parsing.parse_bike_stream(raw["bike"])
    streams["taxi"] = parsing.parse_taxi_stream(raw["taxi"])
    streams["weather"] = parsing.parse_weather_stream(raw["weather"])
    streams["accidents"] = parsing.parse_accident_stream(raw["accidents"])
    streams["combined"] = create_combined_transport_weather_window(
        streams["bike"], streams["taxi"], streams["weather"], settings)
    return streams


def start_etl(spark: "SparkSession", settings: Settings, available_now: bool = False,
              echo: Callable[[str], None] = print) -> EtlRun:
    """Start the four raw streams, their quarantine streams and every enabled analytics stream."""
    from . import parsing
    from .writers import TOPIC_FOLDERS, write_analytics_stream, write_parquet_stream, write_quarantine_stream

    run = EtlRun()
    streams = build_streams(spark, settings)
    try:
        echo("Step 1: raw ETL (Kafka -> parsed Parquet, rejected records -> quarantine)")
        for t, folder in TOPIC_FOLDERS.items():
            run.queries[f"raw_{folder}"] = write_parquet_stream(streams[t], folder, settings, available_now)
            run.queries[f"quarantine_{folder}"] = write_quarantine_stream(
                parsing.quarantine_records(streams[f"raw:{t}"], t), folder, settings, available_now)
            echo(f"  ✓ {settings.kafka_topics[t]:<13} -> raw_{folder} + quarantine_{folder}")
        echo("Step 2: analytics")
        for a in ANALYTICS:
            if not getattr(settings, a.flag.lower()):
                echo(f"  - {a.title}: off ({a.flag}=false)")
                continue
            run.queries[a.name] = write_analytics_stream(a.build(streams, settings), a.name, "append", settings,
                                                         available_now)
            echo(f"  ✓ {a.title} -> {a.name}")
    except BaseException:
        run.stop()
        raise
    echo(f"=== ALL STREAMS STARTED ({len(run.queries)} total) ===")
    return run


def run_etl(spark: "SparkSession", settings: Settings, *, available_now: bool = False,
            run_for: float | None = None, echo: Callable[[str], None] = print,
            stop_event: threading.Event | None = None) -> EtlRun:
    """Start everything and wait: until each query finishes (available-now), ``run_for`` seconds pass,
    ``stop_event`` is set, or a query fails (raised as :class:`QueryFailedError` naming it and its cause).

    All queries are stopped at the end; ``run.active_at_end`` holds how many
    were still running when the wait ended (before they were stopped).
    """
    from pyspark.errors import PySparkException

    run = start_etl(spark, settings, available_now, echo)
    stop_event = stop_event or threading.Event()
    deadline = time.monotonic() + run_for if run_for else None
    try:
        while not stop_event.is_set():
            if run.failed():
                break
            if run.active() == 0:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                spark.streams.awaitAnyTermination(0.5)
            except PySparkException:
                pass  # a failed query: named with its cause by run.failed() below
            spark.streams.resetTerminated()
        run.active_at_end = run.active()
    finally:
        failed = run.failed()  # read before stop(): the causes are in the JVM
        run.stop()
    if failed:
        from .spark import spark_log_file

        raise QueryFailedError(failed, str(spark_log_file(settings)))
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl_lib.main", description=__doc__.splitlines()[0] + " "
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
    except (BrokerError, _jvm.JavaError, _jvm.JarsMissingError) as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    except QueryFailedError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - a Spark error while starting a query: no traceback for the user
        from pyspark.errors import PySparkException

        if not isinstance(err, PySparkException):
            raise
        from .spark import spark_log_file

        print(f"Error: Spark refused to start the ETL: {type(err).__name__}: {_first_line(str(err))}\n"
              f"The Spark driver log has the details: {spark_log_file(settings)}", file=sys.stderr)
        return 1
    finally:
        if spark is not None:
            from .spark import stop_spark

            stop_spark(spark)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
