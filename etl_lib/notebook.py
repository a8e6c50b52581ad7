"""Older home of :mod:`etl_lib.lab.notebook` (every lesson's setup call and shared helpers), kept for old imports."""

from .lab.notebook import *  # noqa: F401,F403
from .lab.notebook import __all__  # noqa: F401
