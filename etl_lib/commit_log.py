"""Read a Spark Parquet file sink outside Spark, honouring its commit log.

A streaming file sink writes a micro-batch's data files first and records
them in ``<sink>/_spark_metadata/<batch id>`` only when the batch commits.  A
batch killed in between leaves *orphan* files in the folder that belong to no
committed batch; the restarted query writes that batch again under new file
names.  Spark's own readers list files from ``_spark_metadata`` and never see
the orphans.  pandas or pyarrow pointed at the folder read every ``*.parquet``
file and count them twice.  :func:`read_sink` reads like Spark does.

Log format: each batch file starts with a version line (``v1``) followed by one
JSON object per file (``{"path": "file:///...", "action": "add", ...}``).
Every ``compactInterval`` batches (10 by default) Spark writes
``<id>.compact`` holding all entries up to that batch and may later delete the
older batch files; a reader starts at the newest compact file and adds the
batches after it.

Usage, after an ETL run (needs a sink folder, so not a doctest)::

    read_sink("data/analytics/pearson_correlations")   # a pandas DataFrame of the committed rows
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd

from .core.cli import run
from .core.errors import KitError

__all__ = ["SinkLogError", "committed_batches", "committed_files", "read_sink", "orphan_files", "rows_per_batch"]

METADATA = "_spark_metadata"


class SinkLogError(KitError):
    """The sink's commit log cannot be read the way this reader needs; the message says why and what to do."""


def _local_folder(path: Path | str) -> Path:
    text = str(path)
    scheme = urlparse(text).scheme
    if scheme and scheme != "file" and len(scheme) > 1:  # len > 1: not a Windows drive letter
        raise SinkLogError(
            f"read_sink reads a sink on this machine's file system; {text!r} is a {scheme}:// location. "
            "Read it with Spark instead (spark.read.parquet(path) honours the commit log too).")
    return Path(unquote(urlparse(text).path) if scheme == "file" else text)


def _batch_files(log: Path) -> dict[int, Path]:
    """Batch id -> log file; a ``.compact`` file replaces the plain file of the same id."""
    out: dict[int, Path] = {}
    for f in log.iterdir():
        stem, _, suffix = f.name.partition(".")
        if not stem.isdigit() or suffix not in ("", "compact"):
            continue  # .crc checksums, .tmp files of an unfinished write
        if suffix == "compact" or int(stem) not in out:
            out[int(stem)] = f
    return out


def _entries(file: Path) -> list[dict]:
    lines = file.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith("v"):
        raise SinkLogError(f"{file} is not a file sink log (no version line); the sink's log is damaged.")
    version = int(lines[0][1:] or 0)
    if version > 1:
        raise SinkLogError(f"{file} is written in file sink log version {version}; this reader knows version 1.")
    return [json.loads(line) for line in lines[1:] if line.strip()]


def committed_batches(path: Path | str) -> list[int]:
    """The ids of the micro-batches the sink at ``path`` has committed (empty if it committed none)."""
    log = _local_folder(path) / METADATA
    return sorted(_batch_files(log)) if log.is_dir() else []


def committed_files(path: Path | str) -> list[Path]:
    """The data files the sink at ``path`` has committed, in the order they were written.

    Raises :class:`SinkLogError` when ``path`` was not written by a streaming
    file sink (no ``_spark_metadata``): then there is no log to honour.
    """
    folder = _local_folder(path)
    log = folder / METADATA
    if not log.is_dir():
        if folder.is_dir() and any(folder.rglob("*.parquet")):
            raise SinkLogError(
                f"{folder} holds Parquet files but no {METADATA}/: it was not written by a streaming file sink, "
                "so there is no commit log to honour. Read it with pandas.read_parquet or Spark directly.")
        return []
    batches = _batch_files(log)
    compacts = [b for b, f in batches.items() if f.suffix == ".compact"]
    start = max(compacts) if compacts else min(batches, default=0)
    files: dict[str, None] = {}
    for b in sorted(i for i in batches if i >= start):
        for entry in _entries(batches[b]):
            p = unquote(urlparse(entry["path"]).path)
            if entry.get("action", "add") == "delete":
                files.pop(p, None)
            elif not entry.get("isDir", False):
                files[p] = None
    return [Path(p) for p in files]


