"""Replaying the simulated world into a sink: :func:`generate` in the caller's thread, :func:`start_replay` in another.

A replay in a background thread is what a live lesson, a soak test or a crash
test runs while Spark reads.

>>> import threading
>>> Replay(threading.Thread(target=lambda: None), threading.Event()).finished
False
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from etl_lib.core.settings import Settings, duration_seconds, get_settings

from .answer_key import build_answer_key
from .records import GenParams, Simulation
from .sinks import KafkaSink, ReplayStopped, pace

__all__ = ["Replay", "generate", "start_replay", "write_answer_key"]


def generate(
    params: GenParams,
    sink: Any,
    *,
    speedup: float | None = None,
    progress: Callable[[float, int], None] | None = None,
    windows: tuple[str, str] | None = None,
    stop: threading.Event | None = None,
) -> dict[str, Any]:
    """Simulate ``params``, send every record to ``sink`` (KafkaSink or FilesSink), return the answer key.

    ``progress(fraction_of_period, records_sent)`` is called every few thousand records.
    ``windows``: the analytics' (``WINDOW_DURATION_MEDIUM``, ``WINDOW_DURATION_LONG``), for
    example ``("15 minutes", "1 hour")``; by default those of the current settings.
    ``stop``: when set (from another thread), the replay ends early; what was sent
    is flushed and :class:`ReplayStopped` says how many records that was (the
    answer key would describe records never sent, so none is returned).
    """
    sim = Simulation(params)
    total = sim.steps * 300.0
    n = 0
    try:
        for d in pace(sim.deliveries(), speedup, stop=stop):
            sink.send(d)
            n += 1
            if progress is not None and n % 5000 == 0:
                progress(min(1.0, d.at / total), n)
    except ReplayStopped:
        raise ReplayStopped(n) from None
    finally:
        sink.close()
    if progress is not None:
        progress(1.0, n)
    if windows is None:
        s = get_settings()
        windows = (s.window_duration_medium, s.window_duration_long)
    return build_answer_key(sim, timedelta(seconds=duration_seconds(windows[0])),
                            timedelta(seconds=duration_seconds(windows[1])))


def _finite(value: Any) -> Any:
    """NaN and infinities (a mean over nothing) as null: the file stays valid JSON for every parser."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_answer_key(path: Path | str, key: dict[str, Any]) -> Path:
    """Write the answer key as stable, readable JSON (sorted keys: same run, same bytes; strict JSON, no NaN)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(key), indent=2, sort_keys=True, allow_nan=False) + "\n")
    return path


@dataclass
class Replay:
    """A data_gen replay running in a background thread; :meth:`stop` ends it early and joins the thread.

    ``result`` holds ``answer_key`` and ``sent`` when everything was sent, only
    ``sent`` after a stop, and ``error`` when the replay failed (for example an
    unreachable broker), raised again by :meth:`join`.
    """

    thread: threading.Thread
    stop_event: threading.Event
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """True when the whole simulation was sent."""
        return "answer_key" in self.result

    @property
    def answer_key(self) -> dict[str, Any]:
        """The answer key of a replay that sent everything (call :meth:`join` first)."""
        return self.result["answer_key"]

    def join(self, timeout: float | None = None) -> "Replay":
        """Wait for the thread (up to ``timeout`` seconds); raise the replay's error if it failed."""
        self.thread.join(timeout)
        if "error" in self.result:
            raise self.result["error"]
        return self

    def stop(self) -> None:
        """Stop sending (a no-op after the end) and wait for the thread; never raises."""
        self.stop_event.set()
        self.thread.join()

    def __enter__(self) -> "Replay":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_replay(params: GenParams, settings: Settings, speedup: float | None = None, *,
                 sink: Any = None) -> Replay:
    """Replay ``params`` into the settings' topics in a thread, ``speedup`` times faster than simulated time.

    ``speedup=3600`` plays a simulated hour per wall second; None sends as fast
    as the sink takes records.  ``sink`` defaults to a kafka-python
    :class:`~data_gen.sinks.KafkaSink` on the settings' broker and topics.  The
    thread is never a daemon: :meth:`Replay.stop` (or leaving a ``with`` block)
    ends and joins it, also after an error in the caller.
    """
    stop = threading.Event()
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            out = sink or KafkaSink(settings.kafka_bootstrap_servers, settings.kafka_topics, settings=settings)
            result["answer_key"] = generate(params, out, speedup=speedup, stop=stop,
                                            windows=(settings.window_duration_medium, settings.window_duration_long))
            result["sent"] = sum(out.report.sent.values())
        except ReplayStopped as stopped:
            result["sent"] = stopped.sent
        except Exception as err:  # noqa: BLE001 - handed to the caller by join()
            result["error"] = err

    thread = threading.Thread(target=run, name="data_gen replay")
    thread.start()
    return Replay(thread, stop, result)
