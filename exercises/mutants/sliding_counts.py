"""Wrong answers to exercise 06 `sliding_counts`, one requirement broken in each."""

from pyspark.sql import functions as F


def tumbling(df):
    """Breaks "slide": 15-minute windows that do not overlap."""
    return (df.groupBy(F.window("start_time", "15 minutes")).agg(F.count("*").alias("trips"))
            .select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"), "trips"))


def ten_minute_windows(df):
    """Breaks "length": 10-minute windows sliding every 5."""
    return (df.groupBy(F.window("start_time", "10 minutes", "5 minutes")).agg(F.count("*").alias("trips"))
            .select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"), "trips"))


def default_names(df):
    """Breaks "columns": the window struct and Spark's `count` column, as groupBy().count() leaves them."""
    return df.groupBy(F.window("start_time", "15 minutes", "5 minutes")).count()


MUTANTS = [("slide", tumbling), ("length", ten_minute_windows), ("columns", default_names)]
