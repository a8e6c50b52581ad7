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
# # 10 · Watch it stream: progress, watermark and state, live
#
# **You will learn to**
#
# - run a query on a processing-time trigger while data keeps arriving, and stop it and its producer cleanly
# - read a progress record: input and process rates, batch duration, event time, watermark, state
# - tell from a chart whether a query keeps up with its input, and why a batch longer than the trigger alone does not say
# - find the same charts in the Spark UI's Structured Streaming tab
#
# **Prerequisites:** notebooks 06 (windows and watermarks) and 09 (triggers)\
# **Time:** about 20 minutes (the live cell runs for `run_seconds`)

# %%
from etl_lib.lab import START_OVER, setup, spark_session

lesson = setup("10")
spark = spark_session(lesson.settings.replace(spark_ui_enabled=True))

# %% tags=["parameters"]
days: int = 1  # simulated days replayed into Kafka
scale: float = 0.1  # share of Boston's 2018 traffic
replay_seconds: float = 40.0  # wall seconds the replay takes to play the simulated days
run_seconds: float = 60.0  # how long the live cell watches the query
trigger: str = "4 seconds"  # BATCH_INTERVAL of the live query

# %%
from etl_lib.config import duration_seconds

s = lesson.settings.replace(batch_interval=trigger)
speedup = days * 86400 / replay_seconds
trigger_seconds = duration_seconds(trigger)
print(f"one simulated minute every {60 / speedup * 1000:.0f} ms of wall time; a micro-batch every {trigger}")

# %% [markdown]
# Every Spark lesson so far ran with an available-now trigger: read what is there, process it, stop. The seed's
# own mode is different: a query started with `trigger(processingTime=BATCH_INTERVAL)` **never finishes**. Every
# interval Spark asks Kafka for the offsets that arrived since the last batch, plans a micro-batch over them, runs
# it, commits, and waits for the next tick. If a batch takes longer than the interval, the next one starts at once
# (the trigger no longer paces the batches). That alone is not falling behind: a query falls behind when it
# processes rows more slowly than they arrive, batch after batch, so each batch finds more waiting than the last.
#
# Here `data_gen` replays a simulated day into Kafka from a background thread at a speed-up (a simulated minute
# every few milliseconds), while the kit's windowed query runs: the union of bikes, taxis and weather, one
# watermark, deduplication, and 15-minute windows written to Parquet in append mode (the silver table of
# notebook 08). After each micro-batch the chart below is redrawn from the query's own progress records.
#
# The chart is fed by a **`StreamingQueryListener`**, the way production code watches its queries: Spark calls
# the listener's `onQueryProgress` with each batch's progress record as the batch ends, so the cell waits for
# events instead of asking the query again and again (`ProgressListener` in `etl_lib/lab/live.py`, added to the
# session before the query starts, so it also hears `onQueryStarted`).
#
# The cell runs for `run_seconds`, then stops the query and the producer in a `finally`, so an error or a kernel
# interrupt (the ■ button) leaves no query and no producer thread running.

# %% tags=["nbval-ignore-output"]
# runs once: replays a day into Kafka and runs the live query
from data_gen import GenParams
from etl_lib.analytics import SILVER_WINDOWS
from etl_lib.commit_log import rows_per_batch
from etl_lib.lab import LiveChart, ProgressListener, progress_records, progress_table, start_replay, watch
from etl_lib.main import build_streams
from etl_lib.writers import write_silver_stream

params = GenParams(days=days, scale=scale, seed=42)
windows = build_streams(spark, s)["combined"]
sink = s.silver_path / SILVER_WINDOWS
chart = LiveChart(trigger_seconds, title=f"Live: {days} simulated day(s) replayed in {replay_seconds:g} s")

events = ProgressListener.of(spark)  # spark.streams.addListener(...), once per session
replay = start_replay(params, s, speedup)
query = None
try:
    query = write_silver_stream(windows, SILVER_WINDOWS, s)  # trigger(processingTime=trigger)
    records = watch(query, run_seconds,
                    on_batch=lambda records: chart.update(progress_table(records, rows_per_batch(sink))))
finally:
    if query is not None:
        query.stop()
    replay.stop()

# %% [markdown]
# What happened in this run (it differs from run to run and machine to machine, so the stored notebook does not
# compare it). `progress_records` merges the query's `recentProgress` once more after the stop: a batch may have
# finished between the last event the cell handled and `query.stop()`.

