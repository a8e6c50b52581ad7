# ---
# jupyter:
#   jupytext:
#     formats: ipynb,lessons//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 15 · Predict the batch
#
# **You will learn to**
#
# - answer the exam's trace question: for each micro-batch, the rows a query emits, the watermark after the batch
#   and the rows it holds in state
# - apply the rule Spark 4.2 uses for late rows, which is not the one in the guide's own example
# - read the picture of a batch: events, windows, the watermark and what was emitted
# - practise on traces made for you, with the answer computed by Spark and the first wrong batch explained
#
# **Prerequisites:** notebooks 06 (windows and watermarks), 11 (output modes, joins, deduplication) and 13 (state)\
# **Time:** about 30 minutes

# %%
from etl_lib.lab import setup, spark_session

lesson = setup("15", kafka=False)
s = lesson.settings
spark = spark_session(s)

# %% tags=["parameters"]
student: str = ""  # your id: the practice traces below become your own
practice_family: str = "tumbling-append"  # one of the eight families listed at the end
practice_seed: int = 2

# %% [markdown]
# ## How the kit answers a trace
#
# A trace is a small query and a few batches of events. The kit never works the answer out by hand: it writes
# each batch of the trace to a JSON file, and runs the real query on Spark over those files with
# `maxFilesPerTrigger=1` and an available-now trigger, so each file is one micro-batch. `foreachBatch` hands it
# the rows each batch emits, and each batch's progress record says the watermark the batch ran with and the rows
# in state after it (`stateOperators[].numRowsTotal`). One more empty file follows the trace: its batch reports the
# watermark the last batch left. Everything below comes from `etl_lib.traces`.
#
# ## The guide's example, run on Spark 4.2
#
# Spark's Structured Streaming guide explains watermarks with one example: words counted in 10-minute windows
# sliding every 5 minutes, with a 10-minute watermark. It says that after `(12:14, dog)` the watermark for the
# next trigger is 12:04, that `(12:09, cat)` still counts, and that once the watermark is 12:11 "all subsequent
# data (e.g. `(12:04, donkey)`) is considered "too late" and therefore ignored". Here is that example, each of the
# guide's triggers one batch, in update mode.

# %% tags=["shows:guide-example"]
from etl_lib.traces import answer, answer_lines, make_trace, table

guide_batches = [["dog@12:07", "owl@12:08"], ["dog@12:14", "cat@12:09"],
                 ["cat@12:15", "dog@12:08", "owl@12:13", "owl@12:21"], ["donkey@12:04", "owl@12:17"]]
guide = {"window": 10, "slide": 5, "delay": 10, "by_id": 1}
update = answer(spark, make_trace("sliding-update", guide, guide_batches), s.data_dir)
append = answer(spark, make_trace("sliding-update", guide, guide_batches, mode="append"), s.data_dir)
for mode, got in (("update", update), ("append", append)):
    print(f"{mode} mode:", *answer_lines(got), sep="\n  ")

# %% [markdown]
# Each row is (window start, word, count). The watermark after batch 1 is 12:04 and after batch 2
# is 12:11, as the guide says, and the cat at 12:09 counts in 12:00–12:10 and 12:05–12:15. But in batch 3 the
# donkey at 12:04 is **not** ignored: update mode emits 11:55–12:05 and 12:00–12:10 for it, with count 1 each, and
# append mode emits both windows in that batch with the donkey in them.
#
# The reason is in Spark's source, `WatermarkPropagator.scala`: *"We use watermark for previous microbatch to
# determine late events."* The change (SPARK-40925) gave each stateful operator two watermarks, so that one query
# can chain stateful operators; the guide's sentence is older. Two watermarks act in each batch:
#
# - **closing** (evicting state, append output) uses the watermark the batch **runs with**: a window closes at the
#   end of the first batch that runs with a watermark at or past its end;
# - **dropping a row as late** uses the watermark the **previous batch ran with**: a row is dropped only when its
#   window's end is at or behind that watermark.
#
# Batch 3 runs with 12:11, but batch 2 ran with 12:04; the donkey's windows end at 12:05 and 12:10, both after
# 12:04, so the donkey counts, and both windows close at the end of batch 3. One batch later it would be dropped.

