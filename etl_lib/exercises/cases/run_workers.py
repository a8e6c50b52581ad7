"""Lesson 02: ``run_workers``, a bounded queue, worker threads, counts behind a lock and a clean stop."""

from __future__ import annotations

import threading
import time
from typing import Any

from ..grader import exercise, plain
from ._common import Case, Context, Mismatch, expect

HANG = "a worker that ends on an error, or an item without task_done(), leaves queue.join() waiting for ever"


def returns_within(fn, seconds: float, why: str) -> Any:
    """Run ``fn()`` in a helper thread; its result, or a Mismatch naming ``why`` when it has not returned in time."""
    out: dict[str, Any] = {}

    def call() -> None:
        try:
            out["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - handed back to the case
            out["error"] = err

    # A daemon helper: a student's hung workers must not keep the grader from reporting.
    helper = threading.Thread(target=call, name="exercise-call", daemon=True)
    helper.start()
    helper.join(seconds)
    if helper.is_alive():
        raise Mismatch(f"did not return within {seconds:.0f} s: {why}")
    if "error" in out:
        raise out["error"]
    return out["value"]


@exercise("run_workers", "02", "A bounded queue, worker threads, counts behind a lock and a clean stop",
          ["producer-consumer", "backpressure", "metrics", "graceful-shutdown", "gil"], requirements={
              "every-item": "Process every item of `items` with `handle(item)` in `workers` threads",
              "failures": "counts it as `\"ok\"`, or as `\"failed\"` when `handle` raises",
              "backpressure": "`put` blocks (backpressure)",
              "lock": "every update holds a `threading.Lock`",
              "clean-stop": "`join()` every thread before you return the counts. No daemon threads"})
def cases(ctx: Context) -> list[Case]:
    def observe_every_item(run_workers):
        seen: list[int] = []
        lock = threading.Lock()

        def handle(item: int) -> None:
            with lock:
                seen.append(item)
        got = returns_within(lambda: run_workers(range(20), handle, workers=4, queue_size=5), 20, HANG)
        return {"handled": sorted(seen), "returned": plain(got)}

    def judge_every_item(seen):
        expect(seen["handled"] == list(range(20)), f"handled {seen['handled']}, expected each of 0..19 once")
        expect(seen["returned"] == {"ok": 20, "failed": 0},
               f"returned {seen['returned']!r}, expected {{'ok': 20, 'failed': 0}}")

    def observe_failures(run_workers):
        def handle(item: int) -> None:
            if item % 3 == 0:
                raise ValueError(f"bad item {item}")
        return plain(returns_within(lambda: run_workers(range(20), handle, workers=3, queue_size=4), 20, HANG))

    def judge_failures(got):
        expect(got == {"ok": 13, "failed": 7}, f"returned {got!r}, expected {{'ok': 13, 'failed': 7}}")

    def observe_threads(run_workers):
        names: set[str] = set()
        daemons: list[bool] = []
        before = set(threading.enumerate())

        def handle(item: int) -> None:
            names.add(threading.current_thread().name)
            daemons.append(threading.current_thread().daemon)
            time.sleep(0.01)
        # Called in this thread, not in the timing helper: threads inherit daemon-ness from the thread that starts
        # them, and the helper is a daemon (the cases before this one have shown that the function returns).
        run_workers(range(24), handle, workers=4, queue_size=4)
        left = [t.name for t in set(threading.enumerate()) - before if t.is_alive() and t.name != "exercise-call"]
        return {"in_caller": threading.main_thread().name in names, "threads": len(names), "daemons": any(daemons),
                "left": sorted(left)}

    def judge_threads(seen):
        expect(seen["in_caller"] is False, "handle ran in the calling thread, not in workers")
        expect(seen["threads"] >= 2, f"only {seen['threads']} thread handled the items; expected the work spread "
                                     "over the 4 workers")
        expect(seen["daemons"] is False, "the workers are daemon threads")
        expect(seen["left"] == [], f"threads still running after it returned: {seen['left']}")

    def observe_producer(run_workers):
        handled = [0]
        ahead: list[int] = []

        def items():
            for k in range(30):
                ahead.append(k - handled[0])  # items put but not yet handled, when the producer asks for one more
                yield k

        def handle(item: int) -> None:
            time.sleep(0.005)
            handled[0] += 1  # one worker: no race here
        returns_within(lambda: run_workers(items(), handle, workers=1, queue_size=2), 20, HANG)
        return max(ahead)

    def judge_producer(ahead):
        expect(ahead <= 2 + 1 + 1, f"the producer ran up to {ahead} items ahead of the worker with queue_size=2; "
                                   "a bounded queue holds it back")

    def observe_contention(run_workers):
        return plain(returns_within(lambda: run_workers(range(20_000), lambda item: None, workers=10,
                                                        queue_size=50), 60, HANG))

    def judge_contention(got):
        expect(got == {"ok": 20_000, "failed": 0}, f"returned {got!r} for 20,000 items and 10 workers")

    return [
        Case("20 items, 4 workers, a handle that records each item", observe_every_item, judge_every_item,
             "take every item off the queue in a worker, count it once, and return the counts dict", 0, "every-item"),
        Case("20 items, handle raises ValueError for every third one (0, 3, 6, ...)", observe_failures,
             judge_failures, "catch the error in the worker, count it as failed, and call task_done() for every "
             "item in a finally", 1, "failures"),
        Case("24 items, 4 workers, a handle that takes 10 ms", observe_threads, judge_threads,
             "start the workers as ordinary (non-daemon) threads; after queue.join(), tell each to stop and "
             "join() it before returning", 2, "clean-stop"),
        Case("30 items from a generator, 1 slow worker, queue_size=2", observe_producer, judge_producer,
             "backpressure: put the items one by one, from the calling thread, on a queue bounded by queue_size, "
             "so put() waits while it is full", 3, "backpressure"),
        Case("20,000 items, 10 workers, a handle that does nothing", observe_contention, judge_contention,
             "the counts are shared by every worker: update them while holding a threading.Lock", 4, "lock"),
    ]
