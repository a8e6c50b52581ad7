"""For `pytest --nbval notebooks`: one broker on a free port and a temporary DATA_DIR for every kernel.

The notebooks' kernels inherit this process's environment, so setting
KAFKA_BOOTSTRAP_SERVERS and DATA_DIR here points all of them at a broker that
is stopped at the end of the run, and keeps the developer's data/ untouched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_state: dict = {}


def pytest_configure(config):
    if not getattr(config.option, "nbval", False):
        return
    from etl_lib.core.broker import LocalKafka
    from etl_lib.core.kafka import free_port

    tmp = Path(tempfile.mkdtemp(prefix="etl-kit-nbval-"))
    broker = LocalKafka(f"127.0.0.1:{free_port()}", tmp / "broker")
    broker.start()
    _state.update(broker=broker, tmp=tmp)
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
    os.environ["DATA_DIR"] = str(tmp / "data")


def pytest_unconfigure(config):
    broker = _state.pop("broker", None)
    if broker is not None:
        broker.stop()
    tmp = _state.pop("tmp", None)
    if tmp is not None:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
