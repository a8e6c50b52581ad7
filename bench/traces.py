"""Predict the batch: the time to generate and answer a set of traces on Spark.

Prints, for a set of 10 traces (every family in turn, the kit's seeds): the time to generate them, the time
Spark takes to start, the time to answer the set (one streaming query per trace, one micro-batch per batch),
seconds per trace and per micro-batch, and the same set answered again (JIT and caches warm) with the ratio.
Run: .venv/bin/python bench/traces.py [--count N] [--student ID]
"""

from __future__ import annotations

import argparse
import json
import time

from etl_lib.core.settings import get_settings
from etl_lib.traces import answer, generate_set


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--student", default="")
    args = parser.parse_args()
    t0 = time.perf_counter()
    traces = generate_set(args.count, args.student)
    generate_s = time.perf_counter() - t0
    from etl_lib.spark import create_spark_session, stop_spark

    t0 = time.perf_counter()
    spark = create_spark_session(get_settings().replace(spark_ui_enabled=False), app_name="bench traces")
    start_s = time.perf_counter() - t0
    try:
        rounds = []
        for _ in range(2):
            t0 = time.perf_counter()
            answers = [answer(spark, t) for t in traces]
            rounds.append(time.perf_counter() - t0)
    finally:
        stop_spark(spark)
    batches = sum(len(a.batches) + 1 for a in answers)  # each trace runs one more batch to read its last watermark
    print(json.dumps({"traces": len(traces), "generate_seconds": round(generate_s, 4),
                      "spark_start_seconds": round(start_s, 1), "answer_seconds_first": round(rounds[0], 1),
                      "answer_seconds_again": round(rounds[1], 1), "micro_batches": batches,
                      "seconds_per_trace_first": round(rounds[0] / len(traces), 2),
                      "seconds_per_micro_batch_again": round(rounds[1] / batches, 3),
                      "again_over_first": round(rounds[1] / rounds[0], 2)}, indent=1))


if __name__ == "__main__":
    main()
