"""EPS platform exports -> long tidy rows in canonical units.

Two layouts, recognised per sheet:
- long: a header row ``地区, [地区代码], 年份, 指标, 单位, 数值``, one value per row;
- wide: one indicator per sheet, a title row ``<指标>(<单位>)``, then a header row ``地区`` followed
  by years, regions down and years across.
Rows mix levels: ``全国``, provinces, cities and counties. A name is tried as a province, then a
city, then a county. The four municipalities are both province and city; their level follows
the other rows of the same indicator in the file (city-level series list them as cities).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from models_py import reference
from models_py.ingest import catalog as catalog_mod
from models_py.ingest import names, schema
from models_py.ingest.errors import IngestError
from models_py.ingest.files import Grid, cell_text, read_csv_grid, read_sheets, source_files
from models_py.ingest.numbers import to_numbers
from models_py.ingest.progress import Progress, file_read, reporter
from models_py.ingest.result import LoadResult

LONG_HEADER = ("地区", "年份", "指标", "单位", "数值")
NATION = ("全国", "中国", "全国合计")
MAX_TITLE_ROWS = 3


def load(raw_dir: Path, *, progress: Progress | None = None) -> LoadResult:
    raw_dir = Path(raw_dir)
    say = reporter(progress)
    files = source_files(raw_dir, "eps", r".+\.(xlsx|csv)")
    frames, unknown, encodings = [], {}, {}
    for k, path in enumerate(files, start=1):
        started, before = time.perf_counter(), len(frames)
        rel = str(path.relative_to(raw_dir))
        grids = [read_csv_grid(path)] if path.suffix.lower() == ".csv" else read_sheets(path)
        encodings[rel] = grids[0].encoding or "xlsx"
        for grid in grids:
            if not any(cell_text(c) for row in grid.rows for c in row):
                continue
            cells = _to_long(grid)
            tidy, unknown_indicators = _tidy(grid, cells, rel)
            frames.append(tidy)
            for ind in unknown_indicators:
                unknown.setdefault(rel, []).append(ind)
        file_read(say, "eps", k, len(files), rel, sum(len(f) for f in frames[before:]),
                  time.perf_counter() - started)
    table = pd.concat(frames, ignore_index=True)[schema.columns("eps")]
    _no_duplicates(table)
    return LoadResult("eps", {"eps": table}, files, {
        "rows": len(table), "indicators": sorted(table["indicator"].unique()),
        "unknown_indicators": unknown, "encodings": encodings})


def _to_long(grid: Grid) -> pd.DataFrame:
    """The cells of a sheet in long form: name, code, year, indicator, unit, value, row."""
    for h, row in enumerate(grid.rows[: MAX_TITLE_ROWS + 2]):
        header = [cell_text(c) for c in row]
        if not header or header[0] != "地区":
            continue
        if all(col in header for col in LONG_HEADER):
            return _long_layout(grid, h, header)
        return _wide_layout(grid, h, header)
    raise grid.error("no header row: expected a row starting with 地区 (long layout: 地区, "
                     "年份, 指标, 单位, 数值; wide layout: 地区 then years)", row=0)


def _long_layout(grid: Grid, h: int, header: list[str]) -> pd.DataFrame:
    rows = [r for r in grid.rows[h + 1:]]
    idx = {name: header.index(name) for name in (*LONG_HEADER, "地区代码") if name in header}
    out = pd.DataFrame({
        "name": [cell_text(r[idx["地区"]]) if len(r) > idx["地区"] else "" for r in rows],
        "code": [cell_text(r[idx["地区代码"]]) if "地区代码" in idx else "" for r in rows],
        "year": [r[idx["年份"]] for r in rows],
        "indicator": [cell_text(r[idx["指标"]]) for r in rows],
        "unit": [cell_text(r[idx["单位"]]) for r in rows],
        "cell": [r[idx["数值"]] for r in rows],
        "row": np.arange(h + 2, h + 2 + len(rows)),
    })
    return out[out["name"] != ""]


def _wide_layout(grid: Grid, h: int, header: list[str]) -> pd.DataFrame:
    title = next((cell_text(c) for r in grid.rows[:h] for c in r if cell_text(c)), "")
    parsed = catalog_mod.parse_header(title)
    if parsed is None:
        raise grid.error("wide layout needs a title row <指标>(<单位>) above the header",
                         row=0, value=title)
    indicator, unit, _ = parsed
    year_cols = {}
    for j, head in enumerate(header[1:], start=1):
        if not head:
            continue
        if not (head.isdigit() and len(head) == 4):
            raise grid.error("wide layout: expected a year as column header", row=h, value=head)
        year_cols[j] = int(head)
    parts = []
    for k, r in enumerate(grid.rows[h + 1:]):
        name = cell_text(r[0]) if r else ""
        if not name:
            continue
        for j, year in year_cols.items():
            parts.append((name, "", year, indicator, unit, r[j] if j < len(r) else "", h + 2 + k))
    return pd.DataFrame(parts, columns=["name", "code", "year", "indicator", "unit", "cell", "row"])


def _tidy(grid: Grid, cells: pd.DataFrame, rel: str) -> tuple[pd.DataFrame, list[str]]:
    years = to_numbers(cells["year"], file=grid.path, sheet=grid.sheet, column="年份",
                       rows=cells["row"])
    if np.isnan(years).any():
        i = int(np.flatnonzero(np.isnan(years))[0])
        raise grid.error("missing year", row=int(cells["row"].iloc[i]) - 1, column="年份")
    cells = cells.assign(year=years.astype(int))
    values = to_numbers(cells["cell"], file=grid.path, sheet=grid.sheet, column="数值",
                        rows=cells["row"])
    level, region = _resolve_regions(grid, cells)
    cat = catalog_mod.catalog()
    fx = reference.usd_cny()
    variable = np.full(len(cells), None, dtype=object)
    unit_out = np.full(len(cells), None, dtype=object)
    factor = np.full(len(cells), np.nan)
    unknown = []
    for (ind, unit), sub in cells.groupby(["indicator", "unit"], sort=False):
        try:
            m = cat.lookup(ind, unit)
        except KeyError as e:
            first = int(sub["row"].iloc[0])
            raise grid.error(str(e.args[0]), row=first - 1, column="单位", value=unit) from None
        if m is None:
            unknown.append(f"{ind}({unit})")
            continue
        pos = cells.index.get_indexer(sub.index)
        variable[pos], unit_out[pos] = m.variable, m.canonical_unit
        rate = sub["year"].map(fx).to_numpy(float) if m.convert_usd else 1.0
        factor[pos] = m.factor * rate
    return pd.DataFrame({
        "region_level": level, "region_id": region, "year": cells["year"].to_numpy(),
        "variable": variable, "value": values * factor, "unit": unit_out,
        "indicator": cells["indicator"].to_numpy(), "source_unit": cells["unit"].to_numpy(),
        "source_value": values, "source_file": rel, "source_sheet": grid.sheet or "",
        "source_row": cells["row"].to_numpy()}), unknown


def _resolve_regions(grid: Grid, cells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    provinces, cities, counties = names.provinces(), names.cities(), names.counties()
    municipalities = set(reference.cities().query("level == 'municipality'")["city_id"])
    level = np.empty(len(cells), dtype=object)
    region = np.empty(len(cells), dtype=object)
    cache: dict[tuple[str, str], tuple[str, str]] = {}
    for k, (name, code, row) in enumerate(zip(cells["name"], cells["code"], cells["row"])):
        key = (name, code)
        if key not in cache:
            cache[key] = _resolve_one(grid, name, code, int(row), provinces, cities, counties)
        level[k], region[k] = cache[key]
    # A municipality listed among cities of the same indicator is a city there.
    for ind, sub in cells.groupby("indicator").groups.items():
        pos = cells.index.get_indexer(sub)
        is_muni = np.isin(region[pos], [m[:2] + "0000" for m in municipalities]) & (
            level[pos] == "province")
        others = level[pos][~is_muni]
        if is_muni.any() and len(others) and (others == "city").mean() > 0.5:
            level[pos[is_muni]] = "city"
    return level, region


def _resolve_one(grid: Grid, name: str, code: str, row: int, provinces, cities, counties):
    if name in NATION:
        return "nation", "000000"
    pid = provinces.get(name)
    if pid is not None and (not code or code == pid):
        return "province", pid

    def where(message, value):
        return grid.error(message, row=row - 1, column="地区", value=value)
    try:
        return "city", cities.resolve(name, None, where)
    except IngestError:
        pass
    try:
        return "county", counties.resolve(name, code if len(code) == 6 else "", where)
    except IngestError:
        raise where("region name is not 全国, a province, a city or a county of the rosters",
                    name) from None


def _no_duplicates(table: pd.DataFrame) -> None:
    key = ["region_level", "region_id", "year", "indicator", "source_unit"]
    dup = table.duplicated(key, keep=False)
    if dup.any():
        both = table[dup].sort_values(key).head(2)
        a, b = both.iloc[0], both.iloc[1]
        raise IngestError(b["source_file"], f"duplicate {b['indicator']} for {b['region_id']} in "
                          f"{b['year']}: also at {a['source_file']} row {a['source_row']}",
                          sheet=b["source_sheet"] or None, row=int(b["source_row"]),
                          value=b["source_value"])
