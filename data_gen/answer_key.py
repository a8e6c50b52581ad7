"""The answer key: what a correct analytics job must find in a simulated period.

It holds the planted coefficients (:data:`data_gen.world.EFFECTS`), the exact
record counts per topic, and for each relationship the nine analytics measure
its expected direction, its value and a tolerance.  Values are computed from
the clean events a correct parser keeps, with the same definitions the Spark
analytics use (docs/analytics.md):

- windows are tumbling on event time: 15 minutes (``WINDOW_DURATION_MEDIUM``)
  for transport and weather, 1 hour (``WINDOW_DURATION_LONG``) for accidents;
- a window counts when it has at least one weather observation; its weather is
  the mean of its observations, and a window with no trips counts 0 trips;
- precipitation categories: dry (0 mm/h), light (< 2.5), heavy (>= 2.5);
  temperature bins of 5 degrees (``15_to_20C``);
- periods: night 22-6, weekday rush hour 7-10 and 16-19, otherwise leisure.

Tolerances allow for what a correct streaming job legitimately does
differently from this batch truth: late records past the watermark are left
out of windows.  Exact duplicates are not a reason: the analytics drop them,
so the key counts each event once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from .records import Simulation
from .world import EFFECTS, day_period, precip_category, step_rates, temp_bin

WINDOW = timedelta(minutes=15)
HOUR = timedelta(hours=1)
MIN_CELL_WINDOWS = 8  # binned cells with fewer windows are too noisy to check

WEATHER_VARS = ("temperature", "precip_intensity", "wind_speed", "visibility", "humidity")
TRANSPORT_VARS = ("bike_count", "taxi_count", "avg_surge")


def _floor(t: datetime, width: timedelta) -> datetime:
    seconds = int(width.total_seconds())
    epoch = int((t - datetime(1970, 1, 1)).total_seconds())
    return datetime(1970, 1, 1) + timedelta(seconds=epoch - epoch % seconds)


def expected_counts(sim: Simulation, width: timedelta = WINDOW) -> dict[datetime, dict[str, float]]:
    """The model's expected bikes, taxis and accidents per window, from each step's weather and clock.

    What the world planted, without the Poisson noise of one run: comparing a
    measured effect with it tells sampling noise from a wrong pipeline.
    """
    out: dict[datetime, dict[str, float]] = defaultdict(lambda: {"bike_count": 0.0, "taxi_count": 0.0,
                                                                 "accident_count": 0.0})
    for w in sim.truth.weather:
        rates = step_rates(w, sim.params.scale)
        row = out[_floor(w.time, width)]
        row["bike_count"] += rates.bikes
        row["taxi_count"] += rates.taxis
        row["accident_count"] += rates.accidents
    return dict(out)


def window_table(sim: Simulation, width: timedelta = WINDOW) -> dict[datetime, dict[str, float]]:
    """One row per window with weather: mean weather, bike/taxi/accident counts, mean surge and duration."""
    weather: dict[datetime, list] = defaultdict(list)
    for w in sim.truth.weather:
        weather[_floor(w.time, width)].append(w)
    rows: dict[datetime, dict[str, float]] = {}
    for start, obs in weather.items():
        rows[start] = {v: float(np.mean([getattr(o, v) for o in obs])) for v in WEATHER_VARS}
        rows[start].update(bike_count=0.0, taxi_count=0.0, accident_count=0.0, _surge_sum=0.0, _dur_sum=0.0)
    for when, duration in sim.truth.bike:
        row = rows.get(_floor(when, width))
        if row is not None:
            row["bike_count"] += 1
            row["_dur_sum"] += duration
    for when, surge in sim.truth.taxi:
        row = rows.get(_floor(when, width))
        if row is not None:
            row["taxi_count"] += 1
            row["_surge_sum"] += surge
    for (when,) in sim.truth.accidents:
        row = rows.get(_floor(when, width))
        if row is not None:
            row["accident_count"] += 1
    for row in rows.values():
        row["avg_surge"] = row.pop("_surge_sum") / row["taxi_count"] if row["taxi_count"] else math.nan
        row["avg_duration"] = row.pop("_dur_sum") / row["bike_count"] if row["bike_count"] else math.nan
    return dict(sorted(rows.items()))


def pearson(x: list[float], y: list[float]) -> tuple[float, int]:
    """Pearson's r over the pairs where both values are present, and that n."""
    pairs = [(a, b) for a, b in zip(x, y) if not (math.isnan(a) or math.isnan(b))]
    n = len(pairs)
    if n < 3:
        return math.nan, n
    xs, ys = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    if xs.std() == 0 or ys.std() == 0:
        return math.nan, n
    return float(np.corrcoef(xs, ys)[0, 1]), n


