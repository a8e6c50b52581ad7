"""Write the kit's notebooks from the definitions below (the notebooks' source), then add navigation.

    .venv/bin/python tools/build_notebooks.py      # writes notebooks/NN_slug.ipynb without outputs
    make notebooks-refresh                          # ... then executes them in place to store outputs

Each notebook follows the skeleton in STYLE.md: title, goals, prerequisites and
time; one setup call; a ``parameters`` cell of literals; the walk-through;
"Check yourself" with hidden answers and an auto-check; summary; navigation.
The exam review (notebook 10) is assembled from every notebook's questions.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import nbnav  # noqa: E402


@dataclass
class NB:
    number: str
    slug: str
    title: str
    goals: list[str]
    prerequisites: str
    minutes: int
    setup: str
    parameters: str
    body: list[tuple[str, str]]  # ("md"|"code", source)
    questions: list[tuple[str, str]]  # (question, answer)
    autocheck: str
    summary: str
    reading: list[str] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return f"{self.number}_{self.slug}.ipynb"


def md(text: str) -> tuple[str, str]:
    return ("md", text.strip("\n"))


def code(text: str) -> tuple[str, str]:
    return ("code", text.strip("\n"))


def questions_markdown(nb: NB, heading: str = "## Check yourself") -> str:
    parts = [heading, ""]
    for i, (q, a) in enumerate(nb.questions, 1):
        parts.append(f"**{i}. {q}**\n\n<details><summary>Answer</summary>\n\n{a}\n\n</details>\n")
    return "\n".join(parts)


def build(nb: NB) -> nbformat.NotebookNode:
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {nb.number} · {nb.title}\n\n**You will learn to**\n\n"
            + "\n".join(f"- {g}" for g in nb.goals)
            + f"\n\n**Prerequisites:** {nb.prerequisites}  \n**Time:** about {nb.minutes} minutes"
        ),
        nbformat.v4.new_code_cell(nb.setup.strip()),
    ]
    params = nbformat.v4.new_code_cell(nb.parameters.strip())
    params.metadata["tags"] = ["parameters"]
    cells.append(params)
    for kind, source in nb.body:
        cells.append(nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source))
    if nb.questions:
        cells.append(nbformat.v4.new_markdown_cell(questions_markdown(nb)))
    if nb.autocheck.strip():
        cells.append(nbformat.v4.new_code_cell(nb.autocheck.strip()))
    reading = "\n".join(f"- {r}" for r in nb.reading)
    cells.append(nbformat.v4.new_markdown_cell(f"## Summary\n\n{nb.summary.strip()}"
                                               + (f"\n\n**Further reading**\n\n{reading}" if reading else "")))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python"}
    return notebook


# ====================================================================== 00
N00 = NB(
    "00", "environment_check", "Environment check",
    ["check that Java, pyspark, the connector jars and the broker are in place",
     "read the fix the kit prints when a piece is missing",
     "see Spark read a record that kafka-python wrote"],
    "a clone of the kit with `make install jars` done (or `make demo` run once)", 5,
    'from etl_lib.notebook import setup\n\nlesson = setup("00")',
    "run_spark_check: bool = True  # start Spark and read from Kafka",
    [
        md("""Every later notebook needs four things: **Java 17+** (the Kafka broker and Spark run on the JVM),
**pyspark** (which ships Spark itself, built for Scala 2.13), the **Spark–Kafka connector jars** that Maven
resolved into `jvm/connector/lib`, and a **Kafka broker** at `KAFKA_BOOTSTRAP_SERVERS`. The setup call above
already started the local broker if none was answering.

`etl_lib.doctor` checks them in order. A failed check prints the fix instead of `OK`; the same checks run from
a terminal with `python -m etl_lib.doctor`."""),
        code("""from etl_lib.doctor import format_checks, run_checks

checks = run_checks(lesson.settings, spark=run_spark_check)
print(format_checks(checks))"""),
        md("""The connector's artifact name carries two versions: `spark-sql-kafka-0-10_2.13-4.2.0` is built for
**Scala 2.13** and **Spark 4.2.0**. Both must match the installed pyspark, or Spark fails at the first Kafka
read with a `NoSuchMethodError` or `ClassNotFoundException` deep in the JVM. That is why `jvm/connector/pom.xml`
pins `spark.version` to pyspark's version and the doctor compares them."""),
    ],
    [("Why does the kit hand Spark the connector as local jars (`spark.jars`) instead of `spark.jars.packages`?",
      "`spark.jars.packages` makes Spark download the connector through Ivy at start-up: slow, and impossible "
      "offline or behind a registry mirror. Maven resolves the jars once (`make jars`), and Spark ships the local "
      "files to every executor, also on a cluster."),
     ("What does the `_2.13` in `spark-sql-kafka-0-10_2.13` mean, and what happens if it is wrong?",
      "It is the Scala binary version the jar was compiled for. Scala 2.12 and 2.13 are not binary compatible: a "
      "2.12 connector on a 2.13 Spark fails at run time with missing classes or methods."),
     ("Why must Java be 17 or newer here?",
      "Both Apache Kafka 4 (the broker) and Spark 4 require Java 17 at least.")],
    """ok = {c.name: c.ok for c in checks}
assert ok["Java 17 or newer"] and ok["Spark-Kafka connector jars"] and ok["Kafka broker answering"]
print("All required pieces are in place:", all(ok.values()))""",
    "The kit needs Java 17+, pyspark 4.2 (Scala 2.13), the matching connector jars and a broker. "
    "`python -m etl_lib.doctor` checks all of them and names the fix for whatever is missing.",
    ["docs/troubleshooting.md", "docs/foundation.md"],
)

