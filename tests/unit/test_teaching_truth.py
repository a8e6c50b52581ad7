"""Sentences the kit once taught and that are wrong for the pinned Spark 4.2 and Kafka 4: they must not come back.

Each entry is a phrase as it stood in a lesson, a doc page or the question bank,
and the rule that replaced it (issue 27). The text is compared with line breaks,
comment marks and case folded, so a reflowed paragraph is still found.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

WRONG = {
    # 1. AQE plans stateless streaming queries since Spark 4.1; only stateful ones run without it.
    "spark does not use it in streaming queries": "AQE: stateless streaming yes, stateful no",
    "aqe does not act on streaming queries at all": "AQE: stateless streaming yes, stateful no",
    "spark disables aqe in streaming queries": "AQE: stateless streaming yes, stateful no",
    "disables adaptive query execution for streaming queries": "AQE: stateless streaming yes, stateful no",
    "it is disabled for streaming queries": "AQE: stateless streaming yes, stateful no",
    "why streaming does not use it": "AQE: stateless streaming yes, stateful no",
    "aqe is off in streaming queries": "AQE: stateless streaming yes, stateful no",
    "spark does not use adaptive query execution in streaming queries": "AQE: stateless streaming yes, stateful no",
    # 2. dropDuplicatesWithinWatermark keeps an id until watermark > first event time + delay.
    "until the watermark passes the event time of its first copy": "dedup state lives until first time + delay",
    "once the watermark passes the event time of its first copy": "dedup state lives until first time + delay",
    "its first copy's event time (bounded state; a copy later than the delay slips": "dedup: + delay; copies",
    "a copy arriving later than the watermark delay would slip through": "exact copies never slip through",
    "keeps every record id until the watermark passes it,": "dedup state lives until first time + delay",
    # 3. Two rules for late: the kit deduplicates first, so a row at or behind the watermark is dropped.
    "late means older than the watermark *and* its window closed": "the rule depends on the operator",
    # 4. A deleted checkpoint with a kept output loses batches; it does not duplicate them.
    "[x] it reads the topic from the start again and writes every record a second time": "the sink skips them",
    "can write every record a second time": "the file sink skips batch ids its log has",
    # 5. Lesson 12.
    "all four accepted: `orders` with either `acks`": "three accepted, one refused",
    "executors resolve from maven central": "the driver resolves spark.jars.packages",
    # 6. The kit's producers are idempotent: a retry after a lost ack does not duplicate.
    "a producer retry after a lost acknowledgement does this": "duplicates come from replays or new sessions",
    "a producer retry sends one bike trip twice": "duplicates come from replays or new sessions",
    "(`duplicate_fraction`: a producer retry after a lost acknowledgement)": "replays or new sessions",
    "a producer that retries after a lost acknowledgement sends a record again": "replays or new sessions",
    # 7.
    "more shuffle partitions or kafka partitions for parallelism": "a stateful query's checkpoint fixes them",
    "three times less noisy": "relative noise falls by the square root of 3",
    "as frequent and three times smoother": "relative noise falls by the square root of 3",
    "and the query falls further behind as input grows": "falling behind needs process rate < input rate",
    "memory grows steadily in a long-running windowed query. which change helps most?": "unbounded state",
    "sometimes less than 1,000,000: updates are lost when threads interleave": "needs a read-call-write window",
    # 8.
    "spark has four triggers": "five in Spark 4.2, with real-time",
    "the console and memory sinks and kafka accept all three": "the memory sink: append and complete",
    "after the session timeout if it crashed;": "a member that stops polling leaves after max.poll.interval.ms",
    "not by the window length": "about 1 + delay / length windows per key are open",
    "not the window's length": "about 1 + delay / length windows per key are open",
    "the stored ones are a sample student's": "the stored quiz cell gives no answer away",
    "on time, 5 seconds after it opened, by the timer's tick": "the kit's windows are aligned to the clock",
}

SOURCES = [*ROOT.glob("docs/**/*.md"), *ROOT.glob("notebooks/lessons/*.py"), ROOT / "exercises" / "questions.md",
           *ROOT.glob("exercises/source/*.py"), ROOT / "README.md", ROOT / "tools" / "lessons.py"]


def _folded(text: str) -> str:
    """Lower case, comment marks and line breaks gone: a sentence reads the same however it is wrapped."""
    text = re.sub(r"(?m)^\s*#\s?", "", text)
    return re.sub(r"\s+", " ", text).lower()


@pytest.fixture(scope="module")
def corpus() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): _folded(p.read_text()) for p in SOURCES if p.is_file()}


@pytest.mark.parametrize("phrase", sorted(WRONG))
def test_an_old_wrong_sentence_does_not_come_back(phrase, corpus):
    found = [name for name, text in corpus.items() if _folded(phrase) in text]
    assert not found, f"{phrase!r} is back in {found}; the true rule: {WRONG[phrase]}"


def test_the_search_finds_a_sentence_wrapped_over_comment_lines():
    wrapped = "# Spark has four\n# triggers: processing-time"
    assert _folded("spark has four triggers") in _folded(wrapped)
