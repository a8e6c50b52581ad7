"""One immutable settings object for the whole kit, read from environment variables.

Every knob the seed's ``config.py`` had lives here, with the same environment
variable names, plus the thread-pipeline settings.  Values are checked when the
settings are loaded, so a typo such as ``WINDOW_DURATION_MEDIUM="15 minuts"``
stops the program at once with a message naming the variable, the value and the
accepted form -- never later as a traceback from inside Spark.

>>> s = load_settings({"ENABLE_PEARSON_CORRELATIONS": "false"})
>>> s.enable_pearson_correlations, s.source("ENABLE_PEARSON_CORRELATIONS")
(False, 'environment')
>>> s.kafka_bootstrap_servers, s.source("KAFKA_BOOTSTRAP_SERVERS")
('127.0.0.1:9092', 'default')

Every setting is declared once, in ``_FIELDS`` (variable, default, parser,
meaning), and is one typed field of :class:`Settings`, written out so an editor
sees it; a check at import stops the kit when the two differ.  The parsers live
in :mod:`etl_lib.core.values`, the Kafka security options the settings imply in
:mod:`etl_lib.core.kafka`.  Run ``python -m etl_lib config`` to print the
effective settings and where each one came from.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from .catalog import ANALYTICS
from .errors import ConfigError
from .kinds import KINDS
from .values import (Location, duration_seconds, parse_bool, parse_bootstrap, parse_choice, parse_duration,
                     parse_java_options, parse_location, parse_master, parse_memory, parse_optional_text, parse_path,
                     parse_port, parse_port_or_auto, parse_positive_float, parse_positive_int, parse_size, parse_text,
                     parse_time_floor, parse_topic)

__all__ = [
    "ConfigError",
    "Settings",
    "load_settings",
    "get_settings",
    "duration_seconds",
    "project_root",
    "ANALYTICS_FLAGS",
    "Location",
    "QUICK_START_JVM_OPTIONS",
    "LONG_JOB_JVM_OPTIONS",
]


def project_root() -> Path:
    """The folder holding ``pyproject.toml`` (a source checkout), else the working directory."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


# --------------------------------------------------------------------------- fields
@dataclasses.dataclass(frozen=True)
class _Field:
    env: str
    default: Any  # a raw string, or a callable(root, values) for derived defaults
    parse: Callable[[str], Any]
    help: str


def _under_data(sub: str) -> Callable[[dict[str, Any]], str]:
    return lambda values: str(values["DATA_DIR"] / sub)


ANALYTICS_FLAGS = tuple(a.flag for a in ANALYTICS)

# The kit's Spark jobs are short: a lesson or a test runs a few thousand records through a dozen queries in a
# fresh JVM, where the optimising C2 compiler spends more CPU than it later saves (on 2 cores it competes with
# the queries).  C1 only, and the throughput collector instead of G1: a small world's first ETL 69 s -> 38-46 s.
# The demo's world too (52.7 s -> 46.7 s).  A job of many minutes gains from C2: LONG_JOB_JVM_OPTIONS below.
# C1 alone gets a 48 MB code cache, which a session running many queries fills (Spark generates classes for
# every query): Java then stops compiling and runs the rest interpreted.  256 MB is Java's own tiered default.
QUICK_START_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -XX:+UseParallelGC"
# A job of minutes (a year of records, the real 2018 files): C2 back on, the same collector.  Measured with
# bench/etl_scaling.py (2 cores, one run each): the ETL's marginal rate over 1 -> 4 simulated weeks 5.3k rec/s
# with the options above, 18.4k rec/s with these; the demo 57 s -> 60 s (docs/scale.md).
LONG_JOB_JVM_OPTIONS = "-XX:ReservedCodeCacheSize=256m -XX:+UseParallelGC"

