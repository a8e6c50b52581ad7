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
# # 06 · Windows, watermarks and late data
#
# **You will learn to**
#
# - tell tumbling from sliding windows
# - explain what a watermark is and when a window is emitted
# - see a late event left out of its window
# - see one impossible event time stop every window, and the rule that prevents it
#
# **Prerequisites:** notebook 05\
# **Time:** about 20 minutes

# %%
from etl_lib.lab import START_OVER, setup, show, spark_session

lesson = setup("06")
s = lesson.settings
spark = spark_session(s)

# %% tags=["parameters"]
watermark_delay: str = "10 minutes"

# %% [markdown]
# A **tumbling window** cuts time into fixed, non-overlapping pieces (`window(t, "15 minutes")`): each event
# is in exactly one. A **sliding window** has a length and a slide (`window(t, "15 minutes", "5 minutes")`): windows
# overlap and each event is in length/slide of them.

# %% tags=["shows:tumbling-windows"]
import pandas as pd
from pyspark.sql import functions as F

events = spark.createDataFrame(pd.DataFrame({"event_time": pd.to_datetime(
    ["2018-04-02 08:01", "2018-04-02 08:07", "2018-04-02 08:14", "2018-04-02 08:16", "2018-04-02 08:29"])}))
tumbling = events.groupBy(F.window("event_time", "15 minutes")).count()
sliding = events.groupBy(F.window("event_time", "15 minutes", "5 minutes")).count()
show(tumbling.select(F.date_format("window.start", "HH:mm").alias("start"), "count").orderBy("start"))

# %% tags=["shows:sliding-windows"]
show(sliding.select(F.date_format("window.start", "HH:mm").alias("start"), "count").orderBy("start"), n=20)

# %% [markdown]
# A streaming aggregation cannot wait for ever for stragglers. The **watermark** is *the latest event time
# seen, minus a delay* (`WATERMARK_DELAY`, 10 minutes). In append mode a window's row is written once, when the
# watermark passes the window's end; after that, an event for that window is **left out**. Spark moves the
# watermark between micro-batches.
#
# Which events count as late depends on the stateful step that meets them first. A windowed aggregation on its
# own drops an event only when its *window* has closed (window end at or behind the watermark): an event older
# than the watermark whose window is still open is counted. Deduplication drops every row *at or behind the
# watermark* before it looks the row up. The kit's analytics deduplicate before they aggregate (below), so in the
# kit the stricter rule holds: a row at or behind the watermark is left out, open window or not. Which watermark:
# the one the *previous* micro-batch ran with (lesson 15 shows it on the Spark guide's own example).
#
# The experiment: micro-batch 1 holds weather every 5 minutes from 08:00 to 08:55 and one bike per window. Then
# micro-batch 2 brings a **late** bike at 08:20, an on-time bike at 08:55, and weather up to 09:30.

# %%
# runs once: sends micro-batch 1 to Kafka
import json
from functools import partial
from etl_lib.lab import bike_trip, send_json

s = s.replace(watermark_delay=watermark_delay)

send = partial(send_json, s.kafka_bootstrap_servers)  # send(topic, [record, ...]): JSON, acknowledged
bike = bike_trip  # bike(7, "2018-04-02 08:01:00"): a valid trip b7 at that time

def weather(ts):
    return {"timestamp": ts, "temperature": 10.0, "precip_intensity": 0.0}

readings = [weather(f"2018-04-02 08:{m:02d}:00") for m in range(0, 60, 5)]
trips = [bike(i, f"2018-04-02 08:{m:02d}:30") for i, m in enumerate((1, 16, 31, 46))]
send(s.kafka_topic_weather, readings)
send(s.kafka_topic_bike, trips)
print(f"micro-batch 1 holds {len(readings)} weather readings ({readings[0]['timestamp'][11:16]} to "
      f"{readings[-1]['timestamp'][11:16]}) and bike trips at", ", ".join(t["start_time"][11:19] for t in trips))

