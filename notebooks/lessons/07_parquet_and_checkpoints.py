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
from etl_lib.lab import START_OVER, setup, show, spark_session

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
# runs once: sends the first trips and runs the query
import json
from etl_lib.main import build_streams
from etl_lib.lab import send_json
from etl_lib.writers import write_parquet_stream

def send_trips(start, n):
    """Bike trips t<start> .. t<start+n-1>, five per minute from 08:00, keyed by one of seven stations."""
    trips, keys = [], []
    for i in range(start, start + n):
        ts = f"2018-04-02 {8 + i // 300:02d}:{(i // 5) % 60:02d}:00"
        trips.append({"trip_id": f"t{i:05d}", "trip_duration": 600, "start_time": ts, "stop_time": ts,
                      "start_station_id": 3 + i % 7, "end_station_id": 4})
        keys.append(str(i % 7))
    send_json(s.kafka_bootstrap_servers, s.kafka_topic_bike, trips, s, keys=keys)

def run_query():
    q = write_parquet_stream(build_streams(spark, s)["bike"], "bike_trips", s, available_now=True)
    q.awaitTermination()
    return spark.read.parquet(str(s.output_base_path / "bike_trips"))

send_trips(0, first_half)
print("rows after the first run:", run_query().count())

# %% [markdown]
# **The sink, written by hand.** The chain you would write on an exam: `writeStream`, the Parquet format, an
# output path, a checkpoint folder of its own, the partition columns, the output mode (a file sink takes only
# append) and a trigger. Run on the same topic into another folder, it writes the same rows:

# %% tags=["shows:sink-by-hand"]
from etl_lib.parsing import parse_bike_stream
from etl_lib.spark import read_kafka_stream

bikes = parse_bike_stream(read_kafka_stream(spark, s.kafka_topic_bike, s))
q = (bikes.writeStream
     .format("parquet")
     .option("path", str(s.data_dir / "by_hand" / "bike_trips"))
     .option("checkpointLocation", str(s.data_dir / "by_hand" / "checkpoints" / "bike_trips"))
     .partitionBy("year", "month", "date", "hour")
     .outputMode("append")
     .trigger(availableNow=True)  # a pipeline that keeps running: .trigger(processingTime="10 seconds")
     .start())
q.awaitTermination()
print("rows written by hand:", spark.read.parquet(str(s.data_dir / "by_hand" / "bike_trips")).count())

# %% [markdown]
# The kit's `write_parquet_stream` is that chain, with the folders and the trigger from the settings, plus a
# `repartition` by the partition columns so that each micro-batch writes one file per hour (not one per Kafka
# partition per hour: the small-files problem):

# %% tags=["shows:kit-sink-chain"]
import inspect
from etl_lib import writers

for fn in (writers.write_parquet_stream, writers._start, writers._trigger):
    print(inspect.getsource(fn).split('"""')[-1].strip("\n") if fn.__doc__ else inspect.getsource(fn))

# %% [markdown]
# The query has stopped (as if the machine had crashed after its last batch). More trips arrive; the same
# query is started again **on the same checkpoint**:

# %% tags=["shows:restart-exactly-once"]
# runs once: sends more trips and restarts the query
send_trips(first_half, second_half)
df = run_query()
print("rows:", df.count(), "| distinct trip ids:", df.select("trip_id").distinct().count(),
      "| sent in all:", first_half + second_half)

# %% [markdown]
# **What a crash leaves in the folder.** A micro-batch writes its data files first and names them in
# `_spark_metadata/<batch>` only when it commits. Killed in between, it leaves *orphan* files that no log entry
# names; after the restart the batch is written again under new file names. Below, an orphan is made the way a
# killed batch makes one (a data file that the log does not list), then the folder is read three ways.

# %% tags=["shows:orphan-file"]
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
# every reader that honours the log. To clean up once the query has stopped, `python -m etl_lib commit-log orphans`
# lists every orphan in the kit's sink folders with its size (a dry run), and `--delete` removes them, never a file
# the log names. An orphan written after the sink's last commit, like the one above, could be the batch a running
# query is writing, so it is kept unless you add `--include-recent`.

# %% tags=["shows:partition-folders"]
import os
import re

