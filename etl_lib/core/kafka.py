"""Talking to Kafka as an administrator: is a broker there, make and reset topics, count what they hold.

Every function takes the :class:`~etl_lib.core.settings.Settings` whose security
options (``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*``, ``KAFKA_SSL_CA_FILE``)
its clients use; without one, the process's settings (loaded once).  So a
``settings.replace(...)`` reaches every client it is handed to.

>>> bootstrap_hosts("b1:9092,[::1]:9093")
[('b1', 9092), ('::1', 9093)]
"""

from __future__ import annotations

import socket
import time
from typing import Any, Iterable

from .errors import BrokerError
from .settings import Settings, get_settings

__all__ = [
    "LOCAL_HOSTS", "bootstrap_hosts", "broker_answers", "client_options", "consumer_groups", "create_topics",
    "end_offsets", "ensure_topics", "free_port", "may_reset_topics", "port_in_use", "reset_topics",
]

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def client_options(settings: Settings | None = None) -> dict[str, Any]:
    """Security keyword arguments for kafka-python clients; empty for plain local use."""
    return (settings or get_settings()).kafka_client_options()


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


def _admin(bootstrap: str, settings: Settings | None, client_id: str = "etl-kit-admin", **extra: Any):
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id, **client_options(settings), **extra)


def broker_answers(bootstrap: str, timeout: float = 3.0, *, settings: Settings | None = None) -> bool:
    """True when a Kafka broker of ``bootstrap`` answers a metadata request.

    With a list, any one answering broker is enough: that is what a client
    needs to find the rest of the cluster, and a cluster with one broker down
    is still a working cluster.
    """
    if not any(_tcp_open(h, p, min(timeout, 1.0)) for h, p in bootstrap_hosts(bootstrap)):
        return False
    from kafka.errors import KafkaError

    ms = int(timeout * 1000)
    try:
        admin = _admin(bootstrap, settings, "etl-kit-probe", request_timeout_ms=ms, api_version_auto_timeout_ms=ms)
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def consumer_groups(settings: Settings) -> set[str]:
    """The ids of the consumer groups the broker at the settings' bootstrap servers knows."""
    admin = _admin(settings.kafka_bootstrap_servers, settings)
    try:
        return {group for group, _ in admin.list_consumer_groups()}
    finally:
        admin.close()


def create_topics(bootstrap: str, topics: Iterable[str], partitions: int = 3, replication_factor: int = 1,
                  min_insync_replicas: int | None = None, *, settings: Settings | None = None) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created.  Existing topics are left as they are.

    ``replication_factor``: copies of each partition (at most the number of
    brokers); ``min_insync_replicas``: how many must have a record before an
    ``acks=all`` send succeeds (the topic's ``min.insync.replicas``).
    """
    from kafka.admin import NewTopic
    from kafka.errors import InvalidReplicationFactorError, TopicAlreadyExistsError

    configs = {"min.insync.replicas": str(min_insync_replicas)} if min_insync_replicas else {}
    admin = _admin(bootstrap, settings)
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
    return create_topics(settings.kafka_bootstrap_servers, settings.kafka_topics.values() if topics is None else topics,
                         settings.kafka_partitions, settings.kafka_replication_factor,
                         settings.kafka_min_insync_replicas, settings=settings)


def end_offsets(bootstrap: str, topics: Iterable[str], attempts: int = 5, *,
                settings: Settings | None = None) -> dict[str, dict[int, int]]:
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
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="etl-kit-offsets", enable_auto_commit=False,
                                 **options)
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


def reset_topics(bootstrap: str, topics: Iterable[str], partitions: int = 3, timeout: float = 60.0,
                 replication_factor: int = 1, min_insync_replicas: int | None = None, *,
                 settings: Settings | None = None) -> None:
    """Delete the topics (if present) and create them empty: a fresh start for a demo run.

    Kafka deletes topics asynchronously; this waits until they are gone before
    creating them again.  Only for topics the kit owns: see :func:`may_reset_topics`.
    Refused (:class:`~etl_lib.core.errors.BrokerInUseError`, before anything is
    deleted) while another live kit run uses one of the topics on this broker.
    """
    from kafka.errors import UnknownTopicOrPartitionError

    from .sharing import refuse_reset  # sharing imports this module at its top

    topics = list(dict.fromkeys(topics))
    refuse_reset(bootstrap, topics)
    admin = _admin(bootstrap, settings)
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
            create_topics(bootstrap, topics, partitions, replication_factor, min_insync_replicas, settings=settings)
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
