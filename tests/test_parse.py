"""kg.parse: the seeds, every accepted variant of the format, and every refusal with its exact message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from kg.errors import DocumentTooLarge, InputError, ParseError
from kg.model import AgentKind, Paper, Profile
from kg.parse import parse_file, parse_profile

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
IQBAL = ROOT / "seeds" / "000_88a5c554b0bac8dd.txt"
MORDATCH = ROOT / "seeds" / "004_7f9c7e5bf4acffa9.txt"
BAD = sorted((DATA / "bad").glob("*.txt"))

HEAD = "Ada Lovelace\n\nLG\nh-index12\n3papers\n1,234citations\nNovelty50%\nAI Score40\n\n3 Papers\n\n"
ENTRY = (
    "LGMay 27, 2022Code\nAnalytical Engines Revisited\n\nAda Lovelace, Charles Babbage\n\n"
    "We revisit the engine. Code at https://example.org/engine.\n"
)


def _names(paper: Paper) -> list[str]:
    return [slot.name for slot in paper.byline.slots]


def _by_title(profile: Profile, start: str) -> Paper:
    (paper,) = [p for p in profile.papers if p.title.startswith(start)]
    return paper


def _one_entry(byline: str = "Ada Lovelace, Charles Babbage", abstract: str = "An abstract.") -> Paper:
    text = f"{HEAD}LGMay 27, 2022\nA Title\n\n{byline}\n\n{abstract}\n"
    (paper,) = parse_profile(text, "t.txt").papers
    return paper


def _message(data: bytes | str, source: str = "t.txt") -> str:
    with pytest.raises(ParseError) as caught:
        parse_profile(data, source)
    return str(caught.value)


# --- the seeds -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iqbal() -> Profile:
    return parse_file(IQBAL)


@pytest.fixture(scope="module")
def mordatch() -> Profile:
    return parse_file(MORDATCH)


def test_iqbal_header(iqbal: Profile) -> None:
    assert iqbal.source == str(IQBAL)
    assert iqbal.author_name == "Shariq Iqbal"
    assert iqbal.primary_category == "LG"
    assert (iqbal.metrics.h_index, iqbal.metrics.paper_count, iqbal.metrics.citation_count) == (117, 15, 11122)
    assert (iqbal.metrics.novelty_percent, iqbal.metrics.ai_score) == (58, 43)
    assert iqbal.declared_paper_heading == 15
    assert len(iqbal.papers) == 15


def test_iqbal_first_paper_in_full(iqbal: Profile) -> None:
    alma = iqbal.papers[0]
    assert alma.title == "ALMA: Hierarchical Learning for Composite Multi-Agent Tasks"
    assert (alma.category_code, alma.published, alma.has_code_badge, alma.line) == (
        "LG", dt.date(2022, 5, 27), True, 12)
    person = AgentKind.PERSON
    assert [(s.ordinal, s.name, s.kind) for s in alma.byline.slots] == [
        (1, "Shariq Iqbal", person), (2, "Robby Costales", person), (3, "Fei Sha", person)]
    assert not alma.byline.truncated
    assert alma.byline.organizations == ()
    assert alma.abstract.startswith("Despite significant progress on multi-agent reinforcement learning (MARL)")
    assert alma.abstract.endswith("Our code is available at https://github.com/shariqiqbal2810/ALMA")
    assert alma.urls == ("https://github.com/shariqiqbal2810/ALMA",)


def test_iqbal_et_al_org_tags_and_teams(iqbal: Profile) -> None:
    score = _by_title(iqbal, "Training Language Models to Self-Correct")
    assert score.byline.truncated and score.byline.organizations == ("deepmind",)
    assert _names(score) == ["Aviral Kumar", "Vincent Zhuang", "Rishabh Agarwal"]
    assert score.published == dt.date(2024, 9, 19) and not score.has_code_badge
    gemini = _by_title(iqbal, "Gemini 1.5:")
    assert [(s.name, s.kind) for s in gemini.byline.slots] == [
        ("Gemini Team", AgentKind.TEAM), ("Petko Georgiev", AgentKind.PERSON), ("Ving Ian Lei", AgentKind.PERSON)]
    assert gemini.byline.organizations == ("deepmind", "mila")
    assert _by_title(iqbal, "Gemma 3").byline.slots[0].kind is AgentKind.TEAM
    assert _by_title(iqbal, "Gemini: A Family").byline.organizations == ()
    maml = _by_title(iqbal, "When MAML Can Adapt Fast")
    assert _names(maml)[0] == "Sébastien M. R. Arnold" and not maml.byline.truncated
    assert [p.category_code for p in iqbal.papers].count("CL") == 4
    assert iqbal.papers[-1].category_code == "NC" and iqbal.papers[-1].line == 110


def test_mordatch_counts_and_badges(mordatch: Profile) -> None:
    assert mordatch.author_name == "Igor Mordatch"
    assert len(mordatch.papers) == 50
    assert mordatch.declared_paper_heading == 67 and mordatch.metrics.paper_count == 67
    assert mordatch.metrics.citation_count == 35895
    with_code = [p.title.split(":")[0] for p in mordatch.papers if p.has_code_badge]
    assert with_code == ["VeLO", "Masked Trajectory Models for Prediction, Representation, and Control",
                         "The Neural MMO Platform for Massively Multiagent Research",
                         "Brax -- A Differentiable Physics Engine for Large Scale Rigid Body Simulation",
                         "Learning with Opponent-Learning Awareness"]
    assert sum(p.byline.truncated for p in mordatch.papers) == 46


def test_mordatch_categories_names_and_titles(mordatch: Profile) -> None:
    silicon = _by_title(mordatch, "Learning and Controlling Silicon Dopant")
    assert (silicon.category_code, silicon.published, silicon.line) == ("MES-HALL", dt.date(2023, 11, 21), 96)
    assert _by_title(mordatch, "Generative Hierarchical Materials Search").category_code == "MTRL-SCI"
    velo = mordatch.papers[0]
    assert _names(velo) == ["Luke Metz", "James Harrison", "C. Daniel Freeman"]
    assert velo.byline.organizations == ("anthropic", "deepmind") and velo.has_code_badge
    assert _names(_by_title(mordatch, "PaLM-E"))[2] == "Mehdi S. M. Sajjadi"
    assert _names(_by_title(mordatch, "Melting Pot 2.0"))[2] == "Edgar A. Duéñez-Guzmán"
    frontier = _by_title(mordatch, "Frontier Language Models")
    assert frontier.title.endswith('or "What do I need to say so you agree 2+2=5?')
    gamma = _by_title(mordatch, "Generative Temporal Difference Learning")
    assert "$γ$-model" in gamma.abstract and gamma.urls == ()
    assert not gamma.byline.truncated and _names(gamma) == ["Michael Janner", "Igor Mordatch", "Sergey Levine"]


def test_mordatch_urls_bare_and_trailing_punctuation(mordatch: Profile) -> None:
    urls = {p.title.split(":")[0]: p.urls for p in mordatch.papers if p.urls}
    assert urls["VeLO"] == ("https://velo-code.github.io",)
    assert urls["Learning with Opponent-Learning Awareness"] == ("https://github.com/alshedivat/lola",)
    assert urls["Unsupervised Learning of Compositional Energy Concepts"] == (
        "https://energy-based-model.github.io/comet/",)
    assert urls["Self-Improving Embodied Foundation Models"] == ("https://self-improving-efms.github.io",)
    assert urls["A Game Theoretic Framework for Model Based Reinforcement Learning"] == (
        "https://sites.google.com/view/mbrl-game",)
    assert len(urls) == 13


# --- accepted variants ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "same_lines"),
    [
        pytest.param(lambda b: b"\xef\xbb\xbf" + b, True, id="utf8-bom"),
        pytest.param(lambda b: b.replace(b"\n", b"\r\n"), True, id="crlf"),
        pytest.param(lambda b: b.replace(b"\n", b"\r"), True, id="lone-cr"),
        pytest.param(lambda b: b + b"\n", True, id="final-newline"),
        pytest.param(lambda b: b + b"\n\n\n", True, id="trailing-blank-lines"),
        pytest.param(lambda b: b.replace(b"\n", b"  \t\n"), True, id="trailing-spaces"),
        pytest.param(lambda b: b.replace(b"\n\n", b"\n\n\n\n"), False, id="several-blank-lines"),
        pytest.param(lambda b: b"\n\n" + b, False, id="leading-blank-lines"),
    ],
)
def test_layout_variants_give_the_same_profile(
    iqbal: Profile, variant: Callable[[bytes], bytes], same_lines: bool
) -> None:
    profile = parse_profile(variant(IQBAL.read_bytes()), str(IQBAL))
    assert (profile.author_name, profile.metrics, profile.declared_paper_heading) == (
        iqbal.author_name, iqbal.metrics, iqbal.declared_paper_heading)
    assert [(p.title, p.byline, p.abstract, p.urls, p.published) for p in profile.papers] == [
        (p.title, p.byline, p.abstract, p.urls, p.published) for p in iqbal.papers]
    assert (profile == iqbal) is same_lines


def test_text_bytearray_and_memoryview_inputs(iqbal: Profile) -> None:
    raw = IQBAL.read_bytes()
    for data in (raw.decode("utf-8"), "\ufeff" + raw.decode("utf-8"), bytearray(raw), memoryview(raw)):
        assert parse_profile(data, str(IQBAL)) == iqbal  # type: ignore[arg-type]


def test_zero_papers() -> None:
    profile = parse_profile(HEAD.replace("3 Papers", "0 Papers"), "z.txt")
    assert profile.papers == () and profile.declared_paper_heading == 0 and profile.metrics.citation_count == 1234


def test_edge_case_document() -> None:
    profile = parse_file(DATA / "parse_edge_cases.txt")
    assert profile.author_name == "José Ñúñez-O'Brien" and profile.primary_category == "Q-BIO-NC"
    assert (profile.metrics.h_index, profile.metrics.ai_score, profile.declared_paper_heading) == (1117, 100, 1)
    odd, no_abstract, last = profile.papers
    assert (odd.category_code, odd.published, odd.has_code_badge) == ("XYZ9", dt.date(2021, 9, 3), True)
    assert odd.title == '"Quoted" title · with a middle dot, et al., and 2+2=5?'
    assert [(s.name, s.kind) for s in odd.byline.slots] == [
        ("John Smith, Jr.", AgentKind.PERSON), ("张伟", AgentKind.PERSON), ("Mary O'Brien", AgentKind.PERSON),
        ("Gemma Team", AgentKind.TEAM), ("Hugh Grant, III", AgentKind.PERSON)]
    assert odd.byline.truncated and odd.byline.organizations == ("deepmind", "mila")
    assert odd.urls == ("https://en.wikipedia.org/wiki/Gamma_(model)", "https://velo-code.github.io/x",
                        "https://x.org/a")
    assert (no_abstract.category_code, no_abstract.published, no_abstract.abstract) == (
        "MES-HALL", dt.date(2024, 2, 29), "")
    assert _names(no_abstract) == ["Ana Gal·la", "Renée Dupont"]
    assert (last.title, last.published, last.has_code_badge, last.line) == (
        "LGMay 27, 2022", dt.date(1999, 12, 31), True, 27)
    assert last.abstract == "Last abstract, with trailing spaces and no final newline."


@pytest.mark.parametrize(
    ("printed", "date"),
    [("Jan 1, 2020", dt.date(2020, 1, 1)), ("Sept 9, 2021", dt.date(2021, 9, 9)),
     ("Sep 9, 2021", dt.date(2021, 9, 9)), ("September 9, 2021", dt.date(2021, 9, 9)),
     ("June 30, 2019", dt.date(2019, 6, 30)), ("Dec. 3, 2018", dt.date(2018, 12, 3))],
)
def test_month_spellings(printed: str, date: dt.date) -> None:
    (paper,) = parse_profile(f"{HEAD}QUANT-PH{printed}Code\nT\n\nA B\n\nX\n", "m.txt").papers
    assert (paper.category_code, paper.published, paper.has_code_badge) == ("QUANT-PH", date, True)


def test_entry_without_abstract_at_the_end_of_the_document() -> None:
    (paper,) = parse_profile(f"{HEAD}LGMay 27, 2022\nT\n\nA B et al.\n", "a.txt").papers
    assert paper.abstract == "" and paper.urls == () and paper.byline.truncated


@pytest.mark.parametrize(
    ("byline", "names", "truncated", "orgs"),
    [
        ("A. Smith", ["A. Smith"], False, ()),
        ("John Smith, Jr., Jane Doe Sr.", ["John Smith, Jr.", "Jane Doe Sr."], False, ()),
        ("John Smith, Sr, Ann Lee, II et al.", ["John Smith, Sr", "Ann Lee, II"], True, ()),
        ("Seán Ó Briain, Ji-woo Kim, Ολυμπία Παπαδοπούλου", ["Seán Ó Briain", "Ji-woo Kim", "Ολυμπία Παπαδοπούλου"],
         False, ()),
        ("Gemini Team · deepmind", ["Gemini Team"], False, ("deepmind",)),
        ("A B,C D", ["A B", "C D"], False, ()),
        ("A B et al", ["A B"], True, ()),
        ("Jean et alain, Ruet alba", ["Jean et alain", "Ruet alba"], False, ()),
        ("A B, et al. · org-one, org two", ["A B"], True, ("org-one", "org two")),
    ],
)
def test_bylines(byline: str, names: list[str], truncated: bool, orgs: tuple[str, ...]) -> None:
    paper = _one_entry(byline=byline)
    assert _names(paper) == names
    assert [s.ordinal for s in paper.byline.slots] == list(range(1, len(names) + 1))
    assert (paper.byline.truncated, paper.byline.organizations) == (truncated, orgs)


@pytest.mark.parametrize(
    ("abstract", "urls"),
    [
        ("See https://a.org/x). And (https://b.io/y).", ("https://a.org/x", "https://b.io/y")),
        ("Wiki: https://en.wikipedia.org/wiki/Foo_(bar), done.", ("https://en.wikipedia.org/wiki/Foo_(bar)",)),
        ("Twice: https://a.org/x and https://a.org/x. Then a.org/x too.", ("https://a.org/x",)),
        ("Bare www.Example.COM/Path, then HTTP://Q.org/A!", ("https://www.example.com/Path", "http://Q.org/A")),
        ("Port localhost.dev:8080/x; quoted 'https://q.ai/z'.", ("https://localhost.dev:8080/x", "https://q.ai/z")),
        ("No addresses: e.g. i.e. Node.js, Gemini-1.5-Pro, $γ$-model, v1.2, me@lab.org, 2.5.", ()),
        ("A scheme alone: https:// and https://. or https://@x are not addresses.", ()),
        ("", ()),
    ],
)
def test_urls_in_abstracts(abstract: str, urls: tuple[str, ...]) -> None:
    assert _one_entry(abstract=abstract).urls == urls


# --- files -----------------------------------------------------------------------------------------------------


def test_parse_file_size_limit(tmp_path: Path) -> None:
    size = IQBAL.stat().st_size
    assert len(parse_file(IQBAL, max_bytes=size).papers) == 15
    with pytest.raises(DocumentTooLarge) as caught:
        parse_file(IQBAL, max_bytes=size - 1)
    assert str(caught.value) == f"{IQBAL}: expected a document of at most {size - 1} bytes, got more"


def test_parse_file_unreadable(tmp_path: Path) -> None:
    missing = tmp_path / "missing.txt"
    with pytest.raises(InputError) as caught:
        parse_file(missing)
    assert str(caught.value) == f"{missing}: expected a readable profile document, got No such file or directory"
    assert not isinstance(caught.value, ParseError)
    with pytest.raises(InputError, match=r"expected a readable profile document, got Is a directory"):
        parse_file(tmp_path)


def test_parse_file_names_the_path_in_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.txt"
    bad.write_text(HEAD + ENTRY.replace("May 27, 2022", "Feb 30, 2023"), encoding="utf-8")
    with pytest.raises(ParseError) as caught:
        parse_file(bad)
    assert str(caught.value) == f"{bad}:12: expected a date like 'May 27, 2022', got 'Feb 30, 2023'"
    assert (caught.value.source, caught.value.line, caught.value.got) == (str(bad), 12, "Feb 30, 2023")


# --- refusals ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_corpus_gives_the_exact_message(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n")
    with pytest.raises(ParseError) as caught:
        parse_profile(path.read_bytes(), path.name)
    assert str(caught.value) == expected
    assert str(caught.value).startswith(f"{path.name}:{caught.value.line}: expected ")


def test_bad_corpus_is_complete() -> None:
    assert len(BAD) >= 30
    assert sorted(p.stem for p in (DATA / "bad").glob("*.expected")) == [p.stem for p in BAD]


def test_seed_in_other_encodings_is_refused() -> None:
    text = MORDATCH.read_text(encoding="utf-8")
    assert _message(text.encode("latin-1", errors="replace"), "m.txt") == (
        "m.txt:15: expected UTF-8 text, not byte 0xb7 at offset 218")
    assert _message(text.encode("utf-16"), "m.txt") == (
        "m.txt:1: expected UTF-8 text, not UTF-16 (byte-order mark at offset 0)")
    assert _message(text.encode("utf-16-be"), "m.txt") == (
        "m.txt:1: expected text, not binary data (NUL byte at offset 0)")
    assert _message(IQBAL.read_text(encoding="utf-8").encode("cp1252"), "i.txt") == (
        "i.txt:22: expected UTF-8 text, not byte 0xb7 at offset 1994")


def test_refusals_of_text_input() -> None:
    assert _message(HEAD.replace("Ada", "A\x00da")) == (
        "t.txt:1: expected text, not binary data (NUL character at offset 1)")
    assert _message(HEAD + ENTRY.replace("Babbage", "Bab\ud800bage")) == (
        "t.txt:15: expected text, not the character U+D800 (column 26)")
    assert _message(HEAD.replace("\n", "\r\n") + "\x0c") == (
        "t.txt:12: expected text, not the control character U+000C (column 1)")


def test_lone_cr_and_crlf_count_as_one_line_end_in_messages() -> None:
    bad = (HEAD + ENTRY.replace("May 27", "May 32")).encode("utf-8")
    expected = "t.txt:12: expected a date like 'May 27, 2022', got 'May 32, 2022'"
    assert _message(bad) == expected
    assert _message(bad.replace(b"\n", b"\r\n")) == expected
    assert _message(bad.replace(b"\n", b"\r")) == expected
    assert _message(b"Ada\r\n\r\n\xff") == "t.txt:3: expected UTF-8 text, not byte 0xff at offset 7"
    assert _message(b"Ada\r\r\x00") == "t.txt:3: expected text, not binary data (NUL byte at offset 5)"


def test_refused_bylines() -> None:
    for byline, slot in (("A B, ", 2), (" , A B", 1), ("A B, 1234", 2), ("A et al., B C", 1), ("III", 1)):
        text = f"{HEAD}LGMay 27, 2022\nT\n\n{byline}\n\nX\n"
        assert _message(text) == f"t.txt:15: expected a name in slot {slot} of the byline, got {byline.strip()!r}"
