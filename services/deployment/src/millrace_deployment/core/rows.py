"""Rows that passed validation with their numbers already in a matrix.

Validating a clean all-number batch flattens every value and puts it in a float64 array (the
magnitude check); when every row also lists the features in the signature's order, that
array is the batch's input matrix as well. ``number_matrix`` then takes its columns instead
of picking every value out of every row a second time (about 1 ms per 1,000 rows of 20
features).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

Matrix = np.ndarray[Any, np.dtype[np.float64]]


class NumberRows(list[dict[str, Any]]):
    """The validated rows themselves (logged as they are) and ``numbers``: rows by features in
    ``names`` order, nulls as NaN, read-only (shared by whoever reads the batch)."""

    def __init__(
        self, rows: Iterable[dict[str, Any]], names: tuple[str, ...], numbers: Matrix
    ) -> None:
        super().__init__(rows)
        numbers.flags.writeable = False
        self.names, self.numbers = names, numbers
        self.columns: Mapping[str, int] = {name: j for j, name in enumerate(names)}

    def columns_of(self, names: tuple[str, ...]) -> Matrix | None:
        """The matrix of ``names`` (a copy unless all of them in order); None when one is not
        a column here."""
        if names == self.names:
            return self.numbers
        try:
            picked = [self.columns[name] for name in names]
        except KeyError:
            return None
        out: Matrix = self.numbers[:, picked]
        return out
