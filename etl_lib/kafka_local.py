"""A real Apache Kafka broker on this machine, without Docker.

The broker is the one Maven resolves into ``jvm/broker/lib`` (``make jars``): a
single node in KRaft mode acting as broker and controller, bound to 127.0.0.1
only, with a bounded heap and its log in a file.  If a broker already answers at
``KAFKA_BOOTSTRAP_SERVERS`` (the docker-compose one, or one started earlier) it
is used instead and left running.

Python API (tests, notebooks, the demo)::

    with ensure_broker(settings) as broker:       # starts one only if none answers
        produce(broker.bootstrap_servers, ...)
    # stopped here if this call started it, also on Ctrl+C or an exception

Command line::

    python -m etl_lib.kafka_local start    # background broker, survives this command
    python -m etl_lib.kafka_local status
    python -m etl_lib.kafka_local stop
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import _jvm
from ._cli import settings_or_exit
from .config import QUICK_START_JVM_OPTIONS, Settings, get_settings

__all__ = [
    "BrokerError",
    "LocalKafka",
    "broker_answers",
    "create_topics",
    "end_offsets",
    "ensure_broker",
    "ensure_topics",
    "free_port",
    "may_reset_topics",
    "reset_topics",
]

log = logging.getLogger(__name__)

_LOCAL_HOSTS = {"127.0.0.1", "localhost"}


class BrokerError(RuntimeError):
    """The broker cannot be reached or started; the message names the cause and the fix."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_in_use(host: str, port: int) -> bool:
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


def client_options() -> dict:
    """Security keyword arguments for kafka-python clients (``KAFKA_SECURITY_PROTOCOL`` and the
    ``KAFKA_SASL_*`` / ``KAFKA_SSL_CA_FILE`` settings of this process); empty for plain local use."""
    from .config import load_settings

    return load_settings().kafka_client_options()


def broker_answers(bootstrap: str, timeout: float = 3.0) -> bool:
    """True when a Kafka broker of ``bootstrap`` answers a metadata request.

    With a list, any one answering broker is enough: that is what a client
    needs to find the rest of the cluster, and a cluster with one broker down
    is still a working cluster.
    """
    if not any(_tcp_open(h, p, min(timeout, 1.0)) for h, p in bootstrap_hosts(bootstrap)):
        return False
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    ms = int(timeout * 1000)
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            **client_options(),
            request_timeout_ms=ms,
            api_version_auto_timeout_ms=ms,
            client_id="etl-kit-probe",
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        admin.list_topics()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        admin.close()


