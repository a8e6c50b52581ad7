"""The files and commands of one KRaft Kafka node: what the local broker and the practice cluster share.

A node here is always broker *and* controller.  The local broker is one such
node with a standalone controller; the practice cluster is three of them with
a quorum of three voters.  Everything a node needs -- its ``server.properties``,
its log configuration, the storage-format command and the JVM command line --
is written by :class:`KafkaNode`, so the two differ only in the values they pass.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import BrokerError
from .kafka import jaas_config
from .settings import QUICK_START_JVM_OPTIONS

__all__ = ["KafkaNode", "new_cluster_id", "storage_format_command"]

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


def storage_format_command(java: str, classpath: str, cluster_id: str, props: Path,
                           standalone: bool = True) -> list[str]:
    """The ``kafka-storage format`` command line of a node.

    ``standalone``: the node is the only controller (the local broker); a
    quorum whose voters are listed in ``server.properties`` formats without it.
    The id is passed as ``--cluster-id=<id>``, one argument: given as ``-t <id>``,
    an id that begins with ``-`` is read as another option and formatting fails.
    """
    return [java, "-cp", classpath, "kafka.tools.StorageTool", "format", *(["--standalone"] if standalone else []),
            f"--cluster-id={cluster_id}", f"--config={props}"]


@dataclass(frozen=True)
class KafkaNode:
    """One broker-and-controller node: its ports, its folder and how many copies the cluster keeps.

    ``voters``: the quorum (``1@host:port,2@host:port,...``); None for a single
    node that is its own controller.  ``replicas`` and ``min_insync`` are the
    cluster's replication for the internal topics and new topics.
    ``sasl_users``: user -> password; clients must then log in with SASL/PLAIN.
    """

    folder: Path
    host: str
    port: int
    controller_port: int
    node_id: int = 1
    voters: str | None = None
    replicas: int = 1
    min_insync: int = 1
    log_dirs_name: str = "data"
    sasl_users: Mapping[str, str] | None = None
    broker_secret: str = field(default_factory=lambda: uuid.uuid4().hex, repr=False)

    @property
    def props(self) -> Path:
        return self.folder / "server.properties"

    @property
    def log_dirs(self) -> Path:
        return self.folder / self.log_dirs_name

    @property
    def log_file(self) -> Path:
        return self.folder / "broker.log"

    @property
    def formatted(self) -> bool:
        return (self.log_dirs / "meta.properties").exists()

    def properties(self) -> list[str]:
        """The lines of ``server.properties``."""
        name = "SASL_PLAINTEXT" if self.sasl_users else "PLAINTEXT"
        quorum = (f"controller.quorum.voters={self.voters}" if self.voters
                  else f"controller.quorum.bootstrap.servers={self.host}:{self.controller_port}")
        return [
            "process.roles=broker,controller",
            f"node.id={self.node_id}",
            f"listeners={name}://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            f"advertised.listeners={name}://{self.host}:{self.port}",
            "controller.listener.names=CONTROLLER",
            f"inter.broker.listener.name={name}",
            f"listener.security.protocol.map={name}:{name},CONTROLLER:PLAINTEXT",
            *self._sasl_properties(),
            quorum,
            f"log.dirs={self.log_dirs}",
            "num.partitions=3",
            f"default.replication.factor={self.replicas}",
            f"min.insync.replicas={self.min_insync}",
            f"offsets.topic.replication.factor={self.replicas}",
            "offsets.topic.num.partitions=5",
            f"transaction.state.log.replication.factor={self.replicas}",
            f"transaction.state.log.min.isr={self.min_insync}",
            f"share.coordinator.state.topic.replication.factor={self.replicas}",
            f"share.coordinator.state.topic.min.isr={self.min_insync}",
            "group.initial.rebalance.delay.ms=0",
            # QueueLab's groups (broker-driven protocols) settle in a second, not in Kafka's default five (heartbeats), and a share group may
            # lock a record for as little as a second (lesson 04 shows a lock expire): the group configs of
            # etlkit.QueueLab use these floors; a group without them keeps Kafka's defaults.
            "group.consumer.min.heartbeat.interval.ms=500",
            "group.share.min.heartbeat.interval.ms=500",
            "group.share.min.record.lock.duration.ms=1000",
            # A scratch cluster replaying 2018 events: never delete by age.
            "log.retention.ms=-1",
            "",
        ]

    def _sasl_properties(self) -> list[str]:
        """The SASL/PLAIN lines: the mechanism, and the users with the broker's own login for itself."""
        if not self.sasl_users:
            return []
        jaas = jaas_config("PLAIN", "broker", self.broker_secret, {"broker": self.broker_secret, **self.sasl_users})
        return ["sasl.enabled.mechanisms=PLAIN", "sasl.mechanism.inter.broker.protocol=PLAIN",
                # A properties file reads a backslash as an escape: double them to keep the JAAS quoting.
                "listener.name.sasl_plaintext.plain.sasl.jaas.config=" + jaas.replace("\\", "\\\\")]

    def write(self) -> None:
        """Write ``server.properties`` and the log configuration (the broker logs to ``broker.log``)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.props.write_text("\n".join(self.properties()))
        (self.folder / "log4j2.properties").write_text(_LOG4J2.format(log=self.log_file))

    def format(self, java: str, classpath: str, cluster_id: str) -> None:
        """Format the node's storage for ``cluster_id``; a failure is one :class:`BrokerError` with Kafka's words."""
        fmt = subprocess.run(storage_format_command(java, classpath, cluster_id, self.props, self.voters is None),
                             capture_output=True, text=True, timeout=120)
        if fmt.returncode != 0:
            raise BrokerError(f"Formatting Kafka storage in {self.log_dirs} failed:\n{fmt.stdout}{fmt.stderr}")

    def command(self, java: str, classpath: str, heap: str, *marks: str) -> list[str]:
        """The JVM command line that runs the node; ``marks`` are extra ``-D`` options that identify it."""
        return [
            java, "-Xms128m", f"-Xmx{heap}",
            # A broker for one machine serves little: the driver's quick-start JIT and collector start it
            # faster and leave the CPU to the work (data_gen's first week into a fresh broker 5.4 s -> 4.6 s).
            *QUICK_START_JVM_OPTIONS.split(),
            "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.folder / 'log4j2.properties'}",
            *marks, "-cp", classpath, "kafka.Kafka", str(self.props),
        ]
