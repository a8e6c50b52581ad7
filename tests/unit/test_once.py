"""A lesson cell marked "# runs once" says so when run again instead of doing its work twice (issue 41, item 2)."""

from __future__ import annotations

import pytest

from etl_lib.lab import once

IPython = pytest.importorskip("IPython")

SEND = "# runs once: sends 3 records\nsent.extend([1, 2, 3])\nprint(len(sent))\n"


@pytest.fixture()
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    assert once.install()
    once.forget()
    sh.user_ns["sent"] = []
    yield sh
    once.forget()


def test_a_marked_cell_runs_once_then_says_how_to_start_over(shell, capsys):
    shell.run_cell(SEND)
    shell.run_cell(SEND)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "3" and shell.user_ns["sent"] == [1, 2, 3]
    assert out[1].startswith("This cell already ran (sends 3 records)") and "Restart Kernel and Run All" in out[1]


def test_a_failed_or_edited_cell_and_a_new_setup_run_again(shell, capsys):
    failing = "# runs once: sends\nsent.append(1)\nraise RuntimeError('no broker')\n"
    shell.run_cell(failing)
    shell.run_cell(failing)  # the first run did not finish: it may run again
    assert shell.user_ns["sent"] == [1, 1]
    shell.run_cell(SEND)
    shell.run_cell(SEND.replace("3]", "3, 4]"))  # edited: a new cell
    assert shell.user_ns["sent"][-7:] == [1, 2, 3, 1, 2, 3, 4]
    once.forget()  # what setup() does
    shell.run_cell(SEND)
    assert shell.user_ns["sent"][-3:] == [1, 2, 3] and len(shell.user_ns["sent"]) == 12


def test_unmarked_cells_run_every_time(shell):
    for _ in range(2):
        shell.run_cell("sent.append(0)  # runs once? no: the mark must be the first line\n")
    assert shell.user_ns["sent"] == [0, 0]
