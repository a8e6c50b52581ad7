"""What the kit's command-line programs share: one way to end on an error, argument types, the settings.

Every ``main()`` of the kit runs inside :func:`run`, so a :class:`KitError`
anywhere below becomes one message on standard error and the error's exit code,
never a traceback; Ctrl+C ends with 130 as a shell expects; a reader that closes
the pipe early (``python -m etl_lib broker status | head -1``) ends the program
quietly, as the Python documentation advises for SIGPIPE (signal module, "Note on
SIGPIPE"): the rest of the output goes to /dev/null and the exit code is 1.
"""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any, Callable

from .errors import KitError
from .settings import Settings, get_settings

__all__ = ["fail", "run", "settings_or_exit", "fraction", "positive"]


def fail(err: KitError) -> int:
    """Print ``err`` as its kind of error (``Configuration error:``, ``Error:``) and return its exit code."""
    sep = "\n" if err.exit_code == 2 else " "
    print(f"{err.label}:{sep}{err}", file=sys.stderr)
    return err.exit_code


def run(main: Callable[..., int]) -> Callable[..., int]:
    """Decorate a program's ``main``: a :class:`KitError` is printed and returns its exit code; Ctrl+C gives 130."""

    @functools.wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return main(*args, **kwargs)
        except KitError as err:
            return fail(err)
        except KeyboardInterrupt:
            print("Interrupted.", file=sys.stderr)
            return 130
        except BrokenPipeError:
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)  # so that the interpreter's final flush cannot fail again
            os.dup2(devnull, sys.stdout.fileno())
            return 1

    return wrapper


def settings_or_exit() -> Settings:
    """The settings, or exit with status 2 after printing which variable is wrong and how to fix it."""
    try:
        return get_settings()
    except KitError as err:
        raise SystemExit(fail(err)) from None


def fraction(text: str) -> float:
    """argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction from 0 to 1")
    return value


def positive(kind: type) -> Callable[[str], Any]:
    """argparse type: an int or float greater than 0.

    >>> positive(int)("3")
    3
    """

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
        return value

    return parse
