"""Consumer groups and share groups on the real broker (Kafka 4.4), through the kit's Java tool: what lesson 04 shows
and what the share_partition exercise's rules claim, measured."""

from __future__ import annotations

import pytest

from etl_lib.core.queues import run_group
from etl_lib.exercises.cases.share_partition import simulate

pytestmark = pytest.mark.timeout(300)


def test_a_consumer_group_leaves_members_idle_and_keeps_each_key_in_order(settings):
    run = run_group("consumer", members=4, partitions=2, records=16, settings=settings)
    assert sorted(len(p) for p in run.assignment.values()) == [0, 0, 1, 1]
    assert run.ends == {"seen": 16} and len(run.deliveries) == 16
    assert set(run.members_per_key().values()) == {1}
    assert run.overtaken() == 0
    busy = [m for m, n in run.records_per_member().items() if n]
    assert sorted(run.assignment[m] for m in busy) == [[0], [1]]


def test_a_share_group_gives_every_member_partitions_and_counts_deliveries(settings):
    run = run_group("share", members=4, partitions=2, records=24, release={"r05"}, poison={"r09"},
                    reject={"r13"}, stall="r02", lock_ms=1000, settle_ms=1500, settings=settings)
    # every member holds a partition, every partition has two members
    assert all(len(p) == 1 for p in run.assignment.values())
    assert sorted(sum(p in ps for ps in run.assignment.values()) for p in (0, 1)) == [2, 2]
    assert run.ends == {"accepted": 22, "rejected": 1, "archived": 1}
    fates = {v: [(d["delivery"], d["ack"]) for d in run.deliveries_of(v)] for v in ("r05", "r09", "r13", "r02")}
    assert fates["r05"] == [(1, "release"), (2, "accept")]
    # the delivery limit (Kafka's default 5): archived, never handed out a sixth time during the 1.5 s after
    assert fates["r09"] == [(n, "release") for n in range(1, 6)]
    assert fates["r13"] == [(1, "reject")]
    assert fates["r02"] == [(1, "none"), (2, "accept")]
    hung, other = run.deliveries_of("r02")
    assert hung["member"] != other["member"]
    assert other["t"] - hung["t"] >= 900  # not before the 1 s lock ran out
    # every other record: delivered once, accepted
    rest = [d for d in run.deliveries if d["value"] not in fates]
    assert len(rest) == 20 and {(d["delivery"], d["ack"]) for d in rest} == {(1, "accept")}


def test_the_exercise_rules_agree_with_the_broker_on_each_records_deliveries(settings):
    """Replay each record's deliveries, as the broker reported them, through the share_partition rules: the
    counts the rules give are the broker's, and the records the rules archive are those it stopped handing out."""
    run = run_group("share", members=3, partitions=1, records=8, release={"r01"}, poison={"r03"},
                    reject={"r05"}, limit=3, lock_ms=1000, stall="r06", settle_ms=1500, settings=settings)
    events: list[tuple[str, int]] = []
    answer = {"accept": "accept", "release": "release", "reject": "reject", "none": "timeout"}
    for d in sorted(run.deliveries, key=lambda d: (d["offset"], d["delivery"])):
        events += [("acquire", d["offset"]), (answer[d["ack"]], d["offset"])]
        assert simulate(8, events, 3)["deliveries"][d["offset"]] == d["delivery"]
    states = simulate(8, events, 3)["states"]
    assert states[3] == "archived" and states[5] == "archived"  # r03 at the limit of 3, r05 rejected
    assert {o for o, s in states.items() if s == "acknowledged"} == {0, 1, 2, 4, 6, 7}
    assert [d["delivery"] for d in run.deliveries_of("r03")] == [1, 2, 3]
