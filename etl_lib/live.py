"""Older home of :mod:`etl_lib.lab.live` (progress tables, the live chart, the replay thread), kept for old imports."""

from .lab.live import *  # noqa: F401,F403
from .lab.live import __all__  # noqa: F401