def _direction(value: float) -> str:
    return "positive" if value > 0 else "negative"


# The sign each relationship must have by construction (from EFFECTS), independent of any one run.
PLANTED = {
    ("bike_count", "temperature"): "positive" if EFFECTS["bike_temp_per_degree"] > 0 else "negative",
    ("bike_count", "precip_intensity"): "positive" if EFFECTS["bike_rain_max_change"] > 0 else "negative",
    ("taxi_count", "precip_intensity"): "positive" if EFFECTS["taxi_rain_max_change"] > 0 else "negative",
    ("avg_surge", "precip_intensity"): "positive" if EFFECTS["surge_rain_max"] > 0 else "negative",
}


def stratum(start: datetime, long_window: timedelta = HOUR) -> tuple[bool, int]:
    """The comparison stratum of a window: (weekend?, hour of day of its ``long_window`` group).

    Rain falls at any hour, but trips and accidents depend strongly on the hour:
    comparing rainy windows with dry windows *of the same hours* keeps a shower
    at 3 a.m. from looking like rain emptying the streets.
    """
    group = _floor(start, long_window)
    return group.weekday() >= 5, group.hour


def standardized_ratio(rows: list[tuple[Any, bool, float]]) -> tuple[float, int] | None:
    """Observed / expected of the exposed rows, expected from the unexposed rate of the same stratum.

    ``rows``: (stratum, exposed, count) per window.  Indirect standardisation:
    expected = sum over exposed windows of the mean count of unexposed windows in
    the same stratum; strata without unexposed windows are left out.  Returns
    (ratio, exposed windows used), or None when nothing is comparable.
    """
    base: dict[Any, list[float]] = defaultdict(list)
    for s, exposed, count in rows:
        if not exposed:
            base[s].append(count)
    observed = expected = 0.0
    used = 0
    for s, exposed, count in rows:
        if exposed and base.get(s):
            observed += count
            expected += float(np.mean(base[s]))
            used += 1
    if used == 0 or expected == 0:
        return None
    return observed / expected, used


def _rel(name: str, analytic: str, value: float, tolerance: float, planted: str, **extra: Any) -> dict[str, Any]:
    # A comparison over a few rain episodes can point against the planted effect:
    # rain that happened to fall at quiet hours confounds it.  Said, not hidden.
    direction = _direction(value)
    return {"name": name, "analytic": analytic, "planted_direction": planted, "measurable": True, "direction": direction,
            "agrees_with_planted": direction == planted, "expected": round(value, 4), "tolerance": tolerance,
            **extra}


def _not_measurable(name: str, analytic: str, planted: str, reason: str, **extra: Any) -> dict[str, Any]:
    """A relationship this run cannot measure (no rain, no accidents...): said, with the reason, never a NaN."""
    return {"name": name, "analytic": analytic, "planted_direction": planted, "measurable": False, "reason": reason,
            "direction": None, "agrees_with_planted": None, "expected": None, "tolerance": None, **extra}


def _why_no_r(x: list[float], y: list[float], xname: str, yname: str) -> str:
    pairs = [(a, b) for a, b in zip(x, y) if not (math.isnan(a) or math.isnan(b))]
    if len(pairs) < 3:
        return f"fewer than 3 windows with both {xname} and {yname}"
    constant = [n for n, vals in ((xname, [a for a, _ in pairs]), (yname, [b for _, b in pairs]))
                if np.std(vals) == 0]
    return f"{' and '.join(constant)} does not vary in this run (r is undefined)"


def _ratio_tolerance(ratio: float, share: float, floor: float) -> float:
    """A tolerance for a quantity that is a ratio: ``share`` of the ratio, never below ``floor``."""
    return round(max(floor, share * abs(ratio)), 4)


