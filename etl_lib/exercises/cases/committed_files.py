"""Lesson 07: ``committed_files``, the files a Spark file sink committed, from its ``_spark_metadata`` log.

The sink is written by real Spark in the student's process (two micro-batches, partitioned by hour), so its file
names are Spark's random ones: a judge in another process could only learn them from that process.  So the
observing half renames every data file to a name made from the student's seed, and rewrites the paths in the log
entries to match (the log keeps Spark's format, each entry's other fields untouched); the judging half computes
the same names from the same seed.  The answer is then known to the judge without trusting anything the student's
process says about the sink."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..grader import exercise
from ._common import Case, Context, expect, local_path, once_per_solution

# Rows per micro-batch: (hour, n); each batch writes one file per hour it holds.
BATCHES = [[8, 9, 8], [9, 8]]
ORPHAN_HOUR = 8


def expected_files(seed: int) -> dict[str, Any]:
    """The relative paths of the sink's files after the renaming: per batch, in order, and the orphan's."""
    rng = random.Random(seed)
    names = {}
    for batch, hours in enumerate(BATCHES):
        for hour in sorted(set(hours)):
            names[(batch, hour)] = f"hour={hour}/part-{batch:05d}-{rng.getrandbits(128):032x}.c000.snappy.parquet"
    orphan = f"hour={ORPHAN_HOUR}/part-99999-{rng.getrandbits(128):032x}-orphan-of-a-killed-batch.parquet"
    first = sorted(n for (b, _), n in names.items() if b == 0)
    return {"first": first, "all": sorted(names.values()), "orphan": orphan, "names": names}


def _rename_committed(folder: Path, names: dict[tuple[int, int], str]) -> None:
    """Rename each batch's data files to ``names[(batch, hour)]`` and rewrite the log's paths to match; drop the
    checksum files of what changed (a local file system reads a file without its .crc, not with a stale one)."""
    log = folder / "_spark_metadata"
    for batch in range(len(BATCHES)):
        entry_file = log / str(batch)
        lines = entry_file.read_text().splitlines()
        out = lines[:1]
        for line in lines[1:]:
            entry = json.loads(line)
            old = Path(unquote(urlparse(entry["path"]).path))
            hour = int(old.parent.name.split("=", 1)[1])
            new = folder / names[(batch, hour)]
            old.rename(new)
            (old.parent / f".{old.name}.crc").unlink(missing_ok=True)
            entry["path"] = new.as_uri()
            out.append(json.dumps(entry, separators=(",", ":")))
        if len(out) - 1 != sum(1 for (b, _) in names if b == batch):
            raise RuntimeError(f"batch {batch} of the case's sink wrote {len(out) - 1} files, not one per hour")
        entry_file.write_text("\n".join(out))
        (log / f".{batch}.crc").unlink(missing_ok=True)


@exercise("committed_files", "07", "The files a Spark file sink committed, from its _spark_metadata log",
          ["exactly-once", "checkpointing", "partition-by"], needs="spark", requirements={
              "version": "its first line is a version (`v1`)",
              "every-batch": "one log file per micro-batch",
              "log": "Files in the folder that no log entry names were left by a batch that never committed and "
                     "must not be read"})
def cases(ctx: Context) -> list[Case]:
    want = expected_files(ctx.seed(13))

    def sink() -> Path:
        """A sink partitioned by hour after two micro-batches, plus an orphan file, named from the seed."""
        import shutil

        spark = ctx.spark()
        base = ctx.scratch("sink")
        source, folder = base / "in", base / "out"
        source.mkdir()
        for n, hours in enumerate(BATCHES):
            (source / f"part{n}.json").write_text("\n".join(json.dumps({"hour": h, "n": i})
                                                            for i, h in enumerate(hours)))
            q = (spark.readStream.schema("hour int, n int").json(str(source)).writeStream.format("parquet")
                 .partitionBy("hour").option("path", str(folder)).option("checkpointLocation", str(base / "ck"))
                 .trigger(availableNow=True).start())
            q.awaitTermination(120)
        _rename_committed(folder, want["names"])
        shutil.copy(folder / want["first"][0], folder / want["orphan"])
        return folder

    made = once_per_solution(lambda fn: sink())  # one sink for all three cases

    def observe(fn) -> list[str]:
        """The student's list, each path relative to the sink folder (as text; an absolute path elsewhere kept)."""
        folder = made(fn)
        listed = []
        for p in fn(str(folder)):
            path = Path(local_path(p))
            listed.append(str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path))
        return sorted(listed)

    def version(got):
        expect(got == want["all"], f"{len(got)} files, expected the {len(want['all'])} the log names")

    def every_batch(got):
        expect(set(want["first"]) <= set(got), "the files of the first micro-batch are missing")
        expect(set(want["all"]) <= set(got), "the files of the second micro-batch are missing")

    def log(got):
        expect(isinstance(got, list) and want["orphan"] not in got, "the list holds a file no log entry names (left "
                                                                     "by a batch that never committed)")

    shown = "a sink partitioned by hour after two micro-batches, plus an orphan file in one partition"
    return [
        Case(shown + ": the list", observe, version, "each log file starts with its version line (v1): skip it; "
             "every other line is one JSON object naming one file by its path", 1, "version"),
        Case(shown + ": both batches", observe, every_batch, "read one log file per micro-batch, every one of them, "
             "not only the last", 1, "every-batch"),
        Case(shown + ": the orphan", observe, log, "list the files the log names, never the folder: a batch that "
             "never committed leaves files no log entry names", 1, "log"),
    ]
