"""schemathesis against /openapi.json of a live server: no 5xx, and every status code and content type documented.

Bounded: a few generated cases per operation and a time budget for the whole run. Failures are collected over
all operations and reported together (schemathesis's pytest plugin is not used: it does not run under pytest 9).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import schemathesis
from conftest import LiveServer
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import FailureGroup

pytestmark = pytest.mark.slow

BUDGET_S = 60.0  # for all operations together
EXAMPLES = 10  # generated cases per operation


def _checks() -> list[object]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

    return [not_a_server_error, status_code_conformance, content_type_conformance]


def _exercise(operation: schemathesis.APIOperation, base_url: str, deadline: float) -> list[str]:
    """Run the checks on EXAMPLES generated cases of `operation`; the failures as text."""
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        if time.monotonic() > deadline:
            return
        response = case.call(base_url=base_url, timeout=30)
        try:
            case.validate_response(response, checks=_checks())
        except FailureGroup as group:  # every failed check of this case
            failures.extend(f"{operation.label} -> {response.status_code} "
                            f"{response.headers.get('content-type', ['-'])[0].split(';')[0]}: {type(f).__name__}"
                            for f in group.exceptions)

    run()
    return failures


def test_api_conforms_to_its_openapi_document(make_server: Callable[..., LiveServer]) -> None:
    live = make_server(query_timeout=5, max_concurrent_per_client=64)
    schema = schemathesis.openapi.from_url(live.url + "openapi.json")
    deadline = time.monotonic() + BUDGET_S
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        failures += _exercise(operation, live.url.rstrip("/"), deadline)
    assert operations >= 40
    assert time.monotonic() < deadline + 35, "the run went over its time budget"
    assert not failures, "\n\n".join(sorted(set(failures)))
