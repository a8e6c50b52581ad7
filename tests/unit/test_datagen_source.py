"""data_gen.spark_source without a JVM: the offsets, read limits, slices and rows Spark would ask for."""

from __future__ import annotations

import pytest
from pyspark.sql.streaming.datasource import ReadAllAvailable, ReadMaxRows

from data_gen.spark_source import WorldStreamReader, deliveries_of, _params

OPTIONS = {"kind": "taxi", "days": "1", "scale": "0.05", "seed": "3", "numpartitions": "3"}


def test_offsets_limits_and_slices():
    reader = WorldStreamReader({**OPTIONS, "maxRecordsPerBatch": "40"})
    total = reader.total
    assert total > 100 and reader.initialOffset() == {"index": 0}
    assert reader.getDefaultReadLimit() == ReadMaxRows(40)
    assert reader.latestOffset({"index": 0}, ReadMaxRows(40)) == {"index": 40}
    assert reader.latestOffset({"index": total - 5}, ReadMaxRows(40)) == {"index": total}
    assert reader.latestOffset({"index": 10}, ReadAllAvailable()) == {"index": total}  # the engine's word wins
    slices = reader.partitions({"index": 40}, {"index": 80})
    assert [(p.start, p.end) for p in slices] == [(40, 54), (54, 68), (68, 80)]
    assert reader.partitions({"index": 80}, {"index": 80}) == []


def test_rows_are_the_worlds_records_the_same_every_time():
    reader = WorldStreamReader(OPTIONS)
    rows = [row for p in reader.partitions({"index": 0}, {"index": 30}) for row in reader.read(p)]
    assert [r[4] for r in rows] == list(range(30)), "offsets in order, none missing or twice"
    records = deliveries_of(*_params(OPTIONS)[:2])
    assert [r[1] for r in rows] == [v for _, v, _ in records[:30]]
    again = [row for p in WorldStreamReader(OPTIONS).partitions({"index": 0}, {"index": 30}) for row in
             WorldStreamReader(OPTIONS).read(p)]
    assert again == rows and {r[2] for r in rows} == {"taxi"} and all(0 <= r[3] < 3 for r in rows)


@pytest.mark.parametrize("options, words", [({"kind": "bikes"}, "option kind = one of bike, taxi"),
                                             ({"kind": "bike", "days": "0"}, "--days must be at least 1"),
                                             ({"kind": "bike", "maxRecordsPerBatch": "0"}, "maxRecordsPerBatch >= 1")])
def test_bad_options_are_named(options, words):
    with pytest.raises(ValueError, match=words):
        WorldStreamReader(options)
