"""Lesson 02: ``retry_with_backoff``, retry with exponential backoff and full jitter."""

from __future__ import annotations

import math

from ..grader import exercise
from ._common import Case, Context, expect, outcome


@exercise("retry_with_backoff", "02", "Retry with exponential backoff and full jitter", ["retry"], requirements={
    "result": "Call `fn()` and return its result",
    "attempts": "up to `attempts` calls in all; after the last failed call, re-raise that error",
    "exponential": "exponential",
    "cap": "capped",
    "jitter": "scaled by a random share"})
def cases(ctx: Context) -> list[Case]:
    class Boom(Exception):
        pass

    def case(failures, attempts, base, cap, rng_values, expect_sleeps, expect_raise, shown, hint, size, need):
        def observe(student):
            calls: list[int] = []

            def fn():
                calls.append(1)
                if len(calls) <= failures:
                    raise Boom(f"failure {len(calls)}")
                return "ok"
            sleeps: list = []
            values = iter(rng_values)
            seen = outcome(lambda: student(fn, attempts=attempts, base=base, cap=cap, sleep=sleeps.append,
                                           rng=lambda: next(values, 0.5)))
            # Whether what it raised is the function's own error: only this side can tell (a class of this case)
            seen["own_error"] = "raised" in seen and seen["raised"] == "Boom" and seen["message"].startswith("failure")
            return {**seen, "calls": len(calls), "sleeps": [s if type(s) in (int, float) else repr(s)[:80]
                                                             for s in sleeps]}

        def judge(seen):
            calls, sleeps = seen["calls"], seen["sleeps"]
            if "raised" in seen:
                expect(seen["own_error"], f"{seen['described']}, not the function's last error")
                expect(expect_raise, f"raised the function's error after {calls} calls; it should have succeeded")
                expect(calls == attempts, f"called the function {calls} times, expected {attempts}")
            else:
                got = seen["returned"]
                expect(not expect_raise, f"returned {got!r}; after {attempts} failed attempts it should re-raise "
                                         "the last error")
                expect(got == "ok", f"returned {got!r}, not the function's result 'ok'")
            expect(len(sleeps) == len(expect_sleeps), f"slept {len(sleeps)} times ({sleeps}), expected "
                                                      f"{len(expect_sleeps)}")
            for k, (got_s, want) in enumerate(zip(sleeps, expect_sleeps)):
                expect(type(got_s) in (int, float) and math.isclose(got_s, want, rel_tol=1e-9, abs_tol=1e-12),
                       f"sleep {k + 1} was {got_s!r}, expected {want!r}")
        return Case(shown, observe, judge, hint, size, need)

    never = "sleep only between attempts: no sleep after a success, none after the last failure"
    return [
        case(0, 5, 0.1, 10, [1.0], [], False, "a function that succeeds at once",
             "return what fn() returns; " + never, 0, "result"),
        case(3, 5, 0.1, 10, [1.0] * 3, [0.1, 0.2, 0.4], False,
             "fails three times, then succeeds; attempts=5, base=0.1, cap=10, rng() always 1.0",
             "exponential: the k-th retry (k from 0) waits up to base * 2**k, twice the one before", 1,
             "exponential"),
        case(4, 4, 1.0, 10.0, [1.0] * 3, [1.0, 2.0, 4.0], True,
             "always fails; attempts=4, base=1, cap=10, rng() always 1.0",
             "call fn at most attempts times; after the last failed attempt re-raise its error", 2, "attempts"),
        case(2, 5, 0.1, 10, [0.25, 0.75], [0.025, 0.15], False,
             "fails twice; base=0.1, cap=10, rng() returns 0.25 then 0.75",
             "full jitter: each wait is scaled by a random share, rng(), of the exponential step", 3, "jitter"),
        case(7, 7, 0.5, 4.0, [1.0] * 6, [0.5, 1.0, 2.0, 4.0, 4.0, 4.0], True,
             "always fails; attempts=7, base=0.5, cap=4, rng() always 1.0",
             "capped: no wait is longer than cap, however many retries came before", 4, "cap"),
    ]
