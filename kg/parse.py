"""Profile text -> `kg.model.Profile` in one pass over the lines; knows nothing of RDF or storage.
Every malformed input, whatever its bytes, ends in a `ParseError` (source, 1-based line, what was expected).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from kg.errors import DocumentTooLarge, InputError, ParseError
from kg.model import AgentKind, Byline, BylineSlot, Metrics, Paper, Profile

_NUMBER = r"(\d{1,3}(?:,\d{3}){1,5}|\d{1,15})"  # bounded: int() refuses very long digit strings
_CODE = r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*"
_CATEGORY = re.compile(_CODE)
_NAME_LETTER = re.compile(r"[^\W\d_]")
_DATE = r"(?P<date>(?P<month>[A-Z][a-z]{2,8})\.?\s*(?P<day>\d{1,2}),\s*(?P<year>\d{4}))"
_ENTRY = re.compile(rf"(?P<code>{_CODE})\s*{_DATE}\s*(?P<badge>Code)?")
# A category glued to something that starts like a date: the date itself is what is wrong.
_ENTRY_BAD_DATE = re.compile(rf"{_CODE}\s*(?P<date>[A-Z][a-z]+\.?\s*\d[\d,\s]*?)\s*(?:Code)?")
_ORG_SEPARATOR = re.compile(r"(?:^|\s+)·\s*")
_ET_AL = re.compile(r"(?:^|,\s*|\s+)et\s+al\.?$")
_ET_AL_INSIDE = re.compile(r"\bet\s+al(?:\.|$)")  # "A et al., B": `et al.` is only allowed at the end
_SUFFIX = re.compile(r"(?:Jr|Sr)\.?|II|III|IV")
# Characters that no RDF syntax carries safely (XML 1.0 forbids them) and that only binary or damaged text holds.
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_BAD_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])  # a fast first test on raw bytes

_URL_CHARS = r"[^\s<>\"'`{}|\\^\[\]]"
_TLDS = (
    "com|org|net|edu|gov|io|ai|dev|app|co|me|info|xyz|page|site|tech|science|"
    "uk|de|fr|ch|cn|jp|ca|au|nl|eu|us|ly|gl|sh|so"
)
_URL = re.compile(
    rf"(?P<full>https?://\w{_URL_CHARS}*)"
    rf"|(?<![\w@./-])(?P<bare>(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS})(?![\w-])"
    rf"(?::\d{{1,5}})?(?:/{_URL_CHARS}*)?)",
    re.IGNORECASE,
)
# Found first, cheaply: the full pattern is then run only on the words around these (it is slow on long text).
_URL_HINT = re.compile(rf"://|\.(?:{_TLDS})(?![\w-])", re.IGNORECASE)
_BARE_HINT = re.compile(rf"\.(?:{_TLDS})(?![\w-])", re.IGNORECASE)  # starts with a literal: a fast scan
_URL_TRAILING = ".,;:!?)]}'\""

_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")
_MONTHS: dict[str, int] = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, start=1)},
    "Sept": 9,
}

_UNBOUNDED = 10**18
_HEADER_FIELDS = (  # (pattern, what is expected, largest value)
    (re.compile(rf"h-index\s*{_NUMBER}"), "'h-index' followed by a number", _UNBOUNDED),
    (re.compile(rf"{_NUMBER}\s*papers?"), "a number followed by 'papers'", _UNBOUNDED),
    (re.compile(rf"{_NUMBER}\s*citations?"), "a number followed by 'citations'", _UNBOUNDED),
    (re.compile(rf"Novelty\s*{_NUMBER}\s*%"), "'Novelty' followed by a percentage", 100),
    (re.compile(rf"AI Score\s*{_NUMBER}"), "'AI Score' followed by a number", _UNBOUNDED),
    (re.compile(rf"{_NUMBER} Papers?"), "the heading 'N Papers'", _UNBOUNDED),
)
_DATE_EXAMPLE = "a date like 'May 27, 2022'"


class _Lines:
    """The stripped lines of one document and a read position; builds errors that point at a line."""

    __slots__ = ("lines", "pos", "source")

    def __init__(self, source: str, lines: list[str]) -> None:
        self.source = source
        self.lines = lines
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.lines)

    def blank_next(self) -> bool:
        """True at the end or when the next line is blank."""
        return self.at_end() or not self.lines[self.pos]

    def skip_blank(self) -> None:
        while self.pos < len(self.lines) and not self.lines[self.pos]:
            self.pos += 1

    def take(self) -> tuple[int, str]:
        """The next line and its 1-based number; the caller knows there is one."""
        self.pos += 1
        return self.pos, self.lines[self.pos - 1]

    def next_field(self, expected: str) -> tuple[int, str]:
        """The next non-blank line, or a ParseError if the document ends first."""
        self.skip_blank()
        if self.at_end():
            raise self.end_error(expected)
        return self.take()

    def end_error(self, expected: str) -> ParseError:
        return ParseError(self.source, max(len(self.lines), 1), f"{expected} before the end of the document")


def parse_file(path: Path, max_bytes: int | None = None) -> Profile:
    """Parse the profile document at `path`; DocumentTooLarge over `max_bytes`, InputError if it can't be read."""
    try:
        with path.open("rb") as handle:
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except OSError as error:
        raise InputError(f"{path}: expected a readable profile document, got {error.strerror or error}") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise DocumentTooLarge(f"{path}: expected a document of at most {max_bytes} bytes, got more")
    return parse_profile(data, str(path))


