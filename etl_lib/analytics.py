"""The nine windowed analytics of seed 003, and two more that use its short and sliding windows
(``WINDOW_DURATION_SHORT``, ``SLIDE_DURATION``), written so Structured Streaming can run them in append mode.

Two ideas make this possible without a batch job in disguise:

1. **Union, then one window aggregation.**  Bike trips, taxi rides and weather
   observations are put into one stream with a common schema and counted per
   15-minute window (:func:`create_combined_transport_weather_window`).  No
   stream-stream join of aggregates is needed.
2. **Mergeable partial aggregates.**  A correlation or a mean *across* windows
   is a second, chained window aggregation (per ``WINDOW_DURATION_LONG``, one
   hour) that emits sufficient statistics: n, Σx, Σy, Σxy, Σx², Σy², sums and
   counts.  Rows of any set of hours add up, so a reader merges them into r,
   means and relative changes (the ``summarize_*`` functions, in pandas).

Both aggregations close a window only when the watermark (max event time seen
minus ``WATERMARK_DELAY``) passes its end: an event later than that is left
out, and the last windows of a finished run stay open until newer data arrives.
Each ``calculate_*`` function gives the same rows on a batch DataFrame, where
the watermark is ignored and every window is complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F

from .core.kinds import by_id
from .core.settings import Settings, get_settings
from .parsing import precip_category
from .writers import EVENTS, read_table_stream
from .summaries import TRANSPORT_VARS, WEATHER_VARS  # the variables the windows carry, named where they are summarized

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

__all__ = [
    "create_combined_transport_weather_window",
    "SILVER_WINDOWS",
    "read_combined_windows_stream",
    "calculate_weather_transport_correlation",
    "calculate_weather_safety_risk",
    "calculate_surge_weather_correlation",
    "generate_transport_usage_summary",
    "calculate_pearson_correlations",
    "calculate_binned_weather_aggregations",
    "calculate_precipitation_impact_analysis",
    "calculate_temporal_segmented_correlations",
    "calculate_multi_variable_correlation_summary",
    "calculate_realtime_transport_usage",
    "calculate_sliding_transport_usage",
]


def _null() -> Column:
    return F.lit(None).cast("double")


def _day_type(start: Column) -> Column:
    return F.when(F.dayofweek(start).isin(1, 7), "weekend").otherwise("weekday")


def _period(start: Column) -> Column:
    h = F.hour(start)
    weekday = ~F.dayofweek(start).isin(1, 7)
    return (F.when((h >= 22) | (h < 6), "night")
            .when(weekday & (((h >= 7) & (h < 10)) | ((h >= 16) & (h < 19))), "rush_hour")
            .otherwise("leisure"))


def _kind_values(kind: str, df: "DataFrame") -> dict[str, Column]:
    """The measures one record kind brings to the common event schema: a bike trip's duration, a taxi ride's
    surge multiplier, a weather observation's variables (accidents bring none)."""
    if kind == "bike":
        return {"trip_duration": F.col("trip_duration").cast("double")}
    if kind == "taxi":
        return {"surge": F.col("surge_multiplier")}
    if kind == "weather":
        return {v: F.col(v) for v in WEATHER_VARS}
    return {}


def kind_events(df: "DataFrame", kind: str) -> "DataFrame":
    """One record kind's parsed rows in the common event schema every windowed analytic reads.

    Columns: ``event_time``; ``source`` (the record kind's id, see :mod:`etl_lib.core.kinds`) and ``event_id``
    (that kind's ``record_id`` field), which together name an event; one 0/1 flag per kind (``is_bike``, ...);
    the measures (``trip_duration``, ``surge`` and the weather variables), null where the kind has none.  The
    kit's raw query writes these rows for the four topics into one table (:data:`EVENTS`), which the silver
    events query deduplicates once for every analytic.
    """
    cols = {"source": F.lit(kind), "event_id": F.col(by_id(kind).record_id).cast("string"),
            "is_bike": F.lit(int(kind == "bike")), "is_taxi": F.lit(int(kind == "taxi")),
            "is_weather": F.lit(int(kind == "weather")), "is_accident": F.lit(int(kind == "accidents")),
            "trip_duration": _null(), "surge": _null(), **{v: _null() for v in WEATHER_VARS}}
    cols.update(_kind_values(kind, df))
    return df.select(F.col("event_time"), *[c.alias(name) for name, c in cols.items()])


