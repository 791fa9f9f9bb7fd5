"""Measures the statistics of profile documents (the seeds, or generated ones) that the generator reproduces.

Reads documents with `kg.parse` plus a glance at the raw text (thousands separators); knows nothing of RDF.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kg.model import AgentKind, Paper, Profile
from kg.parse import parse_profile

_INITIAL = re.compile(r"(?:^|\s)[A-Z]\.(?:\s|$)")
_CITATIONS_LINE = re.compile(r"^([\d,]+)\s*citations?$", re.MULTILINE)
_URL_KINDS = (("github.com", "github"), (".github.io", "github.io"))


@dataclass
class SeedStats:
    """What the seeds look like, in the units the generator samples from (lists of observed values, counters)."""

    profiles: int = 0
    listed_papers: list[int] = field(default_factory=list)
    declared_papers: list[int] = field(default_factory=list)
    printed_names: dict[str, Counter[int]] = field(
        default_factory=lambda: {"truncated": Counter(), "full": Counter()})
    papers: int = 0
    truncated: int = 0
    org_tagged: dict[str, int] = field(default_factory=lambda: {"truncated": 0, "full": 0})
    org_counts: Counter[int] = field(default_factory=Counter)
    org_tags: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    primary_categories: Counter[str] = field(default_factory=Counter)
    code_badges: int = 0
    badges_with_urls: int = 0
    abstract_lengths: list[int] = field(default_factory=list)
    with_urls: int = 0
    url_kinds: Counter[str] = field(default_factory=Counter)
    bare_urls: int = 0
    years: Counter[int] = field(default_factory=Counter)
    slots: int = 0
    team_slots: int = 0
    first_slot_teams: int = 0
    owner_printed: dict[str, int] = field(default_factory=lambda: {"truncated": 0, "full": 0})
    person_names: set[str] = field(default_factory=set)
    initial_names: int = 0
    citations_over_999: int = 0
    citations_with_separator: int = 0
    h_index: list[int] = field(default_factory=list)
    citations: list[int] = field(default_factory=list)
    novelty: list[int] = field(default_factory=list)
    ai_score: list[int] = field(default_factory=list)
    shared_entries: int = 0
    title_words: list[int] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    abstracts: list[str] = field(default_factory=list)
    url_lead_ins: list[str] = field(default_factory=list)

    # ---- rates the generator and the tests use
    @property
    def et_al_rate(self) -> float:
        return _ratio(self.truncated, self.papers)

    def org_rate(self, truncated: bool) -> float:
        key = "truncated" if truncated else "full"
        total = self.truncated if truncated else self.papers - self.truncated
        return _ratio(self.org_tagged[key], total)

    @property
    def code_badge_rate(self) -> float:
        return _ratio(self.code_badges, self.papers)

    @property
    def url_rate(self) -> float:
        return _ratio(self.with_urls, self.papers)

    def url_rate_given(self, badge: bool) -> float:
        """Papers with a URL in the abstract among those with (or without) a Code badge."""
        if badge:
            return _ratio(self.badges_with_urls, self.code_badges)
        return _ratio(self.with_urls - self.badges_with_urls, self.papers - self.code_badges)

    @property
    def bare_url_rate(self) -> float:
        return _ratio(self.bare_urls, sum(self.url_kinds.values()))

    @property
    def team_byline_rate(self) -> float:
        return _ratio(self.first_slot_teams, self.papers)

    def owner_printed_rate(self, truncated: bool) -> float:
        """Bylines that print the profile's owner, among truncated (or complete) ones."""
        key = "truncated" if truncated else "full"
        return _ratio(self.owner_printed[key], self.truncated if truncated else self.papers - self.truncated)

    @property
    def initial_rate(self) -> float:
        return _ratio(self.initial_names, len(self.person_names))

    @property
    def separator_rate(self) -> float:
        return _ratio(self.citations_with_separator, self.citations_over_999)

    @property
    def shared_entry_rate(self) -> float:
        """Entries whose (title, date, byline) also appear in another document: a lower bound on sharing."""
        return _ratio(self.shared_entries, self.papers)

    @property
    def mean_listed(self) -> float:
        return _ratio(sum(self.listed_papers), len(self.listed_papers))

    def summary(self) -> dict[str, Any]:
        """The figures worth printing or comparing, as plain JSON values."""
        return {
            "profiles": self.profiles,
            "papers": self.papers,
            "mean_listed_papers": round(self.mean_listed, 2),
            "max_listed_papers": max(self.listed_papers, default=0),
            "printed_names": {k: dict(sorted(v.items())) for k, v in self.printed_names.items()},
            "et_al_rate": round(self.et_al_rate, 3),
            "org_rate_truncated": round(self.org_rate(True), 3),
            "org_rate_full": round(self.org_rate(False), 3),
            "org_counts": dict(sorted(self.org_counts.items())),
            "categories": dict(self.categories.most_common()),
            "code_badge_rate": round(self.code_badge_rate, 3),
            "abstract_length": _spread(self.abstract_lengths),
            "url_rate": round(self.url_rate, 3),
            "url_rate_with_badge": round(self.url_rate_given(True), 3),
            "url_rate_without_badge": round(self.url_rate_given(False), 3),
            "url_kinds": dict(self.url_kinds.most_common()),
            "team_byline_rate": round(self.team_byline_rate, 3),
            "owner_printed_rate_truncated": round(self.owner_printed_rate(True), 3),
            "owner_printed_rate_full": round(self.owner_printed_rate(False), 3),
            "initial_rate": round(self.initial_rate, 3),
            "distinct_person_names": len(self.person_names),
            "citation_separator_rate": round(self.separator_rate, 3),
            "shared_entry_rate": round(self.shared_entry_rate, 3),
            "years": dict(sorted(self.years.items())),
        }


