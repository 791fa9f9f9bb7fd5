"""Typed records of one author profile, as the page prints it; knows nothing of RDF or storage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum


class AgentKind(Enum):
    """What a byline name stands for: a person, or a team writing as a group ("Gemini Team")."""

    PERSON = "person"
    TEAM = "team"


@dataclass(frozen=True, slots=True)
class BylineSlot:
    """One printed name in a byline: 1-based `ordinal`, the `name` exactly as printed, and its kind."""

    ordinal: int
    name: str
    kind: AgentKind


@dataclass(frozen=True, slots=True)
class Byline:
    """The byline of a paper as printed.

    `truncated` is True when the page cut it with `et al.`: the slots are then only the first authors and
    no author count may be derived from them. `organizations` are the `· org1, org2` tags, which belong to the
    paper, not to any named author.
    """

    slots: tuple[BylineSlot, ...]
    truncated: bool
    organizations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper entry of a profile.

    `urls` are the web addresses found in the abstract (in order, without duplicates); `line` is the 1-based
    line of the entry's category/date header in the source.
    """

    category_code: str
    published: dt.date
    has_code_badge: bool
    title: str
    byline: Byline
    abstract: str
    urls: tuple[str, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Metrics:
    """The profile's header figures; the page gives no date for them."""

    h_index: int
    paper_count: int
    citation_count: int
    novelty_percent: int
    ai_score: int


@dataclass(frozen=True, slots=True)
class Profile:
    """One author profile page: the owner's name, primary category, metrics and listed papers."""

    source: str
    author_name: str
    primary_category: str
    metrics: Metrics
    declared_paper_heading: int
    papers: tuple[Paper, ...]
