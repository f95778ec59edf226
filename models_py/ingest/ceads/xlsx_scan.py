"""A compiled byte scanner of worksheet XML that puts the number cells of a CEADs sheet straight
into numpy arrays.

A full-size CEADs workbook holds 190 M cells (3.4 GB of sheet XML). A reader that makes a Python
object per cell, or holds every cell before converting it, needs minutes or tens of GB; this
scanner, compiled with numba, walks the decompressed XML a chunk at a time and writes each
number cell into its place in the blocks. It follows SpreadsheetML (ECMA-376 part 1, 18.3) as
any writer may use it, not one writer's habits:

- rows and cells placed by their ``r`` reference (``<row r="7">``, ``<c r="AB7">``), or, where a
  writer leaves ``r`` out, right after the previous row or cell; rows may come in any order and
  with gaps (a row not written is empty), and cells left out are empty;
- elements with or without a namespace prefix (``<c>`` or ``<x:c>``), self-closing cells
  (``<c r="D5" s="1"/>``), comments and processing instructions;
- cell types: numbers (``t="n"`` or no ``t``), shared strings (``t="s"``, resolved through a
  table the caller prepares), inline strings (``t="inlineStr"``), formula strings (``t="str"``),
  booleans, errors and ISO dates; a formula cell's cached ``<v>`` is its value;
- numbers in decimal or scientific notation, converted exactly as Python's ``float()`` does
  (:mod:`models_py.ingest.ceads.xlsx_numbers`); what that cannot decide with certainty goes
  back to Python as text.

Cells the scanner does not turn into numbers itself (text, and numbers in the three label
columns and the header rows) are handed back as *records*: sheet row, grid column, kind and the
cell's raw XML content (or shared-string index), for Python to decode and check.

:func:`scan` is resumable: it returns a status and the position it reached, and is called again
with more bytes (``NEED_MORE``), more room for records (``NEED_ROOM``), or not at all (``DONE``,
``STOPPED``).
"""
from __future__ import annotations

import numba
import numpy as np

from models_py.ingest.ceads.xlsx_numbers import parse_number, space

# scan() statuses
NEED_MORE = 0     # the bytes end inside an element: call again with more, from the position
DONE = 1          # </sheetData> reached
NEED_ROOM = 2     # records, text or footer cells are full: grow them, call again from there
MALFORMED = 3     # the sheet ends inside an element or before </sheetData> (with ``final``)
STOPPED = 4       # a row past ``stop_row`` begins at the position

# record kinds: how Python decodes a record's content
NUMBER_TEXT = 0   # a number cell's <v> text the scanner did not convert (or in a label column)
SHARED = 1        # a shared string; the record's start is its index (-1: not an index)
INLINE = 2        # the XML inside <is>
TEXT = 3          # the <v> text of a formula string, error or date cell
BOOL = 4          # the <v> text of a boolean cell

# columns of a record row
R_ROW, R_COL, R_KIND, R_START, R_LEN = range(5)
# entries of the state vector kept between calls
S_ROW, S_COL, S_RECORDS, S_TEXT, S_EXTRA, S_LAST_ROW, S_BODY_SEEN, S_LATE_HEADER = range(8)
STATE_SIZE = 8

# cell types
_NUMBER, _SHARED, _INLINE, _STR, _BOOL = 0, 1, 2, 3, 4

_LT, _GT, _SLASH, _BANG, _QUERY, _EQ = 60, 62, 47, 33, 63, 61
_COLON, _QUOTE, _APOS = 58, 34, 39


# ------------------------------------------------------------------------------ XML

@numba.njit(inline="always")
def _name_end(ch):
    return space(ch) or ch == _GT or ch == _SLASH


@numba.njit
def _local_name(buf, p, end):
    """(start, end) of the local name of the tag name at ``p`` (after any prefix), and the
    position after the name; -1 if the bytes end first."""
    s = p
    while p < end and not _name_end(buf[p]):
        if buf[p] == _COLON:
            s = p + 1
        p += 1
    if p >= end:
        return s, p, -1
    return s, p, p