def parse_profile(data: bytes | str, source: str) -> Profile:
    """Parse one profile page; `source` names it in error messages (`source:line: expected …`).

    Layout: the author's name; the primary category code (`LG`); `h-index117`, `15papers`, `11,122citations`,
    `Novelty58%`, `AI Score43`; the heading `15 Papers`; then entries: `LGMay 27, 2022Code` (category code, date,
    optional `Code` badge), the title on the next line, a blank line, the byline (`A, B et al. · org1, org2`), a
    blank line and a one-line abstract. Blank lines between header fields and between entries may be repeated.

    Accepted: UTF-8 with or without a BOM; LF, CRLF or lone CR line ends; no final newline; spaces around lines;
    zero entries. An entry without an abstract (its byline followed by blank lines and then the next entry header
    or the end of the document) gets the abstract "": a document cut right after a byline therefore still parses.
    Refused with ParseError: empty or binary documents, text that is not UTF-8 (UTF-16 included), control
    characters, garbled header fields, impossible dates, entries cut before their byline, empty byline names.
    """
    text = _decode(data, source) if isinstance(data, bytes | bytearray | memoryview) else _check_text(data, source)
    cursor = _Lines(source, _split_lines(text))
    name, category, metrics, heading = _parse_header(cursor)
    papers: list[Paper] = []
    cursor.skip_blank()
    while not cursor.at_end():
        papers.append(_parse_entry(cursor))
        cursor.skip_blank()
    return Profile(source, name, category, metrics, heading, tuple(papers))


