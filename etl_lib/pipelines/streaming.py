"""The producer-consumer streaming pipeline of seed 000, on threads and a bounded queue.

::

    message_source ──> minibatch_collector ──> Queue(maxsize) ──> worker x N ──> process_batch
      (simulated or      (5 s windows aligned       (backpressure:        (retry_with_backoff;
       Kafka)             to the clock)              put() blocks)          dead letters)

Accounting is exact: every message the source emits is either processed (its
aggregate is in the output file) or dead-lettered (with the reason, in the
dead-letter file).  Shutdown is graceful: stop the source, flush the open
window, drain the queue, join the workers.  No daemon threads, no sleeps.
"""

from __future__ import annotations

import json
import math
import queue
import random
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from ..core.errors import KitError
from ..core.kinds import KINDS
from ..core.settings import Settings
from ._common import Clock, FakeClock, JsonLinesSink, Metrics, RealClock, drain_queue, is_work, stop_workers
from .retry import PermanentError, TransientError, failure_reason, retry_with_backoff

__all__ = [
    "Message",
    "Batch",
    "BatchResult",
    "message_source",
    "kafka_message_source",
    "minibatch_collector",
    "process_batch",
    "BatchProcessor",
    "worker",
    "inject_faults",
    "init_stream_metrics",
    "run_message_pipeline",
    "PipelineAborted",
    "Shutdown",
    "EVENT_TYPES",
]

# The simulated stream's event types: one per record kind, by the name lesson 02's outputs show ("bike_trip").
EVENT_TYPES = tuple(k.event_type for k in KINDS)


@dataclass(frozen=True)
class Message:
    """One event: ``ts`` is when it entered the pipeline (seconds since the epoch)."""

    id: str
    ts: float
    event_type: str | None
    value: Any
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    """The messages of one window ``[window_start, window_end)``; ``part`` counts splits by max size."""

    batch_id: int
    window_start: float
    window_end: float
    messages: tuple[Message, ...]
    part: int = 0
    enqueued_at: float = 0.0


@dataclass(frozen=True)
class BatchResult:
    batch_id: int
    processed: int
    invalid: int


def init_stream_metrics() -> Metrics:
    """The streaming pipeline's counters, all starting at zero."""
    return Metrics(
        messages_in=0,
        batches_ok=0,
        batches_failed=0,
        messages_processed=0,
        messages_dead_lettered=0,
        retries=0,
        queue_high_water=0,
        queue_blocked_seconds=0.0,
        batches_enqueued=0,
        sink_errors=0,
        messages_unrecorded=0,
    )


# ---------------------------------------------------------------------- sources
def message_source(
    duration_sec: float = 300.0,
    rate: float = 50.0,
    *,
    seed: int = 42,
    clock: Clock | None = None,
    stop_event: threading.Event | None = None,
    invalid_fraction: float = 0.0,
    tick: float = 0.1,
    max_messages: int | None = None,
) -> Iterator[Message | None]:
    """A seeded simulated real-time source: Poisson arrivals at ``rate`` per second for ``duration_sec``.

    Yields a :class:`Message` as each one "arrives" and ``None`` at least every
    ``tick`` seconds while idle, so a consumer can close windows on time.  A
    fraction ``invalid_fraction`` of messages is malformed on purpose (missing
    type, non-numeric or NaN value) to exercise validation and dead letters.
    """
    clock = clock or RealClock()
    rng = random.Random(seed)
    start = clock.now()
    end = start + duration_sec
    next_at = start + rng.expovariate(rate) if rate > 0 else math.inf
    n = 0
    while not (stop_event is not None and stop_event.is_set()):
        now = clock.now()
        if next_at <= now and next_at < end:
            n += 1
            yield _simulated_message(rng, n, now, invalid_fraction)
            next_at += rng.expovariate(rate)
            if max_messages is not None and n >= max_messages:
                return
            continue
        if now >= end:
            return
        clock.sleep(min(tick, max(0.0, min(next_at, end) - now)))
        yield None


