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
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 14 · Inside the state: the state store read back, RocksDB, transformWithState, real-time mode
#
# **You will learn to**
#
# - read the state a query keeps (windows, both sides of a join, deduplication ids) with the state data source,
#   batch by batch and as a change feed, and match it to the progress records
# - choose between the default state store and RocksDB, from measurements
# - write arbitrary state with `transformWithStateInPandas` (or the Row-based `transformWithState`): a value with a
#   time to live and an event-time timer
# - run a stateless Kafka-to-Kafka query in real-time mode and measure its latency against micro-batches
# - say why the Kafka sink is at-least-once, and make a `foreachBatch` write idempotent with its batch id
#
# **Prerequisites:** notebooks 06 (windows and watermarks), 07 (checkpoints) and 11 (joins and deduplication)\
# **Time:** about 40 minutes

# %%
from etl_lib.lab import setup, spark_session

lesson = setup("14")
s = lesson.settings
spark = spark_session(s)

# %% tags=["parameters"]
watermark_delay: str = "10 minutes"
idle_minutes: int = 30  # a station with no trip for this long has gone idle
scale: float = 1.0  # of the simulated day used to compare the two state stores
records_per_second: float = 40.0  # pace of the producer in the latency race
race_records: int = 240  # records sent to each of the two triggers

# %% [markdown]
# ## Where the state lives
#
# Every stateful operator (an aggregation, a join, a deduplication, a `transformWithState` processor) keeps its
# rows in a **state store**: one per operator and per shuffle partition. After each micro-batch the store's
# changes are saved in the checkpoint, next to the offsets and commits of notebook 07:
#
# ```
# checkpoint/
#   offsets/<batch>      what the batch reads (written before it runs)
#   commits/<batch>      the batch is done (written after the sink has its output)
#   state/<operator>/<partition>/
#       <version>.delta      default provider: the keys this batch changed
#       <version>.snapshot   default provider: every key, every few batches
#       <version>.changelog  RocksDB with changelog checkpointing: the keys this batch changed
#       <version>.zip        RocksDB: a snapshot of the database (its files listed, shared SST files beside)
# ```
#
# Spark 4 reads this back as a table: `spark.read.format("statestore")` gives the key/value rows one operator held
# after a batch, and `format("state-metadata")` lists the operators. Below, the windowed count of notebook 06
# runs over three rounds of trips, and its state is read after each.

# %%
from functools import partial

import pandas as pd
from pyspark.sql import functions as F

from etl_lib.lab import bike_trip, send_json
from etl_lib.parsing import parse_bike_stream
from etl_lib.spark import read_kafka_stream
from etl_lib.state import read_state, state_operators

send = partial(send_json, s.kafka_bootstrap_servers, settings=s)
counts_cp = str(s.data_dir / "checkpoints" / "window_counts")
counts = (parse_bike_stream(read_kafka_stream(spark, s.kafka_topic_bike, s))
          .withWatermark("event_time", watermark_delay)
          .groupBy(F.window("event_time", "15 minutes")).agg(F.count("*").alias("trips")))

def run_round(trips):
    """Send the trips, run the windowed count on them (available-now), return its state per batch."""
    send(s.kafka_topic_bike, trips)
    q = (counts.writeStream.outputMode("append").foreachBatch(lambda df, batch: df.count())
         .option("checkpointLocation", counts_cp).trigger(availableNow=True).start())
    q.awaitTermination()
    return state_operators(q)

print("windowed count ready; state store provider:", spark.conf.get("spark.sql.streaming.stateStore.providerClass")
      .rsplit(".", 1)[-1])

# %% [markdown]
# The `foreachBatch` function counts each batch's rows: a stateful query's state stores commit only when the
# batch's data is consumed whole, and Spark 4.2 fails a batch whose function skipped it (`show()`, `limit()`, an
# early return) with `STATE_STORE_COMMIT_VALIDATION_FAILED`.

# %%
def windows_held(batch):
    rows = read_state(spark, counts_cp, batch_id=batch).select(
        F.date_format("key.window.start", "HH:mm").alias("w"), F.col("value.count").alias("trips")).collect()
    return ", ".join(sorted(f"{r['w']} x{r['trips']}" for r in rows)) or "-"

rounds = [("08:01, 08:16", [bike_trip(1, "2018-04-02 08:01:00"), bike_trip(2, "2018-04-02 08:16:00")]),
          ("08:17, 08:31", [bike_trip(3, "2018-04-02 08:17:00"), bike_trip(4, "2018-04-02 08:31:00")]),
          ("08:47", [bike_trip(5, "2018-04-02 08:47:00")])]