# %% tags=["shows:window-waits-for-watermark"]
# runs once: runs the windowed query on its checkpoint
from etl_lib.analytics import calculate_weather_transport_correlation
from etl_lib.commit_log import read_sink
from etl_lib.lab import progress_records
from etl_lib.main import build_streams
from etl_lib.spark import read_kafka_batch
from etl_lib.writers import write_analytics_stream

progress = []  # every progress record of the query below, over all its runs

def micro_batch():
    global progress
    df = calculate_weather_transport_correlation(build_streams(spark, s)["combined"])
    q = write_analytics_stream(df, "windows", "append", s, available_now=True)
    q.awaitTermination()
    progress = progress_records(q, progress)
    return read_sink(s.analytics_output_path / "windows").sort_values("window_start").reset_index(drop=True)

after_1 = micro_batch()
after_1[["window_start", "bike_count"]].assign(window_start=lambda d: d.window_start.dt.strftime("%H:%M"))

# %% [markdown]
# The 08:45 window is not there yet: the watermark is 08:55 − 10 min = 08:45, not past its end (09:00).

# %% tags=["shows:late-event-dropped"]
# runs once: sends micro-batch 2 and runs the query again
send(s.kafka_topic_bike, [bike(10, "2018-04-02 08:20:00"), bike(11, "2018-04-02 08:55:00")])
send(s.kafka_topic_weather, [weather(f"2018-04-02 09:{m:02d}:00") for m in range(0, 35, 5)])
after_2 = micro_batch()
after_2[["window_start", "bike_count"]].assign(window_start=lambda d: d.window_start.dt.strftime("%H:%M"))

# %% [markdown]
# The picture of this experiment, drawn from the run itself: each record Kafka holds is a point at its event time,
# on the row of the micro-batch that read it (found from the offsets in the query's progress records); the black
# tick on each row is the watermark that batch ran with (from the same records); a red cross is a record at or
# behind its batch's watermark, which the query left out. Each available-now run above took two batches: one
# with the records that had arrived, then one with none, which Spark runs to move the watermark on and write the
# windows it closes. So the experiment's micro-batch 1 is batches 0 and 1, its micro-batch 2 batches 2 and 3.
# (Spark judges a late row by the watermark the previous batch ran with; here a batch with records always follows
# a batch without, which ran with the same watermark, so its own watermark gives the same crosses.)

# %%
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from etl_lib.lab import batch_of_offsets, progress_table

def event_time(value):
    record = json.loads(value)
    return pd.Timestamp(record.get("start_time") or record["timestamp"])

read = pd.concat([read_kafka_batch(spark, topic, s).select("topic", "partition", "offset", "value").toPandas()
                  for topic in (s.kafka_topic_bike, s.kafka_topic_weather)], ignore_index=True)
read["event_time"] = read["value"].map(event_time)
read["batch"] = batch_of_offsets(progress, read["topic"], read["partition"], read["offset"])
batches = progress_table(progress).set_index("batch")
read["watermark"] = read["batch"].map(batches["watermark"])
read["late"] = read["event_time"] <= read["watermark"]  # Spark drops a row at or behind the watermark
print(f"{len(read)} records read back from Kafka; at or behind their batch's watermark:",
      ", ".join(f"{t.split('.', 1)[1]} at {e:%H:%M}" for t, e in read.loc[read["late"], ["topic", "event_time"]].values))

# %%
fig, ax = plt.subplots(figsize=(9, 3.2))
start = read["event_time"].min().floor("15min")
for i, w in enumerate(pd.date_range(start, read["event_time"].max().ceil("15min"), freq="15min")[:-1]):
    ax.axvspan(w, w + pd.Timedelta(minutes=15), color=["#eef", "#fee"][i % 2], zorder=0)
for topic, colour, size in [(s.kafka_topic_weather, "tab:grey", 12), (s.kafka_topic_bike, "tab:green", 40)]:
    kept = read[(read["topic"] == topic) & ~read["late"]]
    ax.scatter(kept["event_time"], kept["batch"], color=colour, s=size, zorder=3,
               label=topic.split(".", 1)[1] + " (counted)")
