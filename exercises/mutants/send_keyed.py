"""Wrong answers to exercise 04 `send_keyed`, one requirement broken in each."""

import json

from kafka import KafkaProducer


def _send(bootstrap, topic, trips, key=lambda t: str(t["start_station_id"]), value=json.dumps, flush=True):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2000)
    for trip in trips:
        k = key(trip)
        producer.send(topic, key=None if k is None else k.encode(), value=value(trip).encode())
    if flush:
        producer.flush()
        producer.close()
    else:  # the records are still in the producer's buffer when the function returns
        return producer


def no_key(bootstrap, topic, trips):
    """Breaks "same-partition": no key, so the producer spreads a station's trips over the partitions."""
    _send(bootstrap, topic, trips, key=lambda t: None)


def keyed_by_trip(bootstrap, topic, trips):
    """Breaks "same-partition": keyed by the trip id, which differs for every trip."""
    _send(bootstrap, topic, trips, key=lambda t: t["trip_id"])


def python_repr(bootstrap, topic, trips):
    """Breaks "json": sends str(trip), Python's repr with single quotes, which is not JSON."""
    _send(bootstrap, topic, trips, value=str)


def newest_first(bootstrap, topic, trips):
    """Breaks "order": sends the trips in reverse."""
    _send(bootstrap, topic, list(reversed(trips)))


def no_flush(bootstrap, topic, trips):
    """Breaks "written": returns while the records wait in the producer's buffer (linger 2 s)."""
    producer = _send(bootstrap, topic, trips, flush=False)
    no_flush.left_open = producer  # closed by nobody: the grader's check sees the topic before the records


MUTANTS = [("same-partition", no_key), ("same-partition", keyed_by_trip), ("json", python_repr),
           ("order", newest_first), ("written", no_flush)]
