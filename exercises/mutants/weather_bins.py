"""Wrong answers to exercise 08 `weather_bins`, one requirement broken in each."""


def _bins(windows, heavy=2.5, *, category=None, mean=None, keep_empty=True, empty_mean=None, none_as=None):
    trips = {"dry": [], "light": [], "heavy": []}
    missing = 0
    for window in windows:
        mm_h = window["precip_intensity"]
        if mm_h is None:
            if none_as is None:
                missing += 1
                continue
            mm_h = none_as
        name = category(mm_h, heavy) if category else "dry" if mm_h <= 0 else "light" if mm_h < heavy else "heavy"
        trips[name].append(window["bike_count"])
    out = {name: {"windows": len(c), "mean_bike_count": (mean or (lambda c: sum(c) / len(c)))(c) if c else empty_mean}
           for name, c in trips.items() if c or keep_empty}
    out["missing"] = missing
    return out


def heavy_edge_in_light(windows, heavy=2.5):
    """Breaks "edges": the heavy threshold itself counts as light (closed on the wrong side)."""
    return _bins(windows, heavy, category=lambda p, h: "dry" if p <= 0 else "light" if p <= h else "heavy")


def zero_is_rain(windows, heavy=2.5):
    """Breaks "edges": 0 mm/h counts as light rain; only a negative value would be dry."""
    return _bins(windows, heavy, category=lambda p, h: "dry" if p < 0 else "light" if p < h else "heavy")


def typed_in_threshold(windows, heavy=2.5):
    """Breaks "threshold": the kit's 2.5 mm/h typed in, whatever `heavy` says."""
    return _bins(windows, heavy, category=lambda p, h: "dry" if p <= 0 else "light" if p < 2.5 else "heavy")


def total_not_mean(windows, heavy=2.5):
    """Breaks "mean": the category's trips added up, not divided by its windows."""
    return _bins(windows, heavy, mean=lambda c: float(sum(c)))


def drops_empty(windows, heavy=2.5):
    """Breaks "empty": a category without windows is left out, as a groupBy would."""
    return _bins(windows, heavy, keep_empty=False)


def zero_mean_when_empty(windows, heavy=2.5):
    """Breaks "empty": a category without windows gets a mean of 0.0, which reads as a measured "no trips"."""
    return _bins(windows, heavy, empty_mean=0.0)


def missing_as_dry(windows, heavy=2.5):
    """Breaks "missing": a window without precipitation is taken as 0 mm/h, so it lands in dry."""
    return _bins(windows, heavy, none_as=0.0)


MUTANTS = [("edges", heavy_edge_in_light), ("edges", zero_is_rain), ("threshold", typed_in_threshold),
           ("mean", total_not_mean), ("empty", drops_empty), ("empty", zero_mean_when_empty),
           ("missing", missing_as_dry)]
