"""A real Apache Kafka broker on this machine, without Docker.

The broker is the one Maven resolves into ``jvm/broker/lib`` (``make jars``): a
single KRaft node (see :mod:`etl_lib.core.node`) acting as broker and
controller, bound to 127.0.0.1 only, with a bounded heap and its log in a file.
If a broker already answers at ``KAFKA_BOOTSTRAP_SERVERS`` (the docker-compose
one, or one started earlier) it is used instead and left running.

Several kit runs may share one broker (see :mod:`etl_lib.core.sharing`): each
registers its use, and a broker started for one run is stopped only when no
other live run uses it: the run that started it leaves it to the others and
says so, and the last one to leave stops it.

Python API (tests, notebooks, the demo)::

    with ensure_broker(settings) as broker:       # starts one only if none answers
        produce(broker.bootstrap_servers, ...)
    # stopped here if this call started it and no other kit run uses it, also on Ctrl+C or an exception

Command line::

    python -m etl_lib broker start    # background broker, survives this command
    python -m etl_lib broker status   # also lists the kit runs that use it
    python -m etl_lib broker stop     # refused while another kit run uses it (--force stops it anyway)
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import jvm, sharing
from .cli import run, settings_or_exit
from .errors import BrokerError
from .kafka import (LOCAL_HOSTS, bootstrap_hosts, broker_answers, ensure_topics, free_port, no_broker_message,
                    port_in_use)
from .node import KafkaNode, new_cluster_id
from .settings import Settings, get_settings

__all__ = ["LocalKafka", "default_data_dir", "ensure_broker", "main", "terminate"]

log = logging.getLogger(__name__)


@dataclass
class LocalKafka:
    """One local broker process (or a handle on one that was already running).

    ``owned`` is True when this object started the broker and so must stop it
    (unless another kit run still uses it then: see :meth:`stop`).
    ``claim``: this run's registered use of the broker, released by :meth:`stop`.
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
    # The settings whose login the readiness check uses (a broker with sasl_users wants one); None: the process's.
    client_settings: Settings | None = None
    claim: sharing.Claim | None = None
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
                "on one of their ports. Start that cluster (or `python -m etl_lib broker start` with one "
                "address such as 127.0.0.1:9092)."
            )
        host, port = hosts[0]
        if host not in LOCAL_HOSTS:
            raise BrokerError(no_broker_message(self.bootstrap_servers))
        if port_in_use(host, port):
            raise BrokerError(
                f"Port {port} on {host} is in use by a program that does not answer as a Kafka broker. "
                f"Stop that program, or choose another port: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:<port>."
            )
        self._refuse_storage_in_use()
        java = jvm.java_executable()
        jvm.java_version(java)
        classpath = jvm.broker_classpath()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._prepare_storage(java, classpath, host, port)

        cmd = KafkaNode(self.data_dir, host, port, 0).command(java, classpath, self.heap)
        out = open(self.data_dir / "broker.out", "ab")
        t0 = time.monotonic()
        self._proc = subprocess.Popen(
            cmd if detach else ignoring_ctrl_c(cmd), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=detach,
        )
        out.close()
        self.pid = self._proc.pid
        self.owned = True
        self._pid_file.write_text(str(self.pid))
        sharing.note_broker(self.bootstrap_servers, self.pid, self.data_dir, temporary=not detach)
        if not detach:
            atexit.register(self.stop)
        try:
            self._wait_ready(t0, timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        self._upgrade_features()
        return self

    def _refuse_storage_in_use(self) -> None:
        """Refuse storage that a running broker holds (one clone's DATA_DIR, a second port): formatting it
        afresh would delete that broker's topics under it."""
        try:
            pid = int(self._pid_file.read_text())
        except (OSError, ValueError):
            return
        if pid == self.pid or not _is_our_broker(pid):
            return
        props = self._props.read_text(errors="replace") if self._props.exists() else ""
        address = next((line.split("//", 1)[-1] for line in props.splitlines()
                        if line.startswith("advertised.listeners=")), "another address")
        if address == self.bootstrap_servers:
            raise BrokerError(
                f"The Kafka broker of {self.data_dir} (pid {pid}) runs but does not answer at {address}. Wait for "
                f"it (it may still be starting; its log is {self.log_file}), or stop it: make broker-stop.")
        raise BrokerError(
            f"The broker storage {self.data_dir} belongs to the Kafka broker running as pid {pid} at {address}; "
            f"a second broker at {self.bootstrap_servers} cannot use it. Give this run a DATA_DIR of its own, "
            f"or use that broker: KAFKA_BOOTSTRAP_SERVERS={address}.")

    def _prepare_storage(self, java: str, classpath: str, host: str, port: int) -> None:
        """Reuse formatted storage when its ports still fit; otherwise format afresh."""
        log_dirs = self.data_dir / "kraft"
        if self._props.exists() and (log_dirs / "meta.properties").exists():
            props = dict(
                line.split("=", 1) for line in self._props.read_text().splitlines() if "=" in line
            )
            cport = int(props.get("controller.quorum.bootstrap.servers", ":0").rpartition(":")[2] or 0)
            fits = props.get("advertised.listeners") == f"PLAINTEXT://{host}:{port}" and cport
            if fits and self.controller_port in (0, cport) and not port_in_use(host, cport):
                # The same ports and storage; the settings are this version's (a newer kit may add some).
                self._node(host, port, cport).write()
                return
            log.warning("Broker storage in %s does not fit the requested ports; formatting it afresh.", log_dirs)
        shutil.rmtree(log_dirs, ignore_errors=True)
        cport = self.controller_port or free_port()
        if self.controller_port and port_in_use(host, cport):
            raise BrokerError(
                f"KAFKA_CONTROLLER_PORT={cport} is in use on {host}. Choose another port, or set "
                "KAFKA_CONTROLLER_PORT=auto to let the kit pick a free one.")
        node = self._node(host, port, cport)
        node.write()
        node.format(java, classpath, self.cluster_id or new_cluster_id())
        self._version_stamp.write_text(jvm.kafka_version())

    @property
    def _version_stamp(self) -> Path:
        """The Kafka version whose features this storage has (written at format time and after an upgrade)."""
        return self.data_dir / "kraft" / "kit-kafka-version"

    def _upgrade_features(self) -> None:
        """Raise the feature levels of storage an older Kafka formatted, once per Kafka version (lesson 04's
        share groups need them)."""
        from .queues import raise_features_once

        raise_features_once(self._version_stamp, self.client_settings or get_settings(), self.bootstrap_servers,
                            self.data_dir, f"make broker-stop, delete {self.data_dir / 'kraft'}, make broker-start")

    def _node(self, host: str, port: int, controller_port: int) -> KafkaNode:
        return KafkaNode(self.data_dir, host, port, controller_port, log_dirs_name="kraft", sasl_users=self.sasl_users)

    def _wait_ready(self, t0: float, timeout: float) -> None:
        probe = (self.client_settings or get_settings()).replace(kafka_bootstrap_servers=self.bootstrap_servers)
        delay = 0.1
        while time.monotonic() - t0 < timeout:
            if self._proc is not None and self._proc.poll() is not None:
                raise BrokerError(
                    f"The Kafka broker exited with code {self._proc.returncode} while starting. "
                    f"Last lines of its log ({self.log_file}):\n{self._tail()}"
                )
            if broker_answers(probe, timeout=2.0):
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
        """This run is done with the broker: stop it if no other live kit run uses it, else leave it and say so.

        A broker this object started is stopped (no JVM left behind) unless
        another run still uses it; then it is left to them, and the last of them
        stops it: a handle on a broker that a run started for itself (not a
        detached one, not one the kit did not start) stops it once that run has
        left and no other uses it.
        """
        if self.claim is not None:
            self.claim.release()
            self.claim = None
        if not self.owned:
            self._stop_if_last(timeout)
            return
        pid = self._proc.pid if self._proc is not None else self.pid
        others = sharing.other_runs(self.bootstrap_servers)
        if others:
            sharing.hand_over(self.bootstrap_servers)
            print(sharing.left_running(self.bootstrap_servers, pid, others), file=sys.stderr)
            self._let_go()
            return
        if pid is not None:
            terminate(pid, self._proc, timeout)
            sharing.forget_broker(self.bootstrap_servers, pid)
        self._let_go()
        with contextlib.suppress(FileNotFoundError):
            self._pid_file.unlink()

    def _let_go(self) -> None:
        self.owned = False
        self._proc = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def _stop_if_last(self, timeout: float) -> None:
        """Stop a broker its starting run has left to its users, when this run was the last of them."""
        note = sharing.broker_note(self.bootstrap_servers)
        if note is None or not note.temporary or note.starter_present() or not _is_our_broker(note.pid):
            return
        others = sharing.other_runs(self.bootstrap_servers)
        if others:
            print(sharing.left_running(self.bootstrap_servers, note.pid, others), file=sys.stderr)
            return
        terminate(note.pid, None, timeout)
        sharing.forget_broker(self.bootstrap_servers, note.pid)
        pid_file = Path(note.data_dir) / "broker.pid"
        with contextlib.suppress(OSError, ValueError):
            if int(pid_file.read_text()) == note.pid:
                pid_file.unlink()
        print(f"Stopped the Kafka broker at {self.bootstrap_servers} (pid {note.pid}): the run that started it had "
              "left it to the runs still using it, and this run was the last.", file=sys.stderr)

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


def ignoring_ctrl_c(cmd: list[str]) -> list[str]:
    """``cmd`` started with SIGINT ignored, so Ctrl+C in the terminal reaches only the Python that started it.

    The broker stays in the terminal's process group, but Ctrl+C no longer kills it behind the kit's back: Python gets
    KeyboardInterrupt, and :meth:`LocalKafka.stop` decides whether another run
    still needs the broker.  The JVM keeps a signal that is ignored when it
    starts (as pyspark does for its own JVM); SIGTERM still shuts it down.
    """
    return ["/bin/sh", "-c", 'trap "" INT; exec "$@"', "kafka-broker", *cmd]


def _is_our_broker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"kafka.Kafka" in cmdline


def terminate(pid: int, proc: subprocess.Popen | None, timeout: float) -> None:
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
    """Where the local broker of these settings keeps its storage and log."""
    return settings.data_dir / "kafka"


def ensure_broker(
    settings: Settings | None = None,
    *,
    data_dir: Path | None = None,
    create_kit_topics: bool = True,
    heap: str = "512m",
    timeout: float = 90.0,
) -> LocalKafka:
    """A broker at ``KAFKA_BOOTSTRAP_SERVERS``: the one already answering, or a new local one.

    Use it as a context manager: a broker this call started is stopped on exit
    unless another kit run uses it; one that was already running is left alone
    (see :meth:`LocalKafka.stop`).  This run is registered as a user of the
    broker (and, with ``create_kit_topics``, of the four topics, which are created),
    so another run cannot reset those topics or stop the broker under it.
    """
    settings = settings or get_settings()
    bootstrap = settings.kafka_bootstrap_servers
    broker = LocalKafka(bootstrap, Path(data_dir or default_data_dir(settings)), heap=heap,
                        controller_port=settings.kafka_controller_port)
    if not broker_answers(settings) and not _another_run_starts_it(bootstrap, settings, timeout):
        broker.start(timeout=timeout)
    broker.claim = sharing.register(settings, settings.kafka_topics.values() if create_kit_topics else ())
    if create_kit_topics:
        try:
            ensure_topics(settings)
        except BaseException:
            broker.stop()
            raise
    return broker


def _another_run_starts_it(bootstrap: str, settings: Settings, timeout: float) -> bool:
    """True once a broker another kit run is starting at ``bootstrap`` answers; False when there is none.

    Two runs started within seconds of each other would otherwise both start a
    JVM on one port, and the second would fail to bind it.
    """
    note = sharing.broker_note(bootstrap)
    if note is None or not _is_our_broker(note.pid):
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is_our_broker(note.pid):
        if broker_answers(settings, timeout=2.0):
            return True
        time.sleep(0.5)
    return False


# ---------------------------------------------------------------------- CLI
@run
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m etl_lib broker",
        description="Start, stop or inspect the kit's local Kafka broker (single-node KRaft on 127.0.0.1).",
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--data-dir", type=Path, help="broker storage and log folder (default: DATA_DIR/kafka)")
    parser.add_argument("--heap", default="512m", help="broker JVM maximum heap (default: 512m)")
    parser.add_argument("--force", action="store_true", help="stop: even while another kit run uses the broker")
    args = parser.parse_args(argv)
    settings = settings_or_exit()
    data_dir = args.data_dir or default_data_dir(settings)
    bootstrap = settings.kafka_bootstrap_servers
    pid_file = data_dir / "broker.pid"
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    ours = pid is not None and _is_our_broker(pid)
    note = sharing.broker_note(bootstrap)
    if not ours and args.data_dir is None and note is not None and _is_our_broker(note.pid):
        # The broker at this address was started from another folder (another clone's DATA_DIR).
        pid, data_dir, ours = note.pid, Path(note.data_dir), True
        pid_file = data_dir / "broker.pid"

    if args.command == "status":
        answers = broker_answers(settings)
        print(f"broker at {bootstrap}: {'answering' if answers else 'not answering'}")
        print(f"kit-started broker process: {pid if ours else 'none'} (storage {data_dir})")
        runs = sharing.live_runs(bootstrap)
        print("used by: " + ("; ".join(r.describe() for r in runs) if runs else "no kit run"))
        return 0 if answers else 1

    if args.command == "stop":
        if not ours:
            print(f"No broker started by the kit is running (storage {data_dir}).")
            return 0
        if not args.force:
            sharing.refuse_stop(bootstrap, pid)
        terminate(pid, None, timeout=30.0)
        pid_file.unlink(missing_ok=True)
        sharing.forget_broker(bootstrap, pid)
        print(f"Stopped the Kafka broker (pid {pid}).")
        return 0

    if broker_answers(settings):
        print(f"A Kafka broker already answers at {bootstrap}; using it.")
    else:
        broker = LocalKafka(bootstrap, data_dir, heap=args.heap,
                            controller_port=settings.kafka_controller_port).start(detach=True)
        print(
            f"Kafka broker ready at {bootstrap} in {broker.startup_seconds:.1f} s "
            f"(pid {broker.pid}, log {broker.log_file}). Stop it with: python -m etl_lib broker stop"
        )
    created = ensure_topics(settings)
    if created:
        print("Created topics: " + ", ".join(created))
    return 0


if __name__ == "__main__":
    sys.exit(main())
