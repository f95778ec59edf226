"""Policy documents -> one row per indexed document with its full text.

``policy_texts/index.csv``: ``文件编号``, ``城市``, ``发布日期``, ``标题``, ``文件名``, and one
UTF-8 text file per document beside it. The city resolves in the year of publication. A text
file the index does not name is reported, not loaded.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from models_py.ingest import names, schema
from models_py.ingest.errors import IngestError, SourceAbsent
from models_py.ingest.files import CsvTable, read_csv_table, source_folder
from models_py.ingest.numbers import to_dates
from models_py.ingest.result import LoadResult

FOLDER = "policy_texts"
INDEX_FILE = "index.csv"
DOC, CITY, DATE, TITLE, FILE = "文件编号", "城市", "发布日期", "标题", "文件名"


def load(raw_dir: Path) -> LoadResult:
    """Read ``policy_texts/index.csv`` and every text file it names."""
    raw_dir = Path(raw_dir)
    folder = source_folder(raw_dir, FOLDER)
    index_path = folder / INDEX_FILE
    if not index_path.is_file():
        if any(p.suffix.lower() == ".txt" for p in folder.iterdir()):
            raise IngestError(index_path, "file not found: the policy texts need their index")
        raise SourceAbsent(folder, f"no {INDEX_FILE} and no policy texts")
    rel_index = str(index_path.relative_to(raw_dir))
    table = read_csv_table(index_path, required=(DOC, CITY, DATE, TITLE, FILE))
    frame, rows = table.frame, table.rows
    if frame.empty:
        raise table.error("no documents: the index has a header and no rows", row=1)

    doc_id = frame[DOC]
    _no_empty(table, DOC)
    _no_duplicates(table, DOC, "document number")
    _no_empty(table, FILE)
    _no_duplicates(table, FILE, "text file")
    dates = to_dates(frame[DATE], file=index_path, column=DATE, rows=rows)
    city = _resolve_cities(table, dates)

    texts, encodings, text_paths = [], {rel_index: table.encoding}, []
    for i, name in enumerate(frame[FILE]):
        path = _text_path(table, i, folder, name)
        text, encoding = _read_text(path, f"{rel_index} row {rows[i]}")
        texts.append(text)
        encodings[str(path.relative_to(raw_dir))] = encoding
        text_paths.append(path)

    documents = pd.DataFrame({
        "doc_id": doc_id, "city_id": pd.array(city, dtype="str"), "publish_date": dates,
        "title": frame[TITLE], "file_name": frame[FILE], "text": pd.array(texts, dtype="str"),
        "n_chars": np.fromiter((len(t) for t in texts), dtype="int64", count=len(texts)),
        "source_file": rel_index, "source_row": rows})[schema.columns("policy_document")]

    indexed = {p.resolve() for p in text_paths}
    unindexed = sorted(str(p.relative_to(raw_dir)) for p in folder.iterdir()
                       if p.is_file() and p.suffix.lower() == ".txt" and p.resolve() not in indexed)
    return LoadResult("policy_texts", {"policy_document": documents}, [index_path, *text_paths], {
        "rows": {"policy_document": len(documents)},
        "cities": int(documents["city_id"].nunique()),
        "empty_texts": documents.loc[documents["n_chars"] == 0, "file_name"].tolist(),
        "unindexed_files": unindexed, "encodings": encodings,
        "extra_columns": {rel_index: table.extra_columns} if table.extra_columns else {}})


def _no_empty(table: CsvTable, column: str) -> None:
    empty = (table.frame[column] == "").to_numpy()
    if empty.any():
        raise table.error(f"empty {column}", at=int(np.flatnonzero(empty)[0]), column=column,
                          value="")


def _no_duplicates(table: CsvTable, column: str, what: str) -> None:
    values = table.frame[column]
    dup = values.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((values == values.iloc[i]).to_numpy())[0])
        raise table.error(f"duplicate {what}: rows {table.rows[first]} and {table.rows[i]}",
                          at=i, column=column, value=values.iloc[i])


def _resolve_cities(table: CsvTable, dates: pd.Series) -> np.ndarray:
    """City ids, each distinct (name, publication year) resolved once."""
    years = np.fromiter((d.year for d in dates), dtype="int32", count=len(dates))
    keys = pd.MultiIndex.from_arrays([table.frame[CITY], years])
    codes, distinct = pd.factorize(keys)
    _, first = np.unique(codes, return_index=True)
    ids = []
    for (name, year), at in zip(distinct, first):
        def where(message, value, at=int(at)):
            return table.error(message, at=at, column=CITY, value=value)
        if not name:
            raise where("empty city name", name)
        ids.append(names.cities().resolve(name, int(year), where))
    return np.asarray(ids, dtype=object)[codes] if ids else np.array([], dtype=object)


def _text_path(table: CsvTable, i: int, folder: Path, name: str) -> Path:
    """The text file an index row names: inside the policy folder, and present."""
    path = folder / name
    if not path.resolve().is_relative_to(folder.resolve()):
        raise table.error("文件名 points outside the policy_texts folder", at=i, column=FILE,
                          value=name)
    if not path.is_file():
        raise table.error(f"text file not found in {FOLDER}/", at=i, column=FILE, value=name)
    return path


def _read_text(path: Path, named_at: str) -> tuple[str, str]:
    """A policy text, which must be UTF-8 (a byte-order mark is allowed and dropped)."""
    data = path.read_bytes()
    encoding = "utf-8"
    if data.startswith(b"\xef\xbb\xbf"):
        data, encoding = data[3:], "utf-8-sig"
    try:
        return data.decode("utf-8"), encoding
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise IngestError(path, f"policy text is not valid UTF-8 (named at {named_at})", row=line,
                          value=data[e.start: e.start + 4].hex(" ")) from None
