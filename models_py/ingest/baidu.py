"""Baidu search index between cities -> one row per directed city pair and year.

``baidu_index/baidu_index_<YYYY>.csv``: ``搜索城市`` (where searches originate), ``目标城市``
(the city searched for), ``年份``, ``日均搜索指数`` (daily average over the year). Baidu writes
short names ("北京", "石家庄"); names resolve year-aware through the city crosswalk.

A pair that is absent had no measurable searches: its index is zero, not missing. This loader
keeps the pairs as listed and does not write zero rows; the warehouse layer fills them. A pair
that is listed must therefore carry a number: a missing-value marker there is an error.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from models_py.ingest import names, schema
from models_py.ingest.files import (CsvTable, files_by_year, only_year, read_csv_table,
                                    source_files)
from models_py.ingest.numbers import column_numbers
from models_py.ingest.progress import Progress, file_read, reporter
from models_py.ingest.result import LoadResult

FOLDER = "baidu_index"
ORIGIN, TARGET, YEAR, INDEX = "搜索城市", "目标城市", "年份", "日均搜索指数"
ABSENT_PAIRS = ("a directed city pair absent from a year's file had no measurable searches: "
                "its daily index is 0, not missing; zero rows are not stored here (the "
                "warehouse layer fills them)")


def load(raw_dir: Path, year: int | None = None, *,
         progress: Progress | None = None) -> LoadResult:
    """Read every ``baidu_index_<YYYY>.csv`` under ``raw_dir/baidu_index``, or only the one of
    ``year``."""
    raw_dir = Path(raw_dir)
    say = reporter(progress)
    files = source_files(raw_dir, FOLDER, r"baidu_index_\d{4}\.csv")
    by_year = only_year(files_by_year(files), year, raw_dir / FOLDER)
    files = list(by_year.values())
    frames, encodings, per_file, extra = [], {}, {}, {}
    for k, (year, path) in enumerate(by_year.items(), start=1):
        started = time.perf_counter()
        rel = str(path.relative_to(raw_dir))
        table = read_csv_table(path, required=(ORIGIN, TARGET, YEAR, INDEX),
                               numeric=(YEAR, INDEX))
        encodings[rel] = table.encoding
        if table.extra_columns:
            extra[rel] = table.extra_columns
        tidy = read_year(table, year, rel)
        per_file[rel] = len(tidy)
        frames.append(tidy)
        file_read(say, "baidu_index", k, len(files), rel, len(tidy),
                  time.perf_counter() - started)
    result = pd.concat(frames, ignore_index=True)[schema.columns("baidu_index")]
    return LoadResult("baidu_index", {"baidu_index": result}, files, {
        "rows": {"baidu_index": len(result)}, "rows_per_file": per_file,
        "years": sorted(int(y) for y in result["year"].unique()),
        "cities": int(pd.unique(result[["origin_city_id", "target_city_id"]].to_numpy()
                                .ravel()).size),
        "encodings": encodings, "extra_columns": extra, "absent_pairs": ABSENT_PAIRS})


def read_year(table: CsvTable, year: int, rel: str) -> pd.DataFrame:
    """Validated rows of one year's file."""
    frame, rows, path = table.frame, table.rows, table.path
    table.check_year(YEAR, year)

    def resolve(name, where):
        if not name:
            raise where("empty city name", name)
        return names.cities().resolve(name, year, where)

    origin = names.resolve_cells(frame[ORIGIN], resolve, file=path, column=ORIGIN, rows=rows)
    target = names.resolve_cells(frame[TARGET], resolve, file=path, column=TARGET, rows=rows)

    index = column_numbers(frame[INDEX], file=path, column=INDEX, rows=rows)
    if np.isnan(index).any():
        i = int(np.flatnonzero(np.isnan(index))[0])
        raise table.error("missing daily index: an absent pair means zero, so a listed pair "
                          "must carry a number (write 0 or leave the pair out)", at=i,
                          column=INDEX, value=table.cell(i, INDEX))
    if (index < 0).any():
        i = int(np.flatnonzero(index < 0)[0])
        raise table.error("negative daily index", at=i, column=INDEX, value=table.cell(i, INDEX))

    same = origin == target
    if same.any():
        i = int(np.flatnonzero(same)[0])
        raise table.error(f"origin and target are the same city ({origin[i]})", at=i,
                          column=TARGET, value=table.cell(i, TARGET))

    tidy = pd.DataFrame({"year": np.full(len(frame), year, dtype="int32"),
                         "origin_city_id": pd.array(origin, dtype="str"),
                         "target_city_id": pd.array(target, dtype="str"),
                         "daily_index": index, "source_file": rel, "source_row": rows})
    _no_duplicate_pairs(table, tidy)
    return tidy


def _no_duplicate_pairs(table: CsvTable, tidy: pd.DataFrame) -> None:
    dup = tidy.duplicated(["origin_city_id", "target_city_id"], keep="first").to_numpy()
    if not dup.any():
        return
    i = int(np.flatnonzero(dup)[0])
    key = tidy.iloc[i]
    same = ((tidy["origin_city_id"] == key["origin_city_id"])
            & (tidy["target_city_id"] == key["target_city_id"])).to_numpy()
    first = int(np.flatnonzero(same)[0])
    pair = f"{table.frame[ORIGIN].iloc[i]} -> {table.frame[TARGET].iloc[i]}"
    raise table.error(f"duplicate pair {key['origin_city_id']} -> {key['target_city_id']} in "
                      f"{key['year']}: rows {table.rows[first]} and {table.rows[i]}", at=i,
                      column=TARGET, value=pair)