def _simulated_message(rng: random.Random, n: int, now: float, invalid_fraction: float) -> Message:
    event_type = rng.choice(EVENT_TYPES)
    value: Any = round(rng.lognormvariate(2.0, 0.6), 3)
    if invalid_fraction and rng.random() < invalid_fraction:
        broken = rng.choice(("no_type", "not_a_number", "nan"))
        if broken == "no_type":
            event_type = None
        elif broken == "not_a_number":
            value = "twelve"
        else:
            value = float("nan")
    return Message(id=f"sim-{n}", ts=now, event_type=event_type, value=value)


def kafka_message_source(
    topic: str,
    bootstrap_servers: str,
    *,
    duration_sec: float = 300.0,
    value_field: str | None = None,
    group_id: str | None = None,
    clock: Clock | None = None,
    stop_event: threading.Event | None = None,
    max_messages: int | None = None,
    poll_ms: int = 100,
    settings: "Settings | None" = None,
) -> Iterator[Message | None]:
    """Read one of the kit's topics with kafka-python, as the same kind of source.

    Each record becomes a :class:`Message` stamped with its arrival time; the
    JSON value is kept as ``payload`` and ``value`` is ``payload[value_field]``
    (or 1.0, a count).  A record that is not a JSON object stays in the stream
    with ``event_type=None`` so that validation dead-letters it with the reason.
    """
    from kafka import KafkaConsumer

    from ..core.kafka import client_options
    from ..core.settings import get_settings

    clock = clock or RealClock()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        **client_options(settings or get_settings()),
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=group_id is not None,
    )
    end = clock.now() + duration_sec
    n = 0
    try:
        while clock.now() < end and not (stop_event is not None and stop_event.is_set()):
            polled = consumer.poll(timeout_ms=poll_ms)
            if not polled:
                yield None
                continue
            for tp in sorted(polled, key=lambda t: t.partition):
                for record in polled[tp]:
                    n += 1
                    yield _kafka_message(topic, record, clock.now(), value_field)
                    if max_messages is not None and n >= max_messages:
                        return
    finally:
        consumer.close()


def _kafka_message(topic: str, record: Any, now: float, value_field: str | None) -> Message:
    mid = f"{topic}/{record.partition}/{record.offset}"
    try:
        payload = json.loads(record.value)
    except (ValueError, TypeError):
        payload = None
    if not isinstance(payload, dict):
        raw = record.value.decode("utf-8", "replace") if isinstance(record.value, bytes) else str(record.value)
        return Message(id=mid, ts=now, event_type=None, value=None, payload={"raw": raw[:500]})
    value = payload.get(value_field) if value_field else 1.0
    return Message(id=mid, ts=now, event_type=topic, value=value, payload=payload)


class PipelineAborted(KitError):
    """The pipeline stopped before its source ended (forced shutdown, no worker left); the message says which.

    ``unsent`` holds the messages the collector had gathered but not handed on,
    so the caller can record them instead of losing them.
    """

    def __init__(self, message: str, unsent: tuple["Message", ...] = ()) -> None:
        super().__init__(message)
        self.unsent = unsent


# ---------------------------------------------------------------------- collector
def _put_or_give_up(out_queue: "queue.Queue[Batch]", batch: Batch, abort: threading.Event | None,
                    consumers_alive: Callable[[], bool] | None) -> str | None:
    """Put ``batch``, blocking while the queue is full (backpressure); the reason to give up instead, if any."""
    while True:
        try:
            out_queue.put(batch, timeout=0.1)
            return None
        except queue.Full:
            if abort is not None and abort.is_set():
                return "forced shutdown: stopped collecting"
            if consumers_alive is not None and not consumers_alive():
                return "no worker thread is left to take batches from the queue"