# %% tags=["shows:late-by-previous"]
late = make_trace("tumbling-append", {"window": 10, "delay": 5},
                  [["a@12:01", "b@12:12"], ["c@12:24"], ["d@12:08"], ["e@12:09", "f@12:26"]])
late_answer = answer(spark, late, s.data_dir)
table(late_answer)

# %% [markdown]
# `d` at 12:08 arrives in batch 2, which runs with watermark 12:19, far past its window's end (12:10). Batch 1 ran
# with 12:07, before that end, so the window was still open: `d` counts and the window closes in batch 2 with
# count 2. `e` at 12:09 comes one batch later: its window closed at the end of batch 2, so it is dropped, and the
# progress record counts one row dropped by the watermark.
#
# ## A worked trace, and its picture
#
# Tumbling 10-minute windows, a 5-minute watermark, append mode. Read the events batch by batch and decide before
# you look at the table: what does each batch emit, where is the watermark after it, how many windows are held?

# %% tags=["shows:worked-append"]
from etl_lib.trace_plots import draw_trace
from etl_lib.traces import generate

worked = generate("tumbling-append", seed=15)
print(worked.describe())
worked_answer = answer(spark, worked, s.data_dir)
table(worked_answer)

# %% [markdown]
# - Batch 0: `a` and `b` set the watermark to 12:08 − 5 = 12:03. Nothing closes.
# - Batch 1 brings nothing: the watermark stays 12:03, and no window ends by then.
# - Batch 2 runs with 12:03; `e` at 12:03 is exactly at it, but its window 12:00–12:10 is open, so it counts. The
#   watermark moves to 12:16 − 5 = 12:11.
# - Batch 3 runs with 12:11: 12:00–12:10 closes and is emitted with `a`, `b` and `e`. `h` at 11:54 is dropped: the
#   end of its window, 12:00, is behind 12:03, the watermark batch 2 ran with.
# - Batch 4 runs with 12:18: `j` at 12:00 is dropped, since its window's end, 12:10, is behind 12:11, the watermark
#   batch 3 ran with (the window closed at the end of batch 3).
# - Batch 5 brings nothing, yet emits 12:10–12:20: it runs with 12:24, which the events of batch 4 left.
#
# In the picture each panel is one batch: the events so far (the batch's own larger, a red cross for a dropped
# one), the windows as bands (emitted in this batch, still in state, out of state), the watermark after the batch as a
# line, and what the batch emitted.

# %%
figure = draw_trace(worked_answer)

# %% [markdown]
# ## A left outer join, when the null row comes out
#
# Trips started (left) and ended (right) joined by id when the end is within 5 minutes of the start, each side
# with a 5-minute watermark. A matched pair comes out in the batch its second row arrives; a left row without a
# partner waits until the watermark shows no right row can still come. With two inputs the query's watermark is
# the minimum of theirs: after batch 0 it is 12:07, the left side's (12:12 − 5), not the right side's 12:10.

# %% tags=["shows:worked-join"]
join = generate("join-left", seed=6)
print(join.describe())
join_answer = answer(spark, join, s.data_dir)
table(join_answer)

# %%
figure = draw_trace(join_answer)

# %% [markdown]
# `c` (12:19) has no partner, and `d` (12:22) none either. Batch 2 brings nothing and leaves the watermark at
# 12:10, so nothing comes out there. Batch 4 is the first to run with 12:30: a partner for `c` would have to end by
# 12:24 and one for `d` by 12:27, both behind it, so both come out with nulls. The state rows count both sides.
#
# ## Your prediction, checked
#
# Write, for each batch, `rows` (a list of tuples, as the table shows them), `watermark` ("HH:MM", or None while
# there is none) and `state`. The check names the first wrong batch and field and quotes the rule that decides it.
# Below, a prediction of the worked trace that emits each window as soon as it has a count.

