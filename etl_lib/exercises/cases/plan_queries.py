"""Lesson 09: ``plan_queries``, which streaming queries the orchestrator starts, from a registry of stages passed in
and the ``ENABLE_*`` flags of the environment.

The kit's own registry is built here as ``etl_lib.main`` starts its queries: the raw query
(``etl_lib.writers.RAW_QUERY``: it reads every record kind's topic once and writes each raw table and quarantine),
the silver events (``etl_lib.main.EVENTS_QUERY``: each event once) when any analytic is enabled, the silver windows
(``etl_lib.main.SILVER_QUERY``, built from the silver events) only when an enabled analytic is built on them, and
each analytic whose flag is on.  So ``needs`` chains: a windows analytic needs the silver windows, which need the
silver events; the other analytics need the silver events directly.  A flag's value is read by the kit's own parser
(``etl_lib.core.values.parse_bool``), so the judge accepts and refuses exactly what ``load_settings`` does.
"""

from __future__ import annotations

import random
from typing import Any

from ..grader import exercise
from ._common import Case, Context, expect, outcome, raised, shown

_FALSE = ["false", "0", "no", "off", "FALSE", "Off", " no ", "No"]
_TRUE = ["true", "1", "yes", "on", "TRUE", "Yes", " on ", "True"]


def kit_registry() -> list[dict[str, Any]]:
    """The kit's stages as ``plan_queries`` receives them: the raw query, the silver events, the silver windows
    (which need the silver events), then every analytic of the catalog with its flag and ``needs``: the silver
    windows for an analytic built on them, the silver events for the others."""
    from ...core.catalog import ANALYTICS
    from ...main import EVENTS_QUERY, SILVER_QUERY
    from ...writers import RAW_QUERY

    stages: list[dict[str, Any]] = [{"name": RAW_QUERY, "layer": "raw"},
                                    {"name": EVENTS_QUERY, "layer": "silver"},
                                    {"name": SILVER_QUERY, "layer": "silver", "needs": EVENTS_QUERY}]
    for a in ANALYTICS:
        stages.append({"name": a.name, "layer": "gold", "flag": a.flag,
                       "needs": SILVER_QUERY if a.on_windows else EVENTS_QUERY})
    return stages


def reference(env: dict[str, str], registry: list[dict[str, Any]]) -> list[str]:
    """What starts (the judging half's own answer): raises the kit's ValueError for a flag it refuses.  A silver
    stage starts when a started stage needs it, followed through the silver stages that start (whatever their
    order in the registry)."""
    from ...core.values import parse_bool

    started = {s["name"] for s in registry if s["layer"] == "raw" or
               (s["layer"] == "gold" and (parse_bool(env[s["flag"]]) if s["flag"] in env else True))}
    silver = {s["name"]: s for s in registry if s["layer"] == "silver"}
    todo = [s.get("needs") for s in registry if s["name"] in started]
    while todo:
        name = todo.pop()
        if name in silver and name not in started:
            started.add(name)
            todo.append(silver[name].get("needs"))
    return [s["name"] for s in registry if s["name"] in started]


@exercise("plan_queries", "09", "Which queries the orchestrator starts, from a registry and the flags",
          ["modularity", "feature-flags", "raw-analytics-separation"], requirements={
              "raw": "raw queries start whatever the flags say",
              "flags": "an analytic starts only when its flag is on",
              "refuse": "raise `ValueError` naming the variable, its value and the accepted values",
              "needs": "a silver stage starts only when a started stage needs it",
              "chain": "a silver stage needed only through the chain starts too, wherever the registry lists it",
              "registry": "it works for any registry passed in"})
