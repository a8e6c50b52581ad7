"""The four kinds of record, written once: bike trips, taxi trips, weather, accidents (seed 003's four topics).

Each entry says what the settings, data_gen, the parser, the writers, the
analytics and the pipelines need to know of one kind: its id (the key of
``Settings.kafka_topics``, of :data:`etl_lib.schemas.FIELDS` and of data_gen's
records), its ``KAFKA_TOPIC_*`` setting, its event-time field and how times
are written, the field that identifies one event, the folder its parsed
records go to, the *name* of its parser in :mod:`etl_lib.parsing`, and the
name the thread pipelines' simulated stream gives it.  The parser is named,
not imported: this foundation module imports nothing above it, and
``etl_lib.parsing`` resolves the name on its own floor.

Where a spelling other than the id is already on disk, in a lesson's output or
in the seed (``bike_trips``, ``weather_data``, ``bike_trip``), it is a field of
its kind here, not a second name to keep in step.

>>> [k.id for k in KINDS]
['bike', 'taxi', 'weather', 'accidents']
>>> by_id("accidents").parser, by_id("weather").folder
('parse_accident_stream', 'weather_data')
>>> by_id("bike").event_time, by_id("bike").time_format
('start_time', '%Y-%m-%d %H:%M:%S')
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RecordKind", "KINDS", "KIND_IDS", "TIME_FORMAT", "SPARK_TIME_FORMAT", "by_id"]

# Event times are Boston wall-clock times without a zone, as in the source datasets: the same form in Python
# (strftime/strptime) and in Spark (to_timestamp, date_format).  Every time field of every kind uses it.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SPARK_TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"


@dataclass(frozen=True)
class RecordKind:
    """One kind of record: its id, its topic setting, its event time, its id field, its folder, its parser."""

    id: str  # Settings.kafka_topics key, schemas.FIELDS key, data_gen topic, --topic value of `etl_lib pipelines`
    title: str  # for docs and banners: "bike trips"
    setting: str  # the KAFKA_TOPIC_* setting naming its Kafka topic
    event_time: str  # the field holding the event time (the watermark's clock)
    record_id: str  # the field that identifies one event: a record sent twice has the same value here
    folder: str  # parsed records under OUTPUT_BASE_PATH/<folder>, rejected ones under QUARANTINE_PATH/<folder>
    parser: str  # function of etl_lib.parsing: parser(raw Kafka DataFrame, settings) -> valid records
    event_type: str  # its event_type in the thread pipelines' simulated stream (etl_lib.pipelines.streaming)
    time_format: str = TIME_FORMAT  # how its times are written, for Python's strftime/strptime
    spark_time_format: str = SPARK_TIME_FORMAT  # the same, for Spark's to_timestamp/date_format

    @property
    def topic_attribute(self) -> str:
        """The setting's attribute on :class:`~etl_lib.core.settings.Settings` (``kafka_topic_bike``)."""
        return self.setting.lower()


KINDS: tuple[RecordKind, ...] = (
    RecordKind("bike", "bike trips", "KAFKA_TOPIC_BIKE", "start_time", "trip_id", "bike_trips",
               "parse_bike_stream", "bike_trip"),
    RecordKind("taxi", "taxi trips", "KAFKA_TOPIC_TAXI", "timestamp", "id", "taxi_trips",
               "parse_taxi_stream", "taxi_trip"),
    # One observation per timestamp: the time is the id.
    RecordKind("weather", "weather observations", "KAFKA_TOPIC_WEATHER", "timestamp", "timestamp", "weather_data",
               "parse_weather_stream", "weather"),
    RecordKind("accidents", "accident reports", "KAFKA_TOPIC_ACCIDENTS", "dispatch_ts", "id", "accidents",
               "parse_accident_stream", "accident"),
)

KIND_IDS: tuple[str, ...] = tuple(k.id for k in KINDS)

_BY_ID = {k.id: k for k in KINDS}


def by_id(kind: str) -> RecordKind:
    """The kind whose id is ``kind`` (``"bike"``, ``"taxi"``, ``"weather"``, ``"accidents"``).

    >>> by_id("accident")
    Traceback (most recent call last):
    ...
    KeyError: "no record kind 'accident': the kinds are bike, taxi, weather, accidents"
    """
    try:
        return _BY_ID[kind]
    except KeyError:
        raise KeyError(f"no record kind {kind!r}: the kinds are {', '.join(KIND_IDS)}") from None