def rows_per_batch(path: Path | str) -> dict[int, int]:
    """Rows each committed micro-batch added to the sink at ``path``, from the Parquet footers (no data read).

    The file sink reports no row count in a query's progress records
    (``sink.numOutputRows`` is -1); its commit log says which files each batch
    added, and each file's footer how many rows it holds.  A ``.compact`` entry
    lists every file up to its batch: only the files new in it count for it
    (after Spark has cleaned up the logs a compaction replaced, their rows are
    counted in the compact batch).
    """
    import pyarrow.parquet as pq

    folder = _local_folder(path)
    log = folder / METADATA
    if not log.is_dir():
        return {}
    known: set[str] = set()
    out: dict[int, int] = {}
    for b, file in sorted(_batch_files(log).items()):
        rows = 0
        for entry in _entries(file):
            p = unquote(urlparse(entry["path"]).path)
            if entry.get("action", "add") == "delete" or entry.get("isDir", False) or p in known:
                continue
            known.add(p)
            rows += pq.ParquetFile(p).metadata.num_rows
        out[b] = rows
    return out


def orphan_files(path: Path | str) -> list[Path]:
    """Parquet files in the sink's folder that no committed batch lists (left by a batch that never committed)."""
    folder = _local_folder(path)
    committed = {p.resolve() for p in committed_files(folder)}
    return sorted(p for p in folder.rglob("*.parquet")
                  if METADATA not in p.parts and p.resolve() not in committed)


def _refuse_missing(folder: Path, committed: list[Path], note: str = "") -> None:
    missing = [f for f in committed if not f.exists()]
    if missing:
        raise SinkLogError(
            f"{len(missing)} file(s) that {folder}/{METADATA} lists as committed are missing, for example "
            f"{missing[0]}. The sink was moved or cleaned by hand.{note} Rerun the query from a fresh checkpoint "
            "(delete both the sink folder and its checkpoint folder).")


