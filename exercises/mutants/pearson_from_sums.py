"""Wrong answers to exercise 08 `pearson_from_sums`, one requirement broken in each."""

import math


def no_clamp(n, sx, sy, sxx, syy, sxy):
    """Breaks "clamp": guards n < 2 and zero variance, but cancellation can give |r| > 1."""
    if n < 2:
        return None
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    if vx <= 0 or vy <= 0:
        return None
    return (n * sxy - sx * sy) / math.sqrt(vx * vy)


def no_pair_guard(n, sx, sy, sxx, syy, sxy):
    """Breaks "too-few": one pair reaches the division (n·Σx² − (Σx)² is 0)."""
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    if n >= 3 and (vx <= 0 or vy <= 0):
        return None
    r = (n * sxy - sx * sy) / math.sqrt(vx * vy)
    return float(max(-1.0, min(1.0, r)))


def no_variance_guard(n, sx, sy, sxx, syy, sxy):
    """Breaks "no-variance": a constant x divides by zero."""
    if n < 2:
        return None
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    r = (n * sxy - sx * sy) / math.sqrt(max(vx * vy, 0.0))
    return float(max(-1.0, min(1.0, r)))


def covariance_only(n, sx, sy, sxx, syy, sxy):
    """Breaks "formula": returns the covariance's numerator scaled by n², not r."""
    if n < 2:
        return None
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    if vx <= 0 or vy <= 0:
        return None
    return float(max(-1.0, min(1.0, (n * sxy - sx * sy) / (n * n))))


MUTANTS = [("clamp", no_clamp), ("too-few", no_pair_guard), ("no-variance", no_variance_guard),
           ("formula", covariance_only)]
