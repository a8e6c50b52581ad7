# %% [markdown]
# # Exercises 01 · Configuration
#
# Practice for [notebook 01](../notebooks/01_configuration.ipynb). Write your code in the cells marked ✏️ (each
# must run on its own: keep its imports in it), then run the check cell below it. `check` runs your code against
# hidden cases and prints what passed, or the smallest failing case with a hint. `make grade` grades every
# exercise notebook in this folder.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `parse_duration`: seconds in a Spark interval
#
# The kit's settings hold windows as Spark writes intervals: `"15 minutes"`, `"1 hour"`, `"10 seconds"`. Write
# `parse_duration(text)` that returns the number of seconds (`"15 minutes"` → 900). Accept a positive whole
# number, spaces, and a unit in singular or plural and any letter case: second, minute, hour, day.
#
# A bad value (`"15 minuts"`, `""`, `"-5 minutes"`, `"1.5 hours"`) must stop the program at once: raise
# `ValueError` with a message that names the value and shows an accepted form such as `'5 minutes'`.

# %% tags=["exercise"]
# ✏️ your code
def parse_duration(text: str) -> int:
    ### BEGIN SOLUTION
    import re

    units = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
    m = re.fullmatch(r"\s*(\d+)\s+([a-z]+?)s?\s*", text.lower())
    if not m or m.group(2) not in units or int(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration: expected a positive whole number and a unit, "
                         "such as '5 minutes' or '1 hour'")
    return int(m.group(1)) * units[m.group(2)]
    ### END SOLUTION


# %%
check("parse_duration", parse_duration)
