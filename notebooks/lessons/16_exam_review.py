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
# # 16 · Exam review
#
# **You will learn to**
#
# - answer every self-check question of the kit in one place
# - score yourself per concept on the question bank, and find the lesson and page to reread
# - find the notebook to reread for each topic
# - write an explanation of each concept and check it against a model answer's key points
# - predict a trace of each family batch by batch and get a score per family (lesson 15)
#
# **Prerequisites:** notebooks 00 to 15\
# **Time:** about 40 minutes

# %%
from etl_lib.lab import setup

lesson = setup("16", kafka=False)

# %% tags=["parameters"]
show_counts: bool = True
answers_file: str = ""  # a JSON file {question id: letter} to score; empty: the answers in the quiz cell
explain_file: str = ""  # a JSON file {question id: written answer} to check; empty: the cell's answers
serbian: bool = False  # show the model answers in Serbian
student: str = ""  # your id: the trace round becomes your own
traces_file: str = ""  # a JSON file {family: [{"rows": [...], "watermark": "HH:MM", "state": n}, ...]} to score

# %% [markdown] tags=["lesson-questions"]
# ## Every lesson's questions
#
# Try each question before opening the answer. The heading under each notebook links back to it. The sections that follow are each lesson's *Check yourself* cell, collected by `python tools/lessons.py build` into this notebook only (its source keeps this cell).

# %% tags=["shows:question-counts"]
from etl_lib.exercises.quiz import lesson_question_counts

counts = lesson_question_counts()  # read from each lesson's Check yourself cell
if show_counts:
    print(sum(counts.values()), "questions in", len(counts), "notebooks")

# %% [markdown]
# ## Quiz: the question bank, scored per concept
#
# `exercises/questions.md` holds multiple-choice questions tagged with a lesson and one of the 35 concepts of [docs/concepts.md](../docs/concepts.md). Many are *predict the output*: change a parameter in the lesson, predict, then run it. The table counts them per concept and kind.

# %%
import pandas as pd

from etl_lib.exercises.quiz import load_bank, load_concepts, score_answers, show

bank, concepts = load_bank(), load_concepts()
per_concept = pd.crosstab(pd.Series([q.concept for q in bank], name="concept"),
                          pd.Series([q.kind for q in bank], name="kind")).reindex(list(concepts))
per_concept["total"] = per_concept.sum(axis=1)
print(f"{len(bank)} questions on {per_concept.shape[0]} concepts")
per_concept

# %% [markdown]
# Print the questions of a concept (or `lesson="06"`) without their answers, and note your letters:

# %%
show(bank, concept="watermarks")

# %% [markdown]
# Write your answers as `{question id: letter}` in the cell below (it is stored empty, so that no stored report gives an answer away), or save them as JSON and pass the file as the `answers_file` parameter (`papermill ... -p answers_file my_answers.json`). The report scores each concept you answered, explains each wrong answer, and says which lesson and page to reread.

# %%
import json
from pathlib import Path

answers: dict[str, str] = {}  # for example {"q070": "b", "q071": "a"}
if answers_file:
    answers = json.loads(Path(answers_file).read_text())
report = score_answers(answers, bank, concepts)
report

# %%
assert report.answered == len(answers) - len(report.unknown), (
    f"expected {len(answers) - len(report.unknown)} answers scored, found {report.answered}: `answers` changed "
    "after the cell above ran; run the cell above again, then this one")
print("every answer scored against the bank:", report.correct <= report.answered)

# %% [markdown]
# What a report looks like: a student who answered the bank's first question right and its second one wrong.

# %% tags=["shows:quiz-example"]
first, second = bank[0], bank[1]
score_answers({first.id: first.answer, second.id: next(x for x in "abcd" if x != second.answer)}, bank, concepts)

# %% [markdown]
# ## Explain it: written answers
#
# The written exam asks you to *explain* a concept in a paragraph. `exercises/explain.md` holds a written question for every concept and for each "For your exam" prompt of seed 003, with a model answer (in English and Serbian), the key points an examiner looks for and the answer often given that is wrong. Write your answer first, in your own words; then the check shows the model answer and which key points your text names. It matches terms in either language, so it is a hint about what you may have left out, never a grade.

# %%
from etl_lib.exercises.explain import check_answers, load_explain

written_bank = load_explain()
per_concept_written = pd.Series([q.concept for q in written_bank]).value_counts().reindex(list(concepts))
print(f"{len(written_bank)} written questions; every concept has at least one:", bool(per_concept_written.min() >= 1))
for q in written_bank:
    if q.concept == "watermarks":
        print(f"{q.id} (lesson {q.lesson}): {q.question}")

# %% [markdown]
# Write your answers as `{question id: your text}` below (stored empty, so that nothing stored gives an answer away), or save them as JSON and pass the file as the `explain_file` parameter. Set `serbian` to see the model answers in Serbian.

# %%
written: dict[str, str] = {}  # for example {"x22": "The watermark is ..."}
if explain_file:
    written = json.loads(Path(explain_file).read_text())
print(check_answers(written, written_bank, serbian=serbian))

# %% [markdown]
# What the check looks like, for a one-sentence answer to x22 (a good answer names more):

# %% tags=["shows:written-example"]
print(check_answers({"x22": "The watermark is the newest event time seen minus a delay; windows that end before it "
                            "are final."}, written_bank))

# %% [markdown]
# ## A trace round
#
# One trace of each family of lesson 15, your own when `student` is set. For each, write per batch the rows it
# emits, the watermark after it and the rows in state, as `{family: [{"rows": [...], "watermark": "HH:MM",
# "state": n}, ...]}` in the cell below or in a JSON file passed as `traces_file`. Spark answers them (one
# micro-batch per batch), and the score counts your right answers per family.

# %%
from etl_lib.lab import mixed_seed
from etl_lib.traces import FAMILIES, generate

round_traces = {name: generate(name, mixed_seed(16, student)) for name in FAMILIES}
for number, trace in enumerate(round_traces.values(), start=1):
    print(f"{number}. {trace.describe()}\n   each emitted row: {trace.family.rows}\n")

# %% tags=["shows:trace-round"]
from etl_lib.lab import spark_session
from etl_lib.traces import answer, score_round

predicted: dict[str, list] = {}  # for example {"tumbling-append": [{"rows": [], "watermark": "12:01", "state": 1}]}
if traces_file:
    predicted = json.loads(Path(traces_file).read_text())
spark = spark_session(lesson.settings)
round_answers = {name: answer(spark, trace, lesson.settings.data_dir) for name, trace in round_traces.items()}
score_round(round_answers, predicted)

# %% [markdown] tags=["remember"]
# ## Remember
#
# - Every lesson's *Check yourself* questions are collected here, each lesson's under a heading that links back to it (→ *Every lesson's questions*) [16#question-counts]
# - The quiz scores you per concept and names the lesson and page to reread for each miss (→ *Quiz: the question bank, scored per concept*) [16#quiz-example]
# - The written check shows the model answer and the key points your text names: a hint, never a grade (→ *Explain it: written answers*) [16#written-example]
# - The trace round scores your predictions per family against Spark's own answers (→ *A trace round*) [16#trace-round]

# %% [markdown]
# **Further reading**
#
# - docs/glossary.md
# - docs/README.md
# - docs/concepts.md

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 15_predict_the_batch](15_predict_the_batch.ipynb) | [contents](README.md) | (end) →
