"""The picture of a batch: what a trace's events, windows and watermark look like after each micro-batch.

:func:`draw_batch` draws one batch of an :class:`~etl_lib.traces.Answer` on an event-time axis:

* every event of batches 0..n as a point, one row per batch (batch 0 on top), coloured by the batch that
  brought it (batch n's points large, earlier ones pale), its id beside it; for a join, left rows are circles
  and right rows squares;
* a red cross on each event dropped as too late: its window ended at or before the watermark the *previous*
  batch ran with (for sliding windows: every one of its windows had); for a deduplication or a join its event
  time is at or before that watermark; for session windows the session it opens, [t, t + gap], ended there
  (joins and sessions: the rule read in Spark's source, not checked against the engine's counts, hence
  "approx." in the legend).  Complete mode drops nothing;
* a strip of bands below the rows: the windows the events touched, coloured by their state after batch n
  (emitted by this batch, open in state, closed), for a deduplication the time each emitted id is remembered
  ([t, t + delay]), for session windows the sessions the engine emitted (and the ones still open, worked out
  from the events), for a join the range [lt, lt + bound] each left row can match;
* the watermark after batch n as a solid line (the area behind it shaded) and the one batch n ran with as a
  dashed line;
* the rows batch n emitted, written under the plot, and the engine's numbers in the title.

:func:`draw_trace` lays the batches out as small multiples with one legend.  Everything is computed from
the answer (nothing random, no timestamps), so the same answer gives the same picture; it works with the Agg
backend and never calls ``plt.show``.

>>> from etl_lib.traces import generate, Answer, BatchAnswer
>>> t = generate("tumbling-append", seed=2)
>>> late_events(Answer(t, [BatchAnswer([], None, 0)] * len(t.batches)), 1)  # no watermark yet: nothing late
[]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from .traces import Answer, Event, hhmm, minutes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["draw_batch", "draw_trace", "late_events", "BATCH_COLORS", "STATUS_COLORS"]

# tab10 without its red (kept for "dropped as late") and its grey (kept for "closed").
BATCH_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
# A band's state after the batch: (face, edge).
STATUS_COLORS = {"emitted": ("#ffd166", "#b07d00"), "open": ("#cfe3f5", "#3f78a8"), "closed": ("#e4e4e4", "#9a9a9a")}
LATE_COLOR = "#d62728"
WATERMARK_COLOR = "#222222"

_FONT = 8.5     # every text in the picture is at least 8 pt
_ROW_GAP = 0.9  # from the last batch row to the first band lane
_LANE = 0.75    # one band lane


def _mark(value: str | None) -> int | None:
    return None if value is None else minutes(value)


def _previous_mark(answer: Answer, b: int) -> int | None:
    """The watermark the batch before ``b`` ran with: an event at or behind it (window end, event time) is late."""
    return _mark(answer.batches[b - 1].ran_with) if b > 0 else None


def _window_starts(minute: int, params: dict[str, int]) -> list[int]:
    """The starts of the windows an event at ``minute`` falls in (one for tumbling windows, window/slide for
    sliding ones); windows are aligned to whole multiples of the slide."""
    window = params["window"]
    slide = params.get("slide") or window
    start, out = (minute // slide) * slide, []
    while start + window > minute:
        out.append(start)
        start -= slide
    return sorted(out)


def _is_late(answer: Answer, b: int, event: Event) -> bool:
    fam, p = answer.trace.family, answer.trace.params
    prev = _previous_mark(answer, b)
    if prev is None or (fam.kind == "window" and fam.mode == "complete"):
        return False
    if fam.kind == "window":
        return all(start + p["window"] <= prev for start in _window_starts(event.minute, p))
    if fam.kind == "session":
        return event.minute + p["gap"] <= prev
    return event.minute <= prev  # dedup and join: the event time itself


def late_events(answer: Answer, n: int) -> list[Event]:
    """The events of batch ``n`` the picture marks as dropped as too late (see the module's rule)."""
    return [e for e in answer.trace.batches[n] if _is_late(answer, n, e)]


def _duplicates(answer: Answer, n: int) -> list[bool]:
    """For a deduplication: which events of batch ``n`` were dropped as duplicates (neither late nor emitted)."""
    left = [tuple(str(v) for v in row[:2]) for row in answer.batches[n].rows]
    out = []
    for e in answer.trace.batches[n]:
        key = (e.id, hhmm(e.minute))
        if _is_late(answer, n, e):
            out.append(False)
        elif key in left:
            left.remove(key)
            out.append(False)
        else:
            out.append(True)
    return out


# ---------------------------------------------------------------- the bands

@dataclass
class _Band:
    lo: int
    hi: int
    status: str  # "emitted", "open" or "closed"
    label: str
    lane: int = 0
    group: str = ""  # the id whose lanes the band is in (sessions, windows counted per id), named on the y axis


def _pack(spans: list[tuple[int, int]]) -> list[int]:
    """A lane for each (lo, hi), in the given order, so that bands in one lane do not overlap."""
    ends: list[int] = []
    lanes = []
    for lo, hi in spans:
        for i, end in enumerate(ends):
            if lo >= end:
                ends[i] = hi
                lanes.append(i)
                break
        else:
            ends.append(hi)
            lanes.append(len(ends) - 1)
    return lanes


def _window_bands(answer: Answer, n: int) -> list[_Band]:
    """One band per window (per window and id when the trace counts per id: a row is then (start, id, count))."""
    fam, p = answer.trace.family, answer.trace.params
    window = p["window"]
    slide = p.get("slide") or window
    per_id = bool(p.get("by_id"))
    ran = _mark(answer.batches[n].ran_with)
    emitted = {(minutes(str(row[0])), str(row[1]) if per_id else ""): row[-1] for row in answer.batches[n].rows}
    keys = sorted({(s, e.id if per_id else "") for b in range(n + 1) for e in answer.trace.batches[b]
                   for s in _window_starts(e.minute, p)} | set(emitted))
    ids = sorted({e.id for batch in answer.trace.batches for e in batch} | {k[1] for k in emitted}) if per_id else [""]
    lanes = max(1, window // slide)
    bands = []
    for s, ident in keys:
        if (s, ident) in emitted:
            status, label = "emitted", f"{emitted[(s, ident)]}"
        elif fam.mode != "complete" and ran is not None and s + window <= ran:
            status, label = "closed", ""
        else:
            status, label = "open", ""
        bands.append(_Band(s, s + window, status, label, ids.index(ident) * lanes + (s // slide) % lanes, ident))
    return bands


def _dedup_bands(answer: Answer, n: int) -> list[_Band]:
    delay = answer.trace.params["delay"]
    ran = _mark(answer.batches[n].ran_with)
    kept = [(b, str(row[0]), minutes(str(row[1]))) for b, ba in enumerate(answer.batches) for row in ba.rows]
    lanes = _pack([(t, t + delay) for _, _, t in sorted(kept, key=lambda k: (k[2], k[1]))])
    lane_of = {k: lane for k, lane in zip(sorted(kept, key=lambda k: (k[2], k[1])), lanes)}
    bands = []
    for b, ident, t in kept:
        if b > n:
            continue
        status = "emitted" if b == n else ("closed" if ran is not None and t + delay <= ran else "open")
        bands.append(_Band(t, t + delay, status, ident, lane_of[(b, ident, t)]))
    return bands


def _session_sessions(answer: Answer, n: int) -> list[_Band]:
    """The sessions after batch ``n``: those the engine emitted, and the ones still open, worked out from the
    events (each event not late and not in an emitted session, merged with the next when it starts within the
    gap), each in a lane of its own id (``lane`` counts within the id)."""
    gap = answer.trace.params["gap"]
    emitted = [(b, str(r[0]), minutes(str(r[1])), minutes(str(r[2])), r[3])
               for b in range(n + 1) for r in answer.batches[b].rows]
    bands = [_Band(s, e, "emitted" if b == n else "closed", f"{ident}·{count}", group=ident)
             for b, ident, s, e, count in emitted]
    for ident in sorted({e.id for batch in answer.trace.batches for e in batch}):
        times = sorted(e.minute for b in range(n + 1) for e in answer.trace.batches[b]
                       if e.id == ident and not _is_late(answer, b, e)
                       and not any(i == ident and s <= e.minute and e.minute + gap <= end and b <= when
                                   for when, i, s, end, _ in emitted))
        sessions: list[list[int]] = []
        for t in times:
            if sessions and t <= sessions[-1][1]:
                sessions[-1][1] = max(sessions[-1][1], t + gap)
                sessions[-1][2] += 1
            else:
                sessions.append([t, t + gap, 1])
        bands += [_Band(s, e, "open", f"{ident}·{count}", group=ident) for s, e, count in sessions]
    out = []
    for ident in sorted({b.group for b in bands}):
        mine = sorted((b for b in bands if b.group == ident), key=lambda b: (b.lo, b.hi))
        for band, lane in zip(mine, _pack([(b.lo, b.hi) for b in mine])):
            band.lane = lane
        out += mine
    return out


def _session_bands(answer: Answer, n: int) -> list[_Band]:
    """:func:`_session_sessions` with each id's lanes at the same height in every batch of the trace."""
    need: dict[str, int] = {}
    for k in range(len(answer.batches)):
        for band in _session_sessions(answer, k):
            need[band.group] = max(need.get(band.group, 0), band.lane + 1)
    base, start = 0, {}
    for ident in sorted(need):
        start[ident] = base
        base += need[ident]
    bands = _session_sessions(answer, n)
    for band in bands:
        band.lane += start[band.group]
    return bands


def _join_bands(answer: Answer, n: int) -> list[_Band]:
    bound = answer.trace.params["bound"]
    lefts = sorted(((e.minute, e.id, b) for b, batch in enumerate(answer.trace.batches) for e in batch
                    if e.side == "L"), key=lambda k: (k[0], k[1]))
    lanes = _pack([(t, t + bound + 1) for t, _, _ in lefts])  # +1: touching ranges get lanes of their own

    def output(b: int) -> set[tuple[str, str]]:
        return {(str(r[0]), str(r[1])) for r in answer.batches[b].rows}

    now, before = output(n), set().union(*(output(b) for b in range(n)))
    bands = []
    for (t, ident, b), lane in zip(lefts, lanes):
        if b > n or _is_late(answer, b, Event(ident, t, "L")):
            continue
        key = (ident, hhmm(t))
        status = "emitted" if key in now else ("closed" if key in before else "open")
        bands.append(_Band(t, t + bound, status, ident, lane))
    return bands


def _bands(answer: Answer, n: int) -> list[_Band]:
    kind = answer.trace.family.kind
    return {"window": _window_bands, "dedup": _dedup_bands, "session": _session_bands,
            "join": _join_bands}[kind](answer, n)


def _status_labels(answer: Answer) -> dict[str, str]:
    fam = answer.trace.family
    if fam.kind == "window":
        if fam.mode == "complete":
            return {"emitted": "window emitted (complete mode: every window, every batch; label: count)",
                    "open": "window in state, not emitted", "closed": "window closed"}
        return {"emitted": "window emitted by this batch (label: count)", "open": "window open (in state)",
                "closed": "window closed (out of state)"}
    if fam.kind == "dedup":
        return {"emitted": "id emitted by this batch: remembered until t + delay",
                "open": "id remembered (in state)", "closed": "id forgotten"}
    if fam.kind == "session":
        return {"emitted": "session emitted by this batch (label: id·count)",
                "open": "session open (in state; worked out from the events)", "closed": "session emitted earlier"}
    return {"emitted": "left row [lt, lt + bound]: output by this batch", "open": "left row: no output yet",
            "closed": "left row: output earlier"}


def _lane_title(answer: Answer) -> str:
    return {"window": "windows", "dedup": "ids kept", "session": "sessions", "join": "left rows"}[
        answer.trace.family.kind]


# ---------------------------------------------------------------- the axes

def _extent(answer: Answer) -> tuple[int, int]:
    """The event-time range every panel of the trace shows: all events, bands and watermarks."""
    xs = [e.minute for batch in answer.trace.batches for e in batch]
    xs += [_mark(m) for b in answer.batches for m in (b.watermark, b.ran_with) if m is not None]
    for n in range(len(answer.batches)):
        for band in _bands(answer, n):
            xs += [band.lo, band.hi]
    lo, hi = (min(xs), max(xs)) if xs else (12 * 60, 12 * 60 + 30)
    return lo - 2, hi + 3


def _tick_step(span: float, width_in: float, steps: tuple[int, ...] = (5, 10, 15, 20, 30, 60)) -> int:
    """Minutes between labelled ticks: "12:05" needs almost half an inch."""
    most = max(3, int(width_in / 0.46))
    return next((s for s in steps if span / s <= most), 120)


def _minute_locator(minor: bool = False, steps: tuple[int, ...] = (5, 10, 15, 20, 30, 60)) -> Any:
    """Ticks on whole minutes, as many as the axis has room for when it is drawn (after the layout)."""
    import math

    from matplotlib.ticker import Locator

    class MinuteLocator(Locator):
        def __call__(self) -> list[float]:
            lo, hi = sorted(self.axis.get_view_interval())
            axes = self.axis.axes
            step = _tick_step(hi - lo, axes.bbox.width / axes.figure.dpi, steps)
            if minor:
                step = 5 if step > 5 else 1
            return [float(m) for m in range(math.ceil(lo / step) * step, int(hi) + 1, step)]

    return MinuteLocator()


def _lanes(answer: Answer) -> int:
    """The most band lanes any batch of the trace needs (so every panel has the same layout)."""
    return max([b.lane + 1 for n in range(len(answer.batches)) for b in _bands(answer, n)] or [1])


def _panel_height(answer: Answer) -> float:
    """Inches for one panel: a third of an inch per batch row and band lane, and room for the texts."""
    return 0.34 * (len(answer.batches) + _ROW_GAP + _lanes(answer) * _LANE) + 1.7


def _groups(answer: Answer) -> dict[str, tuple[int, int]]:
    """For bands in lanes per id: each id's first and last lane (the same in every batch)."""
    out: dict[str, tuple[int, int]] = {}
    for n in range(len(answer.batches)):
        for band in _bands(answer, n):
            if band.group:
                lo, hi = out.get(band.group, (band.lane, band.lane))
                out[band.group] = (min(lo, band.lane), max(hi, band.lane))
    return dict(sorted(out.items()))


def _emits_text(answer: Answer, n: int, width: int) -> str:
    """``emits: (row), (row)`` wrapped at ``width`` characters, never inside a row."""
    rows = ["(" + ", ".join("None" if v is None else str(v) for v in r) + ")" for r in answer.batches[n].rows]
    lines = ["emits:" + ("" if rows else " nothing")]
    for k, row in enumerate(rows):
        piece = " " + row + ("," if k < len(rows) - 1 else "")
        if len(lines[-1]) + len(piece) > max(width, 24) and lines[-1].strip() != "emits:":
            lines.append("      ")
        lines[-1] += piece
    if answer.batches[n].dropped:
        lines.append(f"engine: {answer.batches[n].dropped} row(s) dropped as late")
    return "\n".join(lines)


def _title(answer: Answer, n: int, wrap: bool) -> str:
    b = answer.batches[n]
    sep = "\n" if wrap else " "
    return (f"batch {n}: ran with watermark {b.ran_with or 'none'};{sep}after it: {b.watermark or 'none'}; "
            f"state rows {b.state}")


def _positions(answer: Answer, n: int, near: float = 1.0) -> list[tuple[int, int, Event, float, float]]:
    """(batch, index in the batch, event, x, y) for each event of batches 0..n; events of one batch less than
    ``near`` minutes apart (a cluster) are spread up and down so that none hides another or its label."""
    out = []
    for b in range(n + 1):
        events = sorted(enumerate(answer.trace.batches[b]), key=lambda ie: (ie[1].minute, ie[1].side, ie[1].id))
        clusters: list[list[tuple[int, Event]]] = []
        for i, e in events:
            if clusters and e.minute - clusters[-1][-1][1].minute < near:
                clusters[-1].append((i, e))
            else:
                clusters.append([(i, e)])
        for cluster in clusters:  # in time order, on up to four levels taken in turn: neighbours differ in height
            levels = min(len(cluster), 4)
            half = {1: 0.0, 2: 0.25, 3: 0.32, 4: 0.36}[levels]
            for k, (i, e) in enumerate(cluster):
                level = k % levels
                out.append((b, i, e, float(e.minute),
                            b - half + (2 * half * level / (levels - 1) if levels > 1 else 0)))
    return out


def draw_batch(answer: Answer, n: int, ax: "Axes | None" = None, *, legend: bool = True) -> "Axes":
    """Draw batch ``n`` of ``answer`` (events of batches 0..n, late ones crossed, the windows' state after the
    batch, the watermark, what the batch emitted) on ``ax`` (a new figure when None) and return the axes.

    With ``ax`` None the figure is made with pyplot, as :mod:`etl_lib.plots` does (a notebook shows it at the
    end of the cell); the legend goes to the right of the axes unless ``legend`` is False.
    """
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import FuncFormatter

    count = len(answer.batches)
    if not 0 <= n < count:
        raise IndexError(f"batch {n} is not in the answer (batches 0..{count - 1})")
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.subplots(figsize=(11.0, _panel_height(answer)), layout="constrained")[1]
    fam = answer.trace.family
    lo, hi = _extent(answer)
    lanes = _lanes(answer)
    band_top = count - 1 + _ROW_GAP
    width_in = max(ax.figure.get_figwidth() * ax.get_position().width, 1.0)
    per_inch = (hi - lo) / width_in  # minutes per inch of axis

    # Behind the watermark, and the window boundaries.
    wm, ran = _mark(answer.batches[n].watermark), _mark(answer.batches[n].ran_with)
    if wm is not None:
        ax.axvspan(lo, wm, color="#000000", alpha=0.045, linewidth=0, zorder=0)
    if fam.kind == "window":
        slide = answer.trace.params.get("slide") or answer.trace.params["window"]
        for x in range(lo - lo % slide, hi + 1, slide):
            ax.axvline(x, color="#b0b0b0", linewidth=0.6, linestyle=":", zorder=0)
    ax.axhline(count - 1 + _ROW_GAP / 2, color="#888888", linewidth=0.6, zorder=1)

    # The events.
    dupes = {b: _duplicates(answer, b) for b in range(n + 1)} if fam.kind == "dedup" else {}
    late_xy, late_sizes = [], []
    positions = _positions(answer, n, near=0.3 * per_inch)
    for b, i, e, x, y in positions:
        current = b == n
        color = BATCH_COLORS[b % len(BATCH_COLORS)]
        size = 75 if current else 34
        hollow = dupes[b][i] if dupes else False
        ax.scatter([x], [y], s=size, marker="s" if e.side == "R" else "o", zorder=3, gid=f"event-{b}",
                   facecolors="white" if hollow else color, edgecolors=color if hollow else
                   ("#202020" if current else "none"), linewidths=1.6 if hollow else 0.7,
                   alpha=1.0 if current else 0.45)
        ax.annotate(e.id, (x, y), xytext=(5, 0), textcoords="offset points",
                    va="center", fontsize=_FONT, color="#111111" if current else "#777777", zorder=4)
        if _is_late(answer, b, e):
            late_xy.append((x, y))
            late_sizes.append(140 if current else 70)
    if fam.kind == "join":  # each pair batch n emitted: its left row and its right row, joined by a line
        where = {(e.side, e.id, e.minute): (x, y) for _, _, e, x, y in positions}
        for row in answer.batches[n].rows:
            if row[2] is None:
                continue
            a, b = where.get(("L", str(row[0]), minutes(str(row[1])))), where.get(("R", str(row[0]),
                                                                                   minutes(str(row[2]))))
            if a and b:
                ax.plot([a[0], b[0]], [a[1], b[1]], color=STATUS_COLORS["emitted"][1], linewidth=1.4, zorder=2.5,
                        gid="pair")
    if late_xy:
        ax.scatter([p[0] for p in late_xy], [p[1] for p in late_xy], s=late_sizes, marker="x", color=LATE_COLOR,
                   linewidths=2.0, zorder=5, gid="late")
    for b in range(n + 1):
        if not answer.trace.batches[b]:
            ax.text(lo + 0.5, b, "(no events)", va="center", fontsize=_FONT, style="italic",
                    color="#555555" if b == n else "#999999")

    # The bands.
    for band in _bands(answer, n):
        face, edge = STATUS_COLORS[band.status]
        height = (0.34 if fam.kind == "join" else 0.6) * _LANE
        y = band_top + band.lane * _LANE + (_LANE - height) / 2
        dashed = fam.kind == "session" and band.status == "open"
        ax.add_patch(Rectangle((band.lo, y), band.hi - band.lo, height, facecolor=face, edgecolor=edge,
                               linewidth=1.0, linestyle="--" if dashed else "-", zorder=2, gid=f"band-{band.status}"))
        if band.label:
            inside = fam.kind == "window"
            ax.text((band.lo + band.hi) / 2 if inside else band.lo + 0.3, y + height / 2, band.label,
                    ha="center" if inside else "left", va="center", fontsize=_FONT, zorder=3,
                    color="#111111" if band.status != "closed" else "#666666")

    # The watermarks.
    if ran is not None:
        ax.axvline(ran, color="#777777", linestyle="--", linewidth=1.2, zorder=4, gid="ran_with")
    if wm is not None:
        ax.axvline(wm, color=WATERMARK_COLOR, linewidth=1.8, zorder=4, gid="watermark")
        right = (wm - lo) / (hi - lo) > 0.6
        ax.annotate(f"watermark {hhmm(wm)}", (wm, count - 1 + _ROW_GAP / 2), xytext=(-4 if right else 4, 0),
                    textcoords="offset points", ha="right" if right else "left", va="center", fontsize=_FONT,
                    color=WATERMARK_COLOR, zorder=6, gid="watermark-label",
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})

    # Axes: event time across, batches down.
    ax.set_xlim(lo, hi)
    ax.set_ylim(band_top + lanes * _LANE, -0.6)
    steps = (5, 10, 20, 30, 60) if fam.kind == "window" else (5, 10, 15, 20, 30, 60)  # ticks on window edges
    ax.xaxis.set_major_locator(_minute_locator(steps=steps))
    ax.xaxis.set_minor_locator(_minute_locator(minor=True, steps=steps))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: hhmm(int(round(v)))))
    groups = _groups(answer)  # the ids with lanes of their own, else one name for the strip
    ticks = list(range(count)) + ([band_top + (lo_lane + hi_lane + 1) / 2 * _LANE for lo_lane, hi_lane in
                                   groups.values()] if groups else [band_top + lanes * _LANE / 2])
    labels = [f"batch {b}" for b in range(count)] + (list(groups) if groups else [_lane_title(answer)])
    ax.set_yticks(ticks, labels)
    for b, label in enumerate(ax.get_yticklabels()):
        if b < count and b > n:
            label.set_color("#b0b0b0")
        if b == n:
            label.set_fontweight("bold")
    ax.tick_params(labelsize=_FONT, length=3)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)

    ax.set_title(_title(answer, n, wrap=width_in < 6), fontsize=9.5, loc="left")
    ax.annotate(_emits_text(answer, n, int(width_in * 15)), (0, 0), xycoords="axes fraction",
                xytext=(0, -20), textcoords="offset points", va="top", ha="left", fontsize=_FONT,
                family="monospace", gid="emits")
    if legend:
        ax.legend(handles=_legend_handles(answer, [n]), loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  fontsize=_FONT, frameon=False)
    return ax


def _legend_handles(answer: Answer, shown: Iterable[int]) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fam = answer.trace.family
    shown = list(shown)
    last = max(shown)
    handles: list[Any] = [Line2D([], [], linestyle="none", marker="o", markersize=7,
                                markerfacecolor=BATCH_COLORS[b % len(BATCH_COLORS)], markeredgecolor="none",
                                label=f"event of batch {b}") for b in range(last + 1)
                                if answer.trace.batches[b]]
    if fam.kind == "join":
        handles += [Line2D([], [], linestyle="none", marker="o", color="#555555", label="left row (L)"),
                    Line2D([], [], linestyle="none", marker="s", color="#555555", label="right row (R)")]
        if any(r[2] is not None for n in shown for r in answer.batches[n].rows):
            handles.append(Line2D([], [], color=STATUS_COLORS["emitted"][1], linewidth=1.4,
                                  label="pair emitted by this batch"))
    approx = " (approx.)" if fam.kind in ("join", "session") else ""
    if fam.kind == "window" and fam.mode == "complete":
        pass  # complete mode drops nothing as late
    elif any(late_events(answer, b) for b in range(last + 1)):
        handles.append(Line2D([], [], linestyle="none", marker="x", markersize=8, markeredgewidth=2,
                              color=LATE_COLOR, label=f"dropped as too late{approx}"))
    if fam.kind == "dedup" and any(any(_duplicates(answer, b)) for b in range(last + 1)):
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor="white",
                              markeredgecolor="#555555", markeredgewidth=1.5, label="dropped as a duplicate"))
    handles += [Line2D([], [], color=WATERMARK_COLOR, linewidth=1.8, label="watermark after the batch"),
                Line2D([], [], color="#777777", linestyle="--", linewidth=1.2, label="watermark the batch ran with")]
    used = {band.status for n in shown for band in _bands(answer, n)}
    for status, label in _status_labels(answer).items():
        if status in used:
            face, edge = STATUS_COLORS[status]
            dashed = fam.kind == "session" and status == "open"
            handles.append(Patch(facecolor=face, edgecolor=edge, linestyle="--" if dashed else "-", label=label))
    return handles


