# %% [markdown]
# # Exercises 11 · Deduplication and joins
#
# Practice for [notebook 11](../notebooks/11_modes_joins_dedup.ipynb). The checks run on real Spark; the first
# streams from a Kafka topic micro-batch by micro-batch. Write your code in the cells marked ✏️, then run the check
# cell below each.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `dedup_trips`: drop re-sent trips with bounded state
#
# `trips` is a streaming DataFrame (`trip_id`, `start_time`). A producer may send a trip again up to 10 minutes
# later (same `trip_id` and `start_time`), possibly in a later micro-batch. Return the stream with each trip once,
# with state that does not grow for ever.

# %% tags=["exercise"]
# ✏️ your code
def dedup_trips(trips):
    ### BEGIN SOLUTION
    return trips.withWatermark("start_time", "10 minutes").dropDuplicatesWithinWatermark(["trip_id"])
    ### END SOLUTION


# %%
check("dedup_trips", dedup_trips)

# %% [markdown]
# ## 2. `join_condition`: which weather goes with which accident
#
# `acc` (aliased `a`: `id`, `city`, `dispatch_ts`) and `wx` (aliased `w`: `city`, `obs_ts`, `precip`) will be
# joined as streams, so the condition needs an equality key and a time range. Return the join condition (a Column):
# the same city, and the observation taken in the 30 minutes up to the accident, both ends included.

# %% tags=["exercise"]
# ✏️ your code
def join_condition(acc, wx):
    ### BEGIN SOLUTION
    from pyspark.sql import functions as F

    return ((F.col("a.city") == F.col("w.city"))
            & (F.col("w.obs_ts") >= F.col("a.dispatch_ts") - F.expr("interval 30 minutes"))
            & (F.col("w.obs_ts") <= F.col("a.dispatch_ts")))
    ### END SOLUTION


# %%
check("join_condition", join_condition)
