"""Lesson 02: ``MinibatchCollector``, a minibatch collector that closes a window on time, even when idle."""

from __future__ import annotations

import random

from ..grader import exercise
from ._common import Case, Context, expect, plain


def _batches(got) -> list:
    """What a collector's method returned (batches of items), as plain data: a list of lists."""
    return [plain(list(b)) for b in (got or [])]


def _show_step(step) -> str:
    if step[0] == "offer":
        return f"offer({step[1]}, {step[2]!r})"
    return f"tick({step[1]})" if step[0] == "tick" else "flush()"


@exercise("minibatch_collector", "02", "A minibatch collector that closes a window on time, even when idle",
          ["minibatch-windowing", "producer-consumer"], symbol="MinibatchCollector", requirements={
              "on-time": "return the open batch if it is due (an idle window still closes on time)",
              "due-first": "If the open batch is already due (`now >= opened + window`), close it first",
              "no-empty": "Never return an empty batch",
              "flush": "return the open batch if it has items, so nothing is lost"})
def cases(ctx: Context) -> list[Case]:
    def script(steps, window=5.0):
        """steps: ("offer", t, item, expected) / ("tick", t, expected) / ("flush", expected)."""
        def observe(cls):
            c, returned = cls(window), []
            for step in steps:
                if step[0] == "offer":
                    got = c.offer(step[1], step[2])
                elif step[0] == "tick":
                    got = c.tick(step[1])
                else:
                    got = c.flush()
                returned.append(_batches(got))
            return returned

        def judge(returned):
            for step, got in zip(steps, returned):
                want = step[-1]
                expect(got == want, f"{_show_step(step)} returned {got}, expected {want}")
            expect(len(returned) == len(steps), f"{len(returned)} calls observed of {len(steps)}")
        return observe, judge

    rng = random.Random(ctx.seed(7))
    arrivals = sorted(rng.uniform(0, 60) for _ in range(40))

    def observe_many(cls):
        c = cls(5.0)
        batches: list[list] = []
        for i, t in enumerate(arrivals):
            batches += _batches(c.tick(t))
            batches += _batches(c.offer(t, i))
        batches += _batches(c.tick(1000.0))
        batches += _batches(c.flush())
        return batches

    def judge_many(batches):
        flat = [i for b in batches for i in b]
        expect(flat == list(range(len(arrivals))), "items lost, repeated or reordered across batches")
        expect(all(b for b in batches), "an empty batch was emitted")
        for b in batches:
            expect(arrivals[b[-1]] - arrivals[b[0]] < 5.0, f"batch {b} spans more than the window")

    return [
        Case("window=5: offer(0,'a'), offer(1,'b'), tick(4.9), tick(5.0)",
             *script([("offer", 0, "a", []), ("offer", 1, "b", []), ("tick", 4.9, []), ("tick", 5.0, [["a", "b"]])]),
             "a batch opens with its first item and closes window seconds later, when tick() sees the time pass, "
             "even if no item arrives", 1, "on-time"),
        Case("window=5: tick(3), offer(4,'a'), tick(9), tick(100), tick(200)",
             *script([("tick", 3, []), ("offer", 4, "a", []), ("tick", 9, [["a"]]), ("tick", 100, []),
                      ("tick", 200, [])]),
             "an idle stretch emits nothing: a tick with no open batch returns no batch at all, not an empty one",
             1, "no-empty"),
        Case("window=5: offer(0,'a'), offer(7,'b'), tick(11.9), tick(12)",
             *script([("offer", 0, "a", []), ("offer", 7, "b", [["a"]]), ("tick", 11.9, []),
                      ("tick", 12, [["b"]])]),
             "an item that arrives after the window's end first closes the old batch; it opens the next one", 2,
             "due-first"),
        Case("window=5: offer(0,'a'), flush(), flush()",
             *script([("offer", 0, "a", []), ("flush", [["a"]]), ("flush", [])]),
             "a graceful shutdown flushes the open batch, so nothing collected is lost", 3, "flush"),
        Case("40 items at random times over 60 s, window=5", observe_many, judge_many,
             "every item in exactly one batch, in arrival order; no batch spans more than the window", 40, "on-time"),
    ]
