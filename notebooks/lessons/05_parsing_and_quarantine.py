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
# # 05 · Parsing with explicit schemas, and the quarantine
#
# **You will learn to**
#
# - read Kafka with Spark and parse JSON with an explicit schema
# - give every bad record a reason and keep it in quarantine
# - check the counts against the answer key
#
# **Prerequisites:** notebook 04\
# **Time:** about 20 minutes

# %%
from etl_lib.lab import START_OVER, setup, show, spark_session

lesson = setup("05")
s = lesson.settings
spark = spark_session(s)

# %% tags=["parameters"]
days: int = 1  # simulated days
scale: float = 0.1
malformed_fraction: float = 0.05  # more damage than usual, to see every kind

# %% [markdown]
# Spark's Kafka source gives every record as bytes plus its coordinates: `key`, `value`, `topic`,
# `partition`, `offset`, `timestamp`. Turning `value` into columns needs a **schema**. Inferring one from the
# data is fragile (the first batch decides the types, a typo invents a column); the kit writes each schema down
# once, in `etl_lib/schemas.py`.

# %% tags=["shows:explicit-schema"]
# runs once: sends a simulated day of the four streams to Kafka
from data_gen import GenParams, KafkaSink, generate
from etl_lib.parsing import spark_schema

key = generate(GenParams(days=days, scale=scale, malformed_fraction=malformed_fraction),
               KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics, settings=s))
print(spark_schema("taxi").simpleString())

# %% [markdown]
# **The stage as you would write it on an exam.** Reading Kafka is one builder chain:
# `spark.readStream.format("kafka")`, its options, `load()`. Parsing is `from_json` on the value (bytes cast to a
# string) with an explicit schema, then the event time and the partition columns. Written out by hand for bike
# trips, with only the fields this needs:

# %% tags=["shows:exam-chain"]
from pyspark.sql import functions as F
from pyspark.sql.types import IntegerType, StringType, StructField, StructType

bike_schema = StructType([
    StructField("trip_id", StringType()), StructField("trip_duration", IntegerType()),
    StructField("start_time", StringType()), StructField("stop_time", StringType()),
    StructField("start_station_id", IntegerType()), StructField("end_station_id", IntegerType()),
])
raw = (spark.readStream.format("kafka")
       .option("kafka.bootstrap.servers", s.kafka_bootstrap_servers)
       .option("subscribe", s.kafka_topic_bike)
       .option("startingOffsets", "earliest")
       .load())
bikes = (raw.select(F.from_json(F.col("value").cast("string"), bike_schema).alias("trip"))
         .select("trip.*")
         # try_to_timestamp gives null for a malformed time; to_timestamp would stop the query (ANSI mode).
         .withColumn("event_time", F.try_to_timestamp("start_time", F.lit("yyyy-MM-dd HH:mm:ss")))
         .where(F.col("trip_id").isNotNull() & F.col("event_time").isNotNull())
         .withColumn("year", F.year("event_time")).withColumn("month", F.month("event_time"))
         .withColumn("date", F.date_format("event_time", "yyyy-MM-dd")).withColumn("hour", F.hour("event_time")))

q = bikes.writeStream.format("memory").queryName("exam_bikes").trigger(availableNow=True).start()
q.awaitTermination()
exam_rows = spark.table("exam_bikes").count()
print("streaming:", bikes.isStreaming, "| rows the hand-written chain kept:", exam_rows)

# %% [markdown]
# The kit's `read_kafka_stream` is the same chain, with its options taken from the settings:

# %% tags=["shows:read-kafka-stream"]
import inspect
from etl_lib import parsing
from etl_lib.spark import read_kafka_stream

def body(fn):
    """A function's code without its docstring."""
    return inspect.getsource(fn).split('"""')[-1].strip("\n")

print(body(read_kafka_stream))

# %% [markdown]
# and `parse_bike_stream(raw)` is `parse_stream(raw, "bike")`: the same `from_json` with the explicit schema
# (inside `with_reasons`, which also gives each record its reason), then `valid_records`: the valid records kept,
# then the time columns:

# %% tags=["shows:parse-stream"]
print(body(parsing.parse_stream))
print(body(parsing.valid_records))
print(body(parsing._with_time_columns))

