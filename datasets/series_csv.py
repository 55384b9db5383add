"""A user's multivariate time series from a CSV file: one column per variable, one row per time step.

    x,y,z               an optional header, a first row without numbers: the variables' names
                        (else "x1", "x2", ...)
    1.0,2.5,20.1
    1.2,2.9,20.4

Every cell of a data row must be a finite number; a missing value (an empty cell, NA, NaN, inf), a
cell that is not a number, or a row of another width is a `FormatError` naming the file, the line
and the column. Blank lines are skipped.

Example:
    >>> names, series = load_series_csv("observations.csv")
    >>> series.shape                                        # (T, D)
    (1000, 3)
"""

import csv
import math

import numpy as np

from datasets.errors import DataError, FormatError

MISSING = {"", "na", "n/a", "nan", "null", "none", "-"}


def load_series_csv(path):
    """The variables' names (list of D str) and the series, a (T, D) float64 array."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = [(number, row) for number, row in enumerate(csv.reader(file), start=1)
                    if any(cell.strip() for cell in row)]
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a directory, not a CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text") from None
    except csv.Error as error:
        raise DataError(f"{path}: not a CSV file ({error})") from None
    if not rows:
        raise DataError(f"{path} is empty: expected one column per variable, one row per time step")

    _, first = rows[0]
    if all(_number(cell) is None for cell in first):  # no number at all: a header
        names, rows = [cell.strip() or f"x{index + 1}" for index, cell in enumerate(first)], rows[1:]
        if not rows:
            raise DataError(f"{path} has a header and no data rows")
    else:
        names = [f"x{index + 1}" for index in range(len(first))]

    series = np.empty((len(rows), len(names)))
    for index, (line, row) in enumerate(rows):
        if len(row) != len(names):
            raise FormatError(path, line, f"{len(names)} columns like the first row, got {len(row)}")
        for column, cell in enumerate(row):
            value = _number(cell)
            if value is None or not math.isfinite(value):
                if cell.strip().lower() in MISSING or (value is not None and math.isnan(value)):
                    found = "an empty cell" if not cell.strip() else repr(cell.strip())
                    raise FormatError(path, line, f"a value in column {names[column]!r}, got {found} "
                                                  "(missing values are not supported)")
                raise FormatError(path, line, f"a finite number in column {names[column]!r}, got {cell.strip()!r}")
            series[index, column] = value
    return names, series


def _number(cell):
    try:
        return float(cell)
    except ValueError:
        return None
