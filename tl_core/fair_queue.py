"""The job queue, fair across owners: runs start round-robin, one per owner in turn, so one user's sweep of
twenty runs cannot keep a classmate's single run waiting behind all of them."""
from __future__ import annotations

from collections import OrderedDict, deque


class FairQueue:
    def __init__(self):
        self._owners: OrderedDict[str, deque[str]] = OrderedDict()  # whose turn comes first, first

    def append(self, owner: str, run_id: str) -> None:
        self._owners.setdefault(owner, deque()).append(run_id)

    def popleft(self) -> str:
        """The next run: the first run of the owner whose turn it is; that owner goes to the back of the line."""
        owner, runs = next(iter(self._owners.items()))
        run_id = runs.popleft()
        del self._owners[owner]
        if runs:
            self._owners[owner] = runs
        return run_id

    def remove(self, run_id: str) -> bool:
        for owner, runs in self._owners.items():
            if run_id in runs:
                runs.remove(run_id)
                if not runs:
                    del self._owners[owner]
                return True
        return False

    def order(self) -> list[str]:
        """Every waiting run in the order they will start."""
        lines = [list(runs) for runs in self._owners.values()]
        out = []
        for turn in range(max((len(line) for line in lines), default=0)):
            out += [line[turn] for line in lines if turn < len(line)]
        return out

    def position(self, run_id: str) -> int | None:
        """1 for the next run to start; None when `run_id` is not waiting."""
        order = self.order()
        return order.index(run_id) + 1 if run_id in order else None

    def __contains__(self, run_id: str) -> bool:
        return any(run_id in runs for runs in self._owners.values())

    def __len__(self) -> int:
        return sum(len(runs) for runs in self._owners.values())
