"""Wrong answers to exercise 07 `committed_files`, one requirement broken in each."""

import json
from pathlib import Path
from urllib.parse import unquote, urlparse


def _paths(lines):
    return [unquote(urlparse(json.loads(line)["path"]).path) for line in lines if line.strip()]


def lists_the_folder(sink_path):
    """Breaks "log": every Parquet file in the folder, the orphan of a killed batch too."""
    return sorted(str(p) for p in Path(sink_path).rglob("*.parquet"))


def last_batch_only(sink_path):
    """Breaks "every-batch": reads only the newest log file."""
    log = Path(sink_path) / "_spark_metadata"
    newest = max((f for f in log.iterdir() if f.name.isdigit()), key=lambda f: int(f.name))
    return _paths(newest.read_text().splitlines()[1:])


def keeps_the_version_line(sink_path):
    """Breaks "version": parses every line as JSON, the version line "v1" too."""
    log = Path(sink_path) / "_spark_metadata"
    return [p for f in sorted(log.iterdir()) if f.name.isdigit() for p in _paths(f.read_text().splitlines())]


MUTANTS = [("log", lists_the_folder), ("every-batch", last_batch_only), ("version", keeps_the_version_line)]
