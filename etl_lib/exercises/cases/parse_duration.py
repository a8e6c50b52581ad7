"""Lesson 01: ``parse_duration``, seconds in a Spark interval, with a message that names the bad value."""

from __future__ import annotations

from ..grader import exercise
from ._common import Case, Context, expect, outcome, raised, shown


@exercise("parse_duration", "01", "Seconds in a Spark interval, with a message that names the bad value",
          ["env-config"], requirements={
              "seconds": "returns the number of seconds",
              "units": "a unit in singular or plural and any letter case",
              "refuse": "must stop the program at once: raise `ValueError`",
              "message": "a message that names the value and shows an accepted form"})
def cases(ctx: Context) -> list[Case]:
    good = [("15 minutes", 900), ("1 hour", 3600), ("10 seconds", 10), ("2 hours", 7200), ("1 minute", 60),
            ("5 Minutes", 300), ("1 day", 86400)]
    bad = ["15 minuts", "", "minutes", "-5 minutes", "0 seconds", "1.5 hours", "15"]

    def call(text: str):
        return lambda fn: outcome(lambda: fn(text))

    def returned(seen: dict) -> str:
        return f"returned {shown(seen['returned'])}" if "returned" in seen else str(seen.get("described"))

    def ok(text: str, seconds: int) -> Case:
        def judge(seen):
            got = seen.get("returned")
            expect("returned" in seen and type(got) in (int, float) and got == seconds,
                   f"{returned(seen)}, expected {seconds}")
        units = text in ("1 hour", "1 minute", "5 Minutes", "1 day")
        hint = ("accept singular and plural units ('1 hour', '2 hours') and any letter case"
                if units else "the number times the unit's seconds")
        return Case(f"parse_duration({text!r})", call(text), judge, hint, len(text), "units" if units else "seconds")

    def refused(text: str) -> Case:
        def judge(seen):
            expect(raised(seen, "ValueError"), f"{returned(seen)} instead of raising ValueError")
        return Case(f"parse_duration({text!r})", call(text), judge,
                    "a bad value must stop the program at once: raise ValueError; a positive whole number and a "
                    "unit only", 100 + len(text), "refuse")

    def message(text: str) -> Case:
        def judge(seen):
            expect(raised(seen, "ValueError"), f"{returned(seen)} instead of raising ValueError")
            said = str(seen.get("message"))
            expect(repr(text) in said or (text and text in said),
                   f"the ValueError does not name the bad value: {said!r}")
            expect("minute" in said.lower(), f"the ValueError does not show an accepted form such as '5 minutes': "
                                             f"{said!r}")
        return Case(f"the message of parse_duration({text!r})", call(text), judge,
                    "the ValueError's message names the value and shows an accepted form, so the user can fix it",
                    200 + len(text), "message")

    return [ok(t, s) for t, s in good] + [refused(t) for t in bad] + [message(t) for t in ("15 minuts", "")]
