"""One year's input-output table as the Leontief model uses it, read back from the warehouse.

The raw CEADs tables (``raw.ceads_*``, written by :mod:`models_py.ingest.ceads`) hold each
table year's blocks as the file gave them; :func:`read_warehouse` turns one year back into an
:class:`MrioTable`, the same blocks with the rows' regions and sectors at hand.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from models_py.ingest.ceads.table import FINAL_USE, VALUE_ADDED, CeadsBlocks, Provenance

_Z_ROWS = 1 << 7                      # rows of Z per streamed batch (13 MB at full size)
_CELLS = 1 << 16                      # final-use cells per streamed batch


@dataclasses.dataclass
class MrioTable(CeadsBlocks):
    """One year's city MRIO table (the blocks of :class:`CeadsBlocks`): ``n`` = regions x
    sectors rows in table order, each row (and Z column) one region-sector."""

    @classmethod
    def from_blocks(cls, blocks: CeadsBlocks) -> MrioTable:
        """The table of blocks a reader returned (the arrays are shared, not copied)."""
        return cls(**{f.name: getattr(blocks, f.name) for f in dataclasses.fields(blocks)})

    def row_regions(self) -> np.ndarray:
        """City id of each row (and Z column)."""
        return np.repeat(np.array(self.regions, dtype=object), len(self.sectors))

    def row_sectors(self) -> np.ndarray:
        """Sector code of each row (and Z column)."""
        return np.tile(np.array(self.sectors, dtype=object), len(self.regions))


def read_warehouse(con: duckdb.DuckDBPyConnection, year: int, schema: str = "raw") -> MrioTable:
    """One year's table from the raw tables :func:`models_py.ingest.ceads.load` wrote (Z comes
    back in row order, C-contiguous: the Leontief engine factors it without a copy).

    Z and the final-use block are streamed a batch of rows at a time and each row put in its
    place by its position, so neither DuckDB (no sort) nor Arrow holds a second copy of them.
    """
    def query(sql: str) -> pa.Table:
        return con.sql(sql.format(s=schema), params=[year]).to_arrow_table()

    def batches(sql: str, rows: int, *params) -> pa.RecordBatchReader:
        return con.sql(sql.format(s=schema), params=[*params, year]).fetch_record_batch(rows)

    regions = query("SELECT city_id, region_name FROM {s}.ceads_region WHERE year = ? "
                    "ORDER BY position")
    sectors = query("SELECT sector_code, label FROM {s}.ceads_sector WHERE year = ? "
                    "ORDER BY position")
    R, S = regions.num_rows, sectors.num_rows
    if R == 0:
        raise ValueError(f"no CEADs table for {year} in {schema}.ceads_region")
    n, m = R * S, len(FINAL_USE)
    Z = np.empty((n, n))
    source_rows = np.empty(n, dtype=np.int64)
    source_files: set[str] = set()
    for batch in batches("SELECT position, source_file, source_row, z FROM "
                         "{s}.ceads_intermediate WHERE year = ?", _Z_ROWS):
        at = batch.column("position").to_numpy() - 1
        Z[at] = pc.list_flatten(batch.column("z")).to_numpy(zero_copy_only=False).reshape(-1, n)
        source_rows[at] = batch.column("source_row").to_numpy()
        source_files.update(batch.column("source_file").to_pylist())
    Y_cat = np.empty((n, R, m))
    for batch in batches(
            "SELECT (i.position - 1) * ? + (c.position - 1) * ? + list_position(?, f.category) "
            "- 1 AS at, f.value FROM {s}.ceads_final_use f "
            "JOIN {s}.ceads_intermediate i USING (year, city_id, sector_code) "
            "JOIN {s}.ceads_region c ON c.year = f.year AND c.city_id = f.consumer_city_id "
            "WHERE f.year = ?", _CELLS, R * m, m, list(FINAL_USE)):
        Y_cat.reshape(-1)[batch.column("at").to_numpy()] = batch.column("value").to_numpy()
    totals = query("SELECT t.ex, t.tfu, t.err, t.go FROM {s}.ceads_row_totals t "
                   "JOIN {s}.ceads_intermediate i USING (year, city_id, sector_code) "
                   "WHERE t.year = ? ORDER BY i.position")
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
        tuple(sectors.column("label").to_pylist()), Z, Y_cat,
        col["ex"], col["tfu"], col["err"], col["go"], block["IM"], block["TII"],
        np.vstack([block[c] for c in VALUE_ADDED]), block["TVA"], block["TI"],
        Provenance(Path(min(source_files)), "warehouse", None, source_rows, item_rows))
