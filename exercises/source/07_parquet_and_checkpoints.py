# %% [markdown]
# # Exercises 07 · Parquet sinks and their commit log
#
# Practice for [notebook 07](../notebooks/07_parquet_and_checkpoints.ipynb). The checks run on real Spark: a file
# sink with a file of a killed batch left in it, a `writeStream` chain run twice, and queries planned with and
# without AQE. Write your code in the cells marked ✏️, then run the check cell below each.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `committed_files`: what a reader may read
#
# Return the paths of the data files the streaming file sink at `sink_path` has committed, from its commit log
# (`_spark_metadata/`): one log file per micro-batch, named by batch id; its first line is a version (`v1`), then
# one JSON object per file with its `path` (a `file://` URI). Files in the folder that no log entry names were left
# by a batch that never committed and must not be read. (You may ignore `.compact` files and deletions.)

# %% tags=["exercise"]
# ✏️ your code
def committed_files(sink_path: str) -> list[str]:
    ### BEGIN SOLUTION
    import json
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    log = Path(sink_path) / "_spark_metadata"
    files = []
    for entry in sorted((f for f in log.iterdir() if f.name.isdigit()), key=lambda f: int(f.name)):
        for line in entry.read_text().splitlines()[1:]:
            if line.strip():
                files.append(unquote(urlparse(json.loads(line)["path"]).path))
    return files
    ### END SOLUTION


# %%
check("committed_files", committed_files)


# %% [markdown]
# ## 2. `start_raw_query`: the whole `writeStream` chain
#
# Start the streaming query that writes the parsed records `df` to Parquet files under `path`, partitioned by
# `year`, `month`, `date` and `hour`, in append mode, with its checkpoint in `checkpoint`, on an available-now
# trigger; return the started query (the check waits for it). Run again with the same folders, it must write
# only what arrived since, once.

# %% tags=["exercise"]
# ✏️ your code
def start_raw_query(df, path: str, checkpoint: str):
    ### BEGIN SOLUTION
    return (df.writeStream
            .format("parquet")
            .option("path", path)
            .option("checkpointLocation", checkpoint)
            .partitionBy("year", "month", "date", "hour")
            .outputMode("append")
            .trigger(availableNow=True)
            .start())
    ### END SOLUTION


# %%
check("start_raw_query", start_raw_query)


# %% [markdown]
# ## 3. `uses_aqe`: did Spark plan it with AQE?
#
# Notebook 07's cells after *Adaptive Query Execution in streaming: stateless yes, stateful no.* (and the batch
# cell after it) show when Spark plans a query with adaptive query execution (AQE). Write `uses_aqe(query)`: True
# when Spark planned `query` with AQE, False when not. `query` is a batch DataFrame that has run, or a streaming
# query that has run at least one micro-batch (it may have stopped since); the check builds each on real Spark,
# with the settings it names, and every query it builds has a shuffle. What your function will meet:
#
# - a batch query with a shuffle is planned with AQE when `spark.sql.adaptive.enabled` is on, and without it when
#   that is off (a query with no shuffle shows no AQE in its plan even then);
# - the micro-batches of a stateless streaming query are planned with AQE when
#   `spark.sql.adaptive.streaming.stateless.enabled` is on as well (its default), and without it when that is
#   off;
# - a stateful streaming query (an aggregation, a deduplication) is never planned with AQE, whatever the settings
#   say.
#
# Read the answer from the plan Spark ran, not from the settings: a streaming query keeps the value of
# `spark.sql.adaptive.streaming.stateless.enabled` it started with, so the session's value now may not be what
# planned its micro-batches. `explain()` prints the plan (for a streaming query, its last micro-batch's), and an
# adaptive one holds an `AdaptiveSparkPlan` node; `contextlib.redirect_stdout` catches what a call prints. (The
# kit's `planned_with_aqe` reads a private field of a streaming query and cannot take a DataFrame.)

# %% tags=["exercise"]
# ✏️ your code
def uses_aqe(query) -> bool:
    ### BEGIN SOLUTION
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        query.explain()
    return "AdaptiveSparkPlan" in printed.getvalue()
    ### END SOLUTION


# %%
check("uses_aqe", uses_aqe)