_FIELDS: tuple[_Field, ...] = (
    # Kafka
    _Field("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092", parse_bootstrap, "Kafka brokers to connect to"),
    _Field("KAFKA_TOPIC_BIKE", "bike-trips", parse_topic, "topic of bike trips"),
    _Field("KAFKA_TOPIC_TAXI", "taxi-trips", parse_topic, "topic of taxi trips"),
    _Field("KAFKA_TOPIC_WEATHER", "weather-data", parse_topic, "topic of weather observations"),
    _Field("KAFKA_TOPIC_ACCIDENTS", "accidents", parse_topic, "topic of accident reports"),
    _Field("KAFKA_PARTITIONS", "3", parse_positive_int, "partitions per topic the kit creates"),
    _Field("KAFKA_REPLICATION_FACTOR", "1", parse_positive_int,
           "copies of each partition in topics the kit creates (1 on one broker; 3 on a cluster)"),
    _Field("KAFKA_MIN_INSYNC_REPLICAS", "1", parse_positive_int,
           "replicas that must have a record before acks=all succeeds (2 with replication factor 3)"),
    _Field("KAFKA_STARTING_OFFSETS", "earliest", parse_choice("earliest", "latest"),
           "where a new streaming query starts reading"),
    _Field("KAFKA_FAIL_ON_DATA_LOSS", "true", parse_bool,
           "stop a query when Kafka data it expected is gone (deleted topic, expired offsets)"),
    # A cap, not a pace: a live stream's batches stay far below it; a backlog (a year replayed, a query restarted
    # after days) is read in batches of this many records, so the watermark advances and the state that waits for
    # it stays bounded.  One batch for a simulated year held all its records in the deduplication state and ran a
    # 2 GB driver out of heap (bench/etl_scaling.py).
    _Field("KAFKA_MAX_OFFSETS_PER_TRIGGER", "200000", parse_positive_int,
           "most Kafka records one micro-batch of an ETL query reads (bounds memory on a backlog)"),
    _Field("KAFKA_CONTROLLER_PORT", "auto", parse_port_or_auto,
           "KRaft controller port of the local broker the kit starts (auto: any free port)"),
    # How every Kafka client of the kit (kafka-python and Spark's Kafka source) authenticates.
    _Field("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", parse_choice("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", upper=True),
           "how clients talk to the brokers (a managed Kafka usually needs SASL_SSL)"),
    _Field("KAFKA_SASL_MECHANISM", "PLAIN", parse_choice("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", upper=True),
           "SASL mechanism (with a SASL_* protocol)"),
    _Field("KAFKA_SASL_USERNAME", "", parse_optional_text, "SASL user name (with a SASL_* protocol)"),
    _Field("KAFKA_SASL_PASSWORD", "", parse_optional_text, "SASL password (with a SASL_* protocol; never printed)"),
    _Field("KAFKA_SSL_CA_FILE", "", parse_optional_text,
           "PEM file of the CA that signed the brokers' certificates (with SSL/SASL_SSL; empty: the system's)"),
    # Spark
    _Field("SPARK_APP_NAME", "ETL Data Analysis", parse_text, "name shown in the Spark UI"),
    # Four task threads even on two cores: a task often waits on Kafka or the disk, and the ETL runs a dozen
    # streaming queries at once (the demo's ETL 59 s with local[2]/local[*] on 2 cores, 50 s with local[4]).
    _Field("SPARK_MASTER", "local[4]", parse_master,
           "where Spark runs: local[N] (N task threads in this process) or a cluster URL"),
    _Field("SPARK_DRIVER_MEMORY", "2g", parse_memory, "driver JVM heap (local mode: all of Spark)"),
    _Field("SPARK_DRIVER_JAVA_OPTIONS", QUICK_START_JVM_OPTIONS, parse_java_options,
           "more options of the driver JVM (default: a quick-starting JIT for short runs; empty for long jobs)"),
    _Field("SPARK_SHUFFLE_PARTITIONS", "4", parse_positive_int, "spark.sql.shuffle.partitions (few for one machine)"),
    _Field("SPARK_UI_ENABLED", "true", parse_bool, "start the Spark web UI"),
    _Field("SPARK_UI_PORT", "4040", parse_port, "port of the Spark web UI"),
    _Field("BATCH_INTERVAL", "10 seconds", parse_duration, "micro-batch trigger interval"),
    # Paths (project-local by default, never /data or /tmp)
    _Field("DATA_DIR", lambda values: str(project_root() / "data"), parse_path,
           "root of everything the kit writes"),
    _Field("OUTPUT_BASE_PATH", _under_data("processed_simple"), parse_location, "raw ETL Parquet output"),
    _Field("CHECKPOINT_BASE_PATH", _under_data("checkpoints/raw"), parse_location, "checkpoints of the raw ETL streams"),
    _Field("QUARANTINE_PATH", _under_data("quarantine"), parse_location, "Parquet of records that could not be parsed"),
    _Field("SILVER_PATH", _under_data("silver"), parse_location,
           "silver tables: the combined 15-minute windows the chained analytics read"),
    _Field("ANALYTICS_OUTPUT_PATH", _under_data("analytics"), parse_location, "analytics Parquet output"),
    _Field("ANALYTICS_CHECKPOINT_PATH", _under_data("checkpoints/analytics"), parse_location,
           "checkpoints of the analytics streams"),
    # Windows
    _Field("WINDOW_DURATION_SHORT", "5 minutes", parse_duration, "window for fast-moving metrics"),
    _Field("WINDOW_DURATION_MEDIUM", "15 minutes", parse_duration, "window for correlations"),
    _Field("WINDOW_DURATION_LONG", "1 hour", parse_duration, "window for rare events (accidents)"),
    _Field("SLIDE_DURATION", "5 minutes", parse_duration, "slide of sliding windows"),
    _Field("WATERMARK_DELAY", "10 minutes", parse_duration, "how late an event may arrive and still count"),
    # Event-time sanity (parsing.py): a record whose event time cannot be true is quarantined before it reaches a
    # watermark, where a single year-9999 record would hold every stateful query that reads it still for good.  Both rules
    # compare with values stored in the record or here, never the wall clock, so a replayed batch gets the same
    # verdict.  One hour ahead is what a Kafka 4.x broker itself accepts of a producer's clock by default on
    # CreateTime topics (log.message.timestamp.after.max.ms; topic override message.timestamp.after.max.ms).
    _Field("EVENT_TIME_MAX_AHEAD", "1 hour", parse_duration,
           "how far an event time may lie after the record's Kafka timestamp (later: quarantined)"),
    _Field("EVENT_TIME_FLOOR", "2000-01-01 00:00:00", parse_time_floor,
           "earliest event time accepted (earlier: quarantined)"),
    # Feature flags
    *(_Field(flag, "true", parse_bool, "start the " + flag[len("ENABLE_"):].lower().replace("_", " ") + " stream")
      for flag in ANALYTICS_FLAGS),
    # Thread/queue pipelines (seed 000)
    _Field("MINIBATCH_WINDOW_SECONDS", "5", parse_positive_float, "length of one minibatch window"),
    _Field("PIPELINE_WORKERS", "10", parse_positive_int, "worker threads per pipeline"),
    _Field("PIPELINE_QUEUE_SIZE", "50", parse_positive_int, "bounded queue size (backpressure)"),
    _Field("BUCKET_CAPACITY_BYTES", str(10 * 1024 * 1024), parse_size, "capacity of one file bucket"),
    # The practice cluster (python -m etl_lib cluster), all on 127.0.0.1
    _Field("CLUSTER_KAFKA_PORT", "19092", parse_port,
           "practice cluster: first of its three broker ports (controllers listen 100 above each)"),
    _Field("CLUSTER_SPARK_PORT", "7077", parse_port, "practice cluster: the Spark master's port"),
    _Field("CLUSTER_SPARK_UI_PORT", "8080", parse_port,
           "practice cluster: the Spark master's web UI (the two workers' UIs on the next two ports)"),
)