def measure(paths: Iterable[Path]) -> SeedStats:
    """The statistics of the profile documents at `paths` (files; see `seed_files` for the bundled seeds)."""
    stats = SeedStats()
    entries: Counter[tuple[str, str, str]] = Counter()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        profile = parse_profile(text, str(path))
        _add_profile(stats, profile, text)
        entries.update({_entry_key(paper) for paper in profile.papers})
    stats.shared_entries = sum(count for count in entries.values() if count > 1)
    return stats


def seed_files(folder: Path | None = None) -> list[Path]:
    """The seed documents: `folder` or the project's `seeds/`."""
    root = folder or Path(__file__).resolve().parent.parent / "seeds"
    return sorted(root.glob("*.txt"))


def to_json(stats: SeedStats) -> dict[str, Any]:
    """Every field as JSON values (counters as dicts, sets as sorted lists)."""
    raw = asdict(stats)
    raw["person_names"] = sorted(stats.person_names)
    return raw


def _add_profile(stats: SeedStats, profile: Profile, text: str) -> None:
    stats.profiles += 1
    stats.listed_papers.append(len(profile.papers))
    stats.declared_papers.append(profile.metrics.paper_count)
    stats.primary_categories[profile.primary_category] += 1
    metrics = profile.metrics
    stats.h_index.append(metrics.h_index)
    stats.citations.append(metrics.citation_count)
    stats.novelty.append(metrics.novelty_percent)
    stats.ai_score.append(metrics.ai_score)
    for printed in _CITATIONS_LINE.findall(text):
        if int(printed.replace(",", "")) > 999:
            stats.citations_over_999 += 1
            stats.citations_with_separator += "," in printed
    for paper in profile.papers:
        _add_paper(stats, paper, profile.author_name)


def _add_paper(stats: SeedStats, paper: Paper, owner: str) -> None:
    stats.papers += 1
    byline = paper.byline
    key = "truncated" if byline.truncated else "full"
    stats.truncated += byline.truncated
    stats.printed_names[key][len(byline.slots)] += 1
    if byline.organizations:
        stats.org_tagged[key] += 1
        stats.org_counts[len(byline.organizations)] += 1
        stats.org_tags.update(byline.organizations)
    stats.categories[paper.category_code] += 1
    stats.code_badges += paper.has_code_badge
    stats.abstract_lengths.append(len(paper.abstract))
    stats.abstracts.append(paper.abstract)
    stats.titles.append(paper.title)
    stats.title_words.append(len(paper.title.split()))
    stats.years[paper.published.year] += 1
    _add_urls(stats, paper)
    _add_slots(stats, paper, owner)


def _add_urls(stats: SeedStats, paper: Paper) -> None:
    if not paper.urls:
        return
    stats.with_urls += 1
    stats.badges_with_urls += paper.has_code_badge
    for url in paper.urls:
        host = url.split("://", 1)[-1].split("/", 1)[0]
        kind = next((name for suffix, name in _URL_KINDS if host.endswith(suffix)), "other")
        stats.url_kinds[kind] += 1
        stats.bare_urls += url.split("://", 1)[-1] in paper.abstract and url not in paper.abstract
    first = paper.urls[0].split("://", 1)[-1]
    cut = paper.abstract.find(first)
    sentence_start = paper.abstract.rfind(". ", 0, cut) + 2 if cut > 0 else -1
    if sentence_start > 1:
        lead = paper.abstract[sentence_start:cut].removesuffix("https://").removesuffix("http://").strip()
        if lead:
            stats.url_lead_ins.append(lead)


def _add_slots(stats: SeedStats, paper: Paper, owner: str) -> None:
    slots = paper.byline.slots
    stats.slots += len(slots)
    stats.team_slots += sum(1 for s in slots if s.kind is AgentKind.TEAM)
    stats.first_slot_teams += bool(slots) and slots[0].kind is AgentKind.TEAM
    stats.owner_printed["truncated" if paper.byline.truncated else "full"] += any(s.name == owner for s in slots)
    for slot in slots:
        if slot.kind is AgentKind.PERSON and slot.name not in stats.person_names:
            stats.person_names.add(slot.name)
            stats.initial_names += _INITIAL.search(slot.name) is not None


def _entry_key(paper: Paper) -> tuple[str, str, str]:
    names = ", ".join(s.name for s in paper.byline.slots)
    return paper.title, paper.published.isoformat(), names


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _spread(values: Sequence[int]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {"min": ordered[0], "median": ordered[len(ordered) // 2], "max": ordered[-1],
            "mean": round(sum(ordered) / len(ordered), 1)}
