"""Talking to Kafka: the clients' security options, is a broker there, make and reset topics, count what they hold.

Every function takes the :class:`~etl_lib.core.settings.Settings` first: the
brokers are its ``KAFKA_BOOTSTRAP_SERVERS``, and its clients log in as
``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*`` and ``KAFKA_SSL_CA_FILE`` say.  For
another address, hand over ``settings.replace(kafka_bootstrap_servers=...)``:
a changed copy reaches every client it is given to.

>>> from etl_lib.core.settings import load_settings
>>> s = load_settings({})
>>> client_options(s), spark_kafka_options(s)  # plain local use: no options
({}, {})
>>> bootstrap_hosts("b1:9092,[::1]:9093")
[('b1', 9092), ('::1', 9093)]
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import BrokerError
from .settings import Settings

__all__ = [
    "LOCAL_HOSTS", "bootstrap_hosts", "broker_answers", "client_options", "consumer_groups", "create_topics",
    "end_offsets", "ensure_topics", "free_port", "jaas_config", "may_reset_topics", "no_broker_message",
    "port_in_use", "reset_topics", "spark_kafka_options", "java_client_properties", "write_java_properties",
]

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


# --------------------------------------------------------------------------- security options
def client_options(settings: Settings) -> dict[str, Any]:
    """Security keyword arguments for every kafka-python client (producer, consumer, admin) of ``settings``.

    Empty for the default PLAINTEXT, so local use is unchanged::

        KafkaProducer(bootstrap_servers=s.kafka_bootstrap_servers, **client_options(s))
    """
    protocol = settings.kafka_security_protocol
    opts: dict[str, Any] = {}
    if protocol != "PLAINTEXT":
        opts["security_protocol"] = protocol
    if protocol.startswith("SASL"):
        opts.update(sasl_mechanism=settings.kafka_sasl_mechanism, sasl_plain_username=settings.kafka_sasl_username,
                    sasl_plain_password=settings.kafka_sasl_password)
    if protocol.endswith("SSL") and settings.kafka_ssl_ca_file:
        opts["ssl_cafile"] = settings.kafka_ssl_ca_file
    return opts


def spark_kafka_options(settings: Settings) -> dict[str, str]:
    """The same security settings as options of Spark's Kafka source and sink (``kafka.``-prefixed Java client
    properties): SASL through a JAAS line, a PEM CA file as the trust store.  Empty for PLAINTEXT::

        spark.readStream.format("kafka").options(**spark_kafka_options(s))
    """
    protocol = settings.kafka_security_protocol
    opts: dict[str, str] = {}
    if protocol != "PLAINTEXT":
        opts["kafka.security.protocol"] = protocol
    if protocol.startswith("SASL"):
        opts["kafka.sasl.mechanism"] = settings.kafka_sasl_mechanism
        opts["kafka.sasl.jaas.config"] = jaas_config(settings.kafka_sasl_mechanism, settings.kafka_sasl_username,
                                                     settings.kafka_sasl_password)
    if protocol.endswith("SSL") and settings.kafka_ssl_ca_file:
        opts["kafka.ssl.truststore.type"] = "PEM"
        opts["kafka.ssl.truststore.location"] = settings.kafka_ssl_ca_file
    return opts


def java_client_properties(settings: Settings) -> dict[str, str]:
    """The security settings as properties of Kafka's Java clients (the kit's Java tools): the options of
    :func:`spark_kafka_options` without Spark's ``kafka.`` prefix."""
    return {k.removeprefix("kafka."): v for k, v in spark_kafka_options(settings).items()}


