"""end_offsets survives the stale metadata right after a leader moves: kafka-python's offset request can fail with
an odd exception type then, and a fresh consumer a moment later gets the answer; a failure that persists is raised."""

from __future__ import annotations

import kafka
import pytest

from etl_lib.core import kafka as kafka_admin
from etl_lib.core.kafka import end_offsets
from etl_lib.core.settings import load_settings

NOWHERE = load_settings({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})


class _FlakyConsumer:
    failures = 0
    made = 0

    def __init__(self, **kwargs):
        type(self).made += 1

    def partitions_for_topic(self, topic):
        return {0, 1}

    def end_offsets(self, parts):
        if type(self).failures:
            type(self).failures -= 1
            raise AttributeError("'OSError' object has no attribute 'invalid_metadata'")
        return {tp: 10 * (tp.partition + 1) for tp in parts}

    def close(self):
        pass


@pytest.fixture
def flaky(monkeypatch):
    monkeypatch.setattr(kafka, "KafkaConsumer", _FlakyConsumer)
    monkeypatch.setattr(kafka_admin.time, "sleep", lambda s: None)
    _FlakyConsumer.made = 0
    return _FlakyConsumer


def test_a_failed_offset_request_is_asked_again_with_a_fresh_consumer(flaky):
    flaky.failures = 2
    assert end_offsets(NOWHERE, ["t"]) == {"t": {0: 10, 1: 20}}
    assert flaky.made == 3


def test_a_failure_that_persists_is_raised(flaky):
    flaky.failures = 99
    with pytest.raises(AttributeError):
        end_offsets(NOWHERE, ["t"], attempts=3)
    assert flaky.made == 3