def _decode(data: bytes | bytearray | memoryview, source: str) -> str:
    raw = bytes(data)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError(source, 1, "UTF-8 text, not UTF-16 (byte-order mark at offset 0)")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise ParseError(source, _line_at(raw, nul), f"text, not binary data (NUL byte at offset {nul})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start
        raise ParseError(
            source, _line_at(raw, offset), f"UTF-8 text, not byte 0x{raw[offset]:02x} at offset {offset}"
        ) from None
    if len(raw.translate(None, _BAD_BYTES)) == len(raw) and "\ufffe" not in text and "\uffff" not in text:
        return text[1:] if text.startswith("\ufeff") else text  # UTF-8 holds no surrogates: nothing else to test
    return _check_text(text, source)


def _check_text(text: str, source: str) -> str:
    bad = _BAD_CHAR.search(text)
    if bad is not None:
        offset, code = bad.start(), ord(bad.group())
        if code == 0:
            expected = f"text, not binary data (NUL character at offset {offset})"
        else:
            kind = "control character" if code < 0xD800 else "character"
            expected = f"text, not the {kind} U+{code:04X} (column {_column_at(text, offset)})"
        raise ParseError(source, _line_at(text, offset), expected)
    return text[1:] if text.startswith("\ufeff") else text


def _line_at(text: str | bytes, offset: int) -> int:
    """1-based line of `offset`, counting CRLF, LF and lone CR as line ends (as `_split_lines` does)."""
    if isinstance(text, str):
        return text.count("\n", 0, offset) + text.count("\r", 0, offset) - text.count("\r\n", 0, offset) + 1
    return text.count(b"\n", 0, offset) + text.count(b"\r", 0, offset) - text.count(b"\r\n", 0, offset) + 1


def _column_at(text: str, offset: int) -> int:
    start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset))
    return offset - start


