# ---
# jupyter:
#   jupytext:
#     formats: ipynb,lessons//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Producer–consumer streaming on threads
#
# **You will learn to**
#
# - group a stream into 5-second minibatches aligned to the clock
# - explain backpressure with a bounded queue
# - retry transient failures with exponential backoff and jitter, and dead-letter the rest
# - shut a pipeline down without losing a message
#
# **Prerequisites:** notebook 01; Python threads and `queue.Queue`\
# **Time:** about 25 minutes

# %%
from etl_lib.lab import setup

lesson = setup("02", kafka=False)

# %% tags=["parameters"]
rate: float = 40.0  # messages per simulated second
duration: float = 120.0  # simulated seconds
transient_rate: float = 0.3  # chance an attempt fails transiently
permanent_rate: float = 0.1  # chance a batch always fails
backpressure_seconds: float = 4.0  # real seconds the backpressure source sends

# %% [markdown]
# Seed 000's streaming pipeline is the classic **producer–consumer** pattern:
#
# ```
# message_source -> minibatch_collector -> Queue(maxsize=50) -> worker x 10 -> process_batch
# ```
#
# A `FakeClock` stands in for the wall clock here: two simulated minutes run in a fraction of a second, and every
# run gives the same numbers. The pipeline code is exactly the one that runs on the real clock.

# %%
from etl_lib.pipelines import FakeClock, message_source

clock = FakeClock(start=1_700_000_000.0)
first = [m for m in message_source(3, rate=4, seed=1, clock=clock) if m is not None]
[(m.id, round(m.ts - 1_700_000_000.0, 2), m.event_type, m.value) for m in first[:6]]

# %% [markdown]
# **Minibatches** are windows of `MINIBATCH_WINDOW_SECONDS` aligned to the clock: `[0, 5)`, `[5, 10)`, ...
# A window closes when a message of a later window arrives, or, for an idle source, when the clock passes its end
# (the source yields `None` ticks while idle so the collector can notice). The open window is flushed when the
# source ends.

# %% tags=["shows:minibatch-windows"]
import queue
from etl_lib.pipelines import minibatch_collector

clock = FakeClock(start=1_700_000_000.0)
q = queue.Queue()
minibatch_collector(message_source(22, rate=3, seed=2, clock=clock), 5.0, q, clock=clock)
batches = [q.get() for _ in range(q.qsize())]
[(b.batch_id, int(b.window_start - 1_700_000_000.0), len(b.messages)) for b in batches]

# %% [markdown]
# A quiet source does not hold a window open. Below, one message arrives 1.25 s into the window `[0, 5)` and then
# nothing but idle ticks: the batch leaves when the clock reaches 5 s, with its one message (a queue that notes the
# simulated time of each `put` shows when).

# %% tags=["shows:idle-close"]
from etl_lib.pipelines import Message


class Stamped(queue.Queue):
    """A queue that notes the clock's time at each put: when the collector sent each batch."""

    def __init__(self, clock):
        super().__init__()
        self.clock, self.times = clock, []

    def put(self, item, *args, **kwargs):
        self.times.append(self.clock.now())
        super().put(item, *args, **kwargs)


def one_then_idle(clock, idle=8.0, tick=0.25):
    clock.sleep(1.25)
    yield Message("m1", clock.now(), "click", 1.0)
    for _ in range(int(idle / tick)):
        clock.sleep(tick)
        yield None  # an idle tick: nothing arrived


clock = FakeClock(start=1_700_000_000.0)  # a multiple of 5: the windows start at 0, 5, 10 s
q = Stamped(clock)
minibatch_collector(one_then_idle(clock), 5.0, q, clock=clock)
print("sent at (s):", [t - 1_700_000_000.0 for t in q.times], "| messages:", [len(q.get().messages)])

# %% [markdown]
# The window's length is a trade. A message waits in the collector until its window closes: on average about half
# a window. A shorter window cuts that wait, and pays with more batches, each a queue hand-off and a processing
# call. The same minute of messages with 5-second and 1-second windows:

# %% tags=["shows:window-tradeoff"]
def batching(window):
    clock = FakeClock(start=1_700_000_000.0)
    q = Stamped(clock)
    minibatch_collector(message_source(60, rate=20, seed=5, clock=clock), window, q, clock=clock)
    batches = [q.get() for _ in q.times]
    waits = [sent - m.ts for b, sent in zip(batches, q.times) for m in b.messages]
    return (f"{window:.0f}-second windows: {len(batches)} batches, {len(waits) / len(batches):.0f} messages each "
            f"on average, a message waits {sum(waits) / len(waits):.1f} s on average, {max(waits):.1f} s at most")


