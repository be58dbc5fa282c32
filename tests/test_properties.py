"""Random input at every public endpoint: never a server error, never an address leaked."""

from __future__ import annotations

import string
import unicodedata

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.models import OutboundEmail, Signature
from app.support.text import has_control_characters
from tests.factories import make_letter, make_signature

PUBLIC_GETS = [
    "/",
    "/privacy",
    "/letters/{slug}",
    "/letters/{slug}/signatories",
    "/letters/{slug}/check-email",
    "/letters/{slug}/history",
    "/letters/{slug}/confirm/{text}",
    "/letters/{slug}/withdraw/{text}",
    "/api/letters/{slug}",
    "/api/letters/{slug}/signatories",
]
FIELDS = ["name", "email", "affiliation", "title", "country", "comment", "is_public", "website"]
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
queries = st.dictionaries(
    st.sampled_from(["q", "country", "cursor", "limit", "page", "sort", "x", "q[]"]),
    text,
    max_size=4,
)
CHECKS = dict(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


segments = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=80)


@settings(**CHECKS)
@given(
    path=st.sampled_from(PUBLIC_GETS),
    slug=st.sampled_from(["fuzz", "missing", "a%00"]),
    segment=segments,
    query=queries,
)
def test_random_query_strings_never_get_a_server_error(
    app: Flask, session, path: str, slug: str, segment: str, query: dict[str, str]
) -> None:
    if not session.scalar(select(func.count()).select_from(Signature)):
        letter = make_letter(session, slug="fuzz")
        make_signature(session, letter=letter, email="hidden.address@example.org")
    client = app.test_client()
    response = client.get(path.format(slug=slug, text=segment), query_string=query)
    assert response.status_code < 500, (path, query, response.status_code)
    assert "hidden.address@example.org" not in response.get_data(as_text=True)


@settings(**CHECKS)
@given(form=st.dictionaries(st.sampled_from(FIELDS), text, max_size=8))
def test_random_sign_forms_never_get_a_server_error(
    app: Flask, session, form: dict[str, str]
) -> None:
    if not session.scalar(select(func.count()).select_from(Signature)):
        letter = make_letter(session, slug="fuzz-sign")
        make_signature(session, letter=letter, email="hidden.address@example.org")
    client = app.test_client()
    token = client.get("/csrf-token").json["csrf_token"]
    before = session.scalar(select(func.count()).select_from(OutboundEmail))
    response = client.post("/letters/fuzz-sign/sign", data={"csrf_token": token, **form})
    assert response.status_code in (303, 422), response.status_code
    if response.status_code == 422:
        assert session.scalar(select(func.count()).select_from(OutboundEmail)) == before
    assert "hidden.address@example.org" not in response.get_data(as_text=True)


def _control_by_category(value: str, multiline: bool) -> bool:
    allowed = {"\n", "\t"} if multiline else set()
    return any(
        (unicodedata.category(char) == "Cc" and char not in allowed)
        or (unicodedata.category(char) == "Cf" and char not in "\u200c\u200d")
        for char in value
    )


@given(value=st.text(), multiline=st.booleans())
def test_the_fast_control_character_check_agrees_with_unicode_categories(
    value: str, multiline: bool
) -> None:
    # ASCII is decided in C: exactly the control characters of Unicode's categories.
    ascii_only = value.encode("ascii", "ignore").decode()
    assert has_control_characters(ascii_only, multiline=multiline) == _control_by_category(
        ascii_only, multiline
    )
    # Beyond it the rule refuses more (what renders as nothing, noncharacters), never less.
    if _control_by_category(value, multiline):
        assert has_control_characters(value, multiline=multiline)


_DOMAINS = [
    "example.org",
    "EXAMPLE.org",
    "cs.ox.ac.uk",
    "bücher.example",
    "a" * 63 + ".example",
    ".".join(["b" * 60] * 4) + ".example",
    ".".join(["c" * 60] * 3) + ".example",
    "localhost",
    "example.invalid",
    "exa mple.org",
    "[127.0.0.1]",
    "example.org.",
    "-bad.example",
]


_address_parts = st.text(alphabet="aZ09.-_+!#'`~@\" é\u0430\u00a0\t", max_size=70)
#: Plain local parts around the 64-character limit, and whole addresses around 254.
_long_local_parts = st.text(alphabet="ab.", min_size=60, max_size=70)


@settings(max_examples=2000, deadline=None)
@given(
    local=_address_parts | _long_local_parts,
    domain=st.sampled_from(_DOMAINS) | _address_parts,
)
def test_the_address_check_agrees_with_email_validator_everywhere(local: str, domain: str) -> None:
    """email_address's fast path (a plain local part, each domain checked once) gives what the
    library gives on the whole address: the same spelling, or a refusal."""
    from email_validator import EmailNotValidError, validate_email

    from app.support.text import InvalidAddress, email_address

    value = f"{local}@{domain}"
    try:
        checked = validate_email(value, check_deliverability=False, allow_smtputf8=False)
        expected: str | None = checked.ascii_email or checked.normalized
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = email_address(value)
    except InvalidAddress:
        got = None
    assert got == expected