_SECRET = {"KAFKA_SASL_PASSWORD"}
# Older names still read (the new name wins when both are set).
_RENAMED = {"KAFKA_TOPIC_PARTITIONS": "KAFKA_PARTITIONS"}

_BY_ENV = {f.env: f for f in _FIELDS}


def _attr(env: str) -> str:
    return env.lower()


# --------------------------------------------------------------------------- the object
@dataclasses.dataclass(frozen=True)
class Settings:
    """The effective settings.  Attribute names are the environment names in lower case.

    One field per entry of ``_FIELDS``, in its order (``KAFKA_BOOTSTRAP_SERVERS`` ->
    ``kafka_bootstrap_servers``), typed as its parser returns; a check at import
    keeps the two in step.  Build it with :func:`load_settings`, change it with
    :meth:`replace`.  The Kafka security options of these settings come from
    :func:`etl_lib.core.kafka.client_options` and :func:`etl_lib.core.kafka.spark_kafka_options`.
    """

    # Kafka
    kafka_bootstrap_servers: str
    kafka_topic_bike: str
    kafka_topic_taxi: str
    kafka_topic_weather: str
    kafka_topic_accidents: str
    kafka_partitions: int
    kafka_replication_factor: int
    kafka_min_insync_replicas: int
    kafka_starting_offsets: str
    kafka_fail_on_data_loss: bool
    kafka_max_offsets_per_trigger: int
    kafka_controller_port: int
    kafka_security_protocol: str
    kafka_sasl_mechanism: str
    kafka_sasl_username: str
    kafka_sasl_password: str
    kafka_ssl_ca_file: str
    # Spark
    spark_app_name: str
    spark_master: str
    spark_driver_memory: str
    spark_driver_java_options: str
    spark_shuffle_partitions: int
    spark_ui_enabled: bool
    spark_ui_port: int
    batch_interval: str
    # Paths: DATA_DIR is on this machine; the others may be URIs Spark resolves (a Location)
    data_dir: Path
    output_base_path: Path | Location
    checkpoint_base_path: Path | Location
    quarantine_path: Path | Location
    silver_path: Path | Location
    analytics_output_path: Path | Location
    analytics_checkpoint_path: Path | Location
    # Windows and event-time sanity
    window_duration_short: str
    window_duration_medium: str
    window_duration_long: str
    slide_duration: str
    watermark_delay: str
    event_time_max_ahead: str
    event_time_floor: str
    # Feature flags, one per analytic of the catalog (ANALYTICS_FLAGS), in its order
    enable_weather_transport_correlation: bool
    enable_weather_safety_analysis: bool
    enable_surge_weather_correlation: bool
    enable_transport_usage_summary: bool
    enable_pearson_correlations: bool
    enable_binned_aggregations: bool
    enable_precipitation_analysis: bool
    enable_temporal_correlations: bool
    enable_multi_variable_summary: bool
    enable_realtime_usage: bool
    enable_sliding_usage: bool
    # Thread/queue pipelines
    minibatch_window_seconds: float
    pipeline_workers: int
    pipeline_queue_size: int
    bucket_capacity_bytes: int
    # The practice cluster
    cluster_kafka_port: int
    cluster_spark_port: int
    cluster_spark_ui_port: int
    # Where each setting came from (see source()); not a setting itself.
    _sources: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @property
    def kafka_topics(self) -> dict[str, str]:
        """The seed's ``KAFKA_TOPICS``: record kind (:mod:`etl_lib.core.kinds`) -> topic name."""
        return {k.id: getattr(self, k.topic_attribute) for k in KINDS}

    @property
    def kafka_topic_partitions(self) -> int:
        """The older name of :attr:`kafka_partitions`."""
        return self.kafka_partitions

    def enabled_analytics(self) -> list[str]:
        """The ``ENABLE_*`` flags that are on, in the seed's order."""
        return [flag for flag in ANALYTICS_FLAGS if getattr(self, _attr(flag))]

    def source(self, env: str) -> str:
        """Where a setting came from: ``'environment'`` or ``'default'``."""
        if env not in _BY_ENV:
            raise KeyError(f"unknown setting {env!r}")
        return self._sources.get(env, "default")

    def replace(self, **changes: Any) -> "Settings":
        """A copy with some settings changed (lower-case names), re-validated.

        >>> load_settings({}).replace(pipeline_workers=2).pipeline_workers
        2
        """
        # Only what did not come from a default is carried over, so that derived
        # defaults (the paths under DATA_DIR) follow a changed DATA_DIR.
        env = {name: v for name, v in self.as_env().items() if self.source(name) != "default"}
        sources = dict(self._sources)
        for key, value in changes.items():
            name = key.upper()
            if name not in _BY_ENV:
                raise ConfigError(f"unknown setting {key!r}")
            if isinstance(value, bool):
                value = "true" if value else "false"
            env[name] = os.fspath(value) if isinstance(value, Path) else str(value)
            sources[name] = "override"
        result = load_settings(env)
        object.__setattr__(result, "_sources", sources)
        return result

    def as_env(self) -> dict[str, str]:
        """Every setting as the environment variable that would reproduce it."""
        out = {}
        for f in _FIELDS:
            value = getattr(self, _attr(f.env))
            out[f.env] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return out

    def describe(self) -> list[tuple[str, str, str, str]]:
        """Rows of (variable, value, source, meaning) for printing."""
        env = self.as_env()
        return [(f.env, "***" if f.env in _SECRET and env[f.env] else env[f.env], self.source(f.env), f.help)
                for f in _FIELDS]