print(batching(5.0))
print(batching(1.0))

# %% [markdown]
# Now the whole pipeline with failures injected: each processing attempt fails *transiently* with
# probability `transient_rate` (retried with backoff), and some batches fail *permanently* (dead-lettered at once).
# Messages that fail validation are dead-lettered one by one with their reason. The accounting must be exact:
# **messages in = processed + dead-lettered**.

# %% tags=["shows:fault-accounting"]
# runs once: runs the faulty pipeline, adding to its dead-letter file
from etl_lib.pipelines import inject_faults, run_message_pipeline

recorded = []

def wrap(process):
    faulty = inject_faults(process, transient_rate, permanent_rate, seed=3, clock=clock)
    def recording(batch):
        recorded.append(batch)
        return faulty(batch)
    return recording

clock = FakeClock(start=1_700_000_000.0)
source = message_source(duration, rate, seed=4, clock=clock, invalid_fraction=0.02)
metrics = run_message_pipeline(source, lesson.settings.data_dir / "stream", window_sec=5, workers=4,
                               wrap_process=wrap, clock=clock)
keys = ["messages_in", "messages_processed", "messages_dead_lettered", "batches_ok", "batches_failed", "retries"]
{k: int(metrics[k]) for k in keys}

# %% tags=["shows:dead-letter-reasons"]
import pandas as pd
from etl_lib.pipelines import JsonLinesSink

dead = JsonLinesSink(lesson.settings.data_dir / "stream" / "dead_letters.jsonl").read()
kinds = pd.DataFrame([{"kind": d["reason"].split(": ", 1)[0],
                       "batch": d["batch_id"] if d["reason"].startswith("batch failed") else None,
                       "reason": d["reason"].split(": ", 1)[1]} for d in dead]).astype({"batch": "Int64"})
table = kinds.groupby(["kind", "batch", "reason"], dropna=False).size().rename("messages").reset_index()
print(table.sort_values(["kind", "batch", "reason"]).to_string(index=False))

# %% [markdown]
# **Retry with backoff.** Attempt *k* that fails transiently waits a random time in
# `[0, min(cap, base · 2^k)]` ("full jitter"): exponential so a struggling downstream gets air, random so ten
# workers that failed together do not retry in lock-step. Only errors marked transient are retried; a permanent
# error is raised at once, and after the last attempt the batch goes to the dead letters.

# %% tags=["shows:retry-backoff"]
import random
from etl_lib.pipelines import TransientError, retry_with_backoff

waits, attempts = [], []

def flaky():
    attempts.append(1)
    if len(attempts) < 4:
        raise TransientError("downstream busy")
    return "done"

result = retry_with_backoff(flaky, max_attempts=5, base_delay=1.0, max_delay=8.0, sleep=waits.append,
                            rng=random.Random(0))
print(result, "after", len(attempts), "attempts; waits:", [round(w, 2) for w in waits])

# %% [markdown]
# The cap bounds the longest wait. With `base_delay` 0.1 s and `max_delay` 2 s, a random source that always draws
# the top of its range shows the longest wait before each retry: it doubles until it meets the cap.

# %% tags=["shows:backoff-cap"]
from etl_lib.pipelines import RetryExhausted


class Highest(random.Random):
    """Always draws the top of the range: the longest wait full jitter can choose."""

    def uniform(self, a, b):
        return b


def always_busy():
    raise TransientError("downstream busy")


longest = []
try:
    retry_with_backoff(always_busy, max_attempts=8, base_delay=0.1, max_delay=2.0, sleep=longest.append,
                       rng=Highest())
except RetryExhausted:
    pass
print("longest wait after failed attempt k:", {k: round(w, 2) for k, w in enumerate(longest)})

# %% [markdown]
# A **timeline** of the batches: each bar is one window, its height the messages in it, coloured by what
# happened to the batch.

# %%
import matplotlib.pyplot as plt

failed_ids = {d["batch_id"] for d in dead if d["reason"].startswith("batch failed")}
batches = {b.batch_id: b for b in recorded}  # a retried batch was recorded once per attempt
fig, ax = plt.subplots()
for b in batches.values():
    colour = "tab:red" if b.batch_id in failed_ids else "tab:green"
    ax.bar(b.window_start - 1_700_000_000.0, len(b.messages), width=4.5, align="edge", color=colour)
