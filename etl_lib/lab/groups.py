"""Members of a Kafka consumer group, each polling in its own thread: how a lesson shows a rebalance.

A member that stops polling is thrown out of its group after
``max.poll.interval.ms``; one that closes its consumer leaves at once, and the
group coordinator (a broker) hands its partitions to the others.
"""

from __future__ import annotations

import threading
import time

from ..core.kafka import client_options
from ..core.settings import Settings

__all__ = ["GroupMember", "settled"]


class GroupMember:
    """A consumer of ``group`` on ``topic`` that polls in its own thread until :meth:`leave`."""

    def __init__(self, settings: Settings, topic: str, group: str, name: str) -> None:
        from kafka import KafkaConsumer

        self.name = name
        self._stop = threading.Event()
        self.consumer = KafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group,
                                      client_id=name, auto_offset_reset="earliest", **client_options(settings))
        self.thread = threading.Thread(target=self._poll, name=name)
        self.thread.start()

    def _poll(self) -> None:
        try:
            while not self._stop.is_set():
                self.consumer.poll(timeout_ms=200)
        finally:
            self.consumer.close()  # leaves the group: the others rebalance at once

    def partitions(self) -> list[int]:
        """The partitions this member owns right now."""
        return sorted(tp.partition for tp in self.consumer.assignment())

    def leave(self) -> None:
        """Stop polling, close the consumer (the group rebalances) and join the thread."""
        self._stop.set()
        self.thread.join()


def settled(members: list[GroupMember], partitions: int, timeout: float = 60.0) -> dict[str, list[int]]:
    """Each member's partitions, once every one of ``partitions`` has exactly one owner and no member is idle."""
    deadline = time.monotonic() + timeout
    owned: dict[str, list[int]] = {}
    while time.monotonic() < deadline:
        owned = {m.name: m.partitions() for m in members}
        if sorted(p for ps in owned.values() for p in ps) == list(range(partitions)) and all(owned.values()):
            return owned
        time.sleep(0.2)
    raise TimeoutError(f"the group did not settle in {timeout:.0f} s: {owned}")