# %% tags=["nbval-ignore-output", "shows:live-batches"]
records = progress_records(query, records)
live = progress_table(records, rows_per_batch(sink))
behind = live[live["duration_s"] > trigger_seconds]
minutes = max(live["seconds"].iloc[-1] + live["duration_s"].iloc[-1], 1e-9) / 60
print(f"{len(live)} micro-batches in {minutes * 60:.0f} s ({len(live) / minutes:.1f} per minute); "
      f"{len(behind)} took longer than the {trigger} trigger (batches {behind['batch'].tolist()})")
print(f"replay finished: {replay.finished}; records sent: {replay.result.get('sent', 0):,}")
live.drop(columns=["dropped_by_watermark"]).round(1)

# %% [markdown]
# **Reading the chart.**
#
# - *Input rate and process rate.* Input rows/s is how fast rows arrived in Kafka since the previous batch;
#   processed rows/s how fast this batch got through them. Processed above input: the query has spare capacity.
#   Input above processed for batch after batch: the backlog grows.
# - *Batch duration against the trigger interval.* A bar above the dashed line is a batch that ran longer than
#   `trigger`; the next one then starts at once. The first batch is the slowest: Spark plans the query, generates
#   code and loads state for the first time. Bars above the line alone do not mean the query is behind: a
#   query that processes rows faster than they arrive keeps up even when its batches run back to back. It falls
#   behind when the input rate stays above the process rate (the first panel) and the backlog grows.
# - *Event time against the watermark.* Event time (simulated 2018) runs far faster than processing time here,
#   because the replay is sped up. The watermark is a step that follows the newest event time seen, minus
#   `WATERMARK_DELAY`, one batch later: it is fixed when a batch starts and moves at the end of the batch.
# - *State and output.* The windows still open and the record ids kept for deduplication are the query's state;
#   it grows while events arrive and shrinks when the watermark passes a window's end: then the window is
#   written (append mode) and dropped from state. The file sink reports no row count in its progress record
#   (`numOutputRows` is -1), so the rows written per batch come from its commit log
#   (`commit_log.rows_per_batch`: the files each batch added and their Parquet footers).
#
# One progress record, as `query.lastProgress` gives it (selected fields):

# %% tags=["nbval-ignore-output", "shows:progress-record"]
import json

busiest = max(records, key=lambda p: p["numInputRows"])
fields = {k: busiest[k] for k in ("batchId", "numInputRows", "inputRowsPerSecond", "processedRowsPerSecond",
                                  "durationMs", "eventTime")}
fields["stateOperators"] = [{k: op[k] for k in ("operatorName", "numRowsTotal", "numRowsUpdated",
                                                "numRowsDroppedByWatermark", "memoryUsedBytes")}
                            for op in busiest["stateOperators"]]
fields["sources"] = [{k: src[k] for k in ("description", "startOffset", "endOffset", "numInputRows")}
                     for src in busiest["sources"]]
print(json.dumps(fields, indent=1))

# %% [markdown]
# **What the listener heard.** A `StreamingQueryListener` has four callbacks, each called with an event object
# (pyspark's `StreamingQueryListener` docstrings): `onQueryStarted` (the query's `id`, `runId`, `name`,
# `timestamp`; called before `start()` returns, so it must not block), `onQueryProgress` (`progress`: the batch's
# progress record, the one above; called asynchronously, so the query may have moved on by then), `onQueryIdle`
# (the query is idle, waiting for new data; `id`, `runId`, `timestamp`) and `onQueryTerminated` (`id`, `runId`,
# and `exception`: None after a clean stop). A trigger that finds no new data puts a record in `recentProgress`
# (0 input rows, numbered as the next batch) but posts no progress event; Spark posts `onQueryIdle` instead, and
# only once the query has had no data for `spark.sql.streaming.noDataProgressEventInterval` (10 s by default).
# That is why `watch` merges `recentProgress` in at the end. How many of each differs from run to run.

# %% tags=["nbval-ignore-output", "shows:listener-events"]
events.wait_for(len(events.events), 5)  # the bus may deliver onQueryTerminated a moment after the stop
heard = events.of_query(query.id)
kinds = [e["event"] for e in heard]
print("first:", kinds[0], {k: type(v).__name__ for k, v in heard[0].items() if k != "event"})
print("last:", kinds[-1], "| exception:", heard[-1]["exception"])
heard_batches = {e["batch"] for e in heard if e["event"] == "progress"}
silent = [p for p in records if p["batchId"] not in heard_batches]
print(f"progress events: {len(heard_batches)}; records in recentProgress with none:",
      [(p["batchId"], p["numInputRows"]) for p in silent], "(batch, input rows)")
