"""Wrong answers to exercise 14 `trips_until_quiet` (each returns a StatefulProcessor class), one requirement
broken in each."""

import pandas as pd
from pyspark.sql.streaming import StatefulProcessor


def _processor(*, accumulate=True, quiet_minutes=15, clear=True):
    class Wrong(StatefulProcessor):
        def init(self, handle):
            self.handle = handle
            self.trips = handle.getValueState("trips", "trips LONG")

        def handleInputRows(self, key, rows, timerValues):
            count = self.trips.get()[0] if accumulate and self.trips.exists() else 0
            newest = None
            for frame in rows:
                count += len(frame)
                latest = pd.Timestamp(frame["event_time"].max())
                newest = latest if newest is None or latest > newest else newest
            for timer in self.handle.listTimers():
                self.handle.deleteTimer(timer)
            self.handle.registerTimer(newest.value // 1_000_000 + quiet_minutes * 60_000)
            self.trips.update((count,))
            return iter([])

        def handleExpiredTimer(self, key, timerValues, expiredTimerInfo):
            if self.trips.exists():
                yield pd.DataFrame({"station": [int(key[0])], "trips": [self.trips.get()[0]]})
            if clear:
                self.trips.clear()

        def close(self):
            pass

    return Wrong


def last_batch_only():
    """Breaks "count": counts only the rows of the latest batch, forgetting what the state held."""
    return _processor(accumulate=False)


def an_hour_of_quiet():
    """Breaks "quiet": waits 60 minutes, not 15, before a station counts as quiet."""
    return _processor(quiet_minutes=60)


def never_forgets():
    """Breaks "forget": emits when the timer fires but keeps the count, so the next trip adds to it."""
    return _processor(clear=False)


MUTANTS = [("count", last_batch_only), ("quiet", an_hour_of_quiet), ("forget", never_forgets)]
