"""The rain summaries compare with dry windows of the same weekday/weekend hour (by hand on a tiny table), keep the
crude ratio beside it, say NaN when no dry window shares the hour, and raise no pandas warning (a warning would land
in a notebook's output)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from etl_lib.summaries import summarize_precipitation_impact, summarize_safety

pytestmark = pytest.mark.filterwarnings("error")


def test_precipitation_change_against_the_same_hours():
    df = pd.DataFrame({
        "group_start": pd.to_datetime(["2018-04-02 08:00", "2018-04-02 08:00", "2018-04-03 08:00",
                                       "2018-04-02 03:00", "2018-04-03 03:00", "2018-04-02 09:00"]),
        "precip_category": ["dry", "light", "dry", "dry", "light", "heavy"],
        "windows": [3, 1, 4, 4, 4, 4], "bike_trips": [30, 5, 40, 4, 2, 20], "taxi_trips": [3, 2, 4, 8, 8, 5]})
    out = summarize_precipitation_impact(df).set_index("precip_category")
    # light: 5 trips in 1 window at 8 (dry 70/7 = 10 a window) and 2 in 4 windows at 3 (dry 1 a window).
    assert out.loc["light", "bike_count_change_vs_dry"] == pytest.approx(7 / (10 + 4) - 1)
    # crude: 7 trips in 5 windows against 74 in 11 dry windows, mixing 8 a.m. and 3 a.m.
    assert out.loc["light", "bike_count_crude_change_vs_dry"] == pytest.approx((7 / 5) / (74 / 11) - 1)
    assert math.isnan(out.loc["heavy", "bike_count_change_vs_dry"]), "no dry window at 9: nothing to compare"
    assert out.loc["dry", "taxi_count_change_vs_dry"] == 0.0


def test_accident_risk_against_the_same_hours():
    df = pd.DataFrame({
        "window_start": pd.to_datetime(["2018-04-02 08:00", "2018-04-03 08:00", "2018-04-04 08:00",
                                        "2018-04-02 02:00", "2018-04-03 02:00"]),
        "accident_count": [2, 4, 3, 0, 1], "condition": ["dry", "light", "dry", "dry", "heavy"]})
    out = summarize_safety(df).set_index("weather")
    # rain: 4 at 8 (dry rate 2.5) and 1 at 2 (dry rate 0): 5 / 2.5
    assert out.loc["rain", "relative_risk_vs_dry"] == pytest.approx(2.0)
    assert out.loc["rain", "crude_relative_risk_vs_dry"] == pytest.approx((5 / 2) / (5 / 3))