# %% tags=["shows:check-prediction"]
from etl_lib.trace_plots import draw_batch
from etl_lib.traces import check

too_early = [{"rows": [], "watermark": "12:03", "state": 1},
             {"rows": [("12:00", 2)], "watermark": "12:03", "state": 1}]
verdict = check(worked_answer, too_early)
print(verdict.text())

# %%
axes = draw_batch(worked_answer, verdict.batch)

# %% [markdown]
# Now a trace of your own: `practice_family` and `practice_seed` (and `student`) choose it. Write your prediction
# in `mine` (one dict per batch) and run the cell; leave it empty to see the question only.

# %% tags=["shows:practice"]
from etl_lib.lab import mixed_seed

practice = generate(practice_family, mixed_seed(practice_seed, student))
print(practice.describe(), "\neach emitted row:", practice.family.rows)
mine = []  # e.g. [{"rows": [], "watermark": "12:01", "state": 2}, ...]
if mine:
    print(check(answer(spark, practice, s.data_dir), mine).text())
else:
    print("Write your prediction in `mine`, then run this cell again.")

# %% [markdown]
# ## Four rules, each on a trace of its own
#
# Short traces for the rules the exam asks most: an empty batch that emits in append mode; a join's state, which
# holds the rows of both sides, matched or not; `dropDuplicatesWithinWatermark`, which forgets an id at the end of
# the first batch that runs with a watermark at or past its event time plus the delay (a copy arriving in that very
# batch is still dropped); a join whose right side has had no events yet, so the query has no watermark.

# %% tags=["shows:four-rules"]
rule_traces = {
    "an empty batch emits (append)": make_trace(
        "tumbling-append", {"window": 10, "delay": 5}, [["a@12:03", "b@12:08"], ["c@12:16"], []]),
    "a join's state holds both sides": make_trace(
        "join-left", {"delay": 5, "bound": 10}, [["L:a@12:00", "L:b@12:04", "R:a@12:03"]]),
    "dedup forgets an id (delay 10)": make_trace(
        "dedup", {"delay": 10}, [["a@12:00"], ["b@12:20"], ["a@12:21", "c@12:21"], ["a@12:22"]]),
    "a join with one quiet side": make_trace(
        "join-inner", {"delay": 5, "bound": 5}, [["L:a@12:00"], ["L:b@12:10"], ["L:c@12:20"], ["R:c@12:22"]]),
}
rule_answers = {name: answer(spark, trace, s.data_dir) for name, trace in rule_traces.items()}
for name, got in rule_answers.items():
    print(name, *(f"{line}   <- {', '.join(e.text() for e in batch) or 'no events'}"
                  for line, batch in zip(answer_lines(got), got.trace.batches)), sep="\n  ")

# %% [markdown]
# In the dedup trace, batch 2 runs with 12:10, the first row of `a` plus the delay: the copy `a@12:21` is dropped
# in that batch, and `a` is forgotten at its end (2 ids held: `b`, `c`), so `a@12:22` in batch 3 comes out as new.
# In the last trace the watermark stays unset while only the left side has events: with two inputs it is the
# minimum of theirs.

# %% [markdown]
# ## One trace of each family
#
# Every family the kit generates, with the engine's answers and the picture of up to three batches that emit or
# drop something. `python -m etl_lib exercises traces --student ID --count 10` prints a set like this for practice
# on paper, the answers on a page of their own.

# %% tags=["shows:trace-families"]
from etl_lib.traces import FAMILIES

import matplotlib.pyplot as plt