@numba.njit
def _is(buf, s, e, word):
    if e - s != len(word):
        return False
    for k in range(len(word)):
        if buf[s + k] != word[k]:
            return False
    return True


@numba.njit
def _tag_end(buf, p, end):
    """Position of the '>' closing the tag whose attributes start at ``p`` (quoted values may
    hold '>'), or -1 if the bytes end first."""
    quote = 0
    while p < end:
        ch = buf[p]
        if quote:
            if ch == quote:
                quote = 0
        elif ch == _QUOTE or ch == _APOS:
            quote = ch
        elif ch == _GT:
            return p
        p += 1
    return -1


@numba.njit
def _after(buf, q, end, a, b, c):
    """The position after the first bytes ``a b c`` at or after ``q``; -1 if the bytes end
    first."""
    while q + 2 < end:
        if buf[q] == a and buf[q + 1] == b and buf[q + 2] == c:
            return q + 3
        q += 1
    return -1


@numba.njit
def _skip_markup(buf, p, end):
    """Skip a comment, CDATA section, declaration or processing instruction at ``p`` ('<!' or
    '<?'); the position after it, or -1 if the bytes end first."""
    if buf[p + 1] == _QUERY:
        q = p + 2
        while q + 1 < end:
            if buf[q] == _QUERY and buf[q + 1] == _GT:
                return q + 2
            q += 1
        return -1
    if p + 3 < end and buf[p + 2] == 45 and buf[p + 3] == 45:       # <!-- ... -->
        return _after(buf, p + 4, end, 45, 45, _GT)
    if p + 8 < end and buf[p + 2] == 91:                             # <![CDATA[ ... ]]>
        return _after(buf, p + 9, end, 93, 93, _GT)
    if p + 8 >= end:
        return -1
    q = _tag_end(buf, p + 2, end)
    return -1 if q < 0 else q + 1


@numba.njit
def _attribute(buf, p, te, word):
    """(start, end) of the value of attribute ``word`` (local name) in the tag attributes
    ``buf[p:te]``; (-1, -1) if absent."""
    while p < te:
        while p < te and (space(buf[p]) or buf[p] == _SLASH):
            p += 1
        if p >= te:
            break
        s = p
        while p < te and buf[p] != _EQ and not space(buf[p]):
            if buf[p] == _COLON:
                s = p + 1
            p += 1
        name_end = p
        while p < te and buf[p] != _EQ:
            p += 1
        p += 1
        while p < te and buf[p] != _QUOTE and buf[p] != _APOS:
            p += 1
        if p >= te:
            break
        quote = buf[p]
        p += 1
        vs = p
        while p < te and buf[p] != quote:
            p += 1
        if _is(buf, s, name_end, word):
            return vs, p
        p += 1
    return -1, -1


@numba.njit
def _reference(buf, s, e):
    """0-based column and 1-based row of a cell reference ("AB12"); -1 for a part that is
    absent."""
    col = 0
    letters = 0
    while s < e and (65 <= buf[s] <= 90 or 97 <= buf[s] <= 122):
        col = col * 26 + (buf[s] & 0xDF) - 64
        letters += 1
        s += 1
    row = 0
    numbers = 0
    while s < e and 48 <= buf[s] <= 57:
        row = row * 10 + buf[s] - 48
        numbers += 1
        s += 1
    return (col - 1 if letters else -1), (row if numbers else -1)


@numba.njit
def _cell_type(buf, s, e):
    if s < 0 or e == s:
        return _NUMBER
    if e - s == 1:
        ch = buf[s]
        if ch == 110:            # n
            return _NUMBER
        if ch == 115:            # s
            return _SHARED
        if ch == 98:             # b
            return _BOOL
        return _STR              # e (error), d (date)
    if buf[s] == 105:            # inlineStr
        return _INLINE
    return _STR                  # str


@numba.njit
def _integer(buf, s, e):
    """A non-negative integer written in ``buf[s:e]``, -1 if it is not one."""
    while s < e and space(buf[s]):
        s += 1
    while e > s and space(buf[e - 1]):
        e -= 1
    if s >= e or e - s > 12:
        return -1
    value = 0
    for p in range(s, e):
        if not 48 <= buf[p] <= 57:
            return -1
        value = value * 10 + buf[p] - 48
    return value