print(f"idle events: {kinds.count('idle')} (after 10 s or more with no new data)")

# %% [markdown]
# **The Spark UI.** The session of this notebook has its web UI on (`SPARK_UI_ENABLED`); while a query runs, open
# the *Structured Streaming* tab at the address below. It lists every query with its run id, status and the
# latest batch; a query's page has the same charts as above, over the whole run: *Input Rate* and *Process Rate*,
# *Input Rows*, *Batch Duration*, *Operation Duration* (where a batch spends its time: `latestOffset`, `getBatch`,
# `queryPlanning`, `addBatch` (the work), `walCommit` and `commitOffsets`, the checkpoint writes), the
# *Global Watermark Gap* (processing time minus the watermark: how far behind real time the event-time clock
# is), and for a stateful query the state charts (*Aggregated Number Of Total State Rows*, *Updated State Rows*,
# *State Memory Used*, *Rows Dropped By Watermark*). The *Jobs* and *SQL / DataFrame* tabs show each micro-batch's
# jobs and plan.

# %% tags=["nbval-ignore-output"]
url = spark.sparkContext.uiWebUrl
print(f"{url}/StreamingQuery/" if url else "The UI is off: set SPARK_UI_ENABLED=true and restart the kernel.")

# %% [markdown]
# **After the stop.** The stopped query left its checkpoint: the offsets it committed, the watermark and the
# state. Started again, here with an available-now trigger, it reads only what the live run did not process
# (including a batch the stop interrupted) and ends. Then, whatever the machine and however many batches the live
# run managed, these hold:
#
# - every record in the three topics was read exactly once over the live run and the restart (three topics: the
#   replay also filled the accidents topic, which this query does not read, so its "records sent" above is larger
#   by the accidents);
# - the watermark never moved back, and each batch ran with the newest event time of the batches before it minus
#   `WATERMARK_DELAY` (the rule of notebook 06, seen in the query's own records);
# - the rows the chart counted as written are the rows the sink's commit log holds;
# - no query and no producer thread is left running.

# %% tags=["shows:restart-exactly-once"]
# runs once: restarts the query to drain what is left
import pandas as pd
from etl_lib.commit_log import read_sink
from etl_lib.lab import end_offsets
from etl_lib.lab import watermark_rule

drain = write_silver_stream(windows, SILVER_WINDOWS, s, available_now=True)
drain.awaitTermination()
table = progress_table(progress_records(drain, records), rows_per_batch(sink))

topics = [s.kafka_topic_bike, s.kafka_topic_taxi, s.kafka_topic_weather]
in_kafka = sum(sum(parts.values()) for parts in end_offsets(s, topics).values())
rule = watermark_rule(table, s.watermark_delay)  # newest event time of the batches before, minus the delay
marked = table.dropna(subset=["watermark"])

print(f"records in the three topics: {in_kafka:,} | read by the query, live + restart: {table['input_rows'].sum():,}")
print("the live run saw at least 5 micro-batches:", len(live) >= 5)
print("the watermark never moved back:", marked["watermark"].is_monotonic_increasing)
print("each batch's watermark = newest event time before it - WATERMARK_DELAY:",
      bool((marked["watermark"] == rule[marked.index]).all()))
delay = pd.Timedelta(seconds=duration_seconds(s.watermark_delay))
print("watermark of the next batch:", table["max_event_time"].max() - delay)
print("rows written (progress + commit log) = rows in the sink:",
      int(table["rows_written"].sum()) == len(read_sink(sink)))
