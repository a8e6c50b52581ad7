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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["FIELDS", "RULES", "TIME_FORMAT", "EVENT_TIME", "Validation", "validate_record", "describe_rule"]

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


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind in ("int", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "double":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "timestamp":
        return isinstance(value, str)
    raise ValueError(kind)


def validate_record(topic: str, raw: bytes | str) -> Validation:
    """Check one raw record against its topic's layout, exactly as the Spark parser does.

    >>> validate_record("taxi", b'{"id":"t1","timestamp":"2018-04-02 08:00:00","price":9.5,"surge_multiplier":0.5}')
    Validation(record=None, reason='impossible value: surge_multiplier=0.5 (expected surge_multiplier >= 1)')
    """
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return Validation(None, "not valid JSON")
    if not isinstance(obj, dict):
        return Validation(None, "not a JSON object")
    record: dict[str, Any] = {}
    for name, kind, required in FIELDS[topic]:
        value = obj.get(name)
        if value is None:
            if required:
                return Validation(None, f"missing required field: {name}")
            record[name] = None
            continue
        if not _type_ok(kind, value):
            return Validation(None, f"wrong type: {name} is not {kind}")
        if kind == "timestamp":
            try:
                value = datetime.strptime(value, TIME_FORMAT)
            except ValueError:
                return Validation(None, f"bad timestamp: {name} is not in the form {SPARK_TIME_FORMAT}")
        record[name] = value
    for name, low, high in RULES[topic]:
        value = record.get(name)
        if value is None:
            continue
        if (low is not None and value < low) or (high is not None and value > high):
            return Validation(None, f"impossible value: {name}={value} (expected {describe_rule(name, low, high)})")
    return Validation(record, None)