_ROW = np.frombuffer(b"row", dtype=np.uint8).copy()
_C = np.frombuffer(b"c", dtype=np.uint8).copy()
_V = np.frombuffer(b"v", dtype=np.uint8).copy()
_IS = np.frombuffer(b"is", dtype=np.uint8).copy()
_R = np.frombuffer(b"r", dtype=np.uint8).copy()
_T = np.frombuffer(b"t", dtype=np.uint8).copy()
_SHEET_DATA = np.frombuffer(b"sheetData", dtype=np.uint8).copy()
_VALUE_END = np.frombuffer(b"</v></c>", dtype=np.uint8).copy()


@numba.njit
def _next_tag(buf, p, end):
    """The next tag at or after ``p``, past text, comments, CDATA sections and processing
    instructions: (position of its '<', whether it is whole, whether it is an end tag, start
    and end of its local name, position after the name, position of its '>'). Not whole when
    the bytes end inside it; the position is then where it (or the markup before it) begins."""
    while True:
        while p < end and buf[p] != _LT:
            p += 1
        if p + 1 >= end:
            return p, False, False, 0, 0, 0, 0
        if buf[p + 1] == _BANG or buf[p + 1] == _QUERY:
            q = _skip_markup(buf, p, end)
            if q < 0:
                return p, False, False, 0, 0, 0, 0
            p = q
            continue
        closing = buf[p + 1] == _SLASH
        s, e, after = _local_name(buf, p + (2 if closing else 1), end)
        if after < 0:
            return p, False, closing, 0, 0, 0, 0
        te = _tag_end(buf, after, end)
        return p, te >= 0, closing, s, e, after, te


@numba.njit
def _cell_content(buf, p, end):
    """Scan the content of a cell from ``p`` (after its start tag) to its end tag. Returns the
    position after ``</c>`` (-1 if the bytes end first) and the spans of the <v> and <is>
    contents ((-1, -1) where absent)."""
    vs, ve, iss, ise = -1, -1, -1, -1
    while True:
        p, whole, closing, s, e, after, te = _next_tag(buf, p, end)
        if not whole:
            return -1, vs, ve, iss, ise
        p = te + 1
        if closing:
            if _is(buf, s, e, _C):
                return p, vs, ve, iss, ise
            continue
        if buf[te - 1] == _SLASH:            # an empty element: <v/>, <f .../>, <is/>
            if _is(buf, s, e, _V):
                vs, ve = p, p
            elif _is(buf, s, e, _IS):
                iss, ise = p, p
            continue
        if _is(buf, s, e, _V):
            vs = p
            while p < end and buf[p] != _LT:
                p += 1
            if p >= end:
                return -1, vs, ve, iss, ise
            ve = p                           # the </v> end tag is passed over above
            continue
        # any other element (<is>, <f>, <extLst>): on to its end tag, same local name
        inner = p
        while True:
            q, whole, closing2, s2, e2, after2, te2 = _next_tag(buf, p, end)
            if not whole:
                return -1, vs, ve, iss, ise
            p = te2 + 1
            if closing2 and _is(buf, s2, e2, buf[s:e]):
                if _is(buf, s, e, _IS):
                    iss, ise = inner, q
                break


@numba.njit
def _plain_value_end(buf, p, end):
    """If the cell content at ``p`` is exactly ``<v>text</v></c>``, the position after it;
    else -1 (the general scan of :func:`_cell_content` takes over)."""
    if p + 3 > end or buf[p] != _LT or buf[p + 1] != 118 or buf[p + 2] != _GT:
        return -1
    q = p + 3
    while q < end and buf[q] != _LT:
        q += 1
    if q + 8 > end:
        return -1
    for k in range(8):
        if buf[q + k] != _VALUE_END[k]:
            return -1
    return q + 8


# ------------------------------------------------------------------------------ the scan

