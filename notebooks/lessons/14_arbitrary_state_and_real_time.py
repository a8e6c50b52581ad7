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
# # 14 · Arbitrary state, real-time mode and the Kafka sink
#
# **You will learn to**
#
# - write arbitrary state with `transformWithStateInPandas` (or the Row-based `transformWithState`): a value with a
#   time to live and an event-time timer
# - run a stateless Kafka-to-Kafka query in real-time mode and measure its latency against micro-batches
# - say why the Kafka sink is at-least-once, and make a `foreachBatch` write idempotent with its batch id
#
# **Prerequisites:** notebooks 11 (joins and deduplication) and 13 (the state store read back)\
# **Time:** about 25 minutes

# %%
from etl_lib.lab import START_OVER, setup, spark_session

lesson = setup("14")
s = lesson.settings
spark = spark_session(s)

# %% tags=["parameters"]
watermark_delay: str = "10 minutes"
idle_minutes: int = 30  # a station with no trip for this long has gone idle
records_per_second: float = 40.0  # pace of the producer in the latency race
race_records: int = 160  # records sent to each of the two triggers

# %%
from functools import partial

import matplotlib.pyplot as plt
import pandas as pd
from pyspark.sql import functions as F

from etl_lib.lab import bike_trip, reset_topics, send_json, spark_kafka_options
from etl_lib.parsing import parse_bike_stream
from etl_lib.spark import read_kafka_stream
from etl_lib.state import read_state, use_state_store

send = partial(send_json, s.kafka_bootstrap_servers, settings=s)
print("lesson 14's topics are its own:", ", ".join(sorted(s.kafka_topics.values())))

# %% [markdown]
# ## Arbitrary state: `transformWithStateInPandas`
#
# Windows, joins and deduplication are state Spark manages for you. When the rule is yours (alert when a station
# has had no trip for `idle_minutes`; keep a running profile per user) Spark 4 offers **`transformWithState`**
# (in Python `transformWithState`, which hands rows over as `Row`s, since 4.1, and `transformWithStateInPandas`,
# which hands them over as pandas DataFrames; this lesson uses the second): a `StatefulProcessor` class whose
# methods Spark calls per key:
#
# - `init(handle)`: declare the state variables: **value** state (one value per key), **list** state, **map**
#   state, each with an optional **time to live** (TTL: the value expires after that much *processing* time
#   without an update, so keys that go quiet do not stay for ever; allowed only with `timeMode="ProcessingTime"`);
# - `handleInputRows(key, rows, timerValues)`: the key's new rows in this batch, as pandas DataFrames; read and
#   update the state, register **timers**, yield output rows;
# - `handleExpiredTimer(key, timerValues, expiredTimerInfo)`: a timer fired; with `timeMode="EventTime"` a timer
#   fires when the **watermark** passes its time, with `"ProcessingTime"` when the clock does.
#
# The kit's `IdleStations` (in `etl_lib/state.py`) keeps per station one value (first trip, last trip, trips)
# and one timer at *last trip + idle_minutes*. A new trip moves the timer; when the watermark passes it, the
# station's run of activity is over: the processor emits it and clears the state. The timer is what bounds the
# state here: with event time, Spark refuses a TTL (shown at the end of this section). Three rounds of trips at
# two stations, each round a restart of the query from its checkpoint:

# %%
from etl_lib.state import RUN_SCHEMA, IdleStations, sessions_as_runs

use_state_store(spark, "rocksdb")  # transformWithState needs RocksDB
idle_topic = "14.idle.bike-trips"
reset_topics(s, [idle_topic], 1)
station_trips = (parse_bike_stream(read_kafka_stream(spark, idle_topic, s))
                 .select("start_station_id", "event_time").withWatermark("event_time", watermark_delay))
runs = (station_trips.groupBy("start_station_id")
        .transformWithStateInPandas(IdleStations(idle_minutes), RUN_SCHEMA, outputMode="Append",
                                    timeMode="EventTime"))
sessions = sessions_as_runs(station_trips, idle_minutes)

def at(n, station, hhmm):
    return {**bike_trip(n, f"2018-04-02 {hhmm}:00"), "start_station_id": station}

print("two queries over the same trips: IdleStations and session_window, gap", idle_minutes, "minutes")

