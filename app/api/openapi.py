"""The API's OpenAPI 3.1 document, generated from the code: every route of the api blueprint
with the operation its view's docstring describes (apispec reads the YAML after "---"), and
the shapes those views return, named here once. A route without a description is an error,
so the document cannot silently miss an endpoint."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask

from app.models import SLUG_MAX
from app.signatories.checking import MAX_ITEMS, QUERY_MAX

#: Endpoints of the api blueprint that describe the API rather than belong to it.
_ABOUT_THE_API = {"api.openapi_document", "api.index"}
#: Public endpoints outside /api that are part of it all the same: the open-data files.
OPEN_DATA = {"public.signatories_json", "public.signatories_csv"}

_NULLABLE_TEXT: dict[str, Any] = {"type": ["string", "null"]}
_MOMENT = {"type": "string", "format": "date-time"}
_COUNT = {"type": "integer", "minimum": 0}
_QUERY = {"type": "string", "minLength": 1, "maxLength": QUERY_MAX, "pattern": "\\S"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object({"error": {"type": "string"}, "status": {"type": "integer"}}),
    "Integrity": _object(
        {
            name: _COUNT
            for name in ("listed", "withdrawn", "hidden", "held", "unconfirmed", "imported")
        }
    ),
    "Letter": _object(
        {
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "string", "enum": ["open", "closed"]},
            "accepting_signatures": {"type": "boolean"},
            "closes_at": {"type": ["string", "null"], "format": "date-time"},
            "launched_at": {"type": ["string", "null"], "format": "date-time"},
            "verified_signatures": {
                **_COUNT,
                "description": "Confirmed signatures counted on the letter (the field keeps "
                "its first name; an affiliation is what is verified).",
            },
            "text_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "integrity": {"$ref": "#/components/schemas/Integrity"},
            "url": {"type": "string"},
            "signatories": {"type": "string"},
        }
    ),
    "Signatory": _object(
        {
            "name": {"type": "string"},
            "title": {"type": "string"},
            "affiliation": {"type": "string"},
            "affiliation_verified": {"type": "boolean"},
            "organisation": _NULLABLE_TEXT,
            "country": {"type": "string"},
            "signed_at": _MOMENT,
            "text_sha256": {"type": ["string", "null"]},
            "version": {"type": "integer", "minimum": 1},
            "reaffirmed": {"type": "boolean"},
            "initial": {"type": "boolean"},
            "imported": {
                "type": "boolean",
                "description": "Imported by the organisers, not confirmed by email here.",
            },
            "source": {
                **_NULLABLE_TEXT,
                "description": "Where an imported signature came from, as the organisers say.",
            },
        }
    ),
    "SignatoryPage": _object(
        {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Signatory"}},
            "next": _NULLABLE_TEXT,
        }
    ),
    "Version": _object(
        {
            "number": {"type": "integer", "minimum": 1},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "published_at": _MOMENT,
            "substantive": {"type": "boolean"},
            "url": {"type": "string"},
        }
    ),
    "Snapshot": _object(
        {
            "number": {"type": "integer", "minimum": 1},
            "taken_at": _MOMENT,
            "note": _NULLABLE_TEXT,
            "signatures": _COUNT,
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "previous_sha256": _NULLABLE_TEXT,
            "url": {"type": "string"},
        }
    ),
    "Affiliations": _object(
        {
            "organisations": {
                "type": "array",
                "items": _object(
                    {
                        "name": {"type": "string"},
                        "sector": {"type": "string"},
                        "verified": _COUNT,
                        "stated": _COUNT,
                        "watched": {"type": "boolean"},
                    }
                ),
            },
            "sectors": {"type": "object", "additionalProperties": _COUNT},
            "countries": {"type": "object", "additionalProperties": _COUNT},
            "listed": _COUNT,
            "without_organisation": _COUNT,
            "unregistered": {
                "description": "Every affiliation no registered organisation stands for, "
                "largest first: its listed signatories, all stated.",
                "type": "array",
                "items": _object({"name": {"type": "string"}, "stated": _COUNT}),
            },
        }
    ),
    "CheckRequest": {
        "description": "Up to 500 names and organisations (or email domains) in all; at least one.",
        "type": "object",
        "properties": {
            "names": {"type": "array", "items": _QUERY, "maxItems": MAX_ITEMS},
            "organisations": {"type": "array", "items": _QUERY, "maxItems": MAX_ITEMS},
        },
        "anyOf": [
            {"required": ["names"], "properties": {"names": {"minItems": 1}}},
            {"required": ["organisations"], "properties": {"organisations": {"minItems": 1}}},
        ],
    },
    "CheckResult": _object(
        {
            "names": {
                "type": "array",
                "items": _object(
                    {
                        "query": {"type": "string"},
                        "signed": {"type": "boolean"},
                        "matches": {
                            "type": "array",
                            "items": _object(
                                {
                                    "name": {"type": "string"},
                                    "affiliation": {"type": "string"},
                                    "exact": {"type": "boolean"},
                                }
                            ),
                        },
                    }
                ),
            },
            "organisations": {
                "type": "array",
                "items": _object(
                    {
                        "query": {"type": "string"},
                        "name": _NULLABLE_TEXT,
                        "verified": _COUNT,
                        "stated": _COUNT,
                    }
                ),
            },
        }
    ),
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_RESPONSES = {
    "NotFound": _error("No public letter at this address (or none that may be shown)."),
    "NotFoundPage": {
        "description": "No public letter at this address: the site's page saying so.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    "BadRequest": _error("A parameter or the body is not what the operation takes."),
    "TooLarge": _error("The body is larger than the operation takes."),
    "TooMany": _error("Too many requests from this address; try again later."),
}


def openapi_document(app: Flask, *, server_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of the api blueprint."""
    spec = APISpec(
        title="Undersigned public API",
        version="1",
        openapi_version="3.1.0",
        plugins=[FlaskPlugin()],
        info={
            "description": "Open letters, their public signatories and how the list was kept. "
            "Read-only (the check operation only reads), without sign-in; signers' email "
            "addresses never appear.",
        },
        servers=[{"url": server_url}],
    )
    for name, schema in _SCHEMAS.items():
        spec.components.schema(name, schema)
    for name, response in _RESPONSES.items():
        spec.components.response(name, response)
    spec.components.parameter(
        "slug",
        "path",
        {
            "description": "The letter's address: /letters/<slug>.",
            "schema": {"type": "string", "maxLength": SLUG_MAX},
        },
    )
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        in_the_api = rule.endpoint.startswith("api.") or rule.endpoint in OPEN_DATA
        if not in_the_api or rule.endpoint in _ABOUT_THE_API:
            continue
        view = app.view_functions[rule.endpoint]
        if "---" not in (view.__doc__ or ""):
            raise RuntimeError(f"{rule.endpoint} has no OpenAPI description in its docstring")
        spec.path(view=view, app=app)
    return spec.to_dict()