@numba.njit
def _record(buf, row, col, kind, s, e, index, state, records, text):
    """Hand a cell back to Python; False if there is no room."""
    k = state[S_RECORDS]
    if k >= records.shape[0]:
        return False
    records[k, R_ROW] = row
    records[k, R_COL] = col
    records[k, R_KIND] = kind
    if kind == SHARED:
        records[k, R_START] = index
        records[k, R_LEN] = 0
    else:
        used = state[S_TEXT]
        if used + (e - s) > text.shape[0]:
            return False
        text[used:used + e - s] = buf[s:e]
        records[k, R_START] = used
        records[k, R_LEN] = e - s
        state[S_TEXT] = used + e - s
    state[S_RECORDS] = k + 1
    return True


@numba.njit
def _put(Z, Y, T, n_z, n_y, i, target, value):
    """Write a number of data row i into the block its column's target names."""
    if target < n_z:
        Z[i, target] = value
    elif target < n_z + n_y:
        Y[i, target - n_z] = value
    else:
        T[target - n_z - n_y, i] = value


@numba.njit
def _emit(buf, row, col, kind, vs, ve, iss, ise, first_body_row, n_data, colmap, n_z, n_y,
          Z, Y, T, shared_kind, shared_value, state, records, text, extra_at, extra_value):
    """Put one cell where it belongs; False if there is no room for it."""
    if vs < 0 and iss < 0:
        return True                                   # an empty cell
    if row < first_body_row:                          # header rows: everything as records
        if state[S_BODY_SEEN]:
            state[S_LATE_HEADER] = 1
        if kind == _INLINE:
            return _record(buf, row, col, INLINE, iss, ise, 0, state, records, text)
        if vs < 0:
            return True
        if kind == _SHARED:
            return _record(buf, row, col, SHARED, 0, 0, _integer(buf, vs, ve), state, records,
                           text)
        return _record(buf, row, col, (NUMBER_TEXT, SHARED, INLINE, TEXT, BOOL)[kind], vs, ve,
                       0, state, records, text)
    i = row - first_body_row
    if row > state[S_LAST_ROW]:
        state[S_LAST_ROW] = row
    if col < 3:
        target = -2                                   # a label column: always a record
    elif col < len(colmap):
        target = colmap[col]
    else:
        target = -1
    if target == -1 or (i >= n_data and target >= n_z):
        return True                                   # a column (or cell) nothing reads
    if kind == _INLINE:
        return _record(buf, row, col, INLINE, iss, ise, 0, state, records, text)
    if vs < 0:
        return True
    value = 0.0
    if kind == _NUMBER and target >= 0:
        value, ok = parse_number(buf, vs, ve)
        if not ok:
            return _record(buf, row, col, NUMBER_TEXT, vs, ve, 0, state, records, text)
    elif kind == _SHARED:
        index = _integer(buf, vs, ve)
        if target < 0 or index < 0 or index >= len(shared_kind) or shared_kind[index] == 2:
            return _record(buf, row, col, SHARED, 0, 0, index, state, records, text)
        if shared_kind[index] == 1:
            return True                               # an empty string: an empty cell
        value = shared_value[index]
    else:
        return _record(buf, row, col, (NUMBER_TEXT, SHARED, INLINE, TEXT, BOOL)[kind], vs, ve,
                       0, state, records, text)
    if i < n_data:
        _put(Z, Y, T, n_z, n_y, i, target, value)
        return True
    k = state[S_EXTRA]
    if k >= extra_value.shape[0]:
        return False
    extra_at[k, 0] = row
    extra_at[k, 1] = target
    extra_value[k] = value
    state[S_EXTRA] = k + 1
    return True