def minibatch_collector(
    source: Iterable[Message | None],
    window_sec: float,
    out_queue: "queue.Queue[Batch]",
    *,
    max_batch_size: int | None = None,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    abort: threading.Event | None = None,
    consumers_alive: Callable[[], bool] | None = None,
) -> int:
    """Group messages into windows of ``window_sec`` aligned to the clock and put each batch on the queue.

    A window ``[k*w, (k+1)*w)`` is closed when a message of a later window
    arrives or, for an idle source, when the clock passes its end.  With
    ``max_batch_size`` a busy window is sent in several parts.  The open window
    is flushed when the source ends.  ``out_queue.put`` blocks while the queue
    is full (backpressure); the time blocked is added to
    ``metrics['queue_blocked_seconds']``, and per batch the wait and the queue's
    depth after the put are sampled as ``put_blocked_seconds`` and
    ``queue_depth`` (``metrics.samples(name)``, in batch order).  Returns the
    number of batches sent.

    While blocked it gives up with :class:`PipelineAborted` when ``abort`` is set
    (a forced shutdown) or ``consumers_alive()`` turns False (no worker is left
    to take batches), instead of waiting for ever.
    """
    clock = clock or RealClock()
    metrics = metrics if metrics is not None else init_stream_metrics()
    current: list[Message] = []
    window_start: float | None = None
    part = 0
    sent = 0

    def give_up(reason: str) -> None:
        metrics.inc("messages_in", len(current))
        raise PipelineAborted(reason, tuple(current))

    def emit() -> None:
        nonlocal current, part, sent
        if not current or window_start is None:
            return
        batch = Batch(sent, window_start, window_start + window_sec, tuple(current), part, clock.now())
        t0 = time.perf_counter()
        why = _put_or_give_up(out_queue, batch, abort, consumers_alive)
        if why:
            give_up(why)
        # Counted per batch, not per message: a lock per message would cost more than the work.
        blocked, depth = time.perf_counter() - t0, out_queue.qsize()
        metrics.inc("messages_in", len(current))
        metrics.inc("queue_blocked_seconds", blocked)
        metrics.inc("batches_enqueued")
        metrics.high_water("queue_high_water", depth)
        # One sample per batch, in order: the queue's depth and the collector's wait, to plot backpressure.
        metrics.observe("queue_depth", depth)
        metrics.observe("put_blocked_seconds", blocked)
        sent += 1
        part += 1
        current = []

    for item in source:
        if abort is not None and abort.is_set():
            give_up("forced shutdown: stopped collecting")
        now = clock.now()
        if window_start is not None and now >= window_start + window_sec:
            emit()
            window_start, part = None, 0
        if item is None:
            continue
        w = math.floor(item.ts / window_sec) * window_sec
        if window_start is not None and w != window_start:
            emit()
            part = 0
        window_start = w
        current.append(item)
        if max_batch_size is not None and len(current) >= max_batch_size:
            emit()
    emit()
    return sent


# ---------------------------------------------------------------------- processing
def _invalid_reason(m: Message) -> str | None:
    if m.event_type is None:
        return "missing event_type" if "raw" not in m.payload else "value is not a JSON object"
    if isinstance(m.value, bool) or not isinstance(m.value, (int, float)):
        return f"value is not a number: {m.value!r}"
    if not math.isfinite(m.value):
        return f"value is not finite: {m.value!r}"
    return None


def _message_record(m: Message) -> dict[str, Any]:
    d = asdict(m)
    if isinstance(d["value"], float) and not math.isfinite(d["value"]):
        d["value"] = repr(d["value"])
    return d


def dead_letter_rows(batch_id: int | None, reason: str, messages: Iterable[Message]) -> list[dict[str, Any]]:
    """The dead-letter file's one record shape: which batch, why, and the whole message, one row per message."""
    return [{"batch_id": batch_id, "reason": reason, "message": _message_record(m)} for m in messages]


