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
# # 06 · Windows, watermarks and late data
#
# **You will learn to**
#
# - tell tumbling from sliding windows
# - explain what a watermark is and when a window is emitted
# - see a late event left out of its window
#
# **Prerequisites:** notebook 05\
# **Time:** about 20 minutes

# %%
from etl_lib.notebook import setup, show, spark_session

lesson = setup("06")
s = lesson.settings
spark = spark_session(s)

# %% tags=["parameters"]
watermark_delay: str = "10 minutes"

# %% [markdown]
# A **tumbling window** cuts time into fixed, non-overlapping pieces (`window(t, "15 minutes")`): each event
# is in exactly one. A **sliding window** has a length and a slide (`window(t, "15 minutes", "5 minutes")`): windows
# overlap and each event is in length/slide of them.

# %%
import pandas as pd
from pyspark.sql import functions as F

events = spark.createDataFrame(pd.DataFrame({"event_time": pd.to_datetime(
    ["2018-04-02 08:01", "2018-04-02 08:07", "2018-04-02 08:14", "2018-04-02 08:16", "2018-04-02 08:29"])}))
tumbling = events.groupBy(F.window("event_time", "15 minutes")).count()
sliding = events.groupBy(F.window("event_time", "15 minutes", "5 minutes")).count()
show(tumbling.select(F.date_format("window.start", "HH:mm").alias("start"), "count").orderBy("start"))

# %%
show(sliding.select(F.date_format("window.start", "HH:mm").alias("start"), "count").orderBy("start"), n=20)

# %% [markdown]
# A streaming aggregation cannot wait for ever for stragglers. The **watermark** is *the latest event time
# seen, minus a delay* (`WATERMARK_DELAY`, 10 minutes). In append mode a window's row is written once, when the
# watermark passes the window's end; after that, an event for that window is **left out**. Spark moves the
# watermark between micro-batches.
#
# The experiment: micro-batch 1 holds weather every 5 minutes from 08:00 to 08:55 and one bike per window. Then
# micro-batch 2 brings a **late** bike at 08:20, an on-time bike at 08:55, and weather up to 09:30.

# %%
import json
from kafka import KafkaProducer
from etl_lib.analytics import calculate_weather_transport_correlation
from etl_lib.commit_log import read_sink
from etl_lib.main import build_streams
from etl_lib.spark import read_kafka_batch
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
    return read_sink(s.analytics_output_path / "windows").sort_values("window_start").reset_index(drop=True)

send(s.kafka_topic_weather, [weather(f"2018-04-02 08:{m:02d}:00") for m in range(0, 60, 5)])
send(s.kafka_topic_bike, [bike(i, f"2018-04-02 08:{m:02d}:30") for i, m in enumerate((1, 16, 31, 46))])
after_1 = micro_batch()
after_1[["window_start", "bike_count"]].assign(window_start=lambda d: d.window_start.dt.strftime("%H:%M"))

# %% [markdown]
# The 08:45 window is not there yet: the watermark is 08:55 − 10 min = 08:45, not past its end (09:00).

# %%
send(s.kafka_topic_bike, [bike(10, "2018-04-02 08:20:00"), bike(11, "2018-04-02 08:55:00")])
send(s.kafka_topic_weather, [weather(f"2018-04-02 09:{m:02d}:00") for m in range(0, 35, 5)])
after_2 = micro_batch()
after_2[["window_start", "bike_count"]].assign(window_start=lambda d: d.window_start.dt.strftime("%H:%M"))

# %%
import matplotlib.pyplot as plt

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
plt.show()

# %% [markdown]
# **The same event twice.** A producer that retries after a lost acknowledgement sends a record again, byte for
# byte. The raw Parquet keeps both copies (it is the record of what arrived), but a count must not. Every
# analytic of the kit therefore drops repeated events by source and record id before it aggregates:
#
# ```python
# union.withWatermark("event_time", "10 minutes").dropDuplicatesWithinWatermark(["source", "event_id"])
# ```
#
# Spark remembers each id only until the watermark passes the event time of its first copy, so the state stays
# bounded (plain `dropDuplicates` on a stream would remember every id for ever). Below, trip `b20` at 09:25 is
# sent twice, and weather up to 10:00 moves the watermark past its window.

# %%
send(s.kafka_topic_bike, [bike(20, "2018-04-02 09:25:00")] * 2)
send(s.kafka_topic_weather, [weather(f"2018-04-02 09:{m:02d}:00") for m in range(35, 60, 5)]
     + [weather("2018-04-02 10:00:00")])
after_3 = micro_batch()
sent_twice = build_streams(spark, s, read=read_kafka_batch)["bike"].where("trip_id = 'b20'").count()
window_0915 = int(after_3.set_index(after_3.window_start.dt.strftime("%H:%M")).loc["09:15", "bike_count"])
print(f"records of trip b20 in Kafka: {sent_twice}; counted in the 09:15 window: {window_0915}")

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
# **5. A producer retry sends one bike trip twice, 30 seconds apart. What does the raw Parquet hold, what do the analytics count, and why does `dropDuplicatesWithinWatermark` need a watermark?**
#
# <details><summary>Answer</summary>
#
# The raw Parquet holds both copies (it records what arrived); the analytics count the trip once, because they drop repeated (source, record id) pairs. The watermark bounds the deduplication state: Spark forgets an id once the watermark passes the event time of its first copy. Without one, `dropDuplicates` on a stream keeps every id it has ever seen, and its state grows without end.
#
# </details>
#

# %%
counts = dict(zip(after_2.window_start.dt.strftime("%H:%M"), after_2.bike_count))
assert counts["08:15"] == 1 and counts["08:45"] == 2
assert sent_twice == 2 and window_0915 == 1
print("Late 08:20 bike left out, on-time 08:55 bike counted, a trip sent twice counted once: True")

# %% [markdown]
# ## Summary
#
# Tumbling windows partition time, sliding ones overlap. The watermark (latest event time minus a delay) decides when a window is final; in append mode its row is written once, and later events for it are left out.
#
# **Further reading**
#
# - docs/spark_etl.md (windows and watermarks)
# - Spark Structured Streaming guide: handling late data and watermarking

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 05_parsing_and_quarantine](05_parsing_and_quarantine.ipynb) | [contents](README.md) | [07_parquet_and_checkpoints →](07_parquet_and_checkpoints.ipynb)