def read_sink(path: Path | str, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows a Spark file sink has committed, as a pandas DataFrame (empty if it committed nothing).

    Reads exactly the files in the sink's commit log, with hive partition
    columns (``year=2018/...``) restored, so a file left by a killed batch is
    never counted.  Raises :class:`SinkLogError` when a committed file is
    missing (the sink was copied or cleaned by hand).
    """
    import pyarrow.dataset as ds

    folder = _local_folder(path)
    files = committed_files(folder)
    if not files:
        return pd.DataFrame(columns=columns or [])
    _refuse_missing(folder, files)
    # Sinks written before the kit set TIMESTAMP_MICROS hold INT96 timestamps: read them as microseconds too.
    parquet = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(coerce_int96_timestamp_unit="us"))
    dataset = ds.dataset([str(f) for f in files], format=parquet, partitioning="hive",
                         partition_base_dir=str(folder.resolve()) if files[0].is_absolute() else str(folder))
    return _to_pandas(dataset.to_table(columns=columns))


def _to_pandas(table) -> pd.DataFrame:
    """``table`` as pandas, exact whatever it holds.

    Timestamps stay microseconds (a nanosecond column cannot hold a time before
    1677 or after 2262; INT96 files are read as microseconds for that reason) and
    lose the UTC zone Parquet marks them
    with (the kit's Spark session writes and shows UTC; the event times are
    zone-less wall-clock times).  A text column whose bytes are not UTF-8 (a
    sink written before the quarantine cleaned its text form) is decoded with
    U+FFFD for each invalid sequence instead of failing the whole read.
    """
    import pyarrow as pa

    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_timestamp(field.type) and (field.type.unit != "us" or field.type.tz is not None):
            column = column.cast(pa.timestamp("us"))  # an instant in UTC, as Spark wrote it
        elif pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            try:
                column.validate(full=True)
            except pa.ArrowInvalid:
                texts = [None if b is None else b.decode("utf-8", errors="replace")
                         for b in column.cast(pa.binary()).to_pylist()]
                column = pa.chunked_array([pa.array(texts, type=pa.string())])
        columns.append(column)
    table = pa.table(columns, names=table.column_names)
    return table.to_pandas(coerce_temporal_nanoseconds=False)


# --------------------------------------------------------------------------- the orphans command

#: An orphan must be this much older than the sink's newest log file to count as left by a batch that ended.
_RECENT_GRACE_S = 60.0


def _sink_orphans(path: Path | str) -> list[tuple[Path, int, bool]]:
    """The orphans of the sink at ``path`` as (file, bytes, recent), by path; refuses what it cannot judge.

    *Recent* means written later than ``_RECENT_GRACE_S`` before the sink's
    newest log file (or the sink has committed nothing yet): such a file may
    belong to the batch a running query is writing now.  Why that line is safe
    with Spark 4.2's file sink (``FileStreamSink``, ``ManifestFileCommitProtocol``,
    ``FileStreamSinkLog``):

    - a batch's tasks write their files straight into the sink folder under new
      names (``part-NNNNN-<uuid>...``); the driver names them in
      ``_spark_metadata/<batch>`` only once every task has finished, writing the
      log to a temporary file renamed into place (the rename keeps its
      modification time);
    - a query runs one batch at a time (``MicroBatchExecution``): the next batch
      writes its first file only after this log file is in place.

    So every file of the batch in flight, and of any batch that commits later,
    was written after the newest log file that exists now.  That time is read
    before the committed list and the folder, so a batch committing during the
    scan only adds recent files.  A file written earlier belongs to a batch that
    ended: committed (then the log lists it) or never (an orphan for good).  The
    grace keeps a clock stepped back a little, or coarse file times, on the safe
    side.  Nothing on disk tells a running batch from a killed one (a checkpoint
    holds no lock; ``offsets/N`` without ``commits/N`` looks the same for both),
    so recent orphans are deleted only when the person says no query writes to
    the sink.

    A file any log file names, with any action, is never an orphan here: Spark
    4.2 writes only ``"add"`` entries and its reader (``MetadataLogFileIndex``)
    reads every entry of the newest ``.compact`` and the batches after it,
    whatever the action, so a ``"delete"`` entry (Spark's sink never writes one; versions before
    SPARK-30462 dropped such files at compaction) does not stop it reading the file.
    """
    folder = _local_folder(path)
    log = folder / METADATA
    if not log.is_dir():
        raise SinkLogError(
            f"{folder} has no {METADATA}/ folder, so it is not a streaming file sink (or nothing was written to it "
            "yet): without a commit log no file can be told apart from an orphan, and nothing was deleted. "
            "Name a sink folder (one that holds _spark_metadata/), or give no folder to check every sink "
            "under the settings' output folders.")
    times = []
    for f in _batch_files(log).values():  # before the log is read (see above)
        try:
            times.append(f.stat().st_mtime)
        except FileNotFoundError:
            pass  # an old log file Spark removed after a compaction
    newest = max(times, default=None)
    committed = committed_files(folder)
    root = folder.resolve()
    outside = [p for p in committed if not p.resolve().is_relative_to(root)]
    if outside:
        raise SinkLogError(
            f"{folder}/{METADATA} lists files outside this folder, for example {outside[0]}: the sink was copied or "
            "moved from where Spark wrote it, so its orphans cannot be told apart. Nothing was deleted.")
    _refuse_missing(folder, committed, " Nothing was deleted.")
    named: set[Path] = set()
    for f in log.iterdir():
        stem, _, suffix = f.name.partition(".")
        if stem.isdigit() and suffix in ("", "compact"):
            try:
                named.update(Path(unquote(urlparse(e["path"]).path)).resolve() for e in _entries(f))
            except FileNotFoundError:
                pass  # an old log file Spark removed after a compaction: the compact lists its files
    found = []
    for p in orphan_files(folder):
        if p.is_symlink() or not p.resolve().is_relative_to(root) or p.resolve() in named:
            continue  # a link (Spark writes none: never follow one out of the sink), or named by a log entry
        try:
            st = p.stat()
        except FileNotFoundError:
            continue  # removed meanwhile (a failing task deletes its own files)
        recent = newest is None or st.st_mtime >= newest - _RECENT_GRACE_S
        found.append((p, st.st_size, recent))
    return found


def _bytes(n: float) -> str:
    """A byte count as a person reads it.

    >>> _bytes(512), _bytes(1536), _bytes(3 * 1024 ** 3)
    ('512 B', '1.5 KiB', '3.0 GiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


@run
def main(argv: list[str] | None = None) -> int:
    """``python -m etl_lib commit-log orphans [SINK ...] [--delete] [--include-recent]``: remove killed batches' files.

    A dry run by default: lists each orphan (a ``*.parquet`` file in a sink
    folder that no committed batch of its ``_spark_metadata`` log names) with its
    size.  ``--delete`` removes them and their ``.crc`` checksums; nothing else
    is ever removed (no committed file, nothing under ``_spark_metadata``,
    nothing outside the sink).  Without SINK every sink (a folder holding
    ``_spark_metadata``) in OUTPUT_BASE_PATH, QUARANTINE_PATH, SILVER_PATH and
    ANALYTICS_OUTPUT_PATH is checked.  Orphans written after the sink's last
    commit may be the batch a running query is writing (see
    :func:`_sink_orphans`): they are kept unless ``--include-recent`` says no
    query writes to the sink now.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m etl_lib commit-log",
                                     description="Commit-log tools for the kit's Parquet file sinks.")
    commands = parser.add_subparsers(dest="command", required=True)
    orphans = commands.add_parser(
        "orphans", help="list (or delete) the files of batches that never committed",
        description="List the files of micro-batches that never committed (orphans) in stopped queries' sink "
                    "folders, with their sizes; --delete removes them. Committed files are never touched.")
    orphans.add_argument("sinks", nargs="*", metavar="SINK",
                         help="a sink folder (default: every sink under OUTPUT_BASE_PATH, QUARANTINE_PATH, "
                              "SILVER_PATH and ANALYTICS_OUTPUT_PATH)")
    orphans.add_argument("--delete", action="store_true", help="delete the orphans (default: only list them)")
    orphans.add_argument("--include-recent", action="store_true",
                         help="also orphans written after the sink's last commit, which may be the batch a running "
                              "query is writing: use only when no query writes to these sinks")
    args = parser.parse_args(argv)

    if args.sinks:
        sinks = [_local_folder(s) for s in args.sinks]
    else:
        from .core.cli import settings_or_exit

        s = settings_or_exit()
        roots = []
        for root in (s.output_base_path, s.quarantine_path, s.silver_path, s.analytics_output_path):
            try:
                roots.append(_local_folder(root))
            except SinkLogError:
                print(f"Skipped {root}: not on this machine's file system.")
        sinks = sorted({f for r in roots if r.is_dir()
                        for f in ([r] if (r / METADATA).is_dir() else r.iterdir()) if (f / METADATA).is_dir()})
        if not sinks:
            print("No sink folders (folders holding _spark_metadata/) in " + ", ".join(map(str, roots)) + ".")
            return 0
    # Every sink is judged before anything is deleted: one that cannot be judged stops the whole run.
    scans = [(sink, _sink_orphans(sink)) for sink in sinks]

    done, done_bytes, kept, kept_bytes = 0, 0, 0, 0
    for sink, found in scans:
        if not found:
            continue
        print(f"{sink}: {len(found)} orphan file(s), {_bytes(sum(n for _, n, _ in found))}")
        # The log again, just before deleting: an older file cannot have been committed since the scan, a recent
        # one can, if a query writes to the sink after all.
        committed = {p.resolve() for p in committed_files(sink)} if args.delete else set()
        for p, n, recent in found:
            if recent and not args.include_recent:
                print(f"  {'kept':>12} {_bytes(n):>10}  {p.relative_to(sink)}  (written after the sink's last commit)")
                kept, kept_bytes = kept + 1, kept_bytes + n
                continue
            if args.delete:
                if p.resolve() in committed:
                    print(f"  {'kept':>12} {_bytes(n):>10}  {p.relative_to(sink)}  (committed since the scan: a query "
                          "is running)")
                    continue
                p.unlink(missing_ok=True)
                p.with_name(f".{p.name}.crc").unlink(missing_ok=True)
            print(f"  {'deleted' if args.delete else 'would delete':>12} {_bytes(n):>10}  {p.relative_to(sink)}")
            done, done_bytes = done + 1, done_bytes + n
    where = f"{sum(1 for _, found in scans if found)} of {len(scans)} sink(s) checked"
    if not done and not kept:
        print(f"No orphan files in {len(scans)} sink(s) checked.")
    elif args.delete:
        print(f"Deleted {done} orphan file(s), {_bytes(done_bytes)}, with their .crc checksums, in {where}.")
    else:
        print(f"Dry run, nothing deleted: {done} orphan file(s), {_bytes(done_bytes)}, would be deleted with their "
              f".crc checksums, in {where}." + (" Add --delete to delete them." if done else ""))
    if kept:
        print(f"Kept {kept} file(s), {_bytes(kept_bytes)}, written after their sink's last commit: they may be the "
              "batch a running query is writing now. Once no query writes to the sink, add --include-recent.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
