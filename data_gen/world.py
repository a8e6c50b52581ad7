"""The simulated Boston 2018 mobility world: places, weather and demand, with every effect in one table.

The world advances in 5-minute steps.  Each step has a weather state
(temperature, rain, wind, visibility) and, from it and the clock, an expected
number of bike trips, taxi rides and accidents.  The effects planted here are
what the analytics must later find; :data:`EFFECTS` holds all their sizes, and
the answer key copies it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator

from etl_lib.core.kinds import TIME_FORMAT

STEP = timedelta(minutes=5)
STEPS_PER_HOUR = 12

# Every planted effect, in one place.  Rates are per hour at scale 1.0, close to
# the real city's order of magnitude (Bluebikes 2018: ~1.8M trips a year; Boston
# rideshare: tens of thousands of rides a day; Vision Zero: ~25 crashes a day).
# Rain effects saturate: rate x (1 + max_change * (1 - exp(-mm_h / rain_effect_scale_mm_h))), so light rain
# has most of its effect at a few mm/h and a cloudburst cannot multiply demand without bound.  The sizes are
# calibrated to published magnitudes (docs/answer_key.md, "Calibration").
EFFECTS: dict[str, float] = {
    # bikes
    "bike_base_per_hour": 200.0,          # at 15 C, dry, average hour
    "bike_temp_per_degree": 0.04,         # log-rate change per degree C above 15
    "bike_rain_max_change": -0.55,        # bike trips at most 55% fewer in heavy rain
    "bike_duration_median_subscriber_s": 660.0,
    "bike_duration_median_customer_s": 1320.0,
    "bike_duration_rain_factor": 0.85,    # trips in rain are shorter
    "bike_customer_share": 0.18,
    # taxis
    "taxi_base_per_hour": 650.0,
    "taxi_rain_max_change": 0.40,         # ride-hailing at most 40% more in heavy rain
    "surge_rain_max": 0.25,               # surge pressure added by heavy rain
    "surge_rush": 0.12,                   # surge pressure in rush hour
    "surge_noise_sd": 0.12,
    # accidents
    "accident_base_per_hour": 1.0,
    "accident_rain_max_change": 1.00,     # crash rate at most 2x in heavy rain
    "accident_low_visibility": 0.15,      # log-rate change from 16 km to 0 km visibility
    "accident_rush": 0.5,                 # log-rate change in rush hour
    "rain_effect_scale_mm_h": 2.0,        # mm/h at which a rain effect reaches 63% of its maximum
    # weather
    "rain_starts_per_day": 1.0,
    "rain_mean_hours": 5.0,
    "rain_median_mm_h": 1.2,              # spring and autumn; times the season's factor below
    "rain_intensity_season_amplitude": 0.35,  # summer showers heavier, winter rain lighter
    "rain_max_mm_h": 25.0,                # a Boston cloudburst, hourly rate
    "temp_daily_amplitude_c": 4.0,
    "temp_rain_drop_c": 2.0,
}


def rain_factor(max_change: float, mm_h: float) -> float:
    """The multiplier of a saturating rain effect: 1 when dry, approaching 1 + max_change in heavy rain."""
    return 1.0 + max_change * (1.0 - math.exp(-mm_h / EFFECTS["rain_effect_scale_mm_h"]))


def rain_intensity_factor(when: datetime) -> float:
    """Seasonal scale of rain intensity: about 1.35 in late July (convective showers), 0.65 in late January."""
    doy = when.timetuple().tm_yday
    return 1.0 - EFFECTS["rain_intensity_season_amplitude"] * math.cos(2 * math.pi * (doy - 20) / 365.0)

SURGE_LEVELS = (1.0, 1.25, 1.5, 1.75, 2.0, 2.5)

# Precipitation categories and temperature bins: the analytics use the same ones.
LIGHT_RAIN_MIN = 0.0     # > 0 mm/h is rain
HEAVY_RAIN_MIN = 2.5     # >= 2.5 mm/h is heavy rain
TEMP_BIN_WIDTH = 5


def precip_category(mm_h: float) -> str:
    """``dry`` (0 mm/h), ``light`` (under 2.5 mm/h) or ``heavy`` rain."""
    if mm_h <= LIGHT_RAIN_MIN:
        return "dry"
    return "light" if mm_h < HEAVY_RAIN_MIN else "heavy"


def temp_bin(celsius: float) -> str:
    """5-degree bins labelled like ``15_to_20C`` (``-5_to_0C`` below zero)."""
    lo = math.floor(celsius / TEMP_BIN_WIDTH) * TEMP_BIN_WIDTH
    return f"{lo}_to_{lo + TEMP_BIN_WIDTH}C"


def day_period(when: datetime) -> tuple[str, str]:
    """(``weekday``|``weekend``, ``rush_hour``|``leisure``|``night``) of a local time."""
    weekend = when.weekday() >= 5
    h = when.hour
    if h >= 22 or h < 6:
        period = "night"
    elif not weekend and (7 <= h < 10 or 16 <= h < 19):
        period = "rush_hour"
    else:
        period = "leisure"
    return ("weekend" if weekend else "weekday", period)


# ---------------------------------------------------------------------- places
@dataclass(frozen=True)
class Place:
    id: int
    name: str
    latitude: float
    longitude: float


STATIONS: tuple[Place, ...] = tuple(
    Place(i, n, lat, lon)
    for i, (n, lat, lon) in enumerate(
        [
            ("MIT at Mass Ave / Amherst St", 42.3581, -71.0932),
            ("South Station - 700 Atlantic Ave", 42.3522, -71.0555),
            ("Central Square at Mass Ave / Essex St", 42.3651, -71.1031),
            ("Harvard Square at Mass Ave / Dunster", 42.3733, -71.1186),
            ("Kendall T", 42.3624, -71.0850),
            ("Back Bay T Stop - Dartmouth St", 42.3478, -71.0752),
            ("Boston Public Library - 700 Boylston St", 42.3493, -71.0781),
            ("Copley Square - Dartmouth St / Boylston St", 42.3500, -71.0774),
            ("North Station - Causeway St", 42.3664, -71.0614),
            ("Government Center - Cambridge St", 42.3597, -71.0593),
            ("Charles Circle - Charles St / Cambridge St", 42.3607, -71.0706),
            ("Boston University - Commonwealth Ave", 42.3504, -71.1054),
            ("Fenway Park - Lansdowne St", 42.3467, -71.0972),
            ("Northeastern University - Huntington Ave", 42.3398, -71.0891),
            ("Longwood Ave / Binney St", 42.3382, -71.1068),
            ("Seaport Square - Seaport Blvd", 42.3513, -71.0447),
            ("Innovation District - Congress St", 42.3484, -71.0472),
            ("Chinatown T Stop", 42.3524, -71.0622),
            ("Tremont St / West St", 42.3545, -71.0628),
            ("Beacon St / Massachusetts Ave", 42.3509, -71.0898),
            ("Inman Square at Springfield St", 42.3741, -71.1009),
            ("Porter Square Station", 42.3883, -71.1190),
            ("Davis Square", 42.3966, -71.1226),
            ("JFK / UMass T Stop", 42.3204, -71.0524),
            ("Andrew Station - Dorchester Ave", 42.3301, -71.0570),
            ("Jamaica Plain - Centre St", 42.3099, -71.1149),
            ("Ruggles T Stop - Columbus Ave", 42.3361, -71.0889),
            ("Roxbury Crossing T Stop", 42.3314, -71.0953),
            ("East Boston - Maverick Square", 42.3691, -71.0395),
            ("Charlestown - Main St", 42.3769, -71.0631),
        ],
        start=3,
    )
)

# The twelve neighbourhoods of the Uber/Lyft Boston rides data.
TAXI_PLACES: tuple[Place, ...] = tuple(
    Place(i, n, lat, lon)
    for i, (n, lat, lon) in enumerate(
        [
            ("Back Bay", 42.3503, -71.0810),
            ("Beacon Hill", 42.3588, -71.0707),
            ("Boston University", 42.3505, -71.1054),
            ("Fenway", 42.3429, -71.1003),
            ("Financial District", 42.3559, -71.0550),
            ("Haymarket Square", 42.3628, -71.0581),
            ("North End", 42.3647, -71.0542),
            ("North Station", 42.3661, -71.0621),
            ("Northeastern University", 42.3398, -71.0892),
            ("South Station", 42.3519, -71.0552),
            ("Theatre District", 42.3519, -71.0643),
            ("West End", 42.3644, -71.0661),
        ]
    )
)

# (cab type, product name, base fare, per mile)
TAXI_PRODUCTS = (
    ("Uber", "UberX", 7.0, 1.7),
    ("Uber", "UberPool", 5.0, 1.2),
    ("Uber", "Black", 15.0, 3.2),
    ("Uber", "UberXL", 10.0, 2.6),
    ("Lyft", "Lyft", 7.0, 1.7),
    ("Lyft", "Shared", 5.0, 1.1),
    ("Lyft", "Lux", 14.0, 3.0),
    ("Lyft", "Lyft XL", 10.0, 2.5),
)

STREETS = (
    "Massachusetts Ave", "Washington St", "Blue Hill Ave", "Columbus Ave", "Tremont St", "Boylston St",
    "Commonwealth Ave", "Dorchester Ave", "Beacon St", "Cambridge St", "Centre St", "Huntington Ave",
    "American Legion Hwy", "Morton St", "Columbia Rd", "Hyde Park Ave", "Gallivan Blvd", "Morrissey Blvd",
)


# ---------------------------------------------------------------------- weather
@dataclass(frozen=True)
class Weather:
    """One 5-minute weather state."""

    time: datetime
    temperature: float
    apparent_temperature: float
    precip_intensity: float
    humidity: float
    wind_speed: float
    visibility: float
    summary: str


def seasonal_mean_c(when: datetime) -> float:
    """Boston's mean temperature for the day of year: about -2 C in late January, 23 C in late July."""
    doy = when.timetuple().tm_yday
    return 10.5 - 12.5 * math.cos(2 * math.pi * (doy - 20) / 365.0)


