"""Points as CSV: one point per row with columns x, y, label and an optional role.

* The header row is optional. A first row whose x and y fields are both non-numeric is a header; its
  names (case-insensitive: x, y, label — or target/class/value — and role) may come in any order.
* Without a header the columns are x, y, label[, role].
* A role is a word (train, test, validation) or its number (0, 1, 2); a missing or empty role is train.
* The delimiter is a comma, or a semicolon or tab when the first row uses that instead.
* Blank lines and lines starting with ``#`` are skipped.
* The label is a class index or a real value (regression): the reader does not know which problem the
  points are for, so class checks are the caller's (:meth:`PointSet.check_classification`).

Every problem raises :class:`FileFormatError` naming the line and column.
"""
from __future__ import annotations

import csv
import math
import os

import numpy as np

from ..fileio import read_limited, write_atomically
from ..errors import FileFormatError
from .points import COORD_LIMIT, MAX_POINTS, ROLE_NAMES, TRAIN, PointSet

MAX_CSV_BYTES = 200 * 1024 * 1024
# What splitting may cost: a points file needs a line and three separators per point (plus some slack)
MAX_LINES = 4 * MAX_POINTS
MAX_SEPARATORS = 5 * MAX_POINTS
_COLUMNS = ("x", "y", "label", "role")
_ALIASES = {"x": "x", "x1": "x", "y": "y", "x2": "y", "label": "label", "target": "label",
            "class": "label", "value": "label", "role": "role"}
_ROLE_WORDS = {**{name: i for i, name in enumerate(ROLE_NAMES)}, **{str(i): i for i in range(len(ROLE_NAMES))}}


def read_points_csv(path_or_text: str | os.PathLike | bytes) -> PointSet:
    """Read points from a file or from CSV contents.

    A ``Path`` (any ``os.PathLike``) is a file; ``bytes`` are the file's contents. A ``str`` is contents
    when it holds a line break or a delimiter (``,`` ``;`` tab), otherwise a file name — pass a ``Path``
    for a file whose name contains a comma.
    """
    if isinstance(path_or_text, (bytes, bytearray, memoryview)):
        return _parse(_decode(bytes(path_or_text), "<text>"), "<text>")
    if isinstance(path_or_text, str) and any(c in path_or_text for c in "\n\r,;\t"):
        if len(path_or_text) > MAX_CSV_BYTES:
            raise FileFormatError(f"<text>: more than {MAX_CSV_BYTES // 2**20} MB of CSV is not supported")
        return _parse(path_or_text, "<text>")
    if not isinstance(path_or_text, (str, os.PathLike)):
        raise FileFormatError(f"points CSV: expected a file name or CSV text, got {type(path_or_text).__name__}")
    path = os.fspath(path_or_text)
    return _parse(_decode(read_limited(path, MAX_CSV_BYTES, "a points file"), path), path)


def write_points_csv(points: PointSet, path: str | os.PathLike) -> None:
    """Write ``x,y,label,role`` with a header; whole labels are written without a decimal point.

    The file is replaced atomically, so a failed write leaves any old file as it was.
    """
    lines = [",".join(_COLUMNS)]
    for (x, y), t, r in zip(points.xy.tolist(), points.target.tolist(), points.role.tolist()):
        label = str(int(t)) if float(t).is_integer() and abs(t) < 2**53 else repr(t)
        lines.append(f"{x!r},{y!r},{label},{ROLE_NAMES[r]}")
    write_atomically(os.fspath(path), "\n".join(lines) + "\n")


# -- reading ------------------------------------------------------------------------------------------------