ax.set_xlabel("simulated seconds")
ax.set_ylabel("messages in batch")
ax.set_title("Minibatches: green processed, red dead-lettered")
plt.show()

# %% [markdown]
# **Backpressure.** The queue is bounded (`PIPELINE_QUEUE_SIZE`, 50). When workers fall behind, `put()`
# blocks the collector instead of letting the queue, and memory, grow without limit. The high-water mark can never
# exceed the queue size.
#
# Watch it on the real clock: a source sends 400 messages a second for `backpressure_seconds`, in batches of at most
# 10 (40 batches a second), into a queue of 10. First two workers that need 20 ms a batch (room for 100 batches a
# second), then one worker that needs 50 ms (20 a second: half the pace of the source). The collector records, per
# batch, the queue's depth after its `put()` and how long that `put()` waited.

# %%
from etl_lib.pipelines import init_stream_metrics

def backpressure_run(workers, work_seconds, name):
    metrics = init_stream_metrics()
    source = message_source(backpressure_seconds, 400, seed=6)  # the real clock
    result = run_message_pipeline(source, lesson.settings.data_dir / name, window_sec=0.25, workers=workers,
                                  queue_size=10, max_batch_size=10, metrics=metrics,
                                  wrap_process=lambda p: inject_faults(p, work_seconds=work_seconds))
    return result, metrics.samples("queue_depth"), metrics.samples("put_blocked_seconds")

keeping_up = backpressure_run(2, 0.02, "keeping_up")
falling_behind = backpressure_run(1, 0.05, "falling_behind")

fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 5))
for (result, depths, waits), label in [(keeping_up, "2 workers, 20 ms a batch"),
                                       (falling_behind, "1 worker, 50 ms a batch")]:
    top.plot(range(len(depths)), depths, label=label)
    bottom.plot(range(len(waits)), [sum(waits[:i + 1]) for i in range(len(waits))], label=label)
top.axhline(10, color="black", linewidth=0.8, linestyle="--", label="queue size")
top.set_ylabel("batches in the queue")
top.set_title("Backpressure: a full queue makes the producer wait")
top.legend(fontsize="small")
bottom.set_ylabel("producer blocked (s, cumulative)")
bottom.set_xlabel("batch")
plt.show()

# %% tags=["shows:backpressure"]
for name, (result, depths, waits) in [("keeping up", keeping_up), ("falling behind", falling_behind)]:
    print(f"{name:>14}: every message processed: {result['messages_in'] == result['messages_processed']}"
          f" | queue reached its size (10): {max(depths) == 10}"
          f" | producer blocked more than 1 s: {sum(waits) > 1.0}")

# %% [markdown]
# While the workers keep up, the queue stays nearly empty and the producer never waits. When they cannot, the queue
# fills to its size within a fraction of a second and stays there; from then on the producer runs at the workers'
# pace, and the time it spends blocked grows steadily. Nothing is lost and memory stays bounded: the cost is
# latency, which is what the metrics would show an operator.
#
# **Graceful shutdown.** Stop the source, flush the open window, drain the queue (`queue.join()`), then tell the
# workers to exit and join them. The seed gets the order right on a normal exit: `work_queue.join()` waits until
# every batch is marked done before `stop_event.set()`, so no batch is mid-write then. Its risks are elsewhere: its
# workers are `daemon=True`, so a Ctrl+C or an exception in the main thread ends the program with workers killed
# mid-batch; `join()` waits for ever if a worker dies without calling `task_done()`; and `time.sleep(1)` guesses
# how long the workers take to leave their loop. Here a stop is requested part-way through the stream:

# %% tags=["shows:graceful-stop"]
import threading

clock = FakeClock(start=1_700_000_000.0)
stop = threading.Event()
counted = []

def stopping_source():
    for m in message_source(duration, rate, seed=5, clock=clock, stop_event=stop):
        if m is not None:
            counted.append(m)
            if len(counted) == 1000:
                stop.set()  # what the first Ctrl+C does
        yield m

m2 = run_message_pipeline(stopping_source(), lesson.settings.data_dir / "stop", window_sec=5, workers=4,
                          queue_size=3, clock=clock)
