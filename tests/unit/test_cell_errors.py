"""A lesson cell that fails the way a student makes it fail prints one message with the fix (issue 41, item 3)."""

from __future__ import annotations

import logging

import pytest

from etl_lib.lab import cell_errors

IPython = pytest.importorskip("IPython")


@pytest.fixture()
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    assert cell_errors.install("127.0.0.1:9092")
    yield sh
    sh.set_custom_exc((), None)
    for name in cell_errors._PY4J_LOGGERS:
        logging.getLogger(name).removeFilter(cell_errors._drop_py4j_noise)


def run(shell, capsys, code: str) -> str:
    shell.run_cell(code)
    return capsys.readouterr().out


def test_a_name_from_an_earlier_cell_says_run_the_cells_above(shell, capsys):
    said = run(shell, capsys, "send(1)")
    assert "NameError: name 'send' is not defined" in said and "Run All Above Selected Cell" in said
    assert "Traceback" not in said and "%tb" in said


def test_no_broker_says_run_the_setup_cell(shell, capsys):
    said = run(shell, capsys, "from kafka.errors import NoBrokersAvailable\nraise NoBrokersAvailable()")
    assert "No Kafka broker answered" in said and "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092" in said
    assert "setup cell" in said


def test_a_kit_error_is_its_own_message(shell, capsys):
    said = run(shell, capsys, "from etl_lib.core.errors import ConfigError\n"
                              "raise ConfigError('WINDOW_DURATION_MEDIUM=\"15 minuts\" is not a duration')")
    assert said.splitlines()[0] == "ConfigError: WINDOW_DURATION_MEDIUM=\"15 minuts\" is not a duration"


def test_an_interrupt_says_what_was_stopped_and_what_to_do(shell, capsys):
    said = run(shell, capsys, "raise KeyboardInterrupt")
    assert said.startswith("KeyboardInterrupt: Interrupted.") and "Run the cell again" in said


def test_other_errors_and_the_full_traceback_stay_as_ipython_shows_them(shell, capsys):
    assert "Traceback (most recent call last)" in run(shell, capsys, "1/0")
    run(shell, capsys, "send(1)")
    full = run(shell, capsys, "%tb")
    assert "Traceback (most recent call last)" in full and "NameError" in full


def test_py4js_log_of_an_interrupted_call_stays_out_of_the_cell(shell):
    record = logging.LogRecord("root", logging.ERROR, __file__, 1, "KeyboardInterrupt while sending command.", None,
                               None)
    assert not logging.getLogger().filter(record)
    other = logging.LogRecord("root", logging.ERROR, __file__, 1, "something else", None, None)
    assert logging.getLogger().filter(other)
    closing = logging.LogRecord("py4j.clientserver", logging.ERROR, __file__, 1,
                                "Exception occurred while shutting down connection", None, None)
    assert not logging.getLogger("py4j.clientserver").filter(closing)
