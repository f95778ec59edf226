"""CEADs city multi-regional input-output tables -> raw tables with file and row provenance.

``ceads/ceads_city_mrio_<YYYY>.xlsx|.csv|.parquet``, one file per table year (two files for one
year is an error). Each file is read and checked by :func:`models_py.io.ceads.read_mrio`; the
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
VARCHAR). :func:`read_warehouse` turns the raw tables of one year back into an MrioTable.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from models_py.ingest.files import files_by_year, source_files
from models_py.ingest.result import LoadResult
from models_py.io.ceads import FINAL_USE, FOOTER, VALUE_ADDED, MrioTable, Provenance, read_mrio

FOLDER = "ceads"
PATTERN = r"ceads_city_mrio_\d{4}\.(xlsx|csv|parquet)"
TABLES = ("ceads_region", "ceads_sector", "ceads_intermediate", "ceads_final_use",
          "ceads_row_totals", "ceads_footer")


def load(raw_dir: Path) -> LoadResult:
    """Read and check every CEADs MRIO file under ``raw_dir/ceads``."""
    raw_dir = Path(raw_dir)
    files = source_files(raw_dir, FOLDER, PATTERN)
    by_year = files_by_year(files, "give each table year in one format only")

    parts: dict[str, list[pa.Table]] = {name: [] for name in TABLES}
    report: dict = {"years": sorted(by_year), "formats": {}, "encodings": {},
                    "read_seconds": {}, "regions": {}, "sectors": {}, "empty_cells": {}}
    for year, path in sorted(by_year.items()):
        rel = str(path.relative_to(raw_dir))
        table = read_mrio(path, year=year)
        for name, part in raw_tables(table, rel).items():
            parts[name].append(part)
        source = table.source
        report["formats"][rel] = source.format
        report["encodings"][rel] = source.encoding or source.format
        report["read_seconds"][rel] = source.seconds
        report["regions"][year] = len(table.regions)
        report["sectors"][year] = len(table.sectors)
        report["empty_cells"][rel] = source.empty_cells
        del table
    tables = {name: pa.concat_tables(p) for name, p in parts.items()}
    report["rows"] = {name: t.num_rows for name, t in tables.items()}
    return LoadResult("ceads_mrio", tables, sorted(by_year.values()), report)


def raw_tables(table: MrioTable, source_file: str) -> dict[str, pa.Table]:
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
    offsets = pa.array(np.arange(0, n * n + 1, n, dtype=np.int64))
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


def read_warehouse(con: duckdb.DuckDBPyConnection, year: int, schema: str = "raw") -> MrioTable:
    """One year's table from the raw tables :func:`load` wrote (Z comes back in row order,
    C-contiguous: the Leontief engine factors it without a copy)."""
    def query(sql: str) -> pa.Table:
        return con.sql(sql.format(s=schema), params=[year]).to_arrow_table()

    regions = query("SELECT city_id, region_name FROM {s}.ceads_region WHERE year = ? "
                    "ORDER BY position")
    sectors = query("SELECT sector_code, label FROM {s}.ceads_sector WHERE year = ? "
                    "ORDER BY position")
    R, S = regions.num_rows, sectors.num_rows
    if R == 0:
        raise ValueError(f"no CEADs table for {year} in {schema}.ceads_region")
    n = R * S
    rows = query("SELECT source_file, source_row, z FROM {s}.ceads_intermediate "
                 "WHERE year = ? ORDER BY position")
    Z = np.empty((n, n))
    offset = 0
    for chunk in rows.column("z").chunks:
        values = pc.list_flatten(chunk).to_numpy(zero_copy_only=False)
        Z.reshape(-1)[offset:offset + len(values)] = values
        offset += len(values)
    rows = rows.select(["source_file", "source_row"])
    totals = query("SELECT t.ex, t.tfu, t.err, t.go FROM {s}.ceads_row_totals t "
                   "JOIN {s}.ceads_intermediate i USING (year, city_id, sector_code) "
                   "WHERE t.year = ? ORDER BY i.position")
    final_use = query(
        "SELECT f.value FROM {s}.ceads_final_use f "
        "JOIN {s}.ceads_intermediate i USING (year, city_id, sector_code) "
        "JOIN {s}.ceads_region c ON c.year = f.year AND c.city_id = f.consumer_city_id "
        "WHERE f.year = ? ORDER BY i.position, c.position, f.category")
    footer = query(
        "SELECT f.item, f.value, f.source_row FROM {s}.ceads_footer f "
        "JOIN {s}.ceads_intermediate i USING (year, city_id, sector_code) "
        "WHERE f.year = ? ORDER BY f.item, i.position")
    items = footer.column("item").to_pylist()
    values = footer.column("value").to_numpy()
    block = {item: values[k * n:(k + 1) * n] for k, item in enumerate(sorted(set(items)))}
    item_rows = {item: int(r) for item, r in zip(items[::n], footer.column("source_row")
                                                  .to_pylist()[::n])}
    col = {name: totals.column(name).to_numpy() for name in ("ex", "tfu", "err", "go")}
    return MrioTable(
        year, tuple(regions.column("city_id").to_pylist()),
        tuple(regions.column("region_name").to_pylist()),
        tuple(sectors.column("sector_code").to_pylist()),
        tuple(sectors.column("label").to_pylist()), Z,
        final_use.column("value").to_numpy().reshape(n, R, len(FINAL_USE)),
        col["ex"], col["tfu"], col["err"], col["go"], block["IM"], block["TII"],
        np.vstack([block[c] for c in VALUE_ADDED]), block["TVA"], block["TI"],
        Provenance(Path(rows.column("source_file")[0].as_py()), "warehouse", None,
                   rows.column("source_row").to_numpy(), item_rows))
