"""The four record layouts, written once: field names, types, which are required, and what is impossible.

The Spark parser builds its explicit schemas and quarantine rules from these
tables, and :func:`validate_record` applies the same rules in plain Python (a
reference for tests and notebooks).  A record is quarantined when it is not a
JSON object, misses a required field, has a field of the wrong type, has an
event time in another format, or has an impossible value.  A field the schema
does not know is ignored: the record is still valid.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = ["FIELDS", "RULES", "TIME_FORMAT", "EVENT_TIME", "RECORD_ID", "Validation", "validate_record", "describe_rule",
           "java_double"]

# Event times are Boston wall-clock times without a zone, as in the source datasets.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SPARK_TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"

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

EVENT_TIME = {"bike": "start_time", "taxi": "timestamp", "weather": "timestamp", "accidents": "dispatch_ts"}

# What identifies one event of a topic: a record sent twice has the same value here.  (Weather has one
# observation per timestamp.)
RECORD_ID = {"bike": "trip_id", "taxi": "id", "weather": "timestamp", "accidents": "id"}

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

    A string column takes any JSON value (a number or an object becomes its
    JSON text, as Spark's ``from_json`` does); whole numbers must fit the
    integer type; a double must be a finite number.
    """
    if kind in ("string", "timestamp"):
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


def validate_record(topic: str, raw: bytes | str | None) -> Validation:
    """Check one raw record against its topic's layout, exactly as the Spark parser does.

    The rules follow what Spark's JSON reader does, so that both give every
    record the same verdict and reason: bytes are read as UTF-8 (a bad byte
    becomes U+FFFD), text after the first JSON value is ignored, a record with a
    repeated key is rejected, NaN and Infinity are not usable numbers.

    >>> validate_record("taxi", b'{"id":"t1","timestamp":"2018-04-02 08:00:00","price":9.5,"surge_multiplier":0.5}')
    Validation(record=None, reason='impossible value: surge_multiplier=0.500000 (expected surge_multiplier >= 1)')
    """
    if raw is None:
        return Validation(None, "not valid JSON")
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, (bytes, bytearray)) else raw
    try:
        obj, _ = _DECODER.raw_decode(text.lstrip(_JSON_WHITESPACE))
    except ValueError:
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
    return Validation(record, None)
