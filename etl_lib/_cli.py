"""What the kit's command-line programs share: argument types and loading settings with a clear exit."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from .config import ConfigError, Settings, get_settings


def settings_or_exit() -> Settings:
    """The settings, or exit with status 2 after printing which variable is wrong and how to fix it."""
    try:
        return get_settings()
    except ConfigError as err:
        print(f"Configuration error:\n{err}", file=sys.stderr)
        raise SystemExit(2) from None


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
    """argparse type: an int or float greater than 0."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
        return value

    return parse
