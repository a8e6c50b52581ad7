"""Pieces both thread pipelines share: a clock, thread-safe metrics, JSON-lines sinks."""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from pathlib import Path
from typing import Any, Protocol


class Clock(Protocol):
    """Where the pipelines read the time and wait; tests pass a :class:`FakeClock`."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall-clock time (windows align to it) and a real sleep."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that moves only when slept on: a 5-minute run takes milliseconds in tests."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._t = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._t += max(0.0, seconds)

    def reader(self) -> "Clock":
        """A view for other threads (the workers): it reads this clock, and its sleep returns at once.

        Only the thread that drives the source moves fake time.  If a worker's
        retry backoff moved it too, the windows the source's messages fall into
        would depend on when that worker happened to run: a lesson with four
        workers would print different counts each time.
        """
        return _FakeClockReader(self)


class _FakeClockReader:
    """What :meth:`FakeClock.reader` returns: the source's time, and a sleep that does not move it."""

    def __init__(self, source: FakeClock) -> None:
        self._source = source

    def now(self) -> float:
        return self._source.now()

    def sleep(self, seconds: float) -> None:
        pass


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None for no values."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


class Metrics:
    """Counters, high-water gauges and latency samples behind one lock.

    The seed shared a plain dict between threads; ``+=`` on a dict entry is a
    read-modify-write that two threads can interleave, losing updates.
    """

    def __init__(self, **counters: float) -> None:
        # Reentrant: a signal handler (a forced stop) may count while the main thread is inside inc().
        self._lock = threading.RLock()
        self._values: dict[str, float] = dict(counters)
        self._samples: dict[str, list[float]] = {}

    def inc(self, name: str, amount: float = 1) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + amount

    def high_water(self, name: str, value: float) -> None:
        with self._lock:
            if value > self._values.get(name, float("-inf")):
                self._values[name] = value

    def observe(self, name: str, value: float) -> None:
        with self._lock:
            self._samples.setdefault(name, []).append(value)

    def get(self, name: str, default: float = 0) -> float:
        with self._lock:
            return self._values.get(name, default)

    def samples(self, name: str) -> list[float]:
        with self._lock:
            return list(self._samples.get(name, []))

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy: counters plus p50/p95 of every sampled series."""
        with self._lock:
            out: dict[str, Any] = dict(self._values)
            samples = {k: sorted(v) for k, v in self._samples.items()}
        for name, values in samples.items():
            out[f"{name}_p50"] = percentile(values, 50)
            out[f"{name}_p95"] = percentile(values, 95)
        return out

    def __getitem__(self, name: str) -> float:
        return self.get(name)


class JsonLinesSink:
    """Appends JSON objects to a file, one per line, safely from many threads.

    Each call writes all its lines in one ``write`` under a lock, so lines of two
    workers never interleave and a reader sees whole records only.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        text = "".join(json.dumps(r, separators=(",", ":"), sort_keys=True, default=str) + "\n" for r in records)
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(text)
            f.flush()

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]


# Put on the queue once per worker at the end: a worker blocked in ``get`` wakes at once instead of at its
# next poll (50 ms of idle at the end of every run, a seventh of a short pipeline's wall time).
_WAKE = object()


def drain_queue(work_queue: "queue.Queue[Any]", stop_event: threading.Event, handle: Any,
                on_error: Any = None) -> None:
    """The loop every worker thread runs: take an item, ``handle`` it, mark it done.

    Returns once ``stop_event`` is set and the queue is empty.  ``task_done`` is
    called whatever ``handle`` does, so ``work_queue.join()`` cannot hang on a
    failed item.  ``handle`` records its own failures; should it still raise
    (a full disk while writing a dead letter), ``on_error(item, exc)`` records
    that and the worker goes on with the next item instead of dying.
    """
    while True:
        try:
            item = work_queue.get(timeout=0.2)
        except queue.Empty:
            if stop_event.is_set():
                return
            continue
        if item is _WAKE:
            work_queue.task_done()
            if stop_event.is_set():
                return
            continue
        try:
            handle(item)
        except Exception as exc:  # noqa: BLE001 - a worker thread must outlive any one item
            if on_error is None:
                raise
            on_error(item, exc)
        finally:
            work_queue.task_done()


def is_work(item: Any) -> bool:
    """False for the wake-up token :func:`stop_workers` puts on the queue."""
    return item is not _WAKE


def stop_workers(work_queue: "queue.Queue[Any]", stop_event: threading.Event, threads: list[threading.Thread]) -> None:
    """Tell the workers to finish (``stop_event``), wake the ones blocked on the empty queue, and join them.

    Call it once the queue has been drained: the workers return as soon as they
    see the token instead of at their next poll.
    """
    stop_event.set()
    for _ in threads:
        try:
            work_queue.put_nowait(_WAKE)
        except queue.Full:  # still full (every worker died): the poll timeout ends the rest
            break
    for t in threads:
        t.join()
