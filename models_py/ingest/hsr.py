"""High-speed rail lines and stations -> line stages, the stations of each stage, stations.

``hsr/hsr_lines.csv``: ``线路名称``, ``开通日期`` (``YYYY-MM-DD`` or ``YYYY.M.D``), ``站点``
(stations in order, separated by ``|`` or ``、``). A line opened in stages has one row per stage
with its own date; stages are numbered 1.. per line in date order.
``hsr/hsr_stations.csv``: ``站点``, ``所在城市``, ``行政区划代码`` (optional).

Every station a line lists must be in the stations file, and every station's city must resolve
(against the current roster: the stations file carries no year).
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from models_py import reference
from models_py.ingest import names
from models_py.ingest.errors import IngestError, SourceAbsent
from models_py.ingest.files import CsvTable, read_csv_table, source_folder
from models_py.ingest.numbers import to_dates
from models_py.ingest.result import LoadResult

FOLDER = "hsr"
LINES_FILE, STATIONS_FILE = "hsr_lines.csv", "hsr_stations.csv"
LINE, DATE, STOPS = "线路名称", "开通日期", "站点"
STATION, CITY, CODE = "站点", "所在城市", "行政区划代码"
SEPARATORS = re.compile(r"[|、]")


def load(raw_dir: Path) -> LoadResult:
    """Read ``hsr_stations.csv`` and ``hsr_lines.csv`` under ``raw_dir/hsr``."""
    raw_dir = Path(raw_dir)
    folder = source_folder(raw_dir, FOLDER)
    paths = [folder / STATIONS_FILE, folder / LINES_FILE]
    missing = [p for p in paths if not p.is_file()]
    if len(missing) == len(paths):
        raise SourceAbsent(folder, f"neither {STATIONS_FILE} nor {LINES_FILE}")
    if missing:
        raise IngestError(missing[0], "file not found: the lines and the stations file come "
                                      "together")
    rel = {p: str(p.relative_to(raw_dir)) for p in paths}

    stations_table = read_csv_table(paths[0], required=(STATION, CITY), optional=(CODE,))
    stations, duplicate_rows = read_stations(stations_table, rel[paths[0]])
    lines_table = read_csv_table(paths[1], required=(LINE, DATE, STOPS))
    stages, line_stations = read_lines(lines_table, rel[paths[1]], stations)

    tables = {"hsr_line_stage": stages, "hsr_line_station": line_stations,
              "hsr_station": stations}
    extra = {rel[t.path]: t.extra_columns for t in (stations_table, lines_table)
             if t.extra_columns}
    return LoadResult("hsr", tables, paths, {
        "rows": {name: len(t) for name, t in tables.items()},
        "lines": int(stages["line_name"].nunique()),
        "staged_lines": int((stages.groupby("line_name").size() > 1).sum()),
        "duplicate_station_rows": duplicate_rows,
        "encodings": {rel[t.path]: t.encoding for t in (stations_table, lines_table)},
        "extra_columns": extra})


def read_stations(table: CsvTable, rel: str) -> tuple[pd.DataFrame, list[int]]:
    """One row per station with its city id; the lines of repeated (consistent) entries."""
    frame, rows, path = table.frame, table.rows, table.path
    station = frame[STATION].str.replace(r"\s+", "", regex=True)
    empty = (station == "").to_numpy()
    if empty.any():
        raise table.error("empty station name", at=int(np.flatnonzero(empty)[0]), column=STATION,
                          value="")

    def resolve(name, where):
        if not name:
            raise where("empty city name", name)
        return names.cities().resolve(name, None, where)

    city = names.resolve_cells(frame[CITY], resolve, file=path, column=CITY, rows=rows)
    code = frame[CODE] if CODE in frame else pd.Series("", index=frame.index)
    for i in np.flatnonzero(code.ne("").to_numpy()):
        _check_code(table, int(i), code.iloc[i], city[i])

    out = pd.DataFrame({"station": station, "city_id": pd.array(city, dtype="str"),
                        "admin_code": code.where(code != "", None),
                        "source_file": rel, "source_row": rows})
    repeated = out.duplicated("station", keep=False).to_numpy()
    duplicate_rows: list[int] = []
    if repeated.any():
        for name, group in out[repeated].groupby("station", sort=False):
            cities = group["city_id"].to_numpy()
            other = np.flatnonzero(cities != cities[0])
            if other.size:
                a, b = group.iloc[0], group.iloc[int(other[0])]
                raise IngestError(path, f"station {name} listed twice with different cities: "
                                  f"row {a['source_row']} ({a['city_id']}) and row "
                                  f"{b['source_row']} ({b['city_id']})", row=int(b["source_row"]),
                                  column=CITY, value=frame.loc[group.index[int(other[0])], CITY])
            duplicate_rows.extend(int(r) for r in group["source_row"].iloc[1:])
        out = out.drop_duplicates("station", keep="first").reset_index(drop=True)
    return out, sorted(duplicate_rows)


def _check_code(table: CsvTable, i: int, code: str, city_id: str) -> None:
    """An optional 行政区划代码 must be six digits and, where its city is known, agree."""
    if not re.fullmatch(r"\d{6}", code):
        raise table.error("行政区划代码 must be six digits", at=i, column=CODE, value=code)
    owner = _code_city(code)
    if owner is not None and owner != city_id:
        raise table.error(f"行政区划代码 lies in city {owner} but 所在城市 resolves to {city_id}",
                          at=i, column=CODE, value=code)


def _code_city(code: str) -> str | None:
    """The city a six-digit code lies in (a city code, a roster county, or by its prefix)."""
    city_ids, county_city = _code_lookup()
    if code in city_ids:
        return code
    if code in county_city:
        return county_city[code] or None
    for candidate in (code[:4] + "00", code[:2] + "0000"):
        if candidate in city_ids:
            return candidate
    return None


@cache
def _code_lookup() -> tuple[frozenset[str], dict[str, str]]:
    counties = reference.counties()
    return (frozenset(reference.cities()["city_id"]),
            dict(zip(counties["county_id"], counties["city_id"].fillna(""))))


def read_lines(table: CsvTable, rel: str,
               stations: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Line stages (numbered by opening date within a line) and their stations in order."""
    frame, rows, path = table.frame, table.rows, table.path
    line = frame[LINE].str.replace(r"\s+", "", regex=True)
    empty = (line == "").to_numpy()
    if empty.any():
        raise table.error("empty line name", at=int(np.flatnonzero(empty)[0]), column=LINE,
                          value="")
    if frame.empty:
        raise table.error("no data rows after the header", row=1)
    dates = to_dates(frame[DATE], file=path, column=DATE, rows=rows)

    stages = pd.DataFrame({"line_name": line, "open_date": dates, "source_file": rel,
                           "source_row": rows})
    twice = stages.duplicated(["line_name", "open_date"], keep="first").to_numpy()
    if twice.any():
        i = int(np.flatnonzero(twice)[0])
        first = int(np.flatnonzero(((stages["line_name"] == line.iloc[i])
                                    & (stages["open_date"] == dates.iloc[i])).to_numpy())[0])
        raise table.error(f"line {line.iloc[i]} has two rows with the same opening date "
                          f"(rows {rows[first]} and {rows[i]}); a stage has its own date", at=i,
                          column=DATE, value=table.cell(i, DATE))
    stages["stage"] = (stages.sort_values(["open_date", "source_row"])
                       .groupby("line_name").cumcount() + 1).astype("int32")

    city_of = dict(zip(stations["station"], stations["city_id"]))
    stop_rows = []
    for i, cell in enumerate(frame[STOPS]):
        stops = [re.sub(r"\s+", "", s) for s in SEPARATORS.split(cell)]
        if not cell or any(not s for s in stops):
            raise table.error(f"empty station name in the station list of line {line.iloc[i]}",
                              at=i, column=STOPS, value=cell)
        for seq, stop in enumerate(stops, start=1):
            if stop not in city_of:
                raise table.error(f"station of line {line.iloc[i]} is not in {STATIONS_FILE}",
                                  at=i, column=STOPS, value=stop)
            stop_rows.append((i, seq, stop, city_of[stop]))

    at, seq, stop, city = (list(c) for c in zip(*stop_rows))
    at = np.asarray(at)
    stages["n_stations"] = np.bincount(at, minlength=len(stages)).astype("int32")
    line_stations = pd.DataFrame({
        "line_name": line.to_numpy()[at], "stage": stages["stage"].to_numpy()[at],
        "seq": np.asarray(seq, dtype="int32"), "station": pd.array(stop, dtype="str"),
        "city_id": pd.array(city, dtype="str"), "source_file": rel, "source_row": rows[at]})
    stages = stages[["line_name", "stage", "open_date", "n_stations", "source_file",
                     "source_row"]]
    return stages, line_stations
