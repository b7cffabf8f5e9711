"""Schemathesis against the API's own OpenAPI document (issue 14, item 11).

Every operation of `/openapi.json` gets generated requests (valid and invalid bodies, paths
and query strings) through the app in-process, on the suite's databases (SQLite file and
PostgreSQL, one rolled-back transaction per test). Two checks: no 5xx (`not_a_server_error`)
and every documented response matches its declared schema (`response_schema_conformance`).
The run is authenticated twice, as the supervisor and as the service token, since most
routes accept only one of them. Bounded: FUZZ_MAX_EXAMPLES (default 10) examples per
operation and role, derandomised (the same cases each run), no shrinking.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import SERVICE_TOKEN, login

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "10"))
CHECKS = [not_a_server_error, response_schema_conformance]
# Logging out revokes the token the rest of the run uses: fuzzed with a fresh token each case.
FRESH_TOKEN = {("POST", "/auth/logout")}


def _run_operation(operation, headers_for, statuses: Counter) -> str | None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case):
        response = case.call(headers=headers_for())
        statuses[response.status_code // 100 * 100] += 1
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Exception as error:  # noqa: BLE001 - reported per operation below
        return f"{operation.method.upper()} {operation.path}: {error}"
    return None


@pytest.mark.parametrize("role", ["supervisor", "service"])
def test_openapi_fuzz(app, client, role):
    def headers_for():
        if role == "service":
            return {"Authorization": f"Bearer {SERVICE_TOKEN}"}
        return login(client, "supervisor")

    supervisor = login(client, "supervisor") if role == "supervisor" else None
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, operations, statuses, started = [], 0, Counter(), time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        fresh = (operation.method.upper(), operation.path) in FRESH_TOKEN
        failure = _run_operation(
            operation, headers_for if fresh or supervisor is None else lambda: supervisor, statuses
        )
        if failure:
            failures.append(failure)
    print(
        f"\nschemathesis as {role}: {operations} operations x {MAX_EXAMPLES} examples, "
        f"{len(failures)} failing, {time.monotonic() - started:.1f} s; responses by class "
        f"{dict(sorted(statuses.items()))}"
    )
    assert not failures, "\n\n".join(failures)
