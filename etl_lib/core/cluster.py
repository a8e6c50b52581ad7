"""A practice cluster on this machine: three replicated KRaft Kafka nodes and a Spark standalone master with two workers.

``python -m etl_lib cluster up|down|status`` (``make cluster-up`` / ``cluster-down``)
starts, from the jars the kit already has, what a real deployment looks like
in miniature, all bound to 127.0.0.1:

- three Kafka nodes, each broker *and* controller (a controller quorum of
  three, so the cluster survives one node down, as its data does with
  replication factor 3 and ``min.insync.replicas`` 2). Combined roles rather
  than three controllers plus three brokers: half the JVMs on a 2-core machine,
  and the failure a lesson wants to show (a node dies, a follower takes over
  its partitions) is the same;
- a Spark standalone master (REST submission off) and two workers, started
  with pyspark's own ``spark-class``: the same Spark the kit pins.

``up`` prints the settings to export; every process is stopped by ``down``,
by Ctrl+C during ``up``, and by the test fixture.  Memory is bounded: 384 MiB
heap per broker, 256 MiB per Spark daemon, 1 GiB and one core per executor.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import jvm
from .cli import run, settings_or_exit
from .errors import ClusterError
from .kafka import broker_answers, port_in_use
from .node import KafkaNode, new_cluster_id
from .settings import Settings, load_settings

__all__ = ["Cluster", "ClusterError", "main"]

HOST = "127.0.0.1"
NODES = 3  # Kafka nodes (broker + controller each)
WORKERS = 2  # Spark workers


@dataclass
class Cluster:
    """The practice cluster's processes, recorded in ``<folder>/cluster.json`` so that ``down`` finds them."""

    folder: Path
    pids: dict[str, int] = field(default_factory=dict)
    kafka_port: int = 19092  # brokers listen on this port and the next two; controllers 100 above each
    spark_port: int = 7077
    ui_port: int = 8080  # the master's UI; the workers' UIs on the next two ports

    # ------------------------------------------------------------------ what it offers
    @property
    def kafka_ports(self) -> tuple[int, ...]:
        return tuple(self.kafka_port + n for n in range(NODES))

    @property
    def controller_ports(self) -> tuple[int, ...]:
        return tuple(p + 100 for p in self.kafka_ports)

    @property
    def worker_ui_ports(self) -> tuple[int, ...]:
        return tuple(self.ui_port + n for n in range(1, WORKERS + 1))

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{HOST}:{p}" for p in self.kafka_ports)

    @property
    def spark_master(self) -> str:
        return f"spark://{HOST}:{self.spark_port}"

    @property
    def ui_url(self) -> str:
        return f"http://{HOST}:{self.ui_port}"

    def exports(self) -> str:
        """The settings that point the kit at this cluster."""
        return (f"export SPARK_MASTER={self.spark_master} KAFKA_BOOTSTRAP_SERVERS={self.bootstrap_servers} "
                "KAFKA_REPLICATION_FACTOR=3 KAFKA_MIN_INSYNC_REPLICAS=2")

    @property
    def _state(self) -> Path:
        return self.folder / "cluster.json"

    @classmethod
    def load(cls, folder: Path, settings: Settings | None = None) -> "Cluster":
        """The cluster recorded in ``folder`` (none running yet is fine), on the ports of ``settings``."""
        state = folder / "cluster.json"
        pids = json.loads(state.read_text()) if state.exists() else {}
        ports = {} if settings is None else {"kafka_port": settings.cluster_kafka_port,
                                             "spark_port": settings.cluster_spark_port,
                                             "ui_port": settings.cluster_spark_ui_port}
        return cls(folder, {k: int(v) for k, v in pids.items()}, **ports)

    @classmethod
    def of(cls, settings: Settings) -> "Cluster":
        """The practice cluster of these settings: under ``DATA_DIR/cluster``, on the ``CLUSTER_*`` ports."""
        return cls.load(cluster_folder(settings), settings)

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._state.write_text(json.dumps(self.pids, indent=1))

    def alive(self) -> dict[str, bool]:
        return {name: _ours(pid, self.folder) for name, pid in self.pids.items()}

    # ------------------------------------------------------------------ up
    def up(self, timeout: float = 120.0, fresh: bool = False) -> "Cluster":
        """Start whatever is not running yet and wait until three brokers and two workers are ready.

        ``fresh``: first stop what an earlier run left and delete its data (empty topics, a new cluster id).
        """
        if fresh:
            self.down()
            shutil.rmtree(self.folder, ignore_errors=True)
        ports = (*self.kafka_ports, *self.controller_ports, self.spark_port, self.ui_port, *self.worker_ui_ports)
        busy = [p for p in ports if port_in_use(HOST, p)]
        if busy and not any(self.alive().values()):
            raise ClusterError(f"Port(s) {', '.join(map(str, busy))} on {HOST} are in use by other programs; the "
                               "practice cluster needs them. Stop those programs (or `make cluster-down` if an "
                               "earlier cluster of another DATA_DIR holds them), or move the cluster with "
                               "CLUSTER_KAFKA_PORT, CLUSTER_SPARK_PORT and CLUSTER_SPARK_UI_PORT.")
        java = jvm.java_executable()
        jvm.java_version(java)
        try:
            self._start_kafka(java)
            self._start_spark(java)
            self._wait(timeout)
        except BaseException:
            self.down()
            raise
        from .queues import raise_features_once

        # Storage an older kit formatted keeps an old metadata.version, and share groups off, until it is raised.
        raise_features_once(self._version_stamp, self._probe(), self.bootstrap_servers, self.folder,
                            f"make cluster-down, delete {self.folder}, make cluster-up")
        return self

    @property
    def _version_stamp(self) -> Path:
        """The Kafka version whose feature levels the nodes' storage has."""
        return self.folder / "kafka-version"

    def _probe(self) -> Settings:
        """Client settings for the cluster: its listeners are PLAINTEXT, whatever the environment's
        KAFKA_SECURITY_PROTOCOL says."""
        return load_settings({"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers, "DATA_DIR": str(self.folder)})

    def _start_kafka(self, java: str) -> None:
        classpath = jvm.broker_classpath()
        cluster_id_file = self.folder / "kafka-cluster-id"
        if not cluster_id_file.exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            cluster_id_file.write_text(new_cluster_id())
        cluster_id = cluster_id_file.read_text().strip()
        voters = ",".join(f"{n}@{HOST}:{c}" for n, c in enumerate(self.controller_ports, start=1))
        for n, (port, cport) in enumerate(zip(self.kafka_ports, self.controller_ports), start=1):
            name = f"kafka-{n}"
            if self.alive().get(name):
                continue
            node = KafkaNode(self.folder / name, HOST, port, cport, node_id=n, voters=voters, replicas=NODES,
                             min_insync=NODES - 1)
            node.write()
            if not node.formatted:
                node.format(java, classpath, cluster_id)
                self._version_stamp.write_text(jvm.kafka_version())
            cmd = node.command(java, classpath, "384m", f"-Detl.kit.cluster={self.folder}")
            self._spawn(name, cmd, node.folder / "broker.out")

    def _start_spark(self, java: str) -> None:
        import pyspark

        home = Path(pyspark.__file__).parent
        env = {**os.environ, "SPARK_HOME": str(home), "JAVA_HOME": str(Path(java).resolve().parents[1]),
               "SPARK_LOCAL_IP": HOST, "SPARK_DAEMON_MEMORY": "256m",
               "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
               "SPARK_DAEMON_JAVA_OPTS": f"-Detl.kit.cluster={self.folder}"}
        spark_class = str(home / "bin" / "spark-class")
        if not self.alive().get("spark-master"):
            self._spawn("spark-master", [spark_class, "org.apache.spark.deploy.master.Master", "--host", HOST,
                                         "--port", str(self.spark_port), "--webui-port", str(self.ui_port)],
                        self.folder / "spark-master.log", env)
        for n, ui in enumerate(self.worker_ui_ports, start=1):
            name = f"spark-worker-{n}"
            if self.alive().get(name):
                continue
            work = self.folder / name
            work.mkdir(parents=True, exist_ok=True)
            self._spawn(name, [spark_class, "org.apache.spark.deploy.worker.Worker", self.spark_master,
                               "--host", HOST, "--cores", "1", "--memory", "1g", "--webui-port", str(ui),
                               "--work-dir", str(work)], self.folder / f"{name}.log", env)

    def _spawn(self, name: str, cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, env=env)
        self.pids[name] = proc.pid
        self._save()

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [name for name, ok in self.alive().items() if not ok]
            if dead:
                raise ClusterError(f"{', '.join(dead)} exited while starting; see the logs in {self.folder}.")
            if self.brokers() == NODES and self.workers() == WORKERS:
                return
            time.sleep(1.0)
        raise ClusterError(f"The cluster was not ready within {timeout:.0f} s ({self.brokers()} of {NODES} brokers, "
                           f"{self.workers()} of {WORKERS} Spark workers); see the logs in {self.folder}.")

    # ------------------------------------------------------------------ inspect
    def brokers(self) -> int:
        """How many brokers the cluster's metadata lists (0 when none answers)."""
        if not broker_answers(self._probe(), timeout=2.0):
            return 0
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id="etl-kit-cluster")
        try:
            return len(admin.describe_cluster().get("brokers", []))
        finally:
            admin.close()

    def workers(self) -> int:
        """Alive workers registered with the Spark master (its UI's JSON), 0 when it does not answer."""
        try:
            return sum(1 for w in self.master_state().get("workers", []) if w.get("state") == "ALIVE")
        except (OSError, ValueError):
            return 0

    def master_state(self) -> dict:
        """The Spark master's view (its UI's JSON): workers with their cores and memory, running applications."""
        with urllib.request.urlopen(f"{self.ui_url}/json/", timeout=2) as r:
            return json.load(r)

    def partitions(self, topic: str) -> list[dict]:
        """Each partition of ``topic``: its leader, replicas (in assignment order) and in-sync replicas (sorted).

        Broker ids are the node numbers: ``kafka-2`` is broker 2.
        """
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers, client_id="etl-kit-cluster")
        try:
            (info,) = admin.describe_topics([topic])
        finally:
            admin.close()
        return [{"partition": p["partition"], "leader": p["leader"], "replicas": list(p["replicas"]),
                 "isr": sorted(p["isr"])} for p in sorted(info["partitions"], key=lambda p: p["partition"])]

    def wait_for(self, topic: str, condition: Callable[[list[dict]], bool], timeout: float = 90.0) -> list[dict]:
        """Poll :meth:`partitions` until ``condition`` holds (a failover or a catch-up takes seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                parts = self.partitions(topic)
                if condition(parts):
                    return parts
            except Exception:  # noqa: BLE001 - metadata may be briefly unavailable during a failover
                parts = []
            if time.monotonic() >= deadline:
                raise ClusterError(f"{topic}: the partitions did not reach the expected state within {timeout:.0f} s "
                                   f"(last seen: {parts})")
            time.sleep(0.5)

    def stop_when_gone(self, pid: int | None = None) -> None:
        """Stop the cluster when process ``pid`` (default: this one) ends, however it ends.

        For a notebook: a kernel that is restarted, interrupted or killed runs no
        clean-up code, so a small watcher process waits for it and runs ``down``.
        """
        cmd = [sys.executable, "-m", "etl_lib.core.cluster", "_watch", str(pid or os.getpid()), str(self.folder)]
        subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, cwd=Path(__file__).resolve().parents[2])

    # ------------------------------------------------------------------ down
    def kill(self, name: str) -> None:
        """SIGKILL one process (a broker that crashes, for lessons and tests); ``up`` starts it again."""
        pid = self.pids.get(name)
        if pid is not None and _ours(pid, self.folder):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_gone(pid, self.folder, 30.0)

    def down(self, timeout: float = 30.0) -> None:
        """Stop every process of the cluster (SIGTERM, then SIGKILL); no JVM is left behind."""
        for name in sorted(self.pids, key=lambda n: n.startswith("kafka")):  # Spark first, brokers last
            pid = self.pids[name]
            if _ours(pid, self.folder):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGTERM)
        for name, pid in self.pids.items():
            if not _wait_gone(pid, self.folder, timeout):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                _wait_gone(pid, self.folder, 10.0)
        self.pids.clear()
        with contextlib.suppress(FileNotFoundError):
            self._state.unlink()


def _ours(pid: int, folder: Path) -> bool:
    """True when ``pid`` is a live process this cluster started (its command line names the cluster folder)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    mark = f"-Detl.kit.cluster={folder}".encode()
    return mark in cmdline or mark in environ