family_answers = {name: answer(spark, generate(name, seed=1), s.data_dir) for name in FAMILIES}
for name, got in family_answers.items():
    print(f"--- {got.trace.describe()}")
    print(table(got).drop(columns=["events"]).to_string())
    telling = [n for n, b in enumerate(got.batches) if b.rows or b.dropped][:3]  # up to three that emit or drop
    draw_trace(got, batches=telling or [len(got.batches) - 1])
    plt.show()  # each family's picture under its table

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. A windowed count in append mode has a 10-minute watermark. Batch 4 runs with watermark 12:20; batch 3 ran
# with 12:06. An event at 12:08 arrives in batch 4, in the window 12:00–12:10. Is it counted, and when is that
# window emitted?**
#
# <details><summary>Answer</summary>
#
# It is counted: a row is dropped as late only when its window's end is at or behind the watermark the previous
# batch ran with, and batch 3 ran with 12:06, before the window's end. Batch 4 runs with 12:20, past 12:10, so the window closes at the
# end of batch 4 and append mode emits it there, with the 12:08 event in its count.
#
# </details>
#
# **2. The last batch of a trace has no events. Can it emit anything in append mode? In update mode?**
#
# <details><summary>Answer</summary>
#
# In append mode, yes: it runs with the watermark the previous batch left, which may have passed the end of open
# windows; they close and are emitted in the empty batch. In update mode, no: nothing changed in that batch, so
# there is nothing to emit (the windows only leave the state).
#
# </details>
#
# **3. In a left outer join with watermarks on both sides, only the left stream receives events for a while. Why
# do left rows without a partner not come out with nulls?**
#
# <details><summary>Answer</summary>
#
# The query's watermark is the minimum of the two inputs' watermarks, and the right side's does not move without
# right events. The null row waits until the watermark shows no right row can still match, so it waits for the
# right stream too.
#
# </details>

# %%
assert [b.watermark for b in update.batches[1:3]] == ["12:04", "12:11"], (
    f"expected the guide's watermarks 12:04 and 12:11, found {[b.watermark for b in update.batches]}")
assert ("12:00", "donkey", 1) in update.batches[3].rows, f"expected the donkey counted in batch 3: {update.batches[3]}"
assert [b.dropped for b in late_answer.batches] == [0, 0, 0, 1, 0], [b.dropped for b in late_answer.batches]
assert late_answer.batches[2].rows == [("12:00", 2)], late_answer.batches[2].rows
assert verdict.batch == 1 and verdict.field == "rows", verdict.text()
assert rule_answers["dedup forgets an id (delay 10)"].batches[3].rows == [("a", "12:22")]
assert [b.watermark for b in rule_answers["a join with one quiet side"].batches[:3]] == [None, None, None]
print("The guide's watermarks hold; the donkey counts; a row is late only behind the previous batch's watermark: "
      "True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - The watermark after a batch is the newest event time so far minus the delay; the next batch runs with it, and an empty batch leaves it unchanged (→ *The guide's example, run on Spark 4.2*) [15#guide-example]
# - A window closes, leaves the state and is emitted in append mode at the end of the first batch that runs with a watermark at or past its end (→ *A worked trace, and its picture*) [15#worked-append]
# - A row is dropped as late only when its window's end is at or behind the watermark the previous batch ran with; a row behind the current watermark whose window was still open counts (→ *The guide's example, run on Spark 4.2*) [15#late-by-previous] [15#guide-example]
# - A left outer join's null row comes out when the watermark, the minimum of both sides', shows no partner can still come (→ *A left outer join, when the null row comes out*) [15#worked-join]
# - The kit's answers come from Spark, one file per micro-batch; check your prediction against them (→ *Your prediction, checked*) [15#check-prediction]
# - Update emits only the windows that changed in the batch; complete emits every window in every batch and keeps them all in state (→ *One trace of each family*) [15#trace-families]
# - `dropDuplicatesWithinWatermark` forgets an id at the end of the first batch that runs with a watermark at or past its event time plus the delay (→ *Four rules, each on a trace of its own*) [15#four-rules]
# - A join's state counts the rows of both sides; its watermark is the minimum of both inputs', unset until both have had events (→ *Four rules, each on a trace of its own*) [15#worked-join] [15#four-rules]

# %% [markdown]
# **Further reading**
#
# - docs/traces.md (reading a trace, the rules, the common wrong answers)
# - Spark's Structured Streaming guide: handling late data and watermarking; output modes

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 14_arbitrary_state_and_real_time](14_arbitrary_state_and_real_time.ipynb) | [contents](README.md) | [16_exam_review →](16_exam_review.ipynb)
