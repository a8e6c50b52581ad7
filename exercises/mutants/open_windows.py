"""Wrong answers to exercise 14 `open_windows`, one requirement broken in each."""

from pyspark.sql import functions as F


def _state(spark, checkpoint, batch_id=None):
    reader = spark.read.format("statestore")
    if batch_id is not None:
        reader = reader.option("batchId", batch_id)
    return reader.load(checkpoint).select(F.col("key.window.start").alias("start"),
                                          F.col("value.count").alias("trips"))


def first_batch(spark, checkpoint):
    """Breaks "held": reads the state after the first batch, not after the last."""
    rows = _state(spark, checkpoint, batch_id=0).collect()
    return sorted((r["start"].strftime("%H:%M"), r["trips"]) for r in rows)


def newest_first(spark, checkpoint):
    """Breaks "pairs": the windows, newest first."""
    rows = _state(spark, checkpoint).collect()
    return sorted(((r["start"].strftime("%H:%M"), r["trips"]) for r in rows), reverse=True)


def timestamps(spark, checkpoint):
    """Breaks "format": the start as a timestamp, not as "HH:MM"."""
    rows = _state(spark, checkpoint).collect()
    return sorted((r["start"], r["trips"]) for r in rows)


MUTANTS = [("held", first_batch), ("pairs", newest_first), ("format", timestamps)]
