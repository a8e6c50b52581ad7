"""How the text of a setting becomes its value: durations, sizes, true/false, ports, paths, names.

Each ``parse_*`` function takes the raw text of an environment variable and
returns the typed value, or raises :class:`ValueError` saying the accepted form;
:func:`etl_lib.core.settings.load_settings` adds the variable and the value, so
a bad setting reads ``WINDOW_DURATION_MEDIUM='15 minuts' is not valid: expected ...``.
The settings table (``_FIELDS`` in :mod:`etl_lib.core.settings`) names one of
these for every setting.

>>> parse_bool("Yes"), parse_size("10MiB"), parse_duration(" 5   minutes ")
(True, 10485760, '5 minutes')
>>> parse_port("70000")
Traceback (most recent call last):
...
ValueError: expected a TCP port from 1 to 65535
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path
from typing import Callable

__all__ = [
    "Location", "duration_seconds", "parse_bool", "parse_bootstrap", "parse_choice", "parse_duration",
    "parse_java_options", "parse_location", "parse_master", "parse_memory", "parse_optional_text", "parse_path",
    "parse_port", "parse_port_or_auto", "parse_positive_float", "parse_positive_int", "parse_size", "parse_text",
    "parse_time_floor", "parse_topic",
]

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def parse_bool(text: str) -> bool:
    """``true``/``false``, also ``1``/``0``, ``yes``/``no``, ``on``/``off`` (any case)."""
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


def parse_duration(text: str) -> str:
    """A Spark interval (``"10 seconds"``, ``"1 hour"``), checked and kept as text with single spaces."""
    duration_seconds(text)
    return " ".join(text.split())


def parse_positive_int(text: str) -> int:
    """A whole number greater than 0."""
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError("expected a whole number greater than 0") from None
    if value <= 0:
        raise ValueError("expected a whole number greater than 0")
    return value


def parse_positive_float(text: str) -> float:
    """A finite number greater than 0, such as ``5`` or ``0.5``."""
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


def parse_size(text: str) -> int:
    """Bytes: a positive number, optionally with a unit (``500KB`` is 500 000, ``10MiB`` is 10 485 760)."""
    m = _SIZE_RE.match(text)
    if not m or int(m.group(1)) <= 0:
        raise ValueError("expected a positive size in bytes, optionally with a unit: 10485760, 10MiB, 500KB")
    unit = m.group(2).lower() if m.group(2) else None
    return int(m.group(1)) * _SIZE_FACTORS[unit]


_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:]+\]$")


def parse_bootstrap(text: str) -> str:
    """Kafka brokers as ``host:port[,host:port...]`` (IPv6 hosts in brackets), spaces around commas dropped.

    >>> parse_bootstrap("b1:9092, [::1]:9093")
    'b1:9092,[::1]:9093'
    """
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


def parse_topic(text: str) -> str:
    """A name Kafka accepts for a topic: 1-249 letters, digits, ``.``, ``_`` and ``-`` (not ``.`` or ``..``)."""
    if not _TOPIC_RE.match(text) or text in {".", ".."}:
        raise ValueError("expected a Kafka topic name: 1-249 characters from letters, digits, '.', '_' and '-'")
    return text


_MASTER_RE = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|(spark|k8s|mesos)://\S+|yarn)$")


def parse_master(text: str) -> str:
    """A Spark master URL: ``local``, ``local[N]``, ``local[*]``, ``spark://host:port``, ``k8s://...`` or ``yarn``."""
    if not _MASTER_RE.match(text.strip()):
        raise ValueError("expected local, local[N], local[*], spark://host:port, k8s://https://host:port or yarn")
    return text.strip()


def parse_choice(*choices: str, upper: bool = False) -> Callable[[str], str]:
    """A parser that accepts one of ``choices`` in any case (returned lower case, or upper case with ``upper``).

    >>> parse_choice("earliest", "latest")(" Latest ")
    'latest'
    """
    def parse(text: str) -> str:
        value = text.strip().upper() if upper else text.strip().lower()
        if value not in choices:
            raise ValueError("expected one of: " + ", ".join(choices))
        return value

    return parse


