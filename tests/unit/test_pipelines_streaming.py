"""The minibatch streaming pipeline: exact accounting, windows, backpressure, retry, shutdown."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from etl_lib.pipelines import (
    Batch,
    BatchProcessor,
    FakeClock,
    JsonLinesSink,
    Message,
    PermanentError,
    RetryExhausted,
    Shutdown,
    TransientError,
    init_stream_metrics,
    inject_faults,
    message_source,
    minibatch_collector,
    retry_with_backoff,
    run_message_pipeline,
)


class Recorder:
    """Wraps the processor and records every batch it is handed (before faults), by batch id."""

    def __init__(self, inner):
        self.inner = inner
        self.batches: dict[int, Batch] = {}
        self.lock = threading.Lock()

    def __call__(self, batch):
        with self.lock:
            self.batches[batch.batch_id] = batch
        return self.inner(batch)


def _run(tmp_path, *, seed=1, rate=40.0, duration=60.0, window=5.0, transient=0.0, permanent=0.0,
         invalid=0.0, workers=4, queue_size=5, max_batch_size=None):
    clock = FakeClock()
    source = message_source(duration, rate, seed=seed, clock=clock, invalid_fraction=invalid)
    recorder = {}

    def wrap(p):
        recorder["r"] = Recorder(inject_faults(p, transient, permanent, seed=seed, clock=clock))
        return recorder["r"]

    result = run_message_pipeline(source, tmp_path, window_sec=window, workers=workers, queue_size=queue_size,
                                  max_batch_size=max_batch_size, wrap_process=wrap, clock=clock, base_delay=0.01)
    return result, recorder["r"]


def _check_accounting(tmp_path, result, recorder):
    out = JsonLinesSink(tmp_path / "aggregates.jsonl").read()
    dead = JsonLinesSink(tmp_path / "dead_letters.jsonl").read()
    assert result["messages_in"] == result["messages_processed"] + result["messages_dead_lettered"]
    assert sum(r["count"] for r in out) == result["messages_processed"]
    assert len(dead) == result["messages_dead_lettered"]
    assert all(d["reason"] for d in dead), "every dead letter says why"
    # No message in two batches, and none outside its batch's window.
    ids = [m.id for b in recorder.batches.values() for m in b.messages]
    assert len(ids) == len(set(ids)) == result["messages_in"]
    for b in recorder.batches.values():
        assert all(b.window_start <= m.ts < b.window_end for m in b.messages)
    # Dead-lettered messages are exactly the ones the processed output does not hold.
    assert len({d["message"]["id"] for d in dead}) == len(dead)
    return out, dead


def test_no_failures_everything_processed(tmp_path):
    result, rec = _run(tmp_path)
    _check_accounting(tmp_path, result, rec)
    assert result["messages_dead_lettered"] == 0 and result["batches_failed"] == 0
    assert result["messages_in"] > 2000


def test_thirty_percent_transient_failures_are_retried(tmp_path):
    result, rec = _run(tmp_path, transient=0.3)
    _check_accounting(tmp_path, result, rec)
    assert result["retries"] > 0


def test_permanent_failures_are_dead_lettered_with_reason(tmp_path):
    result, rec = _run(tmp_path, permanent=0.4, transient=0.1)
    _, dead = _check_accounting(tmp_path, result, rec)
    assert result["batches_failed"] > 0
    assert any("rejected downstream" in d["reason"] for d in dead)


def test_faults_do_not_depend_on_which_worker_asks_first(tmp_path):
    """Lesson 02 prints these counts and nbval holds it to them: four workers must give the same run every time."""
    keys = ["messages_in", "messages_processed", "messages_dead_lettered", "batches_ok", "batches_failed", "retries"]
    runs = []
    for i in range(4):
        result, _ = _run(tmp_path / str(i), permanent=0.15, transient=0.1, invalid=0.02, seed=3)
        dead = JsonLinesSink(tmp_path / str(i) / "dead_letters.jsonl").read()
        runs.append(({k: int(result[k]) for k in keys}, sorted((d["message"]["id"], d["reason"]) for d in dead)))
    assert runs[0][0]["batches_failed"] > 0 and runs[0][0]["retries"] > 0
    assert all(r == runs[0] for r in runs[1:])


def test_invalid_messages_dead_lettered_per_message(tmp_path):
    result, rec = _run(tmp_path, invalid=0.1)
    _, dead = _check_accounting(tmp_path, result, rec)
    assert result["batches_failed"] == 0 and result["messages_dead_lettered"] > 0
    assert all(d["reason"].startswith("invalid message") for d in dead)


@given(seed=st.integers(0, 10_000), rate=st.floats(1, 200), window=st.sampled_from([0.5, 1.0, 5.0]),
       transient=st.sampled_from([0.0, 0.3, 0.6]), permanent=st.sampled_from([0.0, 0.1]),
       invalid=st.sampled_from([0.0, 0.05]), max_batch=st.one_of(st.none(), st.integers(1, 50)))
@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_accounting_is_exact_property(tmp_path_factory, seed, rate, window, transient, permanent, invalid, max_batch):
    tmp = tmp_path_factory.mktemp("prop")
    result, rec = _run(tmp, seed=seed, rate=rate, duration=20.0, window=window, transient=transient,
                       permanent=permanent, invalid=invalid, max_batch_size=max_batch)
    _check_accounting(tmp, result, rec)
    if max_batch is not None:
        assert all(len(b.messages) <= max_batch for b in rec.batches.values())


def test_windows_align_to_the_clock():
    clock = FakeClock(start=1000.2)
    q = __import__("queue").Queue()
    minibatch_collector(message_source(12, 20, clock=clock), 5.0, q, clock=clock)
    starts = [q.get().window_start for _ in range(q.qsize())]
    assert starts == sorted(starts) and all(s % 5 == 0 for s in starts)


def test_idle_source_closes_window_on_time():
    clock = FakeClock(start=100.0)

    def source():
        yield Message("a", clock.now(), "bike_trip", 1.0)
        for _ in range(100):  # idle: only ticks, 0.1 s apart
            clock.sleep(0.1)
            yield None
            if clock.now() >= 106:
                break

    q = __import__("queue").Queue()
    gen = source()
    minibatch_collector(gen, 5.0, q, clock=clock)
    batch = q.get()
    assert batch.window_end == 105.0
    assert batch.enqueued_at <= 105.0 + 0.1 + 1e-9, "closed within one tick of the window's end"


def test_open_window_flushed_when_source_ends():
    clock = FakeClock(start=100.0)
    q = __import__("queue").Queue()
    msgs = [Message(str(i), 100.0 + i * 0.1, "bike_trip", 1.0) for i in range(3)]
    assert minibatch_collector(iter(msgs), 5.0, q, clock=clock) == 1
    assert len(q.get().messages) == 3


def test_slow_workers_never_overfill_the_queue(tmp_path):
    """Backpressure: with one slow worker the collector blocks; the queue never holds more than its size."""
    metrics = init_stream_metrics()
    source = message_source(0.6, 300, seed=3)  # real clock: ~180 messages, ~36 batches
    slow = lambda p: inject_faults(p, work_seconds=0.03)
    result = run_message_pipeline(source, tmp_path, window_sec=0.05, workers=1, queue_size=2, max_batch_size=5,
                                  wrap_process=slow, metrics=metrics)
    assert result["queue_high_water"] <= 2
    assert result["queue_blocked_seconds"] > 0.05, "the collector waited for the workers"
    assert result["messages_in"] == result["messages_processed"]
    # One sample per batch, the series a lesson plots: depth bounded by the queue, waits adding up to the total.
    depths, waits = metrics.samples("queue_depth"), metrics.samples("put_blocked_seconds")
    assert len(depths) == len(waits) == result["batches_enqueued"]
    assert max(depths) == result["queue_high_water"] and min(depths) >= 0
    assert sum(waits) == pytest.approx(result["queue_blocked_seconds"])


@pytest.mark.parametrize("stop_after", [0.15, 0.4, 0.73, 1.1])
def test_shutdown_at_any_moment_loses_nothing(tmp_path, stop_after):
    window, work = 0.5, 0.05
    shutdown = Shutdown()
    source = message_source(60, 300, seed=int(stop_after * 100), stop_event=shutdown.requested)
    timer = threading.Timer(stop_after, shutdown.requested.set)
    t0 = time.monotonic()
    timer.start()
    result = run_message_pipeline(source, tmp_path, window_sec=window, workers=3, queue_size=4,
                                  wrap_process=lambda p: inject_faults(p, work_seconds=work), shutdown=shutdown)
    stopped_in = time.monotonic() - t0 - stop_after
    timer.cancel()
    assert result["messages_in"] > 0
    assert result["messages_in"] == result["messages_processed"] + result["messages_dead_lettered"]
    out = JsonLinesSink(tmp_path / "aggregates.jsonl").read()
    assert sum(r["count"] for r in out) == result["messages_in"]
    # Bound from the issue: one window plus one batch's work (plus scheduling slack on a shared machine).
    assert stopped_in < window + work + 1.5


def test_no_daemon_threads_left(tmp_path):
    before = set(threading.enumerate())
    _run(tmp_path, duration=5)
    left = [t for t in threading.enumerate() if t not in before]
    assert not left


# ---------------------------------------------------------------------- retry
def test_retry_succeeds_after_transient_failures():
    calls, waits = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("busy")
        return 7

    assert retry_with_backoff(flaky, max_attempts=5, base_delay=1.0, max_delay=3.0, sleep=waits.append) == 7
    assert len(calls) == 3 and len(waits) == 2
    assert 0 <= waits[0] <= 1.0 and 0 <= waits[1] <= 2.0


def test_retry_gives_up_after_max_attempts_with_capped_delays():
    waits = []

    def always():
        raise TimeoutError("slow")

    with pytest.raises(RetryExhausted) as err:
        retry_with_backoff(always, max_attempts=6, base_delay=1.0, max_delay=2.5, sleep=waits.append)
    assert err.value.attempts == 6 and isinstance(err.value.last, TimeoutError)
    assert len(waits) == 5 and max(waits) <= 2.5


def test_permanent_errors_are_not_retried():
    calls = []

    def bad():
        calls.append(1)
        raise PermanentError("bad data")

    with pytest.raises(PermanentError):
        retry_with_backoff(bad, sleep=lambda s: None)
    with pytest.raises(ValueError):
        retry_with_backoff(lambda: int("x"), sleep=lambda s: None)
    assert len(calls) == 1


def test_process_batch_writes_aggregates_per_window_and_type(tmp_path):
    out, dead = JsonLinesSink(tmp_path / "o.jsonl"), JsonLinesSink(tmp_path / "d.jsonl")
    msgs = (Message("1", 10.0, "bike_trip", 2.0), Message("2", 11.0, "bike_trip", 4.0),
            Message("3", 12.0, "taxi_trip", 10.0), Message("4", 12.5, None, 1.0),
            Message("5", 13.0, "taxi_trip", "x"))
    result = BatchProcessor(out, dead)(Batch(0, 10.0, 15.0, msgs))
    assert (result.processed, result.invalid) == (3, 2)
    rows = {r["event_type"]: r for r in out.read()}
    assert rows["bike_trip"]["count"] == 2 and rows["bike_trip"]["mean"] == 3.0
    assert rows["taxi_trip"]["sum"] == 10.0
    assert {d["message"]["id"] for d in dead.read()} == {"4", "5"}


# ---------------------------------------------------------------------- faults in the pipeline itself
class FailingSink(JsonLinesSink):
    """A dead-letter file on a full disk: every write raises OSError."""

    def write(self, records):
        if records:
            raise OSError(28, "No space left on device")


def test_workers_survive_a_failing_dead_letter_sink(tmp_path, capsys):
    """Every batch fails permanently and the dead-letter file cannot be written either: no worker dies, every
    message is counted as unrecorded and reported by batch, and the pipeline ends instead of hanging."""
    clock = FakeClock()
    source = message_source(30, 40, seed=3, clock=clock)
    threads_before = set(threading.enumerate())
    from etl_lib.pipelines.streaming import worker as real_worker

    failing = FailingSink(tmp_path / "dead.jsonl")
    import etl_lib.pipelines.streaming as streaming

    original = streaming.worker

    def worker_with_failing_sink(*args, **kwargs):
        args = list(args)
        args[5] = failing  # the dead_letters argument
        return real_worker(*args, **kwargs)

    streaming.worker = worker_with_failing_sink
    try:
        result = run_message_pipeline(source, tmp_path, window_sec=5, workers=3, queue_size=2, clock=clock,
                                      wrap_process=lambda p: inject_faults(p, 0.0, 1.0, seed=1, clock=clock))
    finally:
        streaming.worker = original
    assert result["batches_enqueued"] > 3
    assert result["sink_errors"] == result["batches_enqueued"]
    assert result["messages_unrecorded"] == result["messages_in"] > 0
    assert result["messages_processed"] == result["messages_dead_lettered"] == 0
    err = capsys.readouterr().err
    assert err.count("could not be recorded anywhere") == result["batches_enqueued"]
    assert "No space left on device" in err
    assert not [t for t in threading.enumerate() if t not in threads_before]


def test_collector_stops_when_no_worker_is_left(tmp_path):
    """If every worker thread is gone, the collector gives up with a clear error and queued batches become
    dead letters (with the reason), instead of a hang until a second Ctrl+C."""
    import etl_lib.pipelines.streaming as streaming

    original = streaming.worker
    streaming.worker = lambda *a, **k: None  # workers that exit at once
    try:
        with pytest.raises(streaming.PipelineAborted, match="no worker thread is left"):
            run_message_pipeline(message_source(60, 50, seed=2, clock=FakeClock()), tmp_path, window_sec=1,
                                 workers=2, queue_size=2, clock=FakeClock())
    finally:
        streaming.worker = original
    dead = JsonLinesSink(tmp_path / "dead_letters.jsonl").read()
    assert dead and all(d["reason"].startswith("not processed: ") for d in dead)


def test_second_signal_forces_a_stop_and_queued_batches_become_dead_letters(tmp_path):
    """First Ctrl+C: graceful. Second: the forced path runs (it used to be unreachable behind os._exit):
    queued batches go to the dead letters, the collector stops, and nothing is unaccounted for."""
    shutdown = Shutdown()
    source = message_source(120, 400, seed=5, stop_event=None)  # a source that ignores the graceful request
    timer1 = threading.Timer(0.3, lambda: shutdown._handle(2, None))
    timer2 = threading.Timer(0.6, lambda: shutdown._handle(2, None))
    timer1.start()
    timer2.start()
    import etl_lib.pipelines.streaming as streaming

    t0 = time.monotonic()
    metrics = init_stream_metrics()
    with pytest.raises(streaming.PipelineAborted, match="forced shutdown"):
        run_message_pipeline(source, tmp_path, window_sec=0.1, workers=2, queue_size=3, metrics=metrics,
                             wrap_process=lambda p: inject_faults(p, work_seconds=0.2), shutdown=shutdown)
    assert time.monotonic() - t0 < 5
    assert shutdown.forced.is_set()
    dead = JsonLinesSink(tmp_path / "dead_letters.jsonl").read()
    assert any(d["reason"].startswith("not processed:") for d in dead)
    out = JsonLinesSink(tmp_path / "aggregates.jsonl").read()
    assert len({d["message"]["id"] for d in dead}) == len(dead), "no message dead-lettered twice"
    m = metrics.snapshot()
    assert m["messages_in"] == m["messages_processed"] + m["messages_dead_lettered"] == sum(
        r["count"] for r in out) + len(dead), "every message collected is either in the output or a dead letter"


def test_stop_workers_wakes_blocked_workers_and_tokens_are_not_work():
    import queue as queue_mod

    from etl_lib.pipelines._common import _WAKE, drain_queue, is_work, stop_workers

    q = queue_mod.Queue(maxsize=4)
    stop = threading.Event()
    seen = []
    threads = [threading.Thread(target=drain_queue, args=(q, stop, seen.append)) for _ in range(3)]
    for t in threads:
        t.start()
    q.put(_WAKE)  # a token before the stop is skipped, not handled
    q.put("a")
    q.join()
    stop_workers(q, stop, threads)
    assert not any(t.is_alive() for t in threads)
    assert seen == ["a"] and not is_work(_WAKE) and is_work("a")


def test_worker_backoff_does_not_move_the_sources_fake_time(tmp_path):
    """On a FakeClock only the source's thread moves time: batches retried with backoff (every first attempt
    fails) leave the windows, and so every count, as in a run without faults; if a worker's backoff moved the
    shared clock, the source would end sooner and the windows would depend on thread timing."""
    def windows(recorder):
        return sorted((b.window_start, tuple((m.id, m.ts) for m in b.messages)) for b in recorder.batches.values())

    calm, calm_recorder = _run(tmp_path / "calm", transient=0.0)
    stormy, stormy_recorder = _run(tmp_path / "stormy", transient=0.7)
    assert stormy["retries"] > 10
    assert stormy["messages_in"] == calm["messages_in"]
    assert windows(stormy_recorder) == windows(calm_recorder), "same messages, same timestamps, same windows"
