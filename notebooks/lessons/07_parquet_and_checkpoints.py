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
# # 07 · Parquet, partitions, checkpoints and exactly-once
#
# **You will learn to**
#
# - lay out Parquet by year/month/date/hour and read only the partitions needed
# - restart a query on its checkpoint with nothing lost and nothing twice
# - recognise what breaks when a query changes under an old checkpoint
#
# **Prerequisites:** notebook 05\
# **Time:** about 20 minutes

# %%
from etl_lib.notebook import setup, show, spark_session

lesson = setup("07")
s = lesson.settings
spark = spark_session(s)

# %% tags=["parameters"]
first_half: int = 600  # trips sent before the 'crash'
second_half: int = 400  # trips sent after it

# %% [markdown]
# A streaming query's **checkpoint** folder records, for every micro-batch, the Kafka offsets it will read
# (the *offset log*, written before the batch) and that the batch's output was committed (the *commit log*, written
# after). The Parquet sink also keeps a log of the files each batch wrote (`_spark_metadata`). On restart, Spark
# redoes an uncommitted batch with exactly the same offsets, and Spark's readers list files from the sink's log:
# **exactly-once** output. What makes it possible on the source side is that Kafka is a **replayable** source:
# the same offsets can be read again and give the same records.

# %%
import json
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
print("rows after the first run:", run_query().count())

# %% [markdown]
# The query has stopped (as if the machine had crashed after its last batch). More trips arrive; the same
# query is started again **on the same checkpoint**:

# %%
send_trips(first_half, second_half)
df = run_query()
print("rows:", df.count(), "| distinct trip ids:", df.select("trip_id").distinct().count(),
      "| sent in all:", first_half + second_half)

# %% [markdown]
# **What a crash leaves in the folder.** A micro-batch writes its data files first and names them in
# `_spark_metadata/<batch>` only when it commits. Killed in between, it leaves *orphan* files that no log entry
# names; after the restart the batch is written again under new file names. Below, an orphan is made the way a
# killed batch makes one (a data file that the log does not list), then the folder is read three ways.

# %%
import shutil
import pandas as pd
from etl_lib.commit_log import orphan_files, read_sink

sink = s.output_base_path / "bike_trips"
victim = sorted(sink.rglob("*.parquet"))[0]
shutil.copy(victim, victim.with_name("part-99999-killed-batch.c000.snappy.parquet"))
print("orphan files (in the folder, not in the sink's log):", len(orphan_files(sink)))
print("pandas.read_parquet(folder) rows:", len(pd.read_parquet(sink, columns=["trip_id"])), "<- counts the orphan")
print("Spark spark.read.parquet rows:   ", spark.read.parquet(str(sink)).count())
print("etl_lib.commit_log.read_sink rows:", len(read_sink(sink, columns=["trip_id"])))

# %% [markdown]
# Only readers that honour the sink's log get exactly-once: Spark does, and so does the kit's
# `read_sink`, which every part of the kit uses to read a sink outside Spark (the report, the notebooks, the
# tests). pandas or pyarrow over the folder do not. The orphan stays until someone deletes it; it is harmless to
# every reader that honours the log.

# %%
import os

layout = sorted(os.path.relpath(p, s.output_base_path / "bike_trips")
                for p, _, files in os.walk(s.output_base_path / "bike_trips") if any(f.endswith(".parquet") for f in files))
layout

# %% [markdown]
# Partition folders let a query skip data: a filter on the partition columns reads only the matching
# folders (**partition pruning**).

# %%
show(df.where("date = '2018-04-02' and hour = 9").groupBy("hour").count())

# %% [markdown]
# **A checkpoint belongs to one query.** Change a stateful query so that its saved state no longer fits,
# here by grouping by station as well as by window, and restart it on the old checkpoint: Spark refuses. (Changing
# only the window *length* is accepted, because the state's key is still a window: the old windows would silently
# mix with the new ones, which is worse.) The fix is a new checkpoint folder, and usually reprocessing from the
# earliest offsets.

# %%
import re
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
print("restart refused:", refused is not None, "| error class:", refused)

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. What is in a streaming checkpoint, and why does it give exactly-once output with a file sink?**
#
# <details><summary>Answer</summary>
#
# The offset log (which Kafka offsets each batch reads, written before it runs), the commit log (which batches finished) and the state of stateful operators; the file sink keeps its own log of committed files in `_spark_metadata`. A failed batch is redone with the same offsets (Kafka can replay them), and files not in the sink's log are ignored by readers that honour it: Spark's readers and the kit's `read_sink`, but not `pandas.read_parquet` over the folder, which counts a killed batch's orphan files.
#
# </details>
#
# **2. Why partition by year/month/date/hour, and what is the cost of going too fine?**
#
# <details><summary>Answer</summary>
#
# Queries filtering on time read only matching folders. Too fine a partitioning (or many writers per folder) makes many tiny files: slow to write, slow to list and read (the small files problem).
#
# </details>
#
# **3. You changed a window length and restarted: the query fails. What are the options?**
#
# <details><summary>Answer</summary>
#
# Start with a new checkpoint folder (and reprocess from the earliest offsets, or accept the gap), or undo the change. Stateful state cannot be reused by a different query.
#
# </details>
#
# **4. Does `startingOffsets=earliest` matter when a query restarts on its checkpoint?**
#
# <details><summary>Answer</summary>
#
# No: it applies only to a new checkpoint. A restarted query continues from the offsets in its checkpoint.
#
# </details>
#

# %%
assert df.count() == df.select("trip_id").distinct().count() == first_half + second_half
assert refused is not None
assert len(read_sink(sink)) == first_half + second_half
print("After the restart: nothing lost, nothing twice; the changed stateful query was refused: True")

# %% [markdown]
# ## Summary
#
# Checkpoints (offset log, commit log, state, sink log) make a restarted query continue exactly where it stopped, with no duplicates and no gaps. Partition folders speed up reads; a changed stateful query needs a new checkpoint.
#
# **Further reading**
#
# - docs/spark_etl.md (checkpoints)
# - docs/troubleshooting.md (checkpoint does not fit)

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 06_windows_and_watermarks](06_windows_and_watermarks.ipynb) | [contents](README.md) | [08_analytics_and_plots →](08_analytics_and_plots.ipynb)