@numba.njit(nogil=True, cache=True)
def scan(buf, pos, end, final, stop_row, first_body_row, n_data, colmap, n_z, n_y, Z, Y, T,
         shared_kind, shared_value, state, records, text, extra_at, extra_value):
    """Scan worksheet XML in ``buf[pos:end]``; returns (status, position reached).

    ``colmap[k]`` says where grid column k >= 3 goes: -1 nowhere, below ``n_z`` a column of
    ``Z`` (n_data x n_z), then a column of ``Y`` (n_data x n_y), then a row of ``T``. Body row i
    (sheet row ``first_body_row + i``) below ``n_data`` is written into those blocks; the Z
    cells of later rows go to ``extra_at`` (sheet row, Z column) and ``extra_value``. Cells of
    the label columns 0-2 and of the header rows, and cells that are not numbers, become
    records. ``shared_kind`` says of each shared string 0: a number (``shared_value``), 1:
    empty, 2: text. ``state`` carries the position in the sheet between calls. A row with a
    number above ``stop_row`` stops the scan before it.
    """
    p = pos
    incomplete = MALFORMED if final else NEED_MORE
    while True:
        while p < end and buf[p] != _LT:
            p += 1
        start = p
        if p + 2 < end and buf[p + 1] == 99 and _name_end(buf[p + 2]):
            after = p + 2                             # <c ...>: a cell, no namespace prefix
            te = _tag_end(buf, after, end)
            if te < 0:
                return incomplete, start
        else:
            start, whole, closing, s, e, after, te = _next_tag(buf, p, end)
            if not whole:
                return incomplete, start
            if closing:
                if _is(buf, s, e, _SHEET_DATA):
                    return DONE, te + 1
                p = te + 1
                continue
            if _is(buf, s, e, _ROW):
                rs, re_ = _attribute(buf, after, te, _R)
                row = _integer(buf, rs, re_) if rs >= 0 else -1
                if row <= 0:
                    row = state[S_ROW] + 1
                if row > stop_row:
                    return STOPPED, start
                if row >= first_body_row:
                    state[S_BODY_SEEN] = 1
                state[S_ROW] = row
                state[S_COL] = -1
                p = te + 1
                continue
            if _is(buf, s, e, _SHEET_DATA) and buf[te - 1] == _SLASH:
                return DONE, te + 1                   # <sheetData/>: an empty sheet
            if not _is(buf, s, e, _C):
                p = te + 1                            # <worksheet>, <sheetData>, <dimension>
                continue
        col, row, kind = state[S_COL] + 1, state[S_ROW], _NUMBER
        if after < te:                                # attributes: r (reference), t (type)
            rs, re_ = _attribute(buf, after, te, _R)
            if rs >= 0:
                ref_col, ref_row = _reference(buf, rs, re_)
                col = ref_col if ref_col >= 0 else col
                row = ref_row if ref_row >= 0 else row
            ts, tend = _attribute(buf, after, te, _T)
            kind = _cell_type(buf, ts, tend)
        if buf[te - 1] == _SLASH:
            state[S_COL] = col                        # <c .../>: an empty cell
            p = te + 1
            continue
        q = _plain_value_end(buf, te + 1, end)
        if q > 0:                                     # <v>...</v></c>, the common case
            vs, ve, iss, ise = te + 4, q - 8, -1, -1
        else:
            q, vs, ve, iss, ise = _cell_content(buf, te + 1, end)
            if q < 0:
                return incomplete, start
        # the hot path, kept out of _emit: a number in a data row, or a cell nobody reads
        if row >= first_body_row and col >= 3:
            target = colmap[col] if col < len(colmap) else -1
            i = row - first_body_row
            if vs >= 0 or iss >= 0:
                if row > state[S_LAST_ROW]:
                    state[S_LAST_ROW] = row
            if target < 0 or (i >= n_data and target >= n_z) or (vs < 0 and iss < 0):
                state[S_COL] = col
                p = q
                continue
            if kind == _NUMBER and i < n_data and vs >= 0:
                value, ok = parse_number(buf, vs, ve)
                if ok:
                    if target < n_z:
                        Z[i, target] = value          # most cells: kept free of a call
                    else:
                        _put(Z, Y, T, n_z, n_y, i, target, value)
                    state[S_COL] = col
                    p = q
                    continue
        if not _emit(buf, row, col, kind, vs, ve, iss, ise, first_body_row, n_data, colmap,
                     n_z, n_y, Z, Y, T, shared_kind, shared_value, state, records, text,
                     extra_at, extra_value):
            return NEED_ROOM, start
        state[S_COL] = col
        p = q

