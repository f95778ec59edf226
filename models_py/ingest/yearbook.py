"""City and county Statistical Yearbook files -> long tidy rows in canonical units.

One file per data year (``city_yearbook_<YYYY>.xlsx|.csv``, ``county_yearbook_<YYYY>...``), first
sheet. Up to three title rows may precede the header row, whose first cell is ``城市``/``地区``
(``县``/``地区`` for counties). Columns: the place name, an optional ``行政区划代码``, then one
column per indicator headed ``<指标>(<单位>)`` with an optional ``_全市``/``_市辖区`` scope.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from models_py import reference
from models_py.ingest import catalog as catalog_mod
from models_py.ingest import names, schema
from models_py.ingest.files import (Grid, cell_text, files_by_year, only_year, read_first_grid,
                                    source_files)
from models_py.ingest.numbers import to_numbers
from models_py.ingest.progress import Progress, file_read, reporter
from models_py.ingest.result import LoadResult

MAX_TITLE_ROWS = 3
CODE_HEADER = "行政区划代码"
LEVELS = {
    "city": {"prefix": "city_yearbook", "first_cells": ("城市", "地区"), "id": "city_id"},
    "county": {"prefix": "county_yearbook", "first_cells": ("县", "地区"), "id": "county_id"},
}


def load_city(raw_dir: Path, year: int | None = None, *,
              progress: Progress | None = None) -> LoadResult:
    """Every city yearbook file, or only the one of ``year``."""
    return _load(Path(raw_dir), "city", year, progress)


def load_county(raw_dir: Path, year: int | None = None, *,
                progress: Progress | None = None) -> LoadResult:
    """Every county yearbook file, or only the one of ``year``."""
    return _load(Path(raw_dir), "county", year, progress)


def _load(raw_dir: Path, level: str, year: int | None, progress: Progress | None
          ) -> LoadResult:
    spec = LEVELS[level]
    say = reporter(progress)
    files = source_files(raw_dir, "yearbook", rf"{spec['prefix']}_\d{{4}}\.(xlsx|csv)")
    years = only_year(files_by_year(files, "give each year as xlsx or as csv, not both"), year,
                      raw_dir / "yearbook")
    files = list(years.values())
    frames, unknown, encodings = [], {}, {}
    for k, (year, path) in enumerate(years.items(), start=1):
        started = time.perf_counter()
        grid = read_first_grid(path)
        rel = str(path.relative_to(raw_dir))
        encodings[rel] = grid.encoding or "xlsx"
        tidy, unknown_headers = read_yearbook(grid, year, level, rel)
        frames.append(tidy)
        file_read(say, f"{level}_yearbook", k, len(years), rel, len(tidy),
                  time.perf_counter() - started)
        if unknown_headers:
            unknown[rel] = unknown_headers
    table = pd.concat(frames, ignore_index=True)
    source = f"{level}_yearbook"
    return LoadResult(source, {source: table}, files, {
        "years": sorted(years), "rows": len(table), "places": int(table[spec["id"]].nunique()),
        "unknown_headers": unknown, "encodings": encodings})


def _header_row(grid: Grid, first_cells: tuple[str, ...]) -> int:
    for i, row in enumerate(grid.rows[: MAX_TITLE_ROWS + 1]):
        if row and cell_text(row[0]) in first_cells:
            return i
    raise grid.error(f"no header row: expected a row whose first cell is "
                     f"{' or '.join(first_cells)} within the first {MAX_TITLE_ROWS + 1} rows",
                     row=0, value=cell_text(grid.rows[0][0]) if grid.rows and grid.rows[0] else "")


def read_yearbook(grid: Grid, year: int, level: str, rel: str) -> tuple[pd.DataFrame, list[str]]:
    """Tidy rows of one yearbook grid, and the well-formed headers the catalog does not know."""
    spec = LEVELS[level]
    h = _header_row(grid, spec["first_cells"])
    header = [cell_text(c) for c in grid.rows[h]]
    body = [r for r in grid.rows[h + 1:]]
    width = len(header)
    cells = pd.DataFrame([list(r[:width]) + [""] * (width - len(r)) for r in body],
                         columns=range(width), dtype=object)
    file_rows = np.arange(h + 2, h + 2 + len(body))  # 1-based sheet rows
    keep = cells.map(lambda v: cell_text(v) != "").any(axis=1).to_numpy()
    cells, file_rows = cells[keep].reset_index(drop=True), file_rows[keep]

    code_col = header.index(CODE_HEADER) if CODE_HEADER in header else None
    place_names = cells[0].map(cell_text)
    codes = cells[code_col].map(cell_text) if code_col is not None else None
    ids = _resolve_places(grid, level, year, place_names, codes, file_rows, header[0])
    _no_duplicates(grid, ids, place_names, file_rows, year)

    cat = catalog_mod.catalog()
    fx = reference.usd_cny()
    frames, unknown = [], []
    for j, head in enumerate(header):
        if j == 0 or j == code_col:
            continue
        parsed = catalog_mod.parse_header(head)
        if parsed is None:
            raise grid.error("unknown header: expected <指标>(<单位>) with an optional _全市 or "
                             "_市辖区 suffix, or 行政区划代码", row=h, column=head, value=head)
        indicator, unit, scope = parsed
        try:
            mapping = cat.lookup(indicator, unit)
        except KeyError as e:
            raise grid.error(str(e.args[0]), row=h, column=head, value=head) from None
        values = to_numbers(cells[j], file=grid.path, sheet=grid.sheet, column=head, rows=file_rows)
        if mapping is None:
            unknown.append(head)
            variable, canonical, converted = None, None, np.full(len(values), np.nan)
        else:
            factor = mapping.factor * (_fx(grid, fx, year, head) if mapping.convert_usd else 1.0)
            variable, canonical, converted = mapping.variable, mapping.canonical_unit, values * factor
        frames.append(pd.DataFrame({
            spec["id"]: ids, "year": year, "variable": variable, "scope": scope,
            "value": converted, "unit": canonical, "indicator": indicator, "source_unit": unit,
            "source_value": values, "source_file": rel, "source_row": file_rows,
            "source_column": head}))
    if not frames:
        raise grid.error("no indicator columns after the place name", row=h)
    tidy = pd.concat(frames, ignore_index=True)
    _no_duplicate_columns(grid, tidy, h)
    return tidy[schema.columns(f"{level}_yearbook")], unknown


def _resolve_places(grid: Grid, level: str, year: int, place_names: pd.Series,
                    codes: pd.Series | None, file_rows: np.ndarray, column: str) -> np.ndarray:
    out = []
    for k, name in enumerate(place_names):
        def where(message, value, k=k, col=column):
            return grid.error(message, row=int(file_rows[k]) - 1, column=col, value=value)
        if not name:
            raise where("empty place name", name)
        if level == "city":
            out.append(names.cities().resolve(name, year, where))
        else:
            code = codes.iloc[k] if codes is not None else ""
            out.append(names.counties().resolve(name, code, where))
    return np.array(out, dtype=object)


def _no_duplicates(grid: Grid, ids: np.ndarray, place_names: pd.Series, file_rows: np.ndarray,
                   year: int) -> None:
    seen: dict[str, int] = {}
    for k, pid in enumerate(ids):
        if pid in seen:
            first = seen[pid]
            raise grid.error(f"duplicate place-year: {place_names.iloc[k]} resolves to {pid}, "
                             f"already given for {year} at row {file_rows[first]} "
                             f"({place_names.iloc[first]})", row=int(file_rows[k]) - 1,
                             value=place_names.iloc[k])
        seen[pid] = k


def _no_duplicate_columns(grid: Grid, tidy: pd.DataFrame, header_row: int) -> None:
    known = tidy[tidy["variable"].notna()]
    dup = known.duplicated(["variable", "scope", "source_row"])
    if dup.any():
        col = known.loc[dup.idxmax(), "source_column"]
        raise grid.error("two columns give the same variable and scope", row=header_row,
                         column=col, value=col)


def _fx(grid: Grid, fx: dict[int, float], year: int, head: str) -> float:
    if year not in fx:
        raise grid.error(f"no USD/CNY rate for {year} in ref_usd_cny.csv", column=head)
    return fx[year]