late = read[read["late"]]
ax.scatter(late["event_time"], late["batch"], color="tab:red", marker="x", s=90, zorder=4,
           label="behind the watermark: left out")
marked = batches.dropna(subset=["watermark"])
ax.scatter(marked["watermark"], marked.index, color="black", marker="|", s=700, zorder=5,
           label="the batch's watermark")
ax.set_yticks(batches.index)
ax.set_ylabel("micro-batch")
ax.invert_yaxis()
ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
ax.set_xlabel("event time (shaded: 15-minute windows)")
legend = ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, labelspacing=1.2)
legend.legend_handles[-1].set_sizes([150])  # the watermark's tall tick, short enough for its row of the legend
ax.set_title("Event time against the batch that read each record")
plt.show()

# %% tags=["shows:watermark-per-batch"]
dropped = sum(op.get("numRowsDroppedByWatermark", 0) for p in progress for op in p.get("stateOperators", []))
for batch, row in batches.iterrows():
    watermark = "none yet" if pd.isna(row["watermark"]) else row["watermark"].strftime("%H:%M")
    mine = read[read["batch"] == batch]
    print(f"batch {batch}: read {len(mine):>2} records, ran with watermark {watermark}, "
          f"left out: {', '.join(mine[mine['late']]['event_time'].dt.strftime('%H:%M')) or 'none'}")
print(f"records behind their batch's watermark: {int(read['late'].sum())} | "
      f"rows dropped by the watermark, as the query's progress reports it: {dropped}")

# %% [markdown]
# **The same event twice.** An upstream system that replays a stretch of its log, or a producer that restarts and
# sends again in a new session, delivers a record again, byte for byte. (A retry after a lost acknowledgement does
# not: the kit's producers are idempotent, and the broker discards the retried copy by its sequence number.) The raw Parquet keeps both copies (it is the record of what arrived), but a count must not. Every
# analytic of the kit therefore drops repeated events by source and record id before it aggregates:
#
# ```python
# union.withWatermark("event_time", "10 minutes").dropDuplicatesWithinWatermark(["source", "event_id"])
# ```
#
# Spark remembers each id until the watermark passes its first copy's event time plus the delay, so the state
# stays bounded (plain `dropDuplicates` on a stream would remember every id for ever), and a row at or behind the
# watermark is dropped before the lookup, so a byte-for-byte copy is never counted twice (lesson 11 shows what
# does slip through: a copy stamped more than the delay after the first). Below, trip `b20` at 09:25 is
# sent twice, and weather up to 10:00 moves the watermark past its window.

# %% tags=["shows:duplicate-counted-once"]
# runs once: sends trip b20 twice and runs the query again
send(s.kafka_topic_bike, [bike(20, "2018-04-02 09:25:00")] * 2)
send(s.kafka_topic_weather, [weather(f"2018-04-02 09:{m:02d}:00") for m in range(35, 60, 5)]
     + [weather("2018-04-02 10:00:00")])
after_3 = micro_batch()
sent_twice = build_streams(spark, s, read=read_kafka_batch)["bike"].where("trip_id = 'b20'").count()
window_0915 = int(after_3.set_index(after_3.window_start.dt.strftime("%H:%M")).loc["09:15", "bike_count"])
print(f"records of trip b20 in Kafka: {sent_twice}; counted in the 09:15 window: {window_0915}")

# %% [markdown]
# **A windowed aggregation, written by hand.** The chain you would write on an exam: a watermark on the event
# time, a group by window, an aggregate, and a file sink in append mode with a checkpoint. Here: bike trips per
# 15-minute window, over the same topic as above.

# %% tags=["shows:by-hand-chain"]
from etl_lib.parsing import parse_bike_stream
from etl_lib.spark import read_kafka_stream

bikes = parse_bike_stream(read_kafka_stream(spark, s.kafka_topic_bike, s))
per_window = (bikes
              .withWatermark("event_time", watermark_delay)
              .groupBy(F.window("event_time", "15 minutes"))
              .agg(F.count("*").alias("bike_count")))
