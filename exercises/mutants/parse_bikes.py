"""Wrong answers to exercise 05 `parse_bikes`, one requirement broken in each."""

from pyspark.sql import functions as F
from pyspark.sql import types as T

_FIELDS = ["trip_id", "trip_duration", "start_time", "stop_time", "start_station_id", "end_station_id"]


def _parse(raw, *, typed=True, duration_rule=True, drop_rejected=False, reasons=True, infer=False):
    schema = T.StructType([T.StructField(name, T.StringType()) for name in _FIELDS])
    strings = raw.select(F.col("value").cast("string").alias("value"))
    if infer:
        schema = raw.sparkSession.read.json(strings).schema
    j = strings.withColumn("r", F.from_json("value", schema))
    fmt = "yyyy-MM-dd HH:mm:ss"
    as_int = "int" if typed else "string"
    cols = j.select(
        "value", "r", F.col("r.trip_id").alias("trip_id"),
        F.col("r.trip_duration").try_cast("int").alias("_duration"),
        F.col("r.trip_duration").try_cast(as_int).alias("trip_duration"),
        F.try_to_timestamp("r.start_time", F.lit(fmt)).alias("start_time"),
        F.try_to_timestamp("r.stop_time", F.lit(fmt)).alias("stop_time"),
        F.col("r.start_station_id").try_cast("int").alias("start_station_id"),
        F.col("r.end_station_id").try_cast("int").alias("end_station_id"))
    reason = F.when(F.col("r").isNull(), "not a JSON object")
    for name in ("trip_id", "_duration", "start_time", "stop_time", "start_station_id", "end_station_id"):
        reason = reason.when(F.col(name).isNull(), f"{name.strip('_')} missing or of the wrong type")
    if duration_rule:
        reason = reason.when(F.col("_duration") < 1, "trip_duration below 1")
    checked = cols.withColumn("reason", reason)
    valid = checked.where(F.col("reason").isNull()).drop("value", "r", "reason", "_duration")
    rejected = checked.where(F.col("reason").isNotNull()).select(
        "value", (F.col("reason") if reasons else F.lit("")).alias("reason"))
    if drop_rejected:
        rejected = rejected.limit(0)
    return valid, rejected


def durations_as_text(raw):
    """Breaks "types": trip_duration stays a string."""
    return _parse(raw, typed=False)


def zero_minute_trips(raw):
    """Breaks "duration": a trip of 0 seconds passes as valid."""
    return _parse(raw, duration_rule=False)


def filters_the_bad_out(raw):
    """Breaks "no-drop": the bad records are filtered out and kept nowhere."""
    return _parse(raw, drop_rejected=True)


def blank_reasons(raw):
    """Breaks "reason": the bad records are kept, but without saying why."""
    return _parse(raw, reasons=False)


def lenient_fields(raw):
    """Breaks "fields": only a record that is not JSON at all is rejected; missing or mistyped fields pass."""
    valid, rejected = _parse(raw)
    kept = rejected.where(F.col("reason") != "not a JSON object")
    return valid.unionByName(kept.select(*[F.lit(None).cast(f.dataType).alias(f.name) for f in valid.schema]),
                             allowMissingColumns=True), rejected.where(F.col("reason") == "not a JSON object")


def inferred_schema(raw):
    """Breaks "explicit": the schema is inferred from the batch's own values (spark.read.json over them), then each
    field cast as above; a batch whose records lack a field has no such column to cast."""
    return _parse(raw, infer=True)


MUTANTS = [("types", durations_as_text), ("duration", zero_minute_trips), ("no-drop", filters_the_bad_out),
           ("reason", blank_reasons), ("fields", lenient_fields), ("explicit", inferred_schema)]