def _dead_letter(dead: JsonLinesSink, metrics: Metrics, batch_id: int | None, reason: str,
                 messages: tuple[Message, ...], failed_batch: bool = True) -> None:
    """Record messages that were not processed, and count them (and their batch, when one was formed)."""
    dead.write(dead_letter_rows(batch_id, reason, messages))
    if failed_batch:
        metrics.inc("batches_failed")
    metrics.inc("messages_dead_lettered", len(messages))


class BatchProcessor:
    """``process_batch`` bound to its output and dead-letter files."""

    def __init__(self, output: JsonLinesSink, dead_letters: JsonLinesSink) -> None:
        self.output = output
        self.dead_letters = dead_letters

    def __call__(self, batch: Batch) -> BatchResult:
        return process_batch(batch, self.output, self.dead_letters)


def process_batch(batch: Batch, output: JsonLinesSink, dead_letters: JsonLinesSink) -> BatchResult:
    """Validate each message, aggregate the valid ones per window and event type, append the results.

    Invalid messages go to the dead-letter file with the reason.  All the work
    is done before anything is written, and each file is written in one call,
    so a retried batch never leaves half its output behind.
    """
    groups: dict[str, list[float]] = {}
    rejected: list[dict[str, Any]] = []
    for m in batch.messages:
        reason = _invalid_reason(m)
        if reason is not None:
            rejected += dead_letter_rows(batch.batch_id, f"invalid message: {reason}", (m,))
        else:
            groups.setdefault(m.event_type, []).append(float(m.value))
    rows = [
        {
            "batch_id": batch.batch_id,
            "part": batch.part,
            "window_start": batch.window_start,
            "window_end": batch.window_end,
            "event_type": event_type,
            "count": len(values),
            "sum": round(math.fsum(values), 6),
            "min": min(values),
            "max": max(values),
            "mean": round(math.fsum(values) / len(values), 6),
        }
        for event_type, values in sorted(groups.items())
    ]
    output.write(rows)
    dead_letters.write(rejected)
    return BatchResult(batch.batch_id, sum(r["count"] for r in rows), len(rejected))


def inject_faults(
    process: Callable[[Batch], BatchResult],
    transient_rate: float = 0.0,
    permanent_rate: float = 0.0,
    seed: int = 7,
    work_seconds: float = 0.0,
    clock: Clock | None = None,
) -> Callable[[Batch], BatchResult]:
    """Wrap ``process`` so that it fails some of the time, before doing any work (for lessons and tests).

    A batch is doomed with probability ``permanent_rate`` and then always
    fails with :class:`PermanentError`; any other attempt fails with
    :class:`TransientError` with probability ``transient_rate``.  Every
    decision is drawn from ``(seed, batch id, attempt number)`` alone, never
    from one shared random stream, so which batches fail does not depend on
    which worker thread happens to ask first: a lesson run with four workers
    prints the same counts every time.  ``work_seconds`` makes every attempt
    take that long (a slow downstream).
    """
    lock = threading.Lock()
    attempts: dict[int, int] = {}
    clock = clock or RealClock()

    def draw(batch_id: int, what: str, attempt: int = 0) -> float:
        return random.Random(f"{seed}:{batch_id}:{what}:{attempt}").random()

    def faulty(batch: Batch) -> BatchResult:
        with lock:
            attempt = attempts.get(batch.batch_id, 0)
            attempts[batch.batch_id] = attempt + 1
        doomed = draw(batch.batch_id, "permanent") < permanent_rate
        transient = draw(batch.batch_id, "transient", attempt) < transient_rate
        if work_seconds:
            clock.sleep(work_seconds)
        if doomed:
            raise PermanentError(f"batch {batch.batch_id} is rejected downstream")
        if transient:
            raise TransientError("downstream busy")
        return process(batch)

    return faulty


