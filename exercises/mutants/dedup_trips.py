"""Wrong answers to exercise 11 `dedup_trips`, one requirement broken in each."""


def keeps_copies(trips):
    """Breaks "once": a watermark, but nothing dropped."""
    return trips.withWatermark("start_time", "10 minutes")


def by_start_time(trips):
    """Breaks "once": deduplicates on the start time, so two trips that start together become one."""
    return trips.withWatermark("start_time", "10 minutes").dropDuplicatesWithinWatermark(["start_time"])


def remembers_everything(trips):
    """Breaks "bounded": no watermark, so every trip id stays in state for ever."""
    return trips.dropDuplicates(["trip_id"])


MUTANTS = [("once", keeps_copies), ("once", by_start_time), ("bounded", remembers_everything)]
