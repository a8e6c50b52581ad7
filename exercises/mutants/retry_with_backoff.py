"""Wrong answers to exercise 02 `retry_with_backoff`, one requirement broken in each."""

import random
import time


def no_jitter(fn, attempts=5, base=0.1, cap=2.0, sleep=time.sleep, rng=random.random):
    """Breaks "jitter": waits the whole exponential step; workers that failed together retry together."""
    for k in range(attempts):
        try:
            return fn()
        except Exception:
            if k == attempts - 1:
                raise
            sleep(min(cap, base * 2**k))


def no_cap(fn, attempts=5, base=0.1, cap=2.0, sleep=time.sleep, rng=random.random):
    """Breaks "cap": the waits grow without limit."""
    for k in range(attempts):
        try:
            return fn()
        except Exception:
            if k == attempts - 1:
                raise
            sleep(rng() * base * 2**k)


def linear(fn, attempts=5, base=0.1, cap=2.0, sleep=time.sleep, rng=random.random):
    """Breaks "exponential": each wait is one base longer, not twice as long."""
    for k in range(attempts):
        try:
            return fn()
        except Exception:
            if k == attempts - 1:
                raise
            sleep(rng() * min(cap, base * (k + 1)))


def swallows(fn, attempts=5, base=0.1, cap=2.0, sleep=time.sleep, rng=random.random):
    """Breaks "attempts": after the last failure it returns None instead of re-raising."""
    for k in range(attempts):
        try:
            return fn()
        except Exception:
            if k < attempts - 1:
                sleep(rng() * min(cap, base * 2**k))
    return None


def loses_result(fn, attempts=5, base=0.1, cap=2.0, sleep=time.sleep, rng=random.random):
    """Breaks "result": calls fn but returns True instead of its result."""
    for k in range(attempts):
        try:
            fn()
            return True
        except Exception:
            if k == attempts - 1:
                raise
            sleep(rng() * min(cap, base * 2**k))


MUTANTS = [("jitter", no_jitter), ("cap", no_cap), ("exponential", linear), ("attempts", swallows),
           ("result", loses_result)]
