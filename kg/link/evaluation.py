"""Evaluating links: read known matches from a file and measure precision and recall per kind."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kg.errors import InputError
from kg.link.targets import Link


def read_truth(path: Path) -> set[tuple[str, str, str]]:
    """Known matches: lines `paper|person <TAB> our IRI <TAB> their IRI`; `#` starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: expected a readable UTF-8 file ({error})") from None
    truth = set()
    for number, line in enumerate(lines, 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 3 or fields[0] not in ("paper", "person"):
            raise InputError(f"{path}:{number}: expected 'paper|person <our IRI> <their IRI>', got {line!r}")
        truth.add((fields[0], fields[1], fields[2]))
    return truth


def evaluate(links: Iterable[Link], truth: set[tuple[str, str, str]]) -> dict[str, tuple[float, float]]:
    """Precision and recall of the links against the known matches, per kind (paper, person)."""
    found = {(link.kind, link.ours, link.theirs) for link in links}
    result = {}
    for kind in ("paper", "person"):
        mine, known = {x for x in found if x[0] == kind}, {x for x in truth if x[0] == kind}
        hits = len(mine & known)
        result[kind] = (hits / len(mine) if mine else 1.0, hits / len(known) if known else 1.0)
    return result
