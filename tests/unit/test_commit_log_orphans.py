"""``python -m etl_lib commit-log orphans``: lists, and with --delete removes, exactly the files of batches that never
committed, never a file the sink's log names, and keeps what may be the batch a running query is writing (no JVM:
the sink is laid out by hand in the format Spark 4.2 writes; tests/integration/test_commit_log_orphans.py runs it
on a real one)."""

from __future__ import annotations

import json
import os
import shutil
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl_lib.commit_log import _RECENT_GRACE_S, _bytes, _sink_orphans, committed_files, main, read_sink

HOUR = 3600


def _write(folder, rel, rows, age=2 * HOUR):
    """A Parquet file with Hadoop's ``.crc`` beside it, last written ``age`` seconds ago."""
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"n": rows}), path)
    (path.parent / f".{path.name}.crc").write_bytes(b"crc")
    _age(path, age)
    return path


def _age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def _log(folder, name, entries, age=HOUR):
    """``_spark_metadata/<name>`` naming ``entries`` (a file, or (file, action)), written ``age`` seconds ago."""
    log = folder / "_spark_metadata"
    log.mkdir(parents=True, exist_ok=True)
    lines = ["v1"]
    for e in entries:
        f, action = e if isinstance(e, tuple) else (e, "add")
        lines.append(json.dumps({"path": f.resolve().as_uri(), "size": f.stat().st_size, "isDir": False,
                                 "modificationTime": 0, "blockReplication": 1, "blockSize": 1, "action": action}))
    (log / name).write_text("\n".join(lines))
    (log / f".{name}.crc").write_bytes(b"crc")
    _age(log / name, age)