# ====================================================================== 01
N01 = NB(
    "01", "configuration", "Configuration and feature flags",
    ["read every setting from environment variables with defaults",
     "recognise the one-line error a bad value gives",
     "switch analytics on and off with `ENABLE_*` flags"],
    "notebook 00", 10,
    'from etl_lib.notebook import setup\n\nlesson = setup("01", kafka=False)',
    'window_medium: str = "30 minutes"  # a value to try instead of the default',
    [
        md("""All settings live in one immutable object, `Settings`, built from environment variables. Each has a
default that works on one machine, so nothing needs to be set to get started; on a cluster, changing
`SPARK_MASTER` and `KAFKA_BOOTSTRAP_SERVERS` is enough. `load_settings` takes any mapping, which makes it easy
to try values without touching the real environment."""),
        code("""import pandas as pd
from etl_lib.config import ConfigError, load_settings

s = load_settings({"WINDOW_DURATION_MEDIUM": window_medium, "ENABLE_PEARSON_CORRELATIONS": "false"})
rows = [r for r in s.describe() if not r[0].endswith("_PATH") and r[0] != "DATA_DIR"]
pd.DataFrame(rows, columns=["variable", "value", "source", "meaning"])"""),
        md("""**Bad values stop the program at load time**, with one line per bad setting naming the variable, the
value and the accepted form. This is the difference between a typo found in a second and a `15 minuts` that
Spark rejects half an hour into a job with a long JVM stack trace."""),
        code("""try:
    load_settings({"ENABLE_PEARSON_CORRELATIONS": "maybe", "WINDOW_DURATION_MEDIUM": "15 minuts",
                   "PIPELINE_WORKERS": "0", "KAFKA_BOOTSTRAP_SERVERS": "host:port:x"})
except ConfigError as err:
    print(err)"""),
        md("""**Feature flags** decide which of the nine analytics streams start. A flag that is off means the stream
is not started at all and its output folder is never written: the usual answer to "why is there no output?"."""),
        code("""from etl_lib.config import ANALYTICS_FLAGS

for flag in ANALYTICS_FLAGS:
    print("on " if flag in s.enabled_analytics() else "OFF", flag)"""),
        md("""Settings are immutable: `replace` returns a changed, re-validated copy. The seed's module-level names
(`config.KAFKA_BOOTSTRAP_SERVERS`) still work, read from the process environment."""),
        code("""fewer = s.replace(pipeline_workers=2)
print(fewer.pipeline_workers, fewer.source("PIPELINE_WORKERS"), "| original:", s.pipeline_workers)"""),
    ],
    [("Why validate settings when they are loaded rather than when they are used?",
      "A bad value then fails at once with a message naming the variable, instead of minutes later deep inside "
      "Spark or the JVM, possibly after part of the output has been written."),
     ("What is a feature flag, and give two reasons to use one in a streaming job.",
      "A setting that turns a piece of the job on or off without changing code. Reasons: test or debug one "
      "stream at a time; switch off an expensive or broken stream; roll a new analytic out gradually."),
     ("Which two settings change when the job moves from a laptop to a cluster?",
      "`SPARK_MASTER` (e.g. `spark://host:7077` or `k8s://...`) and `KAFKA_BOOTSTRAP_SERVERS`; paths "
      "(`DATA_DIR`) must also point at storage every executor can reach.")],
    """from etl_lib.config import duration_seconds

assert duration_seconds(s.window_duration_medium) == duration_seconds(window_medium)
assert "ENABLE_PEARSON_CORRELATIONS" not in s.enabled_analytics()
print("window in seconds:", duration_seconds(s.window_duration_medium), "| Pearson stream off: True")""",
    "One frozen settings object, read from the environment with working defaults, checked at load time; nine "
    "`ENABLE_*` flags decide which analytics run.",
    ["docs/foundation.md", "`python -m etl_lib.config` in a terminal"],
)

# ====================================================================== 02
N02 = NB(
    "02", "streaming_on_threads", "Producer–consumer streaming on threads",
    ["group a stream into 5-second minibatches aligned to the clock",
     "explain backpressure with a bounded queue",
     "retry transient failures with exponential backoff and jitter, and dead-letter the rest",
     "shut a pipeline down without losing a message"],
    "notebook 01; Python threads and `queue.Queue`", 25,
    'from etl_lib.notebook import setup\n\nlesson = setup("02", kafka=False)',
    "rate: float = 40.0  # messages per simulated second\nduration: float = 120.0  # simulated seconds\n"
    "transient_rate: float = 0.3  # chance an attempt fails transiently\npermanent_rate: float = 0.1  # chance a batch always fails",
    [
        md("""Seed 000's streaming pipeline is the classic **producer–consumer** pattern:

```
message_source -> minibatch_collector -> Queue(maxsize=50) -> worker x 10 -> process_batch
```

A `FakeClock` stands in for the wall clock here: two simulated minutes run in a fraction of a second, and every
run gives the same numbers. The pipeline code is exactly the one that runs on the real clock."""),
        code("""from etl_lib.pipelines import FakeClock, message_source

clock = FakeClock(start=1_700_000_000.0)
first = [m for m in message_source(3, rate=4, seed=1, clock=clock) if m is not None]
[(m.id, round(m.ts - 1_700_000_000.0, 2), m.event_type, m.value) for m in first[:6]]"""),
        md("""**Minibatches** are windows of `MINIBATCH_WINDOW_SECONDS` aligned to the clock: `[0, 5)`, `[5, 10)`, ...
A window closes when a message of a later window arrives, or, for an idle source, when the clock passes its end
(the source yields `None` ticks while idle so the collector can notice). The open window is flushed when the
source ends."""),
        code("""import queue
from etl_lib.pipelines import minibatch_collector

clock = FakeClock(start=1_700_000_000.0)
q = queue.Queue()
minibatch_collector(message_source(22, rate=3, seed=2, clock=clock), 5.0, q, clock=clock)
batches = [q.get() for _ in range(q.qsize())]
[(b.batch_id, int(b.window_start - 1_700_000_000.0), len(b.messages)) for b in batches]"""),
        md("""Now the whole pipeline with failures injected: each processing attempt fails *transiently* with
probability `transient_rate` (retried with backoff), and some batches fail *permanently* (dead-lettered at once).
Messages that fail validation are dead-lettered one by one with their reason. The accounting must be exact:
**messages in = processed + dead-lettered**."""),
        code("""from etl_lib.pipelines import inject_faults, run_message_pipeline

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
{k: int(metrics[k]) for k in keys}"""),
        code("""import pandas as pd
from etl_lib.pipelines import JsonLinesSink

dead = JsonLinesSink(lesson.settings.data_dir / "stream" / "dead_letters.jsonl").read()
pd.Series([d["reason"] for d in dead]).value_counts().sort_index().rename("messages").to_frame()"""),
        md("""**Retry with backoff.** Attempt *k* that fails transiently waits a random time in
`[0, min(cap, base · 2^k)]` ("full jitter"): exponential so a struggling downstream gets air, random so ten
workers that failed together do not retry in lock-step. Only errors marked transient are retried; a permanent
error is raised at once, and after the last attempt the batch goes to the dead letters."""),
        code("""import random
from etl_lib.pipelines import TransientError, retry_with_backoff

waits, attempts = [], []

def flaky():
    attempts.append(1)
    if len(attempts) < 4:
        raise TransientError("downstream busy")
    return "done"

result = retry_with_backoff(flaky, max_attempts=5, base_delay=1.0, max_delay=8.0, sleep=waits.append,
                            rng=random.Random(0))
print(result, "after", len(attempts), "attempts; waits:", [round(w, 2) for w in waits])"""),
        md("""A **timeline** of the batches: each bar is one window, its height the messages in it, coloured by what
happened to the batch."""),
        code("""import matplotlib.pyplot as plt

failed_ids = {d["batch_id"] for d in dead if d["reason"].startswith("batch failed")}
batches = {b.batch_id: b for b in recorded}  # a retried batch was recorded once per attempt
fig, ax = plt.subplots()
for b in batches.values():
    colour = "tab:red" if b.batch_id in failed_ids else "tab:green"
    ax.bar(b.window_start - 1_700_000_000.0, len(b.messages), width=4.5, align="edge", color=colour)
ax.set_xlabel("simulated seconds")
ax.set_ylabel("messages in batch")
ax.set_title("Minibatches: green processed, red dead-lettered")
plt.show()"""),
        md("""**Backpressure.** The queue is bounded (`PIPELINE_QUEUE_SIZE`, 50). When workers fall behind, `put()`
blocks the collector instead of letting the queue, and memory, grow without limit. The high-water mark can never
exceed the queue size.

**Graceful shutdown.** Stop the source, flush the open window, drain the queue (`queue.join()`), then tell the
workers to exit and join them. The seed used `daemon=True` threads and `time.sleep(1)`: a daemon thread is killed
mid-batch when the program exits, and a sleep is a guess. Here a stop is requested part-way through the stream:"""),
        code("""import threading

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
      [t.name for t in threading.enumerate() if t.name.startswith("worker")])"""),
    ],
    [("Why does a bounded queue give backpressure, and what would an unbounded queue do when workers fall behind?",
      "`put()` on a full bounded queue blocks the producer until a worker takes an item, so the producer slows to "
      "the workers' pace. An unbounded queue keeps accepting: memory grows until the process dies, and latency "
      "grows with it."),
     ("Why add random jitter to exponential backoff?",
      "Workers that failed at the same moment would otherwise retry at the same moments too, hitting the "
      "recovering service in synchronised waves (the thundering herd). Jitter spreads the retries out."),
     ("Which errors should be retried, and which should go straight to the dead-letter file?",
      "Transient ones (timeouts, a busy or briefly unreachable service) may succeed later. Permanent ones (bad "
      "data, a bug, a rejected record) fail the same way every time: retrying only wastes time."),
     ("What is wrong with `daemon=True` worker threads plus `time.sleep(1)` as a shutdown?",
      "Daemon threads are killed when the main thread exits, even in the middle of a batch, so work is lost "
      "without a trace; the sleep guesses how long draining takes. Drain with `queue.join()`, signal the workers, "
      "and `join()` them."),
     ("The seed's workers share a plain dict of metrics. What can go wrong?",
      "`metrics['x'] += 1` is read, add, write: two threads can interleave and lose an update. Counters shared "
      "between threads need a lock.")],
    """assert metrics["messages_in"] == metrics["messages_processed"] + metrics["messages_dead_lettered"]
assert m2["messages_in"] == len(counted) == m2["messages_processed"]
print("Exact accounting holds, with failures and with a stop part-way: True")""",
    "Minibatches aligned to the clock, a bounded queue for backpressure, retries with exponential backoff and "
    "jitter for transient errors only, dead letters with reasons for everything else, metrics behind a lock, and "
    "a shutdown that drains instead of sleeping. Messages in always equal processed plus dead-lettered.",
    ["docs/thread_pipelines.md", "`python -m etl_lib.pipelines --pipeline streaming --help`"],
)

