"""The four record layouts, written once: field names, types, which are required, and what is impossible.

The Spark parser builds its explicit schemas and quarantine rules from these
tables, and :func:`validate_record` applies the same rules in plain Python (a
reference for tests and notebooks).  A record is quarantined when it is not a
JSON object, misses a required field, has a field of the wrong type, has an
event time in another format, has an impossible value, or has an event time
that cannot be true (before ``EVENT_TIME_FLOOR``, or more than
``EVENT_TIME_MAX_AHEAD`` after the record reached Kafka: one such record would
carry the watermark of every query that reads it).  A field the schema does not know is ignored:
the record is still valid.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .core.kinds import KINDS, SPARK_TIME_FORMAT, TIME_FORMAT

if TYPE_CHECKING:
    from .core.settings import Settings

__all__ = ["FIELDS", "RULES", "TIME_FORMAT", "EVENT_TIME", "RECORD_ID", "Validation", "validate_record", "describe_rule",
           "java_double"]

# Event times are Boston wall-clock times without a zone, as in the source datasets: TIME_FORMAT and
# SPARK_TIME_FORMAT (the same form for Spark) come from the record kinds' table, etl_lib.core.kinds.

# (name, type, required); types: string, int, long, double, timestamp
FIELDS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "bike": (
        ("trip_id", "string", True),
        ("trip_duration", "int", True),
        ("start_time", "timestamp", True),
        ("stop_time", "timestamp", True),
        ("start_station_id", "int", True),
        ("start_station_name", "string", False),
        ("start_station_latitude", "double", False),
        ("start_station_longitude", "double", False),
        ("end_station_id", "int", True),
        ("end_station_name", "string", False),
        ("end_station_latitude", "double", False),
        ("end_station_longitude", "double", False),
        ("bike_id", "int", False),
        ("user_type", "string", False),
        ("birth_year", "int", False),
        ("gender", "int", False),
    ),
    "taxi": (
        ("id", "string", True),
        ("timestamp", "timestamp", True),
        ("source", "string", False),
        ("destination", "string", False),
        ("cab_type", "string", False),
        ("product_name", "string", False),
        ("price", "double", True),
        ("distance", "double", False),
        ("surge_multiplier", "double", True),
        ("latitude", "double", False),
        ("longitude", "double", False),
    ),
    "weather": (
        ("timestamp", "timestamp", True),
        ("temperature", "double", True),
        ("apparent_temperature", "double", False),
        ("precip_intensity", "double", True),
        ("humidity", "double", False),
        ("wind_speed", "double", False),
        ("visibility", "double", False),
        ("summary", "string", False),
    ),
    "accidents": (
        ("id", "string", True),
        ("dispatch_ts", "timestamp", True),
        ("mode_type", "string", False),
        ("location_type", "string", False),
        ("street", "string", False),
        ("latitude", "double", True),
        ("longitude", "double", True),
    ),
}

# The event-time field of each topic, and what identifies one event of a topic (a record sent twice has the
# same value here): both from the record kinds' table.
EVENT_TIME = {k.id: k.event_time for k in KINDS}
RECORD_ID = {k.id: k.record_id for k in KINDS}

# Greater Boston, generously: anything outside is not a Boston record.
_LAT, _LON = (41.5, 43.0), (-72.0, -70.0)

# (field, low, high): the value must lie in [low, high]; None is unbounded.  A
# bound that is exclusive is written as a strict comparison in ``STRICT``.
RULES: dict[str, tuple[tuple[str, float | None, float | None], ...]] = {
    "bike": (("trip_duration", 1, None), ("start_station_latitude", *_LAT), ("start_station_longitude", *_LON),
             ("end_station_latitude", *_LAT), ("end_station_longitude", *_LON)),
    "taxi": (("price", 0, None), ("distance", 0, None), ("surge_multiplier", 1, None),
             ("latitude", *_LAT), ("longitude", *_LON)),
    "weather": (("precip_intensity", 0, None), ("humidity", 0, 1), ("wind_speed", 0, None),
                ("visibility", 0, None), ("temperature", -50, 60)),
    "accidents": (("latitude", *_LAT), ("longitude", *_LON)),
}


def describe_rule(field: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{field} between {low:g} and {high:g}"
    return f"{field} >= {low:g}" if low is not None else f"{field} <= {high:g}"


@dataclass(frozen=True)
class Validation:
    """The parsed record (None when rejected) and the reason it was rejected (None when valid)."""

    record: dict[str, Any] | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.reason is None


_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
_TIMESTAMP_TEXT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_JSON_WHITESPACE = " \t\n\r"


class _Object(dict):
    """A decoded JSON object that remembers its first repeated key (plain dicts keep only the last value)."""

    duplicate: str | None = None


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        obj.duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=_object)


def java_double(x: float) -> str:
    """``x`` as Java's ``Double.toString`` (and so Spark's cast to string) writes it: 100.0, 1.0E-5, NaN."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    if 1e-3 <= abs(x) < 1e7:
        text = repr(x)
        return text if "." in text else text + ".0"
    sign, digits, exp = Decimal(repr(x)).as_tuple()
    exponent = len(digits) + exp - 1
    text = "".join(map(str, digits)).rstrip("0") or "0"
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{exponent}"