def _split_lines(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and not lines[-1]:
        lines.pop()  # the final newline ends the last line; it does not start another
    return [line.strip() for line in lines]


def _parse_header(cursor: _Lines) -> tuple[str, str, Metrics, int]:
    cursor.skip_blank()
    if cursor.at_end():
        raise ParseError(cursor.source, 1, "a profile starting with the author's name, not an empty document")
    line, name = cursor.take()
    if _NAME_LETTER.search(name) is None:
        raise ParseError(cursor.source, line, "the author's name", name)
    line, category = cursor.next_field("the primary category code like 'LG'")
    if _CATEGORY.fullmatch(category) is None:
        raise ParseError(cursor.source, line, "the primary category code like 'LG'", category)
    values = [_header_number(cursor, *field) for field in _HEADER_FIELDS]
    h_index, papers, citations, novelty, ai_score, heading = values
    return name, category, Metrics(h_index, papers, citations, novelty, ai_score), heading


def _header_number(cursor: _Lines, pattern: re.Pattern[str], expected: str, largest: int) -> int:
    line, text = cursor.next_field(expected)
    match = pattern.fullmatch(text)
    value = -1 if match is None else int(match.group(1).replace(",", ""))
    if not 0 <= value <= largest:
        raise ParseError(cursor.source, line, expected, text)
    return value


def _parse_entry(cursor: _Lines) -> Paper:
    line, header = cursor.take()
    code, published, badge = _entry_header(cursor.source, line, header)
    title_expected = f"the title of the entry at line {line}"
    if cursor.at_end():
        raise cursor.end_error(title_expected)
    title_line, title = cursor.take()
    if not title:
        raise ParseError(cursor.source, title_line, title_expected, title)
    byline_expected = f"the byline of the entry at line {line}"
    if not cursor.blank_next():
        raise ParseError(cursor.source, cursor.pos + 1, "a blank line after the title", cursor.lines[cursor.pos])
    byline_line, byline_text = cursor.next_field(byline_expected)
    if _ENTRY.fullmatch(byline_text) is not None:
        raise ParseError(cursor.source, byline_line, byline_expected, byline_text)
    byline = _parse_byline(cursor.source, byline_line, byline_text)
    abstract = _take_abstract(cursor)
    return Paper(code, published, badge, title, byline, abstract, _find_urls(abstract), line)


def _entry_header(source: str, line: int, text: str) -> tuple[str, dt.date, bool]:
    match = _ENTRY.fullmatch(text)
    if match is None:
        loose = _ENTRY_BAD_DATE.fullmatch(text)
        if loose is not None:
            raise ParseError(source, line, _DATE_EXAMPLE, loose.group("date"))
        raise ParseError(source, line, "an entry header like 'LGMay 27, 2022' (category, date, optional 'Code')",
                         text)
    try:
        published = dt.date(int(match["year"]), _MONTHS[match["month"]], int(match["day"]))
    except (KeyError, ValueError):
        raise ParseError(source, line, _DATE_EXAMPLE, match["date"]) from None
    return match["code"], published, match["badge"] is not None


def _take_abstract(cursor: _Lines) -> str:
    """The one-line abstract after a byline; "" when the byline is followed by the next entry or the end."""
    if not cursor.blank_next():
        raise ParseError(cursor.source, cursor.pos + 1, "a blank line after the byline", cursor.lines[cursor.pos])
    cursor.skip_blank()
    if cursor.at_end() or _ENTRY.fullmatch(cursor.lines[cursor.pos]) is not None:
        return ""
    _, abstract = cursor.take()
    if not cursor.blank_next():
        raise ParseError(cursor.source, cursor.pos + 1, "a blank line after the one-line abstract",
                         cursor.lines[cursor.pos])
    return abstract


def _parse_byline(source: str, line: int, text: str) -> Byline:
    names_text, organizations = _split_organizations(source, line, text)
    et_al = _ET_AL.search(names_text)
    if et_al is not None:
        names_text = names_text[: et_al.start()]
    names: list[str] = []
    for piece in names_text.split(","):
        if not _add_name(names, piece.strip()):
            raise ParseError(source, line, f"a name in slot {len(names) + 1} of the byline", text)
    slots = tuple(
        BylineSlot(ordinal, name, AgentKind.TEAM if name.endswith(" Team") else AgentKind.PERSON)
        for ordinal, name in enumerate(names, start=1)
    )
    return Byline(slots, et_al is not None, organizations)


def _add_name(names: list[str], piece: str) -> bool:
    """Append byline piece `piece` to `names` (a suffix like ", Jr." completes the previous name); False if bad."""
    if _SUFFIX.fullmatch(piece):
        if not names:
            return False
        names[-1] = f"{names[-1]}, {piece}"
    elif _NAME_LETTER.search(piece) is None or _ET_AL_INSIDE.search(piece):
        return False
    else:
        names.append(piece)
    return True


def _split_organizations(source: str, line: int, text: str) -> tuple[str, tuple[str, ...]]:
    parts = _ORG_SEPARATOR.split(text, maxsplit=1)
    if len(parts) == 1:
        return text, ()
    tags = tuple(tag.strip() for tag in parts[1].split(","))
    if not all(tags):
        raise ParseError(source, line, "organization tags separated by ', ' after ' · '", text)
    return parts[0], tags


def _find_urls(abstract: str) -> tuple[str, ...]:
    """Web addresses in `abstract`, in order and without duplicates; bare hosts get https://."""
    if "://" not in abstract and _BARE_HINT.search(abstract) is None:
        return ()
    found: dict[str, None] = {}
    for start, end in _url_windows(abstract):
        for match in _URL.finditer(abstract, start, end):
            url = _strip_trailing(match.group())
            if match["full"] is not None:
                scheme, _, rest = url.partition("://")
                url = f"{scheme.lower()}://{rest}"
            else:
                host, slash, path = url.partition("/")
                url = f"https://{host.lower()}{slash}{path}"  # host names are case-insensitive
            found.setdefault(url)
    return tuple(found)


def _url_windows(abstract: str) -> list[tuple[int, int]]:
    """The space-delimited stretches of `abstract` that hold a '://' or a '.tld', where an address may be."""
    windows: list[tuple[int, int]] = []
    end = 0
    for hint in _URL_HINT.finditer(abstract):
        if hint.start() < end:
            continue
        start = abstract.rfind(" ", 0, hint.start()) + 1
        end = abstract.find(" ", hint.end())
        end = len(abstract) if end < 0 else end
        windows.append((start, end))
    return windows


def _strip_trailing(url: str) -> str:
    """Drop sentence punctuation after a URL, keeping a ')' that closes a '(' inside it."""
    while url and url[-1] in _URL_TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url