# %% [markdown]
# The hand-written chain keeps more rows than the kit, and the difference is the point of a quarantine:
# `from_json` turns a field of the wrong type into null *and keeps the record*, and nothing in the chain checks a
# negative duration or a missing station. The kit keeps exactly the records that pass every rule:

# %% tags=["shows:kit-vs-hand-chain"]
from etl_lib.parsing import parse_bike_stream

q = (parse_bike_stream(read_kafka_stream(spark, s.kafka_topic_bike, s))
     .writeStream.format("memory").queryName("kit_bikes").trigger(availableNow=True).start())
q.awaitTermination()
kit_rows = spark.table("kit_bikes").count()
print(f"hand-written chain: {exam_rows} rows | kit: {kit_rows} valid rows "
      f"(answer key: {key['counts']['bike']['valid']}) | let through by the hand-written chain: {exam_rows - kit_rows}")

# %% [markdown]
# **Where the parsing runs.** That chain is DataFrame expressions: Python only describes it, and the executors run
# it in the JVM, so no Python code runs per record (and the GIL of notebook 02 plays no part). A Python UDF is
# different: the executor hands the rows to Python worker processes of its own, outside the driver's interpreter.
# The plans show which is which (`explain()` prints the plan; here it is captured as text):

# %% tags=["shows:udf-python-workers"]
import io
import os
import re
from contextlib import redirect_stdout

from pyspark.sql import functions as F


def plan_text(query_or_df):
    printed = io.StringIO()
    with redirect_stdout(printed):
        query_or_df.explain()
    return printed.getvalue()


@F.udf("int")
def worker_pid(_):
    import os
    return os.getpid()


with_udf = spark.range(0, 1000, numPartitions=2).select(worker_pid("id").alias("pid"))
pids = {row.pid for row in with_udf.distinct().collect()}
print("a Python step in the kit's parsing plan:", re.search(r"\w*EvalPython", plan_text(q)) is not None)
print("the Python step in the UDF's plan:", re.search(r"\w*EvalPython", plan_text(with_udf)).group())
print("the UDF ran in the driver's Python process:", os.getpid() in pids, "| in other processes:", len(pids) > 0)

# %% [markdown]
# **Where a query starts reading, and who remembers where it got to.** `startingOffsets` says where a query
# starts *the first time*: `earliest` (everything the topic holds) or `latest` (only what arrives after the start).
# From then on the query's checkpoint decides: it holds the offsets of every batch, and a restart continues from
# them whatever `startingOffsets` says. Spark's Kafka source does **not** use Kafka's consumer groups for this:
# it assigns partitions itself and commits no offset to the broker, so the list of consumer groups does not change.
# Below, on a topic of its own holding 12 records, two queries, one from `earliest` and one from `latest`, run;
# then five more records are sent and both run again from their checkpoints.

# %% tags=["shows:starting-offsets"]
# runs once: sends 17 notes and runs two queries on their checkpoints
from etl_lib.lab import consumer_groups, reset_topics
from etl_lib.lab import send_json
from etl_lib.writers import run_once

demo_topic = "05.starting-offsets"
reset_topics(s, [demo_topic], 3)

def send_notes(n, note):
    send_json(s.kafka_bootstrap_servers, demo_topic, [{"note": note}] * n, s, keys=[str(i) for i in range(n)])

def run_from(starting, name):
    """Rows one available-now run of a query over the demo topic reads (its checkpoint keeps the offsets)."""
    raw = read_kafka_stream(spark, demo_topic, s, starting_offsets=starting)
    query = run_once(raw.selectExpr("CAST(value AS STRING) AS value"), name, s)  # Parquet, available-now
    return sum(p["numInputRows"] for p in query.recentProgress)

groups_before = consumer_groups(s)
send_notes(12, "sent before the queries started")
first = {start: run_from(start, f"from_{start}") for start in ("earliest", "latest")}
send_notes(5, "sent after the first run")
again = {start: run_from(start, f"from_{start}") for start in ("earliest", "latest")}
for start in first:
    print(f"startingOffsets={start:<8}  first run: {first[start]:>4} rows | run again from its checkpoint: "
          f"{again[start]} rows")
print("consumer groups the Spark queries added on the broker:", sorted(consumer_groups(s) - groups_before))

