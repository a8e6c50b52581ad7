"""Older home of :mod:`etl_lib.lab.demo`; ``python -m etl_lib.demo`` (``make demo``) still runs it."""

import sys

from .lab.demo import UnsafeDeleteError, main, run_demo

__all__ = ["UnsafeDeleteError", "main", "run_demo"]

if __name__ == "__main__":
    sys.exit(main())
