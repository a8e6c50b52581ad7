"""Wrong answers to exercise 01 `parse_duration`, one requirement broken in each."""

import re

UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def exact_units_only(text):
    """Breaks "units": only the plural, lower-case spelling is known."""
    m = re.fullmatch(r"\s*(\d+)\s+(seconds|minutes|hours|days)\s*", text)
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration, such as '5 minutes'")
    return int(m.group(1)) * UNITS[m.group(2)[:-1]]


def minutes_for_everything(text):
    """Breaks "seconds": multiplies by 60 whatever the unit."""
    m = re.fullmatch(r"\s*(\d+)\s+([a-z]+?)s?\s*", text.lower())
    if not m or m.group(2) not in UNITS or int(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration, such as '5 minutes'")
    return int(m.group(1)) * 60


def lenient(text):
    """Breaks "refuse": a bad value becomes 0 instead of stopping the program."""
    m = re.fullmatch(r"\s*(\d+)\s+([a-z]+?)s?\s*", text.lower())
    if not m or m.group(2) not in UNITS:
        return 0
    return int(m.group(1)) * UNITS[m.group(2)]


def silent_error(text):
    """Breaks "message": raises, but the message neither names the value nor shows a form."""
    m = re.fullmatch(r"\s*(\d+)\s+([a-z]+?)s?\s*", text.lower())
    if not m or m.group(2) not in UNITS or int(m.group(1)) <= 0:
        raise ValueError("bad duration")
    return int(m.group(1)) * UNITS[m.group(2)]


MUTANTS = [("units", exact_units_only), ("seconds", minutes_for_everything), ("refuse", lenient),
           ("message", silent_error)]
