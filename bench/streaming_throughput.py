"""Streaming pipeline throughput against a single-thread loop doing the same work, in one run.

Both sides process the same pre-generated messages in the same 5-second
batches with the real process_batch (validate, aggregate, append to a file).
The pipeline adds the collector, the bounded queue and the worker threads; the
GIL means threads cannot beat one thread on this CPU-bound work, so the aim is
to lose little: pipeline rate >= 90% of the single-thread rate, with the queue
never the bottleneck (little time blocked).  Each side is timed three times and
the fastest run counts (one run of a second is at the mercy of a shared machine's
other load).  Run: .venv/bin/python bench/streaming_throughput.py
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from etl_lib.pipelines import (BatchProcessor, FakeClock, JsonLinesSink, Message, minibatch_collector,
                               run_message_pipeline)
from etl_lib.pipelines.streaming import EVENT_TYPES

N = 1_000_000
REPEAT = 3
WINDOW = 5.0
START = 1_700_000_000.0


def messages(n: int) -> list[Message]:
    rng = random.Random(1)
    # 2000 messages per simulated second: 10k per 5-second batch.
    return [Message(f"m{i}", START + i / 2000.0, rng.choice(EVENT_TYPES), rng.random() * 100) for i in range(n)]


class _ProcessAtOnce:
    """Stands in for the queue: each batch is processed the moment the collector closes its window."""

    def __init__(self, process: BatchProcessor) -> None:
        self.process = process

    def put(self, batch, timeout: float | None = None) -> None:
        self.process(batch)

    def qsize(self) -> int:
        return 0


def single_thread(msgs: list[Message], out: Path) -> float:
    """The same work in one thread: window the messages and process each batch as its window closes."""
    process = BatchProcessor(JsonLinesSink(out / "agg.jsonl"), JsonLinesSink(out / "dead.jsonl"))
    t0 = time.perf_counter()
    minibatch_collector(iter(msgs), WINDOW, _ProcessAtOnce(process), clock=FakeClock(START))
    return time.perf_counter() - t0


def pipeline(msgs: list[Message], out: Path, workers: int) -> tuple[float, dict]:
    t0 = time.perf_counter()
    result = run_message_pipeline(iter(msgs), out, window_sec=WINDOW, workers=workers, queue_size=50,
                                  clock=FakeClock(START))
    return time.perf_counter() - t0, result


def main() -> None:
    msgs = messages(N)
    with tempfile.TemporaryDirectory() as tmp:
        base = min(single_thread(msgs, Path(tmp) / f"single{i}") for i in range(REPEAT))
        rows = {"messages": N, "single_thread_msgs_per_s": round(N / base)}
        for workers in (1, 4, 10):
            seconds, result = min((pipeline(msgs, Path(tmp) / f"p{workers}_{i}", workers) for i in range(REPEAT)),
                                  key=lambda run: run[0])
            assert result["messages_processed"] == N
            rows[f"pipeline_{workers}w_msgs_per_s"] = round(N / seconds)
            rows[f"pipeline_{workers}w_ratio"] = round(base / seconds, 3)
            rows[f"pipeline_{workers}w_queue_blocked_s"] = round(result["queue_blocked_seconds"], 3)
            rows[f"pipeline_{workers}w_queue_high_water"] = result["queue_high_water"]
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