# %% [markdown]
# **Schema inference is for files, not Kafka.** The seed sets `spark.sql.streaming.schemaInference=true`. It
# has no effect on Kafka: the Kafka source's schema is always the same seven columns (an eighth, `headers`, only
# with the option `includeHeaders`), and the JSON inside `value`
# is parsed only with the schema you give `from_json`. The setting applies to *file* sources (JSON, CSV,
# Parquet folders). Without it, a streaming file source refuses to start without a schema:

# %% tags=["shows:kafka-source-columns"]
# runs once: writes the first file into a new landing folder
import json

landing = s.data_dir / "landing"
landing.mkdir(parents=True)
(landing / "part-1.json").write_text("".join(
    json.dumps({"trip_id": f"t{i}", "trip_duration": 600 + i, "start_station_id": 3}) + "\n" for i in range(3)))
print("Kafka source columns:", read_kafka_stream(spark, s.kafka_topic_bike, s).columns)
try:
    spark.readStream.json(str(landing))
except Exception as err:
    print("file source, no schema:", type(err).__name__, "-", str(err).split(". ")[0])

# %% [markdown]
# With inference on, Spark reads the files present **when the query is defined** and fixes the schema then. A
# file that arrives later with a decimal duration, a station code in letters and a new field does not change
# it: the values that do not fit become null and the new field is dropped, without an error.

# %% tags=["shows:inference-fixed"]
# runs once: lands a second file and runs a query on the folder
spark.conf.set("spark.sql.streaming.schemaInference", "true")
inferred = spark.readStream.json(str(landing))
print("inferred from the first file:", inferred.schema.simpleString())
(landing / "part-2.json").write_text("".join(
    json.dumps({"trip_id": f"u{i}", "trip_duration": 612.5, "start_station_id": "A32", "bike_id": 7}) + "\n"
    for i in range(2)))
q = inferred.writeStream.format("memory").queryName("landed").trigger(availableNow=True).start()
q.awaitTermination()
spark.conf.unset("spark.sql.streaming.schemaInference")
landed = spark.table("landed").orderBy("trip_id").toPandas().astype(  # whole numbers with nulls
    {"start_station_id": "Int64", "trip_duration": "Int64"})
landed

# %% [markdown]
# Every record gets a `reason`: null when it is valid, otherwise the first problem found: not valid JSON, a
# missing required field, a wrong type, a timestamp in another format, or an impossible value (a negative trip, a
# surge below 1). An unknown extra field is *not* a problem: an explicit schema simply ignores it.

# %% tags=["shows:quarantine-reasons"]
from etl_lib.parsing import with_reasons
from etl_lib.spark import read_kafka_batch

checked = with_reasons(read_kafka_batch(spark, s.kafka_topic_taxi, s), "taxi")
reasons = (checked.groupBy(F.coalesce(F.regexp_extract("reason", "^([^:]+)", 1), F.lit("(valid)")).alias("reason"))
           .count().orderBy("reason"))
show(reasons)

# %% tags=["shows:quarantine-records"]
show(checked.where("reason is not null")
     .select("kafka_partition", "kafka_offset", F.substring("raw_value", 1, 60).alias("raw_value"), "reason")
     .orderBy("kafka_partition", "kafka_offset"), n=6)

# %% [markdown]
# The streaming ETL writes valid records to partitioned Parquet and rejected ones to a quarantine folder
# per topic, each with its own checkpoint. `available_now=True` processes what Kafka holds and stops.

# %% tags=["shows:etl-counts"]
from etl_lib.main import build_streams
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
pd.DataFrame(rows)

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. Why use an explicit schema instead of schema inference on a stream?**
#
# <details><summary>Answer</summary>
#
# Inference looks at the data present when the query is defined and fixes the schema then: a later record with another type gets nulls, a new field is dropped, and the schema can differ between runs. An explicit schema is a contract: records that break it are caught. (`spark.sql.streaming.schemaInference` only applies to file sources; Kafka's value is parsed with the schema you give `from_json`.)
#
# </details>
#
# **2. Why keep malformed records instead of filtering them out?**
#
# <details><summary>Answer</summary>
#
# A silent drop hides bugs upstream and makes counts impossible to reconcile. Quarantine keeps the raw value, the reason and the Kafka coordinates, so someone can look, fix and replay.
#
# </details>
#
# **3. A producer adds a new field `promo_code`. What happens in this pipeline, and why is that desirable?**
#
# <details><summary>Answer</summary>
#
# Nothing breaks: the explicit schema ignores fields it does not know, and the record is valid. Producers can add fields without coordinating with every consumer (schema evolution).
#
# </details>
#
# **4. Which Kafka columns make a quarantined record traceable to its source?**
#
# <details><summary>Answer</summary>
#
# `topic`, `partition` and `offset` identify it exactly; the key and timestamp help too.
#
# </details>
#

