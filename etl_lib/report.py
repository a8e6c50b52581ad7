"""Read the analytics outputs, merge them into tables, check them against the answer key, write PNGs and HTML.

The analytics outputs are small, so they are read with pandas (pyarrow); Spark
is not needed here.  They are read through the sinks' commit logs
(:func:`etl_lib.commit_log.read_sink`), so a file left by a micro-batch that was
killed before it committed is never counted.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from . import plots
from . import summaries as _summaries
from .commit_log import committed_batches, read_sink
from .core.catalog import ANALYTICS
from .core.settings import Settings, get_settings

__all__ = ["read_analytics", "summaries", "check_answer_key", "answer_key_summary", "write_report"]


def read_analytics(name: str, settings: Settings | None = None) -> pd.DataFrame | None:
    """One analytics output as a pandas DataFrame, or None when it was not written (flag off, no run yet)."""
    s = settings or get_settings()
    path = s.analytics_output_path / name
    if not committed_batches(path):
        return None
    return read_sink(path)


def summaries(settings: Settings | None = None) -> dict[str, Any]:
    """Every available analytics output, merged into its graph-ready table (name -> DataFrame or dict)."""
    out: dict[str, Any] = {}
    for a in ANALYTICS:
        if a.summarize is None:
            continue
        df = read_analytics(a.name, settings)
        if df is not None and len(df):
            out[a.name] = getattr(_summaries, a.summarize)(df)
    return out


def _measured(rel: dict[str, Any], s: dict[str, Any]) -> float | None:
    """The value the analytics outputs give for one answer-key relationship, or None if not computed."""
    a = rel["analytic"]
    if a == "pearson_correlations" and a in s:
        row = s[a][(s[a]["x_name"] == rel["x"]) & (s[a]["y_name"] == rel["y"])]
        return float(row["r"].iloc[0]) if len(row) else None
    if a == "surge_weather_correlation" and a in s:
        return float(s[a].loc[s[a]["precip_category"] == "all", "r_precip_surge"].iloc[0])
    if a == "precipitation_impact" and a in s:
        row = s[a][s[a]["precip_category"] == rel["category"]]
        return float(row[f"{rel['y']}_change_vs_dry"].iloc[0]) if len(row) else None
    if a == "temporal_correlations" and a in s:
        t = s[a]
        row = t[(t["day_type"] == rel["day_type"]) & (t["period"] == rel["period"])
                & (t["x_name"] == "precip_intensity") & (t["y_name"] == "bike_count")]
        return float(row["r"].iloc[0]) if len(row) else None
    if a == "weather_safety_analysis" and a in s:
        row = s[a][s[a]["weather"] == "rain"]
        return float(row["relative_risk_vs_dry"].iloc[0]) if len(row) else None
    return None


def check_answer_key(s: dict[str, Any], key: dict[str, Any]) -> pd.DataFrame:
    """One row per answer-key relationship: expected, tolerance, measured, and whether it is within tolerance.

    A relationship the run cannot measure (no rain, no accidents) has
    ``measurable`` False, its ``reason``, and ``within_tolerance`` None: it is
    neither recovered nor missed.
    """
    rows = []
    for rel in key["relationships"]:
        if not rel.get("measurable", True):
            rows.append({"relationship": rel["name"], "analytic": rel["analytic"], "expected": None,
                         "tolerance": None, "measured": None, "within_tolerance": None, "measurable": False,
                         "reason": rel["reason"]})
            continue
        measured = _measured(rel, s)
        ok = measured is not None and not math.isnan(measured) and abs(measured - rel["expected"]) <= rel["tolerance"]
        rows.append({"relationship": rel["name"], "analytic": rel["analytic"], "expected": rel["expected"],
                     "tolerance": rel["tolerance"], "measured": measured, "within_tolerance": ok, "measurable": True,
                     "reason": None})
    return pd.DataFrame(rows, columns=["relationship", "analytic", "expected", "tolerance", "measured",
                                       "within_tolerance", "measurable", "reason"])


def answer_key_summary(check: pd.DataFrame) -> str:
    """"n of m measurable relationships recovered, k not measurable because ..." for a check table."""
    measurable = check[check["measurable"]]
    recovered = int(measurable["within_tolerance"].astype(bool).sum())
    text = f"{recovered} of {len(measurable)} measurable relationships recovered within tolerance"
    skipped = check[~check["measurable"]]
    if len(skipped):
        reasons = "; ".join(f"{r.relationship}: {r.reason}" for r in skipped.itertuples())
        text += f", {len(skipped)} not measurable in this run ({reasons})"
    return text


# Figures that read better in another shape than the report's usual 7 x 4 inches.
_SIZES = {"plot_correlation_heatmap": (6.5, 4.5)}


def _figure(draw, *args: Any, size: tuple[float, float] = (7, 4)):
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    draw(*args, ax=fig.add_subplot())
    return fig


def write_report(settings: Settings | None = None, answer_key: Path | None = None) -> Path:
    """Write PNG plots and ``index.html`` to ``DATA_DIR/report``; returns the HTML file's path."""
    s = settings or get_settings()
    out = s.data_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    sums = summaries(s)
    figures = [(f"{a.name}.png", a.title[:1].upper() + a.title[1:],
                _figure(getattr(plots, a.plot), sums[a.name], size=_SIZES.get(a.plot, (7, 4))))
               for a in ANALYTICS if a.plot is not None and a.name in sums]
    realtime, sliding = (read_analytics(n, s) for n in ("realtime_transport_usage", "sliding_transport_usage"))
    if realtime is not None and sliding is not None and len(realtime) and len(sliding):
        first_day = realtime["window_start"].min().normalize()
        one_day = [df[(df["window_start"] >= first_day) & (df["window_start"] < first_day + pd.Timedelta(days=1))]
                   for df in (realtime, sliding)]
        figures.append(("short_and_sliding_windows.png", "Bike trips per minute: short and sliding windows, first day",
                        _figure(plots.plot_short_and_sliding, *one_day, size=(8, 3.6))))
    for filename, _, fig in figures:
        fig.savefig(out / filename, dpi=110)

    key_path = answer_key or s.data_dir / "answer_key.json"
    parts = ["<!doctype html><meta charset='utf-8'><title>Boston 2018 ETL report</title>",
             "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}img{max-width:100%}</style>",
             "<h1>Boston 2018 ETL report</h1>",
             f"<p>Analytics read from <code>{html.escape(str(s.analytics_output_path))}</code>.</p>"]
    if key_path.exists():
        check = check_answer_key(sums, json.loads(key_path.read_text()))
        parts.append(f"<h2>Answer key</h2><p>{html.escape(answer_key_summary(check))}.</p>")
        parts.append(check.to_html(index=False, float_format=lambda v: f"{v:.3f}"))
    for filename, title, _ in figures:
        parts.append(f"<h2>{html.escape(title)}</h2><img src='{filename}' alt='{html.escape(title)}'>")
    for name in ("precipitation_impact", "surge_weather_correlation", "weather_safety_analysis",
                 "weather_binned_metrics"):
        if name in sums:
            parts.append(f"<h2>{name.replace('_', ' ')}</h2>")
            parts.append(sums[name].to_html(index=False, float_format=lambda v: f"{v:.3f}"))
    if "multi_variable_summary" in sums:
        parts.append("<h2>multi-variable summary</h2><table>" + "".join(
            f"<tr><th>{k}</th><td>{v:.3f}</td></tr>" if isinstance(v, float) else f"<tr><th>{k}</th><td>{v}</td></tr>"
            for k, v in sums["multi_variable_summary"].items()) + "</table>")
    page = out / "index.html"
    page.write_text("\n".join(parts) + "\n")
    return page
