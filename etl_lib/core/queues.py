"""One topic read by a consumer group or by a share group (KIP-932, "queues for Kafka"), measured.

kafka-python speaks consumer groups only, so the measuring is done by the
kit's small Java tool ``etlkit.QueueLab`` (jvm/queues, built by ``make jars``)
on the broker's own Kafka clients: ``KafkaConsumer`` for a consumer group,
``KafkaShareConsumer`` for a share group.  It creates a fresh topic, lets the
members join, waits until the group coordinator reports every member holding
partitions, and only then writes the records, so no member starts early.  Each
delivery comes back as one row: who got which record, the broker's delivery
count, and what the member answered.

    run = run_group("share", members=4, partitions=2, release={"r05"})
    run.records_per_member()   # {0: 7, 1: 6, 2: 6, 3: 6}
    run.redeliveries()         # the deliveries with a delivery count above 1

Lesson 04 shows both kinds of group on the same records.
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import jvm
from .errors import BrokerError, KitError
from .kafka import java_client_properties, no_broker_message, write_java_properties
from .settings import Settings, get_settings

__all__ = ["GroupRun", "raise_features_once", "run_group", "upgrade_features"]

KINDS = ("consumer", "share")

log = logging.getLogger(__name__)


@dataclass
class GroupRun:
    """What one run of :func:`run_group` measured.

    ``deliveries``: one dict per record handed to a member, in the order the
    members finished with them: ``t`` (ms since the tool started), ``member``,
    ``partition``, ``offset``, ``key``, ``value``, ``delivery`` (the broker's
    delivery count; share groups only) and ``ack`` (accept, release, reject or
    none for a share group; commit for a consumer group).
    ``ends``: how each record ended (accepted, rejected, archived, seen).
    ``assignment``: the partitions the group coordinator had given each member when the records were written.
    """

    kind: str
    members: int
    partitions: int
    records: int
    deliveries: list[dict[str, Any]]
    ends: dict[str, int]
    elapsed_ms: int
    assignment: dict[int, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def records_per_member(self) -> dict[int, int]:
        """Deliveries per member, every member listed (0 for one that got nothing)."""
        counts = Counter(d["member"] for d in self.deliveries)
        return {m: counts.get(m, 0) for m in range(self.members)}

    def partitions_per_member(self) -> dict[int, list[int]]:
        """The partitions each member got records from."""
        seen: dict[int, set[int]] = defaultdict(set)
        for d in self.deliveries:
            seen[d["member"]].add(d["partition"])
        return {m: sorted(seen.get(m, ())) for m in range(self.members)}

    def redeliveries(self) -> list[dict[str, Any]]:
        """Deliveries the broker counted as the second or later of their record."""
        return [d for d in self.deliveries if (d.get("delivery") or 1) > 1]

    def deliveries_of(self, value: str) -> list[dict[str, Any]]:
        """Every delivery of one record (by its value, e.g. ``r05``), in order."""
        return [d for d in self.deliveries if d["value"] == value]

    def members_per_key(self) -> dict[str, int]:
        """How many members processed records of each key."""
        members: dict[str, set[int]] = defaultdict(set)
        for d in self.deliveries:
            members[d["key"]].add(d["member"])
        return {k: len(v) for k, v in sorted(members.items())}

    def overtaken(self) -> int:
        """Records finished before an earlier record of the same key (a higher offset of the key's partition
        finished first): 0 when every key is processed in the order it was written."""
        last: dict[str, int] = {}
        out = 0
        for d in self.deliveries:
            if d["ack"] not in ("accept", "commit"):
                continue
            if d["offset"] < last.get(d["key"], -1):
                out += 1
            last[d["key"]] = max(last.get(d["key"], -1), d["offset"])
        return out


def _client_properties(settings: Settings, bootstrap: str) -> dict[str, str]:
    props = {"bootstrap.servers": bootstrap, "request.timeout.ms": "30000", "default.api.timeout.ms": "60000"}
    props.update(java_client_properties(settings))
    return props


def _run_tool(settings: Settings, bootstrap: str, args: list[str], timeout: float) -> tuple[int, list[dict], str]:
    """Run ``etlkit.QueueLab`` with ``args``; its ``@@`` lines as dicts, its exit code and its other output."""
    classpath = jvm.queue_lab_classpath()
    java = jvm.java_executable()
    jvm.java_version(java)
    with tempfile.TemporaryDirectory(prefix="queue-lab-") as folder:
        config = Path(folder) / "client.properties"
        write_java_properties(config, _client_properties(settings, bootstrap))
        cmd = [java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m",
               # The Kafka clients log through log4j; its default configuration would print errors on stdout.
               "-Dlog4j2.level=OFF", "-cp", classpath, "etlkit.QueueLab", str(config), *args]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise KitError(f"The share-group tool did not finish within {timeout:.0f} s (is the broker at "
                           f"{bootstrap} overloaded?).") from None
    lines, other = [], []
    for line in done.stdout.splitlines():
        if line.startswith("@@ "):
            lines.append(json.loads(line[3:]))
        elif line.strip():
            other.append(line)
    return done.returncode, lines, "\n".join(other + done.stderr.strip().splitlines()[-5:])


def run_group(kind: str, *, members: int = 4, partitions: int = 2, records: int = 24, keys: int = 4,
              work_ms: int = 20, work_step_ms: int = 0, release: Iterable[str] = (), poison: Iterable[str] = (),
              reject: Iterable[str] = (), stall: str | None = None, lock_ms: int | None = None,
              limit: int | None = None, settle_ms: int = 0, settings: Settings | None = None,
              timeout: float = 120.0) -> GroupRun:
    """Write ``records`` records (values r00, r01, ...; record i has key k(i mod keys), on partition
    (i mod keys) mod partitions) to a fresh topic and read them with ``members`` members of a new group.

    ``kind``: ``"consumer"`` (a consumer group) or ``"share"`` (a share group). For a share group each member
    acknowledges every record one by one (explicit mode, one record per poll): ``release`` values are released
    on their first delivery, ``poison`` values on every delivery, ``reject`` values rejected; the member that first
    gets ``stall`` stops polling while it holds it (a hung consumer). ``lock_ms`` and ``limit`` set the group's
    acquisition lock and delivery count limit. Member m spends ``work_ms + m * work_step_ms`` on a record (uneven
    members, as real workers are).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    settings = settings or get_settings()
    bootstrap = settings.kafka_bootstrap_servers
    run_id = uuid.uuid4().hex[:8]
    args = [kind, f"group=lesson04-{kind}-{run_id}", f"topic=lesson04-queue-{run_id}", f"members={members}",
            f"partitions={partitions}", f"records={records}", f"keys={keys}", f"work.ms={work_ms}",
            f"work.step.ms={work_step_ms}", "heartbeat.ms=500", f"settle.ms={settle_ms}", f"timeout.ms={int(timeout * 1000 * 0.75)}"]
    for name, values in (("release", release), ("poison", poison), ("reject", reject)):
        if values:
            args.append(f"{name}={','.join(sorted(values))}")
    if stall:
        args.append(f"stall={stall}")
    if lock_ms is not None:
        args.append(f"lock.ms={lock_ms}")
    if limit is not None:
        args.append(f"limit={limit}")
    code, lines, other = _run_tool(settings, bootstrap, args, timeout)
    errors = [x["error"] for x in lines if "error" in x] + [x["failed"] for x in lines if "failed" in x]
    if code == 3:
        raise BrokerError(f"Share groups are off on the broker at {bootstrap}: {errors[0]}. The kit's own broker "
                          "turns them on at its next start (`make broker-stop`, then `make broker-start`); another "
                          "broker needs Kafka 4.2 or newer with the feature share.version at 1 or more "
                          "(kafka-features.sh upgrade --release-version 4.2).")
    if errors or code not in (0, 4):
        detail = errors[0] if errors else other or f"exit code {code}"
        if "TimeoutException" in detail or "disconnected" in detail.lower():
            raise BrokerError(no_broker_message(bootstrap, cause=KitError(detail)))
        raise KitError(f"The share-group tool failed ({kind} group at {bootstrap}): {detail}")
    summary = next(x["summary"] for x in lines if "summary" in x)
    deliveries = [x for x in lines if "t" in x and "member" in x]
    ready = next(x for x in lines if "ready" in x)
    assignment = {int(name.rpartition("-")[2]): parts for name, parts in ready["assignment"].items()}
    run = GroupRun(kind, members, partitions, records, deliveries, summary["ends"], summary["elapsed_ms"],
                   {m: assignment.get(m, []) for m in range(members)}, [x["note"] for x in lines if "note" in x])
    if code == 4:
        raise KitError(f"Only {summary['finished']} of {records} records ended within the time limit "
                       f"({kind} group at {bootstrap}); the deliveries seen: {len(deliveries)}.")
    return run


