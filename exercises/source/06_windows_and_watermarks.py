# %% [markdown]
# # Exercises 06 · Windows and watermarks
#
# Practice for [notebook 06](../notebooks/06_windows_and_watermarks.ipynb). The checks run your query on real
# Spark: the first as a stream from a Kafka topic, micro-batch by micro-batch. Write your code in the cells marked
# ✏️, then run the check cell below each.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `windowed_counts`: tumbling windows with a watermark, each window once
#
# `bikes` is a **streaming** DataFrame with `trip_id` and `start_time` (timestamp). Count trips per 15-minute
# tumbling window of `start_time`, with columns `window_start`, `window_end` and `trips`, under a 10-minute
# watermark: a trip whose window has already closed is left out (a window closes when the watermark, the newest
# start time seen in earlier micro-batches minus 10 minutes, reaches its end). Start the query that hands each
# micro-batch of these counts
# to `write` (`foreachBatch`), and return it still running: the check sends trips round by round and records what
# every micro-batch hands `write`. The output mode is yours to choose: the sink must receive each window once, with
# its final count.

# %% tags=["exercise"]
# ✏️ your code
def windowed_counts(bikes, write):
    ### BEGIN SOLUTION
    from pyspark.sql import functions as F

    counts = (bikes.withWatermark("start_time", "10 minutes")
              .groupBy(F.window("start_time", "15 minutes"))
              .agg(F.count("*").alias("trips"))
              .select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"),
                      "trips"))
    return counts.writeStream.outputMode("append").foreachBatch(write).start()
    ### END SOLUTION


# %%
check("windowed_counts", windowed_counts)

# %% [markdown]
# ## 2. `sliding_counts`: overlapping windows
#
# `df` is a batch DataFrame of trips (`trip_id`, `start_time`). Return trips per 15-minute window sliding every
# 5 minutes, with columns `window_start`, `window_end` and `trips`.

# %% tags=["exercise"]
# ✏️ your code
def sliding_counts(df):
    ### BEGIN SOLUTION
    from pyspark.sql import functions as F

    return (df.groupBy(F.window("start_time", "15 minutes", "5 minutes"))
            .agg(F.count("*").alias("trips"))
            .select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"), "trips"))
    ### END SOLUTION


# %%
check("sliding_counts", sliding_counts)
