"""Wrong answers to exercise 05 `read_topic`, one requirement broken in each."""

from pyspark.sql import functions as F


def _read(spark, bootstrap, topic, *, stream=True, earliest=True, cast=True, coordinates=True):
    reader = (spark.readStream if stream else spark.read).format("kafka")
    reader = reader.option("kafka.bootstrap.servers", bootstrap).option("subscribe", topic)
    if earliest:
        reader = reader.option("startingOffsets", "earliest")
    raw = reader.load()
    if cast:
        raw = raw.withColumn("key", F.col("key").cast("string")).withColumn("value", F.col("value").cast("string"))
    return raw.select("key", "value", *(["partition", "offset"] if coordinates else []))


def batch_read(spark, bootstrap, topic):
    """Breaks "stream": spark.read gives a batch DataFrame, read once, which no query can keep reading."""
    return _read(spark, bootstrap, topic, stream=False)


def from_the_latest(spark, bootstrap, topic):
    """Breaks "earliest": no startingOffsets, so a new query starts at the latest offsets and reads nothing that
    was already in the topic."""
    return _read(spark, bootstrap, topic, earliest=False)


def bytes_left(spark, bootstrap, topic):
    """Breaks "strings": key and value stay binary."""
    return _read(spark, bootstrap, topic, cast=False)


def values_only(spark, bootstrap, topic):
    """Breaks "columns": only key and value, so no row says where its record is."""
    return _read(spark, bootstrap, topic, coordinates=False)


MUTANTS = [("stream", batch_read), ("earliest", from_the_latest), ("strings", bytes_left),
           ("columns", values_only)]