q = (per_window.writeStream.outputMode("append").format("parquet")
     .option("path", str(s.data_dir / "by_hand"))
     .option("checkpointLocation", str(s.data_dir / "checkpoints" / "by_hand"))
     .trigger(availableNow=True).start())
q.awaitTermination()
by_hand = read_sink(s.data_dir / "by_hand")  # a struct column's times come as numbers: pd.to_datetime reads them
by_hand = dict(zip(by_hand["window"].map(lambda w: pd.to_datetime(w["start"]).strftime("%H:%M")), by_hand["bike_count"]))
kit = dict(zip(after_3.window_start.dt.strftime("%H:%M"), after_3.bike_count))
pd.DataFrame({"by hand, one run": by_hand, "kit, three runs": kit}).loc[sorted(by_hand)].astype(int)

# %% [markdown]
# The kit's windowed counts are the same chain (`generate_transport_usage_summary` and the two usage analytics
# call it), with the sources put in one union (`_once_each`), the watermark set and each record kept once
# (`once_each`), then counted per window (`_trip_counts`). In the kit's layers the silver events query does the
# union, watermark and deduplication once for every analytic (lesson 09):

# %% tags=["shows:kit-window-chain"]
import inspect
from etl_lib import analytics

for fn in (analytics._once_each, analytics.once_each, analytics._trip_counts):
    print(inspect.getsource(fn).split('"""')[-1].strip("\n"))

# %% [markdown]
# Two differences in the table, both worth knowing. The hand-written chain has no 09:15 row: its watermark
# follows bikes only (newest bike 09:25 − 10 min = 09:15, not past the window's end at 09:30), while the kit's
# union also sees weather up to 10:00. And it counts the 08:20 bike that the kit left out: it read everything
# in **one** micro-batch, and a record is late only against the watermark of the batches *before* it. Whether a
# record is late depends on when it arrives, not only on its timestamp. (Nor does it drop duplicates: once
# 09:15 is written, trip `b20` will count twice there.)

# %% [markdown]
# **One watermark, or one per topic?** The kit puts bikes, taxis and weather into one union and sets *one*
# watermark on it, so the watermark follows the newest event of any topic. If one topic runs ahead of the
# others (a weather feed replayed faster, a bike producer that was down for an hour), the slower topic's records
# arrive late and are left out. The alternative is a watermark on each topic before the union; Spark then
# combines them by `spark.sql.streaming.multipleWatermarkPolicy`: `min` (the default: the slowest topic holds
# the watermark back, nothing is late because of another topic) or `max` (the fastest topic wins, as with one
# watermark). The policy is saved in the checkpoint when a query first starts.
#
# The experiment, on two fresh topics: batch 1 has weather from 08:00 to 12:50 but bikes only at 08:00–08:55;
# batch 2 brings the bikes of 09:00–13:55 (12 an hour). Bike trips per hour, in three designs:

# %%
# runs once: sends batch 1 and runs the three designs on their checkpoints
from etl_lib.lab import reset_topics
from etl_lib.writers import run_once

ahead = s.replace(kafka_topic_bike="06.ahead.bike-trips", kafka_topic_weather="06.ahead.weather-data")
reset_topics(ahead, [ahead.kafka_topic_bike, ahead.kafka_topic_weather], 3)

def send_hours(bike_hours, weather_hours):
    send(ahead.kafka_topic_bike, [bike(100 * h + m, f"2018-04-02 {h:02d}:{m:02d}:00")
                                  for h in bike_hours for m in range(0, 60, 5)])
    send(ahead.kafka_topic_weather, [weather(f"2018-04-02 {h:02d}:{m:02d}:00")
                                     for h in weather_hours for m in range(0, 60, 10)])

DESIGNS = {"one watermark on the union (the kit)": (False, "min"),
           "a watermark per topic, policy min": (True, "min"),
           "a watermark per topic, policy max": (True, "max")}

