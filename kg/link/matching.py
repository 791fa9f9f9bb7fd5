"""Matching: score names and papers of two graphs and choose one-to-one paper links and best person links."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict

from kg.link.targets import Link, Work

_DIGRAPHS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def name_keys(name: str) -> list[tuple[str, ...]]:
    """Tokens of a name, case- and accent-folded, in two spellings (ö as o, and as oe); dblp's homonym numbers
    ("Shuang Li 0006") and punctuation dropped."""
    text = re.sub(r"\s+\d{4}$", "", name.strip())
    spelled = text.translate(_DIGRAPHS)
    keys = []
    for variant in (text, spelled):
        plain = "".join(c for c in unicodedata.normalize("NFKD", variant) if not unicodedata.combining(c))
        keys.append(tuple(re.findall(r"[^\W\d_]+", plain.casefold())))
    return keys


def name_score(a: str, b: str) -> float:
    """1.0 for the same name; 0.9 for a variant (same family name, given names compatible: one list is a
    subsequence of the other, an initial standing for a name); else 0."""
    keys_a, keys_b = name_keys(a), name_keys(b)
    if any(x == y and x for x in keys_a for y in keys_b):
        return 1.0
    return 0.9 if any(_variant(x, y) for x in keys_a for y in keys_b) else 0.0


def _variant(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    if len(a) < 2 or len(b) < 2 or a[-1] != b[-1]:
        return False
    short, long = sorted((a[:-1], b[:-1]), key=len)
    remaining = iter(long)
    return all(any(_compatible(token, other) for other in remaining) for token in short)


def _compatible(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) == 1 and a[0] == b[0])


def paper_score(ours: Work, theirs: Work) -> tuple[float, str]:
    """1.0 for a shared identifier; else title similarity (≥ 0.95 on normalised titles) if the years agree;
    a year apart (preprint and proceedings) 0.92 × similarity with a shared author name, 0.75 × without."""
    if ours.ids & theirs.ids:
        return 1.0, "shared identifier"
    similarity = 1.0 if ours.key == theirs.key else difflib.SequenceMatcher(None, ours.key, theirs.key).ratio()
    if similarity < 0.95 or ours.year is None or theirs.year is None:
        return 0.0, ""
    gap = abs(ours.year - theirs.year)
    if gap == 0:
        return similarity, "normalised title + year"
    if gap == 1:
        shared = any(name_score(a, b) for a in ours.authors.values() for b in theirs.authors.values())
        return similarity * (0.92 if shared else 0.75), "normalised title + adjacent year" + (
            " + shared author" if shared else "")
    return 0.0, ""


def match_papers(ours: list[Work], theirs: list[Work], min_score: float) -> tuple[list[Link], list[Link]]:
    """One-to-one links, best scores first; and the pairs scored above 0 but below `min_score`."""
    index = _Index(theirs)
    scored = []
    for work in ours:
        for other in index.candidates(work):
            score, method = paper_score(work, other)
            if score > 0:
                scored.append(Link("paper", work.iri, other.iri, round(score, 3), method))
    scored.sort(key=lambda link: (-link.score, link.ours, link.theirs))
    links: list[Link] = []
    used: set[str] = set()
    for link in scored:
        if link.score >= min_score and link.ours not in used and link.theirs not in used:
            links.append(link)
            used.update((link.ours, link.theirs))
    return links, [link for link in scored if link.score < min_score]


class _Index:
    """Blocks of candidate papers: the same normalised title, or the same first or last three words."""

    def __init__(self, works: list[Work]) -> None:
        self.blocks: dict[tuple[str, ...], list[Work]] = defaultdict(list)
        for work in works:
            for key in self._keys(work):
                self.blocks[key].append(work)
        self.by_id: dict[tuple[str, str], list[Work]] = defaultdict(list)
        for work in works:
            for identifier in work.ids:
                self.by_id[identifier].append(work)

    @staticmethod
    def _keys(work: Work) -> list[tuple[str, ...]]:
        words = tuple(work.key.split())
        return [("=", *words), ("<", *words[:3]), (">", *words[-3:])]

    def candidates(self, work: Work) -> list[Work]:
        found = {id(w): w for key in self._keys(work) for w in self.blocks.get(key, ())}
        found.update({id(w): w for identifier in work.ids for w in self.by_id.get(identifier, ())})
        return list(found.values())


def match_people(ours: list[Work], theirs: list[Work], papers: list[Link],
                 min_score: float) -> tuple[list[Link], list[Link]]:
    """Authors of linked papers with compatible names: 0.95 for the same name (1.0 with two shared papers or
    more), 0.9 for a variant (0.95 with two or more); each of our people gets their best match."""
    mine, other = {w.iri: w for w in ours}, {w.iri: w for w in theirs}
    shared: dict[tuple[str, str], list[float]] = defaultdict(list)
    for link in papers:
        for a, name_a in mine[link.ours].authors.items():
            for b, name_b in other[link.theirs].authors.items():
                if score := name_score(name_a, name_b):
                    shared[(a, b)].append(score)
    best: dict[str, Link] = {}
    for (a, b), scores in sorted(shared.items()):
        score = (0.95 if max(scores) == 1.0 else 0.9) + (0.05 if len(scores) > 1 else 0.0)
        method = f"name {'equal' if max(scores) == 1.0 else 'variant'} + {len(scores)} shared paper(s)"
        link = Link("person", a, b, score, method)
        if a not in best or (link.score, -len(link.theirs)) > (best[a].score, -len(best[a].theirs)):
            best[a] = link
    chosen = sorted(best.values(), key=lambda link: (link.ours, link.theirs))
    return [x for x in chosen if x.score >= min_score], [x for x in chosen if x.score < min_score]
