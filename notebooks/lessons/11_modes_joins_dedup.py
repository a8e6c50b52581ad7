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
# # 11 · Output modes, a stream–stream join and deduplication
#
# **You will learn to**
#
# - predict what append, update and complete mode emit, batch by batch, and which sinks take which mode
# - join two streams with watermarks and an event-time range, and say what state the join keeps
# - choose between a stream–stream join and the kit's union-then-window
# - drop duplicates with bounded state
#
# **Prerequisites:** notebooks 06 (windows and watermarks) and 10 (progress records)\
# **Time:** about 30 minutes

# %%
from etl_lib.lab import START_OVER, setup, spark_session

lesson = setup("11")
s = lesson.settings
spark = spark_session(s)

# %% tags=["parameters"]
watermark_delay: str = "10 minutes"
join_minutes: int = 10  # an accident is paired with the weather observed up to this many minutes before it
scale: float = 0.1  # of the simulated day used for deduplication
duplicate_fraction: float = 0.05  # share of records data_gen sends twice

# %% [markdown]
# ## Output modes, batch by batch
#
# A streaming aggregation keeps a result table and, after each micro-batch, hands the sink some of its rows. The
# **output mode** says which:
#
# - **append**: only rows that will never change again. For a windowed count, a window is final when the
#   watermark has passed its end; it is emitted once, then dropped from state.
# - **update**: the rows that changed in this batch, as they are now (a window can be emitted many times).
# - **complete**: the whole result table, every batch (the state is never dropped).
#
# Below, one windowed count (bike trips per 15 minutes, watermark `watermark_delay`) runs in the three modes,
# each with its own checkpoint, over three rounds of records sent by hand. `foreachBatch` records what each batch
# hands the sink.

# %%
# runs once: sends round 1 and runs the three modes on their checkpoints
from functools import partial

import pandas as pd
from pyspark.sql import functions as F

from etl_lib.lab import bike_trip, send_json
from etl_lib.parsing import parse_bike_stream
from etl_lib.spark import read_kafka_stream

send = partial(send_json, s.kafka_bootstrap_servers)  # send(topic, [record, ...]): JSON, acknowledged
bike = bike_trip  # bike(7, "2018-04-02 08:01:00"): a valid trip b7 at that time

emitted = []  # (round, mode, batch, window, trips): what each batch handed the sink

def run_round(name):
    counts = (parse_bike_stream(read_kafka_stream(spark, s.kafka_topic_bike, s))
              .withWatermark("event_time", watermark_delay)
              .groupBy(F.window("event_time", "15 minutes"))
              .agg(F.count("*").alias("trips")))
    for mode in ("append", "update", "complete"):
        def collect(df, batch, mode=mode):
            rows = df.select(F.date_format("window.start", "HH:mm").alias("w"), "trips").collect()
            emitted.append((name, mode, batch, ", ".join(sorted(f"{r['w']} x{r['trips']}" for r in rows)) or "-"))
        q = (counts.writeStream.outputMode(mode).foreachBatch(collect)
             .option("checkpointLocation", str(s.data_dir / "checkpoints" / f"modes_{mode}"))
             .trigger(availableNow=True).start())
        q.awaitTermination()

send(s.kafka_topic_bike, [bike(1, "2018-04-02 08:01:00"), bike(2, "2018-04-02 08:16:00")])
run_round("round 1: 08:01, 08:16")
pd.DataFrame(emitted, columns=["round", "mode", "batch", "rows handed to the sink"])

# %% tags=["shows:output-modes"]
# runs once: sends rounds 2 and 3 and runs the three modes again
send(s.kafka_topic_bike, [bike(3, "2018-04-02 08:17:00"), bike(4, "2018-04-02 08:31:00")])
run_round("round 2: 08:17, 08:31")
send(s.kafka_topic_bike, [bike(5, "2018-04-02 08:47:00")])
run_round("round 3: 08:47")

table = pd.DataFrame(emitted, columns=["round", "mode", "batch", "rows"])
(table.assign(batches="batch " + table["batch"].astype(str) + ": " + table["rows"])
 .groupby(["round", "mode"], sort=False)["batches"].apply(" | ".join)
 .unstack("mode")[["append", "update", "complete"]])

