"""etl_lib.traces without a JVM: generation, hand-written traces, checking a prediction, the round's score and the
paper set (the engine's answers are tested in tests/integration/test_traces_engine.py)."""

from __future__ import annotations

import pytest

from etl_lib.exercises.__main__ import main as exercises_main
from etl_lib.traces import (FAMILIES, Answer, BatchAnswer, check, generate, generate_set, make_trace, normal_rows,
                            paper, score_round)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_generates_a_trace_ending_quiet(family):
    for seed in range(20):
        trace = generate(family, seed)
        assert 4 <= len(trace.batches) <= 8 and trace.batches[-1] == ()
        assert any(trace.batches[:-1]), "a trace has events"
        assert generate(family, seed) == trace
        if FAMILIES[family].kind == "join":
            assert {e.side for b in trace.batches for e in b} <= {"L", "R"}


def test_window_traces_bring_events_around_the_watermark():
    """Over many seeds the generator places events behind the watermark and in empty batches, so the rules bite."""
    traces = [generate("tumbling-append", seed) for seed in range(40)]
    assert sum(1 for t in traces if any(b == () for b in t.batches[:-1])) >= 5
    # an event older than an event of an earlier batch: out of order, the raw material of late rows
    def out_of_order(t):
        newest = None
        for batch in t.batches:
            if newest is not None and any(e.minute < newest for e in batch):
                return True
            newest = max([newest or 0] + [e.minute for e in batch])
        return False
    assert sum(out_of_order(t) for t in traces) >= 20


def test_students_get_their_own_traces():
    assert generate_set(4, "ana") != generate_set(4, "marko")
    assert generate_set(4, "ana") == generate_set(4, "ana")
    assert [t.family.name for t in generate_set(3, families=["dedup"])] == ["dedup"] * 3


def test_unknown_family_is_named():
    with pytest.raises(ValueError, match="unknown trace family 'tumbling'"):
        generate("tumbling")
    with pytest.raises(ValueError, match="only a window family"):
        make_trace("dedup", {"delay": 5}, [["a@12:00"]], mode="update")


def _answer():
    trace = make_trace("tumbling-append", {"window": 10, "delay": 5}, [["a@12:01", "b@12:12"], ["c@12:24"]])
    return Answer(trace, [BatchAnswer([], "12:07", 2), BatchAnswer([], "12:19", 3),
                          BatchAnswer([("12:00", 1), ("12:10", 1)], "12:19", 1)])


def test_check_names_the_first_wrong_batch_field_and_rule():
    ans = _answer()
    right = [{"rows": [], "watermark": "12:07", "state": 2}, {"rows": [], "watermark": "12:19", "state": 3},
             {"rows": [["12:10", 1], ["12:00", 1.0]], "watermark": "12:19", "state": 1}]  # JSON lists, any order
    assert check(ans, right).ok and check(ans, right).right == 9
    early = [dict(right[0]), {**right[1], "rows": [("12:00", 1)]}, right[2]]
    verdict = check(ans, early)
    assert (verdict.batch, verdict.field, verdict.right) == (1, "rows", 8)
    assert "Append mode emits a window once" in verdict.rule and "batch 1, rows" in verdict.text()
    wrong_mark = check(ans, [{**right[0], "watermark": "12:12"}] + right[1:])
    assert (wrong_mark.batch, wrong_mark.field) == (0, "watermark") and "minus the delay" in wrong_mark.rule
    assert check(ans, []).batch == 0 and check(ans, [None, 5, "x"]).right == 0


def test_rows_are_normalised_before_comparing():
    assert normal_rows([["b", 2.0], ("a", None)]) == [("a", None), ("b", 2)]
    assert normal_rows(None) == [] and normal_rows(["12:00"]) == [("12:00",)]


def test_score_round_and_paper():
    ans = _answer()
    scores = score_round({"tumbling-append": ans}, {})
    assert scores.loc["tumbling-append"].tolist() == [0, 9, "not answered"]
    questions, answers = paper([ans], "ana")
    assert "batch 1: c@12:24" in questions and "12:10" not in questions.split("batch 2")[-1]
    assert "batch 2: emits [(12:00, 1), (12:10, 1)]; watermark after: 12:19; state rows: 1" in answers


def test_traces_command_refuses_bad_arguments(capsys):
    assert exercises_main(["traces", "--family", "tumbling"]) == 2
    assert "unknown family tumbling; the families are: tumbling-append" in capsys.readouterr().err
    assert exercises_main(["traces", "--count", "0"]) == 2