def once_each(events: "DataFrame", s: Settings | None = None) -> "DataFrame":
    """Events (rows of :func:`kind_events`) with their event-time watermark, each event once: a record sent twice
    is dropped.

    ``dropDuplicatesWithinWatermark`` remembers each (source, id) until the
    watermark passes the event time of its first copy plus ``WATERMARK_DELAY``,
    so its state stays bounded; a copy arriving later than that is at or behind
    the watermark and is dropped as late.  A batch
    DataFrame sees every record at once and uses a plain ``dropDuplicates``.
    (The raw Parquet keeps every record that arrived: it is the record of what
    was sent.)
    """
    s = s or get_settings()
    # One watermark on the union, not one per topic: it follows the newest event of *any* source, so a topic
    # that runs ahead makes another topic's older records late.  It is safe while each micro-batch holds the
    # same stretch of event time of every topic: one query reads them together (in the kit's design, one raw
    # query writes each Kafka micro-batch's events of all four topics in one commit), from a producer that
    # interleaves them in event-time order.  A backlog read in capped batches need not be: Spark splits
    # KAFKA_MAX_OFFSETS_PER_TRIGGER by each partition's unread offsets, not by event time (docs/scale.md).
    # With a watermark per topic before the union, Spark combines them by
    # spark.sql.streaming.multipleWatermarkPolicy ("min", the default: the slowest topic holds it back).
    watermarked = events.withWatermark("event_time", s.watermark_delay)
    if events.isStreaming:
        return watermarked.dropDuplicatesWithinWatermark(["source", "event_id"])
    return watermarked.dropDuplicates(["source", "event_id"])


def _once_each(frames: dict[str, "DataFrame"], s: Settings) -> "DataFrame":
    """The seed's design: the parsed streams of several kinds (by kind id) as one union of events, deduplicated."""
    parts = [kind_events(df, kind) for kind, df in frames.items()]
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return once_each(union, s)


def create_combined_transport_weather_window(
    bike_df: "DataFrame", taxi_df: "DataFrame", weather_df: "DataFrame", settings: Settings | None = None
) -> "DataFrame":
    """Bike and taxi counts with the weather of each ``WINDOW_DURATION_MEDIUM`` window.

    One row per window that has at least one weather observation: counts (0 when
    no trips), sums of trip durations and surge multipliers, the mean of each
    weather variable, its temperature bin and precipitation category, and the
    day type and period of its start.  ``window`` is kept for chained windows.
    """
    s = settings or get_settings()
    return _windows_of(_once_each({"bike": bike_df, "taxi": taxi_df, "weather": weather_df}, s), s)


def _windows_of(events: "DataFrame", s: Settings) -> "DataFrame":
    """:func:`create_combined_transport_weather_window` over events already deduplicated and watermarked."""
    windows = (
        events
        .groupBy(F.window("event_time", s.window_duration_medium))
        .agg(
            F.sum("is_bike").alias("bike_count"),
            F.sum("is_taxi").alias("taxi_count"),
            F.sum("is_weather").alias("weather_obs"),
            F.sum("trip_duration").alias("duration_sum"),
            F.sum("surge").alias("surge_sum"),
            *[F.avg(v).alias(v) for v in WEATHER_VARS],
        )
    )
    start = F.col("window.start")
    low = (F.floor(F.col("temperature") / 5) * 5).cast("int")
    return windows.where(F.col("weather_obs") > 0).select(
        "window",
        start.alias("window_start"),
        F.col("window.end").alias("window_end"),
        "bike_count",
        "taxi_count",
        "weather_obs",
        "duration_sum",
        "surge_sum",
        F.when(F.col("taxi_count") > 0, F.col("surge_sum") / F.col("taxi_count")).alias("avg_surge"),
        F.when(F.col("bike_count") > 0, F.col("duration_sum") / F.col("bike_count")).alias("avg_duration"),
        *WEATHER_VARS,
        F.concat(low.cast("string"), F.lit("_to_"), (low + 5).cast("string"), F.lit("C")).alias("temp_bin"),
        precip_category(F.col("precip_intensity")).alias("precip_category"),
        _day_type(start).alias("day_type"),
        _period(start).alias("period"),
    )


SILVER_WINDOWS = "transport_weather_windows"