# ====================================================================== 03
N03 = NB(
    "03", "nightly_file_pipeline", "Nightly file pipeline: best-fit decreasing",
    ["pack files into 10 MB buckets with best-fit decreasing (BFD)",
     "judge a packing against the L2 lower bound",
     "archive each bucket with a verified manifest, in parallel"],
    "notebook 02", 15,
    'from etl_lib.notebook import setup\n\nlesson = setup("03", kafka=False)',
    "n_files: int = 2000  # files to pack in the bucketing part\nseed: int = 7",
    [
        md("""Many small files are slow to move and to read; one huge file cannot be processed in parallel. The nightly
pipeline groups files into **buckets of at most 10 MiB** so each worker gets a similar amount of work.
File sizes follow a log-normal spread: most around 1 MiB, a long tail of big ones, some larger than a bucket."""),
        code("""from etl_lib.pipelines import bfd_buckets, l2_lower_bound, lognormal_sizes

MiB = 1024 * 1024
sizes = lognormal_sizes(n_files, seed=seed)
print(f"{len(sizes)} files, {sum(sizes) / MiB:.0f} MiB, larger than a bucket: {sum(s > 10 * MiB for s in sizes)}")"""),
        md("""**Best-fit decreasing**: sort files largest first; put each into the open bucket it fills most tightly
(the smallest remaining space that still fits), else open a new bucket. A file bigger than the capacity gets a
bucket of its own, flagged *oversize*: it is never dropped. With the free spaces kept in a sorted structure the
whole packing is O(n log n).

How good is it? No packing can use fewer buckets than the **L2 lower bound** of Martello and Toth, and BFD is
proven to use at most 11/9 · OPT + 6/9 buckets."""),
        code("""buckets = bfd_buckets(sizes, 10 * MiB)
regular = [b for b in buckets if not b.oversize]
print("buckets:", len(buckets), "| oversize:", len(buckets) - len(regular),
      "| L2 lower bound:", l2_lower_bound(sizes, 10 * MiB))
print(f"mean fill of regular buckets: {sum(b.size for b in regular) / (len(regular) * 10 * MiB):.1%}")"""),
        code("""import matplotlib.pyplot as plt

fills = sorted((b.size / (10 * MiB) for b in regular), reverse=True)
fig, ax = plt.subplots()
ax.plot(range(len(fills)), fills)
ax.axhline(1.0, color="black", linewidth=0.8)
ax.set_xlabel("bucket (sorted by fill)")
ax.set_ylabel("fill of 10 MiB")
ax.set_title("BFD fills almost every bucket; only the last few are partly empty")
plt.show()"""),
        md("""**The pipeline**: generate real files, bucket them, and let worker threads archive each bucket into a
`.tar.gz` with a `MANIFEST.json` of names, sizes and SHA-256 checksums, then read the archive back and verify
every member. A failed bucket is retried, then recorded with its files; none disappears."""),
        code("""from etl_lib.pipelines import run_file_pipeline

m = run_file_pipeline(60, lesson.settings.data_dir / "files", capacity=400_000, workers=4, median_bytes=40_000,
                      seed=seed)
{k: m[k] for k in ["files", "buckets", "buckets_ok", "buckets_failed", "oversize", "l2_lower_bound"]}"""),
    ],
    [("Why sort the files largest first before packing?",
      "Big items are the hard ones to place; putting them first leaves the small ones to fill the gaps. Without "
      "sorting, early small files spread over buckets leave no room for a big one later, which then opens a new "
      "bucket."),
     ("What is the difference between first fit and best fit?",
      "First fit puts the item into the first bucket (in order of opening) where it fits; best fit into the "
      "bucket where it leaves the least space free."),
     ("Why is a lower bound useful when judging a heuristic?",
      "The true optimum is too expensive to compute for large inputs; if the heuristic's count equals (or is "
      "close to) a lower bound, it is provably optimal (or close)."),
     ("Why write each archive under a temporary name and rename it at the end?",
      "A rename is atomic: readers never see a half-written archive, and a retried attempt does not leave a "
      "broken file behind.")],
    """assert sum(len(b.files) for b in buckets) == n_files
assert all(b.size <= 10 * MiB for b in regular)
assert len(buckets) >= l2_lower_bound(sizes, 10 * MiB)
assert m["buckets_ok"] + m["buckets_failed"] == m["buckets"]
print("Every file in exactly one bucket, none over capacity, count >= L2: True")""",
    "BFD packs in O(n log n) and, on realistic sizes, matches the L2 lower bound or comes within a bucket or two "
    "of it. Oversize files get a bucket of their own. Bucket workers archive with verified manifests and record "
    "every failure.",
    ["docs/thread_pipelines.md", "bench/bfd.py (BFD against the `binpacking` package)"],
)