def upgrade_features(settings: Settings, bootstrap: str) -> dict[str, tuple[int, int]]:
    """Raise the broker's metadata.version and share.version to the newest its Kafka supports (as
    ``kafka-features.sh upgrade`` does); returns each raised feature with its old and new level."""
    code, lines, other = _run_tool(settings, bootstrap, ["upgrade"], 90)
    for x in lines:
        if "upgraded" in x:
            return {k: (v[0], v[1]) for k, v in x["upgraded"].items()}
    detail = next((x["error"] for x in lines if "error" in x), other or f"exit code {code}")
    raise KitError(f"Raising the feature levels of the broker at {bootstrap} failed: {detail}")


def raise_features_once(stamp: Path, settings: Settings, bootstrap: str, storage: Path, fix: str) -> None:
    """After a newer Kafka starts on storage an older one formatted, raise its feature levels
    (:func:`upgrade_features`): an old metadata.version keeps share groups off (lesson 04).

    ``stamp`` holds the Kafka version whose levels the storage has (written when it is formatted and after each
    raise), so this runs once per Kafka version.  A failure is a warning naming ``fix`` (the way to start the
    storage afresh): everything but share groups still works.
    """
    try:
        version = jvm.kafka_version()
        if stamp.exists() and stamp.read_text().strip() == version:
            return
        changed = upgrade_features(settings, bootstrap)
    except KitError as err:
        log.warning("Could not raise the feature levels of the Kafka storage in %s to Kafka's newest (%s); share "
                    "groups may stay off. To start afresh: %s.", storage, err, fix)
        return
    if changed:
        log.warning("Kafka storage in %s was formatted by an older Kafka: raised %s to Kafka %s's levels.", storage,
                    ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items()), version)
    stamp.write_text(version)
