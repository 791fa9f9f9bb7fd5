"""Property tests of kg.parse: damaged seeds give a Profile or a ParseError, never another exception;
generated well-formed documents parse back to what was written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.errors import ParseError
from kg.model import AgentKind, Profile
from kg.parse import parse_profile

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))
SEED_BYTES = [path.read_bytes() for path in SEEDS]
PARSED = [parse_profile(data, "seed.txt") for data in SEED_BYTES]

BOUNDED = settings(max_examples=200, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

seed_index = st.integers(min_value=0, max_value=len(SEEDS) - 1)


def _outcome(data: bytes | str) -> Profile | ParseError:
    """Parse `data`; any exception but ParseError fails the test. A ParseError must point inside the document."""
    try:
        return parse_profile(data, "doc.txt")
    except ParseError as error:
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        assert 1 <= error.line <= raw.count(b"\n") + raw.count(b"\r") + 1
        assert str(error).startswith(f"doc.txt:{error.line}: expected ")
        return error


def _lines(index: int) -> list[bytes]:
    return SEED_BYTES[index].split(b"\n")


@BOUNDED
@given(seed_index, st.data())
def test_truncation_anywhere_keeps_the_complete_entries(index: int, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(SEED_BYTES[index])))
    result = _outcome(SEED_BYTES[index][:cut])
    if isinstance(result, Profile):
        whole = PARSED[index]
        assert result.metrics == whole.metrics and result.author_name == whole.author_name
        kept = len(result.papers)
        if kept:
            assert result.papers[:-1] == whole.papers[: kept - 1]
            last, original = result.papers[-1], whole.papers[kept - 1]
            assert (last.title, last.published, last.line) == (original.title, original.published, original.line)
            assert original.abstract.startswith(last.abstract)


@BOUNDED
@given(seed_index, st.data())
def test_swapped_lines(index: int, data: st.DataObject) -> None:
    lines = _lines(index)
    first = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    second = data.draw(st.integers(min_value=0, max_value=len(lines) - 1))
    lines[first], lines[second] = lines[second], lines[first]
    _outcome(b"\n".join(lines))


@BOUNDED
@given(seed_index, st.data(), st.binary(min_size=1, max_size=8))
def test_random_bytes_inserted(index: int, data: st.DataObject, noise: bytes) -> None:
    raw = SEED_BYTES[index]
    at = data.draw(st.integers(min_value=0, max_value=len(raw)))
    _outcome(raw[:at] + noise + raw[at:])


@BOUNDED
@given(seed_index, st.data(), st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=4))
def test_deleted_lines(index: int, data: st.DataObject, victims: list[int]) -> None:
    lines = _lines(index)
    for victim in victims:
        if lines:
            del lines[victim % len(lines)]
    as_text = data.draw(st.booleans())
    joined = b"\n".join(lines)
    _outcome(joined.decode("utf-8") if as_text else joined)


@BOUNDED
@given(seed_index, st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"]),
       st.integers(min_value=0, max_value=200_000))
def test_other_encodings_are_refused(index: int, encoding: str, cut: int) -> None:
    encoded = SEED_BYTES[index].decode("utf-8").encode(encoding, errors="replace")
    cut = max(cut, len(encoded) // 2)  # keep the non-ASCII characters both seeds hold in their first half
    assert isinstance(_outcome(encoded[:cut]), ParseError)


@BOUNDED
@given(seed_index, st.data())
def test_duplicated_entry_is_parsed_twice(index: int, data: st.DataObject) -> None:
    whole = PARSED[index]
    which = data.draw(st.integers(min_value=0, max_value=len(whole.papers) - 1))
    lines = _lines(index)
    start = whole.papers[which].line - 1
    end = whole.papers[which + 1].line - 1 if which + 1 < len(whole.papers) else len(lines)
    block = lines[start:end] + ([b""] if end == len(lines) else [])
    result = _outcome(b"\n".join(lines[:end] + ([b""] if end == len(lines) else []) + block + lines[end:]))
    assert isinstance(result, Profile)
    assert len(result.papers) == len(whole.papers) + 1
    first, twin = result.papers[which], result.papers[which + 1]
    assert (first.title, first.byline, first.abstract, first.urls, first.published) == (
        twin.title, twin.byline, twin.abstract, twin.urls, twin.published)
    assert twin.line == first.line + len(block)


# --- well-formed documents written from generated records ------------------------------------------------------

_TEXT = st.characters(exclude_categories=("Cc", "Cs", "Cn", "Co", "Zl", "Zp"))
_plain_name = st.from_regex(r"[A-Z][a-z]{1,6}( [A-Z]\.)?( (O'|de )?[A-ZÉÖ][a-zéöñ]{1,8}){1,2}", fullmatch=True)
_person = st.one_of(
    _plain_name,
    st.sampled_from(["张伟", "Ολυμπία Παπαδοπούλου", "Zoë Ångström", "John Smith, Jr.", "Hugh Grant, III"]),
)
_slot = st.one_of(st.tuples(_person, st.just(False)), _plain_name.map(lambda name: (name + " Team", True)))
_org = st.from_regex(r"[a-z][a-z-]{0,10}[a-z]", fullmatch=True)
_code = st.from_regex(r"[A-Z][A-Z0-9]{0,4}(-[A-Z0-9]{1,5})?", fullmatch=True)
_line = st.text(alphabet=_TEXT, max_size=120).map(str.strip)
_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December"]


Entry = tuple[str, dt.date, bool, str, list[tuple[str, bool]], bool, list[str], str]


@st.composite
def _entries(draw: st.DrawFn) -> Entry:
    return (draw(_code), draw(st.dates(dt.date(1000, 1, 1), dt.date(2999, 12, 31))), draw(st.booleans()),
            draw(_line.filter(bool)), draw(st.lists(_slot, min_size=1, max_size=5)), draw(st.booleans()),
            draw(st.lists(_org, max_size=3)), draw(_line))


def _date(draw: st.DrawFn, date: dt.date) -> str:
    full = _MONTH_NAMES[date.month - 1]
    month = draw(st.sampled_from([full, full[:3]] + (["Sept"] if date.month == 9 else [])))
    return f"{month} {date.day}, {date.year}"


def _number(draw: st.DrawFn, value: int) -> str:
    return f"{value:,}" if draw(st.booleans()) else str(value)


@BOUNDED
@given(st.data(), _person, _code, st.lists(st.integers(0, 10**9), min_size=5, max_size=5),
       st.integers(0, 100), st.lists(_entries(), max_size=4))
def test_generated_documents_parse_back(data: st.DataObject, name: str, category: str, numbers: list[int],
                                        novelty: int, entries: list[Entry]) -> None:
    draw = data.draw
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    h_index, papers, citations, ai_score, heading = numbers
    lines = [name, "", category, f"h-index{_number(draw, h_index)}", f"{_number(draw, papers)}papers",
             f"{_number(draw, citations)}citations", f"Novelty{novelty}%", f"AI Score{ai_score}", "",
             f"{heading} Papers"]
    for code, date, badge, title, slots, et_al, orgs, abstract in entries:
        byline = ", ".join(n for n, _ in slots) + (" et al." if et_al else "")
        byline += " · " + ", ".join(orgs) if orgs else ""
        lines += [""] * draw(st.integers(1, 3))
        lines += [f"{code}{_date(draw, date)}{'Code' if badge else ''}", title, "", byline, "", abstract]
    bom = "\ufeff" if draw(st.booleans()) else ""
    document = bom + newline.join(lines) + (newline if draw(st.booleans()) else "")
    profile = parse_profile(document.encode("utf-8") if draw(st.booleans()) else document, "gen.txt")
    assert (profile.author_name, profile.primary_category, profile.declared_paper_heading) == (name, category, heading)
    metrics = profile.metrics
    assert (metrics.h_index, metrics.paper_count, metrics.citation_count, metrics.novelty_percent,
            metrics.ai_score) == (h_index, papers, citations, novelty, ai_score)
    assert len(profile.papers) == len(entries)
    for paper, (code, date, badge, title, slots, et_al, orgs, abstract) in zip(profile.papers, entries, strict=True):
        assert (paper.category_code, paper.published, paper.has_code_badge, paper.title) == (code, date, badge, title)
        assert [(s.name, s.kind is AgentKind.TEAM) for s in paper.byline.slots] == slots
        assert (paper.byline.truncated, list(paper.byline.organizations), paper.abstract) == (et_al, orgs, abstract)
        assert all(url.startswith(("http://", "https://")) for url in paper.urls)