held = []
for name, trips in rounds:
    for _, op in run_round(trips).iterrows():
        held.append({"round": name, "batch": op["batch"], "windows held (state reader)": windows_held(op["batch"]),
                     "read": read_state(spark, counts_cp, batch_id=op["batch"]).count(),
                     "numRowsTotal": op["rows"], "numRowsRemoved": op["removed"]})
held = pd.DataFrame(held)
assert (held["read"] == held["numRowsTotal"]).all(), "the reader and the progress records disagree"
held

# %% [markdown]
# Each round is one batch with the new trips and a no-data batch that applies the new watermark (notebook 06).
# The reader and the progress records agree on every batch: `numRowsTotal` *is* the number of keys in the store.
# The 08:00 window stays in state until the watermark (08:21 after round 2) passes its end, 08:15; then the
# append-mode batch emits it and removes it (`numRowsRemoved` 1). The **change feed** shows the same history as
# events: an `update` for every key a batch wrote (a new window is an `update` too: the feed has no separate
# insert), and a `delete` when a window was evicted.

# %%
feed = (read_state(spark, counts_cp, changes_from=0)
        .select("batch_id", "change_type", F.date_format("key.window.start", "HH:mm").alias("window"),
                F.col("value.count").alias("trips"))
        .orderBy("batch_id", "window").toPandas())
feed

# %% [markdown]
# ## The state of a join and of a deduplication
#
# A stream–stream join keeps each side's rows until the watermark says no partner can still come (notebook 11);
# the reader shows each side with `joinSide`. Two accidents and three weather readings, joined on the city with
# the weather of the 10 minutes before each accident:

# %%
def weather(ts):
    return {"timestamp": ts, "temperature": 8.0, "precip_intensity": 0.0}

def accident(n, ts):
    return {"id": f"a{n}", "dispatch_ts": ts, "mode_type": "bike", "location_type": "Intersection",
            "street": "Blue Hill Ave", "latitude": 42.35, "longitude": -71.1}

send(s.kafka_topic_weather, [weather(f"2018-04-02 08:{m:02d}:00") for m in (0, 10, 40)])
send(s.kafka_topic_accidents, [accident(1, "2018-04-02 08:05:00"), accident(2, "2018-04-02 08:45:00")])
from etl_lib.parsing import parse_accident_stream, parse_weather_stream

acc = (parse_accident_stream(read_kafka_stream(spark, s.kafka_topic_accidents, s))
       .select("id", F.lit("boston").alias("a_city"), F.col("event_time").alias("a_time"))
       .withWatermark("a_time", watermark_delay))
wx = (parse_weather_stream(read_kafka_stream(spark, s.kafka_topic_weather, s))
      .select(F.lit("boston").alias("w_city"), F.col("event_time").alias("w_time"))
      .withWatermark("w_time", watermark_delay))
joined = acc.join(wx, F.expr("a_city = w_city AND w_time BETWEEN a_time - INTERVAL 10 MINUTES AND a_time"))
join_cp = str(s.data_dir / "checkpoints" / "join")
q = (joined.writeStream.outputMode("append").foreachBatch(lambda df, batch: df.count())
     .option("checkpointLocation", join_cp).trigger(availableNow=True).start())
q.awaitTermination()
join_ops = state_operators(q)
join_ops[["batch", "operator", "rows", "removed"]]

# %%
sides = {side: read_state(spark, join_cp, join_side=side) for side in ("left", "right")}
for side, df in sides.items():
    times = sorted(r[0].strftime("%H:%M") for r in df.select("value.*").select(
        "a_time" if side == "left" else "w_time").collect())
    print(f"{side} side ({'accidents' if side == 'left' else 'weather'}): {len(times)} rows held, at {times}")
join_total = join_ops["rows"].iloc[-1]
assert sum(df.count() for df in sides.values()) == join_total
print("left + right rows =", join_total, "= numRowsTotal of the join's last batch")

