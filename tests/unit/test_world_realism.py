"""The simulated world stays believable in every season and for any seed: rain effects of published magnitudes
(docs/answer_key.md, "Calibration"), realistic rain intensities, and an answer key whose measured effects sit near
what the model planted (sampling noise, not a wrong pipeline)."""

from __future__ import annotations

from datetime import datetime

import pytest

from data_gen import GenParams, Simulation, build_answer_key
from data_gen.world import EFFECTS, rain_factor

SEASONS = {"winter": datetime(2018, 1, 15), "spring": datetime(2018, 4, 2), "summer": datetime(2018, 7, 9),
           "autumn": datetime(2018, 10, 8)}
SEEDS = (1, 2, 3)

# (relationship, plausible range of the planted value) -- docs/answer_key.md gives the sources.
PLAUSIBLE = {
    "precipitation_impact_taxi_count_heavy_vs_dry": (0.10, 1.00),
    "precipitation_impact_taxi_count_light_vs_dry": (0.02, 0.60),
    "precipitation_impact_bike_count_heavy_vs_dry": (-0.80, -0.20),
    "precipitation_impact_bike_count_light_vs_dry": (-0.60, -0.03),
    "weather_safety_relative_risk_rain_vs_dry": (1.05, 2.50),
}


@pytest.fixture(scope="module")
def worlds():
    out = {}
    for season, start in SEASONS.items():
        for seed in SEEDS:
            sim = Simulation(GenParams(days=7, seed=seed, scale=0.3, start=start))
            for _ in sim.deliveries():
                pass
            out[(season, seed)] = (sim, build_answer_key(sim))
    return out


def test_rain_effects_are_bounded_at_any_intensity():
    for mm in (0.0, 0.5, 2.5, 10.0, EFFECTS["rain_max_mm_h"], 200.0):
        assert 1 + EFFECTS["taxi_rain_max_change"] >= rain_factor(EFFECTS["taxi_rain_max_change"], mm) >= 1.0
        assert 1 + EFFECTS["bike_rain_max_change"] <= rain_factor(EFFECTS["bike_rain_max_change"], mm) <= 1.0
    assert rain_factor(EFFECTS["accident_rain_max_change"], 1e6) <= 2.5


def test_planted_effects_are_plausible_in_every_season_and_seed(worlds):
    measured = 0
    for (season, seed), (_, key) in worlds.items():
        rels = {r["name"]: r for r in key["relationships"]}
        for name, (low, high) in PLAUSIBLE.items():
            rel = rels[name]
            if not rel["measurable"]:
                assert rel["reason"] and "heavy" in name, (season, seed, name, rel["reason"])
                continue
            measured += 1
            assert low <= rel["planted_value"] <= high, (season, seed, name, rel["planted_value"])
    assert measured >= len(worlds) * 3, "light rain and accident risk are measurable in every week"


def test_measured_effects_are_near_the_planted_ones(worlds):
    """What one week shows differs from the model by sampling noise only (at scale 0.3, a dozen heavy-rain windows
    hold a few hundred trips; a week a few dozen accidents in rain)."""
    for (season, seed), (_, key) in worlds.items():
        for rel in key["relationships"]:
            if not rel["measurable"] or rel.get("planted_value") is None:
                continue
            if rel["analytic"] == "weather_safety_analysis":  # some tens of accidents in rain: a factor, not a gap
                assert 1 / 1.8 <= rel["expected"] / rel["planted_value"] <= 1.8, (season, seed, rel)
            else:
                assert abs(rel["expected"] - rel["planted_value"]) <= 0.2, (season, seed, rel["name"], rel)


def test_rain_intensity_is_realistic_for_boston(worlds):
    wet: dict[str, list[float]] = {s: [] for s in SEASONS}
    for (season, _), (sim, _) in worlds.items():
        wet[season] += [w.precip_intensity for w in sim.truth.weather if w.precip_intensity > 0]
    for season, values in wet.items():
        assert values and max(values) <= EFFECTS["rain_max_mm_h"], season
        heavy = sum(v >= 2.5 for v in values) / len(values)
        assert heavy < 0.4, f"{season}: {heavy:.0%} of rainy 5-minute steps heavy"
    mean = {s: sum(v) / len(v) for s, v in wet.items()}
    assert mean["summer"] > mean["winter"] and 0.3 < mean["winter"] < 3 and mean["summer"] < 5, mean


def test_the_key_is_strict_json_in_every_world(worlds, tmp_path):
    import json

    from data_gen import write_answer_key

    for (season, seed), (_, key) in worlds.items():
        path = write_answer_key(tmp_path / f"{season}-{seed}.json", key)
        json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in the {season} key"))