# %% [markdown]
# Read it row by row ("-": the batch handed the sink nothing). In append and update mode a round is one batch with
# the new records and, since the newest event time moved, a no-data batch that applies the new watermark (notebook
# 06): in append mode it writes the windows the watermark closes; in update mode it hands the sink nothing (no
# window *changed*: closing one only evicts it from the state). Complete mode never drops state, needs no such
# batch, and so numbers its batches differently.
#
# - After round 1 the watermark is 08:16 − 10 min = 08:06: no window has ended before it, so **append** emits
#   nothing yet; **update** emits both windows it just changed; **complete** emits the whole table.
# - Round 2 adds a trip to 08:15 and opens 08:30. **Update** emits 08:15 again, now with 2 trips, and 08:30;
#   08:00 did not change, so it is not repeated. The watermark moves to 08:21, past the end of 08:00 (08:15):
#   **append** emits 08:00 with its final count, once, in the no-data batch.
# - Round 3 moves the watermark to 08:37: **append** emits 08:15 (2 trips, final); 08:30 and 08:45 stay open.
#   **Complete** has emitted every window in every round, and keeps every window in its state for ever.
#
# **Which sink takes which mode.** A file sink (Parquet, JSON) only appends files, so it accepts only append mode;
# `foreachBatch`, the console sink and Kafka accept all three (Kafka and `foreachBatch` then receive updated rows
# again, so the reader must take the newest row per key); Spark's guide lists append and complete for the memory
# sink, a debugging sink that keeps its whole table in the driver. Complete mode needs an aggregation, and
# append mode with an aggregation needs a watermark. Spark refuses the combinations it cannot honour when the
# query starts:

# %% tags=["shows:mode-refused"]
from pyspark.errors import AnalysisException

def refusal(start):
    """Spark's reason for refusing a query at start (the words after "not supported"), or "accepted"."""
    try:
        start().stop()
        return "accepted"
    except AnalysisException as err:
        return "refused: not supported " + str(err).split("not supported ", 1)[-1].split(" SQLSTATE")[0]

no_watermark = (parse_bike_stream(read_kafka_stream(spark, s.kafka_topic_bike, s))
                .groupBy(F.window("event_time", "15 minutes")).count())
trips = parse_bike_stream(read_kafka_stream(spark, s.kafka_topic_bike, s))
tries = {
    "windowed count, update mode, Parquet sink": lambda: (
        no_watermark.writeStream.outputMode("update").format("parquet")
        .option("path", str(s.data_dir / "refused")).option("checkpointLocation", str(s.data_dir / "refused_cp"))
        .start()),
    "windowed count without a watermark, append mode": lambda: (
        no_watermark.writeStream.outputMode("append").format("console").start()),
    "no aggregation, complete mode": lambda: (
        trips.writeStream.outputMode("complete").format("console").start()),
}
for name, start in tries.items():
    print(f"{name}\n    {refusal(start)}")

# %% [markdown]
# ## A stream–stream join
#
# The seed's weather–safety analysis puts accidents and weather into the same 15-minute windows and compares
# them (the kit's union-then-window). A **stream–stream join** answers a different question: *for each accident,
# the weather observed just before it*. Both sides are streams, so Spark must keep rows of each side in state,
# waiting for a partner that may still arrive. A watermark on both sides and a time range in the join condition
# bound that state: once the watermark says no partner can arrive any more, a row is dropped (and, in a left
# outer join, an accident that found no weather is emitted with nulls).
#
# ```python
# accidents.withWatermark("accident_time", "10 minutes").join(
#     weather.withWatermark("weather_time", "10 minutes"),
#     F.expr("accident_city = weather_city AND "
#            f"weather_time BETWEEN accident_time - INTERVAL {join_minutes} MINUTES AND accident_time"),
#     "leftOuter")
# ```
#
# Spark needs at least one **equality** in a stream–stream join condition: it partitions both sides' state by
# it, so that a row only waits next to rows it can match (a pure time range is refused: "Stream-stream join
# without equality predicate is not supported"). Every record here is from Boston's one weather station, so the
# key is the city, the same on both sides, and all the state sits in one partition; a join of, say, trips and
# per-station weather would use the station.
#
# The records: weather every 10 minutes from 08:00 to 08:50 and from 09:50 to 10:30 (the station was silent in
# between), accidents at 08:25, 08:44, 09:35 and 10:27. The 09:35 accident has no observation within
# `join_minutes` before it.