def _decode(data: bytes, source: str) -> str:
    if len(data) > MAX_CSV_BYTES:
        raise FileFormatError(f"{source}: larger than {MAX_CSV_BYTES // 2**20} MB; not a points file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileFormatError(f"{source}: not a UTF-8 text file (undecodable byte at offset {e.start})") from None


def _parse(text: str, source: str) -> PointSet:
    if "\x00" in text:
        raise FileFormatError(f"{source}: contains NUL characters; this looks like a binary file, not CSV")
    _check_parse_cost(text, source)
    lines = text.removeprefix("\ufeff").splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), None)
    if first is None:
        raise FileFormatError(f"{source}: the file is empty (expected rows of x, y, label[, role])")
    delimiter = max(",;\t", key=lines[first].count)
    line_numbers, rows = _rows(lines, delimiter, source)
    if not rows:  # only empty fields, such as a line of commas
        raise FileFormatError(f"{source}: no rows with values (expected rows of x, y, label[, role])")

    head = rows[0]
    if _is_number(head[0]) or (len(head) > 1 and _is_number(head[1])):
        if len(head) not in (3, 4):
            raise FileFormatError(f"{source}: line {line_numbers[0]}: expected 3 or 4 columns "
                                  f"(x, y, label[, role]), got {len(head)}")
        columns = _COLUMNS[:len(head)]
    else:
        columns = _header(head, line_numbers[0], source)
        line_numbers, rows = line_numbers[1:], rows[1:]

    for line_no, fields in zip(line_numbers, rows):
        if len(fields) != len(columns):
            raise FileFormatError(f"{source}: line {line_no}: expected {len(columns)} columns "
                                  f"({', '.join(columns)}), got {len(fields)}")
    if len(rows) > MAX_POINTS:
        raise FileFormatError(f"{source}: line {line_numbers[MAX_POINTS]}: more than {MAX_POINTS} points "
                              f"are not supported")

    # Convert whole columns at once (fast); on trouble report the earliest bad field, row by row.
    raw = dict(zip(columns, zip(*rows))) if rows else {name: () for name in columns}
    values, problems = {}, []
    for position, name in enumerate(columns):
        if name == "role":
            values[name], problem = _roles(raw[name])
        else:
            values[name], problem = _numbers(raw[name], COORD_LIMIT if name in ("x", "y") else None)
        if problem is not None:
            problems.append((problem[0], position, name, problem[1]))
    if problems:
        row, _, name, reason = min(problems)
        raise FileFormatError(f"{source}: line {line_numbers[row]}, column {name}: {reason}")
    role = values.get("role", np.full(len(rows), TRAIN, np.int8))
    return PointSet(np.column_stack([values["x"], values["y"]]), values["label"], role)


def _check_parse_cost(text: str, source: str) -> None:
    """Refuse, before splitting, text whose lines or fields would cost far more memory than its bytes
    (200 MB of line breaks or of commas would make hundreds of millions of Python strings)."""
    lines = text.count("\n") + text.count("\r")
    separators = text.count(",") + text.count(";") + text.count("\t")
    if lines > MAX_LINES or separators > MAX_SEPARATORS:
        raise FileFormatError(f"{source}: too many lines or fields to be a points file ({lines:,} line breaks, "
                              f"{separators:,} separators; at most {MAX_LINES:,} and {MAX_SEPARATORS:,})")


def _rows(lines: list[str], delimiter: str, source: str) -> tuple[list[int], list[list[str]]]:
    """Line numbers and fields of every line that is neither blank nor a comment."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    numbers, rows = [], []
    try:
        for fields in reader:
            if not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
                continue
            numbers.append(reader.line_num)
            rows.append(fields)
            if len(rows) > MAX_POINTS + 1:  # + 1 for a header; stop before memory runs out
                break
    except csv.Error as e:
        raise FileFormatError(f"{source}: line {reader.line_num}: {e}") from None
    return numbers, rows


def _header(fields: list[str], line_no: int, source: str) -> tuple[str, ...]:
    columns = []
    for field in fields:
        name = _ALIASES.get(field.strip().lower())
        if name is None:
            raise FileFormatError(f"{source}: line {line_no}: unknown column {_shown(field.strip())} in the "
                                  f"header (expected x, y, label and optionally role)")
        if name in columns:
            raise FileFormatError(f"{source}: line {line_no}: column {name!r} appears twice in the header")
        columns.append(name)
    missing = [c for c in _COLUMNS[:3] if c not in columns]
    if missing:
        raise FileFormatError(f"{source}: line {line_no}: the header has no {missing[0]!r} column")
    return tuple(columns)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numbers(texts, limit: float | None):
    """(array, None) or (None, (row, reason)) for the first field that is not a finite number within ±limit."""
    try:
        arr = np.array(texts, dtype=np.float64)  # NumPy parses strings as float() does
        ok = np.isfinite(arr) if limit is None else np.abs(arr) <= limit
        if ok.all():
            return arr, None
    except ValueError:
        pass
    for row, text in enumerate(texts):
        try:
            value = float(text)
        except ValueError:
            return None, (row, f"expected a number, got {_shown(text.strip())}")
        if not math.isfinite(value):
            return None, (row, f"expected a finite number, got {_shown(text.strip())}")
        if limit is not None and abs(value) > limit:
            return None, (row, f"must lie within ±{limit:g}, got {_shown(text.strip())}")
    raise AssertionError("unreachable: NumPy refused a column that float() accepts")


def _roles(texts):
    """(int8 array, None) or (None, (row, reason)); an empty field is train."""
    meaning = {t: (TRAIN if not t.strip() else _ROLE_WORDS.get(t.strip().lower())) for t in set(texts)}
    if None in meaning.values():
        row = next(i for i, t in enumerate(texts) if meaning[t] is None)
        return None, (row, f"expected train, test or validation (or 0, 1, 2), got {_shown(texts[row].strip())}")
    return np.fromiter((meaning[t] for t in texts), np.int8, len(texts)), None


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


# -- writing ------------------------------------------------------------------------------------------------