# %% [markdown]
# The query's watermark is the smaller of the two sides' (after this run 08:30: the weather's newest reading,
# 08:40, minus 10 minutes; the accidents' would be 08:35): the 08:00 and 08:10 readings have been
# dropped (no accident still to come can want them), and so has the 08:05 accident. What is left can still meet a
# partner: the 08:45 accident a reading stamped up to 08:45, the 08:40 reading an accident up to 08:50. (Spark
# keeps each side in two stores, key to count and key-and-index to row; the reader joins them back into rows.)
#
# The deduplication of notebook 11 keeps one row per id until the watermark passes its event time plus the
# delay. Four trips, one of them twice, then a trip 40 minutes later that moves the watermark on:

# %%
dedup_cp = str(s.data_dir / "checkpoints" / "dedup")
dedup_topic = "14.dedup.bike-trips"
from etl_lib.lab import reset_topics

reset_topics(s.kafka_bootstrap_servers, [dedup_topic], 1, settings=s)
deduplicated = (parse_bike_stream(read_kafka_stream(spark, dedup_topic, s))
                .withWatermark("event_time", watermark_delay).dropDuplicatesWithinWatermark(["trip_id"]))
ids_held = []
for what, trips in [("b1, b2, b3, b1 again at 08:00-08:03", [bike_trip(n, f"2018-04-02 08:0{n}:00")
                                                            for n in (1, 2, 3, 1)]),
                    ("b9 at 08:45", [bike_trip(9, "2018-04-02 08:45:00")])]:
    send(dedup_topic, trips)
    q = (deduplicated.writeStream.outputMode("append").foreachBatch(lambda df, batch: df.count())
         .option("checkpointLocation", dedup_cp).trigger(availableNow=True).start())
    q.awaitTermination()
    ids = sorted(r["key"]["trip_id"] for r in read_state(spark, dedup_cp).collect())
    ids_held.append({"sent": what, "ids in state": ", ".join(ids), "numRowsTotal": state_operators(q)["rows"].iloc[-1]})
pd.DataFrame(ids_held)

# %% [markdown]
# After the first round the state holds b1, b2 and b3 (the second b1 was dropped as a copy). After b9 at 08:45
# the watermark is 08:35, past 08:03 + 10 minutes: the three ids are evicted and only b9 is left. State that the
# watermark does not bound would hold every id of the stream.

# %% [markdown]
# ## Two state stores: the default and RocksDB
#
# Spark's **default provider** (`HDFSBackedStateStoreProvider`) keeps each partition's state as a hash map on the
# JVM heap of the executor and writes a `.delta` file of the changed keys per batch (and now and then a full
# `.snapshot`). It is fast while the state is small, but every key lives on the heap: millions of keys mean long
# garbage-collection pauses, and an executor can run out of memory.
#
# The **RocksDB provider** keeps the state in an embedded RocksDB database on the executor's local disk, with
# only a cache in memory (off the JVM heap). With **changelog checkpointing** each batch uploads only the changed
# keys (`.changelog`), and a snapshot of the database now and then. It is the provider for large state, and the
# one `transformWithState` requires.
#
# Below, the same windowed query (trips per station per 15 minutes, a window sliding every 5: plenty of state)
# runs over a simulated day with each provider and its own checkpoint.

# %%
from data_gen import GenParams, KafkaSink, generate
from etl_lib.state import checkpoint_footprint, driver_heap_mb, state_provider, use_state_store

day_topics = {t: f"14.day.{name}" for t, name in s.kafka_topics.items()}
reset_topics(s.kafka_bootstrap_servers, day_topics.values(), 3, settings=s)
key = generate(GenParams(days=1, scale=scale, seed=42), KafkaSink(s.kafka_bootstrap_servers, day_topics, settings=s),
               windows=(s.window_duration_medium, s.window_duration_long))
per_station = (parse_bike_stream(read_kafka_stream(spark, day_topics["bike"], s, max_offsets_per_trigger=400))
               .withWatermark("event_time", watermark_delay)
               .groupBy("start_station_id", F.window("event_time", "15 minutes", "5 minutes")).count())

def run_with(provider):
    use_state_store(spark, provider)
    cp = s.data_dir / "checkpoints" / f"provider_{provider}"
    q = (per_station.writeStream.outputMode("append").foreachBatch(lambda df, batch: df.count())
         .option("checkpointLocation", str(cp)).trigger(availableNow=True).start())
    q.awaitTermination()
    return cp, state_operators(q)

print(f"{key['counts']['bike']['produced']:,} bike trips in the topic")

