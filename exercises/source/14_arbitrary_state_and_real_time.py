# %% [markdown]
# # Exercises 14 · Arbitrary state, real-time mode and the Kafka sink
#
# Practice for [notebook 14](../notebooks/14_arbitrary_state_and_real_time.ipynb). The checks run on real Spark: a
# `foreachBatch` writer replays a batch, a `transformWithStateInPandas` processor streams from JSON files, round
# by round, and a query in real-time mode reads and writes Kafka topics of the local broker. Write your code in the
# cells marked ✏️, then run the check cell below each.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `write_batch_once`: an idempotent `foreachBatch`
#
# A query will call `write_batch_once(df, batch_id, folder)` for every micro-batch (through
# `foreachBatch(lambda df, batch_id: write_batch_once(df, batch_id, folder))`). After a crash between the write and
# Spark's commit, the same batch id comes again with the same rows. Write each batch to Parquet under `folder` so
# that a replayed batch replaces its first copy, a new batch adds its rows, and `spark.read.parquet(folder)` reads
# everything written.

# %% tags=["exercise"]
# ✏️ your code
def write_batch_once(df, batch_id, folder):
    ### BEGIN SOLUTION
    df.write.mode("overwrite").parquet(f"{folder}/batch_id={batch_id}")
    ### END SOLUTION


# %%
check("write_batch_once", write_batch_once)

# %% [markdown]
# ## 2. `trips_until_quiet`: a StatefulProcessor with an event-time timer
#
# Write a `StatefulProcessor` for `transformWithStateInPandas` over trips grouped by `station` (input columns
# `station`, `event_time`; a 10-minute watermark; `timeMode="EventTime"`). It counts a station's trips and, once the
# station has had no trip for 15 minutes of event time, emits one row `station` (int), `trips` (long) and forgets
# the station, so its next trip starts a new count. The function `trips_until_quiet()` returns the processor
# *class*; the check builds it with no arguments. (The check switches the session to the RocksDB state store,
# which `transformWithState` needs.)
#
# The timer methods: `self.handle.registerTimer(ms)`, `self.handle.deleteTimer(ms)` and
# `self.handle.listTimers()`; times are milliseconds since the epoch (`pd.Timestamp.value // 1_000_000`).

# %% tags=["exercise"]
# ✏️ your code
def trips_until_quiet():
    ### BEGIN SOLUTION
    import pandas as pd
    from pyspark.sql.streaming import StatefulProcessor

    class TripsUntilQuiet(StatefulProcessor):
        def init(self, handle):
            self.handle = handle
            self.trips = handle.getValueState("trips", "trips LONG")

        def handleInputRows(self, key, rows, timerValues):
            count = self.trips.get()[0] if self.trips.exists() else 0
            newest = None
            for frame in rows:
                count += len(frame)
                latest = pd.Timestamp(frame["event_time"].max())
                newest = latest if newest is None or latest > newest else newest
            for timer in self.handle.listTimers():
                self.handle.deleteTimer(timer)
            self.handle.registerTimer(newest.value // 1_000_000 + 15 * 60_000)
            self.trips.update((count,))
            return iter([])

        def handleExpiredTimer(self, key, timerValues, expiredTimerInfo):
            if self.trips.exists():
                yield pd.DataFrame({"station": [int(key[0])], "trips": [self.trips.get()[0]]})
            self.trips.clear()

        def close(self):
            pass

    return TripsUntilQuiet
    ### END SOLUTION


# %%
check("trips_until_quiet", trips_until_quiet)


# %% [markdown]
# ## 3. `start_realtime_query`: a filter in real-time mode
#
# The cells under *Real-time mode* in notebook 14 (the race, then Spark's refusals in its own words) run a
# stateless Kafka-to-Kafka query in real-time mode. Write one: `start_realtime_query(spark, bootstrap, source,
# target, min_minutes, checkpoint)` reads the Kafka topic `source` (on the broker `bootstrap`), where each record's
# value is a trip as JSON, `{"trip_id": "t1a2b3", "minutes": 12}`, and writes to the topic `target` one record per
# trip of at least `min_minutes` minutes, its value the trip's `trip_id` (a string; no key needed). Start it in
# real-time mode, with batches of 5 seconds (the shortest Spark allows by default: a shorter one is refused at
# `start()`, below `spark.sql.streaming.realTimeMode.minBatchDuration`, 5000 ms) and its checkpoint in
# `checkpoint`, and return the started query: the check sends trips, reads `target` and stops the query.
#
# - read `source` from its first record: trips already in the topic when the query starts count too;
# - use only what real-time mode accepts: Spark refuses the default append output mode (real-time mode needs
#   update), a cap per batch on the source (`maxOffsetsPerTrigger`) and a stateful operation (an aggregation,
#   `dropDuplicates`), some at `start()` and some in the query's first batch.

# %% tags=["exercise"]
# ✏️ your code
def start_realtime_query(spark, bootstrap, source, target, min_minutes, checkpoint):
    ### BEGIN SOLUTION
    from pyspark.sql import functions as F

    trips = (spark.readStream
             .format("kafka")
             .option("kafka.bootstrap.servers", bootstrap)
             .option("subscribe", source)
             .option("startingOffsets", "earliest")
             .load()
             .select(F.from_json(F.col("value").cast("string"), "trip_id string, minutes int").alias("trip")))
    return (trips.where(F.col("trip.minutes") >= min_minutes)
            .select(F.col("trip.trip_id").alias("value"))
            .writeStream
            .format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("topic", target)
            .option("checkpointLocation", checkpoint)
            .outputMode("update")
            .trigger(realTime="5 seconds")
            .start())
    ### END SOLUTION


# %%
check("start_realtime_query", start_realtime_query)
