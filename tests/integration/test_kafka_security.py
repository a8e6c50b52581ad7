"""A broker that requires SASL/PLAIN logins, as a managed Kafka does: the KAFKA_SECURITY_PROTOCOL and KAFKA_SASL_*
settings reach kafka-python (topic admin, data_gen's producer, end offsets) and Spark's Kafka source alike, and a
client without them, or with a wrong password, gets nothing."""

from __future__ import annotations

import pytest

from data_gen import GenParams, JavaKafkaSink, KafkaSink, generate
from etl_lib.config import load_settings
from etl_lib.core.broker import LocalKafka
from etl_lib.core.kafka import broker_answers, create_topics, end_offsets, free_port

pytestmark = pytest.mark.timeout(300)


def test_sasl_settings_reach_every_kafka_client(settings, spark, tmp_path):
    # The login is in these settings only, not in the process's environment: each client must be handed them.
    s = load_settings({**settings.as_env(), "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
                       "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_MECHANISM": "PLAIN",
                       "KAFKA_SASL_USERNAME": "student", "KAFKA_SASL_PASSWORD": 'exam "2018" pass'})
    broker = LocalKafka(s.kafka_bootstrap_servers, tmp_path / "broker", heap="256m",
                        sasl_users={"student": 'exam "2018" pass'}, client_settings=s)
    broker.start()  # ready means: a client logged in with the settings above listed the topics
    try:
        create_topics(s, s.kafka_topics.values(), 2)
        key = generate(GenParams(days=1, scale=0.02, seed=5),
                       KafkaSink(s.kafka_bootstrap_servers, s.kafka_topics, settings=s))
        sent = key["counts"]["bike"]["produced"]
        ends = end_offsets(s, s.kafka_topics.values())
        assert sent > 0 and {t: sum(ends[name].values()) for t, name in s.kafka_topics.items()} == \
            {t: c["produced"] for t, c in key["counts"].items()}, "data_gen's producer logged in"
        # The Java producer gets the same login as Java client properties (a JAAS line with the quoted password).
        generate(GenParams(days=1, scale=0.02, seed=5),
                 JavaKafkaSink(s.kafka_bootstrap_servers, s.kafka_topics, settings=s))
        ends = end_offsets(s, s.kafka_topics.values())
        assert {t: sum(ends[name].values()) for t, name in s.kafka_topics.items()} == \
            {t: 2 * c["produced"] for t, c in key["counts"].items()}, "data_gen's Java producer logged in"

        from etl_lib.spark import read_kafka_batch

        assert read_kafka_batch(spark, s.kafka_topic_bike, s).count() == 2 * sent, "Spark's source logged in too"

        # Without the login (the session's plain settings), or with a wrong password, the broker serves nothing.
        assert not broker_answers(settings.replace(kafka_bootstrap_servers=broker.bootstrap_servers), timeout=2.0)
        assert not broker_answers(s.replace(kafka_security_protocol="PLAINTEXT"), timeout=2.0)
        assert not broker_answers(s.replace(kafka_sasl_password="guess"), timeout=2.0)
    finally:
        broker.stop()