# ====================================================================== 04
N04 = NB(
    "04", "kafka_and_data_gen", "Kafka with kafka-python, and the simulated world",
    ["create topics with partitions and send keyed records",
     "explain offsets and consumer groups",
     "generate the four Boston 2018 streams and read their layouts"],
    "notebook 00", 20,
    'from etl_lib.notebook import setup\n\nlesson = setup("04")\ns = lesson.settings',
    "days: int = 1  # simulated days\nscale: float = 0.1  # fraction of real-city rates",
    [
        md("""A Kafka **topic** is split into **partitions**; each partition is an ordered, append-only log, and each
record in it has an **offset**. The producer chooses the partition from the record's **key** (a hash of it), so
all records with the same key land in the same partition, in order."""),
        code("""import json
from kafka import KafkaProducer

producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all")
sent = []
for i, station in enumerate(["67", "22", "67", "36", "22", "67"]):
    meta = producer.send(s.kafka_topic_bike, key=station.encode(), value=json.dumps({"n": i}).encode()).get(10)
    sent.append((station, meta.partition, meta.offset))
producer.close()
sent  # (key, partition, offset): same key, same partition, offsets counting up"""),
        md("""(One `.get()` per record, as above, waits a network round trip each time: fine for six records, far too
slow for a stream. `data_gen` sends without waiting and checks failures in a callback.)

A **consumer group** shares the partitions of a topic among its members and remembers, per partition, the offset
it has processed up to (the *committed offset*). A consumer of a new group starts where `auto_offset_reset`
says; the same group, started again, continues where it stopped."""),
        code("""from kafka import KafkaConsumer

def read_all(group):
    c = KafkaConsumer(s.kafka_topic_bike, bootstrap_servers=s.kafka_bootstrap_servers, group_id=group,
                      auto_offset_reset="earliest", consumer_timeout_ms=3000)
    n = sum(1 for _ in c)
    c.commit()
    c.close()
    return n

print("group A, first time: ", read_all("lesson04-A"))
print("group A, second time:", read_all("lesson04-A"))
print("group B, first time: ", read_all("lesson04-B"))"""),
        md("""Now the simulated world. `data_gen` produces four streams in the field layouts of the public datasets
(Bluebikes trips, Uber/Lyft rides, weather, Vision Zero crashes), with weather effects planted in them and an
**answer key** saying what the analytics must find."""),
        code("""from data_gen import GenParams, KafkaSink, generate
from etl_lib.kafka_local import reset_topics

reset_topics(s.kafka_bootstrap_servers, s.kafka_topics.values(), 3)
key = generate(GenParams(days=days, scale=scale), KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
import pandas as pd
pd.DataFrame(key["counts"]).T[["produced", "valid", "quarantined", "duplicates", "late"]]"""),
        code("""from kafka import TopicPartition

c = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap_servers)
for t, topic in s.kafka_topics.items():
    parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic))]
    print(f"{topic:<20} end offsets per partition: {[c.end_offsets(parts)[p] for p in parts]}")
c.close()"""),
        md("""One record of each layout, read back from Kafka: the first valid record of the lowest-numbered
partition that has one. (All weather records share the key `boston`, so they all sit in one partition.)"""),
        code("""from etl_lib.schemas import validate_record

def first_valid(t, topic):
    c = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap_servers, consumer_timeout_ms=3000)
    try:
        for p in sorted(c.partitions_for_topic(topic)):
            c.assign([TopicPartition(topic, p)])
            c.seek_to_beginning()
            for r in c:
                if validate_record(t, r.value).ok:
                    return r
    finally:
        c.close()

for t, topic in s.kafka_topics.items():
    record = first_valid(t, topic)
    if record is None:  # a small scale can leave a rare topic (accidents) without a valid record
        print(f"--- {topic}: no valid record at this scale")
        continue
    print(f"--- {topic} (partition {record.partition}, key {record.key.decode()})")
    print(json.dumps(json.loads(record.value))[:300])"""),
    ],
    [("What decides which partition a keyed record goes to, and what does that guarantee?",
      "A hash of the key modulo the number of partitions. Records with the same key are in the same partition, "
      "so they are read in the order they were written. There is no order across partitions."),
     ("What is a committed offset, and what happens when a consumer of the same group restarts?",
      "The position up to which the group has processed a partition. A restarted member continues from it, so "
      "it neither re-reads what was committed nor skips what was not."),
     ("Why does `data_gen` not call `.get()` on every send?",
      "Each `.get()` waits for the broker's acknowledgement: one network round trip per record. Sending "
      "asynchronously lets the producer batch many records per request; failures are caught in a callback."),
     ("What does `acks=all` buy, and what does it cost?",
      "The broker acknowledges only when all in-sync replicas have the record, so an acknowledged record "
      "survives a broker failure; it costs some latency per request.")],
    """assert [p for k, p, _ in sent if k == "67"] == [sent[0][1]] * 3
assert key["counts"]["bike"]["produced"] == key["counts"]["bike"]["valid"] + key["counts"]["bike"]["quarantined"]
print("Same key, same partition; every produced record is valid or quarantined: True")""",
    "Topics have partitions, partitions have offsets, keys choose partitions. Consumer groups share partitions "
    "and commit offsets. `data_gen` writes four realistic streams with an answer key.",
    ["docs/kafka.md", "docs/records.md", "docs/answer_key.md"],
)