# %%
# runs once: sends the weather readings and accidents to Kafka
from etl_lib.parsing import parse_accident_stream, parse_weather_stream

def weather(ts):
    return {"timestamp": ts, "temperature": 8.0, "precip_intensity": 0.0 if ts < "2018-04-02 09" else 2.5}

def accident(n, ts):
    return {"id": f"a{n}", "dispatch_ts": ts, "mode_type": "bike", "location_type": "Intersection",
            "street": "Blue Hill Ave", "latitude": 42.35, "longitude": -71.1}

readings = ([weather(f"2018-04-02 08:{m:02d}:00") for m in range(0, 60, 10)]
            + [weather(f"2018-04-02 {h:02d}:{m:02d}:00") for h, m in [(9, 50), (10, 0), (10, 10), (10, 20), (10, 30)]])
crashes = [accident(n + 1, f"2018-04-02 {t}:00") for n, t in enumerate(["08:25", "08:44", "09:35", "10:27"])]
send(s.kafka_topic_weather, readings)
send(s.kafka_topic_accidents, crashes)
print("accidents at", ", ".join(c["dispatch_ts"][11:16] for c in crashes), "| weather readings at",
      ", ".join(r["timestamp"][11:16] for r in readings))

# %% tags=["shows:stream-join"]
accidents = (parse_accident_stream(read_kafka_stream(spark, s.kafka_topic_accidents, s))
             .select("id", F.lit("boston").alias("accident_city"), F.col("event_time").alias("accident_time"))
             .withWatermark("accident_time", watermark_delay))
observations = (parse_weather_stream(read_kafka_stream(spark, s.kafka_topic_weather, s))
                .select(F.lit("boston").alias("weather_city"), F.col("event_time").alias("weather_time"),
                        "precip_intensity")
                .withWatermark("weather_time", watermark_delay))
in_range = F.expr("accident_city = weather_city AND "
                  f"weather_time BETWEEN accident_time - INTERVAL {join_minutes} MINUTES AND accident_time")

def join(how):
    q = (accidents.join(observations, in_range, how)
         .select("id", F.date_format("accident_time", "HH:mm").alias("accident_time"),
                 F.date_format("weather_time", "HH:mm").alias("weather_time"), "precip_intensity")
         .writeStream.format("memory").queryName(f"joined_{how}").outputMode("append")
         .trigger(availableNow=True).start())
    q.awaitTermination()
    state = {op["operatorName"]: op["numRowsTotal"] for p in q.recentProgress for op in p["stateOperators"]}
    rows = spark.table(f"joined_{how}").orderBy("accident_time", "weather_time").toPandas()
    return rows, state

inner, inner_state = join("inner")
outer, outer_state = join("leftOuter")
for name, rows in [("inner", inner), ("left outer", outer)]:
    print(f"--- {name} join")
    print(rows.fillna({"weather_time": "(none)"}).to_string(index=False))
print("state operator after the run:", outer_state)

