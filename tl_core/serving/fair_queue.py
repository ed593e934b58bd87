"""The job queue, fair across owners: the next run is the first waiting run of the owner who has had the fewest
runs started so far (ties: whoever queued first), so one user's sweep of twenty runs cannot keep a classmate's
single run waiting behind all of them."""
from __future__ import annotations

from collections import Counter, OrderedDict, deque


class FairQueue:
    def __init__(self):
        self._owners: OrderedDict[str, deque[str]] = OrderedDict()  # owners with waiting runs, in arrival order
        self._started: Counter[str] = Counter()

    def append(self, owner: str, run_id: str) -> None:
        self._owners.setdefault(owner, deque()).append(run_id)

    def _next_owner(self, started: Counter, lines: dict[str, deque]) -> str:
        return min((owner for owner in lines if lines[owner]), key=lambda owner: started[owner])

    def popleft(self) -> str:
        owner = self._next_owner(self._started, self._owners)
        run_id = self._owners[owner].popleft()
        if not self._owners[owner]:
            del self._owners[owner]
        self._started[owner] += 1
        return run_id

    def remove(self, run_id: str) -> bool:
        for owner, runs in self._owners.items():
            if run_id in runs:
                runs.remove(run_id)
                if not runs:
                    del self._owners[owner]
                return True
        return False

    def copy(self) -> "FairQueue":
        """An independent copy (waiting runs and who has had how many started), to plan on."""
        other = FairQueue()
        other._owners = OrderedDict((owner, deque(runs)) for owner, runs in self._owners.items())
        other._started = Counter(self._started)
        return other

    def order(self) -> list[str]:
        """Every waiting run in the order they will start (if nothing else is queued meanwhile)."""
        started = Counter(self._started)
        lines = OrderedDict((owner, deque(runs)) for owner, runs in self._owners.items())
        out = []
        while any(lines.values()):
            owner = self._next_owner(started, lines)
            out.append(lines[owner].popleft())
            started[owner] += 1
        return out

    def position(self, run_id: str) -> int | None:
        """1 for the next run to start; None when `run_id` is not waiting."""
        order = self.order()
        return order.index(run_id) + 1 if run_id in order else None

    def __contains__(self, run_id: str) -> bool:
        return any(run_id in runs for runs in self._owners.values())

    def __len__(self) -> int:
        return sum(len(runs) for runs in self._owners.values())
