"""Wrong answers to exercise 14 `start_realtime_query`, one requirement broken in each."""


def _query(spark, bootstrap, source, target, min_minutes, checkpoint, *, trigger=None, mode="update",
           reader_options=None, keep=True, dedup=False, earliest=True):
    from pyspark.sql import functions as F

    reader = spark.readStream.format("kafka").option("kafka.bootstrap.servers", bootstrap).option("subscribe", source)
    if earliest:
        reader = reader.option("startingOffsets", "earliest")
    for key, value in (reader_options or {}).items():
        reader = reader.option(key, value)
    trips = reader.load().select(F.from_json(F.col("value").cast("string"), "trip_id string, minutes int")
                                 .alias("trip"))
    if keep:
        trips = trips.where(F.col("trip.minutes") >= min_minutes)
    out = trips.select(F.col("trip.trip_id").alias("value"))
    if dedup:
        out = out.dropDuplicates(["value"])
    writer = (out.writeStream.format("kafka").option("kafka.bootstrap.servers", bootstrap).option("topic", target)
              .option("checkpointLocation", checkpoint))
    if mode:
        writer = writer.outputMode(mode)
    return writer.trigger(**(trigger or {"realTime": "5 seconds"})).start()


def micro_batches(*args):
    """Breaks "realtime": the same query on a 1-second processing-time trigger (micro-batches)."""
    return _query(*args, trigger={"processingTime": "1 second"})


def default_output_mode(*args):
    """Breaks "allowed": leaves the output mode at its default, append, which real-time mode refuses at start."""
    return _query(*args, mode=None)


def capped(*args):
    """Breaks "allowed": caps each batch at 100 records (maxOffsetsPerTrigger), which real-time mode refuses."""
    return _query(*args, reader_options={"maxOffsetsPerTrigger": "100"})


def deduplicated(*args):
    """Breaks "allowed": drops duplicate trip ids to write each trip once, a stateful operation real-time mode
    refuses."""
    return _query(*args, dedup=True)


def every_trip(*args):
    """Breaks "output": forgets the filter, so short trips reach the topic too."""
    return _query(*args, keep=False)


def from_latest(*args):
    """Breaks "beginning": leaves startingOffsets at its default for a streaming query, latest, so the trips
    already in the topic are skipped."""
    return _query(*args, earliest=False)


MUTANTS = [("realtime", micro_batches), ("allowed", default_output_mode), ("allowed", capped),
           ("allowed", deduplicated), ("output", every_trip), ("beginning", from_latest)]