# %% [markdown]
# The inner join pairs each accident with the observation in its range and drops the 09:35 one: it has no
# partner. The left outer join emits it too, with nulls, but only once no observation in 09:25–09:35 can still
# arrive: when the query's watermark passes 09:35. A query with two watermarks uses the minimum of both by
# default (`multipleWatermarkPolicy`, notebook 06): the 10:27 accident and the 10:30 weather make it 10:17.
# Without the 10:27 accident it would stay at 09:25 and the 09:35 accident would wait in state, unreported.
# The join's state (`symmetricHashJoin`) holds rows of both sides until the watermark lets them go: with a longer
# range or watermark delay, more of them.
#
# **Join or union-then-window?**
#
# - A **stream–stream join** enriches each event with its partner(s): the weather at the moment of *this*
#   accident, a payment for *this* order. It keeps raw rows of both sides in state for the length of the range
#   plus the watermark delay, and an event can match several partners (an accident here would match two
#   observations with a 20-minute range).
# - **Union-then-window** (the kit's analytics) turns both streams into per-window figures (accidents per 15
#   minutes, mean rain per 15 minutes) and compares windows: one state row per window, however many events. It
#   answers questions about periods (rate of accidents when it rains), not about single events.
#
# The kit's question, *is the accident rate higher in rain*, is about periods, so it uses the union. "Which
# accidents happened in rain" would need the join.

# %% [markdown]
# ## Deduplication with bounded state
#
# `data_gen` sends some records twice (`duplicate_fraction`), byte for byte, as an upstream system does when it
# replays a stretch of its log or when a producer restarts and sends again in a new session. (A retry after a lost
# acknowledgement is *not* a cause with the kit's producers: they are idempotent, and the broker discards such a
# retry by its sequence number.) Two ways to drop the copies in a stream:
#
# - `dropDuplicates(["trip_id"])` without a watermark remembers **every** id it has seen, for ever: the state
#   grows with the stream.
# - `withWatermark(...).dropDuplicatesWithinWatermark(["trip_id"])` remembers an id until the watermark passes
#   its first copy's event time **plus the delay**, so the state holds only recent ids. A row at or behind the
#   watermark is dropped before the lookup, so a byte-for-byte copy is never counted twice, however late it comes;
#   what slips through is a copy stamped with an event time more than the delay after the first (shown below).

# %% tags=["shows:dedup-state"]
# runs once: sends a day with copies and runs two dedup queries
from data_gen import GenParams, KafkaSink, generate
from etl_lib.lab import reset_topics

dedup_topics = {t: f"11.dedup.{name}" for t, name in s.kafka_topics.items()}  # a world of its own
reset_topics(s, dedup_topics.values(), 3)
key = generate(GenParams(days=1, scale=scale, seed=42, duplicate_fraction=duplicate_fraction),
               KafkaSink(s.kafka_bootstrap_servers, dedup_topics, settings=s),
               windows=(s.window_duration_medium, s.window_duration_long))
bikes = parse_bike_stream(read_kafka_stream(spark, dedup_topics["bike"], s))
designs = {
    "dropDuplicates (no watermark)": bikes.dropDuplicates(["trip_id"]),
    "dropDuplicatesWithinWatermark": bikes.withWatermark("event_time", watermark_delay)
                                          .dropDuplicatesWithinWatermark(["trip_id"]),
}
rows = []
for name, df in designs.items():
    q = (df.writeStream.format("memory").queryName("dedup_" + str(len(rows))).outputMode("append")
         .option("checkpointLocation", str(s.data_dir / "checkpoints" / f"dedup_{len(rows)}"))
         .trigger(availableNow=True).start())
    q.awaitTermination()
    last = q.recentProgress[-1]
    rows.append({"design": name, "rows out": spark.table("dedup_" + str(len(rows))).count(),
                 "ids kept in state at the end": sum(op["numRowsTotal"] for op in last["stateOperators"]),
                 "copies dropped": sum(op["customMetrics"].get("numDroppedDuplicateRows", 0)
                                       for p in q.recentProgress for op in p["stateOperators"])})
dedup = pd.DataFrame(rows).set_index("design")
bike = key["counts"]["bike"]
print(f"bike records sent: {bike['produced']:,}: {bike['unique_valid_events']:,} valid trips, "
      f"{bike['duplicates']} of them sent twice, and {bike['quarantined']} malformed")
dedup

# %% [markdown]
# Both designs write the same rows: every valid trip once. The difference is the state: without a watermark
# every id of the day is still held at the end, and tomorrow's will be added to it; within the watermark, only
# the ids of the last few minutes of event time are. On a stream that runs for months, the first design runs
# out of memory; the second stays flat. (The kit's analytics use the second, on source and record id.)

