"""Which query texts are provably bounded — one triple pattern with a constant subject, or DESCRIBE of one IRI —
decided by a strict lexer and a tiny grammar, never by rdflib; FastLane runs such texts in the server process.

Anything the grammar does not spell out (a second pattern, a path, OPTIONAL, FILTER, GRAPH, VALUES, a blank node,
a non-ASCII name, an escape...) is not bounded here and goes to the killable workers. docs/security.md says why.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Sequence

from kg.query.check import plain_query
from kg.sandbox.worker import QueryRequest, Reply, serve
from kg.store import Store

# Token kinds, tried in this order at each position (SPARQL's own terminals, narrowed to ASCII names).
_PN_PREFIX = r"[A-Za-z](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?"
_PLX = r"%[0-9A-Fa-f]{2}"
_PN_LOCAL = rf"(?:[A-Za-z0-9_:]|{_PLX})(?:(?:[A-Za-z0-9_:.\-]|{_PLX})*(?:[A-Za-z0-9_:\-]|{_PLX}))?"
_TOKENS = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in (
    ("space", r"[ \t\r\n]+"),  # SPARQL's white space only (Python's \s also matches e.g. U+00A0)
    ("comment", r"#[^\r\n]*"),
    ("iri", r"<[^<>\"{}|^`\\\x00-\x20]*>"),
    ("string", r"\"[^\"\\\r\n]*\"(?!\")|'[^'\\\r\n]*'(?!')"),  # no escapes, no long strings
    ("var", r"[?$][A-Za-z0-9_]+"),
    ("pname", rf"(?:{_PN_PREFIX})?:(?:{_PN_LOCAL})?"),
    ("number", r"[0-9]*\.[0-9]+|[0-9]+"),
    ("word", r"[A-Za-z]+"),
    ("langtag", r"@[A-Za-z]+(?:-[A-Za-z0-9]+)*"),
    ("datatype", r"\^\^"),
    ("punct", r"[{}.*]"),
)))
_SKIPPED = ("space", "comment")
_Rule = Callable[[], bool]
_NOT_A_NAME = re.compile(r"[A-Za-z0-9_:.\-%]")  # what may not follow a name, number or keyword directly


class FastLane:
    """Runs provably bounded queries on `store` in the calling thread, at most `slots` at once (0: never)."""

    def __init__(self, store: Store, slots: int) -> None:
        self.store = store
        self._slots = threading.BoundedSemaphore(slots) if slots > 0 else None

    def run(self, request: QueryRequest) -> Reply | None:
        """The reply (as a worker gives it), or None when the query is not bounded or every slot is taken."""
        slots = self._slots
        if slots is None or not bounded(request.text, request.default_graph_uris, request.named_graph_uris):
            return None
        if not slots.acquire(blocking=False):
            return None
        try:
            return serve(self.store, (), request)
        finally:
            slots.release()


def bounded(text: str, default_graph_uris: Sequence[str] = (), named_graph_uris: Sequence[str] = ()) -> bool:
    """True when `text` provably touches at most one subject's triples (see the module docstring) and the
    request names no dataset: its cost is bounded by that subject's out-degree and the row cap."""
    if default_graph_uris or named_graph_uris:
        return False
    return _bounded_text(text)


@functools.lru_cache(maxsize=1024)
def _bounded_text(text: str) -> bool:
    """Plain (no SERVICE, FROM, LOAD, BASE, file: or backslash anywhere: kg.query.check) and of the grammar."""
    if plain_query(text) is None:
        return False
    tokens = _tokens(text)
    return tokens is not None and _Grammar(tokens).query()


def _tokens(text: str) -> list[tuple[str, str]] | None:
    """(kind, text) pairs without spaces and comments; None when some character fits no token, or when a
    name runs straight into another (e.g. `1.5e3`, `?o.x`), where two readings could differ."""
    if "\\" in text:
        return None
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKENS.match(text, position)
        if match is None or match.lastgroup is None:
            return None
        kind, value, position = match.lastgroup, match.group(), match.end()
        if kind in ("var", "pname", "number", "word") and position < len(text) \
                and _NOT_A_NAME.match(text, position) and not text.startswith(".", position):
            return None
        if kind not in _SKIPPED:
            tokens.append((kind, value))
    return tokens