def build_answer_key(sim: Simulation, window: timedelta = WINDOW, long_window: timedelta = HOUR) -> dict[str, Any]:
    """The full answer key of a finished simulation (its deliveries already iterated).

    ``window`` and ``long_window`` must be the analytics' ``WINDOW_DURATION_MEDIUM``
    and ``WINDOW_DURATION_LONG``: the key is computed with the same windows.
    """
    p = sim.params
    label = f"{int(window.total_seconds() // 60)} minutes"
    rows = window_table(sim, window)
    starts = list(rows)
    col = {k: [rows[s][k] for s in starts] for k in (*WEATHER_VARS, *TRANSPORT_VARS, "accident_count", "avg_duration")}
    relationships: list[dict[str, Any]] = []

    # Analytics 5 (Pearson) and 1/3 (weather-transport, surge-weather): r across 15-minute windows.
    pearson_table = []
    for x in WEATHER_VARS:
        for y in TRANSPORT_VARS:
            r, n = pearson(col[x], col[y])
            pearson_table.append({"x": x, "y": y, "r": None if math.isnan(r) else round(r, 4), "n": n})
    planted = [("bike_count", "temperature", "pearson_correlations"),
               ("bike_count", "precip_intensity", "pearson_correlations"),
               ("taxi_count", "precip_intensity", "pearson_correlations"),
               ("avg_surge", "precip_intensity", "surge_weather_correlation")]
    for y, x, analytic in planted:
        r, n = pearson(col[x], col[y])
        name = f"pearson_{y}_vs_{x}"
        if math.isnan(r):
            relationships.append(_not_measurable(name, analytic, PLANTED[(y, x)], _why_no_r(col[x], col[y], x, y),
                                                 x=x, y=y, n=n, window=label))
        else:
            relationships.append(_rel(name, analytic, r, 0.05, PLANTED[(y, x)], x=x, y=y, n=n, window=label))

    # Analytics 7 (precipitation impact): trips per window by category, and the change relative to dry windows
    # of the same hours (weekday or weekend, hour of day): a crude comparison of means is confounded by the hour.
    by_cat: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    cats = {s: precip_category(rows[s]["precip_intensity"]) for s in starts}
    model = expected_counts(sim, window)
    for s in starts:
        for y in ("bike_count", "taxi_count"):
            by_cat[cats[s]][y].append(rows[s][y])
    impact = {cat: {y: {"windows": len(v), "mean": round(float(np.mean(v)), 4)} for y, v in ys.items()}
              for cat, ys in sorted(by_cat.items())}
    for cat in ("light", "heavy"):
        for y in ("bike_count", "taxi_count"):
            name, planted_dir = f"precipitation_impact_{y}_{cat}_vs_dry", PLANTED[(y, "precip_intensity")]
            windows = len(by_cat[cat][y]) if cat in by_cat else 0
            ratio = standardized_ratio([(stratum(s, long_window), cats[s] == cat, rows[s][y])
                                        for s in starts if cats[s] in (cat, "dry")])
            if windows < MIN_CELL_WINDOWS or ratio is None:
                why = (f"only {windows} windows with {cat} rain (needs {MIN_CELL_WINDOWS})" if windows < MIN_CELL_WINDOWS
                       else f"no dry window at the hours of the {cat}-rain windows, or no {y.split('_')[0]} trips")
                relationships.append(_not_measurable(name, "precipitation_impact", planted_dir, why, category=cat, y=y))
                continue
            change = ratio[0] - 1
            planted = standardized_ratio([(stratum(s, long_window), cats[s] == cat, model[s][y])
                                          for s in starts if cats[s] in (cat, "dry")])
            impact[cat][y]["change_vs_dry_same_hours"] = round(change, 4)
            # A relative change is a ratio minus one: its tolerance is a share of the ratio (+29 is a ratio of 30).
            relationships.append(_rel(name, "precipitation_impact", change, _ratio_tolerance(1 + change, 0.1, 0.1),
                                      planted_dir, category=cat, y=y, windows_compared=ratio[1],
                                      planted_value=round(planted[0] - 1, 4) if planted else None))

    # Analytics 8 (temporal segments): r(bike_count, precip) per day type and period.
    segments: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for s in starts:
        segments[day_period(s)].append(s)
    temporal = []
    for (day_type, period), ss in sorted(segments.items()):
        precip, bikes = [rows[s]["precip_intensity"] for s in ss], [rows[s]["bike_count"] for s in ss]
        r, n = pearson(precip, bikes)
        entry = {"day_type": day_type, "period": period, "n": n, "r": None if math.isnan(r) else round(r, 4)}
        temporal.append(entry)
        name, planted_dir = (f"temporal_bike_count_vs_precip_{day_type}_{period}",
                             PLANTED[("bike_count", "precip_intensity")])
        if math.isnan(r) or n < 40:
            why = _why_no_r(precip, bikes, "precip_intensity", "bike_count") if math.isnan(r) else \
                f"only {n} windows in this segment (needs 40)"
            relationships.append(_not_measurable(name, "temporal_correlations", planted_dir, why, day_type=day_type,
                                                 period=period, n=n))
        else:
            relationships.append(_rel(name, "temporal_correlations", r, 0.1, planted_dir, day_type=day_type,
                                      period=period, n=n))

    # Analytics 6 (binned): per temperature bin and precipitation category.
    cells: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for s in starts:
        cells[(temp_bin(rows[s]["temperature"]), precip_category(rows[s]["precip_intensity"]))].append(s)
    binned = []
    for (tb, cat), ss in sorted(cells.items()):
        if len(ss) < MIN_CELL_WINDOWS:
            continue
        binned.append({"temp_bin": tb, "precip_category": cat, "windows": len(ss),
                       "mean_bike_count": round(float(np.mean([rows[s]["bike_count"] for s in ss])), 4),
                       "mean_taxi_count": round(float(np.mean([rows[s]["taxi_count"] for s in ss])), 4),
                       "relative_tolerance": 0.1})

    # Analytics 2 (weather-safety): accidents per hour by condition, risk relative to dry hours at the same
    # hour of the day (weekday or weekend).
    hours = window_table(sim, long_window)
    acc: dict[str, list[float]] = defaultdict(list)
    for row in hours.values():
        acc["rain" if row["precip_intensity"] > 0 else "dry"].append(row["accident_count"])
    safety = {cond: {"hours": len(v), "accidents_per_hour": round(float(np.mean(v)), 4)} for cond, v in acc.items()}
    long_label = f"{int(long_window.total_seconds() // 60)} minutes"
    safety_name = "weather_safety_relative_risk_rain_vs_dry"
    standardized = standardized_ratio([(stratum(h, long_window), row["precip_intensity"] > 0, row["accident_count"])
                                       for h, row in hours.items()])
    if acc.get("rain") and acc.get("dry") and standardized is not None:
        rr = standardized[0]
        model_hours = expected_counts(sim, long_window)
        planted_rr = standardized_ratio([(stratum(h, long_window), row["precip_intensity"] > 0,
                                          model_hours[h]["accident_count"]) for h, row in hours.items()])
        safety["rain"]["relative_risk_vs_dry_same_hours"] = round(rr, 4)
        relationships.append({"name": safety_name, "analytic": "weather_safety_analysis", "measurable": True,
                              "planted_direction": "above 1", "direction": "above 1" if rr > 1 else "below 1",
                              "agrees_with_planted": rr > 1, "expected": round(rr, 4),
                              "tolerance": _ratio_tolerance(rr, 0.25, 0.25), "window": long_label,
                              "hours_compared": standardized[1],
                              "planted_value": round(planted_rr[0], 4) if planted_rr else None})
    else:
        why = ("no hour with rain" if not acc.get("rain") else "no dry hour" if not acc.get("dry")
               else "no accident in the dry hours at the rainy hours' times of day")
        relationships.append(_not_measurable(safety_name, "weather_safety_analysis", "above 1", why,
                                             window=long_label))

    # Analytics 4 (usage summary): the busiest weekday hour for bikes is a rush hour.
    per_hour: dict[int, float] = defaultdict(float)
    for when, _ in sim.truth.bike:
        if when.weekday() < 5:
            per_hour[when.hour] += 1
    peak = max(per_hour, key=per_hour.get) if per_hour else None

    totals = {"bike_trips": len(sim.truth.bike), "taxi_trips": len(sim.truth.taxi),
              "accidents": len(sim.truth.accidents), "weather_observations": len(sim.truth.weather),
              "windows": len(rows), "window": label,
              "mean_bike_count_per_window": round(float(np.mean(col["bike_count"])), 4),
              "mean_taxi_count_per_window": round(float(np.mean(col["taxi_count"])), 4)}
    return {
        "about": "Answer key of a data_gen simulation: what the nine analytics must recover (docs/answer_key.md).",
        "params": {"days": p.days, "seed": p.seed, "start": p.start.isoformat(), "scale": p.scale,
                   "late_fraction": p.late_fraction, "late_mean_minutes": p.late_mean_minutes,
                   "duplicate_fraction": p.duplicate_fraction, "malformed_fraction": p.malformed_fraction,
                   "watermark_minutes": p.watermark_minutes},
        "coefficients": dict(EFFECTS),
        "counts": {t: c.as_dict() for t, c in sim.counts.items()},
        "relationships": relationships,
        "pearson": pearson_table,
        "precipitation_impact": impact,
        "temporal": temporal,
        "binned": binned,
        "weather_safety": safety,
        "usage": {"weekday_bike_peak_hour": peak, "weekday_bike_peak_expected_in": [7, 8, 9, 16, 17, 18]},
        "multi_variable": totals,
    }
