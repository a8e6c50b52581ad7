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

Every setting is declared once, in ``_FIELDS``: the :class:`Settings` class is
made from that list, so a new setting is one line there.  Run
``python -m etl_lib config`` to print the effective settings and where each one
came from.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Mapping

from .catalog import ANALYTICS
from .errors import ConfigError

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
    "jaas_config",
]


def project_root() -> Path:
    """The folder holding ``pyproject.toml`` (a source checkout), else the working directory."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").exists() else Path.cwd()


# --------------------------------------------------------------------------- parsers
# Each parser takes the raw string and returns the typed value, or raises
# ValueError with the accepted form (the caller adds the variable and value).

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("expected true or false (also accepted: 1/0, yes/no, on/off)")


# The unit words Spark's interval parser accepts, singular or plural.
_UNITS = {
    "millisecond": 0.001,
    "second": 1.0,
    "minute": 60.0,
    "hour": 3600.0,
    "day": 86400.0,
    "week": 604800.0,
}
_DURATION_RE = re.compile(r"^\s*(\d+)\s+([a-z]+?)s?\s*$")


def duration_seconds(text: str) -> float:
    """Seconds in a Spark interval string such as ``"15 minutes"`` or ``"1 hour"``.

    >>> duration_seconds("15 minutes"), duration_seconds("1 hour")
    (900.0, 3600.0)
    """
    m = _DURATION_RE.match(text.lower())
    if not m or m.group(2) not in _UNITS or int(m.group(1)) <= 0:
        raise ValueError(
            "expected a positive whole number and a unit, as Spark writes intervals: "
            "'10 seconds', '5 minutes', '1 hour' (units: millisecond, second, minute, hour, day, week)"
        )
    return int(m.group(1)) * _UNITS[m.group(2)]


def _parse_duration(text: str) -> str:
    duration_seconds(text)
    return " ".join(text.split())


def _parse_positive_int(text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError("expected a whole number greater than 0") from None
    if value <= 0:
        raise ValueError("expected a whole number greater than 0")
    return value


def _parse_positive_float(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError("expected a number greater than 0, e.g. 5 or 0.5") from None
    if not value > 0 or value == float("inf"):
        raise ValueError("expected a number greater than 0, e.g. 5 or 0.5")
    return value


_SIZE_RE = re.compile(r"^\s*(\d+)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_FACTORS = {
    None: 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3
}


def _parse_size(text: str) -> int:
    m = _SIZE_RE.match(text)
    if not m or int(m.group(1)) <= 0:
        raise ValueError("expected a positive size in bytes, optionally with a unit: 10485760, 10MiB, 500KB")
    unit = m.group(2).lower() if m.group(2) else None
    return int(m.group(1)) * _SIZE_FACTORS[unit]


_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:]+\]$")


def _parse_bootstrap(text: str) -> str:
    form = "expected host:port[,host:port...], e.g. 127.0.0.1:9092 or kafka:29092"
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(not p for p in parts):
        raise ValueError(form)
    for part in parts:
        host, sep, port = part.rpartition(":")
        if not sep or not _HOST_RE.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(form)
    return ",".join(parts)


_TOPIC_RE = re.compile(r"^[A-Za-z0-9._\-]{1,249}$")


def _parse_topic(text: str) -> str:
    if not _TOPIC_RE.match(text) or text in {".", ".."}:
        raise ValueError("expected a Kafka topic name: 1-249 characters from letters, digits, '.', '_' and '-'")
    return text


_MASTER_RE = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|(spark|k8s|mesos)://\S+|yarn)$")


def _parse_master(text: str) -> str:
    if not _MASTER_RE.match(text.strip()):
        raise ValueError("expected local, local[N], local[*], spark://host:port, k8s://https://host:port or yarn")
    return text.strip()


def _parse_choice(*choices: str, upper: bool = False) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().upper() if upper else text.strip().lower()
        if value not in choices:
            raise ValueError("expected one of: " + ", ".join(choices))
        return value

    return parse


def _parse_optional_text(text: str) -> str:
    return text.strip()


def _parse_text(text: str) -> str:
    if not text.strip():
        raise ValueError("expected a non-empty value")
    return text.strip()


def _parse_port(text: str) -> int:
    value = _parse_positive_int(text)
    if value > 65535:
        raise ValueError("expected a TCP port from 1 to 65535")
    return value


def _parse_port_or_auto(text: str) -> int:
    if text.strip().lower() in ("0", "auto"):
        return 0
    try:
        return _parse_port(text)
    except ValueError:
        raise ValueError("expected a TCP port from 1 to 65535, or 0/auto for any free port") from None


def _parse_java_options(text: str) -> str:
    words = text.split()
    stray = [w for w in words if not w.startswith("-")]
    if stray:
        raise ValueError(f"expected JVM options that each start with '-', such as -XX:+UseParallelGC (got {stray[0]!r})")
    return " ".join(words)


def _parse_memory(text: str) -> str:
    if not re.match(r"^\d+[kmgt]?$", text.strip().lower()):
        raise ValueError("expected a JVM memory size such as 512m or 2g")
    return text.strip().lower()


def _parse_time_floor(text: str) -> str:
    from datetime import datetime

    text = " ".join(text.split())
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, form).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    raise ValueError("expected a date 'YYYY-MM-DD' or a time 'YYYY-MM-DD HH:MM:SS', e.g. 2000-01-01")


class Location(str):
    """A storage URI that Spark resolves (``s3a://bucket/kit``, ``hdfs://namenode/kit``), kept as written.

    ``pathlib`` would collapse ``s3a://bucket`` into ``s3a:/bucket``; this keeps the
    text and joins with ``/`` like a path, so the writers hand Spark exactly what
    was set.  Tools that read on this machine (the commit-log reader, the report,
    the demo's clean-up) refuse it with a message instead.
    """

    def __truediv__(self, other: object) -> "Location":
        return Location(self.rstrip("/") + "/" + str(other).strip("/"))

    @property
    def name(self) -> str:
        return self.rstrip("/").rsplit("/", 1)[-1]


def _parse_path(text: str) -> Path:
    text = text.strip()
    if not text:
        raise ValueError("expected a folder path")
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if scheme and scheme.group(1).lower() == "file":
        text = urllib.parse.unquote(urllib.parse.urlparse(text).path)
    elif scheme:
        # A path would silently turn "s3a://bucket" into "s3a:/bucket": refuse instead.
        raise ValueError(f"{scheme.group(1)}:// is not a folder on this machine: DATA_DIR holds the broker's logs, "
                         "the report and the practice cluster, so it must be local; the output and checkpoint "
                         "settings (OUTPUT_BASE_PATH, CHECKPOINT_BASE_PATH, ...) may be URIs")
    return Path(text).expanduser()


def _parse_location(text: str) -> "Path | Location":
    """A local folder (a ``file://`` URI becomes its path) or a URI Spark resolves, passed through unchanged."""
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text.strip())
    if scheme and scheme.group(1).lower() != "file":
        if not scheme.group(2).strip("/"):
            raise ValueError(f"expected a location after {scheme.group(1)}://, such as "
                             f"{scheme.group(1)}://bucket/etl-kit/raw")
        return Location(text.strip().rstrip("/"))
    return _parse_path(text)


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

# The kit's Spark jobs are short: a lesson or a test runs a few thousand records through twenty queries in a
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
    _Field("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092", _parse_bootstrap, "Kafka brokers to connect to"),
    _Field("KAFKA_TOPIC_BIKE", "bike-trips", _parse_topic, "topic of bike trips"),
    _Field("KAFKA_TOPIC_TAXI", "taxi-trips", _parse_topic, "topic of taxi trips"),
    _Field("KAFKA_TOPIC_WEATHER", "weather-data", _parse_topic, "topic of weather observations"),
    _Field("KAFKA_TOPIC_ACCIDENTS", "accidents", _parse_topic, "topic of accident reports"),
    _Field("KAFKA_PARTITIONS", "3", _parse_positive_int, "partitions per topic the kit creates"),
    _Field("KAFKA_REPLICATION_FACTOR", "1", _parse_positive_int,
           "copies of each partition in topics the kit creates (1 on one broker; 3 on a cluster)"),
    _Field("KAFKA_MIN_INSYNC_REPLICAS", "1", _parse_positive_int,
           "replicas that must have a record before acks=all succeeds (2 with replication factor 3)"),
    _Field("KAFKA_STARTING_OFFSETS", "earliest", _parse_choice("earliest", "latest"),
           "where a new streaming query starts reading"),
    _Field("KAFKA_FAIL_ON_DATA_LOSS", "true", _parse_bool,
           "stop a query when Kafka data it expected is gone (deleted topic, expired offsets)"),
    # A cap, not a pace: a live stream's batches stay far below it; a backlog (a year replayed, a query restarted
    # after days) is read in batches of this many records, so the watermark advances and the state that waits for
    # it stays bounded.  One batch for a simulated year held all its records in the deduplication state and ran a
    # 2 GB driver out of heap (bench/etl_scaling.py).
    _Field("KAFKA_MAX_OFFSETS_PER_TRIGGER", "200000", _parse_positive_int,
           "most Kafka records one micro-batch of an ETL query reads (bounds memory on a backlog)"),
    _Field("KAFKA_CONTROLLER_PORT", "auto", _parse_port_or_auto,
           "KRaft controller port of the local broker the kit starts (auto: any free port)"),
    # How every Kafka client of the kit (kafka-python and Spark's Kafka source) authenticates.
    _Field("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", _parse_choice("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", upper=True),
           "how clients talk to the brokers (a managed Kafka usually needs SASL_SSL)"),
    _Field("KAFKA_SASL_MECHANISM", "PLAIN", _parse_choice("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", upper=True),
           "SASL mechanism (with a SASL_* protocol)"),
    _Field("KAFKA_SASL_USERNAME", "", _parse_optional_text, "SASL user name (with a SASL_* protocol)"),
    _Field("KAFKA_SASL_PASSWORD", "", _parse_optional_text, "SASL password (with a SASL_* protocol; never printed)"),
    _Field("KAFKA_SSL_CA_FILE", "", _parse_optional_text,
           "PEM file of the CA that signed the brokers' certificates (with SSL/SASL_SSL; empty: the system's)"),
    # Spark
    _Field("SPARK_APP_NAME", "ETL Data Analysis", _parse_text, "name shown in the Spark UI"),
    # Four task threads even on two cores: a task often waits on Kafka or the disk, and the ETL runs a dozen
    # streaming queries at once (the demo's ETL 59 s with local[2]/local[*] on 2 cores, 50 s with local[4]).
    _Field("SPARK_MASTER", "local[4]", _parse_master,
           "where Spark runs: local[N] (N task threads in this process) or a cluster URL"),
    _Field("SPARK_DRIVER_MEMORY", "2g", _parse_memory, "driver JVM heap (local mode: all of Spark)"),
    _Field("SPARK_DRIVER_JAVA_OPTIONS", QUICK_START_JVM_OPTIONS, _parse_java_options,
           "more options of the driver JVM (default: a quick-starting JIT for short runs; empty for long jobs)"),
    _Field("SPARK_SHUFFLE_PARTITIONS", "4", _parse_positive_int, "spark.sql.shuffle.partitions (few for one machine)"),
    _Field("SPARK_UI_ENABLED", "true", _parse_bool, "start the Spark web UI"),
    _Field("SPARK_UI_PORT", "4040", _parse_port, "port of the Spark web UI"),
    _Field("BATCH_INTERVAL", "10 seconds", _parse_duration, "micro-batch trigger interval"),
    # Paths (project-local by default, never /data or /tmp)
    _Field("DATA_DIR", lambda values: str(project_root() / "data"), _parse_path,
           "root of everything the kit writes"),
    _Field("OUTPUT_BASE_PATH", _under_data("processed_simple"), _parse_location, "raw ETL Parquet output"),
    _Field("CHECKPOINT_BASE_PATH", _under_data("checkpoints/raw"), _parse_location, "checkpoints of the raw ETL streams"),
    _Field("QUARANTINE_PATH", _under_data("quarantine"), _parse_location, "Parquet of records that could not be parsed"),
    _Field("SILVER_PATH", _under_data("silver"), _parse_location,
           "silver tables: the combined 15-minute windows the chained analytics read"),
    _Field("ANALYTICS_OUTPUT_PATH", _under_data("analytics"), _parse_location, "analytics Parquet output"),
    _Field("ANALYTICS_CHECKPOINT_PATH", _under_data("checkpoints/analytics"), _parse_location,
           "checkpoints of the analytics streams"),
    # Windows
    _Field("WINDOW_DURATION_SHORT", "5 minutes", _parse_duration, "window for fast-moving metrics"),
    _Field("WINDOW_DURATION_MEDIUM", "15 minutes", _parse_duration, "window for correlations"),
    _Field("WINDOW_DURATION_LONG", "1 hour", _parse_duration, "window for rare events (accidents)"),
    _Field("SLIDE_DURATION", "5 minutes", _parse_duration, "slide of sliding windows"),
    _Field("WATERMARK_DELAY", "10 minutes", _parse_duration, "how late an event may arrive and still count"),
    # Event-time sanity (parsing.py): a record whose event time cannot be true is quarantined before it reaches a
    # watermark, where a single year-9999 record would hold every stateful query that reads it still for good.  Both rules
    # compare with values stored in the record or here, never the wall clock, so a replayed batch gets the same
    # verdict.  One hour ahead is what a Kafka 4.x broker itself accepts of a producer's clock by default on
    # CreateTime topics (log.message.timestamp.after.max.ms; topic override message.timestamp.after.max.ms).
    _Field("EVENT_TIME_MAX_AHEAD", "1 hour", _parse_duration,
           "how far an event time may lie after the record's Kafka timestamp (later: quarantined)"),
    _Field("EVENT_TIME_FLOOR", "2000-01-01 00:00:00", _parse_time_floor,
           "earliest event time accepted (earlier: quarantined)"),
    # Feature flags
    *(_Field(flag, "true", _parse_bool, "start the " + flag[len("ENABLE_"):].lower().replace("_", " ") + " stream")
      for flag in ANALYTICS_FLAGS),
    # Thread/queue pipelines (seed 000)
    _Field("MINIBATCH_WINDOW_SECONDS", "5", _parse_positive_float, "length of one minibatch window"),
    _Field("PIPELINE_WORKERS", "10", _parse_positive_int, "worker threads per pipeline"),
    _Field("PIPELINE_QUEUE_SIZE", "50", _parse_positive_int, "bounded queue size (backpressure)"),
    _Field("BUCKET_CAPACITY_BYTES", str(10 * 1024 * 1024), _parse_size, "capacity of one file bucket"),
    # The practice cluster (python -m etl_lib cluster), all on 127.0.0.1
    _Field("CLUSTER_KAFKA_PORT", "19092", _parse_port,
           "practice cluster: first of its three broker ports (controllers listen 100 above each)"),
    _Field("CLUSTER_SPARK_PORT", "7077", _parse_port, "practice cluster: the Spark master's port"),
    _Field("CLUSTER_SPARK_UI_PORT", "8080", _parse_port,
           "practice cluster: the Spark master's web UI (the two workers' UIs on the next two ports)"),
)

_SECRET = {"KAFKA_SASL_PASSWORD"}
# Older names still read (the new name wins when both are set).
_RENAMED = {"KAFKA_TOPIC_PARTITIONS": "KAFKA_PARTITIONS"}

_BY_ENV = {f.env: f for f in _FIELDS}


def _attr(env: str) -> str:
    return env.lower()


# --------------------------------------------------------------------------- Kafka logins
_LOGIN_MODULES = {"PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
                  "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
                  "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule"}


def jaas_config(mechanism: str, username: str, password: str, users: Mapping[str, str] | None = None) -> str:
    """A Kafka ``sasl.jaas.config`` line: a client's login, or with ``users`` a PLAIN broker's user list too.

    Values are quoted as JAAS reads them (backslash and double quote escaped), so a
    password may hold any character.

    >>> jaas_config("PLAIN", "kit", 'p"w')
    'org.apache.kafka.common.security.plain.PlainLoginModule required username="kit" password="p\\\\"w";'
    """
    quote = lambda v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'  # noqa: E731
    extra = "".join(f" user_{u}={quote(p)}" for u, p in (users or {}).items())
    return f"{_LOGIN_MODULES[mechanism]} required username={quote(username)} password={quote(password)}{extra};"


# --------------------------------------------------------------------------- the object
# The attribute type each parser gives (a local Path, or a Location handed to Spark unchanged, for the paths).
_TYPES: dict[Callable[[str], Any], Any] = {
    _parse_bool: bool, _parse_positive_int: int, _parse_port: int, _parse_port_or_auto: int, _parse_size: int,
    _parse_positive_float: float, _parse_path: Path, _parse_location: Path,
}


class _SettingsMethods:
    """What :class:`Settings` can do; its attributes are made from ``_FIELDS`` below."""

    _sources: Mapping[str, str]

    @property
    def kafka_topics(self) -> dict[str, str]:
        """The seed's ``KAFKA_TOPICS``: friendly name -> topic name."""
        return {
            "bike": self.kafka_topic_bike,
            "taxi": self.kafka_topic_taxi,
            "weather": self.kafka_topic_weather,
            "accidents": self.kafka_topic_accidents,
        }

    @property
    def kafka_topic_partitions(self) -> int:
        """The older name of :attr:`kafka_partitions`."""
        return self.kafka_partitions

    def kafka_client_options(self) -> dict[str, Any]:
        """Security keyword arguments for every kafka-python client (producer, consumer, admin).

        Empty for the default PLAINTEXT, so local use is unchanged.
        """
        opts: dict[str, Any] = {}
        if self.kafka_security_protocol != "PLAINTEXT":
            opts["security_protocol"] = self.kafka_security_protocol
        if self.kafka_security_protocol.startswith("SASL"):
            opts.update(sasl_mechanism=self.kafka_sasl_mechanism, sasl_plain_username=self.kafka_sasl_username,
                        sasl_plain_password=self.kafka_sasl_password)
        if self.kafka_security_protocol.endswith("SSL") and self.kafka_ssl_ca_file:
            opts["ssl_cafile"] = self.kafka_ssl_ca_file
        return opts

    def spark_kafka_options(self) -> dict[str, str]:
        """The same security settings as options of Spark's Kafka source (``kafka.``-prefixed Java client
        properties): SASL through a JAAS line, a PEM CA file as the trust store."""
        opts: dict[str, str] = {}
        if self.kafka_security_protocol != "PLAINTEXT":
            opts["kafka.security.protocol"] = self.kafka_security_protocol
        if self.kafka_security_protocol.startswith("SASL"):
            opts["kafka.sasl.mechanism"] = self.kafka_sasl_mechanism
            opts["kafka.sasl.jaas.config"] = jaas_config(self.kafka_sasl_mechanism, self.kafka_sasl_username,
                                                         self.kafka_sasl_password)
        if self.kafka_security_protocol.endswith("SSL") and self.kafka_ssl_ca_file:
            opts["kafka.ssl.truststore.type"] = "PEM"
            opts["kafka.ssl.truststore.location"] = self.kafka_ssl_ca_file
        return opts

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


Settings = dataclasses.make_dataclass(
    "Settings",
    [(_attr(f.env), _TYPES.get(f.parse, str)) for f in _FIELDS]
    + [("_sources", Mapping[str, str], dataclasses.field(default_factory=dict, repr=False, compare=False))],
    bases=(_SettingsMethods,),
    frozen=True,
    namespace={"__module__": __name__, "__qualname__": "Settings"},
)
Settings.__doc__ = """The effective settings.  Attribute names are the environment names in lower case.

One attribute per entry of ``_FIELDS`` (``KAFKA_BOOTSTRAP_SERVERS`` -> ``kafka_bootstrap_servers``);
build it with :func:`load_settings`, change it with :meth:`replace`.
"""


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
