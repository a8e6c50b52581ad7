# %% [markdown]
# # Exercises 08 · Analytics
#
# Practice for [notebook 08](../notebooks/08_analytics_and_plots.ipynb). Write your code in the cell marked ✏️,
# then run the check cell.

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
