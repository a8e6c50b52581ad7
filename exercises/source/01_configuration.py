# %% [markdown]
# # Exercises 01 · Configuration
#
# Practice for [notebook 01](../notebooks/01_configuration.ipynb). Write your code in the cells marked ✏️ (each
# must run on its own: keep its imports in it), then run the check cell below it. `check` runs your code against
# hidden cases and prints what passed, or the smallest failing case with a hint. `make grade` grades every
# exercise notebook in this folder.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `parse_duration`: seconds in a Spark interval
#
# The kit's settings hold windows as Spark writes intervals: `"15 minutes"`, `"1 hour"`, `"10 seconds"`. Write
# `parse_duration(text)` that returns the number of seconds (`"15 minutes"` → 900). Accept a positive whole
# number, spaces, and a unit in singular or plural and any letter case: second, minute, hour, day.
#
# A bad value (`"15 minuts"`, `""`, `"-5 minutes"`, `"1.5 hours"`) must stop the program at once: raise
# `ValueError` with a message that names the value and shows an accepted form such as `'5 minutes'`.

# %% tags=["exercise"]
# ✏️ your code
def parse_duration(text: str) -> int:
    ### BEGIN SOLUTION
    import re

    units = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
    m = re.fullmatch(r"\s*(\d+)\s+([a-z]+?)s?\s*", text.lower())
    if not m or m.group(2) not in units or int(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration: expected a positive whole number and a unit, "
                         "such as '5 minutes' or '1 hour'")
    return int(m.group(1)) * units[m.group(2)]
    ### END SOLUTION


# %%
check("parse_duration", parse_duration)

# %% [markdown]
# ## 2. `session_settings`: the session the kit starts
#
# `create_spark_session` (in `etl_lib/spark.py`) builds the one Spark session the lessons use, from the settings of
# this lesson; [notebook 00](../notebooks/00_environment_check.ipynb) checks the pieces it needs (the cell after
# *Every later notebook needs four things*). Write `session_settings(env, spark_version=None)` that returns the
# configuration of such a session as a dict of Spark configuration keys and texts, read from `env` (a dict of
# environment variables, as `load_settings` takes):
#
# - `"spark.master"`, where Spark runs: from `SPARK_MASTER` without surrounding spaces, or the kit's default
#   `local[4]` when it is unset (four task threads in the Spark driver's JVM, on this machine);
# - `"spark.sql.shuffle.partitions"`: from `SPARK_SHUFFLE_PARTITIONS`, a whole number greater than 0, as a text
#   (`"8"`), or the kit's `"4"` when it is unset (Spark's own default is 200 shuffle partitions: AQE coalesces
#   them in batch and stateless queries, but a stateful streaming query keeps all 200, most of them tiny on one
#   machine's data);
# - `"spark.sql.session.timeZone"`: always `"UTC"`, whatever the machine's time zone, so that an event time read
#   from text (`"2018-04-02 08:00:00"`) is the same instant on every machine;
# - `"spark.jars.packages"`: the Maven coordinate of the Spark–Kafka connector, `group:artifact:version`, with the
#   group `org.apache.spark`, the artifact `spark-sql-kafka-0-10_2.13` and, as version, `spark_version`, or the
#   installed pyspark's version (`pyspark.__version__`) when it is None. The connector is compiled against one
#   Spark version and one Scala version (`_2.13`; Spark 4 is built for Scala 2.13 only): a connector of another
#   version fails at run time with a `NoSuchMethodError` or `ClassNotFoundException` from the JVM (notebook 00,
#   *The connector's artifact name carries two versions*). The kit itself has Maven resolve this coordinate once
#   (`make jars`) and hands Spark the jars as local files in `spark.jars`, so that nothing is downloaded when a
#   session starts; `spark.jars.packages` makes the driver fetch them through Ivy at start-up (notebook 00,
#   *Check yourself*, question 1).
#
# A bad value must stop the program before any JVM starts: raise `ValueError` with a message naming the variable and
# the value, for a `SPARK_MASTER` that is none of the forms the kit accepts: `local`, `local[N]`, `local[*]`,
# `spark://host:port`, `k8s://https://host:port` or `yarn` (`"lokal[4]"`, `"local[four]"`, an empty text; Spark
# itself also knows `local[N,F]` and `local-cluster[...]`, which the kit refuses), and for a
# `SPARK_SHUFFLE_PARTITIONS` that is not a whole number greater than 0.

# %% tags=["exercise"]
# ✏️ your code
def session_settings(env: dict, spark_version: str | None = None) -> dict:
    ### BEGIN SOLUTION
    import re

    if spark_version is None:
        import pyspark

        spark_version = pyspark.__version__
    master = env.get("SPARK_MASTER", "local[4]").strip()
    if not re.fullmatch(r"local(\[(\d+|\*)\])?|(spark|k8s)://\S+|yarn", master):
        raise ValueError(f"SPARK_MASTER={master!r} is not a Spark master: expected local, local[N], local[*], "
                         "spark://host:port, k8s://https://host:port or yarn")
    partitions = env.get("SPARK_SHUFFLE_PARTITIONS", "4").strip()
    if not re.fullmatch(r"[0-9]+", partitions) or int(partitions) == 0:
        raise ValueError(f"SPARK_SHUFFLE_PARTITIONS={partitions!r} is not a whole number greater than 0, such as 4")
    return {
        "spark.master": master,
        "spark.sql.shuffle.partitions": str(int(partitions)),
        "spark.sql.session.timeZone": "UTC",
        "spark.jars.packages": f"org.apache.spark:spark-sql-kafka-0-10_2.13:{spark_version}",
    }
    ### END SOLUTION


# %%
check("session_settings", session_settings)