def _json_text(value: Any) -> str:
    """A JSON value written back as compact text the way Spark does when it reads it into a string column."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_json_text(v)}" for k, v in value.items()) + "}"


def _typed(kind: str, value: Any) -> tuple[bool, Any]:
    """(usable, value converted to the field's type) for one non-null JSON value, by Spark's reading rules.

    A string column takes any JSON scalar (a number becomes its JSON text, as
    Spark's ``from_json`` does) but no object or array; whole numbers must fit the
    integer type; a double must be a finite number.
    """
    if kind in ("string", "timestamp"):
        if isinstance(value, (dict, list)):
            return False, None
        return True, value if isinstance(value, str) else _json_text(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False, None
    if kind in ("int", "long"):
        low, high = _INT_RANGE[kind]
        return (isinstance(value, int) and low <= value <= high), value
    if kind == "double":
        try:
            value = float(value)
        except OverflowError:
            return False, None
        return math.isfinite(value), value
    raise ValueError(kind)


def java_g6(x: float) -> str:
    """``x`` as Java's (and Spark's) ``format_string("%.6g", x)`` writes it: 99.5000, 1.00000e+308."""
    if x == 0:
        return "-0.00000" if math.copysign(1.0, x) < 0 else "0.00000"
    rounded = abs(float(f"{x:.5e}"))
    if 1e-4 <= rounded < 1e6:
        return f"{x:.{5 - math.floor(math.log10(rounded))}f}"
    return f"{x:.5e}"


def _show(value: Any) -> str:
    return java_g6(value) if isinstance(value, float) else str(value)


def _utc_micros(t: datetime) -> int:
    """Microseconds since the epoch of ``t`` (a naive time is UTC, as in the kit's Spark session)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    delta = t - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _spark_time(t: datetime) -> str:
    """``t`` as Spark writes it in :data:`SPARK_TIME_FORMAT` (``%Y`` does not pad year 1 to four digits)."""
    return t.strftime(TIME_FORMAT.replace("%Y", f"{t.year:04d}"))


def _event_time_problem(name: str, when: datetime, kafka_timestamp: datetime | int | None,
                        settings: "Settings") -> str | None:
    from .core.settings import duration_seconds

    if when < datetime.strptime(settings.event_time_floor, TIME_FORMAT):
        return (f"event time before the floor: {name}={_spark_time(when)} is earlier than EVENT_TIME_FLOOR "
                f"({settings.event_time_floor})")
    if kafka_timestamp is None:
        return None
    kafka_us = kafka_timestamp * 1000 if isinstance(kafka_timestamp, int) else _utc_micros(kafka_timestamp)
    if _utc_micros(when) > kafka_us + int(duration_seconds(settings.event_time_max_ahead) * 1_000_000):
        arrived = datetime(1970, 1, 1) + timedelta(microseconds=kafka_us)
        return (f"event time after arrival: {name}={_spark_time(when)} is more than EVENT_TIME_MAX_AHEAD "
                f"({settings.event_time_max_ahead}) after its Kafka timestamp {_spark_time(arrived)}")
    return None


# Jackson, Spark's JSON parser, refuses JSON nested deeper than 1000 levels (StreamReadConstraints); the kit's
# parser reads each record wrapped in one more object (parsing._json_problem), so a record may nest 999.
MAX_JSON_DEPTH = 999
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')


def _decode(text: str) -> tuple[Any, int]:
    """``raw_decode`` with Spark's depth limit: deeper than :data:`MAX_JSON_DEPTH` is a ValueError, never a
    RecursionError (Python's stack gives out a few levels before 1000)."""
    try:
        return _DECODER.raw_decode(text)
    except RecursionError:
        pass
    depth = deepest = 0
    for ch in _STRING_LITERAL.sub('""', text):
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        elif ch in "]}":
            depth -= 1
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 4 * MAX_JSON_DEPTH)
    try:
        return _DECODER.raw_decode(text)
    finally:
        sys.setrecursionlimit(limit)


def validate_record(topic: str, raw: bytes | str | None, kafka_timestamp: datetime | int | None = None,
                    settings: "Settings | None" = None) -> Validation:
    """Check one raw record against its topic's layout, exactly as the Spark parser does.

    The rules follow what the kit's Spark parser does, so that both give every
    record the same verdict and reason: bytes are read as UTF-8 (each invalid
    sequence becomes U+FFFD), anything but whitespace after the JSON object makes the
    record not valid JSON, a record with a repeated key is rejected, an object
    or array is no string, NaN and Infinity are not usable numbers.  With the
    record's ``kafka_timestamp`` (a time, naive meaning UTC, or epoch
    milliseconds) an event time more than ``EVENT_TIME_MAX_AHEAD`` after it is
    rejected; one before ``EVENT_TIME_FLOOR`` always is (``settings``: the
    process's own when not given).

    >>> validate_record("taxi", b'{"id":"t1","timestamp":"2018-04-02 08:00:00","price":9.5,"surge_multiplier":0.5}')
    Validation(record=None, reason='impossible value: surge_multiplier=0.500000 (expected surge_multiplier >= 1)')
    """
    if raw is None:
        return Validation(None, "not valid JSON")
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, (bytes, bytearray)) else raw
    text = text.lstrip(_JSON_WHITESPACE)
    try:
        obj, end = _decode(text)
    except ValueError:
        return Validation(None, "not valid JSON")
    if text[end:].strip(_JSON_WHITESPACE):
        return Validation(None, "not valid JSON")
    if not isinstance(obj, dict):
        return Validation(None, "not a JSON object")
    if obj.duplicate is not None:
        return Validation(None, f"duplicated key: {obj.duplicate}")
    record: dict[str, Any] = {}
    for name, kind, required in FIELDS[topic]:
        value = obj.get(name)
        if value is None:
            if required:
                return Validation(None, f"missing required field: {name}")
            record[name] = None
            continue
        ok, value = _typed(kind, value)
        if not ok:
            return Validation(None, f"wrong type: {name} is not {kind}")
        if kind == "timestamp":
            try:
                if not _TIMESTAMP_TEXT.fullmatch(value):
                    raise ValueError(value)
                value = datetime.strptime(value, TIME_FORMAT)
            except ValueError:
                return Validation(None, f"bad timestamp: {name} is not in the form {SPARK_TIME_FORMAT}")
        record[name] = value
    for name, low, high in RULES[topic]:
        value = record.get(name)
        if value is None:
            continue
        if (low is not None and value < low) or (high is not None and value > high):
            return Validation(None, f"impossible value: {name}={_show(value)} (expected "
                                    f"{describe_rule(name, low, high)})")
    from .core.settings import get_settings

    event = EVENT_TIME[topic]
    problem = _event_time_problem(event, record[event], kafka_timestamp, settings or get_settings())
    if problem:
        return Validation(None, problem)
    return Validation(record, None)