def weather_steps(start: datetime, steps: int, rng: random.Random) -> Iterator[Weather]:
    """The weather every 5 minutes: seasonal and daily cycles, persistent rain episodes."""
    p_start = EFFECTS["rain_starts_per_day"] / (24 * STEPS_PER_HOUR)
    p_end = 1.0 / (EFFECTS["rain_mean_hours"] * STEPS_PER_HOUR)
    raining, episode_mm = False, 0.0
    anomaly = 0.0
    clouds = rng.choice(("Clear", "Partly Cloudy", "Mostly Cloudy"))
    for k in range(steps):
        t = start + k * STEP
        if raining and rng.random() < p_end:
            raining = False
        elif not raining and rng.random() < p_start:
            raining = True
            episode_mm = rng.lognormvariate(math.log(EFFECTS["rain_median_mm_h"] * rain_intensity_factor(t)), 0.7)
        precip = round(min(EFFECTS["rain_max_mm_h"], episode_mm * rng.lognormvariate(0, 0.35)), 2) if raining else 0.0
        anomaly = 0.98 * anomaly + rng.gauss(0, 0.25)  # slow weather-system drift
        hour = t.hour + t.minute / 60.0
        temp = (seasonal_mean_c(t) + EFFECTS["temp_daily_amplitude_c"] * math.cos(2 * math.pi * (hour - 15) / 24)
                + anomaly - (EFFECTS["temp_rain_drop_c"] if raining else 0.0))
        wind = max(0.0, 3.5 + (3.0 if raining else 0.0) + rng.gauss(0, 1.2))
        humidity = min(1.0, max(0.2, 0.62 + (0.3 if raining else 0.0) + rng.gauss(0, 0.05)))
        visibility = 16.0 if not raining else max(0.5, 16.0 - 3.0 * precip - abs(rng.gauss(0, 1.0)))
        if rng.random() < 0.01:
            clouds = rng.choice(("Clear", "Partly Cloudy", "Mostly Cloudy", "Overcast"))
        if raining:
            if temp <= 0:
                summary = "Snow"
            else:
                summary = "Light Rain" if precip < 1.0 else ("Rain" if precip < HEAVY_RAIN_MIN else "Heavy Rain")
        else:
            summary = clouds
        yield Weather(
            time=t,
            temperature=round(temp, 2),
            apparent_temperature=round(temp - 0.7 * wind + (2.0 * (humidity - 0.6) if temp > 20 else 0.0), 2),
            precip_intensity=precip,
            humidity=round(humidity, 2),
            wind_speed=round(wind, 2),
            visibility=round(visibility, 2),
            summary=summary,
        )