def hourly(name):
    per_topic, policy = DESIGNS[name]
    spark.conf.set("spark.sql.streaming.multipleWatermarkPolicy", policy)
    streams = build_streams(spark, ahead)
    sources = [streams[t].select("event_time", F.lit(t).alias("source")) for t in ("bike", "weather")]
    sources = [df.withWatermark("event_time", watermark_delay) for df in sources] if per_topic else sources
    union = sources[0].unionByName(sources[1])
    union = union if per_topic else union.withWatermark("event_time", watermark_delay)
    q = run_once(union.groupBy(F.window("event_time", "1 hour"), "source").count(),
                 "ahead_" + str(list(DESIGNS).index(name)), s)  # Parquet, checkpoint, available-now
    return q.lastProgress["eventTime"]["watermark"][11:16]

send_hours([8], range(8, 13))
after_batch_1 = {name: hourly(name) for name in DESIGNS}
after_batch_1  # the watermark each design ended batch 1 with

# %% tags=["shows:watermark-per-topic"]
# runs once: sends batch 2 and runs the three designs again
send_hours(range(9, 14), [13])
rows = []
for i, name in enumerate(DESIGNS):
    hourly(name)
    out = read_sink(s.data_dir / f"ahead_{i}")
    trips = out[out["source"] == "bike"]
    rows.append({"design": name, "watermark after batch 1": after_batch_1[name],
                 "bike hours written": ", ".join(sorted(trips["window"].map(lambda w: pd.to_datetime(w["start"]).strftime("%H")))),
                 "bike trips counted": int(trips["count"].sum())})
spark.conf.unset("spark.sql.streaming.multipleWatermarkPolicy")
ahead_table = pd.DataFrame(rows).set_index("design")
ahead_table

# %% [markdown]
# With one watermark (or `max`), weather at 12:50 moved the watermark to 12:40 after batch 1, so the bikes of
# 09:00–11:59 came too late: three hours of trips are missing, with no error. With `min` the bike topic held the
# watermark at 08:45 and every hour was counted. The price of `min`: every window waits for the slowest topic,
# and a topic that stops sending holds all windows open (state grows, nothing is written). One watermark is
# safe only where the topics cannot lag each other: one query reads them together, from a producer that
# interleaves them in event-time order. The seed's design does that in each query. The kit keeps it: its raw
# query writes the valid records of all four topics of each Kafka micro-batch to one events table in one commit,
# and its silver events query sets one watermark on that table, so it sees the topics together, as a query
# reading Kafka does (lesson 09 shows the layers).

# %% [markdown]
# **One impossible event time.** A producer with a broken clock, a typo in a year, a hostile client: a bike trip
# stamped `9999-12-31 23:59:59` is valid JSON with a valid time. The watermark is the newest event time seen minus
# the delay, and it never moves back, so that one record carries it to the year 9999 for good: every record after
# it is behind the watermark. No query fails and no error is printed; the windows simply stop. This is
# *watermark poisoning*.
#
# The experiment, on fresh topics, twice: an hour of weather and bikes, then the poisoned trip, then the next
# hour. First with the kit's event-time rule switched off (`EVENT_TIME_MAX_AHEAD` set to 600,000 weeks, so no
# time is "too far ahead"), then with its default. After each step: the watermark the query ended with, the
# windows written so far, and the rows the watermark dropped in that step (both from the query's progress).

# %% tags=["shows:watermark-poisoned"]
# runs once: sends the poisoned trip and runs a query on its checkpoint
from etl_lib.parsing import with_reasons

