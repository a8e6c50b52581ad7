"""Watching a running stream: progress records as a table, a live chart, and the loop that redraws it.

A streaming query reports one progress record per micro-batch (to its listeners as an event, and in
``query.recentProgress``, ``query.lastProgress``): how many rows came in, how
fast they arrived and were processed, how long the batch took, the event-time
watermark, the state it keeps and the rows it wrote.  This module turns those
records into a pandas table and a four-panel chart, and runs the loop a live
lesson needs::

    replay = start_replay(GenParams(days=1, scale=0.1), settings, speedup=3000)
    try:
        records = watch(query, seconds=40, on_batch=lambda r: chart.update(progress_table(r)))
    finally:
        query.stop()
        replay.stop()

The replay (``start_replay``) is data_gen's (:mod:`data_gen.replay`): every
thread it starts is stopped by its ``stop()``, also after an error or a kernel
interrupt in the cell that started it.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming import StreamingQuery


__all__ = ["PROGRESS_COLUMNS", "LiveChart", "ProgressListener", "batch_of_offsets", "draw_progress",
           "progress_records", "progress_table", "stop_when_enough", "watch", "watermark_rule"]

PROGRESS_COLUMNS = ["batch", "seconds", "input_rows", "input_rate", "process_rate", "duration_s",
                    "max_event_time", "watermark", "state_rows", "dropped_by_watermark", "rows_written"]


def _as_dict(record: Any) -> dict[str, Any]:
    """A progress record as plain JSON data (pyspark gives objects that differ between releases)."""
    if isinstance(record, str):
        return json.loads(record)
    text = getattr(record, "json", None)
    if isinstance(text, str):
        return json.loads(text)
    return dict(record)


def progress_table(records: list[Any], rows_written: dict[int, int] | None = None) -> "pd.DataFrame":
    """One row per micro-batch from a query's progress records (``query.recentProgress``).

    ``seconds``: when the batch started, from the first batch's start;
    ``duration_s``: how long it ran (trigger execution); ``max_event_time`` the
    newest event time the batch read (NaT when it read nothing); ``watermark``
    the watermark the batch ran with (NaT before the first one: Spark reports
    1970-01-01); ``state_rows`` rows kept by all stateful operators after the
    batch; ``rows_written`` what the sink reported, or, for a file sink (which
    reports nothing), ``rows_written[batch]`` from
    :func:`etl_lib.commit_log.rows_per_batch`.  Sorted by batch, one row per batch id.
    """
    import pandas as pd

    rows = []
    for raw in records:
        p = _as_dict(raw)
        event = p.get("eventTime") or {}
        state = p.get("stateOperators") or []
        written = (p.get("sink") or {}).get("numOutputRows", -1)
        if rows_written is not None and (written is None or written < 0):
            written = rows_written.get(int(p["batchId"]), 0)
        rows.append({
            "batch": int(p["batchId"]),
            "started": pd.Timestamp(p["timestamp"]),
            "input_rows": int(p.get("numInputRows", 0)),
            "input_rate": float(p.get("inputRowsPerSecond") or 0.0),
            "process_rate": float(p.get("processedRowsPerSecond") or 0.0),
            "duration_s": (p.get("durationMs") or {}).get("triggerExecution", 0) / 1000.0,
            "max_event_time": pd.Timestamp(event["max"]) if "max" in event else pd.NaT,
            "watermark": pd.Timestamp(event["watermark"]) if "watermark" in event else pd.NaT,
            "state_rows": sum(int(op.get("numRowsTotal", 0)) for op in state),
            "dropped_by_watermark": sum(int(op.get("numRowsDroppedByWatermark", 0)) for op in state),
            "rows_written": float(written) if written is not None and written >= 0 else float("nan"),
        })
    if not rows:
        return pd.DataFrame(columns=PROGRESS_COLUMNS)
    table = pd.DataFrame(rows).drop_duplicates("batch", keep="last").sort_values("batch").reset_index(drop=True)
    table["seconds"] = (table["started"] - table["started"].iloc[0]).dt.total_seconds()
    for column in ("max_event_time", "watermark"):
        table[column] = pd.to_datetime(table[column], utc=True).dt.tz_localize(None)
    table.loc[table["watermark"] == pd.Timestamp(0), "watermark"] = pd.NaT  # no watermark yet
    return table[PROGRESS_COLUMNS]


def batch_of_offsets(records: list[Any], topic: Any, partition: Any, offset: Any) -> list[int | None]:
    """The id of the micro-batch that read each Kafka record, from the query's progress records.

    Each progress record names, per source, the offsets the batch read:
    ``startOffset`` (inclusive; null for a query's very first batch, which
    starts at the beginning) to ``endOffset`` (exclusive), per topic and
    partition.  ``topic``, ``partition``, ``offset``: equal-length sequences
    (for example columns of a Kafka batch read); None where no batch read it.
    """
    ranges: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
    for raw in records:
        p = _as_dict(raw)
        for source in p.get("sources") or []:
            start, end = (_offset_map(source.get(k)) for k in ("startOffset", "endOffset"))
            for (t, part), stop in end.items():
                ranges.setdefault((t, part), []).append((start.get((t, part), 0), stop, int(p["batchId"])))
    out: list[int | None] = []
    for t, part, off in zip(topic, partition, offset):
        found = [b for lo, hi, b in ranges.get((str(t), int(part)), []) if lo <= int(off) < hi]
        out.append(min(found) if found else None)
    return out


def _offset_map(value: Any) -> dict[tuple[str, int], int]:
    """A Kafka source's offsets ({topic: {partition: offset}}, or its JSON text) by (topic, partition)."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = json.loads(value)
    return {(t, int(part)): int(off) for t, parts in value.items() for part, off in parts.items()}


