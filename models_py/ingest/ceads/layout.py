"""The checks every CEADs reader runs, whatever the file format: where each block is (from the
header rows and the label columns, every order, count and name checked against the contract),
that number cells are numbers, and that every row balances.

A reader first calls :func:`check_columns` on the four header rows, which says where Z, the
final-use block and the EX/TFU/ERR/GO columns are; then :func:`check_rows` on the label columns
of the body, which finds the footer rows; :func:`finish` raises on the first cell that was not
a number, checks the row balance and returns the :class:`CeadsBlocks`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numba
import numpy as np

from models_py import reference
from models_py.ingest import names
from models_py.ingest.ceads.table import (FINAL_USE, FIRST_Z_COLUMN, FOOTER, HEADER_ROWS, TOTALS,
                                          VALUE_ADDED, CeadsBlocks, Provenance, Sheet, code,
                                          column_letter, text)
from models_py.ingest.numbers import MISSING_MARKERS


@dataclass
class Columns:
    """Where the blocks are in the grid, from the header rows."""
    z_columns: list[int]
    regions: list[str]                # city ids, column order
    region_names: list[str]
    sectors: list[str]
    sector_labels: list[str]
    fu_columns: list[int]             # region-major, FINAL_USE order
    totals: dict[str, int]            # EX/TFU/ERR/GO -> grid column
    resolver: RegionResolver = field(repr=False)

    @property
    def n(self) -> int:
        return len(self.z_columns)

    def targets(self) -> np.ndarray:
        """For every grid column, where its data cells go: -1 nowhere, below n a column of Z,
        then (region, category) of the final-use block, then EX, TFU, ERR, GO."""
        n, m = self.n, len(self.fu_columns)
        width = 1 + max([*self.z_columns, *self.fu_columns, *self.totals.values()])
        where = np.full(width, -1, dtype=np.int64)
        where[self.z_columns] = np.arange(n)
        where[self.fu_columns] = n + np.arange(m)
        for t, name in enumerate(TOTALS):
            where[self.totals[name]] = n + m + t
        return where


class Blocks:
    """The arrays a reader fills: Z (n x n), the final-use block (n x regions*5) and the
    EX/TFU/ERR/GO rows (4 x n); NaN where no cell was written. Z is C-ordered unless
    ``order="F"`` (readers that fill it a column at a time)."""

    def __init__(self, columns: Columns, order: str = "C"):
        n, r = columns.n, len(columns.regions)
        self.Z = np.full((n, n), np.nan, order=order)
        self.Y = np.full((n, r * len(FINAL_USE)), np.nan)
        self.T = np.full((len(TOTALS), n), np.nan)
        self.footer = np.zeros((len(FOOTER), n))
        self.bad: list[tuple[int, int, object]] = []   # (sheet row, column, raw value)


def check_columns(sheet: Sheet, header: list[list[str]], year: int) -> Columns:
    """Where every block is, from the four header rows (padded to one width)."""
    title, region_row, label_row, code_row = header
    codes = [code(v) for v in code_row]
    width = len(codes)
    resolver = RegionResolver(sheet, year)
    known_sectors = set(reference.sectors()["sector_code"])

    # Z columns: the run of sector codes from column D
    k = FIRST_Z_COLUMN
    while k < width and re.fullmatch(r"\d{2}", codes[k]):
        k += 1
    z_end = k
    if z_end == FIRST_Z_COLUMN:
        raise sheet.error("expected the first sector code of the Z block in the codes row",
                          row=HEADER_ROWS, column=FIRST_Z_COLUMN,
                          value=code_row[FIRST_Z_COLUMN] if width > FIRST_Z_COLUMN else "")
    for k in range(FIRST_Z_COLUMN, z_end):
        if codes[k] not in known_sectors:
            raise sheet.error("sector code not in the 42-sector classification (01..42)",
                              row=HEADER_ROWS, column=k, value=code_row[k])

    column_regions = _forward_fill(region_row, FIRST_Z_COLUMN, z_end)
    if not column_regions[0]:
        raise sheet.error("expected a region name above the first Z column", row=2,
                          column=FIRST_Z_COLUMN, value="")
    blocks: list[tuple[int, int]] = []           # (first column, end column) per region
    for k in range(FIRST_Z_COLUMN, z_end):
        if k == FIRST_Z_COLUMN or column_regions[k - FIRST_Z_COLUMN] != \
                column_regions[k - FIRST_Z_COLUMN - 1]:
            blocks.append((k, k + 1))
        else:
            blocks[-1] = (blocks[-1][0], k + 1)
    sectors = codes[blocks[0][0]:blocks[0][1]]
    s_count = len(sectors)
    if len(set(sectors)) != s_count:
        j = next(j for j, s in enumerate(sectors) if s in sectors[:j])
        raise sheet.error(f"sector {sectors[j]} appears twice in the first region's block",
                          row=HEADER_ROWS, column=blocks[0][0] + j, value=sectors[j])
    regions, region_names = [], []
    for b, (start, end) in enumerate(blocks):
        name = column_regions[start - FIRST_Z_COLUMN]
        city = resolver.resolve(name, row=2, column=start)
        if city in regions:
            raise sheet.error(f"region {name} ({city}) has a second column block (the first "
                              f"starts at column {column_letter(blocks[regions.index(city)][0])})",
                              row=2, column=start, value=name)
        got = codes[start:end]
        for j, expected in enumerate(sectors):
            if j >= len(got):
                truncated = b == len(blocks) - 1
                raise sheet.error(
                    ("truncated Z block: " if truncated else "") +
                    f"region {name} has {len(got)} of the {s_count} sector columns of the first "
                    f"region; expected sector {expected} in this column",
                    row=HEADER_ROWS, column=end, value=code_row[end] if end < width else "")
            if got[j] != expected:
                raise sheet.error(f"expected sector {expected} (the order of the first "
                                  f"region's block) under region {name}", row=HEADER_ROWS,
                                  column=start + j, value=code_row[start + j])
        if len(got) > s_count:
            raise sheet.error(f"region {name} has more sector columns than the {s_count} of "
                              "the first region", row=HEADER_ROWS, column=start + s_count,
                              value=code_row[start + s_count])
        regions.append(city)
        region_names.append(name)
    sector_labels = [label_row[k] for k in range(blocks[0][0], blocks[0][1])]

    fu_columns, totals = _check_final_use(sheet, codes, code_row, region_row, z_end, regions,
                                          resolver)
    return Columns(list(range(FIRST_Z_COLUMN, z_end)), regions, region_names, sectors,
                   sector_labels, fu_columns, totals, resolver)


def _forward_fill(values: list[str], start: int, end: int) -> list[str]:
    out, current = [], ""
    for k in range(start, end):
        current = values[k] or current
        out.append(current)
    return out


def _check_final_use(sheet: Sheet, codes: list[str], code_row: list[str], region_row: list[str],
                     z_end: int, regions: list[str], resolver: RegionResolver):
    """Final-use columns (region-major, FINAL_USE order) and the EX/TFU/ERR/GO columns."""
    width = len(codes)
    first_fu = next((k for k in range(z_end, width) if codes[k] in FINAL_USE), None)
    if first_fu is None:
        raise sheet.error(f"no final-use column ({', '.join(FINAL_USE)}) after the Z block",
                          row=HEADER_ROWS, column=z_end)
    for k in range(z_end, first_fu):
        if re.fullmatch(r"\d{2}", codes[k]) or codes[k] in TOTALS or codes[k] in FOOTER:
            raise sheet.error("expected the total-intermediate-use column between the Z block "
                              "and the final-use block", row=HEADER_ROWS, column=k,
                              value=code_row[k])
    if first_fu - z_end > 1:
        raise sheet.error("more than one column between the Z block and the final-use block "
                          "(expected only total intermediate use)", row=HEADER_ROWS,
                          column=z_end + 1, value=code_row[z_end + 1])
    count = len(regions) * len(FINAL_USE)
    fu_columns = list(range(first_fu, first_fu + count))
    current = ""
    for q, k in enumerate(fu_columns):
        r, c = divmod(q, len(FINAL_USE))
        expected = FINAL_USE[c]
        got = codes[k] if k < width else ""
        if got != expected:
            raise sheet.error(f"expected final-use code {expected} in the block of region "
                              f"{r + 1} ({len(regions)} regions x {len(FINAL_USE)} categories, "
                              "in the order of the Z block)", row=HEADER_ROWS, column=k,
                              value=code_row[k] if k < width else "")
        current = region_row[k] or (current if c else "")
        if c == 0 and not current:
            raise sheet.error("expected a region name above the final-use block", row=2,
                              column=k, value="")
        if region_row[k] or c == 0:
            city = resolver.resolve(current, row=2, column=k)
            if city != regions[r]:
                raise sheet.error(f"final-use block of region {r + 1} is for {current} "
                                  f"({city}); expected {regions[r]} as in the Z block", row=2,
                                  column=k, value=current)
    totals: dict[str, int] = {}
    for k in range(first_fu + count, width):
        if codes[k] in TOTALS:
            if codes[k] in totals:
                raise sheet.error(f"code {codes[k]} appears twice in the codes row (also "
                                  f"column {column_letter(totals[codes[k]])})", row=HEADER_ROWS,
                                  column=k, value=code_row[k])
            totals[codes[k]] = k
        elif codes[k]:
            raise sheet.error("unexpected code after the final-use block (expected "
                              + ", ".join(TOTALS) + ")", row=HEADER_ROWS, column=k,
                              value=code_row[k])
    for name in TOTALS:
        if name not in totals:
            raise sheet.error(f"no {name} column in the codes row after the final-use block",
                              row=HEADER_ROWS, column=first_fu + count)
    return fu_columns, totals


def check_rows(sheet: Sheet, columns: Columns, labels: tuple[list[str], list[str], list[str]],
               sheet_rows: np.ndarray) -> dict[str, int]:
    """Check the data rows (body rows 0..n-1: the region and sector order of the columns) and
    find the footer rows; returns footer code -> body row. ``labels`` are columns A, B, C of
    every body row and ``sheet_rows`` the sheet row of each."""
    region_col, _, code_col = labels
    regions, sectors, resolver = columns.regions, columns.sectors, columns.resolver
    codes = [code(v) for v in code_col]
    s_count, expected_rows = len(sectors), len(regions) * len(sectors)

    def row_of(i: int) -> int:
        """Sheet row of body row i, counting on past either end of the body."""
        if not len(sheet_rows):
            return HEADER_ROWS + 1 + i
        if i < 0:
            return int(sheet_rows[0]) + i
        if i >= len(sheet_rows):
            return int(sheet_rows[-1]) + 1 + i - len(sheet_rows)
        return int(sheet_rows[i])

    data_end = 0
    while data_end < len(codes) and re.fullmatch(r"\d{2}", codes[data_end]):
        data_end += 1
    current = ""
    for i in range(min(data_end, expected_rows)):
        r, s = divmod(i, s_count)
        current = region_col[i] or ("" if s == 0 else current)
        if not current:
            raise sheet.error("expected a region name in the first row of a region block",
                              row=row_of(i), column=0, value="")
        if region_col[i] or s == 0:
            city = resolver.resolve(current, row=row_of(i), column=0)
            if city != regions[r]:
                raise sheet.error(f"expected region {resolver.name_of(regions[r])} "
                                  f"({regions[r]}) in this row, as in the column order of the "
                                  f"Z block; found {current} ({city})", row=row_of(i),
                                  column=0, value=region_col[i] or current)
        if codes[i] != sectors[s]:
            raise sheet.error(f"expected sector {sectors[s]} (the sector order of the columns) "
                              f"in region {resolver.name_of(regions[r])}",
                              row=row_of(i), column=2, value=code_col[i])
    if data_end < expected_rows:
        r, s = divmod(data_end, s_count)
        raise sheet.error(
            f"truncated Z block: the columns hold {len(regions)} regions x {s_count} sectors = "
            f"{expected_rows} region-sectors but only {data_end} data rows precede this row "
            f"(expected region {resolver.name_of(regions[r])} sector {sectors[s]} here)",
            row=row_of(data_end), column=2,
            value=code_col[data_end] if data_end < len(codes) else "")
    if data_end > expected_rows:
        raise sheet.error(f"data row beyond the {expected_rows} region-sector columns of the Z "
                          "block", row=row_of(expected_rows), column=2,
                          value=code_col[expected_rows])
    footer_rows: dict[str, int] = {}
    for i in range(data_end, len(codes)):
        name = codes[i]
        if name in FOOTER:
            if name in footer_rows:
                raise sheet.error(f"footer row {name} appears twice (also row "
                                  f"{row_of(footer_rows[name])})", row=row_of(i), column=2,
                                  value=code_col[i])
            footer_rows[name] = i
        elif re.fullmatch(r"\d{2}", name):
            raise sheet.error("data row after the end of the data rows", row=row_of(i),
                              column=2, value=code_col[i])
    missing = [c for c in FOOTER if c not in footer_rows]
    if missing:
        after = max(footer_rows.values(), default=data_end - 1)
        raise sheet.error(f"missing footer row {', '.join(missing)} (expected "
                          f"{', '.join(FOOTER)} below the data rows, found by their code in "
                          "column C)", row=row_of(after) + 1, column=2)
    return footer_rows


class RegionResolver:
    """Region names to city ids, each distinct name resolved once."""

    def __init__(self, sheet: Sheet, year: int):
        self.sheet, self.year = sheet, year
        self.cities = names.cities()
        self.ids: dict[str, str] = {}

    def resolve(self, name: str, *, row: int, column: int) -> str:
        if name not in self.ids:
            def where(message, value):
                return self.sheet.error(message, row=row, column=column, value=value)
            self.ids[name] = self.cities.resolve(name, self.year, where)
        return self.ids[name]

    def name_of(self, city: str) -> str:
        return next((n for n, c in self.ids.items() if c == city), city)


def finish(sheet: Sheet, year: int, columns: Columns, blocks: Blocks, footer_rows: dict[str, int],
           sheet_rows: np.ndarray, tolerance: float, encoding: str | None = None) -> CeadsBlocks:
    """The checked table from filled blocks: an infinite value or a cell that is not a number
    (``blocks.bad``, data rows and footer Z cells) is an error naming the first such cell;
    empty cells read as 0; every row must balance."""
    n, r_count = columns.n, len(columns.regions)
    for name, array, axis in (("Z", blocks.Z, 0), ("Y", blocks.Y, 0), ("T", blocks.T, 1)):
        if np.isinf(array).any():
            i, j = np.argwhere(np.isinf(array))[0]
            row, column = (i, j) if axis == 0 else (j, i)
            grid_column = _grid_column(columns, name, int(column))
            raise sheet.error("infinite value", row=int(sheet_rows[row]), column=grid_column,
                              value=float(array[i, j]))
    if blocks.bad:
        row, k, raw = min(blocks.bad, key=lambda b: (b[0], b[1]))
        what = "a missing-value marker" if text(raw) in MISSING_MARKERS else "text"
        raise sheet.error(f"expected a number, found {what} (an input-output table cannot "
                          "have a missing flow)", row=row, column=k, value=raw)
    empty = sum(_blanks_to_zero(a.reshape(-1, order="A")) for a in (blocks.Z, blocks.Y, blocks.T))
    Y_cat = blocks.Y.reshape(n, r_count, len(FINAL_USE))
    totals = dict(zip(TOTALS, blocks.T))
    check_balance(sheet, columns, blocks.Z, Y_cat, totals, sheet_rows, tolerance)
    f = dict(zip(FOOTER, blocks.footer))
    provenance = Provenance(sheet.path, sheet.format, sheet.name,
                            np.asarray(sheet_rows[:n], dtype=np.int64),
                            {c: int(sheet_rows[b]) for c, b in footer_rows.items()},
                            encoding=encoding, empty_cells=int(empty))
    return CeadsBlocks(
        year=year, regions=tuple(columns.regions), region_names=tuple(columns.region_names),
        sectors=tuple(columns.sectors), sector_labels=tuple(columns.sector_labels),
        Z=blocks.Z, Y_cat=Y_cat, EX=totals["EX"], TFU=totals["TFU"], ERR=totals["ERR"],
        GO=totals["GO"], IM=f["IM"], TII=f["TII"], VA=np.vstack([f[c] for c in VALUE_ADDED]),
        TVA=f["TVA"], TI=f["TI"], source=provenance)


def _grid_column(columns: Columns, block: str, index: int) -> int:
    if block == "Z":
        return columns.z_columns[index]
    if block == "Y":
        return columns.fu_columns[index]
    return columns.totals[TOTALS[index]]


def check_balance(sheet: Sheet, columns: Columns, Z: np.ndarray, Y_cat: np.ndarray,
                  totals: dict[str, np.ndarray], sheet_rows: np.ndarray,
                  tolerance: float) -> None:
    """|Z row sum + final use + EX - ERR - GO| <= tolerance x max(1, |GO|) in every row."""
    lhs = Z.sum(axis=1) + Y_cat.sum(axis=(1, 2)) + totals["EX"] - totals["ERR"]
    go = totals["GO"]
    excess = np.abs(lhs - go) - tolerance * np.maximum(1.0, np.abs(go))
    if (excess > 0).any():
        i = int(np.flatnonzero(excess > 0)[0])
        raise sheet.error(
            f"row does not balance: Z row sum + final use + EX - ERR = {lhs[i]:.10g} but GO = "
            f"{go[i]:.10g} (difference {lhs[i] - go[i]:.6g}; tolerance {tolerance:g} x "
            "max(1, |GO|))", row=int(sheet_rows[i]), column=columns.totals["GO"],
            value=float(go[i]))


@numba.njit(nogil=True, cache=True)
def _blanks_to_zero(flat: np.ndarray) -> int:
    """Replace NaN (a cell nothing was written to) by 0 in place; the number replaced."""
    count = 0
    for k in range(flat.size):
        if flat[k] != flat[k]:
            flat[k] = 0.0
            count += 1
    return count