# %% tags=["nbval-ignore-output"]
measured = {}
for provider in ("hdfs", "rocksdb"):
    cp, ops = run_with(provider)
    files, size = checkpoint_footprint(cp)
    measured[provider] = {"batches": len(ops), "state rows, most": ops["rows"].max(),
                          "state rows at the end": ops["rows"].iloc[-1], "state files": files,
                          "state bytes": size, "mean batch ms": round(ops["duration_ms"].mean()),
                          "state memory, most (bytes)": ops["memory_bytes"].max(),
                          "driver heap after the run (MB)": driver_heap_mb(spark)}
    measured[provider]["_ops"] = ops
comparison = pd.DataFrame({p: {k: f"{v:,}" for k, v in m.items() if k != "_ops"} for p, m in measured.items()})
comparison

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for provider, m in measured.items():
    ops = m["_ops"]
    axes[0].plot(ops["batch"], ops["rows"], label=provider)
    axes[1].plot(ops["batch"], ops["duration_ms"], label=provider)
axes[0].set(title="state rows after each batch", xlabel="batch")
axes[1].set(title="batch duration (ms)", xlabel="batch")
axes[0].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Read the table from your own run (its numbers are measured, so they differ from machine to machine): both
# providers hold exactly the same rows after every batch (the left plot is one line). The difference is where
# and how: the default keeps them on the JVM heap and writes one delta file per partition per batch; RocksDB
# holds them in native memory and on local disk and writes a changelog per partition per batch, plus its own
# snapshots. The memory each reports differs in kind: the default's is the size of its maps and grows with the
# keys; RocksDB's includes its block cache and write buffers, a few megabytes even for a small state, but outside
# the JVM heap. On a laptop and a few thousand keys the default is as fast or faster; RocksDB pays off when the
# state no longer fits comfortably on the heap (millions of keys), because it keeps the state off the heap, out
# of the garbage collector's way. Its native memory is not capped by default
# (`spark.sql.streaming.stateStore.rocksdb.boundedMemoryUsage` is `false`); turn that on, with `maxMemoryUsageMB`,
# to give all RocksDB instances of an executor one limit.

# %%
same_rows = (measured["hdfs"]["_ops"]["rows"].tolist() == measured["rocksdb"]["_ops"]["rows"].tolist())
print("both providers held the same number of state rows after every batch:", same_rows)
for provider in ("hdfs", "rocksdb"):
    cp = s.data_dir / "checkpoints" / f"provider_{provider}"
    kinds = sorted({p.suffix for p in (cp / "state").rglob("*.*") if p.suffix in (".delta", ".changelog",
                                                                                  ".snapshot", ".zip")})
    print(f"{provider}: the checkpoint records provider {state_provider(cp)!r}; its state files: {kinds}")

# %% [markdown]
# **Restarting a checkpoint with the other provider.** The provider is not a setting you can change under a
# running query: Spark records it in every batch's offset log (with the shuffle partitions and a few other
# settings that shape the state), and a restarted query takes it from there. So Spark does not complain: it
# quietly keeps the checkpoint's provider. Below, the session asks for the default provider and restarts the
# RocksDB checkpoint:

# %%
use_state_store(spark, "hdfs")
send_json(s.kafka_bootstrap_servers, day_topics["bike"], [bike_trip(1, "2018-04-03 06:00:00")], settings=s)
cp = s.data_dir / "checkpoints" / "provider_rocksdb"
q = (per_station.writeStream.outputMode("append").foreachBatch(lambda df, batch: df.count())
     .option("checkpointLocation", str(cp)).trigger(availableNow=True).start())
q.awaitTermination()
metrics = q.lastProgress["stateOperators"][0]["customMetrics"]
print("the session asks for:", spark.conf.get("spark.sql.streaming.stateStore.providerClass").rsplit(".", 1)[-1])
print("the restarted query reports RocksDB metrics:", any(name.startswith("rocksdb") for name in metrics),
      "| the checkpoint still records:", state_provider(cp))

# %% [markdown]
# To move a query to another provider, start it with a new checkpoint (and, if its state must survive, rebuild
# the state from the source, or read the old state with the state reader and feed it to the new query as initial
# state, as `transformWithState` allows).

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
reset_topics(s.kafka_bootstrap_servers, [idle_topic], 1, settings=s)
station_trips = (parse_bike_stream(read_kafka_stream(spark, idle_topic, s))
                 .select("start_station_id", "event_time").withWatermark("event_time", watermark_delay))
runs = (station_trips.groupBy("start_station_id")
        .transformWithStateInPandas(IdleStations(idle_minutes), RUN_SCHEMA, outputMode="Append",
                                    timeMode="EventTime"))
