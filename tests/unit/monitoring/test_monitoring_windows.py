"""Count-based tumbling windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from millrace_monitoring.core.windows import Columns, WindowBuffer

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def columns(start: int, n: int) -> Columns:
    return Columns(
        numeric={"x": np.arange(start, start + n, dtype=np.float64)},
        categorical={"c": [str(i) for i in range(start, start + n)]},
        timestamps=[T0 + timedelta(seconds=i) for i in range(start, start + n)],
    )


def test_windows_tumble_at_exactly_the_window_size() -> None:
    buffer = WindowBuffer(size=4)
    assert buffer.add(columns(0, 3)) == []
    [first] = buffer.add(columns(3, 3))  # closes at the 4th prediction, 2 carried over
    assert first.values.numeric["x"].tolist() == [0, 1, 2, 3]
    assert first.values.categorical["c"] == ["0", "1", "2", "3"]
    assert (first.index, first.size, first.end) == (0, 4, 1)
    assert (first.first_at, first.last_at) == (T0, T0 + timedelta(seconds=3))
    assert buffer.fill == 2
    [second] = buffer.add(columns(6, 2))
    assert second.values.numeric["x"].tolist() == [4, 5, 6, 7]  # no overlap: tumbling
    assert (second.index, buffer.fill, buffer.closed) == (1, 0, 2)


def test_one_big_run_closes_several_windows_with_their_end_positions() -> None:
    buffer = WindowBuffer(size=3)
    closed = buffer.add(columns(0, 10))
    assert [w.index for w in closed] == [0, 1, 2]
    assert [w.end for w in closed] == [3, 6, 9]
    assert [w.values.numeric["x"].tolist() for w in closed][-1] == [6, 7, 8]
    assert buffer.fill == 1


def test_window_time_span_is_earliest_to_latest_even_out_of_order() -> None:
    buffer = WindowBuffer(size=3)
    shuffled = Columns(
        numeric={},
        categorical={},
        timestamps=[T0 + timedelta(seconds=5), T0, T0 + timedelta(seconds=2)],
    )
    [window] = buffer.add(shuffled)
    assert (window.first_at, window.last_at) == (T0, T0 + timedelta(seconds=5))
