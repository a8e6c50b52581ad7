"""Lesson 04: ``share_partition``, the state of the records of one share-partition of a Kafka share group.

A share group (KIP-932) keeps, for each record of a partition, a state and a delivery count.  The cases replay
events (acquire, accept, release, reject, timeout, renew) on a few records; the judging half knows the answer from
:func:`simulate`, the rules of the exercise text as code.  Beside the fixed cases that make each rule bite, each
student gets event streams of their own (from :meth:`Context.seed`)."""

from __future__ import annotations

import random
from typing import Any

from ..grader import exercise
from ._common import Case, Context, expect, outcome, shown

DONE = ("acknowledged", "archived")


def simulate(n_records: int, events: list[tuple[str, int]], delivery_limit: int) -> dict[str, Any]:
    """The rules of the exercise text: what a right answer returns (run by the judging half, and to build the
    random event streams)."""
    states = {o: "available" for o in range(n_records)}
    deliveries = dict.fromkeys(range(n_records), 0)
    for kind, o in events:
        if kind == "acquire":
            if states[o] == "available":
                states[o], deliveries[o] = "acquired", deliveries[o] + 1
        elif states[o] != "acquired":
            continue
        elif kind == "accept":
            states[o] = "acknowledged"
        elif kind == "reject":
            states[o] = "archived"
        elif kind in ("release", "timeout"):
            states[o] = "archived" if deliveries[o] >= delivery_limit else "available"
    start = next((o for o in range(n_records) if states[o] not in DONE), n_records)
    return {"states": states, "deliveries": deliveries, "start": start}


def random_events(rng: random.Random, n_records: int, n_events: int, delivery_limit: int) -> list[tuple[str, int]]:
    """A plausible stream: consumers acquire the low offsets first and mostly answer for what they hold; now and
    then an event the broker refuses (an answer for a record not acquired, an acquire of one not available)."""
    events: list[tuple[str, int]] = []
    for _ in range(n_events):
        state = simulate(n_records, events, delivery_limit)["states"]
        held = [o for o, s in state.items() if s == "acquired"]
        free = [o for o, s in state.items() if s == "available"]
        roll = rng.random()
        if roll < 0.1:  # refused by the broker: any kind, any record
            events.append((rng.choice(("acquire", "accept", "release", "reject", "timeout", "renew")),
                           rng.randrange(n_records)))
        elif held and (roll < 0.6 or not free):
            events.append((rng.choices(("accept", "release", "reject", "timeout", "renew"), (3, 4, 1, 3, 2))[0],
                           rng.choice(held)))
        elif free:
            events.append(("acquire", min(free) if rng.random() < 0.6 else rng.choice(free)))
        else:  # every record done
            events.append(("acquire", rng.randrange(n_records)))
    return events


@exercise("share_partition", "04", "The records of one share-partition of a share group", ["kafka-basics"],
          requirements={
              "acquire": "only an `available` record can be acquired",
              "ack": "`accept` makes an acquired record `acknowledged`",
              "release": "`release` gives an acquired record back",
              "limit": "has reached `delivery_limit`",
              "renew": "keeps an acquired record `acquired`",
              "start": "the share-partition start offset"})
def cases(ctx: Context) -> list[Case]:
    def case(n_records, events, delivery_limit, hint, size, need, shown_as=None):
        events = [tuple(e) for e in events]

        def observe(fn):
            return outcome(lambda: fn(n_records, [tuple(e) for e in events], delivery_limit=delivery_limit))

        def judge(seen):
            expect("returned" in seen, str(seen.get("described")))
            got, want = seen["returned"], simulate(n_records, events, delivery_limit)
            expect(isinstance(got, dict) and {"states", "deliveries", "start"} <= set(got),
                   f"returned {shown(got)}, not a dict with 'states', 'deliveries' and 'start'")
            offsets = [str(o) for o in range(n_records)]

            def of(o: int) -> str:
                kinds = [k for k, e in events if e == o]
                return f"(the events of record {o}: {', '.join(kinds) or 'none'}; delivery_limit={delivery_limit})"

            for field, what in (("states", "state"), ("deliveries", "delivery count")):
                got_field = got[field]
                expect(isinstance(got_field, dict) and sorted(got_field) == sorted(offsets),
                       f"'{field}' is {shown(got_field)}; it needs one entry per offset 0 to {n_records - 1}")
                for o in range(n_records):
                    expect(got_field[str(o)] == want[field][o] and type(got_field[str(o)]) is type(want[field][o]),
                           f"the {what} of record {o} is {got_field[str(o)]!r}, expected {want[field][o]!r} {of(o)}")
            states = {o: want["states"][o] for o in range(n_records)}
            expect(type(got["start"]) is int and got["start"] == want["start"],
                   f"'start' is {shown(got['start'])}, expected {want['start']} (the states: {states})")
        text = shown_as or f"n_records={n_records}, delivery_limit={delivery_limit}, events={events}"
        return Case(text, observe, judge, hint, size, need)

    def script(text: str) -> list[tuple[str, int]]:
        """``"acquire 0, release 0"`` as events."""
        return [(kind, int(o)) for kind, o in (step.split() for step in text.split(","))]

    rng = random.Random(ctx.seed(932))
    randoms = []
    for n_records, n_events in ((5, 30), (8, 60), (20, 150)):
        limit = rng.randint(2, 4)
        randoms.append((n_records, random_events(rng, n_records, n_events, limit), limit))
    return [
        case(3, script("acquire 1, acquire 1, acquire 2"), 5,
             "the broker counts a delivery when it hands a record out, and it hands out only an available record",
             3, "acquire"),
        case(2, script("acquire 0, accept 0, acquire 0, acquire 1, reject 1, acquire 1"), 5,
             "an acknowledged or archived record is done: it is never acquired (nor delivered) again", 6, "acquire"),
        case(3, script("acquire 0, acquire 1, accept 0, reject 1"), 5,
             "accept settles an acquired record as acknowledged; reject settles it as archived", 4, "ack"),
        case(3, script("accept 0, reject 1, acquire 2, accept 2, reject 2"), 5,
             "accept and reject answer for an acquired record: on a record that is not acquired they change "
             "nothing", 5, "ack"),
        case(3, script("acquire 1, release 1, acquire 2, timeout 2, acquire 1"), 5,
             "release and an expired lock (timeout) both give an acquired record back as available, and its "
             "delivery count remembers every delivery so far", 5, "release"),
        case(2, script("acquire 0, release 0, acquire 0, release 0, acquire 0, acquire 1, timeout 1, acquire 1, "
                       "timeout 1"), 2,
             "a record whose delivery count has reached delivery_limit is not handed out again: released or timed "
             "out, it is archived", 9, "limit"),
        case(2, script("acquire 0, renew 0, renew 0, renew 1, accept 0"), 5,
             "renew only asks for more time: the record stays acquired and no new delivery is counted", 5, "renew"),
        case(4, script("acquire 0, acquire 1, accept 0, acquire 2, reject 2"), 5,
             "the start offset is the lowest record not yet done; an acquired record is not done either, only "
             "acknowledged and archived ones are", 5, "start"),
        case(3, script("acquire 0, reject 0, acquire 1, accept 1, acquire 2, accept 2"), 5,
             "archived records are done too, like acknowledged ones; when every record is done the start offset "
             "is n_records", 6, "start"),
        *[case(n, events, limit, "follow each record through its states, event by event: the delivery count "
               "grows at each acquire, and at delivery_limit a record given back is archived", len(events), "limit",
               f"n_records={n}, delivery_limit={limit}, {len(events)} random events (first: {events[:4]})")
          for n, events, limit in randoms],
    ]
