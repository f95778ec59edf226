"""A CEADs table as an xlsx workbook, read in one streaming pass over the sheet XML.

The package relations name the sheet's part and the shared-strings part. The four header rows
come first (a short scan from the start of the sheet), which says where every block is; then one
pass decompresses the sheet XML a chunk at a time in a background thread while
:mod:`models_py.ingest.ceads.xlsx_scan` writes each number cell straight into its block. Peak
memory is about the blocks themselves (1.5 GB at full size), and the pass takes about as long as
decompressing the sheet.

Cells the scanner hands back (labels, header rows, text in number columns) are decoded here:
shared strings, inline strings (rich-text runs joined, phonetic runs left out), XML character
references. A text cell in a number column that reads as a number (``"1,234.5"``) is that
number, an empty one is an empty cell, and anything else is an error naming the cell.
"""
from __future__ import annotations

import html
import queue
import re
import threading
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from models_py.ingest.ceads import xlsx_scan as xs
from models_py.ingest.ceads.layout import Blocks, Columns, check_columns, check_rows, finish
from models_py.ingest.ceads.table import (FOOTER, HEADER_ROWS, SHEET_NAME, CeadsBlocks, Sheet,
                                          number, pad, text)
from models_py.ingest.errors import IngestError

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
CHUNK = 1 << 24                       # bytes of sheet XML per scan call
HEADER_CHUNK = 1 << 20                # the same for the short scan of the header rows
FIRST_BODY_ROW = HEADER_ROWS + 1


def read_xlsx(path: Path, year: int | None, tolerance: float) -> CeadsBlocks:
    """Read and check the table sheet of a workbook (``year``: the file name's, if any)."""
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise IngestError(path, f"cannot be read as an xlsx workbook: {e}") from None
    with book:
        parts, shared_part = sheet_parts(path, book)
        name = pick_sheet(path, list(parts), year)
        sheet = Sheet(path, "xlsx", name)
        strings = shared_strings(book, shared_part)
        workbook = _Workbook(sheet, book, parts[name], strings)
        year = int(SHEET_NAME.match(name).group(1))
        header, complete = workbook.header(whole_sheet=False)
        while True:
            try:
                columns = check_columns(sheet, header, year)
            except IngestError:
                if complete:
                    raise
                # rows out of order may put header cells below the body rows: look again
                header, complete = workbook.header(whole_sheet=True)
                continue
            blocks = Blocks(columns)
            body = workbook.body(columns, blocks)
            if body.header is None or body.header == header:
                break
            header, complete = body.header, True     # header cells below body rows: again
            del blocks, body
    footer_rows = check_rows(sheet, columns, body.labels, body.sheet_rows)
    body.place(columns, blocks, footer_rows)
    return finish(sheet, year, columns, blocks, footer_rows, body.sheet_rows, tolerance)


# ------------------------------------------------------------------------------ the package

def sheet_parts(path: Path, book: zipfile.ZipFile) -> tuple[dict[str, str], str | None]:
    """Sheet name -> worksheet part, and the shared-strings part, from the package relations."""
    try:
        root_rels = ET.fromstring(book.read("_rels/.rels"))
        workbook = next(r.get("Target") for r in root_rels.iter(f"{_PKG_REL}Relationship")
                        if r.get("Type", "").endswith("/officeDocument"))
        workbook = workbook.lstrip("/")
        base = PurePosixPath(workbook).parent
        rels_name = str(base / "_rels" / (PurePosixPath(workbook).name + ".rels"))
        rels = {r.get("Id"): (r.get("Type", ""), r.get("Target"))
                for r in ET.fromstring(book.read(rels_name)).iter(f"{_PKG_REL}Relationship")}
        sheets = ET.fromstring(book.read(workbook)).iter(f"{_MAIN}sheet")
    except (KeyError, StopIteration, ET.ParseError) as e:
        raise IngestError(path, f"cannot be read as an xlsx workbook: {e}") from None

    def part(target: str) -> str:
        return target.lstrip("/") if target.startswith("/") else str(base / target)

    parts = {s.get("name"): part(rels[s.get(f"{_REL}id")][1]) for s in sheets}
    shared = next((part(t) for kind, t in rels.values() if kind.endswith("/sharedStrings")), None)
    return parts, shared