def _params_text(answer: Answer) -> str:
    p = answer.trace.params
    names = {"window": "window", "slide": "slide", "delay": "watermark delay", "gap": "gap", "bound": "bound"}
    return ", ".join(f"{names[k]} {p[k]} min" for k in ("window", "slide", "gap", "bound", "delay") if p.get(k))


def draw_trace(answer: Answer, batches: Iterable[int] | None = None, columns: int = 3) -> "Figure":
    """Small multiples: one :func:`draw_batch` panel per batch (or per batch listed), ``columns`` to a row,
    with one legend under them.  The figure is made with pyplot, so a notebook shows it at the end of the cell
    (assign it, ``figure = draw_trace(...)``, or it shows twice); a script saves it with ``fig.savefig`` and
    closes it with ``plt.close(fig)``."""
    import matplotlib.pyplot as plt

    shown = list(range(len(answer.batches)) if batches is None else batches)
    if not shown:
        raise ValueError("no batches to draw")
    columns = max(1, min(columns, len(shown)))
    rows = -(-len(shown) // columns)
    panel = _panel_height(answer)
    fig = plt.figure(figsize=(11.0 if columns > 1 else 8.0, panel * rows + 1.3), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, n in zip(axes, shown):
        draw_batch(answer, n, ax=ax, legend=False)
    for ax in axes[len(shown):]:
        fig.delaxes(ax)
    fig.suptitle(f"{answer.trace.family.title}: {_params_text(answer)}", fontsize=11)
    fig.legend(handles=_legend_handles(answer, shown), loc="outside lower center", ncols=3 if columns > 1 else 2,
               fontsize=_FONT, frameon=False)
    return fig
