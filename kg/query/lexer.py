"""A small SPARQL lexer: tokens with their character spans (strings, IRIs and comments kept whole), and bracket
matching. Enough to locate clauses such as SERVICE in a query's text without parsing it; the parser has the last
word on what the text means."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.errors import QueryError

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:'{0,2}(?:[^'\\]|\\.))*'''|\"\"\"(?:"{0,2}(?:[^"\\]|\\.))*\"\"\"
              |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<open>[{(\[])
  | (?P<close>[})\]])
  | (?P<var>[?$][\w\u00B7\u0300-\u036F\u203F\u2040]+)
  | (?P<word>(?:[\w\-:%]|\\[^\s]|\.(?=[\w\-:%]))+)
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)
_PAIRS = {"{": "}", "(": ")", "[": "]"}
FORMS = {"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    start: int
    end: int
    text: str

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


def tokens(text: str) -> list[Token]:
    """The tokens of `text`, white space and comments left out."""
    found = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind not in ("space", "comment"):
            found.append(Token(kind, match.start(), match.end(), match.group()))
    return found


def brackets(found: list[Token]) -> tuple[dict[int, int], list[int]]:
    """The matching close of every open bracket, and for every token the innermost `{` around it (-1: none)."""
    match: dict[int, int] = {}
    parent: list[int] = []
    stack: list[int] = []
    for index, token in enumerate(found):
        braces = [i for i in stack if found[i].text == "{"]
        parent.append(braces[-1] if braces else -1)
        if token.kind == "open":
            stack.append(index)
        elif token.kind == "close":
            if not stack or _PAIRS[found[stack[-1]].text] != token.text:
                raise QueryError(f"SPARQL: unbalanced {token.text!r} at character {token.start + 1}")
            match[stack.pop()] = index
    if stack:
        raise QueryError(f"SPARQL: unclosed {found[stack[-1]].text!r} at character {found[stack[-1]].start + 1}")
    return match, parent


def service_on_its_own_line(text: str) -> str:
    """The text with a line break before each SERVICE keyword (white space: the query means the same). rdflib's
    parser rejects valid queries with a `#` inside an IRI or a string before SERVICE on the same line; this is
    what it can read."""
    cuts = [token.start for token in tokens(text) if token.is_word("SERVICE")]
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return "\n".join(pieces)