# %% [markdown]
# **What `dropDuplicatesWithinWatermark` catches, and what slips through.** Three rounds on a topic of their own,
# each an available-now run of the same query (trip ids are the keys; a filler trip moves the watermark on):
# trip 3's second copy is stamped half a delay after its first; trip 1's second copy is byte for byte the first,
# sent after the watermark has passed its event time plus the delay; trip 2's second copy is stamped three delays
# after its first.

# %% tags=["shows:dedup-slips-through"]
# runs once: sends three rounds and runs the dedup query on its checkpoint
from etl_lib.commit_log import read_sink
from etl_lib.writers import run_once

rule_topic = "11.dedup-rule.bike-trips"
reset_topics(s, [rule_topic], 1)
d = pd.Timedelta(watermark_delay).total_seconds() / 60  # the delay in minutes
at = lambda n, minutes: bike_trip(n, str(pd.Timestamp("2018-04-02 08:00:00") + pd.Timedelta(minutes=minutes)))
rounds = [("trips 1, 2, 3 at 08:00 (and a filler)", [at(1, 0), at(2, 0), at(3, 0), at(90, 5)]),
          ("trip 3 again, stamped half a delay later", [at(3, d / 2), at(91, 2 * d + 5)]),
          ("trip 1 again as it was; trip 2 again, 3 delays later", [at(1, 0), at(2, 3 * d)])]
deduplicated = (parse_bike_stream(read_kafka_stream(spark, rule_topic, s))
                .withWatermark("event_time", watermark_delay).dropDuplicatesWithinWatermark(["trip_id"]))
for what, trips in rounds:
    send(rule_topic, trips)
    q = run_once(deduplicated, "dedup_rule", s)
    ops = [op for p in q.recentProgress for op in p["stateOperators"]]
    print(f"{what:<52} dropped as copies: {sum(op['customMetrics'].get('numDroppedDuplicateRows', 0) for op in ops)}"
          f" | dropped behind the watermark: {sum(op['numRowsDroppedByWatermark'] for op in ops)}"
          f" | watermark after: {q.lastProgress['eventTime']['watermark'][11:16]}")
written = read_sink(s.data_dir / "dedup_rule").groupby("trip_id").size()
print("rows written per trip:", {trip: int(n) for trip, n in written.items() if trip in ("b1", "b2", "b3")})

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. A count per 15-minute window with a 10-minute watermark has seen events up to 08:50. The next batch brings a single trip at 09:02. What does update mode emit for that batch, and which window does append mode emit in the batch after it?**
#
# <details><summary>Answer</summary>
#
# The trip is not late (the batch runs with watermark 08:40), so it counts in the 09:00 window: update mode emits that window with its count, 1, and nothing else, since no other window changed. The newest event time becomes 09:02, so the next batch (a no-data batch if nothing else arrives) runs with watermark 08:52: append mode emits the 08:30–08:45 window, whose end (08:45) the watermark has now passed, with its final count. 08:45–09:00 and 09:00–09:15 stay open.
#
# </details>
#
# **2. Why does a Parquet sink accept only append mode, and what would you use to keep an always-current table of per-window counts?**
#
# <details><summary>Answer</summary>
#
# A file sink only adds files; it cannot change or delete a row it wrote, so it can only take rows that will never change. For an always-current table, use update mode into a sink that can overwrite by key: `foreachBatch` with a merge (upsert) into a table, or a key-value store; or write final rows in append mode and accept the delay of the watermark.
#
# </details>
#
# **3. In the join above, the 09:35 accident appears in the left outer join only after later records of both streams arrived. Why could Spark not emit it at once with nulls?**
#
# <details><summary>Answer</summary>
#
# Because an observation in 09:25–09:35 could still arrive, late but within the watermark delay. Spark may emit "no partner" only when the watermark guarantees no partner can come, that is when the query's watermark passes 09:35. With two inputs that watermark is the minimum of theirs: it took the 10:27 accident and the 10:30 weather to move it to 10:17.
#
# </details>
#
# **4. What bounds the state of a stream–stream join, and what happens without watermarks?**
#
# <details><summary>Answer</summary>
#
# The watermarks of both sides together with the time range of the condition: a row is dropped once no row of the other side within its range can still arrive. Without watermarks (or without a time range), Spark must keep every row of both sides for ever, since a partner could always come; the state grows without limit (and outer joins cannot run at all).
#
# </details>
#
# **5. Each copy of a duplicated record is sent 30 seconds after the first. Which deduplication would you choose for a pipeline that runs for months, and what would change if copies could arrive two hours later?**
#
# <details><summary>Answer</summary>
#
# `dropDuplicatesWithinWatermark` with a watermark delay of a few minutes: it catches copies 30 seconds apart and keeps only recent ids in state. If byte-for-byte copies can arrive two hours later, nothing changes for the count: a copy at or behind the watermark is dropped as late before the lookup, so it is never counted twice (but the drop is silent, so count it through the progress records). What a longer delay would be needed for is copies whose event time differs from the first by more than the delay (re-stamped copies): they slip through. Plain `dropDuplicates` without a watermark would catch every copy but its state grows for as long as the stream runs.
#
# </details>
#

