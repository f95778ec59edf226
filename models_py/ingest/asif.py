"""Annual Survey of Industrial Firms style records -> one row per firm and year.

``asif/asif_<YYYY>.csv|.parquet``: ``法人代码``, ``行政区划代码`` (6-digit county),
``行业代码`` (4-digit CIC), ``年份``, ``工业总产值(千元)``, ``从业人数``, ``开业年份``,
``登记注册类型``. One file per year, CSV or Parquet. Codes stay text (CIC codes keep their
leading zeros). Parquet rows are numbered as if the file were a CSV: data row k is row k + 1.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from models_py.ingest import names, schema
from models_py.ingest.errors import IngestError
from models_py.ingest.files import (CsvTable, files_by_year, header_key, read_csv_table,
                                    source_files)
from models_py.ingest.numbers import column_numbers
from models_py.ingest.progress import Progress, file_read, reporter
from models_py.ingest.result import LoadResult

FOLDER = "asif"
FIRM, COUNTY, CIC, YEAR = "法人代码", "行政区划代码", "行业代码", "年份"
OUTPUT, EMPLOYMENT, OPEN_YEAR, REGISTRATION = "工业总产值(千元)", "从业人数", "开业年份", "登记注册类型"
TEXT = (FIRM, COUNTY, CIC, REGISTRATION)
NUMERIC = (YEAR, OUTPUT, EMPLOYMENT, OPEN_YEAR)
REQUIRED = TEXT + NUMERIC


def load(raw_dir: Path, *, progress: Progress | None = None) -> LoadResult:
    """Read every ``asif_<YYYY>.csv`` or ``asif_<YYYY>.parquet`` under ``raw_dir/asif``."""
    raw_dir = Path(raw_dir)
    say = reporter(progress)
    files = source_files(raw_dir, FOLDER, r"asif_\d{4}\.(csv|parquet)")
    by_year = files_by_year(files, "give each year as CSV or as Parquet, not both")

    frames, encodings, per_file, extra, padded = [], {}, {}, {}, []
    for k, (year, path) in enumerate(sorted(by_year.items()), start=1):
        started = time.perf_counter()
        rel = str(path.relative_to(raw_dir))
        if path.suffix == ".csv":
            table = read_csv_table(path, required=REQUIRED, numeric=NUMERIC)
        else:
            table, padded_cic = read_parquet_table(path)
            if padded_cic:
                padded.append(rel)
        encodings[rel] = table.encoding
        if table.extra_columns:
            extra[rel] = table.extra_columns
        tidy = read_year(table, year, rel)
        per_file[rel] = len(tidy)
        frames.append(tidy)
        file_read(say, "asif", k, len(by_year), rel, len(tidy), time.perf_counter() - started)
    result = pd.concat(frames, ignore_index=True)[schema.columns("asif_firm_year")]
    return LoadResult("asif", {"asif_firm_year": result}, files, {
        "rows": {"asif_firm_year": len(result)}, "rows_per_file": per_file,
        "years": sorted(by_year), "encodings": encodings, "extra_columns": extra,
        "missing": {c: int(result[c].isna().sum())
                    for c in ("output_k_yuan", "employment", "open_year", "registration_type")},
        "cic_from_integer_column": padded})


def read_parquet_table(path: Path) -> tuple[CsvTable, bool]:
    """A Parquet file as a CsvTable (codes as text, rows numbered as in a CSV), and whether
    行业代码 was an integer column whose values were zero-padded to four digits."""
    try:
        arrow = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for corrupt files
        raise IngestError(path, f"cannot be read as a Parquet file: {e}") from None
    header = [header_key(n) for n in arrow.column_names]
    for name in REQUIRED:
        if name not in header:
            raise IngestError(path, f"missing column (columns: {', '.join(header)})",
                              column=name)
    if len(set(header)) != len(header):
        twice = next(h for h in header if header.count(h) > 1)
        raise IngestError(path, "column given twice", column=twice)
    frame = pd.DataFrame(index=pd.RangeIndex(arrow.num_rows))
    padded = False
    for name, column in zip(header, arrow.columns):
        if name not in REQUIRED:
            continue
        if name in NUMERIC and (pa.types.is_integer(column.type)
                                or pa.types.is_floating(column.type)):
            frame[name] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
            continue
        if name == CIC and pa.types.is_integer(column.type):
            column, padded = pc.utf8_lpad(column.cast(pa.string()), 4, "0"), True
        frame[name] = _arrow_text(column)
    rows = np.arange(2, arrow.num_rows + 2, dtype=np.int64)
    known = set(REQUIRED)
    return CsvTable(path, "parquet", frame, rows, [h for h in header if h not in known]), padded


def _arrow_text(column: pa.ChunkedArray) -> pd.Series:
    """A Parquet column as stripped text, '' for null; whole floats lose their '.0'."""
    if pa.types.is_floating(column.type):
        values = column.to_numpy(zero_copy_only=False)
        finite = np.isfinite(values)
        if (values[finite] == np.round(values[finite])).all():
            column = pa.array(values, mask=~finite).cast(pa.int64())
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    return pd.Series(column.to_pandas(), dtype="str").fillna("").str.strip()


def read_year(table: CsvTable, year: int, rel: str) -> pd.DataFrame:
    """Validated firm rows of one year's file."""
    frame, rows, path = table.frame, table.rows, table.path
    table.check_year(YEAR, year)

    firm = frame[FIRM]
    _first_bad(table, (firm == "").to_numpy(), FIRM, "empty 法人代码")

    county = frame[COUNTY]
    codes, distinct = pd.factorize(county)
    known = names.counties().ids
    in_roster = np.fromiter((c in known for c in distinct), dtype=bool, count=len(distinct))
    _first_bad(table, ~in_roster[codes], COUNTY, "行政区划代码 not in the county roster")

    cic = frame[CIC]
    _first_bad(table, ~cic.str.fullmatch(r"[0-9]{4}").to_numpy(dtype=bool), CIC,
               "行业代码 must be a 4-digit CIC code")

    output = column_numbers(frame[OUTPUT], file=path, column=OUTPUT, rows=rows)
    employment = column_numbers(frame[EMPLOYMENT], file=path, column=EMPLOYMENT, rows=rows)
    opened = column_numbers(frame[OPEN_YEAR], file=path, column=OPEN_YEAR, rows=rows)
    _first_bad(table, ~np.isnan(opened) & (opened != np.round(opened)), OPEN_YEAR,
               "开业年份 must be a whole year")

    registration = frame[REGISTRATION]
    tidy = pd.DataFrame({
        "year": np.full(len(frame), year, dtype="int32"), "firm_id": firm,
        "county_id": county, "cic4": cic, "output_k_yuan": output, "employment": employment,
        "open_year": pd.array(opened, dtype="Float64").astype("Int32"),
        "registration_type": registration.where(registration != "", None),
        "source_file": rel, "source_row": rows})
    dup = firm.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((firm == firm.iloc[i]).to_numpy())[0])
        raise table.error(f"duplicate firm-year: 法人代码 {firm.iloc[i]} appears twice for {year}, "
                          f"rows {rows[first]} and {rows[i]}", at=i, column=FIRM,
                          value=firm.iloc[i])
    return tidy


def _first_bad(table: CsvTable, bad: np.ndarray, column: str, message: str) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise table.error(message, at=i, column=column, value=table.cell(i, column))
