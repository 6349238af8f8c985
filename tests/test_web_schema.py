"""schemathesis against /openapi.json: generated requests find no 5xx and no response outside the schema.

Bounded (a few examples per operation) so the suite stays fast; every operation is still exercised.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import beat
from tests.web_fixtures import Web, token_for, web  # noqa: F401 - the fixture

__all__ = ["web"]
MAX_EXAMPLES = 4


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_api_answers_every_generated_request_within_its_schema(web: Web) -> None:
    beat(web.core)  # a live worker, so /healthz answers 200 (the fake clock does not move)
    headers = {"Authorization": f"Bearer {token_for(web.core, 'admin', 'schemathesis')}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", web.app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 15

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
