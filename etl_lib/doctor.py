"""Older home of :mod:`etl_lib.lab.doctor`; ``python -m etl_lib.doctor`` (``make doctor``) still runs it."""

import sys

from .lab.doctor import Check, format_checks, main, run_checks

__all__ = ["Check", "format_checks", "main", "run_checks"]

if __name__ == "__main__":
    sys.exit(main())