def _wait_gone(pid: int, folder: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _ours(pid, folder):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if this process started it
        time.sleep(0.1)
    return False


def cluster_folder(settings: Settings) -> Path:
    """Where the practice cluster of these settings keeps its data, logs and process list."""
    return settings.data_dir / "cluster"


def _watch(pid: int, folder: Path) -> int:
    """The watcher of :meth:`Cluster.stop_when_gone`: wait for ``pid`` to end, then stop the cluster."""
    while Path(f"/proc/{pid}").exists():
        time.sleep(1.0)
    Cluster.load(folder).down()
    return 0


@run
def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["_watch"]:
        return _watch(int(argv[1]), Path(argv[2]))
    parser = argparse.ArgumentParser(prog="python -m etl_lib cluster", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    cluster = Cluster.of(settings)
    if args.command == "status":
        for name, ok in sorted(cluster.alive().items()):
            print(f"{name:<16} {'running' if ok else 'not running'} (pid {cluster.pids[name]})")
        print(f"brokers in the cluster: {cluster.brokers()} of {NODES} | Spark workers: {cluster.workers()} of {WORKERS}")
        return 0 if cluster.pids and all(cluster.alive().values()) else 1
    if args.command == "down":
        running = sum(cluster.alive().values())
        cluster.down()
        print(f"Stopped the practice cluster ({running} processes)." if running else "No practice cluster runs.")
        return 0
    t0 = time.monotonic()
    try:
        cluster.up()
    except KeyboardInterrupt:
        print("Interrupted: every process of the cluster was stopped.", file=sys.stderr)
        return 130
    print(f"Practice cluster ready in {time.monotonic() - t0:.0f} s: 3 Kafka brokers at {cluster.bootstrap_servers}, "
          f"Spark master {cluster.spark_master} with 2 workers (UI {cluster.ui_url}).")
    print("Point the kit at it:\n  " + cluster.exports())
    print("Stop it with: make cluster-down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
