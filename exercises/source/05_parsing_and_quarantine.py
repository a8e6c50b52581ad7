# %% [markdown]
# # Exercises 05 · Parsing and quarantine
#
# Practice for [notebook 05](../notebooks/05_parsing_and_quarantine.ipynb). The checks use a real Kafka topic
# and Spark (a session is started on first need): the first runs the stream you define, the second hands your
# function the raw records. Write your code in the cells marked ✏️, then run the check cell below each.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `read_topic`: a Kafka topic as a stream
#
# Return a streaming DataFrame of the topic `topic` on the broker `bootstrap` (`spark` is the session), with the
# record's `key` and `value` as strings (Kafka gives them as bytes) and the record's `partition` and `offset`
# (other columns may stay). A query started on it must read every record already in the topic, not only those
# sent after it starts. The check sends keyed records to a topic of several partitions, then runs your DataFrame
# with an available-now trigger and compares what it read with what was sent.

# %% tags=["exercise"]
# ✏️ your code
def read_topic(spark, bootstrap: str, topic: str):
    ### BEGIN SOLUTION
    from pyspark.sql import functions as F

    return (spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("subscribe", topic)
            .option("startingOffsets", "earliest")
            .load()
            .select(F.col("key").cast("string").alias("key"), F.col("value").cast("string").alias("value"),
                    "partition", "offset", "timestamp"))
    ### END SOLUTION


# %%
check("read_topic", read_topic)

# %% [markdown]
# ## 2. `parse_bikes`: explicit schema, and a reason for every rejected record
#
# `raw` is a batch DataFrame read from Kafka (`value` is binary JSON). Return a pair `(valid, rejected)`:
#
# - `valid`: one row per good trip with typed columns: `trip_id` string, `trip_duration` int, `start_time` and
#   `stop_time` timestamps (text as `2018-04-02 08:01:00`), `start_station_id` and `end_station_id` int;
# - `rejected`: one row per bad record, with its original `value` as a string and a non-empty `reason`.
#
# A record is bad when it is not a JSON object, a field above is missing or has the wrong type, or
# `trip_duration < 1`. No record may be dropped: valid + rejected = all records. Write the schema down, do not infer
# it from the records: `valid` has these columns and types whatever the batch holds, even when it holds no valid
# record.

# %% tags=["exercise"]
# ✏️ your code
def parse_bikes(raw):
    ### BEGIN SOLUTION
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField("trip_id", T.StringType()), T.StructField("trip_duration", T.StringType()),
                           T.StructField("start_time", T.StringType()), T.StructField("stop_time", T.StringType()),
                           T.StructField("start_station_id", T.StringType()),
                           T.StructField("end_station_id", T.StringType())])
    j = raw.select(F.col("value").cast("string").alias("value")).withColumn("r", F.from_json("value", schema))
    fmt = "yyyy-MM-dd HH:mm:ss"
    typed = j.select(
        "value", "r",
        F.col("r.trip_id").alias("trip_id"),
        F.col("r.trip_duration").try_cast("int").alias("trip_duration"),
        F.try_to_timestamp("r.start_time", F.lit(fmt)).alias("start_time"),
        F.try_to_timestamp("r.stop_time", F.lit(fmt)).alias("stop_time"),
        F.col("r.start_station_id").try_cast("int").alias("start_station_id"),
        F.col("r.end_station_id").try_cast("int").alias("end_station_id"))
    reason = (F.when(F.col("r").isNull(), "not a JSON object")
              .when(F.col("trip_id").isNull(), "trip_id missing")
              .when(F.col("trip_duration").isNull(), "trip_duration missing or not a whole number")
              .when(F.col("start_time").isNull(), "start_time missing or not yyyy-MM-dd HH:mm:ss")
              .when(F.col("stop_time").isNull(), "stop_time missing or not yyyy-MM-dd HH:mm:ss")
              .when(F.col("start_station_id").isNull(), "start_station_id missing or not a whole number")
              .when(F.col("end_station_id").isNull(), "end_station_id missing or not a whole number")
              .when(F.col("trip_duration") < 1, "trip_duration below 1"))
    checked = typed.withColumn("reason", reason)
    valid = checked.where(F.col("reason").isNull()).drop("value", "r", "reason")
    rejected = checked.where(F.col("reason").isNotNull()).select("value", "reason")
    return valid, rejected
    ### END SOLUTION


# %%
check("parse_bikes", parse_bikes)