def poisoning(max_ahead: str, tag: str) -> pd.DataFrame:
    p = s.replace(kafka_topic_bike=f"06.{tag}.bike-trips", kafka_topic_weather=f"06.{tag}.weather-data",
                  event_time_max_ahead=max_ahead)
    reset_topics(p, [p.kafka_topic_bike, p.kafka_topic_weather], 3)
    steps = {
        "an hour of data, 08:00-08:55": (
            [bike(200 + i, f"2018-04-02 08:{m:02d}:30") for i, m in enumerate((1, 16, 31, 46))],
            [weather(f"2018-04-02 08:{m:02d}:00") for m in range(0, 60, 5)]),
        "one trip stamped 9999-12-31 23:59:59": ([bike(299, "9999-12-31 23:59:59")], []),
        "the next hour, 09:00-10:00": (
            [bike(300 + i, f"2018-04-02 09:{m:02d}:30") for i, m in enumerate((1, 16, 31, 46))],
            [weather(f"2018-04-02 09:{m:02d}:00") for m in range(0, 60, 5)] + [weather("2018-04-02 10:00:00")]),
    }
    rows = []
    for step, (trips, readings) in steps.items():
        send(p.kafka_topic_bike, trips)
        if readings:
            send(p.kafka_topic_weather, readings)
        q = run_once(calculate_weather_transport_correlation(build_streams(spark, p)["combined"]), f"06_{tag}", p)
        rows.append({"after": step,
                     "watermark": q.lastProgress["eventTime"].get("watermark", "none yet")[:19].replace("T", " "),
                     "windows written": len(read_sink(p.data_dir / f"06_{tag}")),
                     "rows dropped as late": sum(op.get("numRowsDroppedByWatermark", 0)
                                                 for pr in q.recentProgress for op in pr["stateOperators"])})
    return pd.DataFrame(rows).set_index("after")

off = poisoning("600000 weeks", "poisoned")
off

# %% [markdown]
# After the poisoned trip the watermark stands at 9999-12-31 23:49:59: the open 08:45 window was written at once
# (its end is behind the watermark), and the next hour's records were all dropped as late. Every later day would
# go the same way, in every stateful query that reads the topic, until the checkpoint is deleted.
#
# **The rule that prevents it.** An event cannot be written to Kafka long before it happened. Every record
# carries its Kafka timestamp (set by the producer, or by the broker when the topic uses `LogAppendTime`), so the
# kit's parser quarantines a record whose event time is more than `EVENT_TIME_MAX_AHEAD` after it, with the reason
# `event time after arrival`, and one before `EVENT_TIME_FLOOR` (`event time before the floor`). Both compare
# values stored in the record, never the clock, so a batch replayed after a crash gets the same verdict; the
# replayed 2018 data, years before its Kafka timestamps, passes. The default of 1 hour is the margin a Kafka
# 4.1 broker itself gives a producer's clock (`log.message.timestamp.after.max.ms`, default 3,600,000 ms).
# Event times in the kit are Boston wall-clock times without a zone, read as UTC; a producer that writes the
# local time of a zone east of UTC needs a larger margin. The same experiment with the default:

# %% tags=["shows:poison-quarantined"]
# runs once: sends the poisoned trip again and runs the guarded query
on = poisoning(s.event_time_max_ahead, "guarded")
guarded = with_reasons(read_kafka_batch(spark, "06.guarded.bike-trips", s), "bike", s)
reason = guarded.where("reason IS NOT NULL").first()["reason"]
print("quarantined:", reason.split(" after its Kafka timestamp")[0], "after its Kafka timestamp ...")
on

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. An event at 08:20 arrives when the watermark is 08:45. Is it counted in the 08:15–08:30 window? Why?**
#
# <details><summary>Answer</summary>
#
# No. The watermark is already past the end of that window (08:30): Spark has finalised it and dropped its state, so the event has no window to go into. That is the watermark's doing, not the output mode's: in update mode the event is dropped too. (Strictly, Spark only promises to keep data *newer* than the watermark; data older than it may or may not be dropped. Here it is.)
#
# </details>
#
# **2. What does a larger watermark delay buy, and what does it cost?**
#
# <details><summary>Answer</summary>
#
# More late events are still counted, but every window is emitted later and Spark keeps more windows in its state store.
#
# </details>
#
# **3. How many sliding windows of 15 minutes, sliding every 5 minutes, contain a given event?**
#
# <details><summary>Answer</summary>
#
# Three (15 / 5).
#
# </details>
#
# **4. Why do the last windows of a finished run stay unwritten?**
#
# <details><summary>Answer</summary>
#
# Nothing newer has arrived to push the watermark past their end. The state store keeps them, and a later run with newer data emits them.
#
# </details>
#
# **5. An upstream replay sends one bike trip twice, 30 seconds apart. What does the raw Parquet hold, what do the analytics count, and why does `dropDuplicatesWithinWatermark` need a watermark?**
#
# <details><summary>Answer</summary>
#
# The raw Parquet holds both copies (it records what arrived); the analytics count the trip once, because they drop repeated (source, record id) pairs. The watermark bounds the deduplication state: Spark forgets an id once the watermark passes its first copy's event time plus the delay (and drops any row at or behind the watermark before the lookup). Without one, `dropDuplicates` on a stream keeps every id it has ever seen, and its state grows without end.
#
# </details>
#

