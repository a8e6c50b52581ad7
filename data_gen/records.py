"""Turn the simulated world into the four record streams, with the teaching knobs applied.

Records follow the public datasets' field layouts in snake_case JSON (see
docs/records.md).  Each record is delivered at its event time plus a little
jitter; the knobs then make some records late (delivered long after events that
happened later), duplicate some (the same bytes again, shortly after), and
corrupt some (seven kinds of malformed record).  Deliveries come out in order
through a heap, so memory stays bounded by the lateness, not the period.

Everything is drawn from random generators seeded from ``seed`` and a name,
so the same parameters always give the same bytes.
"""

from __future__ import annotations

import heapq
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterator

from etl_lib.core.kinds import KIND_IDS, KINDS

from .world import (
    EFFECTS,
    STATIONS,
    STEP,
    STREETS,
    TAXI_PLACES,
    TAXI_PRODUCTS,
    Weather,
    fmt_time,
    poisson,
    step_rates,
    surge_multiplier,
    weather_steps,
)

# The four kinds of record, in the order of etl_lib.core.kinds (its ids are the keys of Settings.kafka_topics).
TOPICS = KIND_IDS

MALFORMED_KINDS = (
    "not_json",
    "truncated_json",
    "missing_field",
    "wrong_type",
    "unknown_field",
    "impossible_value",
    "bad_timestamp",
)
# An extra field is not an error for a reader with an explicit schema: it is
# ignored (the schema-evolution lesson).  Every other kind must be quarantined.
TOLERATED_KINDS = ("unknown_field",)

# The event-time field of each topic (from the record kinds' table), and the field each kind of damage hits.
TIME_FIELD = {k.id: k.event_time for k in KINDS}
_TIME_FORMAT = {k.id: k.time_format for k in KINDS}
WRONG_TYPE = {"bike": ("trip_duration", "long"), "taxi": ("price", "cheap"),
              "weather": ("temperature", "warm"), "accidents": ("latitude", "north")}
IMPOSSIBLE = {"bike": ("trip_duration", -420), "taxi": ("surge_multiplier", 0.5),
              "weather": ("precip_intensity", -1.0), "accidents": ("latitude", 0.0)}


