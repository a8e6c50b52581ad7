"""Wrong answers to exercise 07 `start_raw_query`, one requirement broken in each."""

import tempfile


def _start(df, path, checkpoint, *, fmt="parquet", partitions=("year", "month", "date", "hour"),
           trigger=None):
    writer = df.writeStream.format(fmt).option("path", path).option("checkpointLocation", checkpoint)
    if partitions:
        writer = writer.partitionBy(*partitions)
    return writer.outputMode("append").trigger(**(trigger or {"availableNow": True})).start()


def json_files(df, path, checkpoint):
    """Breaks "parquet": writes JSON lines instead of Parquet."""
    return _start(df, path, checkpoint, fmt="json")


def one_flat_folder(df, path, checkpoint):
    """Breaks "partitions": every file straight under path."""
    return _start(df, path, checkpoint, partitions=())


def fresh_checkpoint(df, path, checkpoint):
    """Breaks "checkpoint": a new checkpoint folder every run, so the second run starts from batch 0 again and the
    sink's log skips it as already written: the new records are lost."""
    return _start(df, path, tempfile.mkdtemp(prefix="raw-ck-"))


def every_second(df, path, checkpoint):
    """Breaks "trigger": a processing-time trigger writes the same files, but the query never stops by itself."""
    return _start(df, path, checkpoint, trigger={"processingTime": "1 second"})


MUTANTS = [("parquet", json_files), ("partitions", one_flat_folder), ("checkpoint", fresh_checkpoint),
           ("trigger", every_second)]
