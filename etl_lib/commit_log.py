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
    missing = [f for f in files if not f.exists()]
    if missing:
        raise SinkLogError(
            f"{len(missing)} file(s) that {folder}/{METADATA} lists as committed are missing, for example "
            f"{missing[0]}. The sink was moved or cleaned by hand; rerun the query from a fresh checkpoint "
            "(delete both the sink folder and its checkpoint folder).")
    dataset = ds.dataset([str(f) for f in files], format="parquet", partitioning="hive",
                         partition_base_dir=str(folder.resolve()) if files[0].is_absolute() else str(folder))
    return dataset.to_table(columns=columns).to_pandas()
