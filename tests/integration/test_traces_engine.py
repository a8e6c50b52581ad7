"""etl_lib.traces on real Spark: the Spark guide's watermark example answered by the engine (what the guide says
holds, except the donkey: Spark 4.2 drops a row as late by the previous batch's watermark), the late-row rule on a
small trace, and one trace of every family answered batch by batch."""

from __future__ import annotations

import pytest

from etl_lib.traces import FAMILIES, answer, check, generate, make_trace

pytestmark = pytest.mark.timeout(300)

GUIDE = [["dog@12:07", "owl@12:08"], ["dog@12:14", "cat@12:09"],
         ["cat@12:15", "dog@12:08", "owl@12:13", "owl@12:21"], ["donkey@12:04", "owl@12:17"]]
GUIDE_PARAMS = {"window": 10, "slide": 5, "delay": 10, "by_id": 1}


def test_the_guides_example(spark, settings):
    """Structured Streaming guide, 'Handling Late Data and Watermarking': watermark 12:04 after (12:14, dog), the
    cat at 12:09 counted in 12:00-12:10 and 12:05-12:15, watermark 12:11 after (12:21, owl); window 12:00-12:10
    emitted in append mode only once the watermark is 12:11."""
    update = answer(spark, make_trace("sliding-update", GUIDE_PARAMS, GUIDE), settings.data_dir)
    assert [b.watermark for b in update.batches] == ["11:58", "12:04", "12:11", "12:11", "12:11"]
    assert ("12:00", "cat", 1) in update.batches[1].rows and ("12:05", "cat", 1) in update.batches[1].rows
    assert update.batches[0].rows == [("12:00", "dog", 1), ("12:00", "owl", 1), ("12:05", "dog", 1),
                                      ("12:05", "owl", 1)]
    # The guide: "(12:04, donkey) is considered too late and therefore ignored". Spark 4.2 counts it: batch 3 runs
    # with 12:11, but late rows are judged by 12:04, the watermark batch 2 ran with.
    assert ("11:55", "donkey", 1) in update.batches[3].rows and ("12:00", "donkey", 1) in update.batches[3].rows
    assert update.batches[3].dropped == 0
    append = answer(spark, make_trace("sliding-update", GUIDE_PARAMS, GUIDE, mode="append"), settings.data_dir)
    assert [bool(b.rows) for b in append.batches] == [False, False, False, True, False]
    assert append.batches[3].rows == [("11:55", "donkey", 1), ("12:00", "cat", 1), ("12:00", "dog", 2),
                                      ("12:00", "donkey", 1), ("12:00", "owl", 1)]


def test_a_row_is_late_only_behind_the_previous_batchs_watermark(spark, settings):
    trace = make_trace("tumbling-append", {"window": 10, "delay": 5},
                       [["a@12:01", "b@12:12"], ["c@12:24"], ["d@12:08"], ["e@12:09", "f@12:26"]])
    got = answer(spark, trace, settings.data_dir)
    assert [b.ran_with for b in got.batches] == [None, "12:07", "12:19", "12:19", "12:21"]
    assert got.batches[2].rows == [("12:00", 2)] and got.batches[2].dropped == 0  # d counted, window closed
    assert got.batches[3].dropped == 1 and got.batches[4].rows == [("12:10", 1)]  # e dropped; f's window open


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_is_answered_batch_by_batch(spark, settings, family):
    trace = generate(family, seed=5)
    got = answer(spark, trace, settings.data_dir)
    assert len(got.batches) == len(trace.batches)
    marks = [b.watermark for b in got.batches if b.watermark]
    assert marks == sorted(marks), "the watermark never moves back"
    assert got.batches[-1].watermark == got.batches[-2].watermark, "an empty batch leaves the watermark"
    prediction = [{"rows": b.rows, "watermark": b.watermark, "state": b.state} for b in got.batches]
    assert check(got, prediction).ok
    if FAMILIES[family].mode == "complete":
        assert all(len(b.rows) == b.state for b in got.batches), "complete mode emits every window it holds"
    assert not list(settings.data_dir.glob("trace-*")), "the trace's files and checkpoint are removed"
