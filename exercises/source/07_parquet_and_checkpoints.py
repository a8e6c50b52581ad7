# %% [markdown]
# # Exercises 07 · Parquet sinks and their commit log
#
# Practice for [notebook 07](../notebooks/07_parquet_and_checkpoints.ipynb). The check writes a real Spark file
# sink, then leaves in it a file of a killed batch. Write your code in the cell marked ✏️, then run the check.

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