print("emitted:", len(counted), "| in:", int(m2["messages_in"]), "| processed:", int(m2["messages_processed"]),
      "| queue high-water <= 3:", m2["queue_high_water"] <= 3, "| threads left:",
      [t.name for t in threading.enumerate() if t.name.startswith("worker")])

# %% [markdown]
# **What threads overlap, and why the metrics need a lock.** CPython runs Python bytecode in one thread at a time
# (the *global interpreter lock*, GIL); a thread that waits (on a socket, a disk, a sleep) lets the others run. So
# threads overlap *waiting*, not *computing*: the seed's ten workers pay off because a real `process_batch` mostly
# waits on I/O. Below, four threads that wait against four that compute, each timed against one thread (the best of
# three runs), and how many cores the four computing threads kept busy (the process's CPU time over the wall
# time); then ten threads that each add 1 to a shared count 100,000 times as *read, call a helper, write*,
# without a lock and with one.

# %% tags=["nbval-ignore-output"]
import time
from etl_lib.lab import cores_busy, count_with_threads, time_threads

def io_bound():  # waits, as a worker waiting on Kafka or a disk does: the GIL is released meanwhile
    time.sleep(0.2)

def cpu_bound():  # pure-Python arithmetic: holds the GIL
    sum(i * i for i in range(1_000_000))

timings = {name: (min(time_threads(work, 1) for _ in range(3)), min(time_threads(work, 4) for _ in range(3)))
           for name, work in (("I/O-bound", io_bound), ("CPU-bound", cpu_bound))}
cpu_busy = cores_busy(cpu_bound, 4)
without_lock = [count_with_threads(lock=False) for _ in range(3)]
with_lock = count_with_threads(lock=True)
for name, (one, four) in timings.items():
    print(f"{name}: 1 thread {one:.2f} s, 4 threads {four:.2f} s ({four / one:.1f}x)")
print(f"CPU-bound, 4 threads: {cpu_busy:.2f} cores busy on average")
print("final count without the lock:", ", ".join(f"{n:,}" for n in without_lock), f"| with it: {with_lock:,}")

# %% tags=["shows:gil-and-lock"]
io_ratio = timings["I/O-bound"][1] / timings["I/O-bound"][0]
print("I/O-bound: 4 threads took about as long as 1:", io_ratio < 1.5)
print("CPU-bound: the 4 threads kept at most one core busy (one thread computes at a time):", cpu_busy < 1.3)
print("without the lock, updates were lost:", min(without_lock) < 1_000_000,
      "| with it, the count is exact:", with_lock == 1_000_000)

# %% [markdown]
# (A bare `metrics["n"] += 1` rarely loses an update on CPython 3.11, which switches threads only at calls and loop
# back-edges; that is an interpreter detail, not a promise, and one helper call between the read and the write is
# enough to lose thousands, as above. The demo asks CPython to switch threads every microsecond while it runs
# (`sys.setswitchinterval`; the default is 5 ms), so the race shows on any machine: at the default, a fast machine
# may finish a thread's loop between two switches and lose nothing in one run, thousands in the next. The kit's
# `Metrics` takes a lock for every update.)
#
# **Both pipelines at once.** The seed's `--pipeline all` runs the streaming pipeline in a second thread while the
# nightly file pipeline runs in the main one; the command line prints each pipeline's metrics. A short run:

# %%
import json
import subprocess
import sys

out = lesson.settings.data_dir / "all"
run = subprocess.run([sys.executable, "-m", "etl_lib", "pipelines", "--pipeline", "all", "--duration", "3",
                      "--files", "40", "--out", str(out), "--no-progress"], capture_output=True, text=True, timeout=300)
both = json.loads((out / "metrics.json").read_text())
stream, files = both["streaming"], both["files"]
print("exit code:", run.returncode, "| pipelines that ran:", sorted(both))
print("streaming: every message processed or dead-lettered:",
      stream["messages_in"] == stream["messages_processed"] + stream["messages_dead_lettered"])