# ---------------------------------------------------------------------- demand
def _bike_daily_shape(hour: float, weekend: bool) -> float:
    if weekend:
        return 0.15 + 1.9 * math.exp(-((hour - 14.0) ** 2) / (2 * 3.0**2))
    return (0.12 + 2.6 * math.exp(-((hour - 8.2) ** 2) / (2 * 1.0**2))
            + 2.9 * math.exp(-((hour - 17.5) ** 2) / (2 * 1.3**2)) + 0.8 * math.exp(-((hour - 12.5) ** 2) / 8.0))


def _taxi_daily_shape(hour: float, weekend: bool) -> float:
    late = min(abs(hour - 23.5), 24 - abs(hour - 23.5))
    if weekend:
        return 0.35 + 1.3 * math.exp(-((hour - 14.0) ** 2) / 18.0) + 1.6 * math.exp(-(late**2) / 4.0)
    return (0.25 + 1.7 * math.exp(-((hour - 8.3) ** 2) / 2.0) + 1.9 * math.exp(-((hour - 18.0) ** 2) / 3.0)
            + 0.7 * math.exp(-(late**2) / 3.0))


def _accident_daily_shape(hour: float) -> float:
    return 0.4 + 0.9 * math.exp(-((hour - 16.5) ** 2) / 12.0) + 0.4 * math.exp(-((hour - 8.0) ** 2) / 4.0)


