"""Seed 000's two plain-Python pipelines: minibatch streaming and nightly file bucketing.

Run them with ``python -m etl_lib pipelines --pipeline files|streaming|all``.
"""

from ._common import Clock, FakeClock, JsonLinesSink, Metrics, RealClock
from .files import (
    Bucket,
    FileInfo,
    bfd_buckets,
    bucket_worker,
    create_fake_files,
    init_file_metrics,
    l2_lower_bound,
    lognormal_sizes,
    optimal_bucket_count,
    process_one_bucket,
    run_file_pipeline,
)
from .retry import PermanentError, RetryExhausted, TransientError, is_transient, retry_with_backoff
from .streaming import (
    Batch,
    BatchProcessor,
    Message,
    Shutdown,
    init_stream_metrics,
    inject_faults,
    kafka_message_source,
    message_source,
    minibatch_collector,
    process_batch,
    run_message_pipeline,
    worker,
)

__all__ = [
    "Batch", "BatchProcessor", "Bucket", "Clock", "FakeClock", "FileInfo", "JsonLinesSink", "Message",
    "Metrics", "PermanentError", "RealClock", "RetryExhausted", "Shutdown", "TransientError",
    "bfd_buckets", "bucket_worker", "create_fake_files", "init_file_metrics", "init_stream_metrics",
    "inject_faults", "is_transient", "kafka_message_source", "l2_lower_bound", "lognormal_sizes",
    "message_source", "minibatch_collector", "optimal_bucket_count", "process_batch", "process_one_bucket",
    "retry_with_backoff", "run_file_pipeline", "run_message_pipeline", "worker",
]
