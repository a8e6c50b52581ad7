"""Wrong answers to exercise 06 `windowed_counts`, one requirement broken in each."""

from pyspark.sql import functions as F


def _counts(bikes, *, delay="10 minutes", length="15 minutes", rename=True):
    if delay is not None:
        bikes = bikes.withWatermark("start_time", delay)
    counts = bikes.groupBy(F.window("start_time", length)).agg(F.count("*").alias("trips"))
    if not rename:
        return counts
    return counts.select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"),
                         "trips")


def no_watermark(bikes):
    """Breaks "append": without a watermark no window is ever final, and Spark refuses append mode."""
    return _counts(bikes, delay=None)


def an_hour_late(bikes):
    """Breaks "late": a one-hour delay lets the 08:07 trip in."""
    return _counts(bikes, delay="1 hour")


def ten_minute_windows(bikes):
    """Breaks "window": 10-minute windows."""
    return _counts(bikes, length="10 minutes")


def window_struct(bikes):
    """Breaks "columns": the window struct is left as it is."""
    return _counts(bikes, rename=False)


MUTANTS = [("append", no_watermark), ("late", an_hour_late), ("window", ten_minute_windows),
           ("columns", window_struct)]
