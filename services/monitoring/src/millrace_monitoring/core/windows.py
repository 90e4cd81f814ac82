"""Count-based tumbling windows of one model version's live inputs.

A window closes after exactly ``size`` predictions and the next starts empty; predictions are
kept column-wise, as the slices of each batch's arrays, so closing costs one concatenation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .drift import WindowValues
from .stats import FloatArray


@dataclass(frozen=True)
class Columns:
    """A run of predictions of one version, column-wise, in arrival order."""

    numeric: dict[str, FloatArray]
    categorical: dict[str, list[str | None]]
    timestamps: list[datetime]

    @property
    def size(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True)
class ClosedWindow:
    index: int
    """0 for a version's first window, then 1, 2, ..."""
    values: WindowValues
    first_at: datetime
    last_at: datetime
    size: int
    end: int
    """Position in the added ``Columns`` just past the prediction that closed the window."""


@dataclass(frozen=True)
class OpenWindow:
    """A buffer's unfinished window and how many windows it closed before."""

    closed: int
    fill: int
    numeric: dict[str, FloatArray]
    categorical: dict[str, list[str | None]]
    first: datetime | None
    last: datetime | None


@dataclass
class WindowBuffer:
    size: int
    closed: int = 0
    """Windows closed so far; the next window's index."""
    fill: int = 0
    _numeric: dict[str, list[FloatArray]] = field(default_factory=dict)
    _categorical: dict[str, list[list[str | None]]] = field(default_factory=dict)
    _first: datetime | None = None
    _last: datetime | None = None

    def add(self, columns: Columns) -> list[ClosedWindow]:
        """Append ``columns``; return every window they closed (several for a big run)."""
        done: list[ClosedWindow] = []
        position = 0
        while position < columns.size:
            stop = position + min(self.size - self.fill, columns.size - position)
            for name, numbers in columns.numeric.items():
                self._numeric.setdefault(name, []).append(numbers[position:stop])
            for name, labels in columns.categorical.items():
                self._categorical.setdefault(name, []).append(labels[position:stop])
            stamps = columns.timestamps[position:stop]
            first, last = min(stamps), max(stamps)
            self._first = first if self._first is None else min(self._first, first)
            self._last = last if self._last is None else max(self._last, last)
            self.fill += stop - position
            position = stop
            if self.fill == self.size:
                done.append(self._close(end=stop))
        return done

    def open_window(self) -> OpenWindow:
        """Where the buffer stands, for a checkpoint."""
        return OpenWindow(
            closed=self.closed,
            fill=self.fill,
            numeric={k: np.concatenate(v) for k, v in self._numeric.items()},
            categorical={k: [x for part in v for x in part] for k, v in self._categorical.items()},
            first=self._first,
            last=self._last,
        )

    def restore(self, window: OpenWindow) -> None:
        """Stand where ``open_window`` said: the unfinished window goes on filling."""
        self.closed, self.fill = window.closed, window.fill
        self._numeric = {k: [v] for k, v in window.numeric.items()}
        self._categorical = {k: [v] for k, v in window.categorical.items()}
        self._first, self._last = window.first, window.last

    def _close(self, *, end: int) -> ClosedWindow:
        assert self._first is not None and self._last is not None
        window = ClosedWindow(
            index=self.closed,
            values=WindowValues(
                numeric={k: np.concatenate(v) for k, v in self._numeric.items()},
                categorical={
                    k: [x for part in v for x in part] for k, v in self._categorical.items()
                },
            ),
            first_at=self._first,
            last_at=self._last,
            size=self.fill,
            end=end,
        )
        self.closed += 1
        self.fill = 0
        self._numeric, self._categorical = {}, {}
        self._first = self._last = None
        return window
