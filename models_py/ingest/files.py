"""Reading raw files: encoding detection, CSV and workbook grids, source file discovery."""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook

from models_py.ingest.errors import IngestError, SourceAbsent

YEAR_IN_NAME = re.compile(r"(\d{4})\.[A-Za-z]+$")  # the data year of a yearly file


def decode(path: Path) -> tuple[str, str]:
    """Text of a file and the encoding :func:`detect_encoding` found it to be in."""
    encoding = detect_encoding(path)
    data = path.read_bytes()
    return data[3:].decode("utf-8") if encoding == "utf-8-sig" else data.decode(encoding), \
        encoding


def detect_encoding(path: Path, block: int = 1 << 24) -> str:
    """'utf-8-sig' (UTF-8 with BOM), 'utf-8', or else 'gb18030' (a superset of GBK and
    GB2312): the first that decodes the whole file, read a block at a time so that a file of
    any size fits in memory. Anything else is an error naming the file, the line of the
    offending bytes (as far as the encoding that read further got) and the bytes."""
    with path.open("rb") as f:
        bom = f.read(3) == b"\xef\xbb\xbf"
    failed_at = []
    for encoding in ("utf-8",) if bom else ("utf-8", "gb18030"):
        offset = _first_undecodable(path, encoding, 3 if bom else 0, block)
        if offset is None:
            return "utf-8-sig" if bom else encoding
        failed_at.append(offset)
    # the encoding that read further points at the bad bytes (a UTF-8 file read as GB18030
    # fails on its first Chinese character)
    offset = max(failed_at)
    line, bad = 1, b""
    with path.open("rb") as f:
        for _ in range(offset // block):
            line += f.read(block).count(b"\n")
        tail = f.read(offset % block + 4)
        line += tail[:offset % block].count(b"\n")
        bad = tail[offset % block:]
    raise IngestError(path, "cannot be decoded as UTF-8 or GBK/GB18030", row=line,
                      value=bad.hex(" "))


def _first_undecodable(path: Path, encoding: str, skip: int, block: int) -> int | None:
    """Byte offset of the first byte ``encoding`` cannot decode, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = skip
    with path.open("rb") as f:
        f.seek(skip)
        for data in iter(lambda: f.read(block), b""):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(data)
            except UnicodeDecodeError as e:
                return offset - pending + e.start
            offset += len(data)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as e:
            return offset - len(e.object) + e.start
    return None


@dataclass
class Grid:
    """The cells of one CSV file or one workbook sheet, as read (str, float, int, date or '')."""
    path: Path
    sheet: str | None
    rows: list[list[object]]
    encoding: str | None = None

    def error(self, message: str, *, row: int | None = None, column: str | None = None,
              value: object = None) -> IngestError:
        """An error at a 0-based grid row (reported 1-based, as a person counts)."""
        return IngestError(self.path, message, sheet=self.sheet,
                           row=None if row is None else row + 1, column=column, value=value)


def read_csv_grid(path: Path) -> Grid:
    text, encoding = decode(path)
    rows = list(csv.reader(io.StringIO(text)))
    return Grid(path, None, rows, encoding)


def read_sheets(path: Path) -> list[Grid]:
    """Every sheet of a workbook as a grid; empty cells are ''."""
    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as e:  # calamine raises its own types for corrupt files
        raise IngestError(path, f"cannot be read as an xlsx workbook: {e}") from None
    grids = []
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        grids.append(Grid(path, name, [list(r) for r in rows]))
    return grids


def read_first_grid(path: Path) -> Grid:
    """The grid of a CSV file, or the first sheet of a workbook."""
    if path.suffix.lower() == ".csv":
        return read_csv_grid(path)
    return read_sheets(path)[0]


def source_folder(raw_dir: Path, folder: str) -> Path:
    """The landing sub-folder of a source. A missing sub-folder means the source is absent
    (:class:`SourceAbsent`); a file where the folder should be is an error, and so is a missing
    landing folder (a mistyped RAW_DATA_DIR must not empty every table)."""
    if not Path(raw_dir).is_dir():
        raise IngestError(raw_dir, "landing folder not found")
    base = Path(raw_dir) / folder
    if base.is_dir():
        return base
    if base.exists():
        raise IngestError(base, "expected a folder of source files, found a file")
    raise SourceAbsent(base, "no such folder")


def source_files(raw_dir: Path, folder: str, pattern: str) -> list[Path]:
    """Files of one source, sorted; ``pattern`` is a regex the file name must match fully.

    A missing folder, or a folder with no matching file, raises :class:`SourceAbsent` (the
    source is recorded as absent and its tables emptied, so no previous load lingers looking
    fresh); the reason lists the files the folder does hold, in case one is misnamed.
    """
    base = source_folder(raw_dir, folder)
    regex = re.compile(pattern)
    present = sorted(p for p in base.iterdir() if p.is_file())
    files = [p for p in present if regex.fullmatch(p.name)]
    if not files:
        raise SourceAbsent(base, f"no file named like {pattern}"
                                 f"{_listing(p.name for p in present)}")
    return files


def _listing(names, limit: int = 3) -> str:
    """' (it holds: a, b, c and 2 more)' or ' (it is empty)'."""
    names = list(names)
    if not names:
        return " (it is empty)"
    shown = ", ".join(names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f" (it holds: {shown}{more})"


def year_of(path: Path) -> int | None:
    """The data year of a yearly source's file, the 4 digits before the suffix
    (``city_yearbook_2015.xlsx``), or None."""
    found = YEAR_IN_NAME.search(path.name)
    return int(found.group(1)) if found else None


def files_by_year(files: list[Path], hint: str = "") -> dict[int, Path]:
    """One file per data year, the year read from the 4 digits before the suffix
    (``city_yearbook_2015.xlsx``); a second file for a year is an error naming both."""
    by_year: dict[int, Path] = {}
    for path in files:
        year = year_of(path)
        if year in by_year:
            raise IngestError(path, f"a second file for {year} (the other: "
                                    f"{by_year[year].name}){'; ' + hint if hint else ''}")
        by_year[year] = path
    return dict(sorted(by_year.items()))


def only_year(by_year: dict[int, Path], year: int | None, folder: Path) -> dict[int, Path]:
    """``by_year`` (from :func:`files_by_year`) narrowed to ``year``; None keeps every year. A
    year with no file is an error naming the folder and the years it holds."""
    if year is None:
        return by_year
    if year not in by_year:
        raise IngestError(folder, f"no file for {year} (files for {sorted(by_year)})")
    return {year: by_year[year]}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cell_text(value: object) -> str:
    """A cell as stripped text; whole floats lose their '.0' (codes read from workbooks)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().replace("\u3000", "")


def header_key(name: object) -> str:
    """A column header as compared with the contract: no spaces, half-width parentheses."""
    return (cell_text(name).replace(" ", "").replace("\ufeff", "")
            .replace("（", "(").replace("）", ")"))


@dataclass
class CsvTable:
    """A CSV file read into a frame: text columns as stripped ``str`` ('' where empty), columns
    named by :func:`header_key`, and the 1-based file line of every row in ``rows``."""
    path: Path
    encoding: str
    frame: pd.DataFrame
    rows: np.ndarray
    extra_columns: list[str]

    def error(self, message: str, *, at: int | None = None, column: str | None = None,
              value: object = None, row: int | None = None) -> IngestError:
        """An error at frame position ``at`` (or at file line ``row``)."""
        if at is not None:
            row = int(self.rows[at])
        return IngestError(self.path, message, row=row, column=column, value=value)

    def check_year(self, column: str, year: int) -> None:
        """A one-year file: it has data rows, and every row's ``column`` is the file's year."""
        from models_py.ingest.numbers import column_numbers

        if self.frame.empty:
            raise self.error("no data rows after the header", row=1)
        years = column_numbers(self.frame[column], file=self.path, column=column, rows=self.rows)
        wrong = ~(years == year)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise self.error(f"{column} must equal the file's year {year}", at=i, column=column,
                             value=self.cell(i, column))

    def cell(self, at: int, column: str) -> object:
        """The cell at frame position ``at`` as it reads in the file (numbers the parser read
        come back as plain ``int``/``float``)."""
        value = self.frame[column].iloc[at]
        if isinstance(value, (float, np.floating, np.integer)):
            value = value.item() if isinstance(value, np.generic) else value
            return int(value) if float(value).is_integer() else value
        return value


def read_csv_table(path: Path, *, required: tuple[str, ...], optional: tuple[str, ...] = (),
                   numeric: tuple[str, ...] = ()) -> CsvTable:
    """Read a CSV file with a one-line header into a :class:`CsvTable`, vectorised.

    ``required`` columns must be present (else an error naming the file and the column);
    ``optional`` ones may be; any other column is kept and listed in ``extra_columns``.
    ``numeric`` columns are left to the CSV parser, which reads a clean column as numbers
    (fast; empty cells are NaN); a column holding other missing markers or thousands
    separators stays text for :func:`models_py.ingest.numbers.column_numbers`.
    Fully empty lines are dropped; line numbers stay those of the file.
    """
    text, encoding = decode(path)
    if not text.strip():
        raise IngestError(path, "empty file: expected a header line", row=1)
    raw_header = next(csv.reader(io.StringIO(text)))
    header = [header_key(h) for h in raw_header]
    seen: dict[str, int] = {}
    for j, h in enumerate(header):
        if h in seen:
            raise IngestError(path, f"column given twice (columns {seen[h] + 1} and {j + 1})",
                              row=1, column=h, value=raw_header[j])
        seen[h] = j
    for name in required:
        if name not in seen:
            raise IngestError(path, f"missing column (header: {', '.join(header)})", row=1,
                              column=name)
    dtypes = {j: (None if h in numeric else str) for j, h in enumerate(header)}
    try:
        frame = pd.read_csv(io.StringIO(text), header=None, skiprows=1, names=range(len(header)),
                            dtype={j: t for j, t in dtypes.items() if t is not None},
                            keep_default_na=False, skip_blank_lines=False, index_col=False,
                            na_values={j: [""] for j, t in dtypes.items() if t is None})
    except pd.errors.ParserError as e:
        line = re.search(r"line (\d+)", str(e))
        raise IngestError(path, f"malformed CSV: {e}",
                          row=int(line.group(1)) if line else None) from None
    frame.columns = header
    header_lines = 1 + sum(h.count("\n") for h in raw_header)
    rows = header_lines + 1 + np.arange(len(frame), dtype=np.int64)
    text_columns = [h for h in header if not pd.api.types.is_numeric_dtype(frame[h])]
    for h in text_columns:
        frame[h] = frame[h].fillna("").astype(str)
    if '"' in text and len(frame):
        breaks = sum(frame[h].str.count("\n").to_numpy() for h in text_columns)
        rows = rows + np.concatenate(([0], np.cumsum(breaks)[:-1]))
    empty = np.ones(len(frame), dtype=bool)
    for h in header:
        if h in text_columns:
            frame[h] = frame[h].str.strip()
            empty &= frame[h].eq("").to_numpy()
        else:
            empty &= frame[h].isna().to_numpy()
    if empty.any():
        frame, rows = frame[~empty].reset_index(drop=True), rows[~empty]
    known = set(required) | set(optional)
    return CsvTable(path, encoding, frame, rows, [h for h in header if h not in known])