# **6. The weather topic runs an hour ahead of the bike topic. With one watermark on their union, what happens to the bike counts? What changes with a watermark per topic and `multipleWatermarkPolicy=min`, and what does that cost?**
#
# <details><summary>Answer</summary>
#
# With one watermark, the watermark follows the weather, so bike records arrive behind it and their windows are already closed: they are left out, silently. With a watermark per topic and `min`, the slowest topic sets the watermark, so nothing is late because of another topic; the cost is that every window is written only when the slowest topic has moved past it, and a topic that stops sending holds every window open.
#
# </details>
#
# **7. The hand-written chain counted the 08:20 bike that the kit left out. Same data, same watermark delay: why?**
#
# <details><summary>Answer</summary>
#
# It read all the records in one micro-batch. The watermark used to drop late rows is the one computed at the end of the previous batch; in the first batch there is none, so nothing is late. The kit's query saw the 08:20 bike in its second run, after the first had moved the watermark to 08:45.
#
# </details>
#
# **8. In the event-time picture, batches 1 and 3 read no records at all. Why did Spark run them, and what did they write?**
#
# <details><summary>Answer</summary>
#
# They are no-data batches: after a batch that moved the newest event time, Spark runs one more batch with no input so that the new watermark takes effect at once, instead of waiting for the next record. In it, the windows whose end the watermark has passed are written (append mode) and dropped from the state. Batch 1 ran with watermark 08:45 and wrote the windows up to 08:30-08:45; batch 3 ran with 09:20.
#
# </details>
#
# **9. Your analytics stopped producing rows last night. Every query is active, none failed, raw Parquet still grows. What do you look at first, and what could one record have done?**
#
# <details><summary>Answer</summary>
#
# The watermark in the queries' progress (`eventTime.watermark`) and `numRowsDroppedByWatermark`. One record with an event time far in the future (year 9999) moves the watermark there for good; every record after it is behind the watermark and dropped, while the raw path, which has no watermark, keeps writing. The kit quarantines such a record (`EVENT_TIME_MAX_AHEAD`); a checkpoint already poisoned has to be started afresh.
#
# </details>
#
# **10. Why does the kit compare an event time with the record's Kafka timestamp, and not with the clock of the machine that parses it?**
#
# <details><summary>Answer</summary>
#
# So that the verdict is the same every time the record is parsed. A batch replayed after a crash, or a year of data replayed from Kafka, is parsed again later; with the clock, a record could be valid in one run and quarantined in the next, and the exactly-once counts would no longer hold. The Kafka timestamp is stored with the record, so the rule gives the same answer on every replay.
#
# </details>
#

# %%
counts = dict(zip(after_2.window_start.dt.strftime("%H:%M"), after_2.bike_count))
assert by_hand["08:15"] == 2 and kit["08:15"] == 1 and "09:15" not in by_hand, (
    f"expected the 08:15 window to hold 2 trips by hand (the late 08:20 one included) and 1 in the kit, and no "
    f"09:15 window by hand, found by hand {by_hand}, kit {kit}: " + START_OVER)
