"""The kit's one error family: every error a user can cause says what went wrong and how to fix it.

Each subclass belongs to the floor that raises it, but all share :class:`KitError`,
so a command-line program needs one ``except`` (see :func:`etl_lib.core.cli.run`)
and a notebook can catch the whole family at once.  ``exit_code`` is what a
program that stops on the error returns: 2 for a setting the user must change
(as argparse does for a bad argument), 1 for everything else.

>>> issubclass(ConfigError, KitError), ConfigError.exit_code, BrokerError.exit_code
(True, 2, 1)
>>> str(KitError("Port 9092 is in use."))
'Port 9092 is in use.'
"""

from __future__ import annotations

__all__ = ["KitError", "ConfigError", "BrokerError", "BrokerInUseError", "JavaError", "JarsMissingError",
           "ClusterError"]


class KitError(RuntimeError):
    """Base of every error the kit raises on purpose; its message is meant for the person at the keyboard."""

    exit_code = 1
    #: How a command-line program introduces the message (``Error: ...``).
    label = "Error"


class ConfigError(KitError, ValueError):
    """A setting has a value the kit cannot use; the message says which and how to fix it."""

    exit_code = 2
    label = "Configuration error"


class BrokerError(KitError):
    """The broker cannot be reached or started; the message names the cause and the fix."""


class BrokerInUseError(BrokerError):
    """Another live kit run uses the broker or the topics this run would reset or stop; the message names
    that run (pid, command, DATA_DIR) and the fix (a port or topics of this run's own)."""


class JavaError(KitError):
    """Java is missing or too old; the message names the fix."""


class JarsMissingError(KitError):
    """The Maven-resolved jars are not there yet; the message names the fix."""


class ClusterError(KitError):
    """The practice cluster cannot start or be reached; the message says why and what to do."""