def watermark_rule(table: "pd.DataFrame", delay: str) -> "pd.Series":
    """The watermark each batch of :func:`progress_table` runs with by Spark's rule, from the batches before it.

    Newest event time seen in all earlier batches minus ``delay`` (for example
    ``"10 minutes"``); NaT for a batch with no earlier event.  Compare it with
    ``table["watermark"]`` to see the rule hold in a query's own records.
    """
    import pandas as pd

    from ..core.settings import duration_seconds

    newest_before = table["max_event_time"].cummax().ffill().shift(1)  # cummax leaves NaT where a batch read nothing
    return newest_before - pd.Timedelta(seconds=duration_seconds(delay))


def draw_progress(table: "pd.DataFrame", trigger_seconds: float, fig: Any = None, title: str | None = None) -> Any:
    """Four panels from :func:`progress_table`: the charts of the Spark UI's Structured Streaming tab, and more.

    Rates (input rows/s against processed rows/s), batch duration against the
    trigger interval, the newest event time against the watermark, and the rows
    kept in state next to the rows written.  Redraws into ``fig`` when given.
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(11, 7))
    fig.clear()
    rates, durations, times, state = fig.subplots(2, 2).ravel()
    x = table["seconds"]
    rates.plot(x, table["input_rate"], marker=".", label="input rows/s (arriving)")
    rates.plot(x, table["process_rate"], marker=".", label="processed rows/s")
    rates.set_title("Input rate and process rate")
    rates.set_ylabel("rows per second")
    rates.legend(fontsize="small")
    durations.bar(x, table["duration_s"], width=max(trigger_seconds * 0.6, 0.1), color="tab:blue")
    durations.axhline(trigger_seconds, color="tab:red", linestyle="--", label=f"trigger interval {trigger_seconds:g} s")
    durations.set_title("Batch duration (above the line: falling behind)")
    durations.set_ylabel("seconds")
    durations.legend(fontsize="small")
    seen = table.dropna(subset=["max_event_time"])
    times.plot(seen["seconds"], seen["max_event_time"], marker=".", label="newest event time in the batch")
    marked = table.dropna(subset=["watermark"])
    times.step(marked["seconds"], marked["watermark"], where="post", label="watermark")
    times.yaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    times.set_title("Event time against the watermark")
    times.set_ylabel("event time (simulated)")
    times.legend(fontsize="small")
    state.plot(x, table["state_rows"], marker=".", label="rows kept in state")
    if table["rows_written"].notna().any():
        state.plot(x, table["rows_written"], marker=".", label="rows written by the batch")
    state.set_title("State and output")
    state.set_ylabel("rows")
    state.legend(fontsize="small")
    for ax in (durations, state):
        ax.set_xlabel("seconds since the first batch (processing time)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


class LiveChart:
    """A progress chart that redraws in place in Jupyter (one figure, updated through a display handle)."""

    def __init__(self, trigger_seconds: float, title: str | None = None) -> None:
        import matplotlib.pyplot as plt

        self.trigger_seconds = trigger_seconds
        self.title = title
        self.fig = plt.figure(figsize=(11, 7))
        plt.close(self.fig)  # shown only through the handle, not again at the end of the cell
        self._handle = None
        self.redraws = 0

    def update(self, table: "pd.DataFrame") -> None:
        draw_progress(table, self.trigger_seconds, self.fig, self.title)
        self.redraws += 1
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython comes with the notebook tools
            return
        if get_ipython() is None:
            return  # a script or a test: the figure is kept in self.fig, nothing to show
        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)


def _listener_base() -> type:
    from pyspark.sql.streaming import StreamingQueryListener

    return StreamingQueryListener


class ProgressListener:
    """Spark's events about its queries, as they happen: a ``StreamingQueryListener`` that keeps them.

    Registered once per session (:meth:`of`; it hears the queries of that session only), it receives the four
    callbacks Spark makes: ``onQueryStarted`` (the query's id, run id and name), ``onQueryProgress`` (the batch's
    progress record, the one ``recentProgress`` also gets), ``onQueryIdle`` (the query has had no new data for
    ``spark.sql.streaming.noDataProgressEventInterval``) and ``onQueryTerminated`` (with the exception, if the
    query failed).  Each is kept as a plain dict in :attr:`events`, and a condition
    wakes whoever waits in :meth:`wait_for`: :func:`watch` redraws a chart on each progress event instead of
    asking the query over and over.  Callbacks run on Spark's listener thread (through py4j's callback server in
    a classic session), so they only record and notify.
    """

    _by_session: dict[Any, "ProgressListener"] = {}  # by the JVM session's identity
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        base = _listener_base()
        outer = self

        class _Listener(base):  # type: ignore[misc, valid-type]
            def onQueryStarted(self, event: Any) -> None:
                outer._keep({"event": "started", "id": str(event.id), "run_id": str(event.runId),
                             "name": event.name, "timestamp": event.timestamp})

            def onQueryProgress(self, event: Any) -> None:
                progress = json.loads(event.progress.json)
                outer._keep({"event": "progress", "id": progress["id"], "batch": progress["batchId"],
                             "progress": progress})

            def onQueryIdle(self, event: Any) -> None:
                outer._keep({"event": "idle", "id": str(event.id), "timestamp": event.timestamp})

            def onQueryTerminated(self, event: Any) -> None:
                outer._keep({"event": "terminated", "id": str(event.id), "exception": event.exception})

        self.listener = _Listener()

    @classmethod
    def of(cls, spark: "SparkSession") -> "ProgressListener":
        """The session's listener, added to its query manager (``spark.streams.addListener``) on first use."""
        with cls._lock:
            key = spark._jsparkSession.hashCode()  # the same JVM session may come wrapped in new Python objects
            found = cls._by_session.get(key)
            if found is None:
                found = cls._by_session[key] = cls()
                spark.streams.addListener(found.listener)
            return found

    def _keep(self, event: dict[str, Any]) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def of_query(self, query_id: Any, kind: str | None = None) -> list[dict[str, Any]]:
        """The events of one query (by ``query.id``), in arrival order; only one ``kind`` if given."""
        with self.changed:
            return [e for e in self.events if e["id"] == str(query_id) and (kind is None or e["event"] == kind)]

    def wait_for(self, count: int, timeout: float) -> int:
        """Wait until more than ``count`` events are kept or ``timeout`` seconds pass; the number kept."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.events) > count, timeout=max(0.0, timeout))
            return len(self.events)


def watch(query: "StreamingQuery", seconds: float,
          on_batch: Callable[[list[dict[str, Any]]], None] | None = None,
          poll: float = 0.5, stop: threading.Event | None = None) -> list[dict[str, Any]]:
    """Wait up to ``seconds`` while ``query`` runs, calling ``on_batch(records)`` after each new batch.

    ``records`` are all progress records so far (plain dicts, by batch id):
    ``on_batch=lambda r: chart.update(progress_table(r))`` redraws a chart.

    The records arrive as events of the session's :class:`ProgressListener` (Spark calls it after each batch),
    so a batch is seen as soon as it ends; ``poll`` only bounds how long a wait lasts before the stop and the
    deadline are checked again (for a query of another session, which that listener does not hear, it is how
    often ``recentProgress`` is read).  The query's ``recentProgress`` is merged in at the end: it also holds
    the records of triggers that found no new data, which Spark reports with no progress event.  Ends early when the query stops or ``stop`` is set; raises the
    query's error if it failed.  Does not stop the query: the caller does, in a ``finally``.
    """
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession() or SparkSession._instantiatedSession  # the session lessons start
    listener: ProgressListener | None = ProgressListener.of(spark)
    if query._jsq.sparkSession().hashCode() != spark._jsparkSession.hashCode():
        listener = None  # a query of another session: its listener bus is not this one's, so ask the query
    seen: dict[int, dict[str, Any]] = {}
    count = 0
    deadline = time.monotonic() + seconds
    stop = stop or threading.Event()
    while True:
        new = False
        found = (listener.of_query(query.id, "progress") if listener is not None
                 else [{"batch": int(p["batchId"]), "progress": p} for p in progress_records(query)])
        for event in found:
            if event["batch"] not in seen:
                seen[event["batch"]] = event["progress"]
                new = True
        if new and on_batch is not None:
            on_batch([seen[b] for b in sorted(seen)])
        if not query.isActive:
            error = query.exception()
            if error is not None:
                raise error
            break
        if stop.is_set() or time.monotonic() >= deadline:
            break
        wait = min(poll, max(0.0, deadline - time.monotonic()))
        if listener is not None:
            count = listener.wait_for(count, wait)
        else:
            stop.wait(wait)
    return progress_records(query, [seen[b] for b in sorted(seen)])


def progress_records(query: "StreamingQuery", known: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """``known`` plus the query's progress records not in it yet, as plain dicts sorted by batch id.

    Spark keeps only the last ``spark.sql.streaming.numRecentProgressUpdates``
    (100) records; merging at each poll keeps them all.  Call it once more after
    ``query.stop()``: a batch may have finished between the last poll and the stop.
    """
    out = {int(p["batchId"]): p for p in known or []}
    for record in query.recentProgress:
        p = _as_dict(record)
        out.setdefault(int(p["batchId"]), p)
    return [out[b] for b in sorted(out)]


@contextmanager
def stop_when_enough(spark: "SparkSession", seconds: float, min_batches: int = 2,
                     give_up_after: float | None = None) -> Iterator[threading.Event]:
    """An event that is set once ``seconds`` have passed *and* every active query has run ``min_batches``.

    Hand it to ``run_etl(..., stop_event=...)`` to bound a processing-time run
    without cutting a slow query short: under load a query may fit only one
    micro-batch into a fixed time (its first batch also plans and compiles it).
    After ``give_up_after`` seconds (by default 5 x ``seconds``) it is set anyway,
    so a stuck query cannot hang the lesson; the checks after the run show it.
    Leaving the block sets the event and joins the watching thread.
    """
    enough = threading.Event()
    limit = give_up_after if give_up_after is not None else 5 * seconds

    def watch_queries() -> None:
        start = time.monotonic()
        while not enough.wait(0.5):
            queries, waited = spark.streams.active, time.monotonic() - start
            done = waited >= seconds and queries and all(len(q.recentProgress) >= min_batches for q in queries)
            if done or waited >= limit:
                enough.set()

    watcher = threading.Thread(target=watch_queries, name="stop when enough")
    watcher.start()
    try:
        yield enough
    finally:
        enough.set()
        watcher.join()
