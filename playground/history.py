"""A bounded record of a run: named columns that thin themselves out as the run grows.

A log holds at most ``capacity`` rows. It keeps every row while it can; when it
is full it drops every other row and from then on takes only every second
offered step (then every fourth, ...). So a 100,000-step run keeps the shape of
its whole curve in a fixed amount of memory, and two logs fed the same rows end
in the same state (the app's copy mirrors the engine's).
"""

from __future__ import annotations

import numpy as np

HISTORY_ROWS = 2048  # rows a run's history keeps (per-step rows, thinned)
HISTOGRAM_ROWS = 256  # rows of gradient histograms a run keeps


class Log:
    def __init__(self, capacity: int = 2048, every: int = 1):
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self.capacity = capacity
        self.every = every  # only steps that are multiples of this are kept
        self.size = 0
        self.columns: dict[str, np.ndarray] = {}

    def wants(self, step: int) -> bool:
        return step % self.every == 0

    def append(self, row: dict) -> bool:
        """Add one row (a dict of numbers or 1-D arrays, with a "step"); missing columns are NaN.

        Returns whether the row was kept.
        """
        if not self.wants(row["step"]):
            return False
        if self.size == self.capacity:
            self._thin()
        for name, value in row.items():
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = self._new_column(value)
            column[self.size] = value
        self.size += 1
        return True

    def _new_column(self, value) -> np.ndarray:
        shape = (self.capacity, *np.shape(value))
        if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
            return np.zeros(shape, dtype=np.int64)
        column = np.full(shape, np.nan)
        return column

    def _thin(self) -> None:
        self.every *= 2
        keep = np.flatnonzero(self.columns["step"][: self.size] % self.every == 0)
        for column in self.columns.values():
            column[: len(keep)] = column[keep]
            column[len(keep) :] = np.nan if column.dtype.kind == "f" else 0
        self.size = len(keep)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, name: str) -> np.ndarray:
        """The kept values of one column (a view; copy it to keep it)."""
        return self.columns[name][: self.size]

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def names(self) -> list[str]:
        return list(self.columns)

    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.columns.values())


class PerStep:
    """Every step's loss, and DynamicNet's depth: kept whole, unlike a ``Log`` (8 bytes a step, 9
    with a depth), so an export holds every step however long the run."""

    def __init__(self):
        self.size = 0
        self.loss = np.empty(1024)
        self.depth: np.ndarray | None = None  # for a network whose depth changes

    def __len__(self) -> int:
        return self.size

    def append(self, loss: float, depth: int | None = None) -> None:
        """One step's loss (and depth): ``extend`` by one, without making arrays for it."""
        if self.size == len(self.loss) or (depth is not None and self.depth is None):
            self.extend(np.array([loss]), None if depth is None else np.array([depth]))
            return
        self.loss[self.size] = loss
        if depth is not None:
            self.depth[self.size] = depth
        self.size += 1

    def extend(self, losses: np.ndarray, depths: np.ndarray | None = None) -> None:
        end = self.size + len(losses)
        if end > len(self.loss):
            self.loss = np.resize(self.loss, max(end, 2 * len(self.loss)))
            if self.depth is not None:
                self.depth = np.resize(self.depth, len(self.loss))
        if depths is not None and self.depth is None:
            self.depth = np.zeros(len(self.loss), dtype=np.int8)
        self.loss[self.size : end] = losses
        if depths is not None:
            self.depth[self.size : end] = depths
        self.size = end

    def since(self, start: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Copies of the steps from ``start`` on: their losses, and their depths (if any)."""
        depths = None if self.depth is None else self.depth[start : self.size].copy()
        return self.loss[start : self.size].copy(), depths

    def columns(self) -> dict[str, np.ndarray]:
        """The kept steps as columns: ``loss``, and ``depth`` where there is one."""
        columns = {"loss": self.loss[: self.size]}
        if self.depth is not None:
            columns["depth"] = self.depth[: self.size]
        return columns