def write_java_properties(path: Path, props: Mapping[str, str]) -> None:
    """Write Java client properties for the kit's Java tools (data_gen's producer, the share-group tool), readable
    by this user only (a SASL password may be among them), with values escaped as java.util.Properties reads
    them back (backslashes, and the newlines of a JAAS line)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for k, v in props.items():
            f.write(f"{k}=" + v.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r") + "\n")


_LOGIN_MODULES = {"PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
                  "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
                  "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule"}


def jaas_config(mechanism: str, username: str, password: str, users: Mapping[str, str] | None = None) -> str:
    """A Kafka ``sasl.jaas.config`` line: a client's login, or with ``users`` a PLAIN broker's user list too.

    Values are quoted as JAAS reads them (backslash and double quote escaped), so a
    password may hold any character.

    >>> jaas_config("PLAIN", "kit", 'p"w')
    'org.apache.kafka.common.security.plain.PlainLoginModule required username="kit" password="p\\\\"w";'
    """
    quote = lambda v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'  # noqa: E731
    extra = "".join(f" user_{u}={quote(p)}" for u, p in (users or {}).items())
    return f"{_LOGIN_MODULES[mechanism]} required username={quote(username)} password={quote(password)}{extra};"


# --------------------------------------------------------------------------- is a broker there


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    """True when a program already holds ``port`` on ``host`` (so a broker could not listen there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def _tcp_open(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def bootstrap_hosts(bootstrap: str) -> list[tuple[str, int]]:
    """Every (host, port) of a bootstrap list such as ``b1:9092,b2:9092`` (IPv6 in brackets allowed)."""
    out = []
    for item in bootstrap.split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        out.append((host.strip("[]"), int(port)))
    return out


def _admin(settings: Settings, client_id: str = "etl-kit-admin", **extra: Any):
    """A kafka-python admin client of the settings' brokers, logged in as the settings say."""
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, client_id=client_id,
                            **client_options(settings), **extra)


def broker_answers(settings: Settings, timeout: float = 3.0) -> bool:
    """True when a Kafka broker of ``KAFKA_BOOTSTRAP_SERVERS`` answers a metadata request (logged in as the
    settings say: a broker that refuses the login does not answer).

    With a list, any one answering broker is enough: that is what a client
    needs to find the rest of the cluster, and a cluster with one broker down
    is still a working cluster.
    """
    if not any(_tcp_open(h, p, min(timeout, 1.0)) for h, p in bootstrap_hosts(settings.kafka_bootstrap_servers)):
        return False
    from kafka.errors import KafkaError

    ms = int(timeout * 1000)
    try:
        admin = _admin(settings, "etl-kit-probe", request_timeout_ms=ms, api_version_auto_timeout_ms=ms)
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def no_broker_message(bootstrap: str, fix: str = "", cause: BaseException | None = None) -> str:
    """The one wording of "no Kafka broker answers at ``bootstrap``", with what to do about it.

    On this machine: start the kit's broker (or compose's), or point
    ``KAFKA_BOOTSTRAP_SERVERS`` at a running one.  A list of brokers (a cluster)
    or a broker elsewhere: start that, or use a local broker instead.  ``fix``
    adds the caller's own way out (``"pass --bootstrap-servers"``); ``cause``
    names the client's error.

    >>> no_broker_message("127.0.0.1:1", fix="use --source simulated")  # doctest: +NORMALIZE_WHITESPACE
    'No Kafka broker answers at 127.0.0.1:1. Start the local one with `python -m etl_lib broker start` (or
    `docker compose up -d kafka`), or set KAFKA_BOOTSTRAP_SERVERS to a running broker, or use --source simulated.'
    """
    why = f" ({type(cause).__name__})" if cause is not None else ""
    try:
        hosts = bootstrap_hosts(bootstrap)
    except ValueError:  # not host:port at all: the message still says what to do
        hosts = []
    if len(hosts) <= 1 and all(host in LOCAL_HOSTS for host, _ in hosts):
        todo = ("Start the local one with `python -m etl_lib broker start` (or `docker compose up -d kafka`), "
                "or set KAFKA_BOOTSTRAP_SERVERS to a running broker")
    elif len(hosts) > 1:
        todo = ("That is a cluster: start it (the practice cluster: `python -m etl_lib cluster up`), or unset "
                "KAFKA_BOOTSTRAP_SERVERS and run `python -m etl_lib broker start` for a local broker")
    else:
        todo = ("The kit only starts brokers on 127.0.0.1: start that broker, or unset KAFKA_BOOTSTRAP_SERVERS "
                "and run `python -m etl_lib broker start` for a local one")
    return f"No Kafka broker answers at {bootstrap}{why}. {todo}{', or ' + fix if fix else ''}."


# --------------------------------------------------------------------------- topics
def consumer_groups(settings: Settings) -> set[str]:
    """The ids of the consumer groups the broker at the settings' bootstrap servers knows."""
    admin = _admin(settings)
    try:
        return {group for group, _ in admin.list_consumer_groups()}
    finally:
        admin.close()


def create_topics(settings: Settings, topics: Iterable[str], partitions: int | None = None,
                  replication_factor: int | None = None, min_insync_replicas: int | None = None) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created.  Existing topics are left as they are.

    ``partitions`` per topic, ``replication_factor`` (copies of each partition,
    at most the number of brokers) and ``min_insync_replicas`` (how many must have
    a record before an ``acks=all`` send succeeds: the topic's
    ``min.insync.replicas``) default to the settings' ``KAFKA_PARTITIONS``,
    ``KAFKA_REPLICATION_FACTOR`` and ``KAFKA_MIN_INSYNC_REPLICAS`` (the last at
    most the replication factor, so a topic asked for with fewer copies still
    takes ``acks=all`` sends).
    """
    from kafka.admin import NewTopic
    from kafka.errors import InvalidReplicationFactorError, TopicAlreadyExistsError

    bootstrap = settings.kafka_bootstrap_servers
    partitions = settings.kafka_partitions if partitions is None else partitions
    replication_factor = settings.kafka_replication_factor if replication_factor is None else replication_factor
    if min_insync_replicas is None:
        min_insync_replicas = min(settings.kafka_min_insync_replicas, replication_factor)
    configs = {"min.insync.replicas": str(min_insync_replicas)}
    admin = _admin(settings)
    try:
        existing = set(admin.list_topics())
        wanted = [t for t in dict.fromkeys(topics) if t not in existing]
        if wanted:
            try:
                admin.create_topics([NewTopic(name=t, num_partitions=partitions, replication_factor=replication_factor,
                                              topic_configs=configs) for t in wanted])
            except TopicAlreadyExistsError:
                pass
            except InvalidReplicationFactorError as err:
                brokers = len(admin.describe_cluster().get("brokers", []))
                raise BrokerError(
                    f"Cannot create {', '.join(wanted)} with KAFKA_REPLICATION_FACTOR={replication_factor}: the "
                    f"cluster at {bootstrap} has {brokers} broker(s), and each copy needs its own broker. Set "
                    f"KAFKA_REPLICATION_FACTOR to at most {brokers} (1 for the local broker).") from err
            _wait_for_leaders(admin, wanted, partitions, bootstrap)
        return wanted
    finally:
        admin.close()


def _wait_for_leaders(admin, topics: list[str], partitions: int, bootstrap: str, timeout: float = 30.0) -> None:
    """Return once every partition of ``topics`` has a leader in the metadata the brokers serve.

    Kafka accepts a topic before its brokers know it: on a cluster, a describe or
    a send right after the create can still find no partitions on the broker it asks.
    """
    deadline = time.monotonic() + timeout
    while True:
        ready = {t["topic"] for t in admin.describe_topics(topics)
                 if len(t.get("partitions") or ()) == partitions and all(p["leader"] >= 0 for p in t["partitions"])}
        if ready >= set(topics):
            return
        if time.monotonic() > deadline:
            raise BrokerError(f"Kafka at {bootstrap} created {', '.join(sorted(set(topics) - ready))} but elected no "
                              f"leader for every partition within {timeout:.0f} s: check the brokers' logs.")
        time.sleep(0.2)


def ensure_topics(settings: Settings, topics: Iterable[str] | None = None) -> list[str]:
    """Create the kit's topics (or ``topics``) as the settings say: partitions, replication, min in-sync replicas."""
    return create_topics(settings, settings.kafka_topics.values() if topics is None else topics)


def end_offsets(settings: Settings, topics: Iterable[str], attempts: int = 5) -> dict[str, dict[int, int]]:
    """Per topic, the end offset of each partition: how many records it holds (the kit never compacts or deletes).

    Read with a consumer that joins no group and commits nothing.  Right after a
    leader moves (a broker died or came back) the client's metadata can be stale
    and kafka-python's offset request fails; a fresh consumer a moment later
    asks the new leaders, so the read is retried ``attempts`` times.
    """
    from kafka import KafkaConsumer, TopicPartition

    topics = list(dict.fromkeys(topics))
    options = client_options(settings)
    for attempt in range(attempts):
        consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, client_id="etl-kit-offsets",
                                 enable_auto_commit=False, **options)
        try:
            out: dict[str, dict[int, int]] = {}
            for topic in topics:
                parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
                ends = consumer.end_offsets(parts) if parts else {}
                out[topic] = {tp.partition: int(ends[tp]) for tp in parts}
            return out
        except Exception:  # noqa: BLE001 - stale metadata during a failover; kafka-python raises odd types here
            if attempt == attempts - 1:
                raise
            time.sleep(1.0)
        finally:
            consumer.close()
    raise AssertionError("unreachable")