sessions = sessions_as_runs(station_trips, idle_minutes)

def at(n, station, hhmm):
    return {**bike_trip(n, f"2018-04-02 {hhmm}:00"), "start_station_id": station}

print("two queries over the same trips: IdleStations and session_window, gap", idle_minutes, "minutes")

# %%
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

# %%
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

# %%
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

# %%
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
# Kafka timestamp minus the input record's.

# %%
import time

from etl_lib.state import latencies_ms, percentiles, route_records, send_paced

def race(trigger):
    name = next(iter(trigger))
    src, valid, bad = (f"14.race.{name}.{t}" for t in ("in", "valid", "quarantine"))
    reset_topics(s.kafka_bootstrap_servers, [src, valid, bad], 1, settings=s)
    q = (route_records(read_kafka_stream(spark, src, s), "bike", valid, bad).writeStream.format("kafka")
         .options(**s.spark_kafka_options()).option("kafka.bootstrap.servers", s.kafka_bootstrap_servers)
         .option("checkpointLocation", str(s.data_dir / "checkpoints" / f"race_{name}")).outputMode("update")
         .trigger(**trigger).start())
    time.sleep(5)  # let the query's tasks start before the first record, so no record waits for the start itself
    records = [bike_trip(n, "2018-04-02 08:00:00") if n % 10 else {"trip_id": f"b{n}"} for n in range(race_records)]
    send_paced(s.kafka_bootstrap_servers, src, records, records_per_second, s).join()
    time.sleep(3)
    q.stop()
    return latencies_ms(spark, valid, s), latencies_ms(spark, bad, s)

print("each run: about", round(race_records / records_per_second + 8), "seconds")

# %% tags=["nbval-ignore-output"]
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

# %%
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

# %%
from pyspark.errors import PySparkException

import re

def refusal(make):
    """Start a real-time query and return Spark's reason for refusing it (class names shortened), or "accepted"."""
    try:
        q = make().trigger(realTime="5 seconds").start()
        time.sleep(3)
        err = q.exception()
        q.stop()
        if err is None:
            return "accepted"
    except PySparkException as refused:
        err = refused
    return re.sub(r"org\.apache\.spark\.[\w.$]+\.(\w+)", r"\1", str(err).split(" SQLSTATE")[0])

