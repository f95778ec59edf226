"""Numbers and dates in raw files: missing markers, thousands separators, date formats, and
errors for anything else."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from models_py.ingest.errors import IngestError

MISSING_MARKERS = frozenset({"", "-", "—", "--", "——", "…", "……", "...", "NA", "N/A", "n/a"})


def to_numbers(cells: pd.Series, *, file, column: str, rows: pd.Series | np.ndarray,
               sheet: str | None = None) -> np.ndarray:
    """Parse a column of cells to float64, NaN where a missing marker stands.

    ``rows`` gives the 1-based file row of each cell for the error message; the first cell that
    is neither a number nor a missing marker raises an IngestError naming it.
    """
    text = cells.map(lambda v: "" if v is None else str(v).strip())
    missing = text.isin(MISSING_MARKERS)
    cleaned = text.str.replace(",", "", regex=False).str.replace("，", "", regex=False)
    values = pd.to_numeric(cleaned.where(~missing), errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & ~missing.to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IngestError(file, "not a number (nor a missing-value marker)", sheet=sheet,
                          row=int(np.asarray(rows)[i]), column=column, value=cells.iloc[i])
    if np.isinf(values).any():
        i = int(np.flatnonzero(np.isinf(values))[0])
        raise IngestError(file, "infinite value", sheet=sheet, row=int(np.asarray(rows)[i]),
                          column=column, value=cells.iloc[i])
    return values


def column_numbers(cells: pd.Series, *, file, column: str, rows: pd.Series | np.ndarray,
                   sheet: str | None = None) -> np.ndarray:
    """:func:`to_numbers` for a column a parser may already have read as numbers: a numeric
    column is taken as it is (NaN stays missing, infinity is an error), text goes through
    ``to_numbers``."""
    if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
        values = cells.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(values).any():
            i = int(np.flatnonzero(np.isinf(values))[0])
            raise IngestError(file, "infinite value", sheet=sheet, row=int(np.asarray(rows)[i]),
                              column=column, value=float(values[i]))
        return values
    return to_numbers(cells, file=file, column=column, rows=rows, sheet=sheet)


_DATE = (r"^(?P<y>\d{4})(?:(?P<sep>[-./])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
         r"|年(?P<m2>\d{1,2})月(?P<d2>\d{1,2})日)$")


def to_dates(cells: pd.Series, *, file, column: str, rows: pd.Series | np.ndarray,
             sheet: str | None = None) -> pd.Series:
    """Parse a column of dates written ``YYYY-MM-DD``, ``YYYY.M.D``, ``YYYY/M/D`` or
    ``YYYY年M月D日`` to a DATE column (pyarrow ``date32``). A missing, malformed or impossible
    date (2010-02-30) raises an IngestError naming the first such cell."""
    text = cells.map(lambda v: "" if v is None else str(v).strip().replace(" ", ""))
    parts = text.str.extract(_DATE)
    month = parts["m"].fillna(parts["m2"])
    day = parts["d"].fillna(parts["d2"])
    stamps = pd.to_datetime(pd.DataFrame({"year": pd.to_numeric(parts["y"]),
                                          "month": pd.to_numeric(month),
                                          "day": pd.to_numeric(day)}), errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise IngestError(file, "not a date (expected YYYY-MM-DD or YYYY.M.D)", sheet=sheet,
                          row=int(np.asarray(rows)[i]), column=column, value=cells.iloc[i])
    dates = pa.array(stamps.to_numpy(dtype="datetime64[D]")).cast(pa.date32())
    return pd.Series(dates, index=cells.index, dtype=pd.ArrowDtype(pa.date32()))
