"""Wrong answers to exercise 01 `session_settings`, one requirement broken in each."""

import re

MASTER = re.compile(r"local(\[(\d+|\*)\])?|(spark|k8s)://\S+|yarn")


def _settings(env, spark_version=None, *, default_master="local[4]", default_partitions="4", scala="2.13",
              pin=None, zone=None, check=True, name_it=True):
    if spark_version is None:
        import pyspark

        spark_version = pyspark.__version__
    master = env.get("SPARK_MASTER", default_master).strip()
    partitions = env.get("SPARK_SHUFFLE_PARTITIONS", default_partitions).strip()
    if check:
        if not MASTER.fullmatch(master):
            raise ValueError(f"SPARK_MASTER={master!r} is not a Spark master" if name_it else "bad master")
        if not re.fullmatch(r"[0-9]+", partitions) or int(partitions) == 0:
            raise ValueError(f"SPARK_SHUFFLE_PARTITIONS={partitions!r} is not a whole number greater than 0"
                             if name_it else "bad number")
    return {"spark.master": master, "spark.sql.shuffle.partitions": partitions,
            "spark.sql.session.timeZone": zone(env) if zone else "UTC",
            "spark.jars.packages": f"org.apache.spark:spark-sql-kafka-0-10_{scala}:{pin or spark_version}"}


def every_core(env, spark_version=None):
    """Breaks "master": unset, the master is local[*], not the kit's default local[4]."""
    return _settings(env, spark_version, default_master="local[*]")


def sparks_default_partitions(env, spark_version=None):
    """Breaks "partitions": unset, 200 shuffle partitions, Spark's own default, not the kit's 4."""
    return _settings(env, spark_version, default_partitions="200")


def machine_time_zone(env, spark_version=None):
    """Breaks "utc": the session takes the machine's time zone (TZ) when there is one."""
    return _settings(env, spark_version, zone=lambda e: e.get("TZ", "UTC"))


def pinned_connector(env, spark_version=None):
    """Breaks "connector": the connector's version is typed in, whatever Spark runs it."""
    return _settings(env, spark_version, pin="4.2.0")


def scala_212_connector(env, spark_version=None):
    """Breaks "connector": the connector built for Scala 2.12, which no Spark 4 runs on."""
    return _settings(env, spark_version, scala="2.12")


def takes_anything(env, spark_version=None):
    """Breaks "refuse": a bad SPARK_MASTER or SPARK_SHUFFLE_PARTITIONS is passed on to Spark."""
    return _settings(env, spark_version, check=False)


def nameless_error(env, spark_version=None):
    """Breaks "refuse": raises ValueError, but the message names neither the variable nor the value."""
    return _settings(env, spark_version, name_it=False)


MUTANTS = [("master", every_core), ("partitions", sparks_default_partitions), ("utc", machine_time_zone),
           ("connector", pinned_connector), ("connector", scala_212_connector), ("refuse", takes_anything),
           ("refuse", nameless_error)]