class _Grammar:
    """A recursive-descent reader of the bounded class; `query()` is True only when every token is consumed.

    query    := ("PREFIX" PNAME_NS IRI)* form
    form     := "SELECT" ("DISTINCT" | "REDUCED")? ("*" | VAR+) where modifiers
              | "ASK" where
              | "CONSTRUCT" "WHERE" "{" triple "."? "}" modifiers
              | "CONSTRUCT" "{" template "."? "}" where modifiers
              | "DESCRIBE" IRI
    where    := "WHERE"? "{" triple "."? "}"
    triple   := (IRI | PNAME) (VAR | IRI | PNAME | "a") (VAR | IRI | PNAME | literal)
    template := any one triple of variables, IRIs and literals
    modifiers := ("LIMIT" INTEGER)? ("OFFSET" INTEGER)?  (in either order)
    """

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.at = 0

    def query(self) -> bool:
        while self._word("PREFIX"):
            if not (self._prefix_name() and self._kind("iri")):
                return False
        if self._word("SELECT"):
            done = self._select()
        elif self._word("ASK"):
            done = self._where()
        elif self._word("CONSTRUCT"):
            done = self._construct()
        elif self._word("DESCRIBE"):
            done = self._constant_iri()
        else:
            return False
        return done and self.at == len(self.tokens)

    def _select(self) -> bool:
        _ = self._word("DISTINCT") or self._word("REDUCED")
        if not self._punct("*"):
            if not self._kind("var"):
                return False
            while self._kind("var"):
                pass
        return self._where() and self._modifiers()

    def _construct(self) -> bool:
        if self._word("WHERE"):
            return self._group(self._triple) and self._modifiers()
        return self._group(self._template) and self._where() and self._modifiers()

    def _where(self) -> bool:
        _ = self._word("WHERE")
        return self._group(self._triple)

    def _group(self, inside: _Rule) -> bool:
        if not (self._punct("{") and inside()):
            return False
        _ = self._punct(".")
        return self._punct("}")

    def _triple(self) -> bool:
        return self._constant_iri() and self._predicate() and self._object()

    def _template(self) -> bool:
        return (self._kind("var") or self._constant_iri()) and self._predicate() and self._object()

    def _predicate(self) -> bool:
        return self._kind("var") or self._constant_iri() or self._exact("word", "a")

    def _object(self) -> bool:
        if self._kind("var") or self._constant_iri() or self._kind("number"):
            return True
        if self._word("true") or self._word("false"):
            return True
        if not self._kind("string"):
            return False
        if self._kind("langtag"):
            return True
        return not self._kind("datatype") or self._constant_iri()

    def _modifiers(self) -> bool:
        """LIMIT and OFFSET only: ORDER BY would sort every triple of the subject, which the row cap does not cut."""
        seen: set[str] = set()
        while (word := self._next_word(("LIMIT", "OFFSET"))) is not None:
            if word in seen or not self._integer():
                return False
            seen.add(word)
        return True

    # ------------------------------------------------------------------------------------------ terminals

    def _constant_iri(self) -> bool:
        return self._kind("iri") or self._kind("pname")

    def _prefix_name(self) -> bool:
        kind, value = self._peek()
        return kind == "pname" and value.endswith(":") and value.count(":") == 1 and self._advance()

    def _integer(self) -> bool:
        kind, value = self._peek()
        return kind == "number" and value.isdigit() and self._advance()

    def _word(self, keyword: str) -> bool:
        kind, value = self._peek()
        return kind == "word" and value.upper() == keyword.upper() and self._advance()

    def _next_word(self, keywords: tuple[str, ...]) -> str | None:
        kind, value = self._peek()
        if kind == "word" and value.upper() in keywords:
            self._advance()
            return value.upper()
        return None

    def _exact(self, kind: str, value: str) -> bool:
        return self._peek() == (kind, value) and self._advance()

    def _punct(self, value: str) -> bool:
        return self._exact("punct", value)

    def _kind(self, kind: str) -> bool:
        return self._peek()[0] == kind and self._advance()

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def _advance(self) -> bool:
        self.at += 1
        return True

