"""Data frames and arrays into the library's tables, column by column, in memory.

At fit time each column keeps what it is: numbers (any integer, float or boolean dtype,
missing = NaN/None/pd.NA) stay numeric; a pandas ``category`` column is categorical;
strings (``object`` or ``string`` dtype) are categorical or text by the rule the CSV
reader applies (long and mostly distinct values are text). ``feature_types`` overrides
a column's type. At predict time each column is read as the model was trained on it.
"""

import math
import numbers

import numpy as np
import pandas as pd
from sklearn.utils import check_array

from . import _core

_TYPES = ("numeric", "categorical", "text")


def as_frame(X, columns=None):
    """A DataFrame with string column names; arrays are checked as scikit-learn does."""
    if isinstance(X, pd.DataFrame):
        frame = X
        if frame.shape[1] == 0:
            raise ValueError(f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is required.")
        if frame.shape[0] == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={frame.shape}) while a minimum of 1 is required.")
        names = [str(c) for c in frame.columns]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"column names must be unique: {', '.join(dup)} appear more than once")
        if names != list(frame.columns):
            frame = frame.set_axis(names, axis=1)
        return frame
    if isinstance(X, pd.Series):
        raise ValueError("Expected 2D array, got a Series: pass a DataFrame (X.to_frame()) or reshape the values")
    array = check_array(X, dtype=None, force_all_finite="allow-nan", accept_sparse=False, ensure_2d=True)
    if array.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    if columns is None:
        columns = [f"x{i}" for i in range(array.shape[1])]
    return pd.DataFrame(array, columns=list(columns), copy=False)


def cell_text(value):
    """A value as a CSV cell would spell it: integral numbers without a decimal point."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "True" if value else "False"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (pd.Timestamp, np.datetime64, pd.Timedelta)):
        return str(value)
    raise TypeError(f"argument must be a string or a number, not {type(value).__name__}")


def _missing(value):
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _numbers(name, series):
    """float64 values of a numeric column; infinity is an error naming the row."""
    values = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(np.isinf(values))
    if bad.size:
        raise ValueError(f"column {name}, row {bad[0] + 1}: infinity is not a value (Input contains infinity); "
                         "use NaN for a missing value")
    return values


def _strings(name, series):
    cells = []
    for i, v in enumerate(series.tolist()):
        if _missing(v):
            cells.append(None)
            continue
        try:
            cells.append(cell_text(v))
        except TypeError as e:
            raise TypeError(f"{e} (column {name}, row {i + 1})") from None
    return cells


def all_real_numbers(series):
    seen = False
    for v in series.tolist():
        if _missing(v):
            continue
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            return False
        seen = True
    return seen


def _declared(name, feature_types):
    t = (feature_types or {}).get(name)
    if t is not None and t not in _TYPES:
        raise ValueError(f"feature_types[{name!r}] = {t!r}: expected one of {', '.join(_TYPES)}")
    return t


def add_fit_column(table, name, series, declared=None):
    """Adds one column, typed as it is in the frame (or as `declared` says)."""
    dtype = series.dtype
    if declared == "numeric":
        try:
            table.add_numeric(name, _numbers(name, series))
        except (ValueError, TypeError) as e:
            raise ValueError(f"column {name} is declared numeric but holds a value that is not a number: {e}") from None
        return
    if declared is None and isinstance(dtype, pd.CategoricalDtype):
        declared = "categorical"
    if declared is None:
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            if pd.api.types.is_complex_dtype(dtype):
                raise ValueError("Complex data not supported")
            table.add_numeric(name, _numbers(name, series))
            return
        if dtype == object and all_real_numbers(series):
            table.add_numeric(name, _numbers(name, series.astype(np.float64)))
            return
    table.add_strings(name, _strings(name, series), declared)


def fit_table(frame, feature_types=None):
    unknown = sorted(set(feature_types or {}) - set(frame.columns))
    if unknown:
        raise ValueError(f"feature_types names columns the data does not have: {', '.join(unknown)}")
    table = _core.Table()
    for name in frame.columns:
        add_fit_column(table, name, frame[name], _declared(name, feature_types))
    return table


def predict_table(frame, schema):
    """The frame's columns the model knows, each read as it was trained; others are ignored."""
    table = _core.Table()
    for name, kind in schema:
        if name not in frame.columns:
            continue  # the library names a missing feature column, with the closest names
        series = frame[name]
        if kind == "numeric":
            if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
                table.add_numeric(name, _numbers(name, series))
                continue
            values = np.empty(len(series), dtype=np.float64)
            for i, v in enumerate(series.tolist()):
                if _missing(v):
                    values[i] = np.nan
                    continue
                try:
                    values[i] = float(v)
                except (TypeError, ValueError):
                    raise ValueError(f"column {name}, row {i + 1}: {v!r} is not a number "
                                     "(the model was trained on numbers in this column)") from None
            if np.isinf(values).any():
                raise ValueError(f"column {name}, row {int(np.flatnonzero(np.isinf(values))[0]) + 1}: "
                                 "infinity is not a value (Input contains infinity)")
            table.add_numeric(name, values)
        else:
            table.add_strings(name, _strings(name, series), kind)
    if not any(name in frame.columns for name, _ in schema):
        # No column the model knows: the rows still count (a model without features, or
        # the library names the first missing column).
        table.add_numeric("__rows__", np.zeros(len(frame)))
    return table
