# %% [markdown]
# # Exercises 03 · The nightly file pipeline
#
# Practice for [notebook 03](../notebooks/03_nightly_file_pipeline.ipynb). Write your code in the cell marked ✏️,
# then run the check cell below it.

# %%
from etl_lib.exercises import check

# %% [markdown]
# ## 1. `bfd_buckets`: best-fit decreasing
#
# Pack files into buckets of at most `capacity` bytes for the bucket workers. `sizes` is a list of file sizes;
# return a list of buckets, each a list of **indices** into `sizes`. Take the files largest first; put each into
# the open bucket where it fits most tightly (the least room left after it), or open a new bucket. A file larger
# than `capacity` can never fit: raise `ValueError` naming its size.

# %% tags=["exercise"]
# ✏️ your code
def bfd_buckets(sizes: list[int], capacity: int) -> list[list[int]]:
    ### BEGIN SOLUTION
    too_big = [s for s in sizes if s > capacity]
    if too_big:
        raise ValueError(f"a file of {too_big[0]} bytes does not fit in a bucket of {capacity}")
    buckets: list[list[int]] = []
    rooms: list[int] = []
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        fits = [b for b, room in enumerate(rooms) if room >= sizes[i]]
        if fits:
            b = min(fits, key=lambda b: rooms[b])
        else:
            b = len(rooms)
            buckets.append([])
            rooms.append(capacity)
        buckets[b].append(i)
        rooms[b] -= sizes[i]
    return buckets
    ### END SOLUTION


# %%
check("bfd_buckets", bfd_buckets)
