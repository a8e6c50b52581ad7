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
# # 03 · Nightly file pipeline: best-fit decreasing
#
# **You will learn to**
#
# - pack files into 10 MB buckets with best-fit decreasing (BFD)
# - judge a packing against the L2 lower bound
# - archive each bucket with a verified manifest, in parallel
#
# **Prerequisites:** notebook 02\
# **Time:** about 15 minutes

# %%
from etl_lib.lab import setup

lesson = setup("03", kafka=False)

# %% tags=["parameters"]
n_files: int = 2000  # files to pack in the bucketing part
seed: int = 7

# %% [markdown]
# Many small files are slow to move and to read; one huge file cannot be processed in parallel. The nightly
# pipeline groups files into **buckets of at most 10 MiB** so each worker gets a similar amount of work.
# File sizes follow a log-normal spread: most around 1 MiB, a long tail of big ones, some larger than a bucket.

# %% tags=["shows:file-sizes"]
from etl_lib.pipelines import bfd_buckets, l2_lower_bound, lognormal_sizes

MiB = 1024 * 1024
sizes = lognormal_sizes(n_files, seed=seed)
print(f"{len(sizes)} files, {sum(sizes) / MiB:.0f} MiB, larger than a bucket: {sum(s > 10 * MiB for s in sizes)}")

# %% [markdown]
# **Best-fit decreasing**: sort files largest first; put each into the open bucket it fills most tightly
# (the smallest remaining space that still fits), else open a new bucket. A file bigger than the capacity gets a
# bucket of its own, flagged *oversize*: it is never dropped. With the free spaces kept in a sorted structure the
# whole packing is O(n log n).

# %% [markdown]
# **Why decreasing?** Best fit *online*, each file placed in the order it comes, can leave gaps that no later file
# fills. Four files of 1, 2, 8 and 8 units into buckets of 10:

# %% tags=["shows:online-best-fit"]
def online_best_fit(sizes, capacity):
    """Best fit without sorting: each file, in the order given, goes into the fullest bucket it still fits."""
    used = []
    for size in sizes:
        fits = [i for i, u in enumerate(used) if u + size <= capacity]
        if fits:
            used[max(fits, key=lambda i: used[i])] += size
        else:
            used.append(size)
    return used


print("online best fit, in the order 1, 2, 8, 8:", online_best_fit([1, 2, 8, 8], 10))
print("best fit decreasing:                    ", [b.size for b in bfd_buckets([1, 2, 8, 8], 10)])

# %% [markdown]
# How good is best-fit decreasing? No packing can use fewer buckets than the **L2 lower bound** of Martello and Toth. Johnson and
# co-authors (1974) proved that best fit decreasing, like first fit decreasing, never uses more than about 11/9 of the
# optimum (11/9 · OPT + 4); the tight additive constant, 11/9 · OPT + 6/9, was proven by Dósa (2007) for *first* fit
# decreasing. Below, on a realistic spread, BFD is within a bucket or two of L2, far better than either bound.

# %% tags=["shows:bfd-vs-l2"]
buckets = bfd_buckets(sizes, 10 * MiB)
regular = [b for b in buckets if not b.oversize]
print("buckets:", len(buckets), "| oversize:", len(buckets) - len(regular),
      "| L2 lower bound:", l2_lower_bound(sizes, 10 * MiB))
print(f"mean fill of regular buckets: {sum(b.size for b in regular) / (len(regular) * 10 * MiB):.1%}")

# %%
import matplotlib.pyplot as plt
from etl_lib.plots import plot_bfd_packing

l2 = l2_lower_bound([size for size in sizes if size <= 10 * MiB], 10 * MiB)  # oversize files get buckets alone
plot_bfd_packing(regular, 10 * MiB, l2)  # bfd_buckets was given sizes: a file is its size
plt.show()

# %%
free_kib = [(10 * MiB - b.size) / 1024 for b in regular]
print(f"regular buckets: {len(regular)} | L2 bound for the regular files: {l2} | "
      f"buckets with less than 64 KiB free: {sum(f < 64 for f in free_kib)} | "
      f"with more than 1 MiB free: {sum(f > 1024 for f in free_kib)}")

# %% [markdown]
# Read the two panels together. On the left, the first buckets are opened by the biggest files, one or two per
# bucket, and topped up later with small ones; towards the right come buckets of many small files, and the last
# bucket takes what is left. The dashed line is the L2 bound: when BFD's last bucket sits on it, the packing is
# optimal. On the right, the free space of each bucket: most keep only a few KiB empty. The dashed line is the
# mean free space if the files fitted into L2 buckets; the gap between the two lines is all that any better
# algorithm could still win.
#
# **The pipeline**: generate real files, bucket them, and let worker threads archive each bucket into a
# `.tar.gz` with a `MANIFEST.json` of names, sizes and SHA-256 checksums, then read the archive back and verify
# every member. A failed bucket is retried, then recorded with its files; none disappears.

