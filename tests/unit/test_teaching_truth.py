"""Sentences the kit once taught and that are wrong for the pinned Spark 4.2 and Kafka 4: they must not come back.

Each entry is a phrase as it stood in a lesson, a doc page or the question bank,
and the rule that replaced it (issues 27 and 37). The text is compared with line breaks,
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
    # 9. Issue 37.
    # Real-time mode in 4.2: the allowlist (RealTimeModeAllowlist) has BroadcastHashJoinExec and the console,
    # memory, foreach and Kafka sinks; aggregations and stream-stream joins are refused.
    "aggregations, joins and file sinks are outside real-time mode's allow list": "broadcast stream-static joins pass",
    "aggregations, joins and file sinks are refused": "broadcast stream-static joins pass",
    "writes only to kafka or `foreach` sinks (not files)": "Kafka, foreach, console and memory sinks",
    "it refuses aggregations, joins and file sinks in 4.2": "broadcast stream-static joins pass",
    "a real-time query with an aggregation, a join or a file sink": "a stream-stream join; a static join passes",
    "stateless queries, kafka or `foreach` sinks only in 4.2": "Kafka, foreach, console and memory sinks",
    "kafka source; kafka or `foreach` sink; update output mode": "Kafka, foreach, console and memory sinks",
    "agregacije, join-ovi i file sink-ovi se odbijaju": "join sa broadcast statičnom tabelom prolazi",
    # A batch longer than the trigger only means batches run back to back; falling behind is process < input rate.
    "a batch longer than the interval means the query is falling behind": "falling behind: process rate < input",
    "bars above the trigger line mean the query is falling behind": "falling behind: process rate < input",
    "batches longer than the trigger interval mean the query is falling behind": "process rate < input rate",
    "a query that keeps up has its bars below the line": "keeping up is about rates, not bar heights",
    "the next starts at once and the query is falling behind": "falling behind: process rate < input rate",
    "the next starts at once: the query is falling behind": "falling behind: process rate < input rate",
    "the next one starts at once: the query is falling behind": "falling behind: process rate < input rate",
    "bars above the line for batch after batch: the query is falling behind": "process rate < input rate",
    "the next starts at once (falling behind)": "falling behind: process rate < input rate",
    "sledeći počinje odmah i upit zaostaje": "upit zaostaje kada obrađuje sporije nego što zapisi pristižu",
    "aqe acts only on batch queries": "AQE: batch and stateless streaming yes, stateful no",
    # The kit's minibatch_collector: windows aligned to the clock, closed by idle ticks.
    "a batch is closed by time: when 5 seconds (`minibatch_window_seconds`) have passed since it opened":
        "windows aligned to the clock",
    "the producer spreads records (sticky partitioning)": "kafka-python 2.3: a random available partition",
    "because its memory is bounded and off the": "rocksdb.boundedMemoryUsage defaults to false",
    "that was the whole truth for spark 3": "continuous processing since Spark 2.3",
    # Batch N commits state version N + 1; the schema sits in state/<op>/0/_metadata/schema.
    "stores commit (state/*/n)": "batch N writes state version N + 1",
    "the operator's name, partitions and state schema": "the schema is under <partition 0>/_metadata/schema",
    "one state variable (value, list, map, timers)": "timers: readRegisteredTimers, not with stateVarName",
    "(in python, `transformwithstateinpandas`): a `statefulprocessor`": "pyspark has transformWithState too",
    "`spark_master`: `local[*]` on a laptop": "the kit's default is local[4]",
    "`spark_master`: `local[*]` na laptopu": "the kit's default is local[4]",
    # Real-time mode: Scala and Java in 4.1, Python's trigger(realTime=...) in 4.2 (SPARK-54660).
    "since release 4.1, `trigger(realtime=": "Python since 4.2",
    "`trigger(realtime=...)` (since release 4.1)": "Python since 4.2",
    "(`trigger(realtime=\"5 minutes\")`, since release 4.1)": "Python since 4.2",
    "since release 4.1 there is also real-time mode": "Python since 4.2",
    "since release 4.1 real-time mode processes": "Python since 4.2",
    "and, since release 4.1, **real-time**": "Python since 4.2",
    # The seed's normal exit waits in work_queue.join(); the risks are Ctrl+C, exceptions, a lost task_done.
    "a daemon thread is killed mid-batch when the program exits": "queue.join() protects the normal exit",
    "[x] it is cut off mid-write when the interpreter exits": "queue.join() protects the normal exit",
    "daemon threads are killed at exit. a graceful shutdown": "queue.join() protects the normal exit",
    "the seed's daemon threads are killed mid-batch when the main thread exits": "queue.join() protects it",
    "daemon threads are killed when the main thread exits, even in the middle of a batch": "on Ctrl+C, not always",
    "plus `sleep` (work lost at exit, guessing)": "queue.join() protects the normal exit",
    "daemon niti iz seed-a se ubijaju usred batch-a kada glavna nit izađe": "queue.join() štiti normalan izlaz",
    "or a compacted topic), or write with": "compaction is lazy and keeps at least the last value per key",
    "each batch's inserts and updates": "the change feed has update and delete only",
    "shows what each batch inserted, updated and deleted": "the change feed has update and delete only",
    # Serbian (docs/sr and the Odgovor lines of explain.md).
    "kit za učenje": "komplet za učenje",
    "svih 34 pojma": "sva 34 pojma",
    "modelom odgovora": "uzorni odgovor",
    "i model odgovora": "uzorni odgovor",
    "proveravanje okruženja": "provera okruženja",
    "prekidač funkcije": "prekidač funkcionalnosti",
    "prilagodljivo izvršavanje upita": "adaptivno izvršavanje upita",
    "najbolje uklapanje opadajuće": "najbolje uklapanje uz opadajuće sortiranje",
    "i presek vrednosti": "snimak stanja",
    "ispravni plus odbačeni": "karantin ne odbacuje",
    "zaključena ili promenljiva šema": "automatski određena šema",
    "duži je jeftiniji i sporiji": "duži je jeftiniji, a rezultati stižu kasnije",
    "a sledeći počinje gde je poslednji završen stao": "grammar",
    "koje bi `corr()` nad celom tabelom trebao": "grammar",
    "a njihovi čitaoci u update režimu uzimaju": "moraju da uzmu",
    "prozori koji se završavaju pre watermark-a su konačni": "at or before: jednak ili raniji",
    "| spajanje dva toka (stream–stream join) | stream–stream join | `etl_lib.analytics.create_combined":
        "union-then-window is not a join",
}

SOURCES = [*ROOT.glob("docs/**/*.md"), *ROOT.glob("notebooks/lessons/*.py"), ROOT / "exercises" / "questions.md",
           ROOT / "exercises" / "explain.md", *ROOT.glob("exercises/source/*.py"), ROOT / "README.md",
           ROOT / "tools" / "lessons.py", ROOT / "tools" / "serbian.py"]


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
