"""Wrong answers to exercise 06 `windowed_counts`, one requirement broken in each."""

from pyspark.sql import functions as F


def _start(bikes, write, *, delay="10 minutes", length="15 minutes", rename=True, mode="append"):
    if delay is not None:
        bikes = bikes.withWatermark("start_time", delay)
    counts = bikes.groupBy(F.window("start_time", length)).agg(F.count("*").alias("trips"))
    if rename:
        counts = counts.select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"),
                               "trips")
    return counts.writeStream.outputMode(mode).foreachBatch(write).start()


def no_watermark(bikes, write):
    """Breaks "append": without a watermark no window is ever final, and Spark refuses append mode."""
    return _start(bikes, write, delay=None)


def update_mode(bikes, write):
    """Breaks "append": update mode hands the sink a window every time its count changes, before it is final."""
    return _start(bikes, write, mode="update")


def complete_mode(bikes, write):
    """Breaks "append": complete mode hands the sink the whole table, every window, every batch."""
    return _start(bikes, write, mode="complete")


def an_hour_late(bikes, write):
    """Breaks "late": a one-hour delay lets the 08:07 trip in."""
    return _start(bikes, write, delay="1 hour")


def ten_minute_windows(bikes, write):
    """Breaks "window": 10-minute windows."""
    return _start(bikes, write, length="10 minutes")


def window_struct(bikes, write):
    """Breaks "columns": the window struct is left as it is."""
    return _start(bikes, write, rename=False)


MUTANTS = [("append", no_watermark), ("append", update_mode), ("append", complete_mode), ("late", an_hour_late),
           ("window", ten_minute_windows), ("columns", window_struct)]
