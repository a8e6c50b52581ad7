"""Wrong answers to exercise 02 `MinibatchCollector`, one requirement broken in each."""


class _Base:
    def __init__(self, window):
        self.window = window
        self.items: list = []
        self.opened = None

    def offer(self, now, item):
        closed = self.tick(now)
        if not self.items:
            self.opened = now
        self.items.append(item)
        return closed

    def tick(self, now):
        if self.items and now >= self.opened + self.window:
            return self.flush()
        return []

    def flush(self):
        batch, self.items, self.opened = self.items, [], None
        return [batch] if batch else []


class ClosesOnlyOnOffer(_Base):
    """Breaks "on-time": tick() never closes a batch, so an idle window waits for the next item."""

    def tick(self, now):
        return []

    def offer(self, now, item):
        closed = super().tick(now)
        if not self.items:
            self.opened = now
        self.items.append(item)
        return closed


class EmptyBatches(_Base):
    """Breaks "no-empty": an idle tick returns an empty batch."""

    def offer(self, now, item):
        closed = _Base.tick(self, now)
        if not self.items:
            self.opened = now
        self.items.append(item)
        return closed

    def tick(self, now):
        if not self.items:
            return [[]]
        return super().tick(now)


class AppendsToDueBatch(_Base):
    """Breaks "due-first": an item arriving after the window's end joins the old batch."""

    def offer(self, now, item):
        if not self.items:
            self.opened = now
        self.items.append(item)
        return []


class FlushForgets(_Base):
    """Breaks "flush": at shutdown the open batch is dropped."""

    def flush(self):
        self.items, self.opened = [], None
        return []

    def tick(self, now):
        if self.items and now >= self.opened + self.window:
            batch, self.items, self.opened = self.items, [], None
            return [batch]
        return []


MUTANTS = [("on-time", ClosesOnlyOnOffer), ("no-empty", EmptyBatches), ("due-first", AppendsToDueBatch),
           ("flush", FlushForgets)]
