"""CEADs city multi-regional input-output tables -> raw tables with file and row provenance.

``ceads/ceads_city_mrio_<YYYY>.xlsx|.csv|.parquet``, one file per table year (two files for one
year is an error). :func:`read_mrio` reads and checks one file (the layout is described in
:mod:`models_py.ingest.ceads.table`, the checks in :mod:`models_py.ingest.ceads.layout`); the
raw tables keep its blocks as they are:

- ``ceads_region`` (year, position, city_id, region_name): regions in table order;
- ``ceads_sector`` (year, position, sector_code, label);
- ``ceads_intermediate`` (year, position, city_id, sector_code, source_file, source_row, z):
  one row per data row, ``z`` its Z row as a DOUBLE[] list in column order;
- ``ceads_final_use`` (year, city_id, sector_code, consumer_city_id, category, value): long;
- ``ceads_row_totals`` (year, city_id, sector_code, ex, tfu, err, go, source_file, source_row);
- ``ceads_footer`` (year, item, city_id, sector_code, value, source_file, source_row): the
  IM, TII, VA001..VA004, TVA and TI rows per intermediate column.

Positions are 1-based like DuckDB list indexes: ``z[k]`` is the flow to the region-sector in
position k. Values are in 万元 as in the file. Large tables are built as Arrow arrays straight
from the numpy blocks; repeated text columns are dictionary-encoded (DuckDB reads them as
VARCHAR). A full-size table year is about 2 GB of Arrow data, so the load hands the years over
one at a time (:attr:`LoadResult.parts`): each is read and checked only when the writer asks
for it, and written before the next is read.

The modules of this package: ``table`` (the layout and the blocks a table is read into),
``layout`` (the checks), ``columns`` (blocks from a column grid), one reader per format
(``xlsx`` with its compiled ``xlsx_scan`` and ``xlsx_numbers``, ``csv``, ``parquet``).
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from models_py.ingest.ceads.columns import assemble
from models_py.ingest.ceads.csv import read_csv
from models_py.ingest.ceads.parquet import read_parquet
from models_py.ingest.ceads.table import (DEFAULT_TOLERANCE, FINAL_USE, FOOTER, VALUE_ADDED,
                                          CeadsBlocks, Provenance, file_year)
from models_py.ingest.ceads.xlsx import read_xlsx
from models_py.ingest.errors import IngestError
from models_py.ingest.files import detect_encoding, files_by_year, only_year, source_files
from models_py.ingest.progress import Progress, file_read, reporter
from models_py.ingest.result import LoadResult

FOLDER = "ceads"
PATTERN = r"ceads_city_mrio_\d{4}\.(xlsx|csv|parquet)"


def read_mrio(path: Path, *, year: int | None = None,
              tolerance: float = DEFAULT_TOLERANCE) -> CeadsBlocks:
    """Read and check one CEADs city MRIO file (.xlsx, .csv or .parquet).

    ``year`` defaults to the year in the file name (for a workbook, the year of its
    ``Table_<YYYY>`` sheet if the name has none). Rows must balance: |Z row sum + final use +
    EX - ERR - GO| <= ``tolerance`` * max(1, |GO|).
    """
    path = Path(path)
    start = time.perf_counter()
    year = year if year is not None else file_year(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        table = read_xlsx(path, year, tolerance)
    elif suffix in (".csv", ".parquet"):
        if year is None:
            raise IngestError(path, "no year: expected a file name ceads_city_mrio_<YYYY>.<ext>")
        grid = read_csv(path) if suffix == ".csv" else read_parquet(path)
        table = assemble(grid, year, tolerance)
    else:
        raise IngestError(path, "expected an .xlsx, .csv or .parquet file")
    table.source.seconds = round(time.perf_counter() - start, 3)
    return table


def load(raw_dir: Path, year: int | None = None, *,
         progress: Progress | None = None) -> LoadResult:
    """Find every CEADs MRIO file under ``raw_dir/ceads`` (or only that of table year
    ``year``); the tables come in parts, one table year each, read and checked as the writer
    asks for them (``progress`` hears of each)."""
    raw_dir = Path(raw_dir)
    files = source_files(raw_dir, FOLDER, PATTERN)
    by_year = only_year(files_by_year(files, "give each table year in one format only"), year,
                        raw_dir / FOLDER)
    report: dict = {"years": sorted(by_year), "formats": {}, "encodings": {},
                    "read_seconds": {}, "regions": {}, "sectors": {}, "empty_cells": {}}
    for path in by_year.values():  # known before the parts are read: the load log needs them
        report["encodings"][str(path.relative_to(raw_dir))] = (
            detect_encoding(path) if path.suffix.lower() == ".csv" else path.suffix.lower()[1:])
    empty = raw_tables(_no_table(), "")
    return LoadResult("ceads_mrio", {name: t.slice(0, 0) for name, t in empty.items()},
                      sorted(by_year.values()), report,
                      parts=_years(raw_dir, by_year, report, reporter(progress)))


def _years(raw_dir: Path, by_year: dict[int, Path], report: dict,
           say: Progress) -> Iterator[dict[str, pa.Table]]:
    """The raw tables of each table year in turn, its report entries filled as it is read."""
    for k, (year, path) in enumerate(sorted(by_year.items()), start=1):
        rel = str(path.relative_to(raw_dir))
        say(f"ceads_mrio [{k}/{len(by_year)}] {rel}: reading and checking")
        table = read_mrio(path, year=year)
        source = table.source
        report["formats"][rel] = source.format
        report["read_seconds"][rel] = source.seconds
        report["regions"][year] = len(table.regions)
        report["sectors"][year] = len(table.sectors)
        report["empty_cells"][rel] = source.empty_cells
        file_read(say, "ceads_mrio", k, len(by_year), rel, table.n, source.seconds)
        part = raw_tables(table, rel)
        del table, source
        yield part
        del part


def _no_table() -> CeadsBlocks:
    """A table of no regions: what :func:`raw_tables` makes of it is the schema alone."""
    nothing = np.zeros(0)
    return CeadsBlocks(0, (), (), (), (), np.zeros((0, 0)), np.zeros((0, 0, len(FINAL_USE))),
                       nothing, nothing, nothing, nothing, nothing, nothing,
                       np.zeros((len(VALUE_ADDED), 0)), nothing, nothing,
                       Provenance(Path(""), "memory", None, np.zeros(0, np.int64),
                                  dict.fromkeys(FOOTER, 0)))


def raw_tables(table: CeadsBlocks, source_file: str) -> dict[str, pa.Table]:
    """The raw tables of one year's MRIO table."""
    R, S, n = len(table.regions), len(table.sectors), table.n
    year = table.year
    cities = pa.array(table.regions, pa.string())
    codes = pa.array(table.sectors, pa.string())
    row_city = np.repeat(np.arange(R, dtype=np.int32), S)
    row_sector = np.tile(np.arange(S, dtype=np.int32), R)
    rows = table.source.rows

    region = pa.table({
        "year": _const(year, R), "position": np.arange(1, R + 1, dtype=np.int32),
        "city_id": cities, "region_name": pa.array(table.region_names, pa.string())})
    sector = pa.table({
        "year": _const(year, S), "position": np.arange(1, S + 1, dtype=np.int32),
        "sector_code": codes, "label": pa.array(table.sector_labels, pa.string())})

    flat = pa.array(np.ascontiguousarray(table.Z).reshape(-1))
    offsets = pa.array(np.arange(n + 1, dtype=np.int64) * n)
    intermediate = pa.table({
        "year": _const(year, n), "position": np.arange(1, n + 1, dtype=np.int32),
        "city_id": _coded(row_city, cities), "sector_code": _coded(row_sector, codes),
        "source_file": _coded(np.zeros(n, np.int32), pa.array([source_file])),
        "source_row": rows.astype(np.int32),
        "z": pa.LargeListArray.from_arrays(offsets, flat)})

    m = len(FINAL_USE)
    cells = n * R * m
    producer = np.repeat(np.arange(n, dtype=np.int32), R * m)
    final_use = pa.table({
        "year": _const(year, cells),
        "city_id": _coded(producer // S, cities), "sector_code": _coded(producer % S, codes),
        "consumer_city_id": _coded(np.tile(np.repeat(np.arange(R, dtype=np.int32), m), n),
                                   cities),
        "category": _coded(np.tile(np.arange(m, dtype=np.int32), n * R),
                           pa.array(FINAL_USE, pa.string())),
        "value": np.ascontiguousarray(table.Y_cat).reshape(-1)})

    row_totals = pa.table({
        "year": _const(year, n), "city_id": _coded(row_city, cities),
        "sector_code": _coded(row_sector, codes), "ex": table.EX, "tfu": table.TFU,
        "err": table.ERR, "go": table.GO,
        "source_file": _coded(np.zeros(n, np.int32), pa.array([source_file])),
        "source_row": rows.astype(np.int32)})

    items = np.vstack([table.IM, table.TII, table.VA, table.TVA, table.TI])
    item_rows = np.array([table.source.footer_rows[c] for c in FOOTER], dtype=np.int32)
    k = len(FOOTER)
    footer = pa.table({
        "year": _const(year, k * n),
        "item": _coded(np.repeat(np.arange(k, dtype=np.int32), n), pa.array(FOOTER)),
        "city_id": _coded(np.tile(row_city, k), cities),
        "sector_code": _coded(np.tile(row_sector, k), codes), "value": items.reshape(-1),
        "source_file": _coded(np.zeros(k * n, np.int32), pa.array([source_file])),
        "source_row": np.repeat(item_rows, n)})
    return {"ceads_region": region, "ceads_sector": sector, "ceads_intermediate": intermediate,
            "ceads_final_use": final_use, "ceads_row_totals": row_totals, "ceads_footer": footer}


def _const(year: int, count: int) -> np.ndarray:
    return np.full(count, year, dtype=np.int32)


def _coded(indices: np.ndarray, labels: pa.Array) -> pa.DictionaryArray:
    """A repeated text column: int32 indices into ``labels``."""
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32, copy=False)), labels)

