"""The analytics registry: every windowed analytic of the kit, written once.

Each entry says what the settings, the orchestrator, the report and the
package's exports need to know of one analytic: its ``ENABLE_*`` flag, its name
(the output folder and the query name), a title for banners, which streams it
is built from, and the *names* of the functions that build it (in
:mod:`etl_lib.analytics`), turn its rows into a graph-ready table (in
:mod:`etl_lib.summaries`) and draw it (in :mod:`etl_lib.plots`).  The names
are the seed's, so a reader holding seed 003 finds them here; the modules that
own the functions resolve them on their own floor, so this foundation module
imports nothing above it.

>>> [a.name for a in ANALYTICS][:2]
['weather_transport_correlation', 'weather_safety_analysis']
>>> by_flag("ENABLE_PEARSON_CORRELATIONS").build
'calculate_pearson_correlations'
>>> by_name("pearson_correlations").on_windows
True
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Analytic", "ANALYTICS", "ANALYTICS_FLAGS", "by_flag", "by_name"]

# The combined 15-minute windows of bikes, taxis and weather (the silver table).
COMBINED = "combined"


@dataclass(frozen=True)
class Analytic:
    """One analytic: what it is called, what turns it on, what it reads, which functions make and show it."""

    flag: str
    name: str  # output folder and query name
    title: str
    inputs: tuple[str, ...]  # stream names of etl_lib.main.build_streams: "combined", "bike", "taxi", ...
    build: str  # function of etl_lib.analytics: build(*inputs, settings) -> streaming DataFrame
    summarize: str | None = None  # function of etl_lib.summaries: rows (pandas) -> graph-ready table
    plot: str | None = None  # function of etl_lib.plots drawing the summary
    seed: bool = True  # one of seed 003's nine

    @property
    def on_windows(self) -> bool:
        """Built on the combined windows only, so it can read the silver table instead of Kafka."""
        return self.inputs == (COMBINED,)

    @property
    def setting(self) -> str:
        """The flag's attribute on :class:`~etl_lib.core.settings.Settings` (``enable_...``)."""
        return self.flag.lower()


ANALYTICS: tuple[Analytic, ...] = (
    Analytic("ENABLE_WEATHER_TRANSPORT_CORRELATION", "weather_transport_correlation", "weather-transport correlation",
             (COMBINED,), "calculate_weather_transport_correlation", "summarize_windows"),
    Analytic("ENABLE_WEATHER_SAFETY_ANALYSIS", "weather_safety_analysis", "weather-safety analysis",
             ("accidents", "weather"), "calculate_weather_safety_risk", "summarize_safety"),
    Analytic("ENABLE_SURGE_WEATHER_CORRELATION", "surge_weather_correlation", "surge-weather correlation",
             (COMBINED,), "calculate_surge_weather_correlation", "summarize_surge"),
    Analytic("ENABLE_TRANSPORT_USAGE_SUMMARY", "transport_usage_summary", "transport usage summary",
             ("bike", "taxi"), "generate_transport_usage_summary", "summarize_usage", "plot_usage_by_hour"),
    Analytic("ENABLE_PEARSON_CORRELATIONS", "pearson_correlations", "Pearson correlations",
             (COMBINED,), "calculate_pearson_correlations", "summarize_pearson", "plot_correlation_heatmap"),
    Analytic("ENABLE_BINNED_AGGREGATIONS", "weather_binned_metrics", "binned weather aggregations",
             (COMBINED,), "calculate_binned_weather_aggregations", "summarize_binned", "plot_binned_metrics"),
    Analytic("ENABLE_PRECIPITATION_ANALYSIS", "precipitation_impact", "precipitation impact",
             (COMBINED,), "calculate_precipitation_impact_analysis", "summarize_precipitation_impact",
             "plot_precipitation_impact"),
    Analytic("ENABLE_TEMPORAL_CORRELATIONS", "temporal_correlations", "temporal segmented correlations",
             (COMBINED,), "calculate_temporal_segmented_correlations", "summarize_temporal",
             "plot_rush_hour_vs_leisure"),
    Analytic("ENABLE_MULTI_VARIABLE_SUMMARY", "multi_variable_summary", "multi-variable summary",
             (COMBINED,), "calculate_multi_variable_correlation_summary", "summarize_multi_variable"),
    # Not in the seed's list: the two analytics that use its WINDOW_DURATION_SHORT and SLIDE_DURATION.
    Analytic("ENABLE_REALTIME_USAGE", "realtime_transport_usage", "real-time usage (short windows)",
             ("bike", "taxi"), "calculate_realtime_transport_usage", seed=False),
    Analytic("ENABLE_SLIDING_USAGE", "sliding_transport_usage", "sliding-window usage",
             ("bike", "taxi"), "calculate_sliding_transport_usage", seed=False),
)

ANALYTICS_FLAGS: tuple[str, ...] = tuple(a.flag for a in ANALYTICS)

_BY_FLAG = {a.flag: a for a in ANALYTICS}
_BY_NAME = {a.name: a for a in ANALYTICS}


def by_flag(flag: str) -> Analytic:
    """The analytic an ``ENABLE_*`` flag turns on."""
    return _BY_FLAG[flag]


def by_name(name: str) -> Analytic:
    """The analytic whose output folder (and query) is ``name``."""
    return _BY_NAME[name]