@dataclass(frozen=True)
class GenParams:
    """What to simulate.  Fractions are per record; lateness is in minutes."""

    days: int = 7
    seed: int = 42
    start: datetime = datetime(2018, 4, 2)  # a Monday in spring: cold and warm days, rain
    scale: float = 1.0
    late_fraction: float = 0.02
    late_mean_minutes: float = 15.0
    duplicate_fraction: float = 0.01
    malformed_fraction: float = 0.01
    watermark_minutes: float = 10.0  # "late" in the answer key means later than this

    def validate(self) -> None:
        problems = []
        if self.days <= 0:
            problems.append(f"--days must be at least 1 (got {self.days})")
        if self.scale <= 0:
            problems.append(f"--scale must be greater than 0 (got {self.scale})")
        for name in ("late_fraction", "duplicate_fraction", "malformed_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                problems.append(f"--{name.replace('_', '-')} must be a fraction from 0 to 1 (got {value})")
        if self.late_mean_minutes <= 0:
            problems.append(f"--late-mean-minutes must be greater than 0 (got {self.late_mean_minutes})")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class Delivery:
    """One record as it is sent: its topic, key, bytes and when (simulated seconds from the start)."""

    topic: str
    key: bytes
    value: bytes
    at: float
    kind: str  # "valid", "duplicate", or a malformed kind
    event_s: float | None = None  # event time (seconds from the start) when a parser can read it


@dataclass
class Truth:
    """The clean events a correct parser keeps, for the answer key (kept compact: tuples)."""

    bike: list[tuple[datetime, int]] = field(default_factory=list)          # start time, duration s
    taxi: list[tuple[datetime, float]] = field(default_factory=list)        # time, surge
    accidents: list[tuple[datetime]] = field(default_factory=list)
    weather: list[Weather] = field(default_factory=list)


@dataclass
class TopicCounts:
    events: int = 0
    produced: int = 0
    duplicates: int = 0
    late: int = 0
    malformed: dict[str, int] = field(default_factory=lambda: {k: 0 for k in MALFORMED_KINDS})

    def as_dict(self) -> dict[str, Any]:
        quarantined = sum(v for k, v in self.malformed.items() if k not in TOLERATED_KINDS)
        return {
            "events": self.events,
            "produced": self.produced,
            "valid": self.produced - quarantined,
            "quarantined": quarantined,
            "duplicates": self.duplicates,
            "late": self.late,
            "malformed": dict(self.malformed),
            "unique_valid_events": self.events - quarantined,
        }


# One encoder for every record: json.dumps with options builds a new encoder per call.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _dumps(d: dict[str, Any]) -> bytes:
    return _ENCODE(d).encode()


def _two_distinct(rng: random.Random, places: tuple) -> tuple:
    """Two different places, cheaper than ``rng.sample(places, 2)``."""
    n = len(places)
    i = rng.randrange(n)
    j = rng.randrange(n - 1)
    return places[i], places[j + (j >= i)]


# ---------------------------------------------------------------------- the four record builders
def bike_record(rng: random.Random, when: datetime, w: Weather, n: int) -> dict[str, Any]:
    start, end = _two_distinct(rng, STATIONS)
    customer = rng.random() < EFFECTS["bike_customer_share"]
    median = EFFECTS["bike_duration_median_customer_s" if customer else "bike_duration_median_subscriber_s"]
    if w.precip_intensity > 0:
        median *= EFFECTS["bike_duration_rain_factor"]
    duration = max(61, int(rng.lognormvariate(0, 0.55) * median))
    return {
        "trip_id": f"b{n:09d}",
        "trip_duration": duration,
        "start_time": fmt_time(when),
        "stop_time": fmt_time(when + timedelta(seconds=duration)),
        "start_station_id": start.id,
        "start_station_name": start.name,
        "start_station_latitude": start.latitude,
        "start_station_longitude": start.longitude,
        "end_station_id": end.id,
        "end_station_name": end.name,
        "end_station_latitude": end.latitude,
        "end_station_longitude": end.longitude,
        "bike_id": rng.randint(100, 3900),
        "user_type": "Customer" if customer else "Subscriber",
        "birth_year": 1969 if customer and rng.random() < 0.5 else rng.randint(1950, 2001),
        "gender": 0 if customer and rng.random() < 0.5 else rng.choice((1, 1, 2)),
    }


def taxi_record(rng: random.Random, when: datetime, surge: float, n: int) -> dict[str, Any]:
    src, dst = _two_distinct(rng, TAXI_PLACES)
    cab, product, base, per_mile = rng.choice(TAXI_PRODUCTS)
    distance = round(max(0.3, rng.lognormvariate(0.7, 0.45)), 2)
    if cab == "Uber":
        surge = 1.0  # as in the rides data: only Lyft reports surge
    price = round((base + per_mile * distance) * surge * rng.uniform(0.9, 1.1), 1)
    return {
        "id": f"t{n:09d}",
        "timestamp": fmt_time(when),
        "source": src.name,
        "destination": dst.name,
        "cab_type": cab,
        "product_name": product,
        "price": price,
        "distance": distance,
        "surge_multiplier": surge,
        "latitude": src.latitude,
        "longitude": src.longitude,
    }


def weather_record(w: Weather) -> dict[str, Any]:
    return {
        "timestamp": fmt_time(w.time),
        "temperature": w.temperature,
        "apparent_temperature": w.apparent_temperature,
        "precip_intensity": w.precip_intensity,
        "humidity": w.humidity,
        "wind_speed": w.wind_speed,
        "visibility": w.visibility,
        "summary": w.summary,
    }


def accident_record(rng: random.Random, when: datetime, n: int) -> dict[str, Any]:
    place = rng.choice(STATIONS + TAXI_PLACES)
    return {
        "id": f"a{n:07d}",
        "dispatch_ts": fmt_time(when),
        "mode_type": rng.choices(("mv", "ped", "bike"), weights=(0.78, 0.14, 0.08))[0],
        "location_type": rng.choices(("Intersection", "Street", "Other"), weights=(0.55, 0.35, 0.10))[0],
        "street": rng.choice(STREETS),
        "latitude": round(place.latitude + rng.uniform(-0.004, 0.004), 6),
        "longitude": round(place.longitude + rng.uniform(-0.004, 0.004), 6),
    }


def malform(topic: str, record: dict[str, Any], kind: str, rng: random.Random) -> bytes:
    """The bytes of ``record`` damaged in one of the seven ways of :data:`MALFORMED_KINDS`."""
    if kind == "not_json":
        return rng.choice((b"<html><body>502 Bad Gateway</body></html>", b"ERROR upstream timeout",
                           b"\x00\x01\x02 binary junk"))
    if kind == "truncated_json":
        raw = _dumps(record)
        return raw[: rng.randint(5, len(raw) - 2)]
    bad = dict(record)
    if kind == "missing_field":
        del bad[TIME_FIELD[topic]]
    elif kind == "wrong_type":
        name, value = WRONG_TYPE[topic]
        bad[name] = value
    elif kind == "unknown_field":
        bad["promo_code"] = "SPRING18"
    elif kind == "impossible_value":
        name, value = IMPOSSIBLE[topic]
        bad[name] = value
    elif kind == "bad_timestamp":
        when = datetime.strptime(bad[TIME_FIELD[topic]], _TIME_FORMAT[topic])
        bad[TIME_FIELD[topic]] = when.strftime("%m/%d/%Y %I:%M %p")
    else:
        raise ValueError(f"unknown malformed kind {kind!r}")
    return _dumps(bad)


# ---------------------------------------------------------------------- the stream
class Simulation:
    """One simulated period: iterate :meth:`deliveries` once; then :attr:`truth` and :attr:`counts` are complete."""

    def __init__(self, params: GenParams) -> None:
        params.validate()
        self.params = params
        self.truth = Truth()
        self.counts = {t: TopicCounts() for t in TOPICS}
        self.steps = params.days * 24 * 12
        self._rng = {name: random.Random(f"{params.seed}:{name}")
                     for name in ("weather", *TOPICS, *(f"knobs:{t}" for t in TOPICS))}

    def deliveries(self) -> Iterator[Delivery]:
        """Every record of every topic in delivery order (ties: in the order they were made)."""
        p = self.params
        heap: list[tuple[float, int, Delivery]] = []
        seq = 0
        max_event = {t: float("-inf") for t in TOPICS}
        late_after = p.watermark_minutes * 60.0
        serial = {t: 0 for t in TOPICS}
        bike_rng, taxi_rng, acc_rng = self._rng["bike"], self._rng["taxi"], self._rng["accidents"]
        truth = self.truth

        def push(topic: str, key: str, record: dict[str, Any], event_s: float) -> bool:
            """Queue one event's record (and maybe its duplicate); True when a correct parser keeps it."""
            nonlocal seq
            knobs = self._rng[f"knobs:{topic}"]
            counts = self.counts[topic]
            counts.events += 1
            at = event_s + knobs.uniform(0.0, 2.0)
            if knobs.random() < p.late_fraction:
                at += knobs.expovariate(1.0 / (p.late_mean_minutes * 60.0))
            kind = "valid"
            if knobs.random() < p.malformed_fraction:
                kind = knobs.choice(MALFORMED_KINDS)
                value = malform(topic, record, kind, knobs)
                counts.malformed[kind] += 1
            else:
                value = _dumps(record)
            kept = kind == "valid" or kind in TOLERATED_KINDS
            kb = key.encode()
            seq += 1
            heapq.heappush(heap, (at, seq, Delivery(topic, kb, value, at, kind, event_s if kept else None)))
            if kind == "valid" and knobs.random() < p.duplicate_fraction:
                seq += 1
                dup_at = at + knobs.uniform(1.0, 60.0)
                heapq.heappush(heap, (dup_at, seq, Delivery(topic, kb, value, dup_at, "duplicate", event_s)))
            return kept

        def pop_until(limit: float) -> Iterator[Delivery]:
            while heap and heap[0][0] < limit:
                d = heapq.heappop(heap)[2]
                counts = self.counts[d.topic]
                counts.produced += 1
                if d.kind == "duplicate":
                    counts.duplicates += 1
                # Late: its event time is more than the watermark delay behind the
                # latest event time this topic has already delivered.
                if d.event_s is not None:
                    if d.event_s < max_event[d.topic] - late_after:
                        counts.late += 1
                    max_event[d.topic] = max(max_event[d.topic], d.event_s)
                yield d

        for k, w in enumerate(weather_steps(p.start, self.steps, self._rng["weather"])):
            step_s = k * STEP.total_seconds()
            rates = step_rates(w, p.scale)
            # Weather: one observation at the start of each step.
            if push("weather", "boston", weather_record(w), step_s):
                truth.weather.append(w)
            for _ in range(poisson(bike_rng, rates.bikes)):
                offset = int(bike_rng.uniform(0, 300.0))
                when = w.time + timedelta(seconds=offset)
                serial["bike"] += 1
                rec = bike_record(bike_rng, when, w, serial["bike"])
                if push("bike", str(rec["start_station_id"]), rec, step_s + offset):
                    truth.bike.append((when, rec["trip_duration"]))
            for _ in range(poisson(taxi_rng, rates.taxis)):
                offset = int(taxi_rng.uniform(0, 300.0))
                when = w.time + timedelta(seconds=offset)
                serial["taxi"] += 1
                rec = taxi_record(taxi_rng, when, surge_multiplier(taxi_rng, rates.surge_pressure), serial["taxi"])
                if push("taxi", rec["source"], rec, step_s + offset):
                    truth.taxi.append((when, rec["surge_multiplier"]))
            for _ in range(poisson(acc_rng, rates.accidents)):
                offset = int(acc_rng.uniform(0, 300.0))
                when = w.time + timedelta(seconds=offset)
                serial["accidents"] += 1
                rec = accident_record(acc_rng, when, serial["accidents"])
                if push("accidents", rec["street"], rec, step_s + offset):
                    truth.accidents.append((when,))
            # Everything made so far has an event time >= this step's start, and
            # later steps only add later deliveries: what is due before the next
            # step can be sent now.
            yield from pop_until(step_s + STEP.total_seconds())
        yield from pop_until(float("inf"))