# %% tags=["shows:idle-rounds"]
# runs once: sends three rounds and runs both queries on their checkpoints
outputs = {"IdleStations": [], "session_window": []}

def run_both():
    for name, df in (("IdleStations", runs), ("session_window", sessions)):
        q = (df.writeStream.outputMode("append")
             .foreachBatch(lambda out, batch, name=name: outputs[name].extend(out.collect()))
             .option("checkpointLocation", str(s.data_dir / "checkpoints" / f"runs_{name}"))
             .trigger(availableNow=True).start())
        q.awaitTermination()

plan = [("station 10 at 08:00, 08:20; station 11 at 08:05", [at(1, 10, "08:00"), at(2, 10, "08:20"),
                                                             at(3, 11, "08:05")]),
        ("station 10 at 08:40; station 11 at 09:10", [at(4, 10, "08:40"), at(5, 11, "09:10")]),
        ("station 11 at 10:00", [at(6, 11, "10:00")])]
for what, trips in plan:
    send(idle_topic, trips)
    run_both()
    print(f"after {what}: {len(outputs['IdleStations'])} runs emitted by IdleStations, "
          f"{len(outputs['session_window'])} sessions by session_window")

# %% tags=["shows:idle-runs"]
def as_table(rows):
    return (pd.DataFrame([r.asDict() for r in rows], columns=["station", "first_trip", "last_trip", "trips"])
            .assign(first_trip=lambda d: d["first_trip"].dt.strftime("%H:%M"),
                    last_trip=lambda d: d["last_trip"].dt.strftime("%H:%M"))
            .sort_values(["station", "first_trip"]).reset_index(drop=True))

idle_runs, session_runs = as_table(outputs["IdleStations"]), as_table(outputs["session_window"])
print("IdleStations:")
print(idle_runs.to_string(index=False))
print("session_window:", "the same rows" if idle_runs.equals(session_runs) else session_runs.to_string(index=False))

# %% [markdown]
# Station 11's first run (08:05) was emitted in round 2, and not by its timer: the batch with the 09:10 trip ran
# with the watermark of round 1 (08:20 − 10 minutes = 08:10), still before the timer at 08:35, so the processor
# saw the gap in the data itself and closed the run there. (A processor that only waited for timers would have
# merged 08:05 and 09:10 into one run.) Station 10's run 08:00–08:40 was emitted in round 3 by its timer (08:40 +
# 30 minutes = 09:10), once the 10:00 trip had moved the watermark to 09:50; station 11's 09:10 run closed in the
# same round, by the gap to 10:00. Every run was emitted once, although each round was a new start of the query:
# what a restart needs (the values and the timers) is in the checkpoint. The last run of station 11 (10:00) is
# still open:

# %% tags=["shows:tws-state"]
from etl_lib.state import state_metadata

tws_cp = s.data_dir / "checkpoints" / "runs_IdleStations"
print(state_metadata(spark, tws_cp)[["operatorId", "operatorName", "numPartitions"]].to_string(index=False))
held_runs = read_state(spark, tws_cp, state_var="run").select(
    F.col("key.start_station_id").alias("station"), F.date_format("value.first_trip", "HH:mm").alias("first"),
    F.date_format("value.last_trip", "HH:mm").alias("last"), "value.trips").toPandas()
held_runs

# %% [markdown]
# **Compared with `session_window`.** For this rule the two agree row for row, and `session_window` is one line.
# The processor is for what a window function cannot say: emit an alert *while* the station is idle (the timer
# could yield a row and keep the state), combine several kinds of state per key (a list of the last trips, a map
# of counts per destination), expire keys by TTL, or react to processing time. Its cost: your code runs in Python
# workers, row groups travel to them as Arrow batches, and it needs the RocksDB provider.
#
# **TTL counts processing time.** A value's time to live runs on the clock of the machine, not on event time, so
# Spark allows it only in a processor with `timeMode="ProcessingTime"`. The same processor with a 24-hour TTL on
# event time:

# %% tags=["shows:ttl-refused"]
ttl_runs = (station_trips.groupBy("start_station_id")
            .transformWithStateInPandas(IdleStations(idle_minutes, ttl_hours=24), RUN_SCHEMA, outputMode="Append",
                                        timeMode="EventTime"))