assert list(ahead_table["bike trips counted"]) == [24, 60, 24], (
    f"expected [24, 60, 24] bike trips counted by the three designs, found {list(ahead_table['bike trips counted'])}: "
    + START_OVER)
assert counts["08:15"] == 1 and counts["08:45"] == 2, (
    f"expected 1 trip at 08:15 and 2 at 08:45 after micro-batch 2, found {counts}: " + START_OVER)
assert int(read["late"].sum()) == dropped == 1, (
    "the picture's left-out record is the one Spark dropped: expected 1 in the picture and 1 dropped, found "
    f"{int(read['late'].sum())} and {dropped}: " + START_OVER)
assert sent_twice == 2 and window_0915 == 1, (
    f"expected trip b20 twice in Kafka and counted once, found {sent_twice} in Kafka and {window_0915} counted: "
    + START_OVER)
print("Late 08:20 bike left out, on-time 08:55 bike counted, a trip sent twice counted once: True")
print("A topic running ahead made 36 of 60 later bike trips late under one watermark, none under 'min': True")
assert (off.iloc[1]["watermark"] == "9999-12-31 23:49:59"
        and off.iloc[2]["windows written"] == off.iloc[1]["windows written"]), (
    "expected watermark 9999-12-31 23:49:59 after the poisoned trip and no window after it, found watermarks "
    f"{list(off['watermark'])} and windows written {list(off['windows written'])}: "
    + START_OVER)
assert (on.iloc[2]["watermark"] == "2018-04-02 09:50:00"
        and on.iloc[2]["windows written"] > on.iloc[1]["windows written"]), (
    "expected watermark 2018-04-02 09:50:00 and new windows in the next hour, found watermarks "
    f"{list(on['watermark'])} and windows written {list(on['windows written'])}: "
    + START_OVER)
assert reason.startswith("event time after arrival: start_time=9999-12-31 23:59:59"), (
    f"expected the 9999 trip quarantined for its event time after arrival, found the reason {reason!r}: "
    + START_OVER)
print("One trip stamped 9999 stopped every window after it; quarantined by EVENT_TIME_MAX_AHEAD, it stops none: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - Tumbling windows cut time without overlap; sliding windows overlap, each event counting in length / slide windows (→ *tumbling window*) [06#tumbling-windows] [06#sliding-windows]
# - Watermark = newest event time seen minus the delay; a window is final when the watermark passes its end (→ *the latest event time seen, minus a delay*) [06#window-waits-for-watermark] [06#watermark-per-batch]
# - In append mode a final window is written once and its state dropped; later events for it are left out (→ *In append mode a window's row is written once*) [06#late-event-dropped] [doc: Spark 4.2 · Structured Streaming Programming Guide · Handling Late Data and Watermarking]
# - A record is late against the watermark of the batches before it, not its own batch (→ *a record is late only against the watermark*) [06#watermark-per-batch] [06#by-hand-chain]
# - The chain on an exam: `withWatermark` before `groupBy(window(...))` (→ *A windowed aggregation, written by hand.*) [06#by-hand-chain] [doc: Spark 4.2 · Structured Streaming Programming Guide · Conditions for watermarking to clean aggregation state]
# - The chain to remember: `withWatermark` → `groupBy(window(...))` → `agg` → `writeStream.outputMode("append")` (→ *A windowed aggregation, written by hand.*) [06#by-hand-chain]
# - One watermark over several topics follows the fastest; one per topic with `min` follows the slowest (→ *One watermark, or one per topic?*) [06#watermark-per-topic]
# - One event time far in the future poisons the watermark for good; the kit quarantines it by its Kafka timestamp (→ *One impossible event time.*) [06#watermark-poisoned] [06#poison-quarantined]

# %% [markdown]
# **Further reading**
#
# - docs/spark_etl.md (windows and watermarks)
# - Spark Structured Streaming guide: handling late data and watermarking

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 05_parsing_and_quarantine](05_parsing_and_quarantine.ipynb) | [contents](README.md) | [07_parquet_and_checkpoints →](07_parquet_and_checkpoints.ipynb)