print(f"files: {files['files']} files in {files['buckets']} buckets (L2 lower bound {files['l2_lower_bound']}), "
      f"every bucket archived: {files['buckets_ok'] == files['buckets']}")

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. Why does a bounded queue give backpressure, and what would an unbounded queue do when workers fall behind?**
#
# <details><summary>Answer</summary>
#
# `put()` on a full bounded queue blocks the producer until a worker takes an item, so the producer slows to the workers' pace. An unbounded queue keeps accepting: memory grows until the process dies, and latency grows with it.
#
# </details>
#
# **2. Why add random jitter to exponential backoff?**
#
# <details><summary>Answer</summary>
#
# Workers that failed at the same moment would otherwise retry at the same moments too, hitting the recovering service in synchronised waves (the thundering herd). Jitter spreads the retries out.
#
# </details>
#
# **3. Which errors should be retried, and which should go straight to the dead-letter file?**
#
# <details><summary>Answer</summary>
#
# Transient ones (timeouts, a busy or briefly unreachable service) may succeed later. Permanent ones (bad data, a bug, a rejected record) fail the same way every time: retrying only wastes time.
#
# </details>
#
# **4. What is wrong with `daemon=True` worker threads plus `time.sleep(1)` as a shutdown?**
#
# <details><summary>Answer</summary>
#
# On a normal exit nothing is lost: the seed calls `work_queue.join()`, which returns only when every batch is done, before `stop_event.set()`. The trouble is the other exits. A Ctrl+C or an exception in the main thread ends the program, and daemon threads are killed wherever they are, in the middle of a batch, without a trace. If a worker dies without calling `task_done()`, `join()` never returns. And `sleep(1)` guesses how long the workers take to leave their loop instead of waiting for them. Use non-daemon workers, drain with `queue.join()` (with `task_done()` in a `finally`), signal the workers, `join()` them, and handle Ctrl+C by the same path.
#
# </details>
#
# **5. The seed's workers share a plain dict of metrics. What can go wrong?**
#
# <details><summary>Answer</summary>
#
# `metrics['x'] += 1` is read, add, write: two threads can interleave and lose an update. Counters shared between threads need a lock.
#
# </details>
#
# **6. In the backpressure plot, the source sends 40 batches a second and one worker handles 20. Once the queue is full, how fast does the producer run, how long is a batch's wait in the queue, and what would grow without limit if the queue were unbounded?**
#
# <details><summary>Answer</summary>
#
# The producer runs at the worker's pace, 20 batches a second: each `put()` waits until the worker takes a batch. A batch then waits behind the 10 queued ones, about 10 × 50 ms = 0.5 s. With an unbounded queue the producer would never wait, and the queue (memory) and every batch's latency would grow by 20 batches each second for as long as the source runs.
#
# </details>
#

# %%
assert metrics["messages_in"] == metrics["messages_processed"] + metrics["messages_dead_lettered"], (
    f"expected messages in = processed + dead-lettered, found {int(metrics['messages_in'])} in, "
    f"{int(metrics['messages_processed'])} processed, {int(metrics['messages_dead_lettered'])} dead-lettered: "
    "`metrics` changed after the fault-accounting cell, or a message was lost; run the lesson again from the "
    "setup cell (Kernel > Restart Kernel and Run All Cells), and report it if it fails again")
assert m2["messages_in"] == len(counted) == m2["messages_processed"], (
    f"expected every emitted message in and processed, found {len(counted)} emitted, {int(m2['messages_in'])} in, "
    f"{int(m2['messages_processed'])} processed: `m2` or `counted` changed after the graceful-stop cell, or the "
    "stop lost a message; run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells), "
    "and report it if it fails again")
print("Exact accounting holds, with failures and with a stop part-way: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - Minibatches are 5-second windows aligned to the clock; a quiet source still closes them on time (→ *Minibatches*) [02#minibatch-windows] [02#idle-close]
# - Retry transient errors with exponential backoff and full jitter; others go to dead letters with a reason (→ *Retry with backoff.*) [02#retry-backoff] [02#dead-letter-reasons]
# - A bounded queue gives backpressure: a full queue blocks the producer's `put` (→ *Backpressure.*) [02#backpressure]
# - Graceful shutdown: stop the source, flush the window, drain the queue, join the workers; never sleep and hope (→ *Graceful shutdown.*) [02#graceful-stop]
# - Threads overlap waiting, not computing (the GIL); shared counters need a lock (→ *What threads overlap, and why the metrics need a lock.*) [02#gil-and-lock]
# - Messages in = processed + dead-lettered, always (→ *messages in = processed + dead-lettered*) [02#fault-accounting] [02#graceful-stop]

# %% [markdown]
# **Further reading**
#
# - docs/thread_pipelines.md
# - `python -m etl_lib pipelines --pipeline all --help`

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 01_configuration](01_configuration.ipynb) | [contents](README.md) | [03_nightly_file_pipeline →](03_nightly_file_pipeline.ipynb)