print("queries still active:", len(spark.streams.active), "| producer thread alive:", replay.thread.is_alive())

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. A query with a 4-second trigger shows batch durations of 6 s, 7 s and 6 s for many batches in a row. What happens to the trigger, to the input rate of each batch and to the latency of results, and what could you change?**
#
# <details><summary>Answer</summary>
#
# Each batch starts as soon as the previous one ends (no waiting for the tick), so batches come every 6-7 s instead of 4. Each batch finds more rows waiting, so its input grows; if the processed rate stays below the input rate, the backlog in Kafka and the latency of results grow without limit. Options: more cores or executors, more Kafka partitions for parallelism (more shuffle partitions only for a query started on a new checkpoint: a stateful query keeps the number its checkpoint fixed, as lesson 07 shows), less work per row, `maxOffsetsPerTrigger` to bound a batch (which smooths batches but does not add capacity), or a longer trigger interval, which amortises the per-batch overhead.
#
# </details>
#
# **2. In the event-time panel, the watermark is a step that lags the newest event time. Why does it move only between batches, and by how much?**
#
# <details><summary>Answer</summary>
#
# Spark fixes the watermark when it plans a batch, from the largest event time seen in the batches before, minus `WATERMARK_DELAY`; during the batch it collects the new maximum, and the next batch runs with the new watermark. So the step rises by how far the newest event time moved in the previous batch.
#
# </details>
#
# **3. The state rows rise while events arrive and fall later. What makes a row leave the state of a windowed count in append mode?**
#
# <details><summary>Answer</summary>
#
# The watermark passing the window's end: the window can no longer change, so it is written to the sink (once, final) and removed from the state. Deduplication keys leave the same way, when the watermark passes their event time plus the delay.
#
# </details>
#
# **4. The query was stopped in the middle of the run and restarted with an available-now trigger. Why was no record read twice or missed?**
#
# <details><summary>Answer</summary>
#
# The checkpoint holds the offsets each batch read (written before the batch ran) and which batches committed. The restart runs an uncommitted batch again over exactly its logged offsets, then continues from the last committed offset; the watermark and the state come back from the checkpoint too. The file sink skips a batch its own log already holds.
#
# </details>
#
# **5. The file sink's progress shows `numOutputRows: -1`. How else can you find the rows each batch wrote, and why is reading the folder with pandas not enough?**
#
# <details><summary>Answer</summary>
#
# The sink's commit log (`_spark_metadata/N`) lists the files batch N added; their Parquet footers hold the row counts. Reading the folder would also count files of a batch that was killed before it committed, which the log does not list.
#
# </details>
#

# %%
# runs once: stops Spark and its JVM (the lesson's last step)
from pyspark import SparkContext
from etl_lib.spark import stop_spark

assert len(spark.streams.active) == 0 and not replay.thread.is_alive(), (
    f"expected no query and no producer thread left, found {len(spark.streams.active)} active queries and the "
    f"producer alive: {replay.thread.is_alive()}: "
    + START_OVER)
assert table["input_rows"].sum() == in_kafka, (
    f"expected the {in_kafka:,} records of the three topics read once, found {table['input_rows'].sum():,} read: "
    + START_OVER)
assert (marked["watermark"] == rule[marked.index]).all(), (
    f"expected each batch's watermark = newest event time before it - {s.watermark_delay}, found it different in "
    f"batches {marked.loc[marked['watermark'] != rule[marked.index], 'batch'].tolist()}: "
    + START_OVER)
jvm = SparkContext._gateway.proc  # the driver JVM pyspark started for this kernel
stop_spark(spark)  # the lesson is over: no query, no producer thread and no JVM stays behind
assert jvm.poll() is not None, (
    f"expected the driver JVM to have exited, found it still running (pid {jvm.pid}): restart the kernel "
    "(Kernel > Restart Kernel), which ends it")
print("Stopped cleanly, every record read once, the watermark rule held in every batch, the JVM has exited: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - A processing-time query runs a batch every trigger interval until stopped (→ *never finishes*) [10#live-batches] [doc: Spark 4.2 · Structured Streaming Programming Guide · Triggers]
# - A progress record gives input and process rates, batch duration, watermark and state rows (→ *Reading the chart.*) [10#progress-record] [10#live-batches]
# - A batch longer than the trigger interval is followed at once by the next; the query falls behind only when its process rate stays below the input rate (→ *Reading the chart.*) [doc: Spark 4.2 · Structured Streaming Programming Guide · Triggers] [10#live-batches]
# - A `StreamingQueryListener` hears each query's start, its batches' progress, its idle spells and its end as events, the way production code watches queries (→ *What the listener heard.*) [10#listener-events]
# - The Spark UI's Structured Streaming tab charts the same numbers (→ *The Spark UI.*) [doc: Spark 4.2 · Web UI · Structured Streaming Tab]
# - After a stop the checkpoint keeps offsets, watermark and state for the restart (→ *After the stop.*) [10#restart-exactly-once] [doc: Spark 4.2 · Structured Streaming Programming Guide · Recovering from Failures with Checkpointing]
# - Stopping a query abandons the batch in flight; the checkpoint makes the restart read everything exactly once (→ *After the stop.*) [10#restart-exactly-once]

# %% [markdown]
# **Further reading**
#
# - docs/live_stream.md (the progress record, the chart, the Spark UI)
# - Spark's guide to monitoring streaming queries: `query.lastProgress`, `query.recentProgress`, `StreamingQueryListener`

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 09_orchestrator](09_orchestrator.ipynb) | [contents](README.md) | [11_modes_joins_dedup →](11_modes_joins_dedup.ipynb)