def create_topics(bootstrap: str, topics: Iterable[str], partitions: int = 3, replication_factor: int = 1,
                  min_insync_replicas: int | None = None) -> list[str]:
    """Create the topics that do not exist yet; returns the ones created.  Existing topics are left as they are.

    ``replication_factor``: copies of each partition (at most the number of
    brokers); ``min_insync_replicas``: how many must have a record before an
    ``acks=all`` send succeeds (the topic's ``min.insync.replicas``).
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import InvalidReplicationFactorError, TopicAlreadyExistsError

    configs = {"min.insync.replicas": str(min_insync_replicas)} if min_insync_replicas else {}
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="etl-kit-admin", **client_options())
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
                         settings.kafka_min_insync_replicas)


def end_offsets(bootstrap: str, topics: Iterable[str], attempts: int = 5) -> dict[str, dict[int, int]]:
    """Per topic, the end offset of each partition: how many records it holds (the kit never compacts or deletes).

    Read with a consumer that joins no group and commits nothing.  Right after a
    leader moves (a broker died or came back) the client's metadata can be stale
    and kafka-python's offset request fails; a fresh consumer a moment later
    asks the new leaders, so the read is retried ``attempts`` times.
    """
    from kafka import KafkaConsumer, TopicPartition

    topics = list(dict.fromkeys(topics))
    for attempt in range(attempts):
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="etl-kit-offsets", enable_auto_commit=False,
                                 **client_options())
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
                 replication_factor: int = 1, min_insync_replicas: int | None = None) -> None:
    """Delete the topics (if present) and create them empty: a fresh start for a demo run.

    Kafka deletes topics asynchronously; this waits until they are gone before
    creating them again.  Only for topics the kit owns: see :func:`may_reset_topics`.
    """
    from kafka import KafkaAdminClient
    from kafka.errors import UnknownTopicOrPartitionError

    topics = list(dict.fromkeys(topics))
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="etl-kit-admin", **client_options())
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
            create_topics(bootstrap, topics, partitions, replication_factor, min_insync_replicas)
            return
        except BrokerError:
            raise  # a setting the cluster cannot meet: waiting will not help
        except Exception:  # noqa: BLE001 - a just-deleted topic can still be "marked for deletion"
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes in URL-safe base64 (22 characters; about 1 in 64 starts with '-')."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def storage_format_command(java: str, classpath: str, cluster_id: str, props: Path) -> list[str]:
    """The ``kafka-storage format`` command line for a single-node KRaft broker.

    The id is passed as ``--cluster-id=<id>``, one argument: given as ``-t <id>``,
    an id that begins with ``-`` is read as another option and formatting fails.
    """
    return [java, "-cp", classpath, "kafka.tools.StorageTool", "format", "--standalone",
            f"--cluster-id={cluster_id}", f"--config={props}"]


@dataclass
class LocalKafka:
    """One local broker process (or a handle on one that was already running).

    ``owned`` is True when this object started the broker and so must stop it.
    """

    bootstrap_servers: str
    data_dir: Path
    heap: str = "512m"
    owned: bool = False
    pid: int | None = None
    startup_seconds: float | None = None
    cluster_id: str | None = None  # None: a new random id when storage is formatted
    controller_port: int = 0  # 0: any free port (KAFKA_CONTROLLER_PORT)
    # user -> password: clients must log in with SASL/PLAIN (as on a managed Kafka) instead of PLAINTEXT.
    sasl_users: dict[str, str] | None = None
    _proc: subprocess.Popen | None = None

    # ------------------------------------------------------------------ paths
    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def _pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def _props(self) -> Path:
        return self.data_dir / "server.properties"

    # ------------------------------------------------------------------ start
    def start(self, timeout: float = 90.0, detach: bool = False) -> "LocalKafka":
        """Format storage if needed, start the JVM and wait until a client can list topics.

        ``detach`` starts the broker in its own session so it outlives this
        process (the CLI's ``start``); otherwise it is stopped at interpreter exit.
        """
        hosts = bootstrap_hosts(self.bootstrap_servers)
        if len(hosts) > 1:
            raise BrokerError(
                f"No broker of KAFKA_BOOTSTRAP_SERVERS={self.bootstrap_servers!r} answers. That is a list of "
                f"{len(hosts)} brokers, a cluster the kit did not start, so it will not start a single-node broker "
                "on one of their ports. Start that cluster (or `python -m etl_lib.kafka_local start` with one "
                "address such as 127.0.0.1:9092)."
            )
        host, port = hosts[0]
        if host not in _LOCAL_HOSTS:
            raise BrokerError(
                f"No Kafka broker answers at KAFKA_BOOTSTRAP_SERVERS={self.bootstrap_servers!r}, and the kit only "
                "starts brokers on 127.0.0.1. Start that broker, or unset KAFKA_BOOTSTRAP_SERVERS to use a local one."
            )
        if _port_in_use(host, port):
            raise BrokerError(
                f"Port {port} on {host} is in use by a program that does not answer as a Kafka broker. "
                f"Stop that program, or choose another port: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:<port>."
            )
        java = _jvm.java_executable()
        _jvm.java_version(java)
        classpath = _jvm.broker_classpath()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_storage(java, classpath, host, port)

        cmd = [
            java,
            "-Xms128m",
            f"-Xmx{self.heap}",
            # A broker for one machine serves little: the driver's quick-start JIT and collector start it
            # faster and leave the CPU to the work (data_gen's first week into a fresh broker 5.4 s -> 4.6 s).
            *QUICK_START_JVM_OPTIONS.split(),
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(self._props),
        ]
        out = open(self.data_dir / "broker.out", "ab")
        t0 = time.monotonic()
        self._proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=detach
        )
        out.close()
        self.pid = self._proc.pid
        self.owned = True
        self._pid_file.write_text(str(self.pid))
        if not detach:
            atexit.register(self.stop)
        try:
            self._wait_ready(t0, timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def _prepare_storage(self, java: str, classpath: str, host: str, port: int) -> None:
        """Reuse formatted storage when its ports still fit; otherwise format afresh."""
        log_dirs = self.data_dir / "kraft"
        if self._props.exists() and (log_dirs / "meta.properties").exists():
            props = dict(
                line.split("=", 1) for line in self._props.read_text().splitlines() if "=" in line
            )
            cport = int(props.get("controller.quorum.bootstrap.servers", ":0").rpartition(":")[2] or 0)
            fits = props.get("advertised.listeners") == f"PLAINTEXT://{host}:{port}" and cport
            if fits and self.controller_port in (0, cport) and not _port_in_use(host, cport):
                return
            log.warning("Broker storage in %s does not fit the requested ports; formatting it afresh.", log_dirs)
        shutil.rmtree(log_dirs, ignore_errors=True)
        cport = self.controller_port or free_port()
        if self.controller_port and _port_in_use(host, cport):
            raise BrokerError(
                f"KAFKA_CONTROLLER_PORT={cport} is in use on {host}. Choose another port, or set "
                "KAFKA_CONTROLLER_PORT=auto to let the kit pick a free one.")
        name = "SASL_PLAINTEXT" if self.sasl_users else "PLAINTEXT"
        self._props.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"listeners={name}://{host}:{port},CONTROLLER://{host}:{cport}",
                    f"advertised.listeners={name}://{host}:{port}",
                    "controller.listener.names=CONTROLLER",
                    f"inter.broker.listener.name={name}",
                    f"listener.security.protocol.map={name}:{name},CONTROLLER:PLAINTEXT",
                    *self._sasl_properties(),
                    f"controller.quorum.bootstrap.servers={host}:{cport}",
                    f"log.dirs={log_dirs}",
                    "num.partitions=3",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=5",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    # A scratch broker replaying 2018 events: never delete by age.
                    "log.retention.ms=-1",
                    "",
                ]
            )
        )
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2.format(log=self.log_file))
        fmt = subprocess.run(
            storage_format_command(java, classpath, self.cluster_id or new_cluster_id(), self._props),
            capture_output=True, text=True, timeout=120,
        )
        if fmt.returncode != 0:
            raise BrokerError(f"Formatting Kafka storage in {log_dirs} failed:\n{fmt.stdout}{fmt.stderr}")

    def _sasl_properties(self) -> list[str]:
        """The SASL/PLAIN lines: the mechanism, and the users with the broker's own login for itself."""
        if not self.sasl_users:
            return []
        secret = uuid.uuid4().hex
        users = {"broker": secret, **self.sasl_users}
        quote = lambda v: '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'  # noqa: E731
        jaas = ("org.apache.kafka.common.security.plain.PlainLoginModule required "
                f"username={quote('broker')} password={quote(secret)} "
                + " ".join(f"user_{u}={quote(p)}" for u, p in users.items()) + ";")
        return ["sasl.enabled.mechanisms=PLAIN", "sasl.mechanism.inter.broker.protocol=PLAIN",
                # A properties file reads a backslash as an escape: double them to keep the JAAS quoting.
                "listener.name.sasl_plaintext.plain.sasl.jaas.config=" + jaas.replace("\\", "\\\\")]

    def _wait_ready(self, t0: float, timeout: float) -> None:
        delay = 0.1
        while time.monotonic() - t0 < timeout:
            if self._proc is not None and self._proc.poll() is not None:
                raise BrokerError(
                    f"The Kafka broker exited with code {self._proc.returncode} while starting. "
                    f"Last lines of its log ({self.log_file}):\n{self._tail()}"
                )
            if broker_answers(self.bootstrap_servers, timeout=2.0):
                return
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
        raise BrokerError(
            f"The Kafka broker did not answer at {self.bootstrap_servers} within {timeout:.0f} s. "
            f"Last lines of its log ({self.log_file}):\n{self._tail()}"
        )

    def _tail(self, n: int = 15) -> str:
        lines: list[str] = []
        for f in (self.data_dir / "broker.out", self.log_file):
            if f.exists():
                lines += f.read_text(errors="replace").splitlines()[-n:]
        return "\n".join(lines[-n:]) or "(empty)"

    # ------------------------------------------------------------------ stop
    def stop(self, timeout: float = 30.0) -> None:
        """Stop the broker if this object started it; no JVM is left behind."""
        if not self.owned:
            return
        pid = self._proc.pid if self._proc is not None else self.pid
        if pid is not None:
            _terminate(pid, self._proc, timeout)
        self.owned = False
        self._proc = None
        with contextlib.suppress(FileNotFoundError):
            self._pid_file.unlink()
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> "LocalKafka":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def resident_memory_mb(self) -> float | None:
        """Resident memory of the broker JVM in MiB (Linux), or None when unknown."""
        if self.pid is None:
            return None
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None


def _is_our_broker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline


def _terminate(pid: int, proc: subprocess.Popen | None, timeout: float) -> None:
    """SIGTERM (controlled shutdown), then SIGKILL if the JVM has not exited in time."""
    if proc is None and not _is_our_broker(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                return
        elif not _is_our_broker(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if proc is not None:
        proc.wait(timeout=10)


def default_data_dir(settings: Settings) -> Path:
    return settings.data_dir / "kafka"


def may_reset_topics(settings: Settings, broker: "LocalKafka | None" = None) -> bool:
    """Whether the kit may delete and recreate topics at ``KAFKA_BOOTSTRAP_SERVERS`` without being asked.

    Yes for a broker this run started (``broker.owned``) and for a broker on
    this machine (every bootstrap host 127.0.0.1 or localhost: the kit's own, or
    the one docker-compose.yml publishes).  Never for a cluster elsewhere: its
    topics may hold data the kit did not write.
    """
    if broker is not None and broker.owned:
        return True
    return all(host in _LOCAL_HOSTS for host, _ in bootstrap_hosts(settings.kafka_bootstrap_servers))


def ensure_broker(
    settings: Settings | None = None,
    *,
    data_dir: Path | None = None,
    create_kit_topics: bool = True,
    heap: str = "512m",
    timeout: float = 90.0,
) -> LocalKafka:
    """A broker at ``KAFKA_BOOTSTRAP_SERVERS``: the one already answering, or a new local one.

    Use it as a context manager: a broker this call started is stopped on exit;
    one that was already running is left alone.  The four topics are created.
    """
    settings = settings or get_settings()
    bootstrap = settings.kafka_bootstrap_servers
    broker = LocalKafka(bootstrap, Path(data_dir or default_data_dir(settings)), heap=heap,
                        controller_port=settings.kafka_controller_port)
    if not broker_answers(bootstrap):
        broker.start(timeout=timeout)
    if create_kit_topics:
        try:
            ensure_topics(settings)
        except BaseException:
            broker.stop()
            raise
    return broker


# ---------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m etl_lib.kafka_local",
        description="Start, stop or inspect the kit's local Kafka broker (single-node KRaft on 127.0.0.1).",
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--data-dir", type=Path, help="broker storage and log folder (default: DATA_DIR/kafka)")
    parser.add_argument("--heap", default="512m", help="broker JVM maximum heap (default: 512m)")
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    data_dir = args.data_dir or default_data_dir(settings)
    bootstrap = settings.kafka_bootstrap_servers
    pid_file = data_dir / "broker.pid"
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    ours = pid is not None and _is_our_broker(pid)

    if args.command == "status":
        answers = broker_answers(bootstrap)
        print(f"broker at {bootstrap}: {'answering' if answers else 'not answering'}")
        print(f"kit-started broker process: {pid if ours else 'none'} (storage {data_dir})")
        return 0 if answers else 1

    if args.command == "stop":
        if not ours:
            print(f"No broker started by the kit is running (storage {data_dir}).")
            return 0
        _terminate(pid, None, timeout=30.0)
        pid_file.unlink(missing_ok=True)
        print(f"Stopped the Kafka broker (pid {pid}).")
        return 0

    try:
        if broker_answers(bootstrap):
            print(f"A Kafka broker already answers at {bootstrap}; using it.")
        else:
            broker = LocalKafka(bootstrap, data_dir, heap=args.heap,
                                controller_port=settings.kafka_controller_port).start(detach=True)
            print(
                f"Kafka broker ready at {bootstrap} in {broker.startup_seconds:.1f} s "
                f"(pid {broker.pid}, log {broker.log_file}). Stop it with: python -m etl_lib.kafka_local stop"
            )
        created = ensure_topics(settings)
        if created:
            print("Created topics: " + ", ".join(created))
    except (BrokerError, _jvm.JavaError, _jvm.JarsMissingError) as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
