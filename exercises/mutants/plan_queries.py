"""Wrong answers to exercise 09 `plan_queries`, one requirement broken in each."""

SPELLINGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def _flag(env, flag):
    value = env.get(flag, "true")
    if value.strip().lower() not in SPELLINGS:
        raise ValueError(f"{flag}={value!r} is not valid: expected true or false (also accepted: 1/0, yes/no, on/off)")
    return SPELLINGS[value.strip().lower()]


def _plan(env, registry, flag=_flag, raw=lambda any_on: True, silver=None, chain=True):
    on = {s["name"]: flag(env, s["flag"]) for s in registry if s["layer"] == "gold"}
    keep_raw = raw(any(on.values()))
    started = {s["name"] for s in registry if (s["layer"] == "raw" and keep_raw) or on.get(s["name"])}
    needed = {s.get("needs") for s in registry if s["name"] in started}
    while chain:  # the silver stages needed through the silver stages that start, until no new one is found
        more = needed | {s.get("needs") for s in registry if s["layer"] == "silver" and s["name"] in needed}
        chain = more != needed
        needed = more
    return [s["name"] for s in registry
            if s["name"] in started or (s["layer"] == "silver" and (silver if silver is not None
                                                                   else s["name"] in needed))]


def kit_analytics_written_in(env, registry):
    """Breaks "registry": the analytics are the kit's eleven, written into the function, whatever the registry
    holds; a new analytic, or another pipeline's, never starts."""
    from etl_lib.core.catalog import ANALYTICS
    from etl_lib.main import EVENTS_QUERY, SILVER_QUERY

    on = {a.name: _flag(env, a.flag) for a in ANALYTICS}
    silver = {EVENTS_QUERY: any(on.values()), SILVER_QUERY: any(on[a.name] for a in ANALYTICS if a.on_windows)}
    return [s["name"] for s in registry if s["layer"] == "raw" or on.get(s["name"]) or silver.get(s["name"])]


def layers_in_order(env, registry):
    """Breaks "registry": right names, but raw first, then silver, then gold, not in the registry's order."""
    names = _plan(env, registry)
    rank = {"raw": 0, "silver": 1, "gold": 2}
    layer = {s["name"]: s["layer"] for s in registry}
    return sorted(names, key=lambda n: rank[layer[n]])


def raw_needs_an_analytic(env, registry):
    """Breaks "raw": with every analytic switched off nothing starts, the raw and quarantine queries neither."""
    return _plan(env, registry, raw=lambda any_on: any_on)


def any_value_is_true(env, registry):
    """Breaks "flags": a set flag counts as on whatever it says, "false" included."""
    return _plan(env, registry, flag=lambda env, flag: True if flag not in env else bool(env[flag]))


def seed_parser(env, registry):
    """Breaks "flags": the seed's config.py test, `os.getenv(FLAG, "true").lower() == "true"`: "1", "yes" and "on"
    switch an analytic off, and a value it cannot read switches it off instead of stopping the program."""
    return _plan(env, registry, flag=lambda env, flag: env.get(flag, "true").lower() == "true")


def lenient(env, registry):
    """Breaks "refuse": a value the kit refuses leaves the analytic on, with no error."""
    return _plan(env, registry, flag=lambda env, flag: SPELLINGS.get(env.get(flag, "true").strip().lower(), True))


def silent_error(env, registry):
    """Breaks "refuse": raises, but the message names neither the variable, nor the value, nor what is accepted."""
    def flag(env, name):
        value = env.get(name, "true").strip().lower()
        if value not in SPELLINGS:
            raise ValueError("bad feature flag")
        return SPELLINGS[value]
    return _plan(env, registry, flag=flag)


def silver_always(env, registry):
    """Breaks "needs": every silver stage starts, even when no started stage reads it."""
    return _plan(env, registry, silver=True)


def direct_needs_only(env, registry):
    """Breaks "chain": a silver stage starts only when a started analytic needs it directly; what a started silver
    stage needs is never started (in the kit, a windows analytic alone starts the silver windows without the
    silver events they read)."""
    return _plan(env, registry, chain=False)


MUTANTS = [("registry", kit_analytics_written_in), ("registry", layers_in_order), ("raw", raw_needs_an_analytic),
           ("flags", any_value_is_true), ("flags", seed_parser), ("refuse", lenient), ("refuse", silent_error),
           ("needs", silver_always), ("chain", direct_needs_only)]
