"""Reading the text files users hand in, so that every loader can name the line of a problem.

UTF-8 with the line of the first bad byte, YAML with the line of each key, CSV records with the
line each one starts on, and one size limit for a field. Each loader turns these into its own
error type; this module imports nothing from ``core``.
"""
from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

MAX_FIELD_CHARS = 1_000_000
"""The most characters one field of a prompts or pairs file may hold (a string nested in a field,
such as a message of a TRL conversation, counts on its own). A longer field is refused naming its
line and field: it is a broken export far more often than a real prompt or response."""

# csv's own limit (131,072 characters by default) would stop a long cell before MAX_FIELD_CHARS
# does, and its error cannot say which column. The text is already in memory, so a higher csv
# limit costs nothing; the setting is process-wide, so it is only ever raised, never lowered.
_CSV_READER_LIMIT = 2**31 - 1


def line_of_byte(raw: bytes, offset: int) -> int:
    """The line (from 1) that holds byte ``offset`` of ``raw``."""
    return raw.count(b"\n", 0, offset) + 1


def decode_utf8(raw: bytes, path: str | Path, *, error: type[ValueError] = ValueError) -> str:
    """``raw`` as text (a leading byte-order mark dropped), or ``error`` naming the line of the first bad byte."""
    try:
        text = raw.decode("utf-8")  # not utf-8-sig: its error offsets skip the mark, and the line would be off
    except UnicodeDecodeError as exc:
        raise error(f"{path}, line {line_of_byte(raw, exc.start)}: not UTF-8 ({exc.reason} at byte {exc.start})") \
            from None
    return text.removeprefix("\ufeff")


def read_utf8(path: str | Path, *, error: type[ValueError] = ValueError) -> str:
    """The text of the file at ``path``; see ``decode_utf8``. OSError is the caller's to report."""
    return decode_utf8(Path(path).read_bytes(), path, error=error)


def read_yaml(path: str | Path, *, error: type[ValueError] = ValueError) -> tuple[Any, dict[str, int]]:
    """The data of a YAML file, read as ``yaml.safe_load`` reads it, and the line of each mapping key
    by its dotted path (``{"ppo": 2, "ppo.kl_coef": 4}``). Bad UTF-8 or bad YAML raise ``error`` naming the line."""
    text = read_utf8(path, error=error)
    try:
        data, node = _safe_load(text)
    except yaml.YAMLError as exc:
        raise error(f"{path}{_yaml_place(exc, text)}: not valid YAML: {_yaml_problem(exc)}") from None
    return data, key_lines(node)


def _safe_load(text: str) -> tuple[Any, yaml.Node | None]:
    """What ``yaml.safe_load`` does, keeping the node tree for the marks of its keys."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def key_lines(node: yaml.Node | None, prefix: str = "", seen: set[int] | None = None) -> dict[str, int]:
    """Line (from 1) of each scalar mapping key under ``node``, by dotted path.

    Read after construction, when merge keys (``<<: *base``) are already flattened into the
    mapping ahead of its own keys: the last key of a path wins, as it does in the data.
    """
    seen = set() if seen is None else seen
    lines: dict[str, int] = {}
    if not isinstance(node, yaml.MappingNode) or id(node) in seen:  # a node behind aliases is walked once
        return lines
    seen.add(id(node))
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode):
            path = f"{prefix}{key.value}"
            lines[path] = key.start_mark.line + 1
            lines.update(key_lines(value, f"{path}.", seen))
    return lines


def line_of_key(lines: Mapping[str, int], dotted: str | None) -> int | None:
    """The line of ``dotted`` or, when the file does not hold it, of the nearest section above it."""
    while dotted:
        if dotted in lines:
            return lines[dotted]
        dotted = dotted.rpartition(".")[0]
    return None


def _yaml_place(exc: yaml.YAMLError, text: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f", line {mark.line + 1}, column {mark.column + 1}"
    position = getattr(exc, "position", None)  # a ReaderError (a control character) has no mark
    if not isinstance(position, int):
        return ""
    line = text.count("\n", 0, position) + 1
    return f", line {line}"


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        context = exc.context
        if context and exc.context_mark is not None:
            context = f"{context} (line {exc.context_mark.line + 1})"
        return ", ".join(part for part in (context, exc.problem) if part)
    return str(exc).splitlines()[0]


def oversized_field(record: Any) -> tuple[str, int] | None:
    """(field, characters) for the first field of ``record`` holding a string over MAX_FIELD_CHARS, else None."""
    if not isinstance(record, dict):
        return None
    for name, value in record.items():
        longest = _longest_string(value)
        if longest > MAX_FIELD_CHARS:
            return str(name), longest
    return None


def _longest_string(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return max((_longest_string(v) for v in value), default=0)
    return 0


def too_long(chars: int) -> str:
    """The problem of a field of ``chars`` characters, for a loader's error."""
    return f"{chars:,} characters, over the limit of {MAX_FIELD_CHARS:,} per field"


class CsvRecordError(ValueError):
    """A CSV record that cannot be read: ``line`` is where it starts, ``column`` the index of its bad
    cell when that is known (an unterminated quote), else None."""

    def __init__(self, line: int, column: int | None, problem: str):
        self.line, self.column, self.problem = line, column, problem
        super().__init__(f"line {line}: {problem}")


def csv_records(text: str, *, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, its cells) for each record of ``text``, blank lines included as [].

    Read strictly: a quote left open to the end of the file is an error, not one cell that swallows
    every later row; so is text after a closing quote.
    """
    if csv.field_size_limit() < _CSV_READER_LIMIT:
        csv.field_size_limit(_CSV_READER_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    end = 0
    while True:
        start = end + 1  # a quoted cell may span lines: a record starts after the last one ended
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _record_error(text, start, delimiter, exc) from None
        end = reader.line_num
        yield start, cells


def _record_error(text: str, start: int, delimiter: str, exc: csv.Error) -> CsvRecordError:
    if "unexpected end of data" not in str(exc):  # CPython's words for a quote still open at the end
        return CsvRecordError(start, None, f"not CSV ({exc})")
    # Read leniently from the record's first line, the record's last cell is the one left open.
    rest = "".join(io.StringIO(text, newline="").readlines()[start - 1:])
    cells = next(csv.reader(io.StringIO(rest, newline=""), delimiter=delimiter), [""])
    return CsvRecordError(start, len(cells) - 1, "its quote is never closed: the cell runs to the end of the file")


@contextlib.contextmanager
def named_as(staged: Path, filename: str):
    """Errors about ``staged`` (a server temp copy of an upload) name the file the person uploaded."""
    try:
        yield
    except ValueError as exc:
        text = str(exc)
        if str(staged) not in text:
            raise
        raise ValueError(text.replace(str(staged), Path(filename).name)) from exc


def safe_upload_name(filename: str, default: str) -> str:
    """An uploaded file's name made safe to write on the server: its last part, letters, digits and
    '._-' only, at most 100 characters (``default`` when nothing is left)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", Path(filename).name)[:100] or default