# ====================================================================== 05
N05 = NB(
    "05", "parsing_and_quarantine", "Parsing with explicit schemas, and the quarantine",
    ["read Kafka with Spark and parse JSON with an explicit schema",
     "give every bad record a reason and keep it in quarantine",
     "check the counts against the answer key"],
    "notebook 04", 20,
    'from etl_lib.notebook import setup, show, spark_session\n\nlesson = setup("05")\ns = lesson.settings\nspark = spark_session(s)',
    "days: int = 1  # simulated days\nscale: float = 0.1\nmalformed_fraction: float = 0.05  # more damage than usual, to see every kind",
    [
        md("""Spark's Kafka source gives every record as bytes plus its coordinates: `key`, `value`, `topic`,
`partition`, `offset`, `timestamp`. Turning `value` into columns needs a **schema**. Inferring one from the
data is fragile (the first batch decides the types, a typo invents a column); the kit writes each schema down
once, in `etl_lib/schemas.py`."""),
        code("""from data_gen import GenParams, KafkaSink, generate
from etl_lib.parsing import spark_schema

key = generate(GenParams(days=days, scale=scale, malformed_fraction=malformed_fraction),
               KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
print(spark_schema("taxi").simpleString())"""),
        md("""Every record gets a `reason`: null when it is valid, otherwise the first problem found: not valid JSON, a
missing required field, a wrong type, a timestamp in another format, or an impossible value (a negative trip, a
surge below 1). An unknown extra field is *not* a problem: an explicit schema simply ignores it."""),
        code("""from pyspark.sql import functions as F
from etl_lib.parsing import with_reasons
from etl_lib.spark import read_kafka_batch

checked = with_reasons(read_kafka_batch(spark, s.kafka_topic_taxi, s), "taxi")
reasons = (checked.groupBy(F.coalesce(F.regexp_extract("reason", "^([^:]+)", 1), F.lit("(valid)")).alias("reason"))
           .count().orderBy("reason"))
show(reasons)"""),
        code("""show(checked.where("reason is not null")
     .select("kafka_partition", "kafka_offset", F.substring("raw_value", 1, 60).alias("raw_value"), "reason")
     .orderBy("kafka_partition", "kafka_offset"), n=6)"""),
        md("""The streaming ETL writes valid records to partitioned Parquet and rejected ones to a quarantine folder
per topic, each with its own checkpoint. `available_now=True` processes what Kafka holds and stops."""),
        code("""from etl_lib.main import build_streams
from etl_lib.parsing import quarantine_records
from etl_lib.writers import TOPIC_FOLDERS, count_rows, write_parquet_stream, write_quarantine_stream

streams = build_streams(spark, s)
queries = []
for t, folder in TOPIC_FOLDERS.items():
    queries.append(write_parquet_stream(streams[t], folder, s, available_now=True))
    queries.append(write_quarantine_stream(quarantine_records(streams[f"raw:{t}"], t), folder, s, available_now=True))
for q in queries:
    q.awaitTermination()
import pandas as pd
rows = []
for t, folder in TOPIC_FOLDERS.items():
    rows.append({"topic": t, "parquet rows": count_rows(spark, s.output_base_path / folder),
                 "expected valid": key["counts"][t]["valid"],
                 "quarantined": count_rows(spark, s.quarantine_path / folder),
                 "expected quarantined": key["counts"][t]["quarantined"]})
pd.DataFrame(rows)"""),
    ],
    [("Why use an explicit schema instead of schema inference on a stream?",
      "Inference looks at some of the data once: types can come out wrong, a typo becomes a new column, and the "
      "schema can change between runs. An explicit schema is a contract: records that break it are caught."),
     ("Why keep malformed records instead of filtering them out?",
      "A silent drop hides bugs upstream and makes counts impossible to reconcile. Quarantine keeps the raw value, "
      "the reason and the Kafka coordinates, so someone can look, fix and replay."),
     ("A producer adds a new field `promo_code`. What happens in this pipeline, and why is that desirable?",
      "Nothing breaks: the explicit schema ignores fields it does not know, and the record is valid. Producers "
      "can add fields without coordinating with every consumer (schema evolution)."),
     ("Which Kafka columns make a quarantined record traceable to its source?",
      "`topic`, `partition` and `offset` identify it exactly; the key and timestamp help too.")],
    """assert all(r["parquet rows"] == r["expected valid"] and r["quarantined"] == r["expected quarantined"] for r in rows)
print("Parquet and quarantine counts equal the answer key for all four topics: True")""",
    "Explicit schemas, one reason per rejected record in the same words as the Python reference validator, valid "
    "rows to partitioned Parquet and rejected ones to quarantine: N valid in, N rows out; M bad in, M quarantined.",
    ["docs/spark_etl.md", "docs/records.md"],
)