def reset_topics(settings: Settings, topics: Iterable[str], partitions: int | None = None,
                 timeout: float = 60.0) -> None:
    """Delete the topics (if present) and create them empty: a fresh start for a demo run.

    Kafka deletes topics asynchronously; this waits until they are gone before
    creating them again, as :func:`create_topics` does: ``partitions`` per topic
    (default ``KAFKA_PARTITIONS``), replication and min in-sync replicas as the
    settings say.  Only for topics the kit owns: see :func:`may_reset_topics`.
    Refused (:class:`~etl_lib.core.errors.BrokerInUseError`, before anything is
    deleted) while another live kit run uses one of the topics on this broker.
    """
    from kafka.errors import UnknownTopicOrPartitionError

    from .sharing import refuse_reset  # sharing imports this module at its top

    topics = list(dict.fromkeys(topics))
    refuse_reset(settings.kafka_bootstrap_servers, topics)
    admin = _admin(settings)
    try:
        present = [t for t in topics if t in set(admin.list_topics())]
        if present:
            try:
                admin.delete_topics(present)
            except UnknownTopicOrPartitionError:
                pass
        deadline = time.monotonic() + timeout
        while set(present) & set(admin.list_topics()):
            if time.monotonic() > deadline:
                raise BrokerError(f"Kafka did not finish deleting {present} within {timeout:.0f} s")
            time.sleep(0.2)
    finally:
        admin.close()
    deadline = time.monotonic() + timeout
    while True:
        try:
            create_topics(settings, topics, partitions)
            return
        except BrokerError:
            raise  # a setting the cluster cannot meet: waiting will not help
        except Exception:  # noqa: BLE001 - a just-deleted topic can still be "marked for deletion"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def may_reset_topics(settings: Settings, broker: Any = None) -> bool:
    """Whether the kit may delete and recreate topics at ``KAFKA_BOOTSTRAP_SERVERS`` without being asked.

    Yes for a broker this run started (``broker.owned``) and for a broker on
    this machine (every bootstrap host 127.0.0.1 or localhost: the kit's own, or
    the one docker-compose.yml publishes).  Never for a cluster elsewhere: its
    topics may hold data the kit did not write.
    """
    if broker is not None and broker.owned:
        return True
    return all(host in LOCAL_HOSTS for host, _ in bootstrap_hosts(settings.kafka_bootstrap_servers))