# Normalise each shape to a mean of 1 over a week, so base rates mean "average hour".
def _mean_shape(fn) -> float:
    return sum(fn(h / 4.0, d >= 5) for d in range(7) for h in range(96)) / (7 * 96)


_BIKE_NORM = _mean_shape(_bike_daily_shape)
_TAXI_NORM = _mean_shape(_taxi_daily_shape)
_ACC_NORM = _mean_shape(lambda h, _w: _accident_daily_shape(h))


@dataclass(frozen=True)
class Rates:
    """Expected events in one 5-minute step."""

    bikes: float
    taxis: float
    accidents: float
    surge_pressure: float


def step_rates(w: Weather, scale: float) -> Rates:
    """The planted model: expected counts in one step from its weather and clock."""
    t = w.time
    hour = t.hour + t.minute / 60.0
    weekend = t.weekday() >= 5
    rush = day_period(t)[1] == "rush_hour"
    e = EFFECTS
    bikes = (e["bike_base_per_hour"] / STEPS_PER_HOUR * _bike_daily_shape(hour, weekend) / _BIKE_NORM
             * math.exp(e["bike_temp_per_degree"] * (w.temperature - 15.0))
             * rain_factor(e["bike_rain_max_change"], w.precip_intensity))
    taxis = (e["taxi_base_per_hour"] / STEPS_PER_HOUR * _taxi_daily_shape(hour, weekend) / _TAXI_NORM
             * rain_factor(e["taxi_rain_max_change"], w.precip_intensity))
    accidents = (e["accident_base_per_hour"] / STEPS_PER_HOUR * _accident_daily_shape(hour) / _ACC_NORM
                 * rain_factor(e["accident_rain_max_change"], w.precip_intensity)
                 * math.exp(e["accident_low_visibility"] * (16.0 - w.visibility) / 16.0
                            + (e["accident_rush"] if rush else 0.0)))
    surge = (e["surge_rain_max"] * (rain_factor(1.0, w.precip_intensity) - 1.0)
             + (e["surge_rush"] if rush else 0.0))
    return Rates(bikes * scale, taxis * scale, accidents * scale, surge)


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth for small means, a rounded normal for large ones)."""
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def surge_multiplier(rng: random.Random, pressure: float) -> float:
    """Quantised like the rides data: 1.0 most of the time, up to 2.5 when pressure is high."""
    x = pressure + rng.gauss(0, EFFECTS["surge_noise_sd"]) - 0.15
    if x <= 0:
        return 1.0
    index = min(len(SURGE_LEVELS) - 1, int(x / 0.12) + 1)
    return SURGE_LEVELS[index]


def fmt_time(when: datetime) -> str:
    """Event times as in the source datasets: Boston wall-clock time, no zone (the record kinds' TIME_FORMAT)."""
    return when.strftime(TIME_FORMAT)
