# %% [markdown]
# # Exercises 08 · Analytics
#
# Practice for [notebook 08](../notebooks/08_analytics_and_plots.ipynb). Write your code in the cells marked ✏️
# (each must run on its own: keep its imports in it), then run the check cell below it.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `pearson_from_sums`: a correlation a stream can keep
#
# A streaming aggregation cannot keep every pair, but it can keep six sums per window: n, Σx, Σy, Σx², Σy², Σxy.
# Write `pearson_from_sums(n, sx, sy, sxx, syy, sxy)` returning Pearson's r as a float, or `None` when r is
# undefined (fewer than 2 pairs, or x or y does not vary). Floating-point cancellation must never give an r
# outside [−1, 1].

# %% tags=["exercise"]
# ✏️ your code
def pearson_from_sums(n, sx, sy, sxx, syy, sxy):
    ### BEGIN SOLUTION
    import math

    if n < 2:
        return None
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    if vx <= 0 or vy <= 0:
        return None
    r = (n * sxy - sx * sy) / math.sqrt(vx * vy)
    return float(max(-1.0, min(1.0, r)))
    ### END SOLUTION


# %%
check("pearson_from_sums", pearson_from_sums)

# %% [markdown]
# ## 2. `weather_bins`: windows into rain categories
#
# The binned analytics of [notebook 08](../notebooks/08_analytics_and_plots.ipynb) put every 15-minute window into
# a rain category by its mean precipitation, then compare the mean bike trips per window of the categories (the
# cells after *Graph-ready binned metrics* and *The edges decide what a bin compares*). Write
# `weather_bins(windows, heavy=2.5)` for one such table. `windows` is a list of dicts, one per window, each with
# `"precip_intensity"` (mm/h: a float, or None when it is missing) and `"bike_count"` (the window's trips). Return a
# dict with an entry for each category, `"dry"`, `"light"` and `"heavy"`, each a dict
# `{"windows": how many windows fell in it, "mean_bike_count": ...}`, and `"missing"`, a count. The kit's rules
# (`precip_category` in `etl_lib/parsing.py`, and data_gen's answer key):
#
# - dry is 0 mm/h or less, light is above 0 and below `heavy`, heavy is `heavy` and above, with no upper end: the
#   edge 0 belongs to dry and the edge `heavy` to heavy (with `heavy=2.5`, 0.0 is dry and 2.5 is heavy);
# - use the `heavy` you are given (the kit's is 2.5 mm/h): moving the edge moves windows from one category to
#   another, and with them what the means compare;
# - `"mean_bike_count"` is the mean of `bike_count` over the category's windows: trips per window;
# - list all three categories every time, even a category no window fell in: `"windows": 0` and
#   `"mean_bike_count": None`, as the mean of nothing is undefined (a 0 would read as a measured "no trips").
#   Spark's `groupBy` has no row at all for a group without rows; here the empty category stays in sight;
# - a window whose `"precip_intensity"` is None goes in no category: count it in `"missing"`. A missing value is
#   not 0 mm/h, and must not pass as dry. In the kit no such window reaches the bins: `precip_intensity` is a
#   required field of a weather record, so parsing quarantines a record without it (notebook 05). That matters: the
#   kit's Spark expression for the category would call a null heavy, since a comparison with null is null, never
#   true, so its `otherwise` branch applies.

# %% tags=["exercise"]
# ✏️ your code
def weather_bins(windows, heavy=2.5):
    ### BEGIN SOLUTION
    trips = {"dry": [], "light": [], "heavy": []}
    missing = 0
    for window in windows:
        mm_h = window["precip_intensity"]
        if mm_h is None:
            missing += 1
            continue
        category = "dry" if mm_h <= 0 else "light" if mm_h < heavy else "heavy"
        trips[category].append(window["bike_count"])
    result = {name: {"windows": len(counts), "mean_bike_count": sum(counts) / len(counts) if counts else None}
              for name, counts in trips.items()}
    result["missing"] = missing
    return result
    ### END SOLUTION


# %%
check("weather_bins", weather_bins)
