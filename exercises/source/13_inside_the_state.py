# %% [markdown]
# # Exercises 13 · Inside the state
#
# Practice for [notebook 13](../notebooks/13_inside_the_state.ipynb). The check runs on real Spark: a windowed
# count streams from JSON files, round by round, and your code reads its state back. Write your code in the cell
# marked ✏️, then run the check cell below it.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `open_windows`: read the state back
#
# `checkpoint` is the checkpoint folder of a windowed count (`groupBy(window("start_time", "15 minutes"))` with a
# 10-minute watermark, append mode) that has run. Return the windows it still holds in its state store after its
# last batch, as a list of `(start, trips)` pairs sorted by start, the start as `"HH:MM"`: for example
# `[("08:30", 1), ("08:45", 2)]`. Read the state, not the sink.

# %% tags=["exercise"]
# ✏️ your code
def open_windows(spark, checkpoint):
    ### BEGIN SOLUTION
    from pyspark.sql import functions as F

    rows = (spark.read.format("statestore").load(checkpoint)
            .select(F.date_format("key.window.start", "HH:mm").alias("start"), F.col("value.count").alias("trips"))
            .collect())
    return sorted((r["start"], r["trips"]) for r in rows)
    ### END SOLUTION


# %%
check("open_windows", open_windows)

