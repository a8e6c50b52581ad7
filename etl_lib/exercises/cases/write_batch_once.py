"""Lesson 14: ``write_batch_once``, an idempotent foreachBatch: a replayed batch replaces its first copy."""

from __future__ import annotations

from ..grader import exercise
from ._common import Case, Context, Mismatch, expect


@exercise("write_batch_once", "14", "An idempotent foreachBatch: a replayed batch replaces its first copy",
          ["kafka-sink", "exactly-once"], needs="spark", requirements={
              "replay": "a replayed batch replaces its first copy",
              "adds": "a new batch adds its rows",
              "readable": "`spark.read.parquet(folder)` reads everything written"})
def cases(ctx: Context) -> list[Case]:
    def trips(first: int, last: int):
        return ctx.spark().createDataFrame([(f"b{n}",) for n in range(first, last)], "trip_id string")

    def read(folder) -> int:
        """The rows spark.read.parquet(folder) reads; a folder it cannot read ends the case."""
        try:
            return int(ctx.spark().read.parquet(str(folder)).count())
        except Exception as err:  # noqa: BLE001 - an unreadable folder is the finding
            raise Mismatch(f"spark.read.parquet(folder) failed: {str(err).splitlines()[0][:160]}") from None

    def written(label: str, calls: list[tuple[int, int, int]]):
        """Call the student's function with (rows first..last, batch id) in order on one new folder; observe the
        rows read back."""
        def observe(fn) -> int:
            folder = ctx.scratch(label) / "out"
            for first, last, batch in calls:
                fn(trips(first, last), batch, str(folder))
            return read(folder)
        return observe

    def rows_read(want: int, problem: str):
        def judge(count):
            expect(type(count) is int and count == want, f"{count!r} rows {problem}, expected {want}")
        return judge

    return [
        Case("batch 0 (30 trips), then batch 1 (20 trips): the folder read whole",
             written("write_once_read", [(0, 30, 0), (30, 50, 1)]),
             rows_read(50, "read after batches 0 (30 rows) and 1 (20 rows)"),
             "write every batch under folder, so that spark.read.parquet(folder) reads them all (a folder per "
             "batch named batch_id=<id> is a partition Spark reads)", 1, "readable"),
        Case("batch 0, batch 1, then batch 1 again (a replay after a crash)",
             written("write_once_replay", [(0, 30, 0), (30, 50, 1), (30, 50, 1)]),
             rows_read(50, "after batch 1 (20 rows) ran a second time"),
             "a replayed batch replaces its first copy: key the write by the batch id, overwriting that batch's "
             "own folder", 2, "replay"),
        Case("batches 0, 1 and 2 (30, 20 and 1 trips)",
             written("write_once_adds", [(0, 30, 0), (30, 50, 1), (50, 51, 2)]),
             rows_read(51, "after batches 0, 1 and 2 (30, 20 and 1 rows)"),
             "a new batch adds its rows: overwrite only the batch's own folder, never the whole output", 3, "adds"),
    ]
