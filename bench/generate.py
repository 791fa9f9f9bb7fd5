"""Synthetic author profiles in the exact text format of seeds/*.txt, with the seeds' measured statistics.

Seeded (`random.Random`) and streaming: a paper is a pure function of (seed, paper id, creator), so 100,000
profiles need only an array of creators in memory. Papers are shared across profiles with identical
title/date/byline, and co-authors come from a Zipf-like pool shared by all profiles.
"""

from __future__ import annotations

import calendar
import itertools
import json
import random
import re
import time
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.names import org_tag, person_name, team_name
from bench.seedstats import SeedStats, measure, seed_files

T = TypeVar("T")
MONTHS = tuple(calendar.month_abbr[1:])
_URLISH = re.compile(r"://|\.\w|www|@")  # tokens that could read as a web address: kept out of the text
_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "by", "can", "do", "for", "from", "how", "i", "in", "is", "it", "not", "of",
    "on", "or", "the", "through", "to", "via", "we", "what", "when", "with", "you", "agree", "say", "need"})
_CONNECTORS = ("for", "via", "with", "of", "in", "through", "from", "and", "as")
_SENTENCES = 3000


@dataclass(frozen=True)
class Options:
    """What to generate: how many profiles, the seed, and the knobs the seeds cannot measure."""

    profiles: int
    seed: int = 1
    shared_rate: float = 0.2  # share of entries that reuse another profile's paper with a cut byline
    non_latin_rate: float = 0.03  # share of person names in a non-Latin script (the seeds have none)
    name_pool_factor: int = 20  # distinct co-author names per profile
    zipf_offset: float = 20.0  # flattens the head of the Zipf-like choices (Zipf–Mandelbrot q)
    owner_stride: int = 5  # every n-th co-author rank is a profile owner (sets how often owners co-author)


class _Weighted:
    """Draws values with the frequencies of a Counter."""

    __slots__ = ("cum", "values")

    def __init__(self, counts: Counter[Any]) -> None:
        items = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        self.values = [value for value, _ in items]
        self.cum = list(itertools.accumulate(count for _, count in items))

    def draw(self, rng: random.Random) -> Any:
        return rng.choices(self.values, cum_weights=self.cum)[0]


def zipf_rank(rng: random.Random, size: int, offset: float) -> int:
    """A rank in [0, size) with P(r) ∝ 1/(r + offset): a few ranks are very frequent, most are rare."""
    rank = int(offset * ((size + offset) / offset) ** rng.random() - offset)
    return min(rank, size - 1)


