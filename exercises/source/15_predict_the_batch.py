# %% [markdown]
# # Exercises 15 · Predict the batch
#
# Practice for [notebook 15](../notebooks/15_predict_the_batch.ipynb) and the exam's *predict the batch*
# questions ([docs/traces.md](../docs/traces.md)). Your code is plain Python: it never meets Spark. The check
# runs the very same query on real Spark, one micro-batch per batch, and compares your prediction with what Spark
# did, field by field. Write your code in the cell marked ✏️, then run the check cell below it.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `predict_batches`: what each micro-batch emits, where the watermark is, what the state holds
#
# The query is a count per tumbling window of `window` minutes under a watermark of `delay` minutes, written in
# output mode `mode` (`"append"`, `"update"` or `"complete"`):
#
# ```python
# events.withWatermark("t", f"{delay} minutes").groupBy(window("t", f"{window} minutes")).count()
#     .writeStream.outputMode(mode)
# ```
#
# `batches` is a list of micro-batches, each a list of event times `"HH:MM"` (the last batch has no events: the
# stream goes quiet for one trigger). Return one dict per batch, `{"rows": [(start, count), ...], "watermark":
# "HH:MM", "state": n}`: the rows the batch emits (a window as its start `"HH:MM"`, with its count; any order),
# the watermark after each batch (`None` until a batch with events) and the windows held in state after each
# batch. What Spark (4.2) does:
#
# - The watermark after a batch is the latest event time seen so far minus `delay`; it never moves back, and a
#   batch runs with the watermark the batch before it left.
# - A window closes at the end of the first batch that runs with a watermark at or past its end: append mode
#   emits each window once, when the watermark the batch runs with has reached its end, with its final count.
# - update mode emits only the windows changed in the batch, with their new count.
# - complete mode emits every window in every batch, and keeps them all: no window closes, no row is late.
# - Late rows (append and update): a row whose window ends at or before the watermark the previous batch ran with
#   is dropped; one whose window closes in this batch still counts.
#
# For example, `predict_batches([["12:01", "12:12"], ["12:24", "12:08"], []], window=10, delay=5,
# mode="append")` returns
#
# ```python
# [{"rows": [], "watermark": "12:07", "state": 2},
#  {"rows": [], "watermark": "12:19", "state": 3},
#  {"rows": [("12:00", 2)], "watermark": "12:19", "state": 2}]
# ```
#
# (12:08 arrives in batch 1, which runs with 12:07: its window 12:00–12:10 is still open, so it counts; batch 2
# runs with 12:19 and closes that window.)

# %% tags=["exercise"]
# ✏️ your code
def predict_batches(batches, window, delay, mode):
    ### BEGIN SOLUTION
    def minute(text):
        hours, mins = text.split(":")
        return int(hours) * 60 + int(mins)

    def hhmm(m):
        return None if m is None else f"{m // 60:02d}:{m % 60:02d}"

    newest = None      # the latest event time seen so far
    runs_with = None   # the watermark this batch runs with: the one the batch before left
    ran_before = None  # the watermark the batch before ran with: it decides which rows are too late
    counts = {}        # window start -> count: the windows in state
    out = []
    for batch in batches:
        changed = set()
        for t in map(minute, batch):
            start = t - t % window
            if mode != "complete" and ran_before is not None and start + window <= ran_before:
                continue  # its window closed at the end of the batch before
            counts[start] = counts.get(start, 0) + 1
            changed.add(start)
        closed = {s for s in counts if runs_with is not None and s + window <= runs_with}
        emitted = {"append": closed, "update": changed, "complete": set(counts)}[mode]
        rows = [(hhmm(s), counts[s]) for s in sorted(emitted)]
        if mode != "complete":
            for s in closed:
                del counts[s]
        if batch:
            newest = max([minute(t) for t in batch] + ([newest] if newest is not None else []))
        ran_before, runs_with = runs_with, (None if newest is None else newest - delay)
        out.append({"rows": rows, "watermark": hhmm(runs_with), "state": len(counts)})
    return out
    ### END SOLUTION


# %%
check("predict_batches", predict_batches)
