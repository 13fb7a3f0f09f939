"""Schemathesis against the OpenAPI schema of a real `bookwright serve`: no server error,
and every response (failures included) matches the schema.

Each operation is its own test, driven by Hypothesis directly: schemathesis's
`pytest.from_fixture` loader fails on pytest 9 (it reads `node._nodeid`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from bookwright.web.api import router
from tests.conftest import Served, Workspace
from tests.scripted_server import ScriptedServer

# A longer hunt: BOOKWRIGHT_FUZZ_EXAMPLES=300 pytest tests/test_web_schemathesis.py
EXAMPLES = int(os.environ.get("BOOKWRIGHT_FUZZ_EXAMPLES", "30"))
OPERATIONS = sorted(
    (route.path, method)
    for route in router.routes
    if isinstance(route, APIRoute) and route.include_in_schema
    for method in route.methods
)


@pytest.fixture(scope="module")
def web_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    tmp: Path = tmp_path_factory.mktemp("schemathesis")
    with ScriptedServer() as server:
        settings_file = tmp / "bookwright.toml"
        # Books it starts (when its random input is valid) are written by the scripted model.
        settings_file.write_text(
            'default_model = "scripted:m"\n'
            f'[providers.scripted]\nbase_url = "{server.base_url}"\n'
            "[web]\nmax_running_books = 1\n"
        )
        served = Served(Workspace(tmp / "home", settings_file))
        try:
            yield schemathesis.openapi.from_url(f"{served.url}/openapi.json")
        finally:
            assert served.stop() == 0


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_operation_conforms_to_the_schema(
    web_schema: schemathesis.BaseSchema, path: str, method: str
) -> None:
    operation = web_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        # A schema-valid model name may still name no configured provider (400): the schema
        # cannot know the settings, so "valid data is accepted" does not hold for `model`.
        case.call_and_validate(timeout=60, excluded_checks=[positive_data_acceptance])

    check()