q = (ttl_runs.writeStream.outputMode("append").foreachBatch(lambda df, batch: df.count())
     .option("checkpointLocation", str(s.data_dir / "checkpoints" / "runs_ttl")).trigger(availableNow=True).start())
try:
    q.awaitTermination()
    print("accepted")
except Exception as err:  # the query fails in its first batch, when the processor declares its state
    reason = next(line for line in str(err).splitlines() if "TTL" in line)
    print("refused:", reason.split("value state: ")[-1].split(" SQLSTATE")[0])

# %% [markdown]
# **Testing a processor without a query.** pyspark 4.2's `TwsTester` calls a processor's methods in plain Python:
# you hand it one key's rows, set the watermark yourself (which fires the timers it reaches) and peek at the state.
# No JVM and no checkpoint, so a check takes milliseconds where the query above takes seconds. It forms no
# micro-batches: the watermark is the one you set, and it drops rows at or behind it before the processor sees
# them (in a query, Spark decides which rows are late from the micro-batches' watermarks, lesson 15); it applies
# no TTL.
# `tests/unit/test_idle_stations_tws.py` tests `IdleStations` this way; one of its checks:

# %% tags=["shows:tws-tester"]
import time

from pyspark.sql.streaming.tws_tester import TwsTester

def ms(hhmm):
    return int(pd.Timestamp(f"2018-04-02 {hhmm}").value // 1_000_000)

started = time.perf_counter()
tester = TwsTester(IdleStations(30), timeMode="EventTime",
                   eventTimeExtractor=lambda row: int(pd.Timestamp(row["event_time"]).value // 1_000_000))
trips = pd.DataFrame({"start_station_id": [7, 7], "event_time": pd.to_datetime(["2018-04-02 08:00",
                                                                                "2018-04-02 08:10"])})
emitted = tester.testInPandas(7, trips)
first, last, count = tester.peekValueState("run", 7)
print(f"trips at 08:00 and 08:10: {len(emitted)} rows emitted; state ({first:%H:%M}, {last:%H:%M}, {count})")
print("watermark 08:39:", len(tester.setWatermark(ms("08:39"))), "rows emitted (the timer is at 08:40)")
fired = tester.setWatermark(ms("08:40"))
print("watermark 08:40:", [(r.station, f"{r.first_trip:%H:%M}", f"{r.last_trip:%H:%M}", r.trips)
                           for r in fired.itertuples()], "| state:", tester.peekValueState("run", 7))
print("all of it in under a second, with no query:", time.perf_counter() - started < 1.0)

# %% [markdown]
# ## Real-time mode
#
# Micro-batches have a floor on latency: a record waits for the next trigger, then for the batch's planning, its
# tasks and its commit. Seed 003 calls Spark "micro-batch, not true real-time"; that is no longer the whole truth.
# Real-time mode came in release 4.1 for Scala and Java (`Trigger.RealTime`); Python got
# `trigger(realTime="5 minutes")` in 4.2. It runs a query in **real-time mode**: each "batch" is a long-running
# set of tasks that read, process and write records *as they arrive*, and the batch duration is only how often
# Spark checkpoints. In 4.2 it is for stateless queries (filter, parse, route, a join with a broadcast static
# table) that read Kafka and write to Kafka, `foreach`, the console or memory, in update mode, and it needs a task
# slot for every source partition at once.
#
# The race: the kit's parsing routes valid bike trips to one topic and malformed ones to a quarantine topic; one
# query on real-time mode, the same query on a 1-second processing-time trigger. A producer sends
# `race_records` records (every tenth malformed) at `records_per_second` to each; latency is the output record's
# Kafka timestamp minus the input record's. Both read with no cap per batch (`max_offsets_per_trigger=0`; the kit
# otherwise caps a micro-batch at `KAFKA_MAX_OFFSETS_PER_TRIGGER` records): real-time mode refuses the cap, as the
# refusals below show.

# %%
import time

from etl_lib.state import latencies_ms, percentiles, route_records, send_paced

def race(trigger):
    name = next(iter(trigger))
    src, valid, bad = (f"14.race.{name}.{t}" for t in ("in", "valid", "quarantine"))
    reset_topics(s, [src, valid, bad], 1)
    q = (route_records(read_kafka_stream(spark, src, s, max_offsets_per_trigger=0), "bike", valid, bad)
         .writeStream.format("kafka")
         .options(**spark_kafka_options(s)).option("kafka.bootstrap.servers", s.kafka_bootstrap_servers)
         .option("checkpointLocation", str(s.data_dir / "checkpoints" / f"race_{name}")).outputMode("update")
         .trigger(**trigger).start())
    time.sleep(5)  # let the query's tasks start before the first record, so no record waits for the start itself
    records = [bike_trip(n, "2018-04-02 08:00:00") if n % 10 else {"trip_id": f"b{n}"} for n in range(race_records)]
    send_paced(s.kafka_bootstrap_servers, src, records, records_per_second, s).join()
    time.sleep(3)
    q.stop()
    return latencies_ms(spark, valid, s), latencies_ms(spark, bad, s)

print("each run: about", round(race_records / records_per_second + 8), "seconds")

# %% tags=["nbval-ignore-output", "shows:latency-race"]
# runs once: sends the race's records through two queries
race_result = {"real-time": race({"realTime": "5 seconds"}), "processing time 1 s": race({"processingTime": "1 second"})}
latency = pd.DataFrame({name: {**percentiles(pd.concat(parts)), "records": sum(len(p) for p in parts)}
                        for name, parts in race_result.items()}).T
latency

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
for name, parts in race_result.items():
    ms = pd.concat(parts).sort_values().reset_index(drop=True)
    ax.plot(ms.values, (ms.index + 1) / len(ms), label=name)
ax.set(xscale="log", xlabel="end-to-end latency (ms, log scale)", ylabel="share of records",
       title="latency of each record: real-time mode against micro-batches")
ax.legend()
plt.show()

# %% tags=["shows:realtime-latency"]
routed = {name: (len(valid), len(bad)) for name, (valid, bad) in race_result.items()}
print("every record routed once, valid / quarantined:", routed,
      "| expected:", (race_records - race_records // 10, race_records // 10))
print("real-time mode's median latency is below a quarter of the micro-batch query's:",
      latency.loc["real-time", "p50"] * 4 < latency.loc["processing time 1 s", "p50"])

# %% [markdown]
# A micro-batch record waits on average half a trigger interval before its batch starts, plus the batch's own
# duration: hundreds of milliseconds at best. In real-time mode the tasks are already running and a record is
# written moments after it arrives: milliseconds. The price: the tasks hold their cores for the whole batch
# duration (a query with 8 Kafka partitions needs 8 free task slots, all the time), and only stateless
# operations are allowed in release 4.2: no aggregation and no stream–stream join (a stream–static join passes
# if the static side is broadcast). What it refuses, in Spark's own words:

# %% tags=["shows:realtime-refusals"]
from pyspark.errors import PySparkException

import re

def refusal(make):
    """Start a real-time query and return Spark's reason for refusing it (class names shortened), or "accepted"."""
    try:
        q = make().trigger(realTime="5 seconds").start()
        deadline = time.monotonic() + 15  # a refusal can come from the first batch, a moment after start()
        while (err := q.exception()) is None and q.isActive and time.monotonic() < deadline:
            time.sleep(0.5)
        q.stop()
        if err is None:
            return "accepted"
    except PySparkException as refused:
        err = refused
    said = str(err).split(" SQLSTATE")[0].split("=== Streaming Query ===")[0].strip()  # not the query's ids
    return re.sub(r"org\.apache\.spark\.[\w.$]+\.(\w+)", r"\1", said)

raw = read_kafka_stream(spark, "14.race.realTime.in", s, max_offsets_per_trigger=0)
capped = read_kafka_stream(spark, "14.race.realTime.in", s)  # with the kit's cap per batch
tries = {
    "a cap per batch (maxOffsetsPerTrigger)": lambda: capped.writeStream.format("console")
    .outputMode("update").option("checkpointLocation", str(s.data_dir / "checkpoints" / "rt_cap")),
    "a count per key (an aggregation)": lambda: raw.groupBy("partition").count().writeStream.format("console")
    .outputMode("update").option("checkpointLocation", str(s.data_dir / "checkpoints" / "rt_agg")),
    "the Parquet file sink": lambda: raw.writeStream.format("parquet").option("path", str(s.data_dir / "rt_files"))
    .option("checkpointLocation", str(s.data_dir / "checkpoints" / "rt_files")),
}
for what, make in tries.items():
    print(f"{what}:\n    {refusal(make)}")

# %% [markdown]
# ## The Kafka sink is at-least-once
#
# A micro-batch's end is two steps: the sink writes the batch's output, *then* Spark writes `commits/<batch>`. A
# crash between the two leaves a batch that is written but not committed; the restarted query runs it again with
# the same offsets (notebook 07). The file sink recognises the batch id in its own log and skips it: exactly once.
# The **Kafka sink cannot**: Kafka has no record of which Spark batch wrote which records, so the batch is written
# twice. `forget_last_commit` puts a checkpoint in exactly that state (it deletes the newest commit entry, as a
# crash just before writing it would have left it):

# %%
# runs once: sends 50 trips, runs two sinks, forgets and replays a batch
from etl_lib.state import forget_last_commit, write_batch_once

sink_src, sink_out = "14.sink.in", "14.sink.out"
reset_topics(s, [sink_src, sink_out], 1)
to_kafka = (route_records(read_kafka_stream(spark, sink_src, s), "bike", sink_out, sink_out)
            .writeStream.format("kafka").options(**spark_kafka_options(s))
            .option("kafka.bootstrap.servers", s.kafka_bootstrap_servers)
            .option("checkpointLocation", str(s.data_dir / "checkpoints" / "sink_kafka")))
to_files = (parse_bike_stream(read_kafka_stream(spark, sink_src, s)).select("trip_id", "start_time")
            .writeStream.foreachBatch(write_batch_once(s.data_dir / "idempotent"))
            .option("checkpointLocation", str(s.data_dir / "checkpoints" / "sink_idempotent")))

def run_sinks():
    for writer in (to_kafka, to_files):
        writer.trigger(availableNow=True).start().awaitTermination()

send(sink_src, [bike_trip(n, "2018-04-02 08:00:00") for n in range(30)], keys=[f"b{n}" for n in range(30)])
run_sinks()
send(sink_src, [bike_trip(n, "2018-04-02 09:00:00") for n in range(30, 50)], keys=[f"b{n}" for n in range(30, 50)])
run_sinks()
print("batches forgotten:", [forget_last_commit(s.data_dir / "checkpoints" / c) for c in ("sink_kafka",
                                                                                          "sink_idempotent")])
run_sinks()

# %% tags=["shows:kafka-sink-twice"]
from etl_lib.spark import read_kafka_batch

out = read_kafka_batch(spark, sink_out, s)
files = spark.read.parquet(str(s.data_dir / "idempotent"))
print(f"50 trips sent. Kafka sink: {out.count()} records written, {out.select('key').distinct().count()} "
      f"distinct keys, so {out.count() - out.select('key').distinct().count()} written twice")
print(f"a reader that keeps one record per key gets {out.dropDuplicates(['key']).count()}")
print(f"foreachBatch writing each batch id once: {files.count()} rows in "
      f"{files.select('batch_id').distinct().count()} batch folders")

# %% [markdown]
# The replayed batch was the second one (20 trips): the Kafka topic got them twice. Two ways to live with an
# at-least-once sink: **deduplicate downstream** by a key the records carry (the trip id here: a consumer that
# keeps one record per key), or write with **`foreachBatch` keyed by the batch id**:
# the batch id is stable across restarts, so writing batch 1 again (the `overwrite` of its own folder, or a
# `MERGE` keyed by id into a table) replaces its first copy instead of adding to it. Kafka's transactional
# producer can make writes exactly-once, but Spark's Kafka sink does not use it. A compacted topic does not
# deduplicate for you: the broker compacts later, in the background, never touches the active segment and
# promises only to keep *at least* the last record per key, so a reader can still see both copies.

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. An `IdleStations` processor with a 30-minute gap has seen station 7's trips at 08:00 and 08:10; the watermark delay is 10 minutes. The next batch brings only a trip at 09:00 for station 7. What does the processor emit in that batch, and in the next?**
#
# <details><summary>Answer</summary>
#
# In that batch the watermark is still 08:00 (the newest event time so far, 08:10, minus 10 minutes), so the timer at 08:40 has not fired. The 09:00 trip arrives 50 minutes after the last one, so `handleInputRows` sees the gap and emits the run 08:00–08:10 (2 trips), then starts a new run at 09:00 with a timer at 09:30. In the next batch the watermark is 08:50: no timer fires, nothing is emitted.
#
# </details>
#
# **2. Why is the Kafka sink at-least-once although the Kafka source and the checkpoint are exactly-once, and what does a reader do about it?**
#
# <details><summary>Answer</summary>
#
# The sink writes a batch before Spark commits it. If the query dies between the write and the commit, the restart replays the batch with the same offsets and the Kafka sink, which keeps no log of batch ids, writes its records again. A reader deduplicates by a key in the record (a trip id), or the writer uses `foreachBatch` keyed by the batch id (overwrite or merge), which replaces the first copy.
#
# </details>
#
# **3. Real-time mode gave milliseconds where the 1-second trigger gave hundreds of milliseconds. Why not run every query in real-time mode?**
#
# <details><summary>Answer</summary>
#
# It runs only stateless queries in release 4.2 (no aggregations, windows or stream–stream joins; a stream–static join only with a broadcast static side), writes only to the Kafka, `foreach`, console and memory sinks (not files), and its tasks occupy a core per source partition for the whole batch duration, whether records come or not. A query whose output is a file table or a windowed aggregate, or one that runs on a few cores shared with other work, is better off with micro-batches.
#
# </details>
#
#

# %%
assert idle_runs.equals(session_runs) and len(idle_runs) == 3, (
    f"expected IdleStations and session_window to find the same 3 runs, found {len(idle_runs)} and "
    f"{len(session_runs)} (the same rows: {idle_runs.equals(session_runs)}): "
    + START_OVER)
assert out.dropDuplicates(["key"]).count() == 50 and files.count() == 50 and out.count() == 70, (
    "expected 50 distinct keys and 70 records in Kafka and 50 rows in files, found "
    f"{out.dropDuplicates(['key']).count()}, {out.count()} and {files.count()}: "
    + START_OVER)
print("IdleStations and session_window found the same 3 runs; the Kafka sink wrote the replayed batch twice and "
      "the batch-id writer once: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - `transformWithState` / `transformWithStateInPandas`: value/list/map state, event-time timers; TTL only with processing time (→ *TTL counts processing time.*) [14#idle-runs] [14#ttl-refused] [doc: Spark 4.2 · Structured Streaming Programming Guide · TransformWithState · Types of state variables]
# - With `timeMode="EventTime"` a timer fires when the watermark passes its time; a restart finds the values and timers in the checkpoint (→ *Arbitrary state: `transformWithStateInPandas`*) [14#idle-rounds] [14#idle-runs] [14#tws-state] [doc: Spark 4.2 · Structured Streaming Programming Guide · TransformWithState · Handling expired timers]
# - `TwsTester` unit-tests a processor in plain Python, the watermark set by hand and the state peeked at: milliseconds, no query (→ *Testing a processor without a query.*) [14#tws-tester]
# - Real-time mode: milliseconds for stateless Kafka-to-Kafka queries; aggregations, stream–stream joins and file sinks refused (→ *Real-time mode*) [14#latency-race] [14#realtime-latency] [14#realtime-refusals] [doc: Spark 4.2 · spark-sql RealTimeModeAllowlist · allowed operators and sinks]
# - Real-time mode refuses a cap per batch (`maxOffsetsPerTrigger`): read its source with no cap (→ *Real-time mode*) [14#realtime-refusals]
# - The Kafka sink is at-least-once; dedupe by key or write `foreachBatch` keyed by the batch id (→ *The Kafka sink is at-least-once*) [14#kafka-sink-twice] [doc: Spark 4.2 · Structured Streaming Programming Guide · Output Sinks] [doc: Spark 4.2 · Structured Streaming Programming Guide · Using Foreach and ForeachBatch]

# %% [markdown]
# **Further reading**
#
# - docs/state.md (transformWithState, real-time mode, sink semantics)
# - Spark's Structured Streaming guide: "transformWithState", "Real-time mode"

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 13_inside_the_state](13_inside_the_state.ipynb) | [contents](README.md) | [15_predict_the_batch →](15_predict_the_batch.ipynb)