# ====================================================================== 06
N06 = NB(
    "06", "windows_and_watermarks", "Windows, watermarks and late data",
    ["tell tumbling from sliding windows",
     "explain what a watermark is and when a window is emitted",
     "see a late event left out of its window"],
    "notebook 05", 20,
    'from etl_lib.notebook import setup, show, spark_session\n\nlesson = setup("06")\ns = lesson.settings\nspark = spark_session(s)',
    'watermark_delay: str = "10 minutes"',
    [
        md("""A **tumbling window** cuts time into fixed, non-overlapping pieces (`window(t, "15 minutes")`): each event
is in exactly one. A **sliding window** has a length and a slide (`window(t, "15 minutes", "5 minutes")`): windows
overlap and each event is in length/slide of them."""),
        code("""import pandas as pd
from pyspark.sql import functions as F

events = spark.createDataFrame(pd.DataFrame({"event_time": pd.to_datetime(
    ["2018-04-02 08:01", "2018-04-02 08:07", "2018-04-02 08:14", "2018-04-02 08:16", "2018-04-02 08:29"])}))
tumbling = events.groupBy(F.window("event_time", "15 minutes")).count()
sliding = events.groupBy(F.window("event_time", "15 minutes", "5 minutes")).count()
show(tumbling.select(F.date_format("window.start", "HH:mm").alias("start"), "count").orderBy("start"))"""),
        code("""show(sliding.select(F.date_format("window.start", "HH:mm").alias("start"), "count").orderBy("start"), n=20)"""),
        md("""A streaming aggregation cannot wait for ever for stragglers. The **watermark** is *the latest event time
seen, minus a delay* (`WATERMARK_DELAY`, 10 minutes). In append mode a window's row is written once, when the
watermark passes the window's end; after that, an event for that window is **left out**. Spark moves the
watermark between micro-batches.

The experiment: micro-batch 1 holds weather every 5 minutes from 08:00 to 08:55 and one bike per window. Then
micro-batch 2 brings a **late** bike at 08:20, an on-time bike at 08:55, and weather up to 09:30."""),
        code("""import json
from kafka import KafkaProducer
from etl_lib.analytics import calculate_weather_transport_correlation
from etl_lib.main import build_streams
from etl_lib.writers import write_analytics_stream

s = s.replace(watermark_delay=watermark_delay)

def send(topic, records):
    p = KafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all")
    for r in records:
        p.send(topic, value=json.dumps(r).encode())
    p.flush()
    p.close()

def weather(ts):
    return {"timestamp": ts, "temperature": 10.0, "precip_intensity": 0.0}

def bike(n, ts):
    return {"trip_id": f"b{n}", "trip_duration": 300, "start_time": ts, "stop_time": ts,
            "start_station_id": 3, "end_station_id": 4}

def micro_batch():
    df = calculate_weather_transport_correlation(build_streams(spark, s)["combined"])
    q = write_analytics_stream(df, "windows", "append", s, available_now=True)
    q.awaitTermination()
    return pd.read_parquet(s.analytics_output_path / "windows").sort_values("window_start").reset_index(drop=True)

send(s.kafka_topic_weather, [weather(f"2018-04-02 08:{m:02d}:00") for m in range(0, 60, 5)])
send(s.kafka_topic_bike, [bike(i, f"2018-04-02 08:{m:02d}:30") for i, m in enumerate((1, 16, 31, 46))])
after_1 = micro_batch()
after_1[["window_start", "bike_count"]].assign(window_start=lambda d: d.window_start.dt.strftime("%H:%M"))"""),
        md("""The 08:45 window is not there yet: the watermark is 08:55 − 10 min = 08:45, not past its end (09:00)."""),
        code("""send(s.kafka_topic_bike, [bike(10, "2018-04-02 08:20:00"), bike(11, "2018-04-02 08:55:00")])
send(s.kafka_topic_weather, [weather(f"2018-04-02 09:{m:02d}:00") for m in range(0, 35, 5)])
after_2 = micro_batch()
after_2[["window_start", "bike_count"]].assign(window_start=lambda d: d.window_start.dt.strftime("%H:%M"))"""),
        code("""import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(8, 2.6))
for i, start in enumerate(range(0, 90, 15)):
    ax.axvspan(start, start + 15, color=["#eef", "#fee"][i % 2])
on_time = [1, 16, 31, 46, 55]
ax.scatter(on_time, [1] * len(on_time), color="tab:green", label="counted", zorder=3)
ax.scatter([20], [1], color="tab:red", marker="x", s=80, label="late: left out", zorder=3)
ax.axvline(45, color="grey", linestyle="--")
ax.text(45.5, 1.3, "watermark after batch 1", fontsize=8)
ax.set_yticks([])
ax.set_xlim(0, 90)
ax.set_ylim(0.5, 1.6)
ax.set_xlabel("minutes after 08:00 (shaded: 15-minute windows)")
ax.legend(loc="lower right", fontsize=8)
plt.show()"""),
    ],
    [("An event at 08:20 arrives when the watermark is 08:45. Is it counted in the 08:15–08:30 window? Why?",
      "No. That window was emitted when the watermark passed 08:30; in append mode a row is written once and "
      "never changed, so the late event is left out."),
     ("What does a larger watermark delay buy, and what does it cost?",
      "More late events are still counted, but every window is emitted later and Spark keeps more windows in its "
      "state store."),
     ("How many sliding windows of 15 minutes, sliding every 5 minutes, contain a given event?", "Three (15 / 5)."),
     ("Why do the last windows of a finished run stay unwritten?",
      "Nothing newer has arrived to push the watermark past their end. The state store keeps them, and a later "
      "run with newer data emits them.")],
    """counts = dict(zip(after_2.window_start.dt.strftime("%H:%M"), after_2.bike_count))
assert counts["08:15"] == 1 and counts["08:45"] == 2
print("Late 08:20 bike left out, on-time 08:55 bike counted: True")""",
    "Tumbling windows partition time, sliding ones overlap. The watermark (latest event time minus a delay) decides "
    "when a window is final; in append mode its row is written once, and later events for it are left out.",
    ["docs/spark_etl.md (windows and watermarks)",
     "Spark Structured Streaming guide: handling late data and watermarking"],
)

