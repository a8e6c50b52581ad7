"""What a lesson cell says when it fails in a way a student causes: one short message with the fix.

``setup()`` installs :func:`install` in the notebook's IPython.  Four failures get a message of their own instead
of a bare exception or a page of py4j traceback:

- an error of the kit (:class:`~etl_lib.core.errors.KitError`): its own message, which names the fix;
- no broker answering (kafka-python's ``NoBrokersAvailable``, from a producer or a consumer);
- a name an earlier cell defines (``NameError``): the cells above have not run in this kernel;
- an interrupted cell (Kernel > Interrupt Kernel, ``KeyboardInterrupt``): every streaming query still running in
  the notebook is stopped, and py4j's own log lines about the interrupted call are kept out of the cell.

The message is an ordinary error output (the cell is marked failed, Run All stops there); ``%tb`` in a new cell
prints the full traceback.  Every other exception is shown as IPython always shows it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

__all__ = ["advice", "install"]

_FULL = "(%tb in a new cell prints the full traceback)"
_PY4J_NOISE = ("KeyboardInterrupt while sending command", "Exception while sending command",
               "Exception occurred while shutting down connection")
# py4j logs an interrupted call on the root logger and on its own (closing the interrupted connection can race)
_PY4J_LOGGERS = ("", "py4j.java_gateway", "py4j.clientserver")


def stop_streams() -> int:
    """Stop every streaming query of this process's Spark session; how many were running.

    After an interrupt, py4j has closed the interrupted call's connection, and the thread's next call goes to a
    JVM thread with no active session: the session this process created is taken instead.
    """
    if "pyspark" not in sys.modules:
        return 0
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession() or SparkSession._instantiatedSession
    if spark is None:
        return 0
    stopped = 0
    for query in spark.streams.active:
        try:
            query.stop()
            stopped += 1
        except Exception:  # noqa: BLE001 - a query that ends on its own meanwhile
            pass
    return stopped


def advice(error: BaseException, bootstrap: str = "") -> str | None:
    """The message for ``error`` (one or two sentences naming the fix), or None for an error shown as usual."""
    from ..core.errors import KitError

    if isinstance(error, KitError):
        return str(error)
    kind = type(error).__name__
    if kind == "NoBrokersAvailable":
        where = f" (the lessons' broker is KAFKA_BOOTSTRAP_SERVERS={bootstrap})" if bootstrap else ""
        return (f"No Kafka broker answered{where}. Run the setup cell at the top of the notebook again: it starts "
                "the local broker (or run `make broker-start` in a terminal).")
    if isinstance(error, NameError):
        return (f"{error}. If a cell above defines it, that cell has not run in this kernel (a restart forgets "
                "everything): Run > Run All Above Selected Cell, then this cell again. If none does, check the "
                "spelling.")
    if isinstance(error, KeyboardInterrupt):
        stopped = stop_streams()
        queries = (f" The {stopped} streaming quer{'y' if stopped == 1 else 'ies'} still running "
                   f"{'was' if stopped == 1 else 'were'} stopped." if stopped else "")
        return (f"Interrupted.{queries} Run the cell again; if it had already sent records or started a query (a "
                "'# runs once' cell), start the lesson over from the setup cell instead.")
    return None


def _drop_py4j_noise(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith(_PY4J_NOISE)


def running_shell() -> Any:
    """The IPython this code runs in (a notebook's kernel), or None (a plain Python process)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the notebook tools
        return None
    return get_ipython()


def install(bootstrap: str = "") -> bool:
    """Make the running IPython show :func:`advice` for the errors it covers; False outside IPython."""
    shell = running_shell()
    if shell is None:
        return False
    for name in _PY4J_LOGGERS:  # a logger's filter sees what is logged to that logger itself
        logger = logging.getLogger(name)
        if _drop_py4j_noise not in logger.filters:
            logger.addFilter(_drop_py4j_noise)

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> Any:
        said = advice(value, bootstrap)
        if said is None:
            return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb  # what %tb prints
        shell._showtraceback(etype, value, [f"{etype.__name__}: {said}", _FULL])
        return None

    from kafka.errors import NoBrokersAvailable

    from ..core.errors import KitError

    shell.set_custom_exc((KitError, NoBrokersAvailable, NameError, KeyboardInterrupt), handler)
    return True
