"""Settings from KG_* variables and flags; the one table from errors to exit codes and HTTP statuses."""

from __future__ import annotations

import pytest

from kg.config import DEFAULT_BASE_IRI, Settings
from kg.errors import (
    KGError,
    NonConformingData,
    NotAcceptable,
    ParseError,
    QueryTimeout,
    StoreLocked,
    TooManyRequests,
    UsageError,
    exit_code,
    http_status,
)


def test_defaults_env_then_flags() -> None:
    assert Settings.from_env({}).base_iri == DEFAULT_BASE_IRI
    env = {"KG_BASE_IRI": "http://example.org/kg/", "KG_PORT": "9000", "KG_SERVICE_ALLOW": "http://a/sparql, http://b/q"}
    settings = Settings.from_env(env, port=9100)
    assert settings.base_iri == "http://example.org/kg/"
    assert settings.port == 9100
    assert settings.service_allow == ("http://a/sparql", "http://b/q")


@pytest.mark.parametrize(("env", "message"), [
    ({"KG_BASE_IRI": "example.org"}, "KG_BASE_IRI: expected an http"),
    ({"KG_PORT": "eighty"}, "KG_PORT: expected a int"),
    ({"KG_MAX_ROWS": "0"}, "KG_MAX_ROWS: expected a positive number"),
    ({"KG_REASONER": "hermit"}, "KG_REASONER: expected 'rules' or 'owlrl'"),
    ({"KG_CORS_ORIGINS": "*,http://a"}, "KG_CORS_ORIGINS"),
])
def test_bad_settings_are_usage_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Settings.from_env(env)


def test_server_url_prefers_public_url() -> None:
    assert Settings(port=8123).server_url == "http://127.0.0.1:8123/"
    assert Settings(public_url="https://kg.example.org").server_url == "https://kg.example.org/"


def test_parse_error_names_source_line_and_expectation() -> None:
    error = ParseError("seeds/x.txt", 17, "a date like 'May 27, 2022'", "Feb 30, 2023")
    assert str(error) == "seeds/x.txt:17: expected a date like 'May 27, 2022', got 'Feb 30, 2023'"


@pytest.mark.parametrize(("error", "code", "status"), [
    (KGError("x"), 2, 400),
    (ParseError("f", 1, "y"), 2, 400),
    (NonConformingData("x"), 1, 422),
    (NotAcceptable("x"), 2, 406),
    (QueryTimeout("x"), 2, 503),
    (TooManyRequests("x"), 2, 429),
    (StoreLocked("x"), 2, 503),
])
def test_one_table_maps_errors(error: KGError, code: int, status: int) -> None:
    assert exit_code(error) == code
    assert http_status(error) == status
