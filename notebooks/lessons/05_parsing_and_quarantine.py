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
from etl_lib.notebook import setup, show, spark_session

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

# %%
from data_gen import GenParams, KafkaSink, generate
from etl_lib.parsing import spark_schema

key = generate(GenParams(days=days, scale=scale, malformed_fraction=malformed_fraction),
               KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics))
print(spark_schema("taxi").simpleString())

# %% [markdown]
# Every record gets a `reason`: null when it is valid, otherwise the first problem found: not valid JSON, a
# missing required field, a wrong type, a timestamp in another format, or an impossible value (a negative trip, a
# surge below 1). An unknown extra field is *not* a problem: an explicit schema simply ignores it.

# %%
from pyspark.sql import functions as F
from etl_lib.parsing import with_reasons
from etl_lib.spark import read_kafka_batch

checked = with_reasons(read_kafka_batch(spark, s.kafka_topic_taxi, s), "taxi")
reasons = (checked.groupBy(F.coalesce(F.regexp_extract("reason", "^([^:]+)", 1), F.lit("(valid)")).alias("reason"))
           .count().orderBy("reason"))
show(reasons)

# %%
show(checked.where("reason is not null")
     .select("kafka_partition", "kafka_offset", F.substring("raw_value", 1, 60).alias("raw_value"), "reason")
     .orderBy("kafka_partition", "kafka_offset"), n=6)

# %% [markdown]
# The streaming ETL writes valid records to partitioned Parquet and rejected ones to a quarantine folder
# per topic, each with its own checkpoint. `available_now=True` processes what Kafka holds and stops.

# %%
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
# Inference looks at some of the data once: types can come out wrong, a typo becomes a new column, and the schema can change between runs. An explicit schema is a contract: records that break it are caught.
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

# %%
assert all(r["parquet rows"] == r["expected valid"] and r["quarantined"] == r["expected quarantined"] for r in rows)
print("Parquet and quarantine counts equal the answer key for all four topics: True")

# %% [markdown]
# ## Summary
#
# Explicit schemas, one reason per rejected record in the same words as the Python reference validator, valid rows to partitioned Parquet and rejected ones to quarantine: N valid in, N rows out; M bad in, M quarantined.
#
# **Further reading**
#
# - docs/spark_etl.md
# - docs/records.md

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 04_kafka_and_data_gen](04_kafka_and_data_gen.ipynb) | [contents](README.md) | [06_windows_and_watermarks →](06_windows_and_watermarks.ipynb)
