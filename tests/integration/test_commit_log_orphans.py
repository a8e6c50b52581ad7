"""``python -m etl_lib commit-log orphans`` on a sink real Spark wrote: an orphan left the way a killed batch leaves
one is removed with its checksum, the committed files stay, and a plain reader then counts what Spark counts."""

from __future__ import annotations

import json
import os
import shutil
import time

import pyarrow.parquet as pq
import pytest

from etl_lib.commit_log import committed_files, main, orphan_files, read_sink


def _counts(spark, sink):
    """Rows as Spark, the kit's read_sink and pyarrow over the folder (which honours no log) count them."""
    return spark.read.parquet(str(sink)).count(), len(read_sink(sink)), pq.read_table(str(sink)).num_rows


def _orphan_like(sink, name):
    """A killed batch's file: a copy of a committed one under a new name, with Hadoop's checksum beside it."""
    source = sorted(committed_files(sink))[0]
    orphan = source.with_name(name)
    shutil.copy(source, orphan)
    crc = source.with_name(f".{source.name}.crc")
    if crc.exists():
        shutil.copy(crc, orphan.with_name(f".{name}.crc"))
    return orphan


@pytest.mark.timeout(300)
def test_the_orphans_command_cleans_a_real_sink(spark, tmp_path, capsys):
    src, sink, checkpoint = tmp_path / "src", tmp_path / "sink", tmp_path / "checkpoint"
    src.mkdir()

    def batch(first):
        rows = [{"n": n, "hour": n % 3} for n in range(first, first + 10)]
        (src / f"{first}.json").write_text("\n".join(json.dumps(r) for r in rows))
        query = (spark.readStream.schema("n INT, hour INT").json(str(src))
                 .writeStream.format("parquet")
                 .option("path", str(sink))
                 .option("checkpointLocation", str(checkpoint))
                 .partitionBy("hour")
                 .trigger(availableNow=True)
                 .start())
        try:
            query.awaitTermination(120)
        finally:
            query.stop()

    batch(0)
    killed = _orphan_like(sink, "part-00000-00000000-0000-0000-0000-000000000000.c000.snappy.parquet")
    # Killed two minutes before the restart whose batch commits below: older than the sink's last commit.
    old = time.time() - 120
    os.utime(killed, (old, old))
    batch(10)
    kept = _counts(spark, sink)[0]
    assert kept == 20 and _counts(spark, sink) == (20, 20, 20 + pq.read_metadata(killed).num_rows)
    crcs = sorted(p.name for p in sink.rglob(".*.crc"))
    assert f".{killed.name}.crc" in crcs, "Spark's local file system writes a checksum beside each file"

    assert main(["orphans", str(sink)]) == 0
    assert killed.exists() and "Dry run, nothing deleted: 1 orphan file(s)" in capsys.readouterr().out
    assert main(["orphans", str(sink), "--delete"]) == 0
    assert "Deleted 1 orphan file(s)" in capsys.readouterr().out
    assert not killed.exists() and not killed.with_name(f".{killed.name}.crc").exists()
    assert sorted(p.name for p in sink.rglob(".*.crc")) == [c for c in crcs if killed.name not in c]
    assert _counts(spark, sink) == (20, 20, 20)

    # Written after the last commit, as by a batch a running query is writing: kept until the person says no query
    # writes to the sink.
    inflight = _orphan_like(sink, "part-00001-11111111-1111-1111-1111-111111111111.c000.snappy.parquet")
    assert main(["orphans", str(sink), "--delete"]) == 0
    assert inflight.exists() and "Kept 1 file(s)" in capsys.readouterr().out
    assert main(["orphans", str(sink), "--delete", "--include-recent"]) == 0
    assert not inflight.exists() and orphan_files(sink) == []
    assert _counts(spark, sink) == (20, 20, 20)