def read_combined_windows_stream(spark: "SparkSession", schema: "StructType", settings: Settings | None = None
                                 ) -> "DataFrame":
    """The silver table (``SILVER_PATH/transport_weather_windows``) as a stream the chained analytics can read.

    One query computes the combined windows from the silver events and writes them to the
    silver table; seven analytics read that table instead of re-reading three
    Kafka topics and repeating the union, deduplication and window aggregation
    each.  A streaming file source reads only the files the silver query
    committed (its ``_spark_metadata`` log) and records in its own checkpoint
    which files it has read, so restarting either stage repeats and loses nothing.

    ``schema`` is the combined windows' schema (a streaming file source does not
    infer one).  A silver row is final when it is written (the window closed when
    the first watermark passed it) and later micro-batches only close later
    windows, so the rows arrive in window order and a watermark of zero on
    ``window_start`` drops nothing.  ``window`` is rebuilt from ``window_start``
    so that ``window_time`` (the chained analytics' event time) works on it.
    """
    s = settings or get_settings()
    path = s.silver_path / SILVER_WINDOWS
    return (read_table_stream(spark, path, schema)
            .withWatermark("window_start", "0 seconds")
            .withColumn("window", F.window("window_start", s.window_duration_medium)))


def deduplicate_events(spark: "SparkSession", schema: "StructType", settings: Settings | None = None) -> "DataFrame":
    """The silver events: the raw query's events table (``OUTPUT_BASE_PATH/events``, every valid record as it
    arrived) as a stream, each event once (:func:`once_each`): the one deduplication every analytic that counts
    records builds on.  ``schema``: the events' schema (:func:`kind_events`)."""
    s = settings or get_settings()
    return once_each(read_table_stream(spark, s.output_base_path / EVENTS, schema), s)


def read_events_stream(spark: "SparkSession", schema: "StructType", kinds: Sequence[str],
                       settings: Settings | None = None) -> "DataFrame":
    """The silver events table (``SILVER_PATH/events``) as a stream: the events of ``kinds`` only, with the
    event-time watermark.

    The silver events query writes each event once; this reader's watermark follows only what it keeps of that
    output.  It is what the seed's design computes in each query from Kafka: the same kinds, watermarked alone,
    each event once.  One difference: Spark filters late rows with the watermark of the batch before, so a late
    row the silver query kept can be late here, once this reader has read the silver batch before it
    (docs/orchestrator.md, "What the chain changes for late rows").
    """
    s = settings or get_settings()
    events = read_table_stream(spark, s.silver_path / EVENTS, schema).where(F.col("source").isin(*kinds))
    return events.withWatermark("event_time", s.watermark_delay)


def _chained(combined: "DataFrame", keys: Sequence[str], aggs: Sequence[Column], s: Settings) -> "DataFrame":
    """Second-level aggregation of window rows per ``WINDOW_DURATION_LONG`` group (chained, append mode)."""
    group = F.window(F.window_time("window"), s.window_duration_long).alias("group")
    result = combined.groupBy(group, *keys).agg(*aggs)
    return result.select(F.col("group.start").alias("group_start"), F.col("group.end").alias("group_end"),
                         *[c for c in result.columns if c != "group"])


def _sums(x: Column, y: Column) -> list[Column]:
    """The sufficient statistics of Pearson's r for pairs (x, y)."""
    return [F.count(F.lit(1)).alias("n"), F.sum(x).alias("sum_x"), F.sum(y).alias("sum_y"),
            F.sum(x * y).alias("sum_xy"), F.sum(x * x).alias("sum_xx"), F.sum(y * y).alias("sum_yy")]


def _pairs(combined: "DataFrame", pairs: Sequence[tuple[str, str]], keys: Sequence[str] = ()) -> "DataFrame":
    """Long format: one row per window and (x, y) pair where both values are present."""
    structs = [F.struct(F.lit(x).alias("x_name"), F.lit(y).alias("y_name"),
                        F.col(x).cast("double").alias("x"), F.col(y).cast("double").alias("y"))
               for x, y in pairs]
    return (combined.select("window", *keys, F.explode(F.array(*structs)).alias("p"))
            .select("window", *keys, "p.*")
            .where(F.col("x").isNotNull() & F.col("y").isNotNull()))


# ---------------------------------------------------------------------- the seed's nine analytics
def calculate_weather_transport_correlation(combined_df: "DataFrame", settings: Settings | None = None) -> "DataFrame":
    """1 · Bike and taxi counts per window with that window's weather (one row per 15-minute window).

    ``settings`` is accepted like every other analytic's and not needed: the windows are already built.
    """
    return combined_df.drop("window")