# %%
appended = [rows for _, mode, _, rows in emitted if mode == "append" and rows != "-"]
assert appended == ["08:00 x1", "08:15 x2"], (
    f"append: each window once, with its final count: expected ['08:00 x1', '08:15 x2'], found {appended}: "
    + START_OVER)
assert list(inner["id"]) == ["a1", "a2", "a4"] and list(outer[outer["weather_time"].isna()]["id"]) == ["a3"], (
    "expected the inner join to pair a1, a2, a4 and the left outer join to leave a3 alone, found "
    f"{list(inner['id'])} and {list(outer[outer['weather_time'].isna()]['id'])}: "
    + START_OVER)
assert dedup["rows out"].nunique() == 1 and dedup["rows out"].iloc[0] == bike["unique_valid_events"], (
    f"expected both dedups to write {bike['unique_valid_events']} trips, found {dedup['rows out'].tolist()}: "
    + START_OVER)
assert dedup["ids kept in state at the end"].iloc[1] < dedup["ids kept in state at the end"].iloc[0], (
    "expected fewer ids in state within the watermark than without one, found "
    f"{dedup['ids kept in state at the end'].to_dict()}: "
    + START_OVER)
print("Append emitted each window once, final; the left outer join kept the lonely accident; "
      "both dedups wrote each trip once, with far less state within the watermark: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - Append emits a row once, when final; update emits what changed; complete emits everything, every batch (→ *Output modes, batch by batch*) [11#output-modes]
# - Complete mode never forgets: it keeps every window in its state for ever (→ *Output modes, batch by batch*) [11#output-modes] [doc: Spark 4.2 · Structured Streaming Programming Guide · Output Modes]
# - A file sink accepts only append mode (→ *Which sink takes which mode.*) [11#mode-refused] [doc: Spark 4.2 · Structured Streaming Programming Guide · Output Sinks]
# - A stream–stream join needs an equality key, watermarks on both sides and a time range to bound its state (→ *A stream–stream join*) [11#stream-join] [13#join-state] [doc: Spark 4.2 · Structured Streaming Programming Guide · Stream-stream Joins] [doc: Spark 4.2 · error-conditions.json · _LEGACY_ERROR_TEMP_1181]
# - Join to enrich single events; union-then-window for statistics over periods (→ *Join or union-then-window?*) [11#stream-join]
# - `dropDuplicatesWithinWatermark` keeps ids only until the watermark passes: bounded state (→ *Deduplication with bounded state*) [11#dedup-state] [13#dedup-evicted]
# - A copy re-stamped more than the delay later slips through (→ *What `dropDuplicatesWithinWatermark` catches, and what slips through.*) [11#dedup-slips-through]

# %% [markdown]
# **Further reading**
#
# - docs/spark_etl.md (output modes, joins, deduplication)
# - Spark's Structured Streaming guide: output modes, stream–stream joins, streaming deduplication

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 10_live_stream](10_live_stream.ipynb) | [contents](README.md) | [12_scale_out →](12_scale_out.ipynb)
