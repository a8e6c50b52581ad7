"""The pandas side of the analytics: their Parquet rows turned into graph-ready tables.

Each windowed analytic of :mod:`etl_lib.analytics` writes *sufficient
statistics* per group (counts and sums), so that groups can be merged in any
order; these functions merge them into what the report and the plots show
(r and n per pair, means per bin, changes against dry hours).  No Spark here:
the outputs are small, and this module imports without a JVM.

>>> import pandas as pd
>>> rows = pd.DataFrame({"window_start": pd.to_datetime(["2018-04-02 08:15", "2018-04-02 08:00"]), "bike_count": [3, 5]})
>>> summarize_windows(rows)["bike_count"].tolist()
[5, 3]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "WEATHER_VARS", "TRANSPORT_VARS", "pearson_from_sums", "summarize_windows", "summarize_pearson",
    "summarize_binned", "summarize_precipitation_impact", "summarize_temporal", "summarize_surge",
    "summarize_safety", "summarize_usage", "summarize_multi_variable",
]

WEATHER_VARS = ("temperature", "precip_intensity", "wind_speed", "visibility", "humidity")
TRANSPORT_VARS = ("bike_count", "taxi_count", "avg_surge")


def pearson_from_sums(n: float, sx: float, sy: float, sxy: float, sxx: float, syy: float) -> float:
    """Pearson's r from its sufficient statistics (NaN when a variable is constant).

    >>> round(pearson_from_sums(3, 6, 6, 14, 14, 14), 6)   # x = y = 1, 2, 3
    1.0
    """
    den = (n * sxx - sx * sx) * (n * syy - sy * sy)
    if n < 3 or den <= 0:
        return math.nan
    return (n * sxy - sx * sy) / math.sqrt(den)


def _merge_r(df: "pd.DataFrame", keys: list[str]) -> "pd.DataFrame":
    sums = ["n", "sum_x", "sum_y", "sum_xy", "sum_xx", "sum_yy"]
    g = df.groupby(keys, as_index=False)[sums].sum()
    g["r"] = [pearson_from_sums(*row) for row in g[sums].itertuples(index=False)]
    g["n"] = g["n"].astype(int)
    return g[[*keys, "r", "n"]].sort_values(keys).reset_index(drop=True)


def summarize_windows(df: "pd.DataFrame") -> "pd.DataFrame":
    """The windows of :func:`calculate_weather_transport_correlation` in time order (already one row per window)."""
    return df.sort_values("window_start").reset_index(drop=True)


def summarize_pearson(df: "pd.DataFrame") -> "pd.DataFrame":
    """r and n per (x, y) pair across all windows, from :func:`calculate_pearson_correlations` rows."""
    return _merge_r(df, ["x_name", "y_name"])


def summarize_temporal(df: "pd.DataFrame") -> "pd.DataFrame":
    """r and n per day type, period and pair, from :func:`calculate_temporal_segmented_correlations` rows."""
    return _merge_r(df, ["day_type", "period", "x_name", "y_name"])


def summarize_binned(df: "pd.DataFrame") -> "pd.DataFrame":
    """Graph-ready: per temperature bin and precipitation category, mean trips per window, mean duration and surge."""
    g = df.groupby(["temp_bin", "precip_category"], as_index=False)[
        ["windows", "bike_trips", "taxi_trips", "duration_sum", "surge_sum"]].sum()
    g["mean_bike_count"] = g["bike_trips"] / g["windows"]
    g["mean_taxi_count"] = g["taxi_trips"] / g["windows"]
    g["mean_duration_s"] = g["duration_sum"] / g["bike_trips"].where(g["bike_trips"] > 0)
    g["mean_surge"] = g["surge_sum"] / g["taxi_trips"].where(g["taxi_trips"] > 0)
    g["temp_low"] = g["temp_bin"].str.split("_").str[0].astype(int)
    return (g.sort_values(["temp_low", "precip_category"]).drop(columns=["temp_low"]).reset_index(drop=True)
            [["temp_bin", "precip_category", "windows", "mean_bike_count", "mean_taxi_count", "mean_duration_s",
              "mean_surge"]])


def _standardized_ratio(df: "pd.DataFrame", exposed: "pd.Series", strata: list[str], units: str, count: str) -> float:
    """Observed / expected of the exposed rows, expected from the unexposed rate of the same stratum.

    ``units`` counts windows (or hours) per row and ``count`` the events.  Strata
    without unexposed rows are left out: they have nothing to compare with.
    """
    base = df[~exposed].groupby(strata)[[units, count]].sum()
    rate = (base[count] / base[units]).rename("rate")
    hit = df[exposed].join(rate, on=strata).dropna(subset=["rate"])
    expected = float((hit[units] * hit["rate"]).sum())
    return float(hit[count].sum()) / expected if expected > 0 else math.nan


def _change_vs_dry(d: "pd.DataFrame", cat: str, trips: str) -> float:
    """Relative change of ``trips`` in rain category ``cat`` against dry windows of the same weekday/weekend hour."""
    pair = d[d["precip_category"].isin([cat, "dry"])]
    return _standardized_ratio(pair, pair["precip_category"] == cat, ["weekend", "hour"], "windows", trips) - 1


def _weekend(ts: "pd.Series") -> "pd.Series":
    return ts.dt.dayofweek >= 5


def summarize_precipitation_impact(df: "pd.DataFrame") -> "pd.DataFrame":
    """Mean trips per window in dry, light and heavy rain, and the change relative to dry windows *of the same hours*.

    ``{y}_change_vs_dry`` compares each category with dry windows of the same
    weekday/weekend hour (the group's hour): rain falls at any hour, trips do not,
    so a crude comparison of means (``{y}_crude_change_vs_dry``) mixes the effect
    of rain with the hours it happened to fall in.
    """
    g = df.groupby("precip_category", as_index=False)[["windows", "bike_trips", "taxi_trips"]].sum()
    g["mean_bike_count"] = g["bike_trips"] / g["windows"]
    g["mean_taxi_count"] = g["taxi_trips"] / g["windows"]
    dry = g.set_index("precip_category").reindex(["dry"])
    d = df.assign(weekend=_weekend(df["group_start"]), hour=df["group_start"].dt.hour)
    for y, trips in (("bike_count", "bike_trips"), ("taxi_count", "taxi_trips")):
        base = float(dry[f"mean_{y}"].iloc[0]) if not dry.empty else math.nan
        g[f"{y}_crude_change_vs_dry"] = g[f"mean_{y}"] / base - 1
        g[f"{y}_change_vs_dry"] = [0.0 if cat == "dry" else _change_vs_dry(d, cat, trips) for cat in g["precip_category"]]
    order = {"dry": 0, "light": 1, "heavy": 2}
    return g.sort_values("precip_category", key=lambda c: c.map(order)).reset_index(drop=True)


def summarize_surge(df: "pd.DataFrame") -> "pd.DataFrame":
    """Mean surge per precipitation category, and r(precipitation, mean surge) across windows (last row: ``all``)."""
    g = df.groupby("precip_category", as_index=False)[["surge_sum", "taxi_trips", "n"]].sum()
    g["mean_surge"] = g["surge_sum"] / g["taxi_trips"]
    overall = _merge_r(df.assign(all="all"), ["all"])
    import pandas as pd

    total = pd.DataFrame({"precip_category": ["all"], "n": [int(overall["n"].iloc[0])],
                          "mean_surge": [df["surge_sum"].sum() / df["taxi_trips"].sum()],
                          "r_precip_surge": [overall["r"].iloc[0]]})
    order = {"dry": 0, "light": 1, "heavy": 2}
    g = g.sort_values("precip_category", key=lambda c: c.map(order))
    return pd.concat([g[["precip_category", "n", "mean_surge"]], total], ignore_index=True)


def summarize_safety(df: "pd.DataFrame") -> "pd.DataFrame":
    """Accidents per hour by condition (dry / rain) and the risk relative to dry hours at the same hours.

    ``relative_risk_vs_dry`` compares rainy hours with dry hours at the same
    weekday/weekend hour of day: accidents follow the traffic of the hour.
    ``crude_relative_risk_vs_dry`` is the plain ratio of means.
    """
    d = df.assign(weather=df["condition"].where(df["condition"] == "dry", "rain"),
                  weekend=_weekend(df["window_start"]), hour=df["window_start"].dt.hour, hours=1)
    g = d.groupby("weather", as_index=False).agg(hours=("accident_count", "size"),
                                                 accidents=("accident_count", "sum"))
    g["accidents_per_hour"] = g["accidents"] / g["hours"]
    dry = g.loc[g["weather"] == "dry", "accidents_per_hour"]
    g["crude_relative_risk_vs_dry"] = g["accidents_per_hour"] / (float(dry.iloc[0]) if len(dry) else math.nan)
    rain_rr = _standardized_ratio(d, d["weather"] == "rain", ["weekend", "hour"], "hours", "accident_count")
    g["relative_risk_vs_dry"] = g["weather"].map({"dry": 1.0, "rain": rain_rr})
    return g.sort_values("weather").reset_index(drop=True)


def summarize_usage(df: "pd.DataFrame") -> "pd.DataFrame":
    """Mean bike and taxi trips per hour of day, for weekdays and weekends."""
    g = df.groupby(["day_type", "hour_of_day"], as_index=False).agg(
        days=("date", "nunique"), bike_trips=("bike_count", "sum"), taxi_trips=("taxi_count", "sum"))
    g["bikes_per_day"] = g["bike_trips"] / g["days"]
    g["taxis_per_day"] = g["taxi_trips"] / g["days"]
    return g.sort_values(["day_type", "hour_of_day"]).reset_index(drop=True)


def summarize_multi_variable(df: "pd.DataFrame") -> dict[str, float]:
    """Totals and per-window means over the whole period."""
    t = df.sum(numeric_only=True)
    windows = float(t["windows"])
    out = {"windows": int(windows), "bike_trips": int(t["bike_trips"]), "taxi_trips": int(t["taxi_trips"]),
           "rainy_windows": int(t["rainy_windows"]),
           "mean_bike_count_per_window": float(t["bike_trips"]) / windows,
           "mean_taxi_count_per_window": float(t["taxi_trips"]) / windows}
    for v in WEATHER_VARS:
        out[f"mean_{v}"] = float(t[f"sum_{v}"]) / windows
    return out
