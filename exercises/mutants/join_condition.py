"""Wrong answers to exercise 11 `join_condition`, one requirement broken in each."""

from pyspark.sql import functions as F


def any_city(acc, wx):
    """Breaks "city": the time range alone."""
    return ((F.col("w.obs_ts") >= F.col("a.dispatch_ts") - F.expr("interval 30 minutes"))
            & (F.col("w.obs_ts") <= F.col("a.dispatch_ts")))


def no_lower_bound(acc, wx):
    """Breaks "range": every observation before the accident, however old."""
    return (F.col("a.city") == F.col("w.city")) & (F.col("w.obs_ts") <= F.col("a.dispatch_ts"))


def open_interval(acc, wx):
    """Breaks "ends": strict comparisons leave out both ends."""
    return ((F.col("a.city") == F.col("w.city"))
            & (F.col("w.obs_ts") > F.col("a.dispatch_ts") - F.expr("interval 30 minutes"))
            & (F.col("w.obs_ts") < F.col("a.dispatch_ts")))


MUTANTS = [("city", any_city), ("range", no_lower_bound), ("ends", open_interval)]