def calculate_weather_safety_risk(
    accident_df: "DataFrame", weather_df: "DataFrame", settings: Settings | None = None
) -> "DataFrame":
    """2 · Accidents per ``WINDOW_DURATION_LONG`` window with its weather condition (dry, light, heavy rain).

    Accidents are rare, hence the longer window.  :func:`summarize_safety`
    turns the rows into accidents per hour by condition and the risk relative to dry hours.
    """
    s = settings or get_settings()
    return _safety_of(_once_each({"accidents": accident_df, "weather": weather_df}, s), s)


def _safety_of(events: "DataFrame", s: Settings) -> "DataFrame":
    """:func:`calculate_weather_safety_risk` over events already deduplicated and watermarked."""
    hours = (
        events
        .groupBy(F.window("event_time", s.window_duration_long))
        .agg(F.sum("is_accident").alias("accident_count"), F.sum("is_weather").alias("weather_obs"),
             F.avg("precip_intensity").alias("precip_intensity"), F.avg("visibility").alias("visibility"))
    )
    return hours.where(F.col("weather_obs") > 0).select(
        F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"),
        "accident_count", "weather_obs", "precip_intensity", "visibility",
        precip_category(F.col("precip_intensity")).alias("condition"),
        (F.col("visibility") < 5).alias("low_visibility"),
    )


def calculate_surge_weather_correlation(combined_df: "DataFrame", settings: Settings | None = None) -> "DataFrame":
    """3 · Surge against rain: per group and precipitation category, sums for mean surge and r(precip, surge)."""
    s = settings or get_settings()
    with_taxis = combined_df.where(F.col("taxi_count") > 0)
    return _chained(with_taxis, ["precip_category"],
                    [*_sums(F.col("precip_intensity"), F.col("avg_surge")),
                     F.sum("surge_sum").alias("surge_sum"), F.sum("taxi_count").alias("taxi_trips")], s)


def generate_transport_usage_summary(
    bike_df: "DataFrame", taxi_df: "DataFrame", settings: Settings | None = None
) -> "DataFrame":
    """4 · Bike and taxi trips per ``WINDOW_DURATION_LONG`` window, with its hour of day and day type."""
    s = settings or get_settings()
    return _usage_of(_once_each({"bike": bike_df, "taxi": taxi_df}, s), s)


def _usage_of(events: "DataFrame", s: Settings) -> "DataFrame":
    """:func:`generate_transport_usage_summary` over bike and taxi events already deduplicated and watermarked."""
    hours = _trip_counts(events, s, s.window_duration_long)
    start = F.col("window_start")
    return hours.select("window_start", "window_end",
                        F.date_format(start, "yyyy-MM-dd").alias("date"), F.hour(start).alias("hour_of_day"),
                        _day_type(start).alias("day_type"), "bike_count", "taxi_count")


def _trip_counts(events: "DataFrame", s: Settings, length: str, slide: str | None = None) -> "DataFrame":
    """Bike and taxi trips per event-time window of ``length``, sliding by ``slide`` if given, over bike and taxi
    events already deduplicated (each counted once) and watermarked."""
    window = F.window("event_time", length, slide) if slide else F.window("event_time", length)
    counts = (events.groupBy(window)
              .agg(F.sum("is_bike").alias("bike_count"), F.sum("is_taxi").alias("taxi_count")))
    return counts.select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"),
                         "bike_count", "taxi_count")


def calculate_pearson_correlations(combined_df: "DataFrame", settings: Settings | None = None) -> "DataFrame":
    """5 · Sufficient statistics of r between every weather variable and transport measure, per group.

    :func:`summarize_pearson` merges the groups into r and n per pair.
    """
    s = settings or get_settings()
    pairs = [(x, y) for x in WEATHER_VARS for y in TRANSPORT_VARS]
    long = _pairs(combined_df, pairs)
    return _chained(long, ["x_name", "y_name"], _sums(F.col("x"), F.col("y")), s)


def calculate_binned_weather_aggregations(combined_df: "DataFrame", settings: Settings | None = None) -> "DataFrame":
    """6 · Per temperature bin and precipitation category: windows, trips, durations and surges, per group.

    :func:`summarize_binned` gives the graph-ready means per bin.
    """
    s = settings or get_settings()
    return _chained(combined_df, ["temp_bin", "precip_category"],
                    [F.count(F.lit(1)).alias("windows"), F.sum("bike_count").alias("bike_trips"),
                     F.sum("taxi_count").alias("taxi_trips"), F.sum("duration_sum").alias("duration_sum"),
                     F.sum("surge_sum").alias("surge_sum")], s)