def _files(folder):
    """Every file under ``folder`` (checksums and the log included), relative, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def sink(tmp_path):
    """A sink after 12 batches (9.compact, the leftover log 0, batches 10 and 11), partitioned by hour, with two
    orphans of batches killed long ago, one written after the last commit, and a file a "delete" entry names."""
    folder = tmp_path / "weather_data"
    committed = [_write(folder, f"hour={i % 4}/part-{i:05d}-c.snappy.parquet", [i]) for i in range(12)]
    dropped = _write(folder, "hour=1/part-00099-dropped.snappy.parquet", [99])
    _log(folder, "0", committed[:1])
    _log(folder, "9.compact", committed[:10] + [dropped])
    _log(folder, "10", [committed[10], (dropped, "delete")])
    _log(folder, "11", committed[11:])
    old = [_write(folder, "hour=3/part-00000-killed.snappy.parquet", [7, 7]),
           _write(folder, "part-00001-killed.snappy.parquet", [8])]
    recent = _write(folder, "hour=2/part-00000-inflight.snappy.parquet", [9], age=0)
    return {"folder": folder, "committed": committed, "dropped": dropped, "old": old, "recent": recent}


def test_the_dry_run_lists_exactly_the_orphans_with_sizes_and_deletes_nothing(sink, capsys):
    folder = sink["folder"]
    before = _files(folder)
    assert main(["orphans", str(folder)]) == 0
    out = capsys.readouterr().out
    assert _files(folder) == before
    assert sorted((p, recent) for p, _, recent in _sink_orphans(folder)) == sorted(
        [(p, False) for p in sink["old"]] + [(sink["recent"], True)])
    for p in sink["old"]:
        assert f"would delete {_bytes(p.stat().st_size):>10}  {p.relative_to(folder)}\n" in out, out
    assert f"kept {_bytes(sink['recent'].stat().st_size):>10}  {sink['recent'].relative_to(folder)}  (written" in out
    for p in sink["committed"] + [sink["dropped"]]:
        assert p.name not in out, f"{p.name} is named by the log, never an orphan"
    assert "Dry run, nothing deleted: 2 orphan file(s)" in out and "Add --delete" in out
    assert "Kept 1 file(s)" in out and "--include-recent" in out


def test_delete_removes_exactly_the_older_orphans_and_their_checksums(sink, capsys):
    folder = sink["folder"]
    before, rows = _files(folder), sorted(read_sink(folder)["n"])
    assert main(["orphans", str(folder), "--delete"]) == 0
    out = capsys.readouterr().out
    gone = {str(p.relative_to(folder)) for p in sink["old"]}
    gone |= {str((p.parent / f".{p.name}.crc").relative_to(folder)) for p in sink["old"]}
    assert set(before) - set(_files(folder)) == gone
    assert all(_files(folder)[k] == v for k, v in before.items() if k not in gone), "a kept file changed"
    assert sorted(read_sink(folder)["n"]) == rows
    for rel in (str(p.relative_to(folder)) for p in sink["old"]):
        assert f"deleted {_bytes(len(before[rel])):>10}  {rel}\n" in out, out
    assert "Deleted 2 orphan file(s)" in out and "Kept 1 file(s)" in out
    assert main(["orphans", str(folder)]) == 0
    assert "Dry run, nothing deleted: 0 orphan file(s)" in capsys.readouterr().out


def test_include_recent_deletes_every_orphan_and_never_a_file_the_log_names(sink):
    folder = sink["folder"]
    before = _files(folder)
    assert main(["orphans", str(folder), "--delete", "--include-recent"]) == 0
    after = _files(folder)
    # What is left is exactly what the log names (a "delete" entry included: Spark 4.2 still reads the file)...
    parquet = {k for k in after if k.endswith(".parquet")}
    assert parquet == {str(p.relative_to(folder)) for p in sink["committed"] + [sink["dropped"]]}
    assert {p.resolve() for p in committed_files(folder)} <= {(folder / k).resolve() for k in parquet}
    # ... with every checksum and log file, byte for byte.
    assert {k: v for k, v in before.items() if not any(o.name in k for o in sink["old"] + [sink["recent"]])} == after
    assert _sink_orphans(folder) == []


def test_an_orphan_is_recent_unless_written_well_before_the_last_commit(tmp_path):
    folder = tmp_path / "sink"
    (folder / "_spark_metadata").mkdir(parents=True)
    killed = _write(folder, "part-00000-first-batch.parquet", [1], age=HOUR)
    assert _sink_orphans(folder) == [(killed, killed.stat().st_size, True)], "nothing committed yet: batch 0 may run"
    a = _write(folder, "part-00000-a.parquet", [2])
    _log(folder, "0", [a], age=100)
    log_time = (folder / "_spark_metadata" / "0").stat().st_mtime
    for written_before_log, recent in ((-5, True), (_RECENT_GRACE_S / 2, True), (_RECENT_GRACE_S + 1, False)):
        os.utime(killed, (log_time - written_before_log,) * 2)
        assert [r for _, _, r in _sink_orphans(folder)] == [recent], written_before_log


def test_a_folder_without_a_commit_log_is_refused(tmp_path, capsys):
    plain = tmp_path / "plain"
    f = _write(plain, "part-0.parquet", [1])
    assert main(["orphans", str(plain), "--delete", "--include-recent"]) == 1
    err = capsys.readouterr().err
    assert f"{plain} has no _spark_metadata/ folder" in err and "nothing was deleted" in err
    assert f.exists()


def test_one_sink_that_cannot_be_judged_stops_the_run_before_anything_is_deleted(sink, tmp_path, capsys):
    assert main(["orphans", str(sink["folder"]), str(tmp_path / "not-a-sink"), "--delete"]) == 1
    assert all(p.exists() for p in sink["old"])
    assert "has no _spark_metadata/ folder" in capsys.readouterr().err


def test_a_copied_sink_is_refused(sink, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(sink["folder"], copy)
    assert main(["orphans", str(copy), "--delete", "--include-recent"]) == 1
    assert "lists files outside this folder" in capsys.readouterr().err
    assert _files(copy) == _files(sink["folder"])


def test_a_sink_missing_a_committed_file_is_refused(sink, capsys):
    sink["committed"][3].unlink()
    assert main(["orphans", str(sink["folder"]), "--delete"]) == 1
    assert "lists as committed are missing" in capsys.readouterr().err
    assert all(p.exists() for p in sink["old"])


def test_without_a_folder_every_sink_under_the_settings_output_folders_is_checked(tmp_path, monkeypatch, capsys):
    from etl_lib.core.settings import get_settings

    for var in ("OUTPUT_BASE_PATH", "QUARANTINE_PATH", "SILVER_PATH", "ANALYTICS_OUTPUT_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    raw = tmp_path / "processed_simple" / "bike_trips"
    _log(raw, "0", [_write(raw, "part-0.parquet", [1])])
    orphan = _write(raw, "part-1-killed.parquet", [2])
    clean = tmp_path / "analytics" / "pearson_correlations"
    _log(clean, "0", [_write(clean, "part-0.parquet", [1])])
    (tmp_path / "silver" / "not-a-sink").mkdir(parents=True)
    get_settings.cache_clear()
    try:
        assert main(["orphans"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert f"{raw}: 1 orphan file(s)" in out and "part-1-killed.parquet" in out
    assert "in 1 of 2 sink(s) checked" in out
    assert orphan.exists()