def pick_sheet(path: Path, sheets: list[str], year: int | None) -> str:
    """``Table_<YYYY>_English Version``, else the first ``Table_<YYYY>...`` sheet."""
    tables = [s for s in sheets if SHEET_NAME.match(s)]
    if not tables:
        raise IngestError(path, "no sheet named Table_<YYYY>... (sheets: "
                          + ", ".join(sheets) + ")")
    if year is not None:
        matching = [s for s in tables if int(SHEET_NAME.match(s).group(1)) == year]
        if not matching:
            raise IngestError(path, f"the table sheet's year does not match the file name's "
                              f"year {year}", sheet=tables[0], value=tables[0])
        tables = matching
    english = [s for s in tables if s.lower().endswith("_english version")]
    return (english or tables)[0]


def shared_strings(book: zipfile.ZipFile, part: str | None) -> list[str]:
    """The shared-strings table; rich text runs joined, phonetic runs left out."""
    if part is None or part not in book.namelist():
        return []
    strings = []
    for _, elem in ET.iterparse(book.open(part), events=("end",)):
        if elem.tag == f"{_MAIN}si":
            pieces = []
            for child in elem:
                if child.tag == f"{_MAIN}t":
                    pieces.append(child.text or "")
                elif child.tag == f"{_MAIN}r":
                    pieces.extend(t.text or "" for t in child.iter(f"{_MAIN}t"))
            strings.append("".join(pieces))
            elem.clear()
    return strings


def header_rows(path: Path) -> list[list[str]]:
    """The four header rows of a workbook's table sheet, reading no further into it."""
    with zipfile.ZipFile(path) as book:
        parts, shared_part = sheet_parts(path, book)
        name = pick_sheet(path, list(parts), None)
        workbook = _Workbook(Sheet(path, "xlsx", name), book, parts[name],
                             shared_strings(book, shared_part))
        return workbook.header(whole_sheet=False)[0]


# ------------------------------------------------------------------------------ the scans

class _Workbook:
    """The table sheet of an open workbook, scanned by :func:`xlsx_scan.scan`."""

    def __init__(self, sheet: Sheet, book: zipfile.ZipFile, part: str, strings: list[str]):
        self.sheet, self.book, self.part, self.strings = sheet, book, part, strings
        kinds = np.full(len(strings), 2, dtype=np.int8)
        values = np.zeros(len(strings))
        for k, s in enumerate(strings):
            if not s.strip():
                kinds[k] = 1
            elif (v := number(s)) is not None:
                kinds[k], values[k] = 0, v
        self.shared_kind, self.shared_value = kinds, values

    def header(self, whole_sheet: bool) -> tuple[list[list[str]], bool]:
        """The header rows, and whether they are certainly complete. Unless ``whole_sheet``,
        the scan stops at the first row below them, which is all it needs when rows come in
        order."""
        scan = _Scan(self, np.zeros(0, dtype=np.int64), 0, _Targets.none(),
                     np.iinfo(np.int64).max if whole_sheet else HEADER_ROWS)
        scan.run(self.chunks(HEADER_CHUNK, threaded=False))
        return scan.header(), not scan.stopped

    def body(self, columns: Columns, blocks: Blocks) -> _Body:
        """One pass over the whole sheet: data rows into ``blocks``, the rest as records."""
        scan = _Scan(self, columns.targets(), columns.n, _Targets.of(columns, blocks),
                     np.iinfo(np.int64).max)
        scan.run(self.chunks(CHUNK, threaded=True))
        return scan.body()

    def chunks(self, size: int, threaded: bool) -> Iterator[bytes]:
        """The sheet XML, decompressed ``size`` bytes at a time (in a background thread, so
        that decompressing the next chunk overlaps scanning this one)."""
        try:
            f = self.book.open(self.part)
        except (KeyError, zipfile.BadZipFile, zlib.error, OSError) as e:
            raise self.sheet.error(f"cannot read the sheet: {e}") from None
        with f:
            reader = _Prefetch(f, size) if threaded else iter(lambda: f.read(size), b"")
            try:
                yield from reader
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
                raise self.sheet.error(f"cannot read the sheet: {e}") from None
            finally:
                if threaded:
                    reader.close()


class _Prefetch:
    """Reads a file in a background thread, one chunk ahead of the consumer."""

    def __init__(self, f, size: int):
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(f, size), daemon=True)
        self.thread.start()

    def _read(self, f, size: int) -> None:
        try:
            while not self.stop.is_set():
                data = f.read(size)
                self._put(data)
                if not data:
                    return
        except BaseException as e:  # handed to the consumer, which raises it
            self._put(e)

    def _put(self, item) -> None:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self):
        while True:
            item = self.queue.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield item

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