def parse_optional_text(text: str) -> str:
    """Any text, stripped; empty is fine (a setting that is off until given)."""
    return text.strip()


def parse_text(text: str) -> str:
    """Text that is not empty, stripped."""
    if not text.strip():
        raise ValueError("expected a non-empty value")
    return text.strip()


def parse_port(text: str) -> int:
    """A TCP port, 1 to 65535."""
    value = parse_positive_int(text)
    if value > 65535:
        raise ValueError("expected a TCP port from 1 to 65535")
    return value


def parse_port_or_auto(text: str) -> int:
    """A TCP port, or ``0``/``auto`` (returned as 0) for any free port."""
    if text.strip().lower() in ("0", "auto"):
        return 0
    try:
        return parse_port(text)
    except ValueError:
        raise ValueError("expected a TCP port from 1 to 65535, or 0/auto for any free port") from None


def parse_java_options(text: str) -> str:
    """JVM options, each starting with ``-`` (``-XX:+UseParallelGC``), joined by single spaces; empty is fine."""
    words = text.split()
    stray = [w for w in words if not w.startswith("-")]
    if stray:
        raise ValueError(f"expected JVM options that each start with '-', such as -XX:+UseParallelGC (got {stray[0]!r})")
    return " ".join(words)


def parse_memory(text: str) -> str:
    """A JVM memory size as ``-Xmx`` takes it: ``512m``, ``2g`` (returned lower case)."""
    if not re.match(r"^\d+[kmgt]?$", text.strip().lower()):
        raise ValueError("expected a JVM memory size such as 512m or 2g")
    return text.strip().lower()


def parse_time_floor(text: str) -> str:
    """A date ``YYYY-MM-DD`` or a time ``YYYY-MM-DD HH:MM:SS``, returned as the full time.

    >>> parse_time_floor("2000-01-01")
    '2000-01-01 00:00:00'
    """
    from datetime import datetime

    from .kinds import TIME_FORMAT  # the floor is compared with event times: it is written as they are

    text = " ".join(text.split())
    for form in (TIME_FORMAT, "%Y-%m-%d"):
        try:
            return datetime.strptime(text, form).strftime(TIME_FORMAT)
        except ValueError:
            continue
    raise ValueError("expected a date 'YYYY-MM-DD' or a time 'YYYY-MM-DD HH:MM:SS', e.g. 2000-01-01")


class Location(str):
    """A storage URI that Spark resolves (``s3a://bucket/kit``, ``hdfs://namenode/kit``), kept as written.

    ``pathlib`` would collapse ``s3a://bucket`` into ``s3a:/bucket``; this keeps the
    text and joins with ``/`` like a path, so the writers hand Spark exactly what
    was set.  Tools that read on this machine (the commit-log reader, the report,
    the demo's clean-up) refuse it with a message instead.

    >>> Location("s3a://bucket/kit") / "raw", (Location("s3a://bucket/kit") / "raw").name
    ('s3a://bucket/kit/raw', 'raw')
    """

    def __truediv__(self, other: object) -> "Location":
        return Location(self.rstrip("/") + "/" + str(other).strip("/"))

    @property
    def name(self) -> str:
        return self.rstrip("/").rsplit("/", 1)[-1]


def parse_path(text: str) -> Path:
    """A folder on this machine (``~`` expanded; a ``file://`` URI becomes its path; other URIs are refused)."""
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


def parse_location(text: str) -> "Path | Location":
    """A local folder (a ``file://`` URI becomes its path) or a URI Spark resolves, passed through unchanged.

    >>> parse_location("s3a://bucket/etl-kit/raw/")
    's3a://bucket/etl-kit/raw'
    """
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", text.strip())
    if scheme and scheme.group(1).lower() != "file":
        if not scheme.group(2).strip("/"):
            raise ValueError(f"expected a location after {scheme.group(1)}://, such as "
                             f"{scheme.group(1)}://bucket/etl-kit/raw")
        return Location(text.strip().rstrip("/"))
    return parse_path(text)