# %% tags=["shows:file-pipeline"]
from etl_lib.pipelines import run_file_pipeline

m = run_file_pipeline(60, lesson.settings.data_dir / "files", capacity=400_000, workers=4, median_bytes=40_000,
                      seed=seed)
{k: m[k] for k in ["files", "buckets", "buckets_ok", "buckets_failed", "oversize", "l2_lower_bound"]}

# %% [markdown] tags=["questions"]
# ## Check yourself
#
# **1. Why sort the files largest first before packing?**
#
# <details><summary>Answer</summary>
#
# Big items are the hard ones to place; putting them first leaves the small ones to fill the gaps. Without sorting, early small files spread over buckets leave no room for a big one later, which then opens a new bucket.
#
# </details>
#
# **2. What is the difference between first fit and best fit?**
#
# <details><summary>Answer</summary>
#
# First fit puts the item into the first bucket (in order of opening) where it fits; best fit into the bucket where it leaves the least space free.
#
# </details>
#
# **3. Why is a lower bound useful when judging a heuristic?**
#
# <details><summary>Answer</summary>
#
# The true optimum is too expensive to compute for large inputs; if the heuristic's count equals (or is close to) a lower bound, it is provably optimal (or close).
#
# </details>
#
# **4. Why write each archive under a temporary name and rename it at the end?**
#
# <details><summary>Answer</summary>
#
# A rename is atomic: readers never see a half-written archive, and a retried attempt does not leave a broken file behind.
#
# </details>
#
# **5. A packing uses B buckets and the L2 bound is L. What does B = L prove, and what does the mean free space of L buckets (the dashed line on the right) tell you when B > L?**
#
# <details><summary>Answer</summary>
#
# B = L proves the packing optimal: no packing can use fewer than L. When B > L, the optimum lies somewhere between L and B; the mean free space with L buckets is the least any packing could possibly leave, so the gap between it and the packing's own mean free space bounds what a better algorithm could still gain.
#
# </details>
#

# %% tags=["shows:bfd-invariants"]
assert sum(len(b.files) for b in buckets) == n_files, (
    f"expected {n_files} files in the buckets, found {sum(len(b.files) for b in buckets)}: a parameter changed "
    "after the packing cell ran; run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
assert all(b.size <= 10 * MiB for b in regular), (
    f"expected no regular bucket over 10 MiB, found {sum(b.size > 10 * MiB for b in regular)}: `regular` changed "
    "after the packing cell ran; run the lesson again from the setup cell (Kernel > Restart Kernel and Run All Cells)")
assert len(buckets) >= l2_lower_bound(sizes, 10 * MiB), (
    f"expected at least the L2 bound of {l2_lower_bound(sizes, 10 * MiB)} buckets, found {len(buckets)}: `sizes` "
    "changed after the packing cell ran; run the lesson again from the setup cell "
    "(Kernel > Restart Kernel and Run All Cells)")
assert m["buckets_ok"] + m["buckets_failed"] == m["buckets"], (
    f"expected every one of {m['buckets']} buckets archived or recorded as failed, found {m['buckets_ok']} "
    f"archived and {m['buckets_failed']} failed: a bucket was lost; run the lesson again from the setup cell "
    "(Kernel > Restart Kernel and Run All Cells), and report it if it fails again")
print("Every file in exactly one bucket, none over capacity, count >= L2: True")

# %% [markdown] tags=["remember"]
# ## Remember
#
# - Best-fit decreasing: sort largest first, put each file into the bucket it fills most tightly; unsorted, best fit can need more buckets (→ *Best-fit decreasing*) [03#bfd-vs-l2] [03#online-best-fit]
# - BFD is a heuristic in O(n log n); compare its bucket count with the L2 lower bound (→ *Best-fit decreasing*) [03#bfd-vs-l2]
# - On realistic sizes, BFD matches the L2 lower bound or comes within a bucket or two of it (→ *L2 lower bound*) [03#bfd-vs-l2] [03#file-pipeline]
# - A file larger than a bucket gets a bucket of its own, reported (→ *Best-fit decreasing*) [03#file-sizes] [03#bfd-vs-l2]
# - Start the bucket workers before queueing the buckets, or a bounded queue blocks for ever (→ *The pipeline*) [doc: Python 3.11 · queue — A synchronized queue class · Queue Objects]
# - Every archive has a verified manifest, and every failure is recorded (→ *The pipeline*) [03#file-pipeline]

# %% [markdown]
# **Further reading**
#
# - docs/thread_pipelines.md
# - bench/bfd.py (BFD against the `binpacking` package)

# %% [markdown]
# <!-- nav: generated by tools/nbnav.py -->
# [← 02_streaming_on_threads](02_streaming_on_threads.ipynb) | [contents](README.md) | [04_kafka_and_data_gen →](04_kafka_and_data_gen.ipynb)
