"""The hidden cases of every exercise.  Each case shows its input, checks one property and carries a hint that
points at the idea, not at the code."""

from __future__ import annotations

import json
import math
import random
import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .grader import Case, Context, Mismatch, exercise


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise Mismatch(problem)


def _t(hhmm: str) -> datetime:
    return datetime(2018, 4, 2, int(hhmm[:2]), int(hhmm[3:5]), int(hhmm[6:8]) if len(hhmm) > 5 else 0)


def _once_per_solution(build: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``build(fn)`` run once per solution and shared by the cases of one exercise (a streaming run is slow):
    its result, or the error it raised, raised again for every case that asks."""
    runs: dict[int, Any] = {}

    def shared(fn: Any) -> Any:
        if id(fn) not in runs:
            try:
                runs[id(fn)] = build(fn)
            except Exception as err:  # noqa: BLE001 - kept, and raised again by each case that needs the run
                runs[id(fn)] = err
        found = runs[id(fn)]
        if isinstance(found, Exception):
            raise found
        return found

    return shared


# =========================================================================== 01 · configuration
@exercise("parse_duration", "01", "Seconds in a Spark interval, with a message that names the bad value",
          ["env-config"], requirements={
              "seconds": "returns the number of seconds",
              "units": "a unit in singular or plural and any letter case",
              "refuse": "must stop the program at once: raise `ValueError`",
              "message": "a message that names the value and shows an accepted form"})
def _parse_duration(ctx: Context) -> list[Case]:
    good = [("15 minutes", 900), ("1 hour", 3600), ("10 seconds", 10), ("2 hours", 7200), ("1 minute", 60),
            ("5 Minutes", 300), ("1 day", 86400)]
    bad = ["15 minuts", "", "minutes", "-5 minutes", "0 seconds", "1.5 hours", "15"]

    def ok(text: str, seconds: int) -> Case:
        def run(fn):
            got = fn(text)
            _expect(isinstance(got, (int, float)) and not isinstance(got, bool) and got == seconds,
                    f"returned {got!r}, expected {seconds}")
        units = text in ("1 hour", "1 minute", "5 Minutes", "1 day")
        hint = ("accept singular and plural units ('1 hour', '2 hours') and any letter case"
                if units else "the number times the unit's seconds")
        return Case(f"parse_duration({text!r})", run, hint, len(text), "units" if units else "seconds")

    def refused(text: str) -> Case:
        def run(fn):
            try:
                got = fn(text)
            except ValueError:
                return
            raise Mismatch(f"returned {got!r} instead of raising ValueError")
        return Case(f"parse_duration({text!r})", run,
                    "a bad value must stop the program at once: raise ValueError; a positive whole number and a "
                    "unit only", 100 + len(text), "refuse")

    def message(text: str) -> Case:
        def run(fn):
            try:
                got = fn(text)
            except ValueError as err:
                _expect(repr(text) in str(err) or (text and text in str(err)),
                        f"the ValueError does not name the bad value: {str(err)!r}")
                _expect("minute" in str(err).lower(), "the ValueError does not show an accepted form such as "
                        f"'5 minutes': {str(err)!r}")
                return
            raise Mismatch(f"returned {got!r} instead of raising ValueError")
        return Case(f"the message of parse_duration({text!r})", run,
                    "the ValueError's message names the value and shows an accepted form, so the user can fix it",
                    200 + len(text), "message")

    return [ok(t, s) for t, s in good] + [refused(t) for t in bad] + [message(t) for t in ("15 minuts", "")]


# =========================================================================== 02 · threads
@exercise("retry_with_backoff", "02", "Retry with exponential backoff and full jitter", ["retry"], requirements={
    "result": "Call `fn()` and return its result",
    "attempts": "up to `attempts` calls in all; after the last failed call, re-raise that error",
    "exponential": "exponential",
    "cap": "capped",
    "jitter": "scaled by a random share"})
def _retry(ctx: Context) -> list[Case]:
    class Boom(Exception):
        pass

    def flaky(failures: int, value: str = "ok"):
        calls = []

        def fn():
            calls.append(1)
            if len(calls) <= failures:
                raise Boom(f"failure {len(calls)}")
            return value
        return fn, calls

    def case(failures, attempts, base, cap, rng_values, expect_sleeps, expect_raise, shown, hint, size, need):
        def run(student):
            fn, calls = flaky(failures)
            sleeps: list[float] = []
            values = iter(rng_values)
            try:
                got = student(fn, attempts=attempts, base=base, cap=cap, sleep=sleeps.append,
                              rng=lambda: next(values, 0.5))
            except Boom:
                _expect(expect_raise, f"raised the function's error after {len(calls)} calls; it should have "
                                      "succeeded")
                _expect(len(calls) == attempts, f"called the function {len(calls)} times, expected {attempts}")
            else:
                _expect(not expect_raise, f"returned {got!r}; after {attempts} failed attempts it should re-raise "
                                          "the last error")
                _expect(got == "ok", f"returned {got!r}, not the function's result 'ok'")
            _expect(len(sleeps) == len(expect_sleeps), f"slept {len(sleeps)} times ({sleeps}), expected "
                                                       f"{len(expect_sleeps)}")
            for k, (got_s, want) in enumerate(zip(sleeps, expect_sleeps)):
                _expect(math.isclose(got_s, want, rel_tol=1e-9, abs_tol=1e-12),
                        f"sleep {k + 1} was {got_s!r}, expected {want!r}")
        return Case(shown, run, hint, size, need)

    never = "sleep only between attempts: no sleep after a success, none after the last failure"
    return [
        case(0, 5, 0.1, 10, [1.0], [], False, "a function that succeeds at once",
             "return what fn() returns; " + never, 0, "result"),
        case(3, 5, 0.1, 10, [1.0] * 3, [0.1, 0.2, 0.4], False,
             "fails three times, then succeeds; attempts=5, base=0.1, cap=10, rng() always 1.0",
             "exponential: the k-th retry (k from 0) waits up to base * 2**k, twice the one before", 1,
             "exponential"),
        case(4, 4, 1.0, 10.0, [1.0] * 3, [1.0, 2.0, 4.0], True,
             "always fails; attempts=4, base=1, cap=10, rng() always 1.0",
             "call fn at most attempts times; after the last failed attempt re-raise its error", 2, "attempts"),
        case(2, 5, 0.1, 10, [0.25, 0.75], [0.025, 0.15], False,
             "fails twice; base=0.1, cap=10, rng() returns 0.25 then 0.75",
             "full jitter: each wait is scaled by a random share, rng(), of the exponential step", 3, "jitter"),
        case(7, 7, 0.5, 4.0, [1.0] * 6, [0.5, 1.0, 2.0, 4.0, 4.0, 4.0], True,
             "always fails; attempts=7, base=0.5, cap=4, rng() always 1.0",
             "capped: no wait is longer than cap, however many retries came before", 4, "cap"),
    ]


@exercise("minibatch_collector", "02", "A minibatch collector that closes a window on time, even when idle",
          ["minibatch-windowing", "producer-consumer"], symbol="MinibatchCollector", requirements={
              "on-time": "return the open batch if it is due (an idle window still closes on time)",
              "due-first": "If the open batch is already due (`now >= opened + window`), close it first",
              "no-empty": "Never return an empty batch",
              "flush": "return the open batch if it has items, so nothing is lost"})
def _minibatch(ctx: Context) -> list[Case]:
    def script(steps, window=5.0):
        """steps: ("offer", t, item, expected) / ("tick", t, expected) / ("flush", expected)."""
        def run(cls):
            c = cls(window)
            for step in steps:
                if step[0] == "offer":
                    got = c.offer(step[1], step[2])
                elif step[0] == "tick":
                    got = c.tick(step[1])
                else:
                    got = c.flush()
                want = step[-1]
                got = [list(b) for b in (got or [])]
                _expect(got == want, f"{_show_step(step)} returned {got}, expected {want}")
        return run

    rng = random.Random(ctx.seed(7))
    arrivals = sorted(rng.uniform(0, 60) for _ in range(40))

    def many(cls):
        c = cls(5.0)
        batches: list[list] = []
        for i, t in enumerate(arrivals):
            batches += [list(b) for b in c.tick(t) or []]
            batches += [list(b) for b in c.offer(t, i) or []]
        batches += [list(b) for b in c.tick(1000.0) or []]
        batches += [list(b) for b in c.flush() or []]
        flat = [i for b in batches for i in b]
        _expect(flat == list(range(len(arrivals))), "items lost, repeated or reordered across batches")
        _expect(all(b for b in batches), "an empty batch was emitted")
        for b in batches:
            _expect(arrivals[b[-1]] - arrivals[b[0]] < 5.0, f"batch {b} spans more than the window")

    return [
        Case("window=5: offer(0,'a'), offer(1,'b'), tick(4.9), tick(5.0)",
             script([("offer", 0, "a", []), ("offer", 1, "b", []), ("tick", 4.9, []), ("tick", 5.0, [["a", "b"]])]),
             "a batch opens with its first item and closes window seconds later, when tick() sees the time pass, "
             "even if no item arrives", 1, "on-time"),
        Case("window=5: tick(3), offer(4,'a'), tick(9), tick(100), tick(200)",
             script([("tick", 3, []), ("offer", 4, "a", []), ("tick", 9, [["a"]]), ("tick", 100, []),
                     ("tick", 200, [])]),
             "an idle stretch emits nothing: a tick with no open batch returns no batch at all, not an empty one",
             1, "no-empty"),
        Case("window=5: offer(0,'a'), offer(7,'b'), tick(11.9), tick(12)",
             script([("offer", 0, "a", []), ("offer", 7, "b", [["a"]]), ("tick", 11.9, []), ("tick", 12, [["b"]])]),
             "an item that arrives after the window's end first closes the old batch; it opens the next one", 2,
             "due-first"),
        Case("window=5: offer(0,'a'), flush(), flush()",
             script([("offer", 0, "a", []), ("flush", [["a"]]), ("flush", [])]),
             "a graceful shutdown flushes the open batch, so nothing collected is lost", 3, "flush"),
        Case("40 items at random times over 60 s, window=5", many,
             "every item in exactly one batch, in arrival order; no batch spans more than the window", 40, "on-time"),
    ]


def _show_step(step) -> str:
    if step[0] == "offer":
        return f"offer({step[1]}, {step[2]!r})"
    return f"tick({step[1]})" if step[0] == "tick" else "flush()"


def _returns_within(fn, seconds: float, why: str) -> Any:
    """Run ``fn()`` in a helper thread; its result, or a Mismatch naming ``why`` when it has not returned in time."""
    import threading

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
def _run_workers(ctx: Context) -> list[Case]:
    import threading
    import time

    hang = "a worker that ends on an error, or an item without task_done(), leaves queue.join() waiting for ever"

    def every_item_once(run_workers):
        seen: list[int] = []
        lock = threading.Lock()

        def handle(item: int) -> None:
            with lock:
                seen.append(item)
        got = _returns_within(lambda: run_workers(range(20), handle, workers=4, queue_size=5), 20, hang)
        _expect(sorted(seen) == list(range(20)), f"handled {sorted(seen)}, expected each of 0..19 once")
        _expect(got == {"ok": 20, "failed": 0}, f"returned {got!r}, expected {{'ok': 20, 'failed': 0}}")

    def failures_are_counted(run_workers):
        def handle(item: int) -> None:
            if item % 3 == 0:
                raise ValueError(f"bad item {item}")
        got = _returns_within(lambda: run_workers(range(20), handle, workers=3, queue_size=4), 20, hang)
        _expect(got == {"ok": 13, "failed": 7}, f"returned {got!r}, expected {{'ok': 13, 'failed': 7}}")

    def workers_in_threads(run_workers):
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
        _expect(threading.main_thread().name not in names, "handle ran in the calling thread, not in workers")
        _expect(len(names) >= 2, f"only {len(names)} thread handled the items; expected the work spread over "
                                  "the 4 workers")
        _expect(not any(daemons), "the workers are daemon threads")
        left = [t.name for t in set(threading.enumerate()) - before if t.is_alive() and t.name != "exercise-call"]
        _expect(not left, f"threads still running after it returned: {left}")

    def producer_waits(run_workers):
        handled = [0]
        ahead: list[int] = []

        def items():
            for k in range(30):
                ahead.append(k - handled[0])  # items put but not yet handled, when the producer asks for one more
                yield k

        def handle(item: int) -> None:
            time.sleep(0.005)
            handled[0] += 1  # one worker: no race here
        _returns_within(lambda: run_workers(items(), handle, workers=1, queue_size=2), 20, hang)
        _expect(max(ahead) <= 2 + 1 + 1, f"the producer ran up to {max(ahead)} items ahead of the worker with "
                                         "queue_size=2; a bounded queue holds it back")

    def exact_under_contention(run_workers):
        got = _returns_within(lambda: run_workers(range(20_000), lambda item: None, workers=10, queue_size=50),
                              60, hang)
        _expect(got == {"ok": 20_000, "failed": 0}, f"returned {got!r} for 20,000 items and 10 workers")

    return [
        Case("20 items, 4 workers, a handle that records each item", every_item_once,
             "take every item off the queue in a worker, count it once, and return the counts dict", 0, "every-item"),
        Case("20 items, handle raises ValueError for every third one (0, 3, 6, ...)", failures_are_counted,
             "catch the error in the worker, count it as failed, and call task_done() for every item in a "
             "finally", 1, "failures"),
        Case("24 items, 4 workers, a handle that takes 10 ms", workers_in_threads,
             "start the workers as ordinary (non-daemon) threads; after queue.join(), tell each to stop and "
             "join() it before returning", 2, "clean-stop"),
        Case("30 items from a generator, 1 slow worker, queue_size=2", producer_waits,
             "backpressure: put the items one by one, from the calling thread, on a queue bounded by queue_size, "
             "so put() waits while it is full", 3, "backpressure"),
        Case("20,000 items, 10 workers, a handle that does nothing", exact_under_contention,
             "the counts are shared by every worker: update them while holding a threading.Lock", 4, "lock"),
    ]


# =========================================================================== 03 · nightly files
def _reference_bfd_count(sizes: list[int], capacity: int) -> int:
    """How many buckets best-fit decreasing makes: the kit's own packer (ties do not change the count)."""
    from ..pipelines.files import bfd_buckets

    return len(bfd_buckets(sizes, capacity))


@exercise("bfd_buckets", "03", "Best-fit decreasing bin packing", ["bfd"], requirements={
    "indices": "return a list of buckets, each a list of **indices** into `sizes`",
    "capacity": "buckets of at most `capacity` bytes",
    "decreasing": "Take the files largest first",
    "best-fit": "where it fits most tightly (the least room left after it)",
    "oversize": "raise `ValueError` naming its size"})
def _bfd(ctx: Context) -> list[Case]:
    def valid(sizes, capacity, hint, size, need, shown=None):
        def run(fn):
            buckets = fn(list(sizes), capacity)
            flat = sorted(i for b in buckets for i in b)
            _expect(flat == list(range(len(sizes))), "every file index must appear in exactly one bucket; got "
                                                     f"{buckets}")
            for n, b in enumerate(buckets):
                total = sum(sizes[i] for i in b)
                _expect(total <= capacity, f"bucket {n} holds {total} bytes, more than the capacity {capacity}")
            want = _reference_bfd_count(sizes, capacity)
            _expect(len(buckets) == want, f"{len(buckets)} buckets; best-fit decreasing makes {want}")
        return Case(shown or f"sizes={sizes}, capacity={capacity}", run, hint, size, need)

    def oversize(fn):
        try:
            got = fn([4, 12, 3], 10)
        except ValueError as err:
            _expect("12" in str(err), f"the ValueError does not name the file that is too big: {str(err)!r}")
            return
        raise Mismatch(f"returned {got} for a file larger than the capacity instead of raising ValueError")

    rng = random.Random(ctx.seed(3))
    randoms = [[rng.randint(1, 60) for _ in range(n)] for n in (20, 60, 200)]
    # First fit decreasing needs 3 buckets here; best fit (the fullest bucket that still fits) needs 2.
    first_vs_best = [20, 11, 11, 8, 5, 5]
    return [
        valid([6, 5, 4, 3, 2], 10, "return a list of buckets, each a list of indices into sizes", 5, "indices"),
        valid([], 10, "no files, no buckets", 0, "indices", "sizes=[], capacity=10"),
        valid([7, 7, 3, 3], 10, "a bucket holds at most capacity bytes: open a new one when a file does not fit",
              4, "capacity"),
        Case("sizes=[4, 12, 3], capacity=10", oversize,
             "a file larger than a bucket can never fit: refuse it with ValueError naming it", 3, "oversize"),
        valid(first_vs_best, 30, "put each file in the bucket with the LEAST room left that still fits (best "
              "fit), not the first one that fits", 6, "best-fit"),
        valid([1, 2, 8, 8], 10, "take the files largest first (decreasing): small files placed early can block "
              "large ones", 4, "decreasing"),
        *[valid(s, 100, "sort by size, largest first, then best fit", len(s), "best-fit", f"{len(s)} random sizes "
                f"from 1 to 60, capacity=100 (first: {s[:5]})") for s in randoms],
    ]


# =========================================================================== 04 · Kafka
def _trips(n: int, stations: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [{"trip_id": f"t{i}", "start_station_id": rng.randint(1, stations), "seq": i} for i in range(n)]


@exercise("send_keyed", "04", "Send trips keyed by station, so each station's trips stay in order",
          ["kafka-basics"], needs="kafka", requirements={
              "json": "Send every trip (a dict) to `topic` as JSON",
              "same-partition": "all trips of one start station land in the same partition",
              "order": "in the order given",
              "written": "make sure every record is written before the function returns"})
def _send_keyed(ctx: Context) -> list[Case]:
    def sent(fn, n, stations, seed):
        """Call the student's function on a new 3-partition topic; what the topic holds right after it returns."""
        from kafka import KafkaConsumer

        from ..core.kafka import end_offsets

        trips = _trips(n, stations, ctx.seed(seed))
        topic = ctx.new_topic("send-keyed")
        fn(ctx.bootstrap(), topic, trips)
        held = sum(end_offsets(ctx.bootstrap(), [topic], settings=ctx.settings)[topic].values())
        consumer = KafkaConsumer(topic, bootstrap_servers=ctx.bootstrap(), auto_offset_reset="earliest",
                                 consumer_timeout_ms=3000)
        got = []
        for m in consumer:  # every record that was sent, or what arrived within 3 s
            got.append((m.partition, m.value))
            if len(got) >= n:
                break
        consumer.close()
        return held, got

    def written(fn):
        held, _ = sent(fn, 300, 12, 2)
        _expect(held == 300, f"{held} of 300 records were in the topic when the call returned")

    def as_json(fn):
        _, got = sent(fn, 6, 2, 1)
        try:
            values = sorted(json.loads(v)["seq"] for _, v in got)
        except (ValueError, TypeError, KeyError):
            raise Mismatch(f"a value is not a trip as JSON: {got[0][1][:80]!r}") from None
        _expect(values == list(range(6)), f"the values hold trips {values}, expected 0..5 once each")

    def partitions_and_order(check_order: bool):
        def run(fn):
            _, got = sent(fn, 300, 12, 2)
            where: dict[int, set[int]] = defaultdict(set)
            order: dict[int, list[int]] = defaultdict(list)
            for partition, value in got:
                record = json.loads(value)
                where[record["start_station_id"]].add(partition)
                order[record["start_station_id"]].append(record["seq"])
            if check_order:
                _expect(all(seq == sorted(seq) for seq in order.values()), "a station's trips are out of order")
            else:
                spread = {s: sorted(p) for s, p in where.items() if len(p) > 1}
                _expect(not spread, f"station(s) {sorted(spread)[:3]} landed in several partitions")
        return run

    return [
        Case("6 trips from 2 stations: the values", as_json, "send each trip serialised as JSON (json.dumps), "
             "bytes on the wire", 6, "json"),
        Case("300 trips from 12 stations (topic with 3 partitions): where they land", partitions_and_order(False),
             "records with the same key go to the same partition: key each trip by its start station", 300,
             "same-partition"),
        Case("300 trips from 12 stations: the order within each station", partitions_and_order(True),
             "a partition keeps the order records were sent in: send the trips in the order given", 301, "order"),
        Case("300 trips: the topic right after the call returns", written,
             "send() only queues a record; flush() (or close()) the producer so every record is written before "
             "returning", 302, "written"),
    ]


@exercise("records_per_partition", "04", "Records each partition holds, from its offsets",
          ["kafka-basics", "kafka-source"], needs="kafka", requirements={
              "count": "number of records it holds now",
              "all-partitions": "for every partition of `topic`",
              "retention": "retention may have deleted a partition's oldest records"})
def _records_per_partition(ctx: Context) -> list[Case]:
    def case(counts: dict[int, int], deleted: dict[int, int], hint: str, need: str):
        def run(fn):
            from kafka import KafkaAdminClient, KafkaProducer
            from kafka.structs import TopicPartition

            topic = ctx.new_topic("offsets", partitions=len(counts))
            producer = KafkaProducer(bootstrap_servers=ctx.bootstrap(), acks="all")
            for p, n in counts.items():
                for i in range(n):
                    producer.send(topic, value=b"x", partition=p)
            producer.flush()
            producer.close()
            if deleted:
                admin = KafkaAdminClient(bootstrap_servers=ctx.bootstrap())
                admin.delete_records({TopicPartition(topic, p): n for p, n in deleted.items()})
                admin.close()
            want = {p: counts[p] - deleted.get(p, 0) for p in counts}
            got = fn(ctx.bootstrap(), topic)
            _expect({int(k): v for k, v in (got or {}).items()} == want, f"returned {got}, expected {want}")
        shown = f"records sent per partition {counts}" + (f", then the first {deleted} deleted (retention)"
                                                           if deleted else "")
        return Case(shown, run, hint, sum(counts.values()) + 1000 * bool(deleted), need)

    return [
        case({0: 3, 1: 2}, {}, "ask the broker for each partition's offsets (KafkaConsumer.beginning_offsets / "
             "end_offsets): the number of records it holds, instead of reading every record", "count"),
        case({0: 3, 1: 0, 2: 5}, {}, "every partition of the topic has an entry, an empty one too: list them with "
             "partitions_for_topic", "all-partitions"),
        case({0: 10, 1: 4}, {0: 6}, "a partition holds end offset - beginning offset records: offsets start at 0 "
             "only until retention deletes old records", "retention"),
    ]


# =========================================================================== 05 · parsing
_BIKE_GOOD = [
    {"trip_id": "b1", "trip_duration": 300, "start_time": "2018-04-02 08:01:00", "stop_time": "2018-04-02 08:06:00",
     "start_station_id": 3, "end_station_id": 4},
    {"trip_id": "b2", "trip_duration": 1200, "start_time": "2018-04-02 09:15:30", "stop_time": "2018-04-02 09:35:30",
     "start_station_id": 7, "end_station_id": 7, "user_type": "Customer"},
]
_BIKE_BAD = [
    ("not json", "not JSON"),
    (json.dumps({"trip_duration": 300, "start_time": "2018-04-02 08:01:00", "stop_time": "2018-04-02 08:06:00",
                 "start_station_id": 3, "end_station_id": 4}), "trip_id missing"),
    (json.dumps({**_BIKE_GOOD[0], "trip_id": "b3", "trip_duration": "five minutes"}), "trip_duration not a number"),
    (json.dumps({**_BIKE_GOOD[0], "trip_id": "b4", "trip_duration": 0}), "trip_duration 0"),
    (json.dumps({**_BIKE_GOOD[0], "trip_id": "b5", "start_time": "02/04/2018 08:01"}), "start_time in another format"),
]


def _send(ctx: Context, topic: str, values: list[str]) -> None:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=ctx.bootstrap(), acks="all")
    for v in values:
        producer.send(topic, value=v.encode())
    producer.flush()
    producer.close()


@exercise("parse_bikes", "05", "Parse bike trips with an explicit schema; quarantine the rest with a reason",
          ["schemas", "schema-inference", "dead-letters"], needs="spark", requirements={
              "types": "one row per good trip with typed columns",
              "reason": "with its original `value` as a string and a non-empty `reason`",
              "not-json": "it is not a JSON object",
              "fields": "a field above is missing or has the wrong type",
              "duration": "`trip_duration < 1`",
              "no-drop": "No record may be dropped: valid + rejected = all records"})
def _parse_bikes(ctx: Context) -> list[Case]:
    def run_with(values: list[str], valid_ids: list[str], bad: int):
        def run(fn):
            from pyspark.sql import functions as F
            from pyspark.sql import types as T

            spark = ctx.spark()
            topic = ctx.new_topic("bikes", partitions=1)
            _send(ctx, topic, values)
            raw = (spark.read.format("kafka").option("kafka.bootstrap.servers", ctx.bootstrap())
                   .option("subscribe", topic).option("startingOffsets", "earliest").load())
            out = fn(raw)
            _expect(isinstance(out, tuple) and len(out) == 2, "return a pair: (valid rows, rejected rows)")
            valid, rejected = out
            types = {f.name: type(f.dataType).__name__ for f in valid.schema.fields}
            for name, kind in (("trip_id", T.StringType), ("trip_duration", T.IntegerType),
                               ("start_time", T.TimestampType), ("start_station_id", T.IntegerType)):
                _expect(types.get(name) == kind.__name__,
                        f"valid column {name} is {types.get(name, 'missing')}, expected {kind.__name__}")
            got_ids = sorted(r.trip_id for r in valid.select("trip_id").collect())
            _expect(got_ids == valid_ids, f"valid trip ids {got_ids}, expected {valid_ids}")
            _expect("reason" in rejected.columns and "value" in rejected.columns,
                    f"the rejected rows need the columns value and reason (they have {rejected.columns})")
            rows = rejected.select(F.col("value").cast("string").alias("value"), "reason").collect()
            _expect(len(rows) == bad, f"{len(rows)} rejected rows, expected {bad}: every record is either "
                                      "valid or rejected, never dropped")
            _expect(all(r.reason for r in rows), "every rejected row needs a non-empty reason")
            _expect(sorted(r.value for r in rows) == sorted(values[len(values) - bad:]),
                    "a rejected row's value is not the record's original text")
        return run

    good = [json.dumps(r) for r in _BIKE_GOOD]
    kind = {"not JSON": ("not-json", "a record that is not a JSON object is rejected: from_json gives null for it"),
            "trip_duration 0": ("duration", "an impossible value is rejected too: trip_duration < 1 is not a trip")}
    fields = ("fields", "a required field that is missing or has the wrong type (a text where a number or a "
              "yyyy-MM-dd HH:mm:ss time belongs) gives null after parsing: reject the record instead")
    cases = [Case("2 valid trips", run_with(good, ["b1", "b2"], 0),
                  "typed columns: from_json with an explicit schema (a StructType), then cast the time strings with "
                  "to_timestamp and the format 'yyyy-MM-dd HH:mm:ss'", 2, "types")]
    for value, what in _BIKE_BAD:
        need, hint = kind.get(what, fields)
        cases.append(Case(f"2 valid trips and one with {what}: {value[:60]}",
                          run_with(good + [value], ["b1", "b2"], 1), hint, 3, need))
    cases.append(Case("2 valid trips and a broken record: the rejected row", run_with(good + ["{oops"], ["b1", "b2"],
                                                                                        1),
                      "a rejected row keeps the record's original value as a string and says why, in a non-empty "
                      "reason", 4, "reason"))
    cases.append(Case("2 valid trips and all 5 bad records", run_with(good + [v for v, _ in _BIKE_BAD], ["b1", "b2"], 5),
                      "no record may be dropped: valid + rejected must add up to what was read", 7, "no-drop"))
    return cases


# =========================================================================== 06 · windows
def _memory_stream(ctx: Context, fn, batches: list[list[tuple[str, str]]], label: str,
                   state: list[int] | None = None) -> list[tuple]:
    """Feed (trip_id, start_time) batches through Kafka, one micro-batch each, into ``fn``; return the output rows.
    ``state``, if given, receives the rows the query held in state after each micro-batch."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    spark = ctx.spark()
    topic = ctx.new_topic(label, partitions=1)
    schema = T.StructType([T.StructField("trip_id", T.StringType()), T.StructField("start_time", T.StringType())])
    stream = (spark.readStream.format("kafka").option("kafka.bootstrap.servers", ctx.bootstrap())
              .option("subscribe", topic).option("startingOffsets", "earliest").load()
              .select(F.from_json(F.col("value").cast("string"), schema).alias("r"))
              .select("r.trip_id", F.to_timestamp("r.start_time").alias("start_time")))
    name = f"exercise_{label}_{uuid.uuid4().hex[:8]}"
    query = (fn(stream).writeStream.format("memory").queryName(name).outputMode("append")
             .option("checkpointLocation", str(ctx.scratch(label))).start())
    try:
        for batch in batches:
            _send(ctx, topic, [json.dumps({"trip_id": i, "start_time": f"2018-04-02 {t}"}) for i, t in batch])
            query.processAllAvailable()
            if state is not None:
                state.append(sum(op["numRowsTotal"] for op in (query.lastProgress or {}).get("stateOperators", [])))
        rows = spark.sql(f"select * from {name}").collect()
    finally:
        query.stop()
    return rows


@exercise("windowed_counts", "06", "Trips per 15-minute window with a 10-minute watermark",
          ["watermarks", "tumbling-sliding"], needs="spark", requirements={
              "window": "trips per 15-minute tumbling window of `start_time`",
              "columns": "with columns `window_start`, `window_end` and `trips`",
              "append": "the query can run in append mode",
              "late": "a trip more than 10 minutes older than the newest one seen is left out"})
def _windowed_counts(ctx: Context) -> list[Case]:
    batches = [[("a", "08:01:00"), ("b", "08:05:00"), ("c", "08:20:00")],
               [("d", "08:40:00")],
               [("late", "08:07:00"), ("e", "08:41:00")],
               [("f", "10:00:00")]]
    shown = "micro-batches [08:01, 08:05, 08:20], [08:40], [a late 08:07, 08:41], [10:00], append mode"
    streamed = _once_per_solution(lambda fn: _memory_stream(ctx, fn, batches, "windows"))  # shared by 4 cases

    def rows_of(fn) -> list:
        try:
            return streamed(fn)
        except Mismatch:
            raise
        except Exception as err:  # noqa: BLE001 - Spark's refusal, said the way the exercise asks
            if "watermark" in str(err).lower():
                raise Mismatch("Spark refused the query: append mode with an aggregation needs a watermark") from None
            raise

    def table(fn) -> list[tuple]:
        rows = rows_of(fn)
        missing = {"window_start", "window_end", "trips"} - set(rows[0].asDict() if rows else ())
        _expect(rows and not missing, f"no column(s) {sorted(missing)} in the rows written" if rows else
                "no window was written")
        return sorted((r["window_start"].strftime("%H:%M"), r["window_end"].strftime("%H:%M"), int(r["trips"]))
                      for r in rows)

    def append(fn):
        rows_of(fn)

    def columns(fn):
        table(fn)

    def window(fn):
        got = [(s, e) for s, e, _ in table(fn)]
        want = [("08:00", "08:15"), ("08:15", "08:30"), ("08:30", "08:45")]
        _expect(got == want, f"windows {got}, expected {want}")

    def late(fn):
        got = table(fn)
        want = [("08:00", "08:15", 2), ("08:15", "08:30", 1), ("08:30", "08:45", 2)]
        _expect(got == want, f"rows {got}, expected {want}")

    return [
        Case(shown + ": the query runs", append, "append mode with an aggregation needs a watermark on start_time "
             "(10 minutes) before the grouping, so that a window can be final", 4, "append"),
        Case(shown + ": the columns", columns, "the rows have the columns window_start, window_end and trips (the "
             "window's start and end out of its struct, the count named trips)", 4, "columns"),
        Case(shown + ": the windows", window, "15-minute tumbling windows of start_time: 08:00–08:15, 08:15–08:30, "
             "...; a window is written once the watermark passes its end", 4, "window"),
        Case(shown + ": the counts", late, "a trip more than 10 minutes older than the newest one seen is late and "
             "left out: the 08:07 trip arrives after the watermark passed 08:15 (a 10-minute delay, not longer)", 4,
             "late"),
    ]


@exercise("sliding_counts", "06", "Trips per 15-minute window sliding every 5 minutes", ["tumbling-sliding"],
          needs="spark", requirements={
              "length": "per 15-minute window",
              "slide": "sliding every 5 minutes",
              "columns": "with columns `window_start`, `window_end` and `trips`"})
def _sliding_counts(ctx: Context) -> list[Case]:
    def rows(fn, times):
        spark = ctx.spark()
        df = spark.createDataFrame([(f"t{i}", _t(t)) for i, t in enumerate(times)], "trip_id string, "
                                   "start_time timestamp")
        out = fn(df)
        missing = {"window_start", "window_end", "trips"} - set(out.columns)
        _expect(not missing, f"no column(s) {sorted(missing)} in the result (it has {out.columns})")
        return out.collect()

    def case(times: list[str]):
        def run(fn):
            got = sorted((r["window_start"].strftime("%H:%M"), int(r["trips"])) for r in rows(fn, times))
            counts: dict[datetime, int] = defaultdict(int)
            for t in times:
                ts = _t(t)
                first = ts.replace(minute=ts.minute - ts.minute % 5, second=0) - timedelta(minutes=10)
                for k in range(3):
                    counts[first + timedelta(minutes=5 * k)] += 1
            want = sorted((w.strftime("%H:%M"), n) for w, n in counts.items())
            _expect(got == want, f"(window_start, trips) {got}, expected {want}")
        return Case(f"trips at {times}", run, "a window slides every 5 minutes: each trip counts in the three "
                    "overlapping windows that contain it", len(times), "slide")

    def length(fn):
        spans = sorted({(r["window_end"] - r["window_start"]).total_seconds() / 60 for r in rows(fn, ["08:01",
                                                                                                    "08:12"])})
        _expect(spans == [15.0], f"windows last {spans} minutes, expected 15")

    def columns(fn):
        rows(fn, ["08:01"])

    return [case(["08:01"]), case(["08:01", "08:04", "08:12", "08:29:59"]),
            Case("trips at ['08:01', '08:12']: window_end − window_start", length,
                 "each window is 15 minutes long, whatever its slide", 2, "length"),
            Case("trips at ['08:01']: the result's columns", columns,
                 "the result has the columns window_start, window_end and trips (the window's start and end taken "
                 "out of its struct, the count named trips)", 0, "columns")]


# =========================================================================== 07 · sinks
def _local(path: Any) -> str:
    """A path or a file:// URI as a plain local path."""
    from urllib.parse import unquote, urlparse

    text = str(path)
    return unquote(urlparse(text).path) if text.startswith("file:") else text


@exercise("committed_files", "07", "The files a Spark file sink committed, from its _spark_metadata log",
          ["exactly-once", "checkpointing", "partition-by"], needs="spark", requirements={
              "version": "its first line is a version (`v1`)",
              "every-batch": "one log file per micro-batch",
              "log": "Files in the folder that no log entry names were left by a batch that never committed and "
                     "must not be read"})
def _committed_files(ctx: Context) -> list[Case]:
    made: dict[str, Any] = {}

    def sink() -> dict[str, Any]:
        """A sink partitioned by hour after two micro-batches, plus an orphan file: made once for all cases."""
        if not made:
            import shutil

            from ..commit_log import committed_files

            spark = ctx.spark()
            base = ctx.scratch("sink")
            source, folder = base / "in", base / "out"
            source.mkdir()
            batches = []
            for n in range(2):
                (source / f"part{n}.json").write_text("\n".join(json.dumps({"hour": h, "n": i}) for i, h in
                                                                enumerate([8, 9, 8][n:])))
                q = (spark.readStream.schema("hour int, n int").json(str(source)).writeStream.format("parquet")
                     .partitionBy("hour").option("path", str(folder)).option("checkpointLocation", str(base / "ck"))
                     .trigger(availableNow=True).start())
                q.awaitTermination(120)
                batches.append(sorted(str(p) for p in committed_files(folder)))
            orphan = next(folder.glob("hour=*/*.parquet")).with_name("part-99999-orphan-of-a-killed-batch.parquet")
            shutil.copy(next(folder.glob("hour=*/*.parquet")), orphan)
            made.update(folder=folder, first=batches[0], all=batches[1], orphan=str(orphan))
        return made

    def listed(fn) -> list[str]:
        return sorted(_local(p) for p in fn(str(sink()["folder"])))

    def version(fn):
        got, want = listed(fn), sink()["all"]
        _expect(got == want, f"{len(got)} files, expected the {len(want)} the log names")

    def every_batch(fn):
        got, s = listed(fn), sink()
        _expect(set(s["first"]) <= set(got), "the files of the first micro-batch are missing")
        _expect(set(s["all"]) <= set(got), "the files of the second micro-batch are missing")

    def log(fn):
        _expect(sink()["orphan"] not in listed(fn), "the list holds a file no log entry names (left by a batch "
                                                    "that never committed)")

    shown = "a sink partitioned by hour after two micro-batches, plus an orphan file in one partition"
    return [
        Case(shown + ": the list", version, "each log file starts with its version line (v1): skip it; every other "
             "line is one JSON object naming one file by its path", 1, "version"),
        Case(shown + ": both batches", every_batch, "read one log file per micro-batch, every one of them, not "
             "only the last", 1, "every-batch"),
        Case(shown + ": the orphan", log, "list the files the log names, never the folder: a batch that never "
             "committed leaves files no log entry names", 1, "log"),
    ]


@exercise("start_raw_query", "07", "The whole writeStream chain: Parquet, partitions, checkpoint, mode, trigger",
          ["partition-by", "checkpointing", "exactly-once", "triggers", "output-modes"], needs="spark", requirements={
              "parquet": "writes the parsed records `df` to Parquet files under `path`",
              "partitions": "partitioned by `year`, `month`, `date` and `hour`",
              "trigger": "on an available-now trigger",
              "checkpoint": "Run again with the same folders, it must write only what arrived since, once"})
def _start_raw_query(ctx: Context) -> list[Case]:
    def two_runs(fn) -> dict[str, Any]:
        """Two runs of the student's query (3 records, then 2 more); what each left, shared by the four cases."""
        from ..commit_log import read_sink

        spark = ctx.spark()
        base = ctx.scratch("raw")
        source, out, ck = base / "in", base / "out", base / "ck"
        source.mkdir()
        schema = "trip_id string, year int, month int, date string, hour int"
        stream = spark.readStream.schema(schema).json(str(source))
        seen: dict[str, Any] = {"stopped": True}

        def committed() -> int:
            """Rows the sink's log committed; -1 when its files cannot be read as Parquet."""
            try:
                return len(read_sink(out)) if (out / "_spark_metadata").is_dir() else 0
            except Exception:  # noqa: BLE001 - files that are not Parquet
                return -1

        def arrive(name: str, hours: list[int]) -> None:
            (source / name).write_text("\n".join(json.dumps({"trip_id": f"{name}-{i}", "year": 2018, "month": 4,
                                                              "date": "2018-04-02", "hour": h})
                                                  for i, h in enumerate(hours)))

        def once() -> None:
            query = fn(stream, str(out), str(ck))
            _expect(hasattr(query, "awaitTermination"), f"returned {type(query).__name__}, not a started "
                                                        "StreamingQuery")
            try:
                seen["stopped"] &= query.awaitTermination(60) is not False
            finally:
                query.stop()

        arrive("a.json", [8, 8, 9])
        once()
        seen["hours"] = sorted(p.name for p in out.glob("year=2018/month=4/date=2018-04-02/hour=*"))
        seen["parquet"] = any(out.rglob("*.parquet"))
        seen["first"] = committed()
        arrive("b.json", [10, 10])
        once()
        seen["second"] = committed()
        return seen

    scenario = _once_per_solution(two_runs)

    def parquet(fn):
        s = scenario(fn)
        _expect(s["parquet"] and s["first"] != -1, "the files under the path are not Parquet")
        _expect(s["first"] == 3, f"{s['first']} rows committed under the path after the first run, expected 3")

    def partitions(fn):
        hours = scenario(fn)["hours"]
        _expect(hours == ["hour=8", "hour=9"], f"partition folders under the path: {hours or 'none'}, expected "
                                               "year=2018/month=4/date=2018-04-02/hour=8 and hour=9")

    def trigger(fn):
        _expect(scenario(fn)["stopped"], "the query did not stop by itself after reading what had arrived")

    def checkpoint(fn):
        s = scenario(fn)
        _expect(s["second"] == 5, f"{s['second']} rows after a second run with 2 new records, expected 5 (each "
                                  "once)")

    shown = "3 records, then a second run after 2 more arrive (hours 8, 9, then 10)"
    return [
        Case(shown + ": the files", parquet, "writeStream.format('parquet') with the option path", 1, "parquet"),
        Case(shown + ": the folders", partitions, "partitioned by the four time columns, year first and hour "
             "last: one folder level per column, in that order", 1, "partitions"),
        Case(shown + ": the end of each run", trigger, "an available-now trigger reads what is there and stops "
             "the query by itself", 1, "trigger"),
        Case(shown + ": the second run", checkpoint, "option checkpointLocation with the checkpoint folder: the "
             "checkpoint is what lets the second run skip what the first wrote", 1, "checkpoint"),
    ]


# =========================================================================== 08 · analytics
@exercise("pearson_from_sums", "08", "Pearson r from sufficient statistics", ["pearson"], requirements={
    "formula": "returning Pearson's r as a float",
    "too-few": "fewer than 2 pairs",
    "no-variance": "x or y does not vary",
    "clamp": "must never give an r outside [−1, 1]"})
def _pearson(ctx: Context) -> list[Case]:
    def sums(xs, ys):
        return (len(xs), sum(xs), sum(ys), sum(x * x for x in xs), sum(y * y for y in ys),
                sum(x * y for x, y in zip(xs, ys)))

    def reference(xs, ys):
        n = len(xs)
        mx, my = sum(xs) / n, sum(ys) / n
        cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
        vx, vy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
        return cov / math.sqrt(vx * vy)

    def case(xs, ys, want, shown, hint, size, need, tol=1e-9):
        def run(fn):
            got = fn(*sums(xs, ys))
            if want is None:
                _expect(got is None, f"returned {got!r}; r is undefined here, return None")
                return
            _expect(isinstance(got, float) and abs(got - want) <= tol, f"returned {got!r}, expected {want:.12g}")
        return Case(shown, run, hint, size, need)

    def within_range(xs, ys, shown):
        def run(fn):
            got = fn(*sums(xs, ys))
            _expect(got is None or (isinstance(got, float) and -1.0 <= got <= 1.0),
                    f"returned {got!r}: outside [-1, 1], which no correlation can be")
        return Case(shown, run, "cancellation in n·Σx² − (Σx)² can push the formula's r past ±1: clamp r to "
                    "[-1, 1], and treat a variance ≤ 0 as no variance", len(xs), "clamp")

    def cancelling(count: int) -> list[tuple[list[float], list[float]]]:
        """A few points near 1e5 on a line, for which the plain formula gives |r| > 1 (found, not typed in)."""
        pick, found = random.Random(ctx.seed(11)), []
        while len(found) < count:
            n = pick.randint(2, 5)
            xs = [1e5 + pick.random() for _ in range(n)]
            ys = [pick.choice([2.0, -3.0, 0.5]) * x + pick.uniform(-10, 10) for x in xs]
            n_, sx, sy, sxx, syy, sxy = sums(xs, ys)
            vx, vy = n_ * sxx - sx * sx, n_ * syy - sy * sy
            if vx > 0 and vy > 0 and abs((n_ * sxy - sx * sy) / math.sqrt(vx * vy)) > 1.0:
                found.append((xs, ys))
        return found

    rng = random.Random(ctx.seed(5))
    xs = [rng.gauss(10, 3) for _ in range(200)]
    ys = [2 * x + rng.gauss(0, 4) for x in xs]
    big = [1e6 + rng.random() for _ in range(50)]
    return [*(within_range(cx, cy, f"{len(cx)} points near x = 1e5 on a straight line (the plain formula gives "
                                   "|r| > 1 here)") for cx, cy in cancelling(3)),
            within_range(big, [2 * b for b in big], "x around 1e6 varying by less than 1, y = 2x"),
        case([1, 2, 3], [2, 4, 6], 1.0, "x=[1, 2, 3], y=[2, 4, 6]",
             "r = (n·Σxy − Σx·Σy) / sqrt((n·Σx² − (Σx)²)·(n·Σy² − (Σy)²))", 3, "formula"),
        case([1, 2, 3], [3, 2, 1], -1.0, "x=[1, 2, 3], y=[3, 2, 1]", "Pearson's formula gives r = −1 for a perfect falling line", 3,
             "formula"),
        case([5], [7], None, "one pair", "with fewer than 2 pairs r is undefined: return None", 1, "too-few"),
        case([2, 2, 2], [1, 5, 9], None, "x constant: [2, 2, 2]",
             "when x or y does not vary (no variance) the denominator is 0: return None, never divide by zero", 3,
             "no-variance"),
        case(xs, ys, reference(xs, ys), "200 noisy pairs around y = 2x", "compare with the formula above", 200,
             "formula"),
        case(big, [2 * b for b in big], 1.0, "x around 1e6 varying by less than 1, y = 2x",
             "cancellation can make n·Σx² − (Σx)² slightly negative or r slightly above 1: clamp r to [-1, 1] and "
             "treat a variance ≤ 0 as no variance", 50, "clamp", tol=1e-3),
    ]


# =========================================================================== 11 · dedup and joins
@exercise("dedup_trips", "11", "Drop re-sent trips in a stream, with bounded state", ["watermarks", "exactly-once"],
          needs="spark", requirements={
              "once": "Return the stream with each trip once",
              "bounded": "with state that does not grow for ever"})
def _dedup(ctx: Context) -> list[Case]:
    batches = [[("a", "08:01:00"), ("b", "08:02:00"), ("a", "08:01:00"), ("e", "08:01:00")],
               [("c", "08:05:00"), ("b", "08:02:00")],
               [("d", "08:09:00"), ("c", "08:05:00"), ("a", "08:01:00")],
               [("f", "10:00:00")]]
    def run(fn) -> tuple[list, list[int]]:
        held: list[int] = []
        return _memory_stream(ctx, fn, batches, "dedup", held), held

    streamed = _once_per_solution(run)

    def once(fn):
        got = sorted(r["trip_id"] for r in streamed(fn)[0])
        _expect(got == ["a", "b", "c", "d", "e", "f"], f"trip ids written {got}, expected each of a to f once")

    def bounded(fn):
        held = streamed(fn)[1]
        _expect(held and held[-1] <= 2, f"{held[-1] if held else '?'} rows still held in state after a trip "
                                        "two hours later; the copies of 08:00-08:10 can no longer come")

    shown = ("micro-batches [a, b, a again, e], [c, b again], [d, c again, a again], [f two hours later]; "
             "copies within 10 minutes; e starts when a does")
    return [
        Case(shown + ": the trips written", once, "each trip once: a copy is the same trip id, in this micro-batch "
             "or a later one; two trips that start at the same time are two trips", 4, "once"),
        Case(shown + ": the state", bounded, "bounded state: the query must know how late a copy can come (10 "
             "minutes of event time), so it can forget a trip id once no copy can arrive", 4, "bounded"),
    ]


@exercise("join_condition", "11", "The condition of a stream–stream join: same city, weather in the 30 minutes before",
          ["joins"], needs="spark", requirements={
              "city": "the same city",
              "range": "the observation taken in the 30 minutes up to the accident",
              "ends": "both ends included"})
def _join_condition(ctx: Context) -> list[Case]:
    def case(accidents, observations, want, shown, hint, need):
        def run(fn):
            spark = ctx.spark()
            acc = spark.createDataFrame([(i, c, _t(t)) for i, c, t in accidents],
                                        "id string, city string, dispatch_ts timestamp").alias("a")
            wx = spark.createDataFrame([(c, _t(t), 0.0) for c, t in observations],
                                       "city string, obs_ts timestamp, precip double").alias("w")
            got = sorted((r["id"], r["obs_ts"].strftime("%H:%M"))
                         for r in acc.join(wx, fn(acc, wx), "inner").select("a.id", "w.obs_ts").collect())
            _expect(got == want, f"pairs (accident, observation) {got}, expected {want}")
        return Case(shown, run, hint, len(accidents) * len(observations), need)

    return [
        case([("a1", "boston", "09:10")], [("cambridge", "09:05"), ("boston", "09:00")], [("a1", "09:00")],
             "an accident in boston at 09:10; observations in cambridge at 09:05 and in boston at 09:00",
             "an observation of another city never goes with the accident: the same city is part of the condition",
             "city"),
        case([("a1", "boston", "09:10")], [("boston", t) for t in ("08:20", "08:50", "09:05", "09:20")],
             [("a1", "08:50"), ("a1", "09:05")],
             "an accident at 09:10; observations at 08:20, 08:50, 09:05 and 09:20 (boston)",
             "only observations in the 30 minutes up to the accident: none older, none after it", "range"),
        case([("a1", "boston", "09:10")], [("boston", t) for t in ("08:40", "09:10")],
             [("a1", "08:40"), ("a1", "09:10")],
             "an accident at 09:10; observations at exactly 08:40 and 09:10 (boston)",
             "both ends are included: an observation exactly 30 minutes before, or at the accident's minute",
             "ends"),
        case([("a1", "boston", "09:10"), ("a2", "boston", "10:00"), ("a3", "cambridge", "09:10"),
              ("a4", "boston", "09:20")],
             [("boston", "08:50"), ("boston", "09:05"), ("cambridge", "09:15"), ("boston", "09:20")],
             [("a1", "08:50"), ("a1", "09:05"), ("a4", "08:50"), ("a4", "09:05"), ("a4", "09:20")],
             "4 accidents and 4 observations in two cities",
             "an equality on city plus a time range: the observation at most 30 minutes before the accident, and "
             "not after it", "range"),
    ]


# =========================================================================== 14 · inside the state
def _json_rounds(ctx: Context, label: str, schema: str, rounds: list[list[dict[str, Any]]],
                 start: Any) -> Any:
    """Feed ``rounds`` to a JSON file source one file per round; after each, ``start(stream, checkpoint)`` runs an
    available-now query and returns it.  Returns the checkpoint folder."""
    spark = ctx.spark()
    base = ctx.scratch(label)
    source, checkpoint = base / "in", base / "ck"
    source.mkdir()
    stream = spark.readStream.schema(schema).json(str(source))
    for n, rows in enumerate(rounds):
        (source / f"round{n}.json").write_text("\n".join(json.dumps(r) for r in rows))
        query = start(stream, str(checkpoint))
        try:
            query.awaitTermination(180)
        finally:
            query.stop()
    return checkpoint


@exercise("open_windows", "14", "The windows a query still holds, read from its state store",
          ["state-store", "watermarks"], needs="spark", requirements={
              "held": "the windows it still holds in its state store after its last batch",
              "pairs": "as a list of `(start, trips)` pairs sorted by start",
              "format": "the start as `\"HH:MM\"`"})
def _open_windows(ctx: Context) -> list[Case]:
    made: dict[int, str] = {}

    def checkpoint(rounds: int) -> str:
        """The checkpoint of a windowed count after ``rounds`` of the three below: made once for all cases."""
        if rounds not in made:
            from pyspark.sql import functions as F

            def start(stream, folder):
                counts = (stream.select(F.to_timestamp("start_time").alias("start_time"))
                          .withWatermark("start_time", "10 minutes")
                          .groupBy(F.window("start_time", "15 minutes")).agg(F.count("*").alias("trips")))
                return (counts.writeStream.outputMode("append").foreachBatch(lambda df, batch: df.count())
                        .option("checkpointLocation", folder).trigger(availableNow=True).start())

            times = [["08:01", "08:16", "08:02"], ["08:17", "08:31"], ["08:47"]][:rounds]
            trips = [[{"start_time": f"2018-04-02 {t}:00"} for t in ts] for ts in times]
            made[rounds] = str(_json_rounds(ctx, "open_windows", "start_time string", trips, start))
        return made[rounds]

    def returned(fn, rounds: int) -> list:
        got = fn(ctx.spark(), checkpoint(rounds))
        _expect(isinstance(got, list), f"returned {type(got).__name__}, expected a list of (start, trips) pairs")
        return got

    def held(fn):
        got = [(str(w), int(n)) for w, n in returned(fn, 3)]
        want = [("08:30", 1), ("08:45", 1)]
        _expect(got == want, f"returned {got}, expected {want}: the windows the watermark evicted are no longer "
                             "held")

    def pairs(fn):
        got = [(str(w), int(n)) for w, n in returned(fn, 1)]
        _expect(got == [("08:00", 2), ("08:15", 1)], f"returned {got}, expected [('08:00', 2), ('08:15', 1)]")

    def form(fn):
        starts = [w for w, _ in returned(fn, 1)]
        _expect(all(isinstance(w, str) and re.fullmatch(r"\d\d:\d\d", w) for w in starts),
                f"window starts {starts}, expected texts such as '08:00'")

    return [
        Case("trips at 08:01, 08:16 and 08:02, one run: the starts", form, "the start as a time of day, \"HH:MM\" "
             "(date_format of the window's start)", 1, "format"),
        Case("trips at 08:01, 08:16 and 08:02, one run: the pairs", pairs, "one (start, trips) pair per window still "
             "in state, sorted by start; the count is the state's value", 2, "pairs"),
        Case("three runs: [08:01, 08:16, 08:02], [08:17, 08:31], [08:47]: the windows held", held,
             "read the state the store holds after its last batch (spark.read.format('statestore')), not every "
             "window ever seen: the watermark has evicted 08:00 and 08:15", 3, "held"),
    ]


@exercise("write_batch_once", "14", "An idempotent foreachBatch: a replayed batch replaces its first copy",
          ["kafka-sink", "exactly-once"], needs="spark", requirements={
              "replay": "a replayed batch replaces its first copy",
              "adds": "a new batch adds its rows",
              "readable": "`spark.read.parquet(folder)` reads everything written"})
def _write_batch_once(ctx: Context) -> list[Case]:
    def trips(first: int, last: int):
        return ctx.spark().createDataFrame([(f"b{n}",) for n in range(first, last)], "trip_id string")

    def read(folder) -> int:
        try:
            return ctx.spark().read.parquet(str(folder)).count()
        except Exception as err:  # noqa: BLE001 - an unreadable folder is the finding
            raise Mismatch(f"spark.read.parquet(folder) failed: {str(err).splitlines()[0][:160]}") from None

    def readable(fn):
        folder = ctx.scratch("write_once_read") / "out"
        fn(trips(0, 30), 0, str(folder))
        fn(trips(30, 50), 1, str(folder))
        _expect(read(folder) == 50, f"{read(folder)} rows read after batches 0 (30 rows) and 1 (20 rows), "
                                    "expected 50")

    def replay(fn):
        folder = ctx.scratch("write_once_replay") / "out"
        fn(trips(0, 30), 0, str(folder))
        fn(trips(30, 50), 1, str(folder))
        fn(trips(30, 50), 1, str(folder))
        _expect(read(folder) == 50, f"{read(folder)} rows after batch 1 (20 rows) ran a second time, expected 50")

    def adds(fn):
        folder = ctx.scratch("write_once_adds") / "out"
        for batch, (first, last) in enumerate([(0, 30), (30, 50), (50, 51)]):
            fn(trips(first, last), batch, str(folder))
        _expect(read(folder) == 51, f"{read(folder)} rows after batches 0, 1 and 2 (30, 20 and 1 rows), "
                                    "expected 51")

    return [
        Case("batch 0 (30 trips), then batch 1 (20 trips): the folder read whole", readable,
             "write every batch under folder, so that spark.read.parquet(folder) reads them all (a folder per "
             "batch named batch_id=<id> is a partition Spark reads)", 1, "readable"),
        Case("batch 0, batch 1, then batch 1 again (a replay after a crash)", replay,
             "a replayed batch replaces its first copy: key the write by the batch id, overwriting that batch's "
             "own folder", 2, "replay"),
        Case("batches 0, 1 and 2 (30, 20 and 1 trips)", adds,
             "a new batch adds its rows: overwrite only the batch's own folder, never the whole output", 3, "adds"),
    ]


@exercise("trips_until_quiet", "14", "A StatefulProcessor with an event-time timer: trips per station until it goes "
          "quiet", ["arbitrary-state", "watermarks"], needs="spark", requirements={
              "count": "It counts a station's trips",
              "quiet": "once the station has had no trip for 15 minutes of event time, emits one row",
              "forget": "forgets the station, so its next trip starts a new count"})
def _trips_until_quiet(ctx: Context) -> list[Case]:
    def four_runs(fn) -> list[tuple[int, int]]:
        """The rows the student's processor emitted over four runs: one streaming run per solution, shared."""
        from pyspark.sql import functions as F

        from ..state import use_state_store

        spark = ctx.spark()
        before = spark.conf.get("spark.sql.streaming.stateStore.providerClass")
        rows: list[tuple[int, int]] = []

        def start(stream, checkpoint):
            trips = (stream.select("station", F.to_timestamp("start_time").alias("event_time"))
                     .withWatermark("event_time", "10 minutes"))
            out = trips.groupBy("station").transformWithStateInPandas(
                fn()(), "station INT, trips LONG", outputMode="Append", timeMode="EventTime")
            return (out.writeStream.outputMode("append")
                    .foreachBatch(lambda df, batch: rows.extend((r["station"], r["trips"]) for r in df.collect()))
                    .option("checkpointLocation", checkpoint).trigger(availableNow=True).start())

        def trip(station: int, hhmm: str) -> dict[str, Any]:
            return {"station": station, "start_time": f"2018-04-02 {hhmm}:00"}

        rounds = [[trip(1, "08:00"), trip(1, "08:05"), trip(2, "08:02")],
                  [trip(1, "08:20"), trip(3, "08:40")],
                  [trip(2, "09:00")],
                  [trip(4, "10:00")]]
        use_state_store(spark, "rocksdb")
        try:
            _json_rounds(ctx, "quiet", "station int, start_time string", rounds, start)
        finally:
            spark.conf.set("spark.sql.streaming.stateStore.providerClass", before)
        return sorted(rows)

    emitted = _once_per_solution(four_runs)

    def count(fn):
        got = {station: trips for station, trips in emitted(fn) if station in (1, 3)}
        _expect(got == {1: 3, 3: 1}, f"emitted (station, trips) {sorted(got.items())} for stations 1 and 3, "
                                     "expected [(1, 3), (3, 1)]")

    def quiet(fn):
        got = [station for station, _ in emitted(fn)]
        _expect(got == [1, 2, 2, 3], f"emitted rows for stations {got}, expected [1, 2, 2, 3] (station 4's timer "
                                     "has not fired at the end)")

    def forget(fn):
        got = [trips for station, trips in emitted(fn) if station == 2]
        _expect(got == [1, 1], f"station 2 emitted trips {got}, expected [1, 1]: its 09:00 trip starts a new count")

    shown = "four runs: [station 1 at 08:00, 08:05; station 2 at 08:02], [1 at 08:20; 3 at 08:40], [2 at 09:00], " \
            "[4 at 10:00]"
    return [
        Case(shown + ": the counts", count, "count a station's trips in value state, adding each batch's rows to "
             "what the state already holds", 4, "count"),
        Case(shown + ": who goes quiet, when", quiet, "quiet for 15 minutes of event time: on each new row move the "
             "station's timer to its newest trip + 15 minutes; a timer fires once the watermark passes it", 4,
             "quiet"),
        Case(shown + ": station 2 twice", forget, "when the timer fires, emit the row and forget the station (clear "
             "its state), so its next trip starts a new count", 4, "forget"),
    ]
