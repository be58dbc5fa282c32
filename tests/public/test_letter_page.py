"""The letter page and the home page."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient

from app.db import utcnow
from app.models import LetterStatus, SignatureState
from tests.factories import make_letter, make_signature


def test_the_letter_page_shows_the_text_the_count_the_newest_and_the_form(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="page", title="A letter", body="We **call** for laws.")
    make_signature(session, letter=letter, name="Listed Person")
    make_signature(session, letter=letter, name="Private Person", is_public=False)
    make_signature(session, letter=letter, name="Pending Person", state=SignatureState.PENDING)

    page = client.get("/letters/page").get_data(as_text=True)
    assert "<h1>A letter</h1>" in page
    assert "<strong>call</strong>" in page
    assert '<strong data-testid="verified-count">2</strong>' in page
    assert "Listed Person" in page
    assert "Private Person" not in page
    assert "Pending Person" not in page
    assert 'action="/letters/page/sign"' in page


def test_every_form_field_has_a_label(client: FlaskClient, session) -> None:
    make_letter(session, slug="labels")
    page = client.get("/letters/labels").get_data(as_text=True)
    form = page[page.index("<form") : page.index("</form>")]
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', form)
    visible = [i for i in ids if i != "csrf_token"]
    assert set(visible) == {
        "name", "email", "affiliation", "title", "country", "comment", "signing_as-0",
        "signing_as-1", "is_public", "wants_news", "website"
    }  # fmt: skip
    # The honeypot is hidden from people (and from screen readers) but labelled all the same.
    assert 'class="hp" aria-hidden="true"' in form
    for field_id in visible:
        assert f'<label for="{field_id}">' in form, field_id
    # Countries come from ISO 3166, stored as their two-letter codes.
    assert '<option value="DE">Germany</option>' in form


def test_markdown_is_rendered_and_sanitised(client: FlaskClient, session) -> None:
    make_letter(
        session,
        slug="hostile",
        body=(
            "Hello <script>alert(1)</script>\n\n"
            "[click](javascript:alert(2))\n\n"
            '<img src=x onerror="alert(3)">\n\n'
            "[fine](https://example.org)"
        ),
    )
    page = client.get("/letters/hostile").get_data(as_text=True)
    body = page[page.index('<div class="body">') :]
    assert "<script>" not in body
    assert 'href="javascript' not in body
    assert "<img" not in body
    assert 'href="https://example.org"' in body
    assert "noopener" in body


def test_the_home_page_lists_open_letters_only(client: FlaskClient, session) -> None:
    make_letter(session, slug="open", title="Open one")
    make_letter(session, slug="draft", title="Draft one", status=LetterStatus.DRAFT)
    make_letter(session, slug="closed", title="Closed one", status=LetterStatus.CLOSED)
    make_letter(session, slug="expired", title="Expired one", closes_at=utcnow() - timedelta(1))
    page = client.get("/").get_data(as_text=True)
    assert "Open one" in page
    for hidden in ("Draft one", "Closed one", "Expired one"):
        assert hidden not in page


def test_pages_carry_security_headers(client: FlaskClient, session) -> None:
    make_letter(session, slug="headers")
    response = client.get("/letters/headers")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
