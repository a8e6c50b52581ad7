"""Plots of the graph-ready analytics outputs (the ``summarize_*`` tables of :mod:`etl_lib.summaries`), and of BFD.

Each function draws on the ``ax`` it is given (or a new one) and returns it, so
a notebook can lay several out together and the report can save each to PNG.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["plot_binned_metrics", "plot_correlation_heatmap", "plot_precipitation_impact",
           "plot_rush_hour_vs_leisure", "plot_usage_by_hour", "plot_short_and_sliding", "plot_bfd_packing",
           "CATEGORY_COLORS"]

CATEGORY_COLORS = {"dry": "#e6a117", "light": "#5b9bd5", "heavy": "#1f3f77"}
_ORDER = ("dry", "light", "heavy")


def _ax(ax: "Axes | None", size: tuple[float, float] = (7, 4)) -> "Axes":
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size)[1]


def plot_binned_metrics(binned: "pd.DataFrame", metric: str = "mean_bike_count", ax: "Axes | None" = None) -> "Axes":
    """Mean per 15-minute window of ``metric`` for each temperature bin, one line per precipitation category."""
    ax = _ax(ax)
    bins = list(dict.fromkeys(binned["temp_bin"]))  # already sorted by temperature
    for cat in _ORDER:
        part = binned[binned["precip_category"] == cat].set_index("temp_bin").reindex(bins)
        if part[metric].notna().any():
            ax.plot(bins, part[metric], marker="o", label=cat, color=CATEGORY_COLORS[cat])
    ax.set_xlabel("temperature bin")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(f"{metric.replace('_', ' ')} by temperature and rain")
    ax.legend(title="precipitation")
    ax.tick_params(axis="x", rotation=30)
    return ax


def plot_correlation_heatmap(pearson: "pd.DataFrame", ax: "Axes | None" = None) -> "Axes":
    """Pearson r of each weather variable (rows) against each transport measure (columns), annotated."""
    import seaborn as sns

    ax = _ax(ax, (6, 4.5))
    table = pearson.pivot(index="x_name", columns="y_name", values="r")
    sns.heatmap(table, annot=True, fmt=".2f", cmap="RdBu_r", vmin=-1, vmax=1, center=0, ax=ax,
                cbar_kws={"label": "Pearson r"})
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title("Weather vs transport, r across 15-minute windows")
    return ax


def plot_precipitation_impact(impact: "pd.DataFrame", ax: "Axes | None" = None) -> "Axes":
    """Mean bike and taxi trips per window in dry, light and heavy rain, labelled with the change against dry
    windows of the same hours (the crude means alone mix rain with the hours it fell in)."""
    ax = _ax(ax)
    cats = [c for c in _ORDER if c in set(impact["precip_category"])]
    d = impact.set_index("precip_category").reindex(cats)
    width = 0.38
    xs = range(len(cats))
    for offset, (y, label) in zip((-width / 2, width / 2), (("bike_count", "bikes"), ("taxi_count", "taxis"))):
        bars = ax.bar([x + offset for x in xs], d[f"mean_{y}"], width, label=label)
        for bar, change in zip(bars, d[f"{y}_change_vs_dry"]):
            ax.annotate(f"{change:+.0%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(xs), cats)
    ax.set_ylabel("mean trips per 15-minute window")
    ax.set_title("Precipitation impact (labels: change vs dry windows of the same hours)")
    ax.legend()
    return ax


def plot_rush_hour_vs_leisure(temporal: "pd.DataFrame", pair: tuple[str, str] = ("precip_intensity", "bike_count"),
                              ax: "Axes | None" = None) -> "Axes":
    """r of one pair per period (rush hour, leisure, night), weekdays and weekends side by side."""
    ax = _ax(ax)
    d = temporal[(temporal["x_name"] == pair[0]) & (temporal["y_name"] == pair[1])]
    periods = [p for p in ("rush_hour", "leisure", "night") if p in set(d["period"])]
    width = 0.38
    for offset, day_type in zip((-width / 2, width / 2), ("weekday", "weekend")):
        part = d[d["day_type"] == day_type].set_index("period").reindex(periods)
        ax.bar([i + offset for i in range(len(periods))], part["r"], width, label=day_type)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(periods)), [p.replace("_", " ") for p in periods])
    ax.set_ylabel(f"r({pair[0]}, {pair[1]})")
    ax.set_title("Rush hour vs leisure vs night")
    ax.legend()
    return ax


def plot_usage_by_hour(usage: "pd.DataFrame", ax: "Axes | None" = None) -> "Axes":
    """Bike and taxi trips per hour of day, weekday vs weekend."""
    ax = _ax(ax)
    for day_type, style in (("weekday", "-"), ("weekend", "--")):
        part = usage[usage["day_type"] == day_type]
        ax.plot(part["hour_of_day"], part["bikes_per_day"], style, color="tab:green", label=f"bikes, {day_type}")
        ax.plot(part["hour_of_day"], part["taxis_per_day"], style, color="tab:purple", label=f"taxis, {day_type}")
    ax.set_xlabel("hour of day")
    ax.set_ylabel("trips per hour")
    ax.set_xticks(range(0, 24, 3))
    ax.set_title("Transport usage by hour")
    ax.legend(fontsize=8)
    return ax


def plot_short_and_sliding(realtime: "pd.DataFrame", sliding: "pd.DataFrame", measure: str = "bike_count",
                           ax: "Axes | None" = None) -> "Axes":
    """Trips per minute from the short tumbling windows and from the sliding windows, at each window's end.

    A value is known only when its window closes, so each point sits at the
    window's end.  Counts are divided by the window length in minutes so that
    5- and 15-minute windows share one axis: the sliding series is smoother
    and, with a 5-minute slide, just as frequent.
    """
    ax = _ax(ax, (8, 3.6))
    for df, label, style in ((realtime, "tumbling", "-"), (sliding, "sliding", "-")):
        df = df.sort_values("window_start")
        minutes = (df["window_end"] - df["window_start"]).dt.total_seconds() / 60
        length = int(minutes.iloc[0]) if len(df) else 0
        slide = (int((df["window_start"].diff().dt.total_seconds() / 60).min())
                 if len(df) > 1 else length)
        ax.plot(df["window_end"], df[measure] / minutes, style, lw=1.0 if label == "tumbling" else 2.0,
                alpha=0.6 if label == "tumbling" else 1.0,
                label=f"{length}-minute windows" + (f", sliding every {slide}" if label == "sliding" else ""))
    import matplotlib.dates as mdates

    ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %H:%M"))
    ax.set_xlabel("window end (event time)")
    ax.set_ylabel(f"{measure.split('_')[0]} trips per minute")
    ax.set_title("Short tumbling windows vs sliding windows")
    ax.legend(fontsize=8)
    return ax


# ---------------------------------------------------------------------- seed 000: the nightly file pipeline
def plot_bfd_packing(buckets: list, capacity: int, lower_bound: int) -> tuple["Axes", "Axes"]:
    """Best-fit-decreasing buckets, side by side: each bucket's files stacked, and the free space left per bucket.

    ``buckets``: :func:`~etl_lib.pipelines.bfd_buckets` output over plain sizes
    (a file is its size), oversize buckets left out; ``lower_bound``: the L2
    bound of the same sizes, drawn as the fewest buckets any packing needs.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    mib = 1024 * 1024
    # Each bar is one bucket in the order BFD opened it; each segment one file, largest at the bottom.
    order = [sorted(b.files, reverse=True) for b in buckets]
    depth = max(len(files) for files in order)
    layers = np.array([files + [0] * (depth - len(files)) for files in order], dtype=float).T / mib
    _, (left, right) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2, 1]})
    bottom = np.zeros(len(order))
    for k, layer in enumerate(layers):
        left.bar(range(len(order)), layer, bottom=bottom, width=1.0, color=plt.cm.tab20(k % 20), linewidth=0)
        bottom += layer
    left.axhline(capacity / mib, color="black", linewidth=0.8)
    left.axvline(lower_bound - 0.5, color="black", linestyle="--",
                 label=f"L2 bound: no packing needs fewer than {lower_bound}")
    left.set_xlabel(f"bucket (in the order BFD opened it; {len(order)} in all)")
    left.set_ylabel("MiB (one segment per file)")
    left.set_title("Bucket by bucket: big files first, small ones fill the gaps")
    left.legend(fontsize="small", loc="lower left")

    # Free space per bucket on a log scale: "99.8% full" hides whether that is 2 KiB or 2 MiB.
    free_kib = np.array([capacity - b.size for b in buckets]) / 1024
    best_free = (lower_bound * capacity - sum(b.size for b in buckets)) / lower_bound / 1024
    right.hist(np.maximum(free_kib, 0.5), bins=np.geomspace(0.5, capacity / 1024, 30), color="tab:blue")
    right.set_xscale("log")
    right.axvline(free_kib.mean(), color="tab:green", label=f"BFD: mean {free_kib.mean():.0f} KiB free")
    right.axvline(best_free, color="black", linestyle="--",
                  label=f"{lower_bound} buckets (L2): mean {best_free:.0f} KiB free")
    right.set_xlabel("free space in a bucket (KiB, log scale)")
    right.set_ylabel("buckets")
    right.set_title("What is left empty")
    right.legend(fontsize="small", loc="upper left")
    return left, right
