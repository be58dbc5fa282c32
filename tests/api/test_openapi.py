"""The API's OpenAPI document is generated from the code and covers every API route;
Schemathesis, driven by it, finds no server error and no response that breaks it. CORS lets
any site read the API and the open-data files, and nothing that writes."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from app.db import utcnow
from app.signatories import snapshots
from tests.factories import make_letter, make_signature

FUZZED_SLUG = "api-fuzz"
#: A document cannot say everything an operation refuses (a name of spaces only, a control
#: character): a request it allows may still get a documented 400. Every other check runs,
#: among them no 5xx, documented status codes, content types, headers and response schemas.
BEYOND_THE_DOCUMENT = [positive_data_acceptance]


@pytest.fixture
def api_schema(app: Flask, session) -> object:
    letter = make_letter(session, slug=FUZZED_SLUG)
    make_signature(session, letter=letter, name="Ada Lovelace", country="GB")
    make_signature(session, letter=letter, name="Grace Hopper", country="US")
    snapshots.take_snapshot(session, letter, note="Delivered", by=None, now=utcnow())
    session.commit()
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def test_every_operation_keeps_to_the_document(api_schema: object) -> None:
    """Schemathesis generates requests for each operation from the document (Hypothesis);
    call_and_validate fails on a 5xx or a response that breaks the document."""
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[attr-defined]
    assert len(operations) == 9
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        def keeps_to_it(case: Any) -> None:
            case.call_and_validate(excluded_checks=BEYOND_THE_DOCUMENT)
            # And the same request on a letter that exists, so 200s are checked as well.
            if "slug" in (case.path_parameters or {}):
                case.path_parameters["slug"] = FUZZED_SLUG
                case.call_and_validate(excluded_checks=BEYOND_THE_DOCUMENT)

        keeps_to_it()


def test_the_document_covers_every_api_route(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    documented = set(document["paths"])
    from app.api.openapi import OPEN_DATA

    routes = {
        rule.rule.replace("<slug>", "{slug}")
        for rule in app.url_map.iter_rules()
        if (rule.endpoint.startswith("api.") or rule.endpoint in OPEN_DATA)
        and rule.endpoint not in {"api.index", "api.openapi_document"}
    }
    assert routes == documented
    page = client.get("/api/").get_data(as_text=True)
    for path in documented:
        assert path in page


def test_any_site_may_read_but_not_write(client: FlaskClient, session) -> None:
    make_letter(session, slug="cors")
    origin = {"Origin": "https://newsroom.example"}
    assert (
        client.get("/api/letters/cors", headers=origin).headers["Access-Control-Allow-Origin"]
        == "*"
    )
    download = client.get("/letters/cors/signatories.json", headers=origin)
    assert download.headers["Access-Control-Allow-Origin"] == "*"
    preflight = client.options(
        "/api/letters/cors/check",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert "POST" not in preflight.headers.get("Access-Control-Allow-Methods", "")
    assert "Access-Control-Allow-Origin" not in client.get("/letters/cors", headers=origin).headers
