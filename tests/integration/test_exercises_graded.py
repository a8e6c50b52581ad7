"""Every solution notebook graded on the real broker and Spark: all pass; a typical Spark mistake is caught with a
message a student can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_lib.exercises import EXERCISES, check
from etl_lib.exercises.grader import Context, grade_folder

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def context(settings, spark, tmp_path_factory):
    return Context(settings.replace(data_dir=tmp_path_factory.mktemp("exercises")), spark)


def test_every_solution_passes_every_check(context, capsys):
    results = grade_folder(ROOT / "exercises" / "solutions", context)
    out = capsys.readouterr().out
    assert len(results) == len(EXERCISES) and all(r.status == "pass" for r in results), out
    assert f"score: {len(EXERCISES)} of {len(EXERCISES)} exercises pass" in out


def test_a_windowed_count_without_a_watermark_is_told_why(context):
    def no_watermark(bikes):
        from pyspark.sql import functions as F

        return (bikes.groupBy(F.window("start_time", "15 minutes")).agg(F.count("*").alias("trips"))
                .select(F.col("window.start").alias("window_start"), F.col("window.end").alias("window_end"),
                        "trips"))

    result = check("windowed_counts", no_watermark, context, quiet=True)
    assert result.status == "fail" and "append mode with an aggregation needs a watermark" in result.failure
