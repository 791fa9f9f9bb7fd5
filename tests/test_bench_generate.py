"""bench.generate: synthetic profiles parse with kg.parse, follow the seeds' statistics, share papers and
co-authors across profiles, and depend only on the seed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.generate import Options, ProfileGenerator, generate, zipf_rank
from bench.seedstats import SeedStats, measure, seed_files
from kg.model import AgentKind
from kg.parse import parse_file

PROFILES = 20


@pytest.fixture(scope="module")
def seeds() -> SeedStats:
    return measure(seed_files())


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, seeds: SeedStats) -> Path:
    out = tmp_path_factory.mktemp("profiles")
    generate(out, Options(PROFILES, seed=7), seeds)
    return out


@pytest.fixture(scope="module")
def generated(folder: Path) -> SeedStats:
    return measure(sorted(folder.glob("*.txt")))


def test_seeds_are_measured(seeds: SeedStats) -> None:
    assert seeds.profiles == 2
    assert seeds.listed_papers == [15, 50]
    assert seeds.papers == 65
    assert seeds.printed_names["truncated"] == Counter({3: 55})
    assert seeds.org_counts == Counter({1: 10, 2: 9})
    assert seeds.categories.most_common(1) == [("LG", 31)]
    assert seeds.separator_rate == 1.0
    assert 0 < seeds.shared_entry_rate < 0.1  # the two seeds list two papers in common


def test_every_file_parses_with_the_project_parser(folder: Path) -> None:
    files = sorted(folder.glob("*.txt"))
    assert [f.name for f in files] == [f"{i:06d}.txt" for i in range(PROFILES)]
    profiles = [parse_file(f) for f in files]
    assert all(p.papers for p in profiles)
    for profile in profiles:
        assert profile.metrics.paper_count == profile.declared_paper_heading
        assert len(profile.papers) == min(profile.declared_paper_heading, 50)
        dates = [p.published for p in profile.papers]
        assert dates == sorted(dates, reverse=True)


def test_the_text_layout_is_the_seeds_own(folder: Path) -> None:
    text = (folder / "000000.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[1] == "" and lines[8] == "" and lines[10] == ""
    assert lines[3].startswith("h-index") and lines[4].endswith("papers") and lines[5].endswith("citations")
    assert lines[6].startswith("Novelty") and lines[6].endswith("%") and lines[7].startswith("AI Score")
    assert lines[9].endswith(" Papers")
    assert not text.endswith("\n")  # as in the seeds


def test_statistics_follow_the_seeds(seeds: SeedStats, generated: SeedStats) -> None:
    assert generated.profiles == PROFILES
    assert set(generated.printed_names["truncated"]) <= set(seeds.printed_names["truncated"])
    assert set(generated.printed_names["full"]) <= set(seeds.printed_names["full"])
    assert abs(generated.et_al_rate - seeds.et_al_rate) < 0.1
    assert abs(generated.org_rate(True) - seeds.org_rate(True)) < 0.1
    assert generated.org_rate(False) == seeds.org_rate(False) == 0.0
    assert set(generated.org_counts) <= set(seeds.org_counts)
    assert set(generated.categories) <= set(seeds.categories)
    assert generated.categories.most_common(1)[0][0] == "LG"
    assert abs(generated.code_badge_rate - seeds.code_badge_rate) < 0.06
    assert abs(generated.url_rate - seeds.url_rate) < 0.1
    assert 0.8 < generated.mean_listed / seeds.mean_listed < 1.25
    mean_abstract = sum(generated.abstract_lengths) / len(generated.abstract_lengths)
    assert 0.85 < mean_abstract / (sum(seeds.abstract_lengths) / len(seeds.abstract_lengths)) < 1.2
    assert generated.separator_rate == 1.0
    assert generated.owner_printed_rate(False) == 1.0  # a complete byline always prints the profile's owner
    assert set(generated.years) <= set(seeds.years)


def test_papers_are_shared_with_identical_text(folder: Path, generated: SeedStats) -> None:
    assert generated.shared_entry_rate > 0.1
    seen: dict[tuple[str, int], set[tuple[str, str, bool]]] = {}
    for path in sorted(folder.glob("*.txt")):
        for paper in parse_file(path).papers:
            names = ", ".join(s.name for s in paper.byline.slots)
            seen.setdefault((paper.title, paper.published.year), set()).add(
                (paper.published.isoformat(), names, paper.byline.truncated))
    assert all(len(versions) == 1 for versions in seen.values())  # same title: same date and byline everywhere


def test_co_authors_are_shared_and_varied(folder: Path) -> None:
    appearances: Counter[str] = Counter()
    kinds: set[AgentKind] = set()
    for path in sorted(folder.glob("*.txt")):
        names = {s.name for p in parse_file(path).papers for s in p.byline.slots}
        appearances.update(names)
        kinds |= {s.kind for p in parse_file(path).papers for s in p.byline.slots}
    assert sum(1 for count in appearances.values() if count >= 3) >= 10  # co-authors recur across profiles
    assert AgentKind.TEAM in kinds and all(n.endswith(" Team") for n in appearances if n.split()[-1] == "Team")
    assert any(not n.isascii() and any(c.isalpha() and c.isascii() for c in n) for n in appearances)  # diacritics


def test_non_latin_names_are_generated() -> None:
    generator = ProfileGenerator(Options(50, seed=3, non_latin_rate=1.0))
    names = [generator.name(rank) for rank in range(500, 520)]
    assert all(not any("a" <= c.lower() <= "z" for c in name) for name in names)


def test_owners_are_unique() -> None:
    generator = ProfileGenerator(Options(400, seed=5))
    owners = [generator.name(i * generator.options.owner_stride) for i in range(400)]
    assert len(set(owners)) == 400


def test_the_seed_decides_everything(tmp_path: Path, seeds: SeedStats) -> None:
    first, again, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((first, 11), (again, 11), (other, 12)):
        generate(out, Options(5, seed=seed), seeds)
    texts = [[p.read_bytes() for p in sorted(d.glob("*.txt"))] for d in (first, again, other)]
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_zipf_ranks_favour_the_head() -> None:
    import random

    rng = random.Random(1)
    ranks = [zipf_rank(rng, 10_000, 20.0) for _ in range(20_000)]
    assert all(0 <= r < 10_000 for r in ranks)
    assert sum(r < 100 for r in ranks) > sum(r >= 9_000 for r in ranks) * 5