def calculate_precipitation_impact_analysis(combined_df: "DataFrame", settings: Settings | None = None
                                            ) -> "DataFrame":
    """7 · Windows and trips per precipitation category, per group (relative change: :func:`summarize_precipitation_impact`)."""
    s = settings or get_settings()
    return _chained(combined_df, ["precip_category"],
                    [F.count(F.lit(1)).alias("windows"), F.sum("bike_count").alias("bike_trips"),
                     F.sum("taxi_count").alias("taxi_trips")], s)


TEMPORAL_PAIRS = (("precip_intensity", "bike_count"), ("precip_intensity", "taxi_count"),
                  ("temperature", "bike_count"))


def calculate_temporal_segmented_correlations(combined_df: "DataFrame", settings: Settings | None = None
                                              ) -> "DataFrame":
    """8 · Sufficient statistics of r per day type (weekday/weekend) and period (rush hour/leisure/night)."""
    s = settings or get_settings()
    long = _pairs(combined_df, TEMPORAL_PAIRS, keys=("day_type", "period"))
    return _chained(long, ["day_type", "period", "x_name", "y_name"], _sums(F.col("x"), F.col("y")), s)


def calculate_multi_variable_correlation_summary(combined_df: "DataFrame", settings: Settings | None = None
                                                 ) -> "DataFrame":
    """9 · Everything at once per group: windows, trips, rainy windows and the sum of every weather variable."""
    s = settings or get_settings()
    return _chained(combined_df, [],
                    [F.count(F.lit(1)).alias("windows"), F.sum("bike_count").alias("bike_trips"),
                     F.sum("taxi_count").alias("taxi_trips"),
                     F.sum((F.col("precip_intensity") > 0).cast("int")).alias("rainy_windows"),
                     *[F.sum(v).alias(f"sum_{v}") for v in WEATHER_VARS]], s)


# ---------------------------------------------------------------------- two more: short and sliding windows
def calculate_realtime_transport_usage(
    bike_df: "DataFrame", taxi_df: "DataFrame", settings: Settings | None = None
) -> "DataFrame":
    """10 · Bike and taxi trips per ``WINDOW_DURATION_SHORT`` tumbling window (5 minutes by default).

    The seed's "fast-moving metric": what a live dashboard shows as the trips
    of the last five minutes.  A short window closes soon after its end (one
    watermark delay later), so the newest row is never far behind the stream.
    """
    s = settings or get_settings()
    return _realtime_of(_once_each({"bike": bike_df, "taxi": taxi_df}, s), s)


def _realtime_of(events: "DataFrame", s: Settings) -> "DataFrame":
    return _trip_counts(events, s, s.window_duration_short)


def calculate_sliding_transport_usage(
    bike_df: "DataFrame", taxi_df: "DataFrame", settings: Settings | None = None
) -> "DataFrame":
    """11 · Bike and taxi trips per ``WINDOW_DURATION_MEDIUM`` window sliding every ``SLIDE_DURATION``.

    Windows of 15 minutes starting every 5 minutes overlap: each trip counts in
    three of them (window / slide), so the series is as smooth as a 15-minute
    window and as fresh as a 5-minute one.  With ``SLIDE_DURATION`` equal to the
    window length it is the tumbling window again.
    """
    s = settings or get_settings()
    return _sliding_of(_once_each({"bike": bike_df, "taxi": taxi_df}, s), s)


def _sliding_of(events: "DataFrame", s: Settings) -> "DataFrame":
    return _trip_counts(events, s, s.window_duration_medium, s.slide_duration)


# The kit's design: the analytics that count records (rather than read the windows), built from the silver
# events, by the name of the function that builds them in the seed's design: the kinds they read and the
# aggregation they apply to those events.
FROM_EVENTS = {
    "create_combined_transport_weather_window": (("bike", "taxi", "weather"), _windows_of),
    "calculate_weather_safety_risk": (("accidents", "weather"), _safety_of),
    "generate_transport_usage_summary": (("bike", "taxi"), _usage_of),
    "calculate_realtime_transport_usage": (("bike", "taxi"), _realtime_of),
    "calculate_sliding_transport_usage": (("bike", "taxi"), _sliding_of),
}


def from_events(build: str, spark: "SparkSession", schema: "StructType", settings: Settings | None = None
                ) -> "DataFrame":
    """The analytic that ``build`` (a function's name in :data:`FROM_EVENTS`) makes, read from the silver events."""
    s = settings or get_settings()
    kinds, aggregate = FROM_EVENTS[build]
    return aggregate(read_events_stream(spark, schema, kinds, s), s)
