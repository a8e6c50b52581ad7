"""etl_lib.config: every variable, its default, each kind of bad value and its message."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from etl_lib import config
from etl_lib.config import ANALYTICS_FLAGS, ConfigError, Location, duration_seconds, load_settings
from etl_lib.core.kafka import client_options, spark_kafka_options

DEFAULTS = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "KAFKA_TOPIC_BIKE": "bike-trips",
    "KAFKA_TOPIC_TAXI": "taxi-trips",
    "KAFKA_TOPIC_WEATHER": "weather-data",
    "KAFKA_TOPIC_ACCIDENTS": "accidents",
    "KAFKA_PARTITIONS": 3,
    "KAFKA_REPLICATION_FACTOR": 1,
    "KAFKA_MIN_INSYNC_REPLICAS": 1,
    "KAFKA_STARTING_OFFSETS": "earliest",
    "KAFKA_FAIL_ON_DATA_LOSS": True,
    "KAFKA_MAX_OFFSETS_PER_TRIGGER": 200000,
    "KAFKA_CONTROLLER_PORT": 0,
    "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
    "KAFKA_SASL_MECHANISM": "PLAIN",
    "KAFKA_SASL_USERNAME": "",
    "KAFKA_SASL_PASSWORD": "",
    "KAFKA_SSL_CA_FILE": "",
    "CLUSTER_KAFKA_PORT": 19092,
    "CLUSTER_SPARK_PORT": 7077,
    "CLUSTER_SPARK_UI_PORT": 8080,
    "SPARK_APP_NAME": "ETL Data Analysis",
    "SPARK_MASTER": "local[4]",
    "SPARK_DRIVER_MEMORY": "2g",
    "SPARK_DRIVER_JAVA_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -XX:+UseParallelGC",
    "SPARK_SHUFFLE_PARTITIONS": 4,
    "SPARK_UI_ENABLED": True,
    "SPARK_UI_PORT": 4040,
    "BATCH_INTERVAL": "10 seconds",
    "WINDOW_DURATION_SHORT": "5 minutes",
    "WINDOW_DURATION_MEDIUM": "15 minutes",
    "WINDOW_DURATION_LONG": "1 hour",
    "SLIDE_DURATION": "5 minutes",
    "WATERMARK_DELAY": "10 minutes",
    "EVENT_TIME_MAX_AHEAD": "1 hour",
    "EVENT_TIME_FLOOR": "2000-01-01 00:00:00",
    "MINIBATCH_WINDOW_SECONDS": 5.0,
    "PIPELINE_WORKERS": 10,
    "PIPELINE_QUEUE_SIZE": 50,
    "BUCKET_CAPACITY_BYTES": 10 * 1024 * 1024,
    **{flag: True for flag in ANALYTICS_FLAGS},
}


@pytest.mark.parametrize("name,expected", sorted(DEFAULTS.items()))
def test_default(name, expected):
    s = load_settings({})
    assert getattr(s, name.lower()) == expected
    assert s.source(name) == "default"


def test_every_setting_has_a_tested_default_or_is_a_path():
    names = {row[0] for row in load_settings({}).describe()}
    paths = {"DATA_DIR", "OUTPUT_BASE_PATH", "CHECKPOINT_BASE_PATH", "QUARANTINE_PATH", "SILVER_PATH",
             "ANALYTICS_OUTPUT_PATH", "ANALYTICS_CHECKPOINT_PATH"}
    assert names == set(DEFAULTS) | paths


def test_paths_default_inside_project_data_folder():
    s = load_settings({})
    root = config.project_root() / "data"
    for p in (s.output_base_path, s.checkpoint_base_path, s.analytics_output_path,
              s.analytics_checkpoint_path, s.quarantine_path, s.silver_path):
        assert root in p.parents  # project-local, wherever the clone lives


def test_paths_follow_data_dir(tmp_path):
    s = load_settings({"DATA_DIR": str(tmp_path)})
    assert s.output_base_path == tmp_path / "processed_simple"
    assert s.analytics_checkpoint_path == tmp_path / "checkpoints" / "analytics"


@pytest.mark.parametrize(
    "name,raw,expected",
    [
        ("KAFKA_BOOTSTRAP_SERVERS", "kafka:29092, other:9093", "kafka:29092,other:9093"),
        ("SPARK_MASTER", "spark://master:7077", "spark://master:7077"),
        ("SPARK_MASTER", "k8s://https://10.0.0.1:6443", "k8s://https://10.0.0.1:6443"),
        ("SPARK_MASTER", "local[2]", "local[2]"),
        ("ENABLE_PEARSON_CORRELATIONS", "FALSE", False),
        ("ENABLE_BINNED_AGGREGATIONS", "0", False),
        ("ENABLE_TEMPORAL_CORRELATIONS", "yes", True),
        ("WINDOW_DURATION_MEDIUM", "30  minutes", "30 minutes"),
        ("BATCH_INTERVAL", "500 milliseconds", "500 milliseconds"),
        ("MINIBATCH_WINDOW_SECONDS", "0.5", 0.5),
        ("BUCKET_CAPACITY_BYTES", "10MiB", 10 * 1024 * 1024),
        ("BUCKET_CAPACITY_BYTES", "500KB", 500_000),
        ("KAFKA_STARTING_OFFSETS", "Latest", "latest"),
    ],
)
def test_environment_value_parsed(name, raw, expected):
    s = load_settings({name: raw})
    assert getattr(s, name.lower()) == expected
    assert s.source(name) == "environment"


@pytest.mark.parametrize(
    "name,raw,form",
    [
        ("ENABLE_PEARSON_CORRELATIONS", "maybe", "expected true or false"),
        ("WINDOW_DURATION_MEDIUM", "15 minuts", "'10 seconds', '5 minutes', '1 hour'"),
        ("WINDOW_DURATION_SHORT", "0 minutes", "positive whole number"),
        ("BATCH_INTERVAL", "10s", "'10 seconds'"),
        ("PIPELINE_WORKERS", "0", "whole number greater than 0"),
        ("PIPELINE_WORKERS", "-3", "whole number greater than 0"),
        ("PIPELINE_QUEUE_SIZE", "ten", "whole number greater than 0"),
        ("KAFKA_BOOTSTRAP_SERVERS", "host:port:x", "host:port"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost", "host:port"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost:99999", "host:port"),
        ("KAFKA_TOPIC_BIKE", "bike trips", "Kafka topic name"),
        ("SPARK_MASTER", "local[two]", "spark://host:port"),
        ("SPARK_UI_PORT", "70000", "1 to 65535"),
        ("MINIBATCH_WINDOW_SECONDS", "-1", "greater than 0"),
        ("BUCKET_CAPACITY_BYTES", "10 parsecs", "size in bytes"),
        ("KAFKA_STARTING_OFFSETS", "beginning", "earliest, latest"),
        ("SPARK_DRIVER_MEMORY", "lots", "512m or 2g"),
        ("SPARK_DRIVER_JAVA_OPTIONS", "-Xss4m UseSerialGC", "start with '-'"),
        ("EVENT_TIME_MAX_AHEAD", "an hour", "'1 hour'"),
        ("EVENT_TIME_FLOOR", "2000-13-01", "'YYYY-MM-DD'"),
        ("EVENT_TIME_FLOOR", "01/01/2000", "'YYYY-MM-DD HH:MM:SS'"),
    ],
)
def test_bad_value_names_variable_value_and_form(name, raw, form):
    with pytest.raises(ConfigError) as err:
        load_settings({name: raw})
    message = str(err.value)
    assert message.count("\n") == 0, "one line per bad setting"
    assert name in message and repr(raw) in message and form in message


def test_all_bad_values_reported_together():
    with pytest.raises(ConfigError) as err:
        load_settings({"PIPELINE_WORKERS": "0", "ENABLE_PEARSON_CORRELATIONS": "maybe"})
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert any("PIPELINE_WORKERS" in line for line in lines) and any("ENABLE_PEARSON" in line for line in lines)


def test_a_slide_longer_than_its_window_is_refused_with_both_names():
    with pytest.raises(ConfigError) as err:
        load_settings({"SLIDE_DURATION": "20 minutes"})
    message = str(err.value)
    assert "SLIDE_DURATION='20 minutes'" in message and "WINDOW_DURATION_MEDIUM='15 minutes'" in message
    assert load_settings({"SLIDE_DURATION": "15 minutes"}).slide_duration == "15 minutes"  # equal: tumbling


def test_min_insync_replicas_above_the_replication_factor_is_refused():
    with pytest.raises(ConfigError) as err:
        load_settings({"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "4"})
    assert "KAFKA_MIN_INSYNC_REPLICAS=4" in str(err.value) and "KAFKA_REPLICATION_FACTOR=3" in str(err.value)
    s = load_settings({"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2"})
    assert (s.kafka_replication_factor, s.kafka_min_insync_replicas) == (3, 2)


def test_output_uris_pass_through_unchanged_and_a_remote_data_dir_is_refused(tmp_path):
    s = load_settings({"OUTPUT_BASE_PATH": "s3a://bucket/etl-kit/raw/", "ANALYTICS_CHECKPOINT_PATH": "hdfs://nn:8020/ck"})
    assert s.output_base_path == "s3a://bucket/etl-kit/raw" and isinstance(s.output_base_path, Location)
    assert s.output_base_path / "bike_trips" == "s3a://bucket/etl-kit/raw/bike_trips", "not s3a:/bucket/..."
    assert s.analytics_checkpoint_path / "silver_windows" == "hdfs://nn:8020/ck/silver_windows"
    assert s.replace(pipeline_workers=2).output_base_path == "s3a://bucket/etl-kit/raw", "kept through replace"
    with pytest.raises(ConfigError, match="OUTPUT_BASE_PATH='s3a://' is not valid: expected a location after"):
        load_settings({"OUTPUT_BASE_PATH": "s3a://"})
    with pytest.raises(ConfigError) as err:
        load_settings({"DATA_DIR": "s3a://bucket/etl-kit"})
    assert "DATA_DIR" in str(err.value) and "must be local" in str(err.value)
    assert load_settings({"DATA_DIR": (tmp_path / "a b").as_uri()}).data_dir == tmp_path / "a b"
    assert load_settings({"SILVER_PATH": (tmp_path / "s").as_uri()}).silver_path == tmp_path / "s"


def test_local_readers_and_the_demo_refuse_a_uri_with_a_message():
    from etl_lib.commit_log import SinkLogError, read_sink
    from etl_lib.lab.demo import UnsafeDeleteError, _outputs_to_clean

    s = load_settings({"ANALYTICS_OUTPUT_PATH": "s3a://bucket/analytics"})
    with pytest.raises(SinkLogError, match="Read it with Spark instead"):
        read_sink(s.analytics_output_path / "pearson_correlations")
    with pytest.raises(UnsafeDeleteError, match="ANALYTICS_OUTPUT_PATH=s3a://bucket/analytics is not a folder here"):
        _outputs_to_clean(s)


def test_settings_are_immutable():
    s = load_settings({})
    with pytest.raises(Exception):
        s.pipeline_workers = 3  # type: ignore[misc]


def test_replace_revalidates_and_marks_override():
    s = load_settings({}).replace(pipeline_workers=2, enable_pearson_correlations=False)
    assert s.pipeline_workers == 2 and s.enable_pearson_correlations is False
    assert s.source("PIPELINE_WORKERS") == "override"
    with pytest.raises(ConfigError, match="PIPELINE_WORKERS"):
        s.replace(pipeline_workers=0)


def test_replace_data_dir_moves_derived_paths(tmp_path):
    s = load_settings({"OUTPUT_BASE_PATH": "/srv/raw"}).replace(data_dir=tmp_path)
    assert s.analytics_output_path == tmp_path / "analytics"
    assert str(s.output_base_path) == "/srv/raw", "an explicit setting stays"


def test_topics_and_flags_helpers():
    s = load_settings({"ENABLE_PEARSON_CORRELATIONS": "false"})
    assert s.kafka_topics == {"bike": "bike-trips", "taxi": "taxi-trips",
                              "weather": "weather-data", "accidents": "accidents"}
    assert "ENABLE_PEARSON_CORRELATIONS" not in s.enabled_analytics()
    assert len(s.enabled_analytics()) == len(ANALYTICS_FLAGS) - 1 == 10


def test_settings_class_has_the_tables_fields_in_order_and_type():
    """Settings is written out (so an editor sees its fields) and _FIELDS is the table: the two cannot drift."""
    import dataclasses
    import typing

    from etl_lib.core import settings as core

    names = [f.name for f in dataclasses.fields(core.Settings) if f.name != "_sources"]
    assert names == [f.env.lower() for f in core._FIELDS] and core._drift() == []
    hints, s = typing.get_type_hints(core.Settings), load_settings({})
    assert all(isinstance(getattr(s, name), hints[name]) for name in names)


def test_a_setting_only_in_the_table_is_named(monkeypatch):
    from etl_lib.core import settings as core

    extra = core._Field("KAFKA_NEW_KNOB", "1", core.parse_positive_int, "a setting added to the table only")
    monkeypatch.setattr(core, "_FIELDS", core._FIELDS + (extra,))
    last = len(core._FIELDS) - 1
    assert core._drift() == [f"field {last}: Settings has None, _FIELDS wants ('kafka_new_knob', 'int')"]


def test_duration_seconds():
    assert duration_seconds("1 hour") == 3600
    assert duration_seconds("5 minutes") == 300
    assert duration_seconds("1 week") == 604800
    with pytest.raises(ValueError):
        duration_seconds("an hour")


def test_seed_style_module_constants(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:29092")
    config.get_settings.cache_clear()
    try:
        assert config.KAFKA_BOOTSTRAP_SERVERS == "kafka:29092"
        assert config.KAFKA_TOPICS["bike"] == "bike-trips"
        assert config.ENABLE_PEARSON_CORRELATIONS is True
    finally:
        config.get_settings.cache_clear()


def _cli(env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k not in DEFAULTS}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "etl_lib", "config", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_cli_prints_values_and_sources():
    out = _cli({"PIPELINE_WORKERS": "4"}, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["PIPELINE_WORKERS"] == {"value": "4", "source": "environment"}
    assert data["KAFKA_TOPIC_BIKE"] == {"value": "bike-trips", "source": "default"}
    table = _cli({}).stdout
    assert "KAFKA_BOOTSTRAP_SERVERS" in table and "default" in table


@pytest.mark.parametrize(
    "name,raw",
    [("ENABLE_PEARSON_CORRELATIONS", "maybe"), ("WINDOW_DURATION_MEDIUM", "15 minuts"),
     ("PIPELINE_WORKERS", "-1"), ("KAFKA_BOOTSTRAP_SERVERS", "host:port:x")],
)
def test_cli_bad_value_exits_nonzero_without_traceback(name, raw):
    out = _cli({name: raw})
    assert out.returncode == 2
    assert name in out.stderr and raw in out.stderr
    assert "Traceback" not in out.stderr


def test_controller_port_is_a_setting():
    assert load_settings({}).kafka_controller_port == 0
    assert load_settings({"KAFKA_CONTROLLER_PORT": "auto"}).kafka_controller_port == 0
    assert load_settings({"KAFKA_CONTROLLER_PORT": "19093"}).kafka_controller_port == 19093
    with pytest.raises(ConfigError, match="KAFKA_CONTROLLER_PORT.*0/auto"):
        load_settings({"KAFKA_CONTROLLER_PORT": "70000"})


def test_the_older_partitions_name_is_still_read_and_the_new_one_wins():
    assert load_settings({"KAFKA_TOPIC_PARTITIONS": "6"}).kafka_partitions == 6
    assert load_settings({"KAFKA_TOPIC_PARTITIONS": "6", "KAFKA_PARTITIONS": "2"}).kafka_partitions == 2
    assert load_settings({"KAFKA_PARTITIONS": "5"}).kafka_topic_partitions == 5


def test_plaintext_adds_no_client_option():
    s = load_settings({})
    assert client_options(s) == {} and spark_kafka_options(s) == {}


def test_sasl_ssl_reaches_kafka_python_and_spark_in_their_own_words(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = load_settings({"KAFKA_SECURITY_PROTOCOL": "sasl_ssl", "KAFKA_SASL_MECHANISM": "scram-sha-512",
                       "KAFKA_SASL_USERNAME": "student", "KAFKA_SASL_PASSWORD": 'p"w\\1', "KAFKA_SSL_CA_FILE": str(ca)})
    assert client_options(s) == {
        "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "student",
        "sasl_plain_password": 'p"w\\1', "ssl_cafile": str(ca)}
    spark = spark_kafka_options(s)
    assert spark["kafka.security.protocol"] == "SASL_SSL" and spark["kafka.sasl.mechanism"] == "SCRAM-SHA-512"
    assert spark["kafka.sasl.jaas.config"] == ('org.apache.kafka.common.security.scram.ScramLoginModule required '
                                               'username="student" password="p\\"w\\\\1";')
    assert spark["kafka.ssl.truststore.type"] == "PEM" and spark["kafka.ssl.truststore.location"] == str(ca)
    # The password is never printed by `make config`.
    row = next(r for r in s.describe() if r[0] == "KAFKA_SASL_PASSWORD")
    assert row[1] == "***"


def test_sasl_plain_uses_the_plain_login_module():
    s = load_settings({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "u",
                       "KAFKA_SASL_PASSWORD": "p"})
    assert spark_kafka_options(s)["kafka.sasl.jaas.config"].startswith(
        "org.apache.kafka.common.security.plain.PlainLoginModule required")
    assert "ssl_cafile" not in client_options(s)


@pytest.mark.parametrize("env,words", [
    ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
    ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "expected one of: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
    ({"KAFKA_SSL_CA_FILE": "/nonexistent/ca.pem"}, "is not a file"),
    ({"CLUSTER_KAFKA_PORT": "99999"}, "1 to 65535"),
])
def test_bad_security_and_cluster_settings_are_named(env, words):
    with pytest.raises(ConfigError, match=words):
        load_settings(env)


def test_the_fast_local_checkpoint_renames_are_used_only_when_every_folder_is_local(tmp_path):
    from etl_lib.spark import _writes_only_local_files

    assert _writes_only_local_files(load_settings({"DATA_DIR": str(tmp_path)}))
    for name in ("OUTPUT_BASE_PATH", "SILVER_PATH", "CHECKPOINT_BASE_PATH", "ANALYTICS_CHECKPOINT_PATH"):
        remote = load_settings({"DATA_DIR": str(tmp_path), name: "s3a://bucket/kit/x"})
        assert not _writes_only_local_files(remote), name


def test_event_time_floor_takes_a_date_or_a_time():
    assert load_settings({"EVENT_TIME_FLOOR": "2010-05-01"}).event_time_floor == "2010-05-01 00:00:00"
    assert load_settings({"EVENT_TIME_FLOOR": " 2010-05-01   06:30:00 "}).event_time_floor == "2010-05-01 06:30:00"
