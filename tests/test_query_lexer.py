"""kg.query.lexer: tokens keep strings, IRIs and comments whole; brackets match; SERVICE moved to its own line."""

from __future__ import annotations

import pytest

from kg.errors import QueryError
from kg.query.lexer import brackets, service_on_its_own_line, tokens


def test_strings_iris_and_comments_are_single_tokens_or_skipped() -> None:
    text = 'SELECT * { <http://x/#a> ?p """a } # b""" # SERVICE <http://e/>\n}'
    assert [(t.kind, t.text) for t in tokens(text)] == [
        ("word", "SELECT"), ("other", "*"), ("open", "{"), ("iri", "<http://x/#a>"), ("var", "?p"),
        ("string", '"""a } # b"""'), ("close", "}")]


def test_brackets_match_and_each_token_knows_its_group() -> None:
    found = tokens("SELECT * { ?s ?p ( 1 ) { ?o } }")
    match, parent = brackets(found)
    assert {found[a].text + found[b].text for a, b in match.items()} == {"{}", "()"}
    assert parent[found.index(next(t for t in found if t.text == "?o"))] == 8  # the second {


@pytest.mark.parametrize(("text", "message"), [("SELECT * { ?s ?p ?o ]", "unbalanced ']' at character 21"),
                                              ("SELECT * { { ?s ?p ?o }", "unclosed '{' at character 10")])
def test_unbalanced_brackets_say_where(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        brackets(tokens(text))


def test_only_service_keywords_move_to_a_line_of_their_own() -> None:
    text = ('SELECT * { <http://x/#a> ?p "SERVICE" . service <http://e/> { ?s ?p ?o } '
            "# SERVICE <http://f/>\n}")
    assert service_on_its_own_line(text) == text.replace(". service", ". \nservice")
    assert service_on_its_own_line("SELECT * { ?s ?p ?o }") == "SELECT * { ?s ?p ?o }"