def cases(ctx: Context) -> list[Case]:
    from ...main import SILVER_QUERY

    rng = random.Random(ctx.seed(9))
    kit = kit_registry()
    flags = [s["flag"] for s in kit if s["layer"] == "gold"]
    on_windows = [s["flag"] for s in kit if s["layer"] == "gold" and s["needs"] == SILVER_QUERY]
    on_events = [f for f in flags if f not in on_windows]

    def call(env: dict[str, str], registry: list[dict[str, Any]]):
        return lambda fn: outcome(lambda: fn(dict(env), [dict(s) for s in registry]))

    def label(env: dict[str, str], registry: list[dict[str, Any]]) -> str:
        which = "the kit's registry" if registry == kit else f"registry={registry!r}"
        return f"plan_queries({env!r}, {which})"

    def starts(env, registry, hint: str, size: int, need: str, shown_as: str | None = None) -> Case:
        want = reference(env, registry)

        def judge(seen):
            expect("returned" in seen, str(seen.get("described")))
            got = seen["returned"]
            expect(isinstance(got, list) and all(isinstance(n, str) for n in got),
                   f"returned {shown(got)}, not a list of query names")
            missing = [n for n in want if n not in got]
            extra = [n for n in got if n not in want]
            expect(not missing, f"these queries do not start, but should: {missing}")
            expect(not extra, f"these queries start, but should not: {extra}")
            expect(got == want, f"returned {got}: the names are right but not in the registry's order {want}")
        return Case(shown_as or label(env, registry), call(env, registry), judge, hint, size, need)

    def all_off_but(flag: str, env: dict[str, str]) -> str:
        return f"plan_queries({{every ENABLE_* flag: 'false' but {flag}: {env[flag]!r}}}, the kit's registry)"

    def refused(env, registry, variable: str, size: int) -> Case:
        value = env[variable]

        def judge(seen):
            expect(raised(seen, "ValueError"), f"returned {shown(seen['returned'])} instead of raising ValueError"
                   if "returned" in seen else str(seen.get("described")))
            said = str(seen.get("message"))
            expect(variable in said, f"the ValueError does not name {variable}: {said!r}")
            expect(not value.strip() or value.strip() in said, f"the ValueError does not show the value "
                                                               f"{value!r}: {said!r}")
            expect("true" in said.lower() and "false" in said.lower(),
                   f"the ValueError does not say which values are accepted (true, false, ...): {said!r}")
        return Case(label(env, registry), call(env, registry), judge,
                    "a flag the kit's settings would refuse must stop the program before any query starts: raise "
                    "ValueError naming the variable, its value and the accepted values", size, "refuse")

    raw_hint = ("raw and quarantine queries keep every record as it came; they start whatever the flags say, so "
                "switching analytics off never loses the raw data (bronze is kept apart from silver and gold)")
    flags_hint = ("an analytic starts when its flag is on: unset means on (the kit's default), and the kit accepts "
                  "true/false, 1/0, yes/no, on/off in any letter case, with spaces around")
    needs_hint = ("a silver table is written only for the queries that read it: a silver stage starts when a "
                  "started stage needs it, and not otherwise")
    chain_hint = ("needs make a chain: a silver stage needed by a started silver stage starts too, however long the "
                  "chain and wherever the registry lists its stages; what a stage that does not start needs, "
                  "starts for no one")
    registry_hint = ("the stages and their order come from the registry passed in, never from a list written into "
                     "the function: a new analytic with a flag of its own must start like the kit's own")

    # raw: every flag off, in several spellings; raw stages anywhere in the registry
    all_off = {f: "false" for f in flags}
    spelled_off = {f: rng.choice(_FALSE) for f in flags}
    late_raw = [{"name": "gold_first", "layer": "gold", "flag": "ENABLE_GOLD_FIRST"},
                {"name": "raw_scooter_trips", "layer": "raw"},
                {"name": "quarantine_scooter_trips", "layer": "raw"}]
    # flags: the lesson's three off; one flag in every spelling; other variables around
    lesson_off = {"ENABLE_PEARSON_CORRELATIONS": "false", "ENABLE_TEMPORAL_CORRELATIONS": "false",
                  "ENABLE_MULTI_VARIABLE_SUMMARY": "false"}
    one = rng.choice(flags)
    unset = rng.choice(on_events)  # left on: the silver events start without the chain, which "chain" checks
    mixed = {f: rng.choice(_FALSE + _TRUE) for f in rng.sample([f for f in flags if f != unset], 6)}
    noise = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "PATH": "/usr/bin:/bin", "BATCH_INTERVAL": "10 seconds"}
    # needs: the analytics of the silver windows off, those of the silver events on; only one windows analytic on;
    # only one analytic of the silver events on (the silver events start, the windows do not)
    windows_off = {f: "off" for f in on_windows}
    one_window = {**{f: "0" for f in on_windows}, rng.choice(on_windows): "1"}
    event_flag, window_flag = rng.choice(on_events), rng.choice(on_windows)
    only_events = {**all_off, event_flag: rng.choice(_TRUE[:4])}
    two_silvers = [{"name": "raw_bike_trips", "layer": "raw"},
                   {"name": "silver_hourly", "layer": "silver"},
                   {"name": "silver_daily", "layer": "silver"},
                   {"name": "hourly_peaks", "layer": "gold", "flag": "ENABLE_HOURLY_PEAKS", "needs": "silver_hourly"},
                   {"name": "daily_totals", "layer": "gold", "flag": "ENABLE_DAILY_TOTALS", "needs": "silver_daily"}]
    # registry: a new analytic on the kit's stages; another pipeline entirely; a random one per student
    new_analytic = kit + [{"name": "scooter_weather_correlation", "layer": "gold",
                           "flag": "ENABLE_SCOOTER_WEATHER_CORRELATION", "needs": SILVER_QUERY}]
    other = [{"name": "raw_ferry_trips", "layer": "raw"},
             {"name": "ferry_delays", "layer": "gold", "flag": "ENABLE_FERRY_DELAYS"},
             {"name": "quarantine_ferry_trips", "layer": "raw"},
             {"name": "silver_ferry_windows", "layer": "silver"},
             {"name": "ferry_weather", "layer": "gold", "flag": "ENABLE_FERRY_WEATHER",
              "needs": "silver_ferry_windows"}]
    words = ["tram", "ferry", "scooter", "bus", "metro", "cable_car", "rickshaw", "canal_boat"]
    made = [{"name": f"raw_{w}", "layer": "raw"} for w in rng.sample(words, 3)]
    made.append({"name": "silver_city_windows", "layer": "silver"})
    for w in rng.sample(words, 4):
        stage = {"name": f"{w}_summary", "layer": "gold", "flag": f"ENABLE_{w.upper()}_SUMMARY"}
        if rng.random() < 0.5:
            stage["needs"] = "silver_city_windows"
        made.append(stage)
    rng.shuffle(made)
    made_env = {s["flag"]: rng.choice(_FALSE + _TRUE) for s in made if s["layer"] == "gold" and rng.random() < 0.7}
    # chain: in the kit, one windows analytic alone starts the silver windows and the silver events they need.
    # After the "registry" cases (a function that knows only the kit's analytics fails there first): another
    # pipeline with a chain of two silver stages and a silver stage nothing needs (an analytic that needs nothing
    # stays on, so these cases never test "raw"); a chain of three listed out of order (a one-way pass over the
    # registry, either way, misses a stage); a random chain per student
    only_window = {**all_off, window_flag: rng.choice(_TRUE[:4])}
    harbour = [{"name": "raw_boat_positions", "layer": "raw"},
               {"name": "silver_boat_events", "layer": "silver"},
               {"name": "silver_boat_legs", "layer": "silver", "needs": "silver_boat_events"},
               {"name": "silver_harbour_weather", "layer": "silver"},
               {"name": "late_departures", "layer": "gold", "flag": "ENABLE_LATE_DEPARTURES",
                "needs": "silver_boat_legs"},
               {"name": "boat_counts", "layer": "gold", "flag": "ENABLE_BOAT_COUNTS", "needs": "silver_boat_events"},
               {"name": "tide_table", "layer": "gold", "flag": "ENABLE_TIDE_TABLE"}]
    shuffled = [{"name": "silver_station_visits", "layer": "silver", "needs": "silver_bike_events"},
                {"name": "station_load", "layer": "gold", "flag": "ENABLE_STATION_LOAD",
                 "needs": "silver_station_hours"},
                {"name": "silver_bike_events", "layer": "silver"},
                {"name": "raw_bike_trips", "layer": "raw"},
                {"name": "trip_counts", "layer": "gold", "flag": "ENABLE_TRIP_COUNTS"},
                {"name": "silver_station_hours", "layer": "silver", "needs": "silver_station_visits"}]
    city = rng.choice(["novi_sad", "nis", "kragujevac", "subotica", "zrenjanin"])
    modes = rng.sample(words, 5)
    events, windows = f"silver_{city}_events", f"silver_{city}_windows"
    chained = [{"name": f"raw_{w}", "layer": "raw"} for w in modes[:2]]
    chained += [{"name": events, "layer": "silver"}, {"name": windows, "layer": "silver", "needs": events},
                {"name": f"silver_{city}_stops", "layer": "silver", **({"needs": events} if rng.random() < 0.5
                                                                       else {})},
                {"name": f"{modes[2]}_peaks", "layer": "gold", "flag": f"ENABLE_{modes[2].upper()}_PEAKS",
                 "needs": windows},
                {"name": f"{modes[3]}_counts", "layer": "gold", "flag": f"ENABLE_{modes[3].upper()}_COUNTS",
                 "needs": events},
                {"name": f"{modes[4]}_summary", "layer": "gold", "flag": f"ENABLE_{modes[4].upper()}_SUMMARY"}]
    rng.shuffle(chained)
    chained_env = {f"ENABLE_{modes[3].upper()}_COUNTS": rng.choice(_FALSE),
                   f"ENABLE_{modes[4].upper()}_SUMMARY": rng.choice(_FALSE + _TRUE)}
    if rng.random() < 0.5:
        chained_env[f"ENABLE_{modes[2].upper()}_PEAKS"] = rng.choice(_TRUE)

    return [
        starts({}, kit, flags_hint, 1, "flags", "plan_queries({}, the kit's registry): nothing set"),
        starts(lesson_off, kit, flags_hint, 2, "flags"),
        starts({one: rng.choice(_FALSE[:4])}, kit, flags_hint, 3, "flags"),
        starts({one: rng.choice(_TRUE[:4])}, kit, flags_hint, 3, "flags"),
        starts({one: rng.choice(_FALSE[4:])}, kit, flags_hint, 4, "flags"),
        starts({one: rng.choice(_TRUE[4:])}, kit, flags_hint, 4, "flags"),
        starts({**noise, **mixed}, kit, flags_hint, 5, "flags"),
        starts(windows_off, kit, needs_hint, 6, "needs"),
        starts(one_window, kit, needs_hint, 7, "needs"),
        starts(only_events, kit, needs_hint, 8, "needs", all_off_but(event_flag, only_events)),
        starts(only_window, kit, chain_hint, 9, "chain", all_off_but(window_flag, only_window)),
        starts(all_off, kit, raw_hint, 10, "raw", "plan_queries({every ENABLE_* flag: 'false'}, the kit's registry)"),
        starts(spelled_off, kit, raw_hint, 11, "raw"),
        starts({"ENABLE_GOLD_FIRST": "no"}, late_raw, raw_hint, 12, "raw"),
        starts({}, new_analytic, registry_hint, 30, "registry",
               "plan_queries({}, the kit's registry + scooter_weather_correlation, which needs the silver windows)"),
        starts({**windows_off, "ENABLE_SCOOTER_WEATHER_CORRELATION": "yes"}, new_analytic, registry_hint, 31,
               "registry", "plan_queries({the windows analytics 'off', ENABLE_SCOOTER_WEATHER_CORRELATION: 'yes'}, "
                           "the kit's registry + scooter_weather_correlation, which needs the silver windows)"),
        starts({"ENABLE_FERRY_DELAYS": "off"}, other, registry_hint, 32, "registry"),
        starts({}, other, registry_hint, 33, "registry"),
        starts(made_env, made, registry_hint, 34, "registry"),
        starts({"ENABLE_DAILY_TOTALS": "off"}, two_silvers, needs_hint, 35, "needs"),
        starts({}, two_silvers, needs_hint, 36, "needs"),
        starts({"ENABLE_LATE_DEPARTURES": "off"}, harbour, needs_hint, 37, "needs"),
        starts({"ENABLE_BOAT_COUNTS": "off"}, harbour, chain_hint, 38, "chain"),
        starts({"ENABLE_BOAT_COUNTS": "off", "ENABLE_LATE_DEPARTURES": "off"}, harbour, chain_hint, 38, "chain"),
        starts({}, shuffled, chain_hint, 38, "chain"),
        starts({"ENABLE_STATION_LOAD": "no"}, shuffled, chain_hint, 38, "chain"),
        starts(chained_env, chained, chain_hint, 39, "chain"),
        refused({one: "maybe"}, kit, one, 40),
        refused({**noise, "ENABLE_PEARSON_CORRELATIONS": ""}, kit, "ENABLE_PEARSON_CORRELATIONS", 41),
        *[refused({one: v}, kit, one, 42) for v in ("tru", "enabled", "2")],
        refused({"ENABLE_FERRY_WEATHER": "y"}, other, "ENABLE_FERRY_WEATHER", 43),
    ]
