"""etl_lib.core.queues without a broker: what a run's rows add up to, and one clear message per failure."""

from __future__ import annotations

import pytest

from etl_lib.core import queues
from etl_lib.core.errors import BrokerError, KitError
from etl_lib.core.queues import GroupRun, run_group


def _d(t, member, offset, key, value, delivery=1, ack="accept", partition=0):
    return {"t": t, "member": member, "partition": partition, "offset": offset, "key": key, "value": value,
            "delivery": delivery, "ack": ack}


def test_a_runs_tables_count_members_keys_redeliveries_and_overtaking():
    rows = [_d(1, 0, 0, "k0", "r00"), _d(2, 1, 2, "k0", "r02"), _d(3, 0, 1, "k1", "r01", ack="release"),
            _d(4, 1, 1, "k1", "r01", delivery=2), _d(5, 0, 1, "k0", "r04")]  # r04 (offset 1) after offset 2 of k0
    run = GroupRun("share", 3, 1, 4, rows, {"accepted": 4}, 5, {0: [0], 1: [0], 2: [0]})
    assert run.records_per_member() == {0: 3, 1: 2, 2: 0}
    assert run.partitions_per_member() == {0: [0], 1: [0], 2: []}
    assert run.redeliveries() == [rows[3]]
    assert [d["ack"] for d in run.deliveries_of("r01")] == ["release", "accept"]
    assert run.members_per_key() == {"k0": 2, "k1": 2}
    assert run.overtaken() == 1


def test_a_consumer_group_in_order_is_never_overtaken():
    rows = [_d(t, 0, t, "k0", f"r{t:02d}", delivery=None, ack="commit") for t in range(5)]
    assert GroupRun("consumer", 2, 1, 5, rows, {"seen": 5}, 1).overtaken() == 0


def _tool(code, lines):
    return lambda *a, **k: (code, lines, "")


def test_share_groups_off_names_the_broker_and_the_fix(monkeypatch, settings_plain):
    monkeypatch.setattr(queues, "_run_tool", _tool(3, [{"error": "share groups are off on this broker "
                                                                 "(feature share.version is 0)"}]))
    with pytest.raises(BrokerError) as err:
        run_group("share", settings=settings_plain)
    text = str(err.value)
    assert "share.version is 0" in text and "make broker-start" in text and "4.2" in text


def test_a_run_that_did_not_finish_says_how_far_it_got(monkeypatch, settings_plain):
    lines = [{"ready": 10, "assignment": {"member-0": [0]}}, _d(20, 0, 0, "k0", "r00"),
             {"summary": {"records": 2, "finished": 1, "elapsed_ms": 5, "ends": {"accepted": 1}}}]
    monkeypatch.setattr(queues, "_run_tool", _tool(4, lines))
    with pytest.raises(KitError, match="Only 1 of 2 records"):
        run_group("share", members=1, records=2, settings=settings_plain)


def test_a_failed_member_is_reported_not_swallowed(monkeypatch, settings_plain):
    monkeypatch.setattr(queues, "_run_tool", _tool(0, [{"member": 2, "failed": "AuthorizationException: denied"}]))
    with pytest.raises(KitError, match="AuthorizationException: denied"):
        run_group("consumer", settings=settings_plain)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        run_group("queue")


@pytest.fixture
def settings_plain():
    from etl_lib.core.settings import load_settings

    return load_settings({})


def test_storage_of_an_older_kafka_has_its_features_raised_once(monkeypatch, tmp_path, caplog):
    """The broker's start raises the feature levels of storage an older Kafka formatted (share groups stay off
    at an old metadata.version), once per Kafka version; a failure is a warning with the way to start afresh."""
    from etl_lib.core import broker as broker_mod
    from etl_lib.core import jvm

    calls = []
    monkeypatch.setattr(jvm, "kafka_version", lambda: "4.4.0")
    monkeypatch.setattr(queues, "upgrade_features",
                        lambda s, b: calls.append(b) or {"metadata.version": (27, 33), "share.version": (0, 2)})
    (tmp_path / "kraft").mkdir()
    kafka = broker_mod.LocalKafka("127.0.0.1:1", tmp_path)
    with caplog.at_level("WARNING"):
        kafka._upgrade_features()
    assert calls == ["127.0.0.1:1"] and "share.version 0 -> 2" in caplog.text
    assert (tmp_path / "kraft" / "kit-kafka-version").read_text() == "4.4.0"
    kafka._upgrade_features()  # the same Kafka again: nothing to do
    assert calls == ["127.0.0.1:1"]

    (tmp_path / "kraft" / "kit-kafka-version").write_text("4.1.1")
    monkeypatch.setattr(queues, "upgrade_features", lambda s, b: (_ for _ in ()).throw(KitError("refused")))
    caplog.clear()
    with caplog.at_level("WARNING"):
        kafka._upgrade_features()
    assert "refused" in caplog.text and "make broker-stop" in caplog.text
    assert (tmp_path / "kraft" / "kit-kafka-version").read_text() == "4.1.1"  # tried again at the next start
