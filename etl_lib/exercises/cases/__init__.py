"""The hidden cases of every exercise, one module per exercise (in lesson order, the order they are listed in).

Each case shows its input, checks one property and carries a hint that points at the idea, not at the code.  A
case has two halves (:class:`~etl_lib.exercises.grader.Case`): ``observe`` runs the student's code and returns
what it did as plain data; ``judge`` decides from that data alone.  grade-class runs the first in the student's
sandbox and the second in its own process, so nothing in the student's process decides a grade.
"""

from __future__ import annotations

from importlib import import_module

# Importing a module registers its exercise (the @exercise decorator); the order here is the order of `list`.
MODULES = ("parse_duration", "session_settings", "retry_with_backoff", "minibatch_collector", "run_workers",
           "cpu_map", "bfd_buckets", "send_keyed", "records_per_partition", "share_partition", "read_topic",
           "parse_bikes", "windowed_counts", "sliding_counts", "committed_files", "start_raw_query", "uses_aqe",
           "pearson_from_sums", "weather_bins", "plan_queries", "diagnose", "dedup_trips", "join_condition",
           "open_windows", "write_batch_once", "trips_until_quiet", "start_realtime_query",
           "predict_batches")

for _name in MODULES:
    import_module(f"{__name__}.{_name}")
