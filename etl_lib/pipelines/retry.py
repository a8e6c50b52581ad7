"""Retry with exponential backoff and jitter, for errors marked transient only."""

from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

T = TypeVar("T")

__all__ = ["TransientError", "PermanentError", "is_transient", "retry_with_backoff", "RetryExhausted", "failure_reason"]


class TransientError(Exception):
    """A failure that may pass if tried again (a timeout, a busy downstream)."""


class PermanentError(Exception):
    """A failure that will happen again every time (bad data, a bug): never retried."""


class RetryExhausted(Exception):
    """Every attempt failed with a transient error; ``__cause__`` is the last one."""

    def __init__(self, attempts: int, last: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempts: {type(last).__name__}: {last}")
        self.attempts = attempts
        self.last = last


def failure_reason(exc: BaseException) -> str:
    """A one-line reason for a dead-letter record."""
    return str(exc) if isinstance(exc, RetryExhausted) else f"{type(exc).__name__}: {exc}"


def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: :class:`TransientError` and the OS's timeouts and lost connections."""
    return isinstance(exc, (TransientError, TimeoutError, ConnectionError))


def retry_with_backoff(
    func: Callable[[], T],
    max_attempts: int = 4,
    base_delay: float = 0.05,
    max_delay: float = 2.0,
    *,
    retryable: Callable[[BaseException], bool] = is_transient,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """Call ``func()`` until it succeeds, retrying transient errors up to ``max_attempts`` times.

    Attempt k (from 0) that fails transiently waits a random time in
    ``[0, min(max_delay, base_delay * 2**k)]`` ("full jitter"), so that many
    workers failing together do not retry in lock-step.  A non-transient error
    is raised at once; when attempts run out, :class:`RetryExhausted` is raised.

    >>> calls = []
    >>> def flaky():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise TransientError("busy")
    ...     return "done"
    >>> retry_with_backoff(flaky, sleep=lambda s: None)
    'done'
    >>> len(calls)
    3
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    rng = rng or random.Random()
    for attempt in range(max_attempts):
        try:
            return func()
        except BaseException as exc:  # noqa: BLE001 - classified below
            if not retryable(exc) or isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            if attempt == max_attempts - 1:
                raise RetryExhausted(max_attempts, exc) from exc
            delay = rng.uniform(0, min(max_delay, base_delay * (2**attempt)))
            if on_retry is not None:
                on_retry(attempt + 1, exc, delay)
            sleep(delay)
    raise AssertionError("unreachable")
