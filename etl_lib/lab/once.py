"""Cells that must not run twice: a lesson cell whose first line is ``# runs once: ...`` (it sends records, starts a
query, deletes a checkpoint) runs once per run of the lesson.

Run a second time in the same kernel, its records would be sent twice and every count below it would be off, far
from the cell that caused it.  So ``setup()`` installs a guard in the notebook's IPython: once such a cell has run
to the end, running the same text again prints one line saying it already ran and how to start the lesson over,
and does nothing else.  A cell that failed or was interrupted is not guarded (what it did before it stopped is not
known: the message of :mod:`~etl_lib.lab.cell_errors` says to start the lesson over when it had sent records); an
edited cell is a new cell; running the setup cell again starts the lesson over (it empties the lesson's topics
and folders) and forgets which cells ran.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

__all__ = ["MARK", "START_OVER", "already_ran", "forget", "install"]

#: The end of a lesson check's message: the usual cause of a failed check, and the way out.
START_OVER = ("a cell above ran twice or out of order, or the broker was restarted meanwhile; run the lesson again "
              "from the setup cell (Kernel > Restart Kernel and Run All Cells)")

MARK = re.compile(r"^#\s*runs once\b:?\s*(?P<what>.*)$")
_ran: set[str] = set()


def _marked(text: str) -> re.Match[str] | None:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return MARK.match(first)


def _key(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def already_ran(what: str) -> str:
    """The one line a second run of a ``# runs once`` cell prints."""
    did = f" ({what})" if what else ""
    return (f"This cell already ran{did}; running it again would do it twice. To start the lesson over, run it "
            "from the setup cell: Kernel > Restart Kernel and Run All Cells.")


def forget() -> None:
    """Forget which cells ran (``setup()`` does, as it starts the lesson over)."""
    _ran.clear()


def _guard(lines: list[str]) -> list[str]:
    text = "".join(lines)
    mark = _marked(text)
    if mark is None or _key(text) not in _ran:
        return lines
    return [f"print({already_ran(mark['what'])!r})\n"]


def _remember(result: Any) -> None:
    text = getattr(result.info, "raw_cell", None) or ""
    if result.success and _marked(text):
        _ran.add(_key(text))


def install() -> bool:
    """Guard ``# runs once`` cells in the running IPython; False outside IPython."""
    from .cell_errors import running_shell

    shell = running_shell()
    if shell is None:
        return False
    if _guard not in shell.input_transformers_post:
        shell.input_transformers_post.append(_guard)
        shell.events.register("post_run_cell", _remember)
    return True