class ProfileGenerator:
    """Generates profile texts one after the other; profile i's text depends on the seed and profiles < i."""

    def __init__(self, options: Options, stats: SeedStats | None = None) -> None:
        if options.profiles < 1:
            raise ValueError(f"profiles: expected a positive number, got {options.profiles}")
        self.options = options
        self.stats = stats or measure(seed_files())
        self._rng = random.Random(options.seed)
        self._setup_draws(self.stats)
        self._sentences = _sentence_pool(self.stats.abstracts, random.Random(options.seed ^ 0x5EED))
        self._title_words = _title_vocabulary(self.stats.titles)
        self._name_pool = max(200, options.name_pool_factor * options.profiles, options.owner_stride * options.profiles)
        self._owners = self._unique_owners(options.profiles)
        self._creators = array("I")  # paper id -> the index of the profile that first listed it
        self._truncated = array("I")  # ids of papers whose byline ends in `et al.` (anyone may be hidden there)
        self._coauthored: dict[int, array[int]] = {}  # profile index -> papers printing its owner, not yet listed

    def _setup_draws(self, stats: SeedStats) -> None:
        self._printed = {True: _Weighted(stats.printed_names["truncated"]),
                         False: _Weighted(stats.printed_names["full"] or stats.printed_names["truncated"])}
        self._org_counts = _Weighted(stats.org_counts or Counter({1: 1}))
        self._categories = _Weighted(stats.categories)
        self._years = _Weighted(stats.years)
        self._url_kinds = _Weighted(stats.url_kinds or Counter({"github": 1}))
        self._seed_orgs = tuple(tag for tag, _ in stats.org_tags.most_common())
        self._colon_rate = sum(":" in t for t in stats.titles) / max(1, len(stats.titles))
        self._lead_ins = stats.url_lead_ins or ["Code is available at"]

    def _unique_owners(self, count: int) -> list[str]:
        """Profile owners: every `owner_stride`-th co-author rank, made unique by drawing again if needed."""
        seen: set[str] = set()
        owners: list[str] = []
        stride = self.options.owner_stride
        for index in range(count):
            name = self._pool_name(index * stride)
            variant = 0
            while name in seen:
                variant += 1
                name = self._pool_name(index * stride + variant * self._name_pool * stride)
            seen.add(name)
            owners.append(name)
        return owners

    def _pool_name(self, rank: int) -> str:
        return person_name(self.options.seed, rank, self.options.non_latin_rate, self.stats.initial_rate)

    def name(self, rank: int) -> str:
        """The co-author of popularity `rank`; every `owner_stride`-th rank is a profile owner."""
        owner = self.owner_index(rank)
        return self._pool_name(rank) if owner is None else self._owners[owner]

    def owner_index(self, rank: int) -> int | None:
        """The profile whose owner has co-author rank `rank`, if any."""
        index, rest = divmod(rank, self.options.owner_stride)
        return index if rest == 0 and index < len(self._owners) else None

    # ------------------------------------------------------------------------------------------ profiles
    def texts(self) -> Iterator[str]:
        """The text of every profile, in order."""
        for index in range(self.options.profiles):
            yield self.profile_text(index)

    def profile_text(self, index: int) -> str:
        """Profile `index`; call in increasing order (papers shared with earlier profiles must exist)."""
        rng = self._rng
        declared = self._declared(rng)
        listed = min(declared, max(self.stats.listed_papers))
        papers = sorted(self._pick_papers(rng, index, listed), key=lambda p: p.sort_key, reverse=True)
        primary: str = Counter(p.category for p in papers).most_common(1)[0][0] if papers else "LG"
        head = self._header(rng, self._owners[index], primary, declared)
        return "\n\n".join([head, *(p.text for p in papers)])

    def _declared(self, rng: random.Random) -> int:
        low, high = min(self.stats.declared_papers) / 2, max(self.stats.declared_papers) * 2
        return max(1, round(low * float((high / low) ** rng.random())))  # log-uniform

    def _pick_papers(self, rng: random.Random, index: int, count: int) -> list[_Entry]:
        """Earlier papers that print this owner (up to half), earlier papers with a cut byline, and new ones."""
        chosen = {pid: self.paper(pid) for pid in self._coauthored.pop(index, array("I"))[: count // 2]}
        for _ in range(count * 2):
            if len(chosen) >= count:
                break
            if self._truncated and rng.random() < self.options.shared_rate:
                pid = self._truncated[zipf_rank(rng, len(self._truncated), self.options.zipf_offset)]
                if pid not in chosen:
                    chosen[pid] = self.paper(pid)
            else:
                pid = len(self._creators)
                self._creators.append(index)
                chosen[pid] = self._register(pid, index, self.paper(pid))
        return list(chosen.values())

    def _register(self, pid: int, index: int, entry: _Entry) -> _Entry:
        if entry.truncated:
            self._truncated.append(pid)
        for owner in entry.owner_ranks:
            if owner > index:  # a later profile's owner is printed: that profile will list the paper too
                self._coauthored.setdefault(owner, array("I")).append(pid)
        return entry

    def _header(self, rng: random.Random, owner: str, primary: str, declared: int) -> str:
        s = self.stats
        h_index = rng.randint(max(1, min(s.h_index) // 4), max(s.h_index))
        low, high = max(1, min(s.citations) // 4), max(s.citations) * 3 // 2
        citations = round(low * (high / low) ** rng.random())
        printed = f"{citations:,}" if rng.random() < s.separator_rate else str(citations)
        novelty = _clip(rng.randint(min(s.novelty) - 15, max(s.novelty) + 15))
        ai_score = _clip(rng.randint(min(s.ai_score) - 15, max(s.ai_score) + 15))
        return (f"{owner}\n\n{primary}\nh-index{h_index}\n{declared}papers\n{printed}citations\n"
                f"Novelty{novelty}%\nAI Score{ai_score}\n\n{declared} Papers")

    # -------------------------------------------------------------------------------------------- papers
    def paper(self, pid: int) -> _Entry:
        """Paper `pid`: the same text in every profile that lists it."""
        rng = random.Random((self.options.seed << 40) + pid)
        creator = self._owners[self._creators[pid]]
        truncated = rng.random() < self.stats.et_al_rate
        names, ranks = self._byline_names(rng, creator, self._printed[truncated].draw(rng),
                                          rng.random() < self.stats.owner_printed_rate(truncated))
        byline = ", ".join(names) + (" et al." if truncated else "")
        if rng.random() < self.stats.org_rate(truncated):
            byline += " · " + ", ".join(self._orgs(rng))
        category = self._categories.draw(rng)
        year, month = self._years.draw(rng), rng.randint(1, 12)
        day = rng.randint(1, calendar.monthrange(year, month)[1])
        badge = rng.random() < self.stats.code_badge_rate
        title = self._title(rng)
        abstract = self._abstract(rng, badge, title)
        header = f"{category}{MONTHS[month - 1]} {day}, {year}" + ("Code" if badge else "")
        text = f"{header}\n{title}\n\n{byline}\n\n{abstract}"
        return _Entry((year, month, day, pid), category, truncated, tuple(ranks), text)

    def _byline_names(self, rng: random.Random, creator: str, count: int,
                      with_creator: bool) -> tuple[list[str], list[int]]:
        """The printed names, and the profile ranks among them (owners of profiles that list the paper)."""
        names: list[str] = []
        ranks: list[int] = []
        if rng.random() < self.stats.team_byline_rate:
            names.append(team_name(zipf_rank(rng, max(5, self.options.profiles // 50), 2.0)))
        creator_at = rng.randint(len(names), count - 1) if with_creator and count > len(names) else -1
        while len(names) < count:
            if len(names) == creator_at:
                names.append(creator)
                continue
            rank = zipf_rank(rng, self._name_pool, self.options.zipf_offset)
            name = self.name(rank)
            if name != creator and name not in names:
                names.append(name)
                owner = self.owner_index(rank)
                ranks.extend([] if owner is None else [owner])
        return names, ranks

    def _orgs(self, rng: random.Random) -> list[str]:
        pool = len(self._seed_orgs) + max(50, self.options.profiles // 100)
        tags: list[str] = []
        wanted = self._org_counts.draw(rng)
        while len(tags) < wanted:
            tag = org_tag(zipf_rank(rng, pool, 3.0), self._seed_orgs)
            if tag not in tags:
                tags.append(tag)
        return tags

    def _title(self, rng: random.Random) -> str:
        count = max(2, rng.choice(self.stats.title_words))
        words = [rng.choice(self._title_words) for _ in range(count)]
        if count > 3 and rng.random() < 0.7:
            words.insert(rng.randint(1, count - 2), rng.choice(_CONNECTORS))
        words[0] = words[0][:1].upper() + words[0][1:]
        title = " ".join(words)
        if rng.random() < self._colon_rate:
            acronym = "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVWXYZ") for _ in range(rng.randint(2, 6)))
            title = f"{acronym}: {title}"
        return title

    def _abstract(self, rng: random.Random, badge: bool, title: str) -> str:
        target = rng.choice(self.stats.abstract_lengths) * rng.uniform(0.85, 1.15)
        parts: list[str] = []
        size = 0
        while True:  # stop at the sentence boundary nearest to the target length
            sentence = rng.choice(self._sentences)
            if parts and size + len(sentence) // 2 > target:
                break
            parts.append(sentence)
            size += len(sentence) + 1
        if rng.random() < self.stats.url_rate_given(badge):
            parts.append(f"{rng.choice(self._lead_ins)} {self._url(rng, title)}{rng.choice(('', '.', ' .'))}")
        return " ".join(parts)

    def _url(self, rng: random.Random, title: str) -> str:
        slug = "-".join(w.lower() for w in title.split() if w.isascii() and w.isalpha())[:40].strip("-") or "project"
        kind = self._url_kinds.draw(rng)
        if kind == "github":
            body = f"github.com/{self.name(rng.randrange(self._name_pool)).split()[-1].lower()}lab/{slug}"
            body = body if body.isascii() else f"github.com/lab{rng.randrange(10_000)}/{slug}"
        elif kind == "github.io":
            body = f"{slug}.github.io" + (f"/{slug[:12].strip('-')}/" if rng.random() < 0.4 else "")
        else:
            body = f"sites.google.com/view/{slug}"
        return body if rng.random() < self.stats.bare_url_rate else "https://" + body


@dataclass(frozen=True, slots=True)
class _Entry:
    sort_key: tuple[int, int, int, int]
    category: str
    truncated: bool
    owner_ranks: tuple[int, ...]  # the profiles whose owners the byline prints, besides the creator
    text: str


def _clip(value: int) -> int:
    return max(0, min(100, value))


def _sentence_pool(abstracts: Sequence[str], rng: random.Random) -> list[str]:
    """Sentences from a word-level Markov chain over the seeds' abstracts, with no web address in them."""
    follows: dict[str, list[str]] = {}
    starts: list[str] = []
    for abstract in abstracts:
        tokens = [t for t in abstract.split() if not _URLISH.search(t)]
        starts.extend(b for a, b in itertools.pairwise([".", *tokens]) if a.endswith(".") and b[:1].isupper())
        for a, b in itertools.pairwise(tokens):
            follows.setdefault(a, []).append(b)
    if not starts:
        return ["We study learning."]
    return [_sentence(rng, starts, follows) for _ in range(_SENTENCES)]


def _sentence(rng: random.Random, starts: list[str], follows: dict[str, list[str]]) -> str:
    words = [rng.choice(starts)]
    while len(words) < 40 and not (words[-1].endswith(".") and len(words) >= 6):
        options = follows.get(words[-1])
        if not options:
            break
        words.append(rng.choice(options))
    sentence = " ".join(words)
    return sentence if sentence.endswith(".") else sentence.rstrip(",;:") + "."


def _title_vocabulary(titles: Sequence[str]) -> list[str]:
    words = {w.strip(":,?!\"'") for t in titles for w in t.split()}
    return sorted(w for w in words if w and w.lower() not in _STOPWORDS and not _URLISH.search(w)
                  and not w[0].isdigit())


# ------------------------------------------------------------------------------------------------ writing
def generate(out: Path, options: Options, stats: SeedStats | None = None) -> dict[str, Any]:
    """Write NNNNNN.txt for every profile into `out` (created); returns a summary (also saved as manifest.json)."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    generator = ProfileGenerator(options, stats)
    written = 0
    digits = max(6, len(str(options.profiles - 1)))
    for index, text in enumerate(generator.texts()):
        data = text.encode("utf-8")
        (out / f"{index:0{digits}d}.txt").write_bytes(data)
        written += len(data)
    summary = {"options": options_json(options), "files": options.profiles, "distinct_papers": len(generator._creators),
               "bytes": written, "seconds": round(time.perf_counter() - started, 2)}
    (out / "manifest.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def options_json(options: Options) -> dict[str, Any]:
    return asdict(options)


def ensure_generated(out: Path, options: Options) -> Path:
    """`out` holding exactly the profiles `options` describe: reused when its manifest matches, else regenerated."""
    manifest = out / "manifest.json"
    if manifest.is_file():
        saved = json.loads(manifest.read_text(encoding="utf-8"))
        if saved.get("options") == options_json(options) and len(list(out.glob("*.txt"))) == options.profiles:
            return out
        for old in out.glob("*.txt"):
            old.unlink()
    generate(out, options)
    return out


# ---------------------------------------------------------------------------------------------------- CLI
def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("generate", help="write synthetic profiles in the seeds' text format")
    parser.add_argument("--profiles", type=int, required=True, help="number of profiles (100 to 100,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True, help="folder for NNNNNN.txt (created)")
    parser.add_argument("--shared-rate", type=float, default=Options.shared_rate,
                        help="share of entries that reuse a paper already listed by another profile")
    parser.add_argument("--non-latin-rate", type=float, default=Options.non_latin_rate)
    parser.add_argument("--stats", action="store_true", help="also print the seeds' and the output's statistics")


def run(args: Any) -> int:
    options = Options(args.profiles, args.seed, shared_rate=args.shared_rate, non_latin_rate=args.non_latin_rate)
    summary = generate(args.out, options)
    if args.stats:
        summary["seed_stats"] = measure(seed_files()).summary()
        summary["output_stats"] = measure(sorted(args.out.glob("*.txt"))).summary()
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0
