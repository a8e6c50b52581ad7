"""Clear messages for a missing or old Java, unresolved jars, and a broker that cannot start (no JVM run)."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from etl_lib.core import jvm as _jvm
from etl_lib.core.broker import LocalKafka
from etl_lib.core.errors import BrokerError
from etl_lib.core.kafka import broker_answers, free_port
from etl_lib.core.settings import load_settings


def _at(bootstrap: str):
    """Default settings but for the brokers."""
    return load_settings({"KAFKA_BOOTSTRAP_SERVERS": bootstrap})


def _fake_java(tmp_path: Path, version_line: str) -> Path:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return home


def test_java_home_without_java(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(_jvm.JavaError, match="JAVA_HOME=.*has no bin/java"):
        _jvm.java_executable()


def test_java_missing_from_path(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(_jvm.JavaError, match="Java was not found.*JDK 17"):
        _jvm.java_executable()


def test_java_too_old(tmp_path, monkeypatch):
    home = _fake_java(tmp_path, 'openjdk version "11.0.22" 2024-01-16')
    monkeypatch.setenv("JAVA_HOME", str(home))
    with pytest.raises(_jvm.JavaError, match="Java 11.*17 or newer"):
        _jvm.java_version(_jvm.java_executable())


def test_java_8_style_version(tmp_path, monkeypatch):
    home = _fake_java(tmp_path, 'java version "1.8.0_392"')
    with pytest.raises(_jvm.JavaError, match="Java 8"):
        _jvm.java_version(str(home / "bin" / "java"))


def test_java_17_accepted(tmp_path):
    home = _fake_java(tmp_path, 'openjdk version "17.0.15" 2025-04-15')
    assert _jvm.java_version(str(home / "bin" / "java")) == 17


def test_jars_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(_jvm, "project_root", lambda: tmp_path)
    with pytest.raises(_jvm.JarsMissingError, match="make jars"):
        _jvm.connector_jars()
    with pytest.raises(_jvm.JarsMissingError, match="make jars"):
        _jvm.broker_classpath()


def test_connector_jar_picked_by_artifact(monkeypatch, tmp_path):
    lib = tmp_path / "jvm" / "connector" / "lib"
    lib.mkdir(parents=True)
    for name in ("spark-sql-kafka-0-10_2.13-4.2.0.jar", "spark-token-provider-kafka-0-10_2.13-4.2.0.jar",
                 "kafka-clients-3.9.2.jar", "commons-pool2-2.12.1.jar"):
        (lib / name).write_bytes(b"")
    monkeypatch.setattr(_jvm, "project_root", lambda: tmp_path)
    names = [Path(p).name for p in _jvm.connector_jars()]
    assert names[0].startswith("spark-sql-kafka") and len(names) == 4
    (lib / "commons-pool2-2.12.1.jar").unlink()
    with pytest.raises(_jvm.JarsMissingError, match="commons-pool2"):
        _jvm.connector_jars()


def test_port_in_use_by_something_else(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not broker_answers(_at(f"127.0.0.1:{port}"), timeout=1.0)
        with pytest.raises(BrokerError, match=f"Port {port} .* in use .*KAFKA_BOOTSTRAP_SERVERS"):
            LocalKafka(f"127.0.0.1:{port}", tmp_path).start()


def test_remote_bootstrap_is_not_started(tmp_path):
    with pytest.raises(BrokerError, match="only starts brokers on 127.0.0.1"):
        LocalKafka("kafka.example.internal:9092", tmp_path).start()


def test_the_no_broker_message_says_what_to_do():
    from etl_lib.core.kafka import no_broker_message

    local = no_broker_message("127.0.0.1:9092", fix="pass --bootstrap-servers", cause=OSError("refused"))
    assert local.startswith("No Kafka broker answers at 127.0.0.1:9092 (OSError). ")
    assert "`python -m etl_lib broker start`" in local and "KAFKA_BOOTSTRAP_SERVERS" in local
    assert local.endswith(", or pass --bootstrap-servers.")
    remote = no_broker_message("kafka.example.org:9092")
    assert "only starts brokers on 127.0.0.1" in remote and "unset KAFKA_BOOTSTRAP_SERVERS" in remote
    assert "`python -m etl_lib cluster up`" in no_broker_message("127.0.0.1:19092,127.0.0.1:19093")


def test_nothing_answers_on_a_free_port():
    assert not broker_answers(_at(f"127.0.0.1:{free_port()}"), timeout=0.5)


def test_storage_format_never_lets_a_cluster_id_be_read_as_an_option():
    """About 1 in 64 random ids begins with '-': each must reach StorageTool as the value of --cluster-id."""
    from etl_lib.core.node import new_cluster_id, storage_format_command

    ids = [new_cluster_id() for _ in range(1000)] + ["-" + new_cluster_id()[1:], "--" + new_cluster_id()[2:]]
    for cid in ids:
        assert len(cid) == 22
        cmd = storage_format_command("java", "cp", cid, Path("/x/server.properties"))
        args = cmd[cmd.index("format") + 1:]
        # Every argument is a flag or --name=value: no value stands alone where a parser could take it for a flag.
        assert all(a.startswith("--") for a in args), args
        assert f"--cluster-id={cid}" in args and args.count(f"--cluster-id={cid}") == 1


def test_a_list_of_dead_brokers_is_never_replaced_by_a_new_local_one(tmp_path):
    """A cluster the kit did not start is down: refuse to start a single-node broker on one of its ports."""
    from etl_lib.core.broker import LocalKafka
    from etl_lib.core.errors import BrokerError
    from etl_lib.core.kafka import bootstrap_hosts, broker_answers, free_port

    bootstrap = f"127.0.0.1:{free_port()}, 127.0.0.1:{free_port()},[::1]:{free_port()}"
    assert [h for h, _ in bootstrap_hosts(bootstrap)] == ["127.0.0.1", "127.0.0.1", "::1"]
    assert not broker_answers(_at(bootstrap), timeout=0.5)
    with pytest.raises(BrokerError, match="list of 3 brokers"):
        LocalKafka(bootstrap, tmp_path / "b").start()
    assert not (tmp_path / "b").exists(), "nothing formatted, nothing started"


class _LateMetadataAdmin:
    """An admin client whose brokers learn of a new topic only after a few describes (as on a cluster)."""

    def __init__(self, known_after: int) -> None:
        self.calls, self.known_after = 0, known_after

    def describe_topics(self, topics):
        self.calls += 1
        known = self.calls > self.known_after
        return [{"topic": t, "error_code": 0 if known else 3,
                 "partitions": [{"partition": p, "leader": 1} for p in range(3)] if known else []} for t in topics]


def test_created_topics_are_waited_for_until_every_partition_has_a_leader(monkeypatch):
    from etl_lib.core import kafka as kafka_local

    monkeypatch.setattr(kafka_local.time, "sleep", lambda _: None)
    admin = _LateMetadataAdmin(known_after=3)
    kafka_local._wait_for_leaders(admin, ["a", "b"], 3, "b1:9092")
    assert admin.calls == 4
    with pytest.raises(BrokerError, match="created a, b but elected no leader for every partition"):
        kafka_local._wait_for_leaders(_LateMetadataAdmin(known_after=10**9), ["a", "b"], 3, "b1:9092", timeout=0)
