"""The commit-log reader reads exactly the files a Spark file sink committed (no JVM: sinks are laid out by hand
in the format Spark writes, checked against a real sink in tests/integration)."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_lib.commit_log import (SinkLogError, committed_batches, committed_files, orphan_files, read_sink,
                                rows_per_batch)


def _write(folder, rel, rows):
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"n": rows}), path)
    return path


def _log(folder, name, files, action="add"):
    log = folder / "_spark_metadata"
    log.mkdir(parents=True, exist_ok=True)
    lines = ["v1"] + [json.dumps({"path": f.resolve().as_uri(), "size": f.stat().st_size, "isDir": False,
                                  "modificationTime": 0, "blockReplication": 1, "blockSize": 1, "action": action})
                      for f in files]
    (log / name).write_text("\n".join(lines))


def test_a_killed_batch_orphan_is_not_read(tmp_path):
    a = _write(tmp_path, "part-0-a.parquet", [1, 2])
    b = _write(tmp_path, "part-1-b.parquet", [3])
    _write(tmp_path, "part-2-orphan.parquet", [3])  # batch 2 died before its log entry was written
    _log(tmp_path, "0", [a])
    _log(tmp_path, "1", [b])
    assert committed_batches(tmp_path) == [0, 1]
    assert read_sink(tmp_path)["n"].sort_values().tolist() == [1, 2, 3]
    assert len(pd.read_parquet(tmp_path)) == 4, "pandas over the folder counts the orphan"
    assert [p.name for p in orphan_files(tmp_path)] == ["part-2-orphan.parquet"]


def test_compact_file_replaces_the_batches_before_it(tmp_path):
    files = [_write(tmp_path, f"part-{i}.parquet", [i]) for i in range(12)]
    _log(tmp_path, "0", files[:1])          # left over, already inside 9.compact
    _log(tmp_path, "9.compact", files[:10])
    _log(tmp_path, "10", files[10:11])
    _log(tmp_path, "11", files[11:])
    (tmp_path / "_spark_metadata" / ".11.crc").write_bytes(b"x")
    (tmp_path / "_spark_metadata" / "12.tmp").write_text("v1\n")
    assert sorted(read_sink(tmp_path)["n"]) == list(range(12))
    assert committed_batches(tmp_path) == [0, 9, 10, 11]


def test_rows_per_batch_counts_each_file_once_from_its_footer(tmp_path):
    files = [_write(tmp_path, f"part-{i}.parquet", list(range(i + 1))) for i in range(12)]  # file i: i+1 rows
    _write(tmp_path, "part-orphan.parquet", [1, 2, 3])  # never committed: not counted
    _log(tmp_path, "0", files[:1])
    _log(tmp_path, "9.compact", files[:10])  # lists file 0 again: counted for batch 0 only
    _log(tmp_path, "10", files[10:11])
    _log(tmp_path, "11", [])  # a batch that wrote nothing
    assert rows_per_batch(tmp_path) == {0: 1, 9: sum(range(2, 11)), 10: 11, 11: 0}
    assert sum(rows_per_batch(tmp_path).values()) == len(read_sink(tmp_path))
    assert rows_per_batch(tmp_path / "nothing here") == {}


def test_partition_columns_come_back_from_the_folder_names(tmp_path):
    a = _write(tmp_path, "year=2018/month=4/date=2018-04-02/hour=8/part-0.parquet", [1])
    b = _write(tmp_path, "year=2018/month=4/date=2018-04-02/hour=10/part-0.parquet", [2, 3])
    _log(tmp_path, "0", [a, b])
    df = read_sink(tmp_path).sort_values("n")
    assert df["hour"].tolist() == [8, 10, 10] and set(df["date"]) == {"2018-04-02"}


def test_escaped_paths_and_deleted_entries(tmp_path):
    a = _write(tmp_path, "kind=a b/part-0.parquet", [1])
    b = _write(tmp_path, "kind=c/part-0.parquet", [2])
    _log(tmp_path, "0", [a, b])
    _log(tmp_path, "1", [b], action="delete")
    assert read_sink(tmp_path)["n"].tolist() == [1]


def test_empty_missing_and_foreign_folders(tmp_path):
    assert read_sink(tmp_path / "never-written").empty
    assert committed_files(tmp_path / "never-written") == []
    _write(tmp_path / "plain", "x.parquet", [1])
    with pytest.raises(SinkLogError, match="not written by a streaming file sink"):
        read_sink(tmp_path / "plain")
    with pytest.raises(SinkLogError, match="s3a:// location"):
        read_sink("s3a://bucket/analytics/x")


def test_a_committed_file_that_vanished_is_reported(tmp_path):
    a = _write(tmp_path, "part-0.parquet", [1])
    _log(tmp_path, "0", [a])
    a.unlink()
    with pytest.raises(SinkLogError, match="missing"):
        read_sink(tmp_path)


def test_a_damaged_log_is_reported(tmp_path):
    (tmp_path / "_spark_metadata").mkdir()
    (tmp_path / "_spark_metadata" / "0").write_text('{"path": "x"}\n')
    with pytest.raises(SinkLogError, match="no version line"):
        read_sink(tmp_path)
