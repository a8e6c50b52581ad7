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
# # 01 · Configuration and feature flags
#
# **You will learn to**
#
# - read every setting from environment variables with defaults
# - recognise the one-line error a bad value gives
# - switch analytics on and off with `ENABLE_*` flags
#
# **Prerequisites:** notebook 00\
# **Time:** about 10 minutes

# %%
from etl_lib.lab import setup

lesson = setup("01", kafka=False)

# %% tags=["parameters"]
window_medium: str = "30 minutes"  # a value to try instead of the default

# %% [markdown]
# All settings live in one immutable object, `Settings`, built from environment variables. Each has a
# default that works on one machine, so nothing needs to be set to get started; on a cluster, changing
# `SPARK_MASTER` and `KAFKA_BOOTSTRAP_SERVERS` is enough. `load_settings` takes any mapping, which makes it easy
# to try values without touching the real environment.

# %% tags=["shows:settings-table"]
import os
import pandas as pd
from IPython.display import display
from etl_lib.config import ConfigError, load_settings, project_root

s = load_settings({"WINDOW_DURATION_MEDIUM": window_medium, "ENABLE_PEARSON_CORRELATIONS": "false"})
table = pd.DataFrame(s.describe(), columns=["variable", "value", "source", "meaning"])
# Paths are shown relative to the project folder, so the table reads the same on every machine.
table["value"] = [os.path.relpath(v, project_root()) if n == "DATA_DIR" or n.endswith("_PATH") else v
                  for n, v in zip(table["variable"], table["value"])]
with pd.option_context("display.max_colwidth", None, "display.max_rows", None):
    display(table)

# %% [markdown]
# Note the paths: the raw Parquet (`OUTPUT_BASE_PATH`) and its checkpoints (`CHECKPOINT_BASE_PATH`) are kept
# apart from the analytics outputs (`ANALYTICS_OUTPUT_PATH`) and theirs (`ANALYTICS_CHECKPOINT_PATH`), with the
# quarantine and the silver table beside them. Each query owns one checkpoint folder; raw data can be kept,
# replayed or rebuilt without touching the analytics, and an analytics change (a new checkpoint) never touches
# the raw data.
#
# **Bad values stop the program at load time**, with one line per bad setting naming the variable, the
# value and the accepted form. This is the difference between a typo found in a second and a `15 minuts` that
# Spark rejects half an hour into a job with a long JVM stack trace.

# %% tags=["shows:bad-values"]
try:
    load_settings({"ENABLE_PEARSON_CORRELATIONS": "maybe", "WINDOW_DURATION_MEDIUM": "15 minuts",
                   "PIPELINE_WORKERS": "0", "KAFKA_BOOTSTRAP_SERVERS": "host:port:x"})
except ConfigError as err:
    print(err)
try:  # values that are each valid, but not together
    load_settings({"SLIDE_DURATION": "20 minutes", "WINDOW_DURATION_MEDIUM": "15 minutes"})
except ConfigError as err:
    print(err)

# %% [markdown]
# **Feature flags** decide which of the eleven analytics streams start (the seed's nine, and two that use its
# short and sliding windows). A flag that is off means the stream
# is not started at all and its output folder is never written: the usual answer to "why is there no output?".

# %% tags=["shows:feature-flags"]
from etl_lib.config import ANALYTICS_FLAGS

for flag in ANALYTICS_FLAGS:
    print("on " if flag in s.enabled_analytics() else "OFF", flag)

# %% [markdown]
# Settings are immutable: `replace` returns a changed, re-validated copy. The seed's module-level names
# (`config.KAFKA_BOOTSTRAP_SERVERS`) still work, read from the process environment.

# %% tags=["shows:settings-replace"]
fewer = s.replace(pipeline_workers=2)
print(fewer.pipeline_workers, fewer.source("PIPELINE_WORKERS"), "| original:", s.pipeline_workers)

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. Why validate settings when they are loaded rather than when they are used?**
#
# <details><summary>Answer</summary>
#
# A bad value then fails at once with a message naming the variable, instead of minutes later deep inside Spark or the JVM, possibly after part of the output has been written.
#
# </details>
#
# **2. What is a feature flag, and give two reasons to use one in a streaming job.**
#
# <details><summary>Answer</summary>
#
# A setting that turns a piece of the job on or off without changing code. Reasons: test or debug one stream at a time; switch off an expensive or broken stream; roll a new analytic out gradually.
#
# </details>
#
# **3. Which two settings change when the job moves from a laptop to a cluster?**
#
# <details><summary>Answer</summary>
#
# `SPARK_MASTER` (e.g. `spark://host:7077` or `k8s://...`) and `KAFKA_BOOTSTRAP_SERVERS`; paths (`DATA_DIR`) must also point at storage every executor can reach.
#
# </details>
#

# %%
from etl_lib.config import duration_seconds

assert duration_seconds(s.window_duration_medium) == duration_seconds(window_medium), (
    f"expected the medium window {window_medium!r}, found {s.window_duration_medium!r}: `window_medium` or `s` "
    "changed after the settings-table cell ran; run the lesson again from the setup cell "
    "(Kernel > Restart Kernel and Run All Cells)")
assert "ENABLE_PEARSON_CORRELATIONS" not in s.enabled_analytics(), (
    "expected the Pearson stream off in `s`, found it on: `s` was replaced after the settings-table cell ran; "
    "run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
print("window in seconds:", duration_seconds(s.window_duration_medium), "| Pearson stream off: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - Every setting comes from an environment variable with a default that works on a laptop (→ *All settings live in one immutable object*) [01#settings-table]
# - One frozen settings object, read once (→ *All settings live in one immutable object*) [01#settings-replace]
# - A bad value stops the program at load time, naming the variable, the value and an accepted form (→ *Bad values stop the program at load time*) [01#bad-values]
# - Eleven `ENABLE_*` feature flags decide which analytics streams start (→ *Feature flags*) [01#feature-flags]
# - Laptop to cluster: change `SPARK_MASTER` and `KAFKA_BOOTSTRAP_SERVERS`, not the code (→ *Which two settings change*) [01#settings-table]

# %% [markdown]
# **Further reading**
#
# - docs/foundation.md
# - `python -m etl_lib config` in a terminal

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 00_environment_check](00_environment_check.ipynb) | [contents](README.md) | [02_streaming_on_threads →](02_streaming_on_threads.ipynb)