def natural(path):
    """Sort key that puts hour=8 before hour=10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]

layout = sorted((os.path.relpath(p, s.output_base_path / "bike_trips")
                 for p, _, files in os.walk(s.output_base_path / "bike_trips")
                 if any(f.endswith(".parquet") for f in files)), key=natural)
layout

# %% [markdown]
# Partition folders let a query skip data: a filter on the partition columns reads only the matching
# folders (**partition pruning**).

# %% tags=["shows:partition-filter"]
show(df.where("date = '2018-04-02' and hour = 9").groupBy("hour").count())

# %% [markdown]
# **A checkpoint belongs to one query, but Spark checks only what it can.** At a restart Spark compares the
# saved *state's schema* with the new query's. Change only the window **length**, 15 to 10 minutes: the state's
# key is still a window (a start and an end), so Spark **accepts** the restart, and the output silently mixes
# 15-minute windows (from the old state) with 10-minute ones. Nothing fails, and the result is wrong.

# %% tags=["shows:changed-window-accepted"]
# runs once: runs the window query, sends 300 trips, restarts it changed
from pyspark.sql import functions as F

from etl_lib.writers import run_once  # the chain above in one call: Parquet, checkpoint, available-now, wait

def windowed(length, *keys):
    bikes = build_streams(spark, s)["bike"]
    counts = bikes.withWatermark("event_time", "10 minutes").groupBy(F.window("event_time", length), *keys).count()
    return run_once(counts, "counts", s)

windowed("15 minutes")
send_trips(first_half + second_half, 300)  # new data, so that the restarted query runs a micro-batch
windowed("10 minutes")
counts = read_sink(s.data_dir / "counts")
minutes = counts["window"].map(lambda w: (pd.to_datetime(w["end"]) - pd.to_datetime(w["start"])) // pd.Timedelta(minutes=1))
mixed = minutes.value_counts().sort_index().rename_axis("window length (minutes)").rename("windows written")
mixed.to_frame()

# %% [markdown]
# **Adaptive Query Execution in streaming: stateless yes, stateful no.** The seed turns on AQE
# (`spark.sql.adaptive.enabled`), and so does the kit's session. Since release 4.1 a second setting,
# `spark.sql.adaptive.streaming.stateless.enabled` (on by default), lets AQE plan every micro-batch of a
# **stateless** query: after a shuffle it looks at the real sizes and, for example, coalesces small shuffle
# partitions. A **stateful** query (aggregation, deduplication, stream–stream join) is always planned without
# AQE: its state is split by the shuffle's partitions, and the checkpoint fixes how many there are.
#
# Below: the bike stream shuffled by station (stateless) with that setting on and off, then a windowed count
# (stateful). `planned_with_aqe` reads each query's last plan; the files each micro-batch wrote show what AQE did.
# (Each query also logs `ResolveWriteToStream: spark.sql.adaptive.enabled is not supported in streaming
# DataFrames/Datasets and will be disabled`, a warning older than the stateless setting; the plans below are
# what actually ran.)

# %% tags=["shows:aqe-streaming"]
# runs once: runs three queries on their own checkpoints
from etl_lib.commit_log import committed_batches, committed_files
from etl_lib.spark import planned_with_aqe, spark_log_file

def by_station(stateless_aqe):
    spark.conf.set("spark.sql.adaptive.streaming.stateless.enabled", str(stateless_aqe).lower())
    folder = f"by_station_aqe_{str(stateless_aqe).lower()}"
    q = run_once(build_streams(spark, s)["bike"].repartition("start_station_id"), folder, s)
    files_per_batch = len(committed_files(s.data_dir / folder)) / len(committed_batches(s.data_dir / folder))
    return planned_with_aqe(q), files_per_batch

rows = {f"stateless, stateless AQE {'on' if on else 'off'}": by_station(on) for on in (True, False)}
spark.conf.unset("spark.sql.adaptive.streaming.stateless.enabled")
per_window = build_streams(spark, s)["bike"].withWatermark("event_time", "10 minutes").groupBy(
    F.window("event_time", "15 minutes")).count()
rows["stateful (windowed count)"] = (planned_with_aqe(run_once(per_window, "aqe_stateful", s)), None)
print(f"shuffle partitions: {spark.conf.get('spark.sql.shuffle.partitions')}")
for name, (aqe, files) in rows.items():
    print(f"{name:<32} planned with AQE: {aqe!s:<5}" + (f" | files per micro-batch: {files:.0f}" if files else ""))
print("driver log:", sorted({line.split(" WARN ", 1)[1].strip() for line in spark_log_file(s).read_text().splitlines()
                             if " WARN " in line and "stateful workloads" in line}))

# %% [markdown]
# Where AQE does act: a **batch** query. Trips per hour from the raw Parquet need a shuffle into
# `spark.sql.shuffle.partitions` (4) partitions; at run time AQE sees how little data the shuffle holds and
# coalesces it (`AQEShuffleRead coalesced` in the final plan).

# %% tags=["shows:aqe-batch-coalesce"]
def per_hour_partitions(adaptive):
    spark.conf.set("spark.sql.adaptive.enabled", str(adaptive).lower())
    per_hour = spark.read.parquet(str(sink)).groupBy("hour").count()
    per_hour.collect()
    plan = per_hour._jdf.queryExecution().executedPlan().toString()
    return per_hour.rdd.getNumPartitions(), "AQEShuffleRead coalesced" in plan

aqe_on, aqe_off = per_hour_partitions(True), per_hour_partitions(False)
spark.conf.set("spark.sql.adaptive.enabled", "true")
print(f"shuffle partitions configured: {spark.conf.get('spark.sql.shuffle.partitions')} | "
      f"with AQE: {aqe_on[0]} (coalesced: {aqe_on[1]}) | without AQE: {aqe_off[0]}")

# %% [markdown]
# `spark.sql.shuffle.partitions` is one of the settings a stateful query takes **from its checkpoint**: its state
# is stored in that many partitions, so a restart keeps the first value whatever the session says now. Restart
# the window query with the session set to 8:

# %% tags=["shows:shuffle-partitions-fixed"]
# runs once: sends 50 trips and restarts the window query
spark.conf.set("spark.sql.shuffle.partitions", "8")
send_trips(first_half + second_half + 300, 50)
windowed("10 minutes")
spark.conf.set("spark.sql.shuffle.partitions", str(s.spark_shuffle_partitions))
checkpoint = s.data_dir / "checkpoints" / "counts"
last_offsets = max((checkpoint / "offsets").iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else -1)
saved = json.loads(last_offsets.read_text().splitlines()[1])["conf"]["spark.sql.shuffle.partitions"]
state_partitions = sum(1 for p in (checkpoint / "state" / "0").iterdir() if p.name.isdigit())
print(f"session: 8 | offset log of the last batch: {saved} | state partitions on disk: {state_partitions}")

# %% [markdown]
# Now change the state's **key**, grouping by station as well as by window: the saved state no longer fits and
# Spark refuses to restart. In both cases the fix is a new checkpoint folder (with a new output folder: see
# below), and usually reprocessing from the earliest offsets.

# %% tags=["shows:changed-key-refused"]
# runs once: sends 50 trips and restarts the query with a changed key
send_trips(first_half + second_half + 350, 50)  # new data, so that the restarted query runs a micro-batch
try:
    windowed("10 minutes", "start_station_id")
    refused = None
except Exception as err:
    # Spark wraps the cause: show the most specific error class, the one about the state.
    classes = re.findall(r"\[([A-Z_]{6,})[\].]", str(err))
    refused = next((c for c in classes if "STATE" in c), classes[0] if classes else type(err).__name__)
print("restart refused:", refused is not None, "| error class:", refused)

# %% [markdown]
# **A new checkpoint needs a new output folder too.** Say you reprocess by deleting only the checkpoint and
# keeping the output. The restarted query is new: it reads from `startingOffsets` (earliest) and numbers its
# batches from 0 again. But the output folder still holds `_spark_metadata`, the file sink's log, which says
# batch 0 is already committed, so the sink *skips* the new batch 0: nothing is written twice, and the records
# of that batch, new ones included, are silently lost. Reprocessing takes a new checkpoint **and** a new path.

# %% tags=["shows:deleted-checkpoint-loses"]
# runs once: runs a query, deletes its checkpoint, sends 20 trips, runs it again
raw_bikes = build_streams(spark, s)["bike"]
run_once(raw_bikes, "reprocessed", s)
before = len(read_sink(s.data_dir / "reprocessed"))
shutil.rmtree(s.data_dir / "checkpoints" / "reprocessed")  # the checkpoint goes, the output stays
send_trips(first_half + second_half + 400, 20)  # 20 trips that arrive after the first run
again = run_once(raw_bikes, "reprocessed", s)
# The new batch 0 covered the topic from its start (its end offsets say how far), and then was skipped.
covered = sum(json.loads(again.lastProgress["sources"][0]["endOffset"])[s.kafka_topic_bike].values())
kept = len(read_sink(s.data_dir / "reprocessed"))
run_once(raw_bikes, "reprocessed_v2", s)
fresh = len(read_sink(s.data_dir / "reprocessed_v2"))
print(f"first run: {before} trips written | checkpoint deleted, run again: batch 0 covered {covered} records, "
      f"the folder still holds {kept}: {covered - before} new trips lost, none written twice")
print(f"new checkpoint and new output path: {fresh} trips written")

# %% [markdown]
# **What a source owes exactly-once: offsets it can replay.** Kafka is one source; pyspark 4's Python Data Source
# API lets you write another in Python. `data_gen/spark_source.py` serves the simulated world as
# `format("datagen")`, and what it must provide is what exactly-once rests on: an **offset** that names a position
# and always means the same records (here the index in the kind's delivery order, `{"index": n}`; the world is
# seeded), `initialOffset()`, `latestOffset(start, limit)` (how far a batch may read; `maxRecordsPerBatch` is a
# read limit), `partitions(start, end)` (the range cut into slices, one task each) and `read(slice)` (the rows,
# made again on the worker). Spark writes each batch's offsets to the checkpoint before it runs the batch, so a
# restart asks for the same ranges; the file sink's log then keeps each batch once. The same world's taxis:

# %% tags=["shows:python-source"]
from data_gen.spark_source import register
from etl_lib.parsing import parse_taxi_stream

register(spark)  # spark.dataSource.register(DataGenSource)
world = (spark.readStream.format("datagen").option("kind", "taxi").option("days", 1).option("scale", 0.05)
         .option("maxRecordsPerBatch", 200).load())
taxis_run = run_once(parse_taxi_stream(world, s), "taxis_from_python", s)
offsets = [json.loads(p["sources"][0]["endOffset"])["index"] for p in taxis_run.recentProgress]
written = len(read_sink(s.data_dir / "taxis_from_python"))
print(f"{len(offsets)} micro-batches, end offsets {offsets}; {written} valid taxi trips written")
again = run_once(parse_taxi_stream(world, s), "taxis_from_python", s)
print("run again on the checkpoint:", sum(p["numInputRows"] for p in again.recentProgress), "records read,",
      len(read_sink(s.data_dir / "taxis_from_python")), "trips in the folder")

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
# **3. You changed a window length from 15 to 10 minutes and restarted on the old checkpoint. What happens, and what should you have done?**
#
# <details><summary>Answer</summary>
#
# Spark accepts it: the state's key is still a window, so its schema check passes. The windows still open in the old state are written with 15 minutes, new ones with 10: a mixed output and no error. A change to the key (grouping by another column) or to the aggregates is refused. Either way, a changed stateful query needs a new checkpoint folder (and reprocessing from the earliest offsets, or accepting the gap).
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
# **5. You set `spark.sql.shuffle.partitions` to 200 and restart a windowed query on its checkpoint. How many state partitions does it use? And does `spark.sql.adaptive.enabled` coalesce them?**
#
# <details><summary>Answer</summary>
#
# The value saved in the checkpoint (here 4): the state is stored in that many partitions, so a restart keeps it. AQE never plans a stateful query (Spark logs "Disabling AQE since AQE is not supported in stateful workloads"), so it cannot coalesce them. It does plan stateless streaming queries since release 4.1 (`spark.sql.adaptive.streaming.stateless.enabled`, on by default: the station-shuffled stream above wrote one file per micro-batch instead of four) and batch queries, such as a report over the raw Parquet.
#
# </details>
#

# %%
assert df.count() == df.select("trip_id").distinct().count() == first_half + second_half, (
    f"expected {first_half + second_half} trips, each once, found {df.count()} rows and "
    f"{df.select('trip_id').distinct().count()} distinct ids: "
    + START_OVER)
assert refused is not None, (
    "expected Spark to refuse the restart with a changed key, found it accepted: "
    + START_OVER)
assert set(mixed.index) == {10, 15} and aqe_on == (1, True) and aqe_off[0] == 4, (
    "expected windows of 10 and 15 minutes, (1, True) with AQE and 4 partitions without, found "
    f"{sorted(mixed.index)}, {aqe_on} and {aqe_off[0]}: "
    + START_OVER)
assert saved == str(s.spark_shuffle_partitions) and state_partitions == s.spark_shuffle_partitions, (
    f"expected {s.spark_shuffle_partitions} shuffle partitions in the offset log and on disk, found {saved} and "
    f"{state_partitions}: "
    + START_OVER)
assert len(read_sink(sink)) == first_half + second_half, (
    f"expected the sink's log to list {first_half + second_half} trips, found {len(read_sink(sink))}: "
    + START_OVER)
print("After the restart: nothing lost, nothing twice; the changed stateful query was refused: True")
print("A changed window length was accepted (mixed windows); shuffle partitions came from the checkpoint: True")
stateless_on, stateless_off, stateful_row = rows.values()
assert stateless_on[0] and not stateless_off[0] and not stateful_row[0] and stateless_on[1] < stateless_off[1], (
    "expected AQE to plan only the stateless query with stateless AQE on, and fewer files per batch there, found "
    f"{rows}: "
    + START_OVER)
assert kept == before and covered == before + 20 and fresh == before + 20, (
    f"expected {before} trips kept, {before + 20} covered and {before + 20} in the new folder, found {kept}, "
    f"{covered} and {fresh}: "
    + START_OVER)
print("AQE planned the stateless stream, not the stateful one; a deleted checkpoint with a kept output lost the "
      "re-read batch: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - The sink: `writeStream.format("parquet")`, path, `checkpointLocation`, `partitionBy`, append, trigger, `start()` (→ *The sink, written by hand.*) [07#sink-by-hand]
# - The checkpoint holds the offset log, the commit log and the state; a restart continues exactly where it stopped (→ *on the same checkpoint*) [07#restart-exactly-once] [07#shuffle-partitions-fixed] [doc: Spark 4.2 · Structured Streaming Programming Guide · Recovering from Failures with Checkpointing]
# - A killed batch leaves files in the folder; read a sink only through its `_spark_metadata` log (→ *What a crash leaves in the folder.*) [07#orphan-file]
# - Partition folders speed up reads: a filter on the partition columns reads only the matching folders (→ *partition pruning*) [07#partition-folders] [07#partition-filter]
# - A checkpoint belongs to one query, and a changed stateful query needs a new one: Spark refuses a changed key but accepts a changed window length and mixes the windows (→ *A checkpoint belongs to one query, but Spark checks only what it can.*) [07#changed-key-refused] [07#changed-window-accepted]
# - The checkpoint also fixes `spark.sql.shuffle.partitions`; AQE plans batch queries and, since release 4.1, stateless streaming queries, never stateful ones (→ *Adaptive Query Execution in streaming: stateless yes, stateful no.*) [07#shuffle-partitions-fixed] [07#aqe-streaming] [07#aqe-batch-coalesce]
# - Reprocessing needs a new checkpoint and a new output folder (→ *A new checkpoint needs a new output folder too.*) [07#deleted-checkpoint-loses]
# - A source gives exactly-once only with offsets it can replay: the same offsets, the same records (a Python source: `initialOffset`, `latestOffset`, `partitions`, `read`) (→ *What a source owes exactly-once: offsets it can replay.*) [07#python-source]

# %% [markdown]
# **Further reading**
#
# - docs/spark_etl.md (checkpoints)
# - docs/troubleshooting.md (checkpoint does not fit)

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 06_windows_and_watermarks](06_windows_and_watermarks.ipynb) | [contents](README.md) | [08_analytics_and_plots →](08_analytics_and_plots.ipynb)