# **5. A query was started with `startingOffsets=latest`, stopped, and restarted a day later with the same checkpoint. Does it skip what arrived while it was down? And where would you look for its offsets in Kafka's consumer groups?**
#
# <details><summary>Answer</summary>
#
# It does not skip anything: `startingOffsets` applies only to a query's first start; a restart continues from the offsets in its checkpoint, so it reads everything that arrived while it was down (unless Kafka deleted it meanwhile, which `failOnDataLoss` reports). Its offsets are not in any consumer group: Spark's Kafka source assigns partitions itself and commits nothing to the broker. Look in the checkpoint's `offsets/` folder, or at `sources[].endOffset` in the query's progress.
#
# </details>
#
# **6. A file source with inference on fixed `trip_duration` as a whole number. A file arrives with `612.5`. What does the query write for it?**
#
# <details><summary>Answer</summary>
#
# A null `trip_duration` (the record is kept, the value lost) and no error; a field the first files did not have is dropped. The schema is fixed when the query is defined.
#
# </details>
#

# %%
assert kit_rows == key["counts"]["bike"]["valid"] < exam_rows, (
    f"expected the kit to keep {key['counts']['bike']['valid']} valid trips and the hand-written chain more, "
    f"found {kit_rows} and {exam_rows}: "
    + START_OVER)
assert landed["trip_duration"].isna().sum() == 2 and "bike_id" not in landed.columns, (
    f"expected 2 null durations and no bike_id column, found {landed['trip_duration'].isna().sum()} nulls and "
    f"the columns {list(landed.columns)}: a landing cell above ran twice or out of order; "
    "run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
assert all(r["parquet rows"] == r["expected valid"] and r["quarantined"] == r["expected quarantined"] for r in rows), (
    f"expected the Parquet and quarantine counts of the answer key, found:\n{pd.DataFrame(rows).to_string(index=False)}"
    "\n"
    + START_OVER)
print("Parquet and quarantine counts equal the answer key for all four topics: True")
print("The hand-written chain lets bad records through; inference turned a later file's values into nulls: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - The stage: `readStream.format("kafka")`, `from_json` with an explicit schema, then the time columns (→ *The stage as you would write it on an exam.*) [05#exam-chain]
# - The kit's `read_kafka_stream` and `parse_bike_stream` are that chain (→ *The kit's `read_kafka_stream` is the same chain*) [05#read-kafka-stream] [05#parse-stream] [05#kit-vs-hand-chain]
# - Every rejected record goes to quarantine with its raw value, its reason and its Kafka coordinates (→ *Every record gets a `reason`*) [05#quarantine-records]
# - Valid rows to partitioned Parquet and rejected ones to quarantine (→ *The streaming ETL writes valid records to partitioned Parquet*) [05#etl-counts]
# - Valid plus quarantined equals what was read: nothing disappears (→ *The streaming ETL writes valid records to partitioned Parquet*) [05#etl-counts] [04#answer-key]
# - `startingOffsets` only matters for a new query; a restart continues from the checkpoint (→ *Where a query starts reading, and who remembers where it got to.*) [05#starting-offsets]
# - `schemaInference` does nothing for Kafka: the value is bytes and the schema comes from `from_json` (→ *Schema inference is for files, not Kafka.*) [05#kafka-source-columns]
# - Schema inference belongs to file sources and fixes the schema when the query is defined (→ *when the query is defined*) [05#inference-fixed]

# %% [markdown]
# **Further reading**
#
# - docs/spark_etl.md
# - docs/records.md

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 04_kafka_and_data_gen](04_kafka_and_data_gen.ipynb) | [contents](README.md) | [06_windows_and_watermarks →](06_windows_and_watermarks.ipynb)