raw = read_kafka_stream(spark, "14.race.realTime.in", s)
tries = {
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
from etl_lib.state import forget_last_commit, write_batch_once

sink_src, sink_out = "14.sink.in", "14.sink.out"
reset_topics(s.kafka_bootstrap_servers, [sink_src, sink_out], 1, settings=s)
to_kafka = (route_records(read_kafka_stream(spark, sink_src, s), "bike", sink_out, sink_out)
            .writeStream.format("kafka").options(**s.spark_kafka_options())
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

# %%
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
# **1. A windowed count with a 10-minute watermark has windows 08:00, 08:15 and 08:30 in state. The next batch's watermark is 08:32. In append mode, how many rows will `read_state(..., batch_id=that batch)` show, and what does the change feed show for that batch?**
#
# <details><summary>Answer</summary>
#
# The windows whose end is at or before the watermark are final: 08:00–08:15 and 08:15–08:30. Append mode emits them and removes them from the state, so the reader shows one row (08:30), the same as that batch's `numRowsTotal`, and the change feed shows two `delete` rows for that batch (plus an `update` for any window the batch's data changed).
#
# </details>
#
# **2. Why does a `foreachBatch` function that only calls `df.show()` fail on a stateful query in Spark 4.2, and what should it do instead?**
#
# <details><summary>Answer</summary>
#
# `show()` reads only the first rows, so some partitions of the stateful operator never run and their state stores never commit. Spark 4.2 checks that every store of the batch committed and fails the batch with `STATE_STORE_COMMIT_VALIDATION_FAILED` (before, the next batch failed on a missing state file). The function must consume the whole DataFrame: write it, or `collect()`/`count()` it.
#
# </details>
#
# **3. When would you switch a query from the default state store to RocksDB, and how do you switch an existing query?**
#
# <details><summary>Answer</summary>
#
# When the state is large (millions of keys: long windows, many keys, a long deduplication delay) and the JVM heap and its garbage collection become the limit, or when the query uses `transformWithState`, which requires RocksDB. An existing query cannot switch: its checkpoint records the provider and a restart keeps it; start the query with a new checkpoint and rebuild the state.
#
# </details>
#
# **4. An `IdleStations` processor with a 30-minute gap has seen station 7's trips at 08:00 and 08:10; the watermark delay is 10 minutes. The next batch brings only a trip at 09:00 for station 7. What does the processor emit in that batch, and in the next?**
#
# <details><summary>Answer</summary>
#
# In that batch the watermark is still 08:00 (the newest event time so far, 08:10, minus 10 minutes), so the timer at 08:40 has not fired. The 09:00 trip arrives 50 minutes after the last one, so `handleInputRows` sees the gap and emits the run 08:00–08:10 (2 trips), then starts a new run at 09:00 with a timer at 09:30. In the next batch the watermark is 08:50: no timer fires, nothing is emitted.
#
# </details>
#
# **5. Why is the Kafka sink at-least-once although the Kafka source and the checkpoint are exactly-once, and what does a reader do about it?**
#
# <details><summary>Answer</summary>
#
# The sink writes a batch before Spark commits it. If the query dies between the write and the commit, the restart replays the batch with the same offsets and the Kafka sink, which keeps no log of batch ids, writes its records again. A reader deduplicates by a key in the record (a trip id), or the writer uses `foreachBatch` keyed by the batch id (overwrite or merge), which replaces the first copy.
#
# </details>
#
# **6. Real-time mode gave milliseconds where the 1-second trigger gave hundreds of milliseconds. Why not run every query in real-time mode?**
#
# <details><summary>Answer</summary>
#
# It runs only stateless queries in release 4.2 (no aggregations, windows or stream–stream joins; a stream–static join only with a broadcast static side), writes only to the Kafka, `foreach`, console and memory sinks (not files), and its tasks occupy a core per source partition for the whole batch duration, whether records come or not. A query whose output is a file table or a windowed aggregate, or one that runs on a few cores shared with other work, is better off with micro-batches.
#
# </details>
#

# %%
assert held["numRowsTotal"].tolist() == held["read"].tolist()
assert idle_runs.equals(session_runs) and len(idle_runs) == 3
assert out.dropDuplicates(["key"]).count() == 50 and files.count() == 50 and out.count() == 70
print("The state reader matched every progress record; IdleStations and session_window found the same 3 runs; "
      "the Kafka sink wrote the replayed batch twice and the batch-id writer once: True")

# %% [markdown]
# ## Summary
#
# Every stateful operator keeps a state store per partition, saved in the checkpoint each batch; the state data
# source reads it back (per batch, per join side, per state variable, or as a change feed), and its row count is
# the progress record's `numRowsTotal`. The default provider keeps state on the JVM heap; RocksDB keeps it off
# the heap with changelog checkpointing, and a checkpoint keeps the provider it started with.
# `transformWithState` and `transformWithStateInPandas` give you value, list and map state with TTL and timers
# for rules no window can state. Real-time mode brings stateless Kafka-to-Kafka queries down to milliseconds. The Kafka sink is
# at-least-once: deduplicate by key downstream, or write with `foreachBatch` keyed by the batch id.
#
# **Further reading**
#
# - docs/state.md (state stores, providers, the state reader, transformWithState, real-time mode, sink semantics)
# - Spark's Structured Streaming guide: "State Data Source", "RocksDB state store implementation",
#   "transformWithState", "Real-time mode"

# %% [markdown] tags=["remember"]
# ## Remember
#
# - Each stateful operator keeps a state store per shuffle partition, saved in the checkpoint (→ *Where the state lives*)
# - `format("statestore")` reads the state back; its row count is the progress record's `numRowsTotal` (→ *Where the state lives*)
# - The default provider keeps state on the JVM heap; RocksDB off the heap, with changelog checkpointing (→ *Two state stores: the default and RocksDB*)
# - A restarted checkpoint keeps its provider, silently (→ *Restarting a checkpoint with the other provider.*)
# - `transformWithState` / `transformWithStateInPandas`: value/list/map state, event-time timers; TTL only with processing time (→ *TTL counts processing time.*)
# - Real-time mode: milliseconds for stateless Kafka-to-Kafka queries; aggregations, stream–stream joins and file sinks refused (→ *Real-time mode*)
# - The Kafka sink is at-least-once; dedupe by key or write `foreachBatch` keyed by the batch id (→ *The Kafka sink is at-least-once*)

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 12_scale_out](12_scale_out.ipynb) | [contents](README.md) | [15_exam_review →](15_exam_review.ipynb)