# ---------------------------------------------------------------------- worker
def worker(
    worker_id: int,
    work_queue: "queue.Queue[Batch]",
    metrics: Metrics,
    stop_event: threading.Event,
    process_batch: Callable[[Batch], BatchResult],
    dead_letters: JsonLinesSink,
    *,
    max_attempts: int = 4,
    base_delay: float = 0.05,
    max_delay: float = 1.0,
    clock: Clock | None = None,
    seed: int | None = None,
) -> None:
    """Take batches from the queue until ``stop_event`` is set and the queue is empty.

    Each batch is processed with :func:`retry_with_backoff`; one that fails
    permanently or runs out of attempts is written, message by message, to the
    dead-letter file with the reason.  ``task_done`` is called for every batch,
    whatever happened, so ``work_queue.join()`` always returns.
    """
    clock = clock or RealClock()
    rng = random.Random(seed if seed is not None else worker_id)

    def handle(batch: Batch) -> None:
        try:
            result = retry_with_backoff(
                lambda: process_batch(batch),
                max_attempts=max_attempts,
                base_delay=base_delay,
                max_delay=max_delay,
                sleep=clock.sleep,
                rng=rng,
                on_retry=lambda *_: metrics.inc("retries"),
            )
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, none is lost
            _dead_letter(dead_letters, metrics, batch.batch_id, f"batch failed: {failure_reason(exc)}",
                         batch.messages)
        else:
            metrics.inc("batches_ok")
            metrics.inc("messages_processed", result.processed)
            metrics.inc("messages_dead_lettered", result.invalid)
        finally:
            metrics.observe("batch_latency_seconds", max(0.0, clock.now() - batch.enqueued_at))

    def sink_failed(batch: Batch, exc: Exception) -> None:
        # Even the dead-letter file could not take the batch (disk full, permissions): count it, say which
        # batch it was, and keep this worker alive for the next one.
        import sys

        metrics.inc("sink_errors")
        metrics.inc("messages_unrecorded", len(batch.messages))
        print(f"worker-{worker_id}: batch {batch.batch_id} ({len(batch.messages)} messages, window "
              f"{batch.window_start:.0f}) could not be recorded anywhere: {failure_reason(exc)}",
              file=sys.stderr, flush=True)

    drain_queue(work_queue, stop_event, handle, on_error=sink_failed)


# ---------------------------------------------------------------------- shutdown
class Shutdown:
    """Ctrl+C / SIGTERM handling: the first asks for a graceful stop, the second forces one, the third exits.

    ``requested`` is set on the first signal; sources watch it and end, the open
    window is flushed and the queue drained.  The second sets ``forced`` and
    calls ``on_force`` (which records what is still queued as dead letters); the
    collector stops at once and the workers finish only the batch in hand.  A
    third signal exits the process immediately with status 130.
    """

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.forced = threading.Event()
        self.on_force: list[Callable[[], None]] = []
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        import os
        import sys

        if not self.requested.is_set():
            self.requested.set()
            print("\nStopping gracefully: flushing the open window and draining the queue "
                  "(press Ctrl+C again to force exit)", file=sys.stderr, flush=True)
            return
        if not self.forced.is_set():
            self.forced.set()
            for callback in self.on_force:
                try:
                    callback()
                except Exception as exc:  # noqa: BLE001
                    print(f"while forcing the stop: {exc}", file=sys.stderr)
            print("Forced stop: queued batches written to the dead letters; finishing the batches in hand "
                  "(press Ctrl+C again to exit at once)", file=sys.stderr, flush=True)
            return
        print("Exit.", file=sys.stderr, flush=True)
        os._exit(130)

    def __enter__(self) -> "Shutdown":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def _join_queue(work_queue: "queue.Queue[Any]", threads: list[threading.Thread]) -> None:
    """``work_queue.join()`` that also returns when no thread is left to empty the queue."""
    with work_queue.all_tasks_done:
        while work_queue.unfinished_tasks and any(t.is_alive() for t in threads):
            work_queue.all_tasks_done.wait(timeout=0.2)