# The annotation each parser's values get in Settings (a local Path, or a Location handed to Spark unchanged).
_ANNOTATIONS: dict[Callable[[str], Any], str] = {
    parse_bool: "bool", parse_positive_int: "int", parse_port: "int", parse_port_or_auto: "int", parse_size: "int",
    parse_positive_float: "float", parse_path: "Path", parse_location: "Path | Location",
}


def _drift() -> list[str]:
    """How the fields of :class:`Settings` differ from the table ``_FIELDS`` (names, order, types); empty: none."""
    have = [(f.name, f.type) for f in dataclasses.fields(Settings) if f.name != "_sources"]
    want = [(_attr(f.env), _ANNOTATIONS.get(f.parse, "str")) for f in _FIELDS]
    return [f"field {i}: Settings has {h}, _FIELDS wants {w}"
            for i, (h, w) in enumerate(itertools.zip_longest(have, want)) if h != w]


if _drift():  # a setting added to one but not the other: stop at import, naming the difference
    raise TypeError("Settings and _FIELDS differ (add the setting to both, in the same place):\n"
                    + "\n".join(_drift()[:5]))


def _cross_checks(values: dict[str, Any]) -> list[str]:
    """Problems that only a pair of settings shows (each value may be fine on its own), and a ``DATA_DIR``
    the kit could not write (the one check that looks at the disk: a stat and an access call, nothing created).

    Of the window relations, only those the analytics' results depend on are refused.  Left free on purpose,
    because each analytic still counts exactly what its own setting says: a short window longer than the
    medium one, a slide that does not divide its window, any ``WATERMARK_DELAY`` against the windows.
    """
    problems = []
    slide, window = values["SLIDE_DURATION"], values["WINDOW_DURATION_MEDIUM"]
    if duration_seconds(slide) > duration_seconds(window):
        problems.append(f"SLIDE_DURATION={slide!r} is longer than WINDOW_DURATION_MEDIUM={window!r}: a window "
                        "cannot slide by more than its own length (Spark refuses it); use e.g. "
                        "SLIDE_DURATION='5 minutes'.")
    # The chained analytics (analytics.py `_chained`) add up the medium windows per long window: each medium
    # window goes to the long window holding its last instant (window_time = end - 1 microsecond), and Spark
    # aligns both kinds of window to the epoch.  Only a whole multiple keeps every medium window inside one long window, as the answer key
    # (data_gen/answer_key.py `stratum`, which floors a window's *start*) and group_start/group_end assume.
    long_ = values["WINDOW_DURATION_LONG"]
    medium_ms, long_ms = (round(duration_seconds(d) * 1000) for d in (window, long_))

    def interval(ms: int) -> str:
        for unit, size in (("week", 604_800_000), ("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000),
                           ("second", 1000), ("millisecond", 1)):
            if ms % size == 0:
                return f"{ms // size} {unit}" + ("s" if ms // size != 1 else "")
        raise AssertionError("unreachable")

    if long_ms < medium_ms:
        problems.append(
            f"WINDOW_DURATION_LONG={long_!r} is shorter than WINDOW_DURATION_MEDIUM={window!r}: the chained "
            "analytics (surge, Pearson, binned, precipitation, temporal, multi-variable) add up whole medium windows "
            "per long window, so a long window shorter than a medium one covers only the last slice of one medium "
            "window while counting all of it, and every chained row means something else. Make WINDOW_DURATION_LONG a whole multiple of the medium window, e.g. "
            f"WINDOW_DURATION_LONG={interval(3_600_000 if 3_600_000 % medium_ms == 0 else medium_ms)!r}, or a "
            "shorter WINDOW_DURATION_MEDIUM.")
    elif long_ms % medium_ms:
        above = -(-long_ms // medium_ms) * medium_ms
        problems.append(
            f"WINDOW_DURATION_LONG={long_!r} is not a whole multiple of WINDOW_DURATION_MEDIUM={window!r}: the "
            "chained analytics add up the medium windows per long window, and a medium window that straddles two "
            "long ones is counted in the one where it ends, so a row would count minutes before its group_start "
            "(and the answer key, which groups windows by their start, would disagree). Use a multiple, e.g. "
            f"WINDOW_DURATION_LONG={interval(above)!r}, or a WINDOW_DURATION_MEDIUM that divides {long_!r}.")
    # DATA_DIR: the broker, the Spark driver's log and every default output folder are created under it.  The
    # nearest folder that exists is where the first mkdir would happen (os.access also answers for a read-only
    # mount as root); a folder that refuses anyway (such as /proc) is named when Spark's log folder is made.
    data_dir = values["DATA_DIR"]
    existing = data_dir
    while not os.path.exists(existing) and existing.parent != existing:
        existing = existing.parent
    fix = ("Point DATA_DIR at a folder you can write (it is created if missing), e.g. DATA_DIR=~/etl-kit-data, "
           "or unset it to use the project's data/ folder.")
    if os.path.exists(existing) and not existing.is_dir():
        where = "is a file" if existing == data_dir else f"lies under {str(existing)!r}, which is a file"
        problems.append(f"DATA_DIR={str(data_dir)!r} {where}, not a folder: the kit writes its broker, logs and "
                        f"outputs under DATA_DIR. {fix}")
    elif os.path.exists(existing) and not os.access(existing, os.W_OK | os.X_OK):
        where = ("is a folder this user cannot write (read-only)" if existing == data_dir
                 else f"cannot be created ({str(existing)!r} is read-only for this user)")
        problems.append(f"DATA_DIR={str(data_dir)!r} {where}: the kit writes its broker, logs and outputs under "
                        f"DATA_DIR. {fix}")
    replicas, in_sync = values["KAFKA_REPLICATION_FACTOR"], values["KAFKA_MIN_INSYNC_REPLICAS"]
    if in_sync > replicas:
        problems.append(f"KAFKA_MIN_INSYNC_REPLICAS={in_sync} is more than KAFKA_REPLICATION_FACTOR={replicas}: "
                        "no partition could ever have that many copies in sync, so every acks=all send would "
                        f"fail; use at most {replicas} (replication factor 3 usually goes with 2).")
    protocol = values["KAFKA_SECURITY_PROTOCOL"]
    if protocol.startswith("SASL") and not (values["KAFKA_SASL_USERNAME"] and values["KAFKA_SASL_PASSWORD"]):
        problems.append(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD "
                        "(the credentials your Kafka provider gave you).")
    ca = values["KAFKA_SSL_CA_FILE"]
    if ca and not Path(ca).expanduser().is_file():
        problems.append(f"KAFKA_SSL_CA_FILE={ca!r} is not a file: give the PEM file of the brokers' CA, or leave it "
                        "empty to trust the system's CAs.")
    return problems


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build and check the settings from ``environ`` (default: ``os.environ``).

    Every bad value is reported, one line each, in a single :class:`ConfigError`.
    """
    environ = os.environ if environ is None else environ
    renamed = {new: environ[old] for old, new in _RENAMED.items() if old in environ and new not in environ}
    if renamed:
        environ = {**environ, **renamed}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for f in _FIELDS:
        if f.env in environ:
            raw, sources[f.env] = environ[f.env], "environment"
        else:
            raw = f.default(values) if callable(f.default) else f.default
        try:
            values[f.env] = f.parse(raw)
        except ValueError as err:
            problems.append(f"{f.env}={raw!r} is not valid: {err}.")
            # Keep going so that every bad setting is reported at once; later
            # derived defaults fall back to the field's own default.
            fallback = f.default(values) if callable(f.default) else f.default
            values[f.env] = f.parse(fallback)
    problems += _cross_checks(values)
    if problems:
        raise ConfigError("\n".join(problems))
    return Settings(**{_attr(k): v for k, v in values.items()}, _sources=sources)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process's environment, loaded once."""
    return load_settings()
