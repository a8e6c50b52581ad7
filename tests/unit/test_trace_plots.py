"""The picture of a batch (etl_lib.trace_plots), drawn from answers written out by hand: no Spark, no JVM.

The tumbling-window and the first session answer are what Spark 4.2 answered for those events (copied from a
run of traces.answer); the sliding, join and second session answers are made up around one late event each.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from etl_lib import trace_plots as P  # noqa: E402
from etl_lib.traces import FAMILIES, Answer, BatchAnswer, Event, Trace, minutes  # noqa: E402


def _event(text: str) -> Event:
    side, rest = (text[0], text[2:]) if text[:2] in ("L:", "R:") else ("", text)
    ident, _, time = rest.partition("@")
    return Event(ident, minutes(time), side)


def _answer(family: str, params: dict[str, int], batches: list[str], answers: list[tuple]) -> Answer:
    """``batches``: each batch's events as "id@HH:MM" (or "L:id@HH:MM") separated by spaces;
    ``answers``: (rows, watermark after, state, dropped, ran with) per batch."""
    trace = Trace(FAMILIES[family], params, tuple(tuple(_event(t) for t in b.split()) for b in batches))
    return Answer(trace, [BatchAnswer(list(rows), wm, state, dropped, ran) for rows, wm, state, dropped, ran in answers])


# Spark's answer: k@12:07 in batch 4 is late (its window ends 12:10, batch 3 ran with 12:10).
TUMBLING = _answer("tumbling-append", {"delay": 10, "window": 10},
                   ["a@12:04", "b@12:12 c@11:53", "d@12:20 e@12:02", "f@12:26 g@12:12",
                    "i@12:33 h@12:33 j@12:34 k@12:07", ""],
                   [([], "11:54", 1, 0, None), ([], "12:02", 3, 0, "11:54"), ([("11:50", 1)], "12:10", 3, 0, "12:02"),
                    ([("12:00", 2)], "12:16", 2, 0, "12:10"), ([], "12:24", 3, 1, "12:16"),
                    ([("12:10", 2)], "12:24", 2, 0, "12:24")])

# c@12:08 is in windows 12:00-12:10 and 12:05-12:15, both closed (batch 1 ran with 12:15): late.
# d@12:13 is in 12:05-12:15 (closed) and 12:10-12:20 (open): counted in the open one, not late.
SLIDING = _answer("sliding-update", {"delay": 5, "window": 10, "slide": 5},
                  ["a@12:20", "b@12:22", "c@12:08 d@12:13", ""],
                  [([("12:15", 1), ("12:20", 1)], "12:15", 2, 0, None),
                   ([("12:15", 2), ("12:20", 2)], "12:17", 2, 0, "12:15"),
                   ([("12:10", 1)], "12:17", 3, 3, "12:17"), ([], "12:17", 3, 0, "12:17")])

# An inner join, bound 10 minutes: R:c@11:58 arrives in batch 3, behind the watermark batch 2 ran with (12:00).
JOIN = _answer("join-inner", {"delay": 5, "bound": 10},
               ["L:a@12:02", "R:a@12:05 L:b@12:10", "R:b@12:15", "R:c@11:58 L:d@12:20", ""],
               [([], None, 1, 0, None), ([("a", "12:02", "12:05")], "12:00", 3, 0, None),
                ([("b", "12:10", "12:15")], "12:05", 4, 0, "12:00"), ([], "12:10", 3, 1, "12:05"),
                ([], "12:10", 3, 0, "12:10")])

# Spark's answer for session windows, gap 10 minutes.
SESSION = _answer("session", {"delay": 5, "gap": 10},
                  ["v@12:18 u@12:11", "v@12:20 u@12:29", "u@12:47 v@12:33", "v@12:42", "u@13:00 v@12:44 u@12:40", ""],
                  [([], "12:13", 2, 0, None), ([], "12:24", 3, 0, "12:13"),
                   ([("u", "12:11", "12:21", 1)], "12:42", 4, 0, "12:24"),
                   ([("u", "12:29", "12:39", 1), ("v", "12:18", "12:30", 2)], "12:42", 2, 0, "12:42"),
                   ([], "12:55", 3, 0, "12:42"), ([("v", "12:33", "12:54", 3)], "12:55", 2, 0, "12:55")])

# Session windows, gap 5: u@12:06 in batch 3 would open [12:06, 12:11], closed before batch 2 ran (12:15).
SESSION_LATE = _answer("session", {"delay": 5, "gap": 5}, ["u@12:00", "u@12:20", "u@12:09", "u@12:06", ""],
                       [([], "11:55", 1, 0, None), ([], "12:15", 2, 0, "11:55"),
                        ([("u", "12:00", "12:05", 1), ("u", "12:09", "12:14", 1)], "12:15", 1, 0, "12:15"),
                        ([], "12:15", 1, 1, "12:15"), ([], "12:15", 1, 0, "12:15")])


@pytest.fixture(autouse=True)
def _close_what_the_test_made():
    before = set(plt.get_fignums())
    yield
    for number in set(plt.get_fignums()) - before:
        plt.close(number)


@pytest.fixture
def ax():
    return plt.subplots(figsize=(8, 5))[1]


def _by_gid(ax, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def _watermark_x(ax) -> float:
    (line,) = _by_gid(ax, "watermark")
    return line.get_xdata()[0]


def _crosses(ax) -> list[tuple[float, float]]:
    found = _by_gid(ax, "late")
    return [tuple(xy) for xy in found[0].get_offsets()] if found else []


def _emits(ax) -> str:
    (text,) = _by_gid(ax, "emits")
    return text.get_text()


def _bands(ax, status: str) -> list:
    return _by_gid(ax, f"band-{status}")


# ---------------------------------------------------------------- windows

def test_window_trace_has_a_panel_per_batch_and_one_legend():
    fig = P.draw_trace(TUMBLING)
    assert len(fig.axes) == 6
    assert 10 <= fig.get_figwidth() <= 12
    assert len(fig.legends) == 1 and all(a.get_legend() is None for a in fig.axes)
    assert len(P.draw_trace(TUMBLING, batches=[2, 4]).axes) == 2
    assert len(P.draw_trace(TUMBLING, batches=[0, 1, 2, 3], columns=2).axes) == 4


def test_window_batch_shows_watermark_late_cross_and_what_it_emits(ax):
    P.draw_batch(TUMBLING, 4, ax=ax)
    assert _watermark_x(ax) == minutes("12:24")
    assert _by_gid(ax, "ran_with")[0].get_xdata()[0] == minutes("12:16")
    ((x, y),) = _crosses(ax)
    assert x == minutes("12:07") and abs(y - 4) < 0.5
    assert P.late_events(TUMBLING, 4) == [Event("k", minutes("12:07"))]
    assert _emits(ax).startswith("emits: nothing") and "1 row(s) dropped as late" in _emits(ax)
    assert ax.get_title(loc="left").replace("\n", " ") == \
        "batch 4: ran with watermark 12:16; after it: 12:24; state rows 3"
    # After batch 4: 11:50-12:00 and 12:00-12:10 closed, three windows still in state, as the engine counts.
    assert len(_bands(ax, "closed")) == 2 and len(_bands(ax, "open")) == TUMBLING.batches[4].state


def test_window_batch_marks_the_emitted_window(ax):
    P.draw_batch(TUMBLING, 3, ax=ax)
    assert _emits(ax) == "emits: (12:00, 2)"
    (emitted,) = _bands(ax, "emitted")
    assert emitted.get_x() == minutes("12:00") and emitted.get_width() == 10
    assert _crosses(ax) == []  # g@12:12 and f@12:26 are in time


def test_windows_counted_per_id_get_lanes_per_id(ax):
    # The guide's words, counted per word in sliding windows: a row is (window start, id, count).
    guide = _answer("sliding-update", {"window": 10, "slide": 5, "delay": 10, "by_id": 1},
                    ["dog@12:07 owl@12:08", "dog@12:14 cat@12:09", ""],
                    [([("12:00", "dog", 1), ("12:00", "owl", 1), ("12:05", "dog", 1), ("12:05", "owl", 1)],
                      "11:58", 4, 0, None),
                     ([("12:00", "cat", 1), ("12:05", "cat", 1), ("12:05", "dog", 2), ("12:10", "dog", 1)],
                      "12:04", 7, 0, "11:58"), ([], "12:04", 7, 0, "12:04")])
    P.draw_batch(guide, 1, ax=ax)
    assert [t.get_text() for t in ax.get_yticklabels()][-3:] == ["cat", "dog", "owl"]
    assert len(_bands(ax, "emitted")) == 4 and len(_bands(ax, "open")) == 3  # dog 12:00, owl 12:00 and 12:05
    assert sum(b.status == "open" or b.status == "emitted" for b in P._bands(guide, 1)) == guide.batches[1].state


def test_late_rule_uses_the_watermark_the_previous_batch_ran_with():
    # Batch 3 ran with 12:10 = the end of k's window, but the rule looks at batch 3 only for batch 4's rows.
    assert [P.late_events(TUMBLING, n) for n in range(6)] == [[], [], [], [], [Event("k", 727)], []]
    assert P.late_events(SLIDING, 2) == [Event("c", minutes("12:08"))]  # every window closed: late
    # d@12:13: one window closed, one open: counted, no cross


def test_complete_mode_marks_nothing_late():
    complete = Answer(Trace(FAMILIES["tumbling-complete"], TUMBLING.trace.params, TUMBLING.trace.batches),
                      TUMBLING.batches)
    assert P.late_events(complete, 4) == []


# ---------------------------------------------------------------- joins

def test_join_panels_watermark_late_right_row_and_pairs(ax):
    assert len(P.draw_trace(JOIN).axes) == 5
    P.draw_batch(JOIN, 3, ax=ax)
    assert _watermark_x(ax) == minutes("12:10")
    ((x, y),) = _crosses(ax)
    assert x == minutes("11:58") and abs(y - 3) < 0.5
    assert _emits(ax).startswith("emits: nothing")
    assert len(_bands(ax, "closed")) == 2 and len(_bands(ax, "open")) == 1  # a, b output earlier; d waits
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "dropped as too late (approx.)" in labels


def test_join_batch_draws_the_pair_it_emits(ax):
    P.draw_batch(JOIN, 1, ax=ax)
    assert _emits(ax) == "emits: (a, 12:02, 12:05)"
    (pair,) = _by_gid(ax, "pair")
    assert list(pair.get_xdata()) == [minutes("12:02"), minutes("12:05")]
    assert not _by_gid(ax, "ran_with")  # batch 0 had rows on one side only: no watermark yet
    assert _watermark_x(ax) == minutes("12:00")


# ---------------------------------------------------------------- sessions

def test_session_panels_emitted_sessions_and_watermark(ax):
    assert len(P.draw_trace(SESSION).axes) == 6
    P.draw_batch(SESSION, 3, ax=ax)
    assert _watermark_x(ax) == minutes("12:42")
    assert _emits(ax) == "emits: (u, 12:29, 12:39, 1), (v, 12:18, 12:30, 2)"
    assert sorted(b.get_x() for b in _bands(ax, "emitted")) == [minutes("12:18"), minutes("12:29")]
    assert _crosses(ax) == []


def test_open_sessions_match_the_engines_state():
    for n, batch in enumerate(SESSION.batches):
        assert sum(b.status == "open" for b in P._bands(SESSION, n)) == batch.state, n


def test_session_late_event_is_crossed(ax):
    P.draw_batch(SESSION_LATE, 3, ax=ax)
    ((x, y),) = _crosses(ax)
    assert x == minutes("12:06") and abs(y - 3) < 0.5
    assert _watermark_x(ax) == minutes("12:15")
    assert P.late_events(SESSION_LATE, 2) == []  # u@12:09 opens [12:09, 12:14], after 11:55: in time


# ---------------------------------------------------------------- the figure as a whole

def test_every_text_is_readable_and_output_is_deterministic():
    fig = P.draw_trace(SESSION)
    first = io.BytesIO()
    fig.savefig(first, format="png", dpi=60)
    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    assert sizes and min(sizes) >= 8
    again = io.BytesIO()
    P.draw_trace(SESSION).savefig(again, format="png", dpi=60)
    assert first.getvalue() == again.getvalue()


def test_draw_trace_makes_one_figure_and_draw_batch_uses_the_given_axes(ax):
    before = plt.get_fignums()
    fig = P.draw_trace(JOIN)
    assert plt.get_fignums() == before + [fig.number]  # one new pyplot figure (a notebook shows it), none closed
    assert P.draw_batch(JOIN, 2, ax=ax) is ax and plt.get_fignums() == before + [fig.number]


def test_draw_batch_without_axes_makes_a_figure_with_a_legend():
    ax = P.draw_batch(SLIDING, 2)
    assert ax.get_legend() is not None
    ((x, _),) = _crosses(ax)
    assert x == minutes("12:08")


def test_a_batch_outside_the_answer_is_refused(ax):
    with pytest.raises(IndexError):
        P.draw_batch(TUMBLING, 6, ax=ax)
