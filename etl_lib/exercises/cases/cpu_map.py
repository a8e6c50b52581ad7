"""Lesson 02: ``cpu_map``, CPU-bound work in worker processes, which the GIL does not serialise.

The functions the cases pass to the student's ``cpu_map`` are defined at the top of this module, so that they can
be pickled to the worker processes (by reference: the workers import this module, which holds nothing else that
runs at import)."""

from __future__ import annotations

import os
import random
import time

from ..grader import exercise
from ._common import Case, Context, expect, outcome, raised, shown
from .run_workers import returns_within

HANG = "a pool that is never shut down, or a worker that never gets its item, leaves the call waiting"


# --------------------------------------------------------------------------- what the workers run (picklable)
def busy_pid(n: int) -> int:
    """Pure-Python arithmetic (it holds the GIL), then the pid of the process that did it."""
    sum(i * i for i in range(n))
    return os.getpid()


def echo_after(pair: list) -> int:
    """``pair`` is (value, seconds): wait that long, return the value (later items finish sooner)."""
    value, seconds = pair
    time.sleep(seconds)
    return value


def digit_sum_of_cube(n: int) -> int:
    """A little arithmetic whose result says which item it came from."""
    return n * 1000 + sum(int(d) for d in str(n ** 3))


def interval(seconds: float) -> list:
    """When this call ran, as [pid, start, end] on the machine's monotonic clock (the same in every process)."""
    start = time.monotonic()
    sum(i * i for i in range(20_000))
    time.sleep(seconds)
    return [os.getpid(), start, time.monotonic()]


def fails_on(value: int) -> int:
    """Raises for a multiple of 7, as a worker's function does on a bad item; else the value doubled."""
    if value % 7 == 0:
        raise ValueError(f"item {value} failed")
    return 2 * value


def _most_at_once(intervals: list) -> int:
    """The most calls that ran at the same time (a call that ended when another began does not overlap it)."""
    events = sorted([(s, 1) for _, s, _ in intervals] + [(e, -1) for _, _, e in intervals])
    now = most = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


@exercise("cpu_map", "02", "CPU-bound work in worker processes, past the GIL", ["gil"], requirements={
    "processes": "in worker processes, more than one of them, never in the calling process",
    "workers": "never more than `workers` at once",
    "order": "in the order of `items`",
    "errors": "raises that error"})
def cases(ctx: Context) -> list[Case]:
    def call(fn, items, workers, seconds=30):
        return lambda cpu_map: outcome(lambda: returns_within(lambda: cpu_map(fn, list(items), workers), seconds,
                                                              HANG))

    def returned_list(seen, n):
        expect("returned" in seen, str(seen.get("described")))
        got = seen["returned"]
        expect(isinstance(got, list), f"returned {shown(got)}, not a list")
        expect(len(got) == n, f"returned {len(got)} results for {n} items")
        return got

    # order: results where their items were, however the calls finish
    def ordered(items, workers, want, shown_as, hint, size, fn):
        def judge(seen):
            got = returned_list(seen, len(want))
            expect(got == want, f"returned {got}, expected {want}")
        return Case(shown_as, call(fn, items, workers), judge, hint, size, "order")

    order_hint = ("the results go in the order of the items, not in the order the workers finish them")
    rng = random.Random(ctx.seed(2))
    values = [rng.randint(1, 10_000) for _ in range(30)]
    # processes: more than one, none of them the caller
    def observe_processes(cpu_map):
        seen = call(busy_pid, [1_000_000] * 8, 4)(cpu_map)
        return {**seen, "caller": os.getpid()}

    def judge_processes(seen):
        pids = returned_list(seen, 8)
        expect(all(type(p) is int for p in pids), f"returned {pids}, not the pids busy_pid returns")
        expect(seen["caller"] not in pids, f"{pids.count(seen['caller'])} of 8 calls ran in the calling process "
                                           f"(pid {seen['caller']}), not in a worker process")
        expect(len(set(pids)) >= 2, f"every call ran in one process (pid {pids[0]}): one process computes on one "
                                    "core at a time")

    # workers: at most `workers` calls running at the same moment
    def at_most(count, workers, seconds, size):
        def judge(seen):
            runs = returned_list(seen, count)
            expect(all(isinstance(r, list) and len(r) == 3 for r in runs), f"returned {runs}, not what interval "
                                                                            "returns")
            most = _most_at_once(runs)
            expect(most <= workers, f"{most} calls ran at the same time with workers={workers}")
        return Case(f"cpu_map(interval, {count} items of {seconds} s each, workers={workers})",
                    call(interval, [seconds] * count, workers), judge,
                    "workers is the most processes that compute at once: a pool of that size, each process "
                    "taking item after item", size, "workers")

    def judge_error(seen):
        expect(raised(seen, "ValueError"), f"returned {shown(seen['returned'])}; the ValueError of item 14 must "
                                           "reach the caller" if "returned" in seen else str(seen.get("described")))
        expect("item 14 failed" in str(seen.get("message")),
               f"raised {seen.get('raised')}: {seen.get('message')!r}, not the error fn raised for item 14")

    return [
        ordered([], 2, [], "cpu_map(digit_sum_of_cube, [], workers=2)", "no items, no results: an empty list", 0,
                digit_sum_of_cube),
        ordered([[0, 0.45], [1, 0.3], [2, 0.15], [3, 0.0]], 4, [0, 1, 2, 3],
                "cpu_map(echo_after, [[0, 0.45], [1, 0.3], [2, 0.15], [3, 0.0]], workers=4): the last item "
                "finishes first", order_hint, 4, echo_after),
        ordered(values, 3, [digit_sum_of_cube(v) for v in values],
                f"cpu_map(digit_sum_of_cube, 30 numbers ({values[:4]}, ...), workers=3)", order_hint, 30,
                digit_sum_of_cube),
        Case("cpu_map(busy_pid, 8 items of pure-Python arithmetic, workers=4): the pid of each call",
             observe_processes, judge_processes,
             "threads share one GIL, so they compute one at a time; each worker process has an interpreter of its "
             "own", 8, "processes"),
        at_most(6, 2, 0.15, 6),
        at_most(9, 3, 0.1, 9),
        Case("cpu_map(fails_on, [3, 5, 14, 16], workers=2): fn raises ValueError('item 14 failed')",
             call(fails_on, [3, 5, 14, 16], 2), judge_error,
             "an error in a worker must not vanish: it raises that error in the caller, as a plain call would",
             4, "errors"),
    ]