@dataclass
class _Targets:
    """The arrays the scanner writes number cells of data rows into."""
    n_z: int
    n_y: int
    Z: np.ndarray
    Y: np.ndarray
    T: np.ndarray

    @staticmethod
    def none() -> _Targets:
        empty = np.zeros((0, 0))
        return _Targets(0, 0, empty, empty, empty)

    @staticmethod
    def of(columns: Columns, blocks: Blocks) -> _Targets:
        return _Targets(columns.n, blocks.Y.shape[1], blocks.Z, blocks.Y, blocks.T)


class _Scan:
    """One pass of the scanner over the sheet XML, with the room it needs for records (grown
    as it fills)."""
    ROOM = 1 << 12                    # records and footer cells to start with

    def __init__(self, workbook: _Workbook, colmap: np.ndarray, n_data: int,
                 targets: _Targets, stop_row: int):
        self.workbook, self.colmap, self.n_data = workbook, colmap, n_data
        self.targets, self.stop_row = targets, stop_row
        self.state = np.zeros(xs.STATE_SIZE, dtype=np.int64)
        self.records = np.zeros((self.ROOM, 5), dtype=np.int64)
        self.text = np.zeros(self.ROOM * 16, dtype=np.uint8)
        self.extra_at = np.zeros((self.ROOM, 2), dtype=np.int64)
        self.extra_value = np.zeros(self.ROOM)
        self.stopped = False

    def run(self, chunks: Iterator[bytes]) -> None:
        """Scan the chunks until </sheetData>, or a row past ``stop_row`` (``stopped``)."""
        carry = np.zeros(0, dtype=np.uint8)
        with closing(chunks):
            for chunk in chunks:
                buf = np.concatenate([carry, np.frombuffer(chunk, dtype=np.uint8)])
                status, pos = self._scan(buf, final=False)
                if status in (xs.DONE, xs.STOPPED):
                    self.stopped = status == xs.STOPPED
                    return
                carry = buf[pos:]
        status, _ = self._scan(carry, final=True)
        self.stopped = status == xs.STOPPED
        if status not in (xs.DONE, xs.STOPPED):
            raise self.workbook.sheet.error("cannot read the sheet: its XML ends before "
                                            "</sheetData>")

    def _scan(self, buf: np.ndarray, final: bool) -> tuple[int, int]:
        t = self.targets
        pos = 0
        while True:
            status, pos = xs.scan(buf, pos, len(buf), final, self.stop_row, FIRST_BODY_ROW,
                                  self.n_data, self.colmap, t.n_z, t.n_y, t.Z, t.Y, t.T,
                                  self.workbook.shared_kind, self.workbook.shared_value,
                                  self.state, self.records, self.text, self.extra_at,
                                  self.extra_value)
            if status != xs.NEED_ROOM:
                return status, pos
            self.records = _doubled(self.records, self.state[xs.S_RECORDS])
            self.text = _doubled(self.text, self.state[xs.S_TEXT])
            self.extra_at = _doubled(self.extra_at, self.state[xs.S_EXTRA])
            self.extra_value = _doubled(self.extra_value, self.state[xs.S_EXTRA])

    def cells(self) -> Iterator[tuple[int, int, int, object]]:
        """Every record as (sheet row, column, kind, content): the shared-string index for
        SHARED, else the raw XML content as str."""
        for row, col, kind, start, length in self.records[:self.state[xs.S_RECORDS]].tolist():
            if kind == xs.SHARED:
                yield row, col, kind, start
            else:
                raw = self.text[start:start + length].tobytes()
                try:
                    yield row, col, kind, raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise self.workbook.sheet.error("cannot read the sheet: a cell is not UTF-8",
                                                    row=row, column=col) from None

    def header(self) -> list[list[str]]:
        rows: list[dict[int, str]] = [{} for _ in range(HEADER_ROWS)]
        for row, col, kind, content in self.cells():
            if 1 <= row <= HEADER_ROWS:
                rows[row - 1][col] = self.label(row, col, kind, content)
        width = max((max(r) + 1 for r in rows if r), default=0)
        return pad([[r.get(k, "") for k in range(width)] for r in rows], width)

    def label(self, row: int, col: int, kind: int, content: object) -> str:
        """A header or label cell as text (numbers as they read: 1.0 -> '1')."""
        if kind == xs.SHARED:
            return text(self.shared(row, col, content))
        if kind == xs.NUMBER_TEXT:
            try:
                return text(float(content))
            except ValueError:
                pass
        return text(_unescape(content, kind == xs.INLINE))

    def shared(self, row: int, col: int, index: int) -> str:
        if not 0 <= index < len(self.workbook.strings):
            raise self.workbook.sheet.error(
                "cannot read the sheet: the cell refers to a shared string the workbook does not "
                f"have (index {index}, {len(self.workbook.strings)} strings)", row=row,
                column=col)
        return self.workbook.strings[index]

    def body(self) -> _Body:
        late = bool(self.state[xs.S_LATE_HEADER])
        rows = max(int(self.state[xs.S_LAST_ROW]) - HEADER_ROWS, 0)
        labels: tuple[list[str], ...] = ([""] * rows, [""] * rows, [""] * rows)
        cells = []
        for row, col, kind, content in self.cells():
            if row < FIRST_BODY_ROW:
                continue
            if col < 3:
                labels[col][row - FIRST_BODY_ROW] = self.label(row, col, kind, content)
            else:
                value = self.number(row, col, kind, content)
                cells.append((row, col, value))
        extra = self.state[xs.S_EXTRA]
        return _Body(self.header() if late else None, labels,
                     FIRST_BODY_ROW + np.arange(rows, dtype=np.int64), cells,
                     self.extra_at[:extra].copy(), self.extra_value[:extra].copy())

    def number(self, row: int, col: int, kind: int, content: object) -> object:
        """A number cell the scanner handed back: a float (infinity included), None for an
        empty cell, or the raw value (str or bool) of a cell that is not a number."""
        if kind == xs.SHARED:
            content = self.shared(row, col, content)
        elif kind == xs.BOOL:
            return "TRUE" if content.strip() in ("1", "true") else "FALSE"
        else:
            content = _unescape(content, kind == xs.INLINE)
        if not content.strip():
            return None
        if kind == xs.NUMBER_TEXT:
            try:
                value = float(content)
                return content if value != value else value
            except ValueError:
                pass
        value = number(content)
        return content if value is None else value