# ====================================================================== 07
N07 = NB(
    "07", "parquet_and_checkpoints", "Parquet, partitions, checkpoints and exactly-once",
    ["lay out Parquet by year/month/date/hour and read only the partitions needed",
     "restart a query on its checkpoint with nothing lost and nothing twice",
     "recognise what breaks when a query changes under an old checkpoint"],
    "notebook 05", 20,
    'from etl_lib.notebook import setup, show, spark_session\n\nlesson = setup("07")\ns = lesson.settings\nspark = spark_session(s)',
    "first_half: int = 600  # trips sent before the 'crash'\nsecond_half: int = 400  # trips sent after it",
    [
        md("""A streaming query's **checkpoint** folder records, for every micro-batch, the Kafka offsets it will read
(the *offset log*, written before the batch) and that the batch's output was committed (the *commit log*, written
after). The Parquet sink also keeps a log of the files each batch wrote. On restart, Spark redoes an
uncommitted batch with exactly the same offsets and ignores files not in its log: **exactly-once** output, from
an at-least-once source."""),
        code("""import json
from kafka import KafkaProducer
from etl_lib.main import build_streams
from etl_lib.writers import write_parquet_stream

def send_trips(start, n):
    p = KafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, acks="all")
    for i in range(start, start + n):
        ts = f"2018-04-02 {8 + i // 300:02d}:{(i // 5) % 60:02d}:00"
        p.send(s.kafka_topic_bike, key=str(i % 7).encode(), value=json.dumps(
            {"trip_id": f"t{i:05d}", "trip_duration": 600, "start_time": ts, "stop_time": ts,
             "start_station_id": 3 + i % 7, "end_station_id": 4}).encode())
    p.flush()
    p.close()

def run_query():
    q = write_parquet_stream(build_streams(spark, s)["bike"], "bike_trips", s, available_now=True)
    q.awaitTermination()
    return spark.read.parquet(str(s.output_base_path / "bike_trips"))

send_trips(0, first_half)
print("rows after the first run:", run_query().count())"""),
        md("""The query has stopped (as if the machine had crashed after its last batch). More trips arrive; the same
query is started again **on the same checkpoint**:"""),
        code("""send_trips(first_half, second_half)
df = run_query()
print("rows:", df.count(), "| distinct trip ids:", df.select("trip_id").distinct().count(),
      "| sent in all:", first_half + second_half)"""),
        code("""import os

layout = sorted(os.path.relpath(p, s.output_base_path / "bike_trips")
                for p, _, files in os.walk(s.output_base_path / "bike_trips") if any(f.endswith(".parquet") for f in files))
layout"""),
        md("""Partition folders let a query skip data: a filter on the partition columns reads only the matching
folders (**partition pruning**)."""),
        code("""show(df.where("date = '2018-04-02' and hour = 9").groupBy("hour").count())"""),
        md("""**A checkpoint belongs to one query.** Change a stateful query so that its saved state no longer fits,
here by grouping by station as well as by window, and restart it on the old checkpoint: Spark refuses. (Changing
only the window *length* is accepted, because the state's key is still a window: the old windows would silently
mix with the new ones, which is worse.) The fix is a new checkpoint folder, and usually reprocessing from the
earliest offsets."""),
        code("""import re
from pyspark.sql import functions as F

def windowed(*keys):
    bikes = build_streams(spark, s)["bike"]
    counts = bikes.withWatermark("event_time", "10 minutes").groupBy(F.window("event_time", "15 minutes"), *keys).count()
    return (counts.writeStream.format("parquet").option("path", str(s.data_dir / "counts"))
            .option("checkpointLocation", str(s.data_dir / "checkpoints" / "counts"))
            .trigger(availableNow=True).start())

windowed().awaitTermination()
send_trips(first_half + second_half, 50)  # new data, so that the restarted query runs a micro-batch
try:
    windowed("start_station_id").awaitTermination()
    refused = None
except Exception as err:
    # Spark wraps the cause: show the most specific error class, the one about the state.
    classes = re.findall(r"\[([A-Z_]{6,})[\].]", str(err))
    refused = next((c for c in classes if "STATE" in c), classes[0] if classes else type(err).__name__)
print("restart refused:", refused is not None, "| error class:", refused)"""),
    ],
    [("What is in a streaming checkpoint, and why does it give exactly-once output with a file sink?",
      "The offset log (which Kafka offsets each batch reads, written before it runs), the commit log (which "
      "batches finished), the state of stateful operators, and the sink's log of committed files. A failed batch "
      "is redone with the same offsets, and files not in the sink log are ignored by readers."),
     ("Why partition by year/month/date/hour, and what is the cost of going too fine?",
      "Queries filtering on time read only matching folders. Too fine a partitioning (or many writers per "
      "folder) makes many tiny files: slow to write, slow to list and read (the small files problem)."),
     ("You changed a window length and restarted: the query fails. What are the options?",
      "Start with a new checkpoint folder (and reprocess from the earliest offsets, or accept the gap), or undo "
      "the change. Stateful state cannot be reused by a different query."),
     ("Does `startingOffsets=earliest` matter when a query restarts on its checkpoint?",
      "No: it applies only to a new checkpoint. A restarted query continues from the offsets in its checkpoint.")],
    """assert df.count() == df.select("trip_id").distinct().count() == first_half + second_half
assert refused is not None
print("After the restart: nothing lost, nothing twice; the changed stateful query was refused: True")""",
    "Checkpoints (offset log, commit log, state, sink log) make a restarted query continue exactly where it "
    "stopped, with no duplicates and no gaps. Partition folders speed up reads; a changed stateful query needs a "
    "new checkpoint.",
    ["docs/spark_etl.md (checkpoints)", "docs/troubleshooting.md (checkpoint does not fit)"],
)

# ====================================================================== 08
N08 = NB(
    "08", "analytics_and_plots", "The nine analytics, correlations and graph-ready plots",
    ["compute correlations in a stream with sufficient statistics",
     "read the binned, precipitation and rush-hour outputs as plots",
     "check the results against data_gen's answer key"],
    "notebooks 05 and 06", 30,
    'from etl_lib.notebook import setup, show, spark_session\n\nlesson = setup("08")\ns = lesson.settings\nspark = spark_session(s)',
    "days: int = 7  # simulated days\nscale: float = 0.2\nseed: int = 42",
    [
        md("""Pearson's r needs all pairs (x, y) at once, which a stream never has. But r is a function of six sums,
**n, Σx, Σy, Σxy, Σx², Σy²**:

$$r = \\frac{n\\sum xy - \\sum x \\sum y}{\\sqrt{(n\\sum x^2 - (\\sum x)^2)(n\\sum y^2 - (\\sum y)^2)}}$$

Sums can be computed per hour and added later. So the stream first counts trips per 15-minute window (with the
window's weather), then a **chained window aggregation** emits the six sums per hour; a reader adds the hours up.
Both aggregations run in append mode. Binned means, precipitation impact and the temporal segments work the
same way: partial sums and counts, merged by the reader."""),
        code("""from data_gen import GenParams, KafkaSink, generate
from etl_lib.main import run_etl

key = generate(GenParams(days=days, scale=scale, seed=seed), KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
run = run_etl(spark, s, available_now=True)"""),
        code("""import pandas as pd
from etl_lib.report import summaries

sums = summaries(s)
pearson = sums["pearson_correlations"]
pearson.pivot(index="x_name", columns="y_name", values="r").round(3)"""),
        code("""import matplotlib.pyplot as plt
from etl_lib.plots import plot_correlation_heatmap

plot_correlation_heatmap(pearson)
plt.show()"""),
        md("""**Graph-ready binned metrics**: mean bike trips per 15-minute window, by temperature bin and precipitation
category. Warmer means more bikes; rain means fewer at every temperature."""),
        code("""from etl_lib.plots import plot_binned_metrics

show(sums["weather_binned_metrics"], n=12)"""),
        code("""plot_binned_metrics(sums["weather_binned_metrics"])
plt.show()"""),
        code("""from etl_lib.plots import plot_precipitation_impact, plot_rush_hour_vs_leisure

plot_precipitation_impact(sums["precipitation_impact"])
plt.show()"""),
        code("""plot_rush_hour_vs_leisure(sums["temporal_correlations"])
plt.show()"""),
        md("""Finally, the answer key: every relationship data_gen planted, what this run's events show, and what the
analytics measured."""),
        code("""from etl_lib.report import check_answer_key

check = check_answer_key(sums, key)
check[["relationship", "expected", "measured", "tolerance", "within_tolerance"]].round(3)"""),
    ],
    [("Why can Pearson's r be computed in a stream from n, Σx, Σy, Σxy, Σx², Σy²?",
      "r is a function of those six sums, and sums over disjoint groups add up: each hour emits its sums once, "
      "and any set of hours can be combined later, without keeping the raw pairs."),
     ("Why union the bike, taxi and weather streams instead of joining them?",
      "A union followed by one window aggregation gives counts and mean weather per window in a single stateful "
      "step, in append mode. Joining aggregated streams is restricted in Structured Streaming and needs more state."),
     ("Light rain shows fewer taxis than dry weather in some weeks, though the model says rain raises taxi "
      "demand. How can that be?",
      "Confounding: if the week's few rain episodes fell at night, light-rain windows are mostly night windows, "
      "when taxis are few anyway. Comparing means across categories mixes the rain effect with the time of day."),
     ("Why is the safety analysis windowed per hour rather than per 15 minutes?",
      "Accidents are rare (about one an hour): 15-minute windows would be mostly zeros, and the rates too noisy.")],
    """assert check["within_tolerance"].all(), check[~check["within_tolerance"]]
print(f"All {len(check)} answer-key relationships recovered within tolerance: True")""",
    "Correlations and means across windows become streamable as mergeable sums. The union-then-window design "
    "avoids joins. The outputs recover every planted relationship of the answer key within its tolerance.",
    ["docs/analytics.md", "docs/answer_key.md"],
)