# ---------------------------------------------------------------------- the pipeline
def _start_workers(n: int, work_queue: "queue.Queue[Batch]", metrics: Metrics, stop_event: threading.Event,
                   process: Callable[[Batch], BatchResult], dead: JsonLinesSink, *, clock: Clock,
                   max_attempts: int, base_delay: float) -> list[threading.Thread]:
    """Start ``n`` worker threads (not daemons: the pipeline joins them) and return them."""
    # Workers wait in real time, or not at all on a FakeClock (only the source's thread moves fake time).
    worker_clock = clock.reader() if isinstance(clock, FakeClock) else clock
    threads = [threading.Thread(target=worker, name=f"worker-{i + 1}",
                                args=(i + 1, work_queue, metrics, stop_event, process, dead),
                                kwargs={"clock": worker_clock, "max_attempts": max_attempts,
                                        "base_delay": base_delay})
               for i in range(n)]
    for t in threads:
        t.start()
    return threads


def run_message_pipeline(
    source: Iterable[Message | None],
    out_dir: Path | str,
    *,
    window_sec: float = 5.0,
    workers: int = 10,
    queue_size: int = 50,
    max_batch_size: int | None = None,
    process: Callable[[Batch], BatchResult] | None = None,
    wrap_process: Callable[[Callable[[Batch], BatchResult]], Callable[[Batch], BatchResult]] | None = None,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    max_attempts: int = 4,
    base_delay: float = 0.05,
    shutdown: Shutdown | None = None,
) -> dict[str, Any]:
    """Run the streaming pipeline to the end of ``source`` and return the metrics.

    Results go to ``out_dir/aggregates.jsonl``, rejects and failed batches to
    ``out_dir/dead_letters.jsonl``.  The source is expected to watch
    ``shutdown.requested`` (the CLI wires it); once it ends, the open window is
    flushed, the queue drained and the workers joined.
    """
    clock = clock or RealClock()
    out = Path(out_dir)
    output = JsonLinesSink(out / "aggregates.jsonl")
    dead = JsonLinesSink(out / "dead_letters.jsonl")
    metrics = metrics if metrics is not None else init_stream_metrics()
    process = process or BatchProcessor(output, dead)
    if wrap_process is not None:
        process = wrap_process(process)
    work_queue: "queue.Queue[Batch]" = queue.Queue(maxsize=queue_size)
    stop_event = threading.Event()
    shutdown = shutdown or Shutdown()

    def record_unprocessed() -> None:
        # On a forced exit, what is still queued goes to the dead letters, not into the void.
        while True:
            try:
                batch = work_queue.get_nowait()
            except queue.Empty:
                return
            if not is_work(batch):  # a wake-up token of stop_workers, not a batch
                work_queue.task_done()
                continue
            try:
                _dead_letter(dead, metrics, batch.batch_id, "not processed: the pipeline stopped first",
                             batch.messages)
            finally:
                # Taken off the queue here, not by a worker: without task_done the queue's join waits for ever.
                work_queue.task_done()

    shutdown.on_force.append(record_unprocessed)
    t0 = time.perf_counter()
    threads = _start_workers(workers, work_queue, metrics, stop_event, process, dead,
                             clock=clock, max_attempts=max_attempts, base_delay=base_delay)
    try:
        minibatch_collector(source, window_sec, work_queue, max_batch_size=max_batch_size, clock=clock,
                            metrics=metrics, abort=shutdown.forced,
                            consumers_alive=lambda: any(t.is_alive() for t in threads))
    except PipelineAborted as err:
        # The window the collector was filling never reached the queue: record it with the reason.
        _dead_letter(dead, metrics, None, f"not processed: {err}", err.unsent, failed_batch=False)
        raise
    finally:
        _join_queue(work_queue, threads)  # every batch processed or dead-lettered
        record_unprocessed()  # only non-empty if every worker died: recorded, not lost
        stop_workers(work_queue, stop_event, threads)
        shutdown.on_force.remove(record_unprocessed)
    snap = metrics.snapshot()
    snap["wall_seconds"] = round(time.perf_counter() - t0, 3)
    snap["output_file"] = str(output.path)
    snap["dead_letter_file"] = str(dead.path)
    return snap
