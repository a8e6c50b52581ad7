"""The seed's ``config`` module: the kit's settings, as ``config.KAFKA_BOOTSTRAP_SERVERS`` or as one object.

The settings themselves live in :mod:`etl_lib.core.settings` (the foundation);
this module keeps the names a reader of seed 003 looks for, its module
constants, and the program that prints them:
``python -m etl_lib config [--json]`` shows every setting and where it came from.

>>> from etl_lib import config
>>> config.load_settings({}).kafka_topics["bike"]
'bike-trips'
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .core.catalog import ANALYTICS_FLAGS
from .core.cli import run
from .core.errors import ConfigError
from .core.settings import (LONG_JOB_JVM_OPTIONS, QUICK_START_JVM_OPTIONS, Location, Settings, duration_seconds,
                            get_settings, load_settings, project_root)
from .core.settings import _BY_ENV

__all__ = ["ConfigError", "Settings", "load_settings", "get_settings", "duration_seconds", "project_root",
           "ANALYTICS_FLAGS", "Location", "QUICK_START_JVM_OPTIONS", "LONG_JOB_JVM_OPTIONS"]


def __getattr__(name: str) -> Any:
    # The seed reads module constants (``config.KAFKA_BOOTSTRAP_SERVERS``); keep that working.
    if name in _BY_ENV:
        return getattr(get_settings(), name.lower())
    if name == "KAFKA_TOPICS":
        return get_settings().kafka_topics
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@run
def main(argv: list[str] | None = None) -> int:
    """``python -m etl_lib config [--json]``: print the effective settings."""
    parser = argparse.ArgumentParser(
        prog="python -m etl_lib config",
        description="Print the kit's effective settings and where each came from (default or environment).",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    args = parser.parse_args(argv)
    rows = load_settings().describe()
    if args.json:
        print(json.dumps({name: {"value": value, "source": src} for name, value, src, _ in rows}, indent=2))
        return 0
    width = max(len(r[0]) for r in rows)
    vwidth = min(48, max(len(r[1]) for r in rows))
    print(f"{'variable':<{width}}  {'value':<{vwidth}}  {'source':<11}  meaning")
    for name, value, src, meaning in rows:
        print(f"{name:<{width}}  {value:<{vwidth}}  {src:<11}  {meaning}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