def _doubled(a: np.ndarray, used: int) -> np.ndarray:
    """``a`` twice as long, its first ``used`` entries kept."""
    bigger = np.zeros((len(a) * 2, *a.shape[1:]), dtype=a.dtype)
    bigger[:used] = a[:used]
    return bigger


@dataclass
class _Body:
    """What a pass found beyond the blocks it filled."""
    header: list[list[str]] | None    # the header rows, if some came after body rows
    labels: tuple[list[str], list[str], list[str]]
    sheet_rows: np.ndarray
    cells: list[tuple[int, int, object]]   # (sheet row, column, value) handed back
    extra_at: np.ndarray              # (sheet row, Z column) of number cells below the data
    extra_value: np.ndarray

    def place(self, columns: Columns, blocks: Blocks, footer_rows: dict[str, int]) -> None:
        """Put the cells handed back and the footer rows' Z cells into the blocks; what is not a
        number goes to ``blocks.bad`` (in data rows, and in the footer rows' Z cells)."""
        targets = columns.targets()
        n, m = columns.n, blocks.Y.shape[1]
        footer_of = {FIRST_BODY_ROW + b: k for k, b in
                     enumerate(footer_rows[c] for c in FOOTER)}
        rows = self.extra_at[:, 0]
        keep = np.isin(rows, list(footer_of))
        for row, z, value in zip(rows[keep].tolist(), self.extra_at[keep, 1].tolist(),
                                 self.extra_value[keep].tolist()):
            blocks.footer[footer_of[row], z] = value
        for row, col, value in self.cells:
            i = row - FIRST_BODY_ROW
            t = int(targets[col])
            if i >= n and row not in footer_of:
                continue
            if value is None:
                continue
            if not isinstance(value, float):
                blocks.bad.append((row, col, value))
            elif i >= n:
                blocks.footer[footer_of[row], t] = value
            elif t < n:
                blocks.Z[i, t] = value
            elif t < n + m:
                blocks.Y[i, t - n] = value
            else:
                blocks.T[t - n - m, i] = value


_PHONETIC = re.compile(r"<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)
_RUN_TEXT = re.compile(r"<(?:\w+:)?t(?:\s[^>]*)?>(.*?)</(?:\w+:)?t>", re.S)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


def _unescape(content: str, inline: bool) -> str:
    """The text of a cell's XML content: for an inline string the <t> runs outside phonetic
    runs, joined; CDATA sections and character references resolved."""
    if inline:
        content = "".join(_RUN_TEXT.findall(_PHONETIC.sub("", content)))
    if "<![CDATA[" in content:
        parts = _CDATA.split(content)
        return "".join(p if k % 2 else html.unescape(p) for k, p in enumerate(parts))
    return html.unescape(content) if "&" in content else content