# ====================================================================== 09
N09 = NB(
    "09", "orchestrator", "The orchestrator: all streams, flags and a graceful stop",
    ["start the raw, quarantine and analytics streams from one call",
     "switch analytics off with flags and see them not start",
     "stop every query, then Spark, cleanly"],
    "notebook 08", 15,
    'from etl_lib.notebook import setup, spark_session\n\nlesson = setup("09")\ns = lesson.settings\nspark = spark_session(s)',
    "days: int = 1\nscale: float = 0.05",
    [
        md("""`python -m etl_lib.main` is the seed's `main.py`: it builds the session, starts the four raw streams,
their quarantine streams and the enabled analytics, prints a banner naming each stream as it starts, and waits.
Ctrl+C or SIGTERM stops every query, then Spark; a failing query is named and the exit code is non-zero.
Here the same function runs in the notebook, with three analytics switched off."""),
        code("""from data_gen import GenParams, KafkaSink, generate
from etl_lib.main import run_etl

generate(GenParams(days=days, scale=scale), KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
flags_off = {"enable_pearson_correlations": False, "enable_temporal_correlations": False,
             "enable_multi_variable_summary": False}
run = run_etl(spark, s.replace(**flags_off), available_now=True)"""),
        code("""print(len(run.queries), "queries;", "active now:", sum(q.isActive for q in run.queries.values()))
print("analytics folders written:", sorted(p.name for p in s.analytics_output_path.iterdir()))"""),
        md("""**Continuous mode and a graceful stop.** Without `available_now`, each query runs a micro-batch every
`BATCH_INTERVAL`. `run_for` (or a stop event, which Ctrl+C sets in the command-line program) ends the wait;
then every query is stopped in turn."""),
        code("""import threading

stop = threading.Event()
threading.Timer(8.0, stop.set).start()
run2 = run_etl(spark, s.replace(batch_interval="2 seconds", **flags_off), stop_event=stop, echo=lambda line: None)
print("stopped:", all(not q.isActive for q in run2.queries.values()), "| failures:", run2.failed())"""),
    ],
    [("What does the orchestrator do when one query fails?",
      "It notices the failed query, stops all the others, then Spark, prints the failing query's name and the "
      "first line of its error, and exits with a non-zero code."),
     ("Why stop the queries before `spark.stop()`?",
      "Stopping a query lets its current micro-batch finish or abort cleanly and its checkpoint stay consistent; "
      "stopping Spark under running queries kills them mid-batch."),
     ("What is the difference between the available-now trigger and a processing-time trigger?",
      "Available-now processes everything the source holds at start (possibly in several batches) and stops; "
      "a processing-time trigger runs a micro-batch every interval until stopped.")],
    """assert set(run.queries).isdisjoint({"pearson_correlations", "temporal_correlations", "multi_variable_summary"})
assert len(run.queries) == 8 + 6 and not run.failed()
print("Three flags off: three streams not started; every query stopped cleanly: True")""",
    "One call starts every stream with a banner; flags decide which analytics start; the stop path stops each "
    "query and then Spark, and a failure is named.",
    ["docs/orchestrator.md", "`python -m etl_lib.main --help`"],
)

LESSONS = [N00, N01, N02, N03, N04, N05, N06, N07, N08, N09]

# ====================================================================== 10 (assembled)
N10 = NB(
    "10", "exam_review", "Exam review",
    ["answer every self-check question of the kit in one place",
     "find the notebook to reread for each topic"],
    "notebooks 00 to 09", 40,
    'from etl_lib.notebook import setup\n\nlesson = setup("10", kafka=False)',
    "show_counts: bool = True",
    [md("Try each question before opening the answer. The heading under each notebook links back to it.")]
    + [md(questions_markdown(nb, heading=f"## {nb.number} · {nb.title}\n\n[open the notebook]({nb.filename})"))
       for nb in LESSONS],
    [],
    f"""counts = {{{", ".join(f'"{nb.number}": {len(nb.questions)}' for nb in LESSONS)}}}
if show_counts:
    print(sum(counts.values()), "questions in", len(counts), "notebooks")""",
    "Every question of the kit with its answer. For the concepts behind them, see docs/ and the glossary.",
    ["docs/glossary.md", "docs/README.md"],
)

ALL = [*LESSONS, N10]


def _sources(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells if nbnav.MARKER not in c.source]


def main() -> None:
    out = ROOT / "notebooks"
    out.mkdir(exist_ok=True)
    for nb in ALL:
        path = out / nb.filename
        new = build(nb)
        if path.exists() and _sources(nbformat.read(path, as_version=4)) == _sources(new):
            continue  # unchanged: keep its stored outputs
        nbformat.write(new, path)
    nbnav.update(out)
    print(f"wrote {len(ALL)} notebooks and notebooks/README.md")


if __name__ == "__main__":
    main()
