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
# # 13 · Inside the state: the state store read back, and its two providers
#
# **You will learn to**
#
# - read the state a query keeps (windows, both sides of a join, deduplication ids) with the state data source,
#   batch by batch and as a change feed, and match it to the progress records
# - tell where each stateful operator keeps its state in the checkpoint
# - choose between the default state store and RocksDB, from measurements, and know why a checkpoint keeps its
#   provider
#
# **Prerequisites:** notebooks 06 (windows and watermarks), 07 (checkpoints) and 11 (joins and deduplication)\
# **Time:** about 25 minutes

# %%
from etl_lib.lab import START_OVER, setup, spark_session

lesson = setup("13")
s = lesson.settings
spark = spark_session(s)

# %% tags=["parameters"]
watermark_delay: str = "10 minutes"
scale: float = 1.0  # of the simulated day used to compare the two state stores

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

# %% tags=["shows:state-reader"]
# runs once: sends three rounds of trips and runs the windowed count
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
assert (held["read"] == held["numRowsTotal"]).all(), (
    f"the reader and the progress records disagree: expected the rows read {held['read'].tolist()} to equal "
    f"numRowsTotal {held['numRowsTotal'].tolist()}: "
    + START_OVER)
held

# %% [markdown]
# Each round is one batch with the new trips and a no-data batch that applies the new watermark (notebook 06).
# The reader and the progress records agree on every batch: `numRowsTotal` *is* the number of keys in the store.
# The 08:00 window stays in state until the watermark (08:21 after round 2) passes its end, 08:15; then the
# append-mode batch emits it and removes it (`numRowsRemoved` 1). The **change feed** shows the same history as
# events: an `update` for every key a batch wrote (a new window is an `update` too: the feed has no separate
# insert), and a `delete` when a window was evicted.

# %% tags=["shows:change-feed"]
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
# runs once: sends weather readings and accidents and runs the join
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

# %% tags=["shows:join-state"]
sides = {side: read_state(spark, join_cp, join_side=side) for side in ("left", "right")}
for side, df in sides.items():
    times = sorted(r[0].strftime("%H:%M") for r in df.select("value.*").select(
        "a_time" if side == "left" else "w_time").collect())
    print(f"{side} side ({'accidents' if side == 'left' else 'weather'}): {len(times)} rows held, at {times}")
join_total = join_ops["rows"].iloc[-1]
assert sum(df.count() for df in sides.values()) == join_total, (
    f"expected left + right rows = {join_total}, the join's numRowsTotal, found "
    f"{sum(df.count() for df in sides.values())}: "
    + START_OVER)
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

# %% tags=["shows:dedup-evicted"]
# runs once: sends two rounds of trips and runs the deduplication
dedup_cp = str(s.data_dir / "checkpoints" / "dedup")
dedup_topic = "13.dedup.bike-trips"
from etl_lib.lab import reset_topics

reset_topics(s, [dedup_topic], 1)
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

day_topics = {t: f"13.day.{name}" for t, name in s.kafka_topics.items()}
reset_topics(s, day_topics.values(), 3)
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
# runs once: runs the query with each state store on its own checkpoint
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

# %% tags=["shows:provider-files"]
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

# %% tags=["shows:provider-kept"]
# runs once: sends a trip and restarts the RocksDB checkpoint
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

# %%
assert held["numRowsTotal"].tolist() == held["read"].tolist(), (
    f"expected numRowsTotal {held['numRowsTotal'].tolist()} to equal the rows the state reader read, found "
    f"{held['read'].tolist()}: "
    + START_OVER)
assert ids_held[-1]["ids in state"] == "b9" and same_rows, (
    "expected only b9 in the deduplication state and the same rows under both providers, found "
    f"{ids_held[-1]['ids in state']!r} and same rows: {same_rows}: "
    + START_OVER)
print("The state reader matched every progress record, the deduplication kept only b9 after the watermark moved, "
      "and both providers held the same rows after every batch: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - Each stateful operator keeps a state store per shuffle partition, saved in the checkpoint (→ *Where the state lives*) [07#shuffle-partitions-fixed] [13#provider-files] [14#tws-state]
# - `format("statestore")` reads the state back; its row count is the progress record's `numRowsTotal` (→ *Where the state lives*) [13#state-reader] [13#join-state]
# - The change feed (`readChangeFeed`): an `update` row for every key a batch wrote, a `delete` for every key it evicted (→ *Where the state lives*) [13#change-feed]
# - A stream–stream join keeps each side's rows (`joinSide`) until the watermark says no partner can still come (→ *The state of a join and of a deduplication*) [13#join-state]
# - The default provider keeps state on the JVM heap; RocksDB off the heap, with changelog checkpointing (→ *Two state stores: the default and RocksDB*) [13#provider-files] [doc: Spark 4.2 · Structured Streaming Programming Guide · RocksDB state store implementation]
# - A restarted checkpoint keeps its provider, silently (→ *Restarting a checkpoint with the other provider.*) [13#provider-kept]

# %% [markdown]
# **Further reading**
#
# - docs/state.md (state stores, providers, the state reader)
# - Spark's Structured Streaming guide: "State Data Source", "RocksDB state store implementation"

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 12_scale_out](12_scale_out.ipynb) | [contents](README.md) | [14_arbitrary_state_and_real_time →](14_arbitrary_state_and_real_time.ipynb)
