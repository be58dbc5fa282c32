"""The sign form's fields, as the cheap widgets write them: escaped, and what was chosen kept."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.factories import make_letter
from tests.helpers import sign


def test_a_re_rendered_form_keeps_the_country_and_escapes_what_was_typed(
    client: FlaskClient, session
) -> None:
    make_letter(session, slug="kept")
    typed = "Ada \"<b>&'"
    page = sign(client, "kept", name=typed, country="FR", email="not an address").get_data(
        as_text=True
    )
    assert re.search(r'<option selected value="FR">France</option>', page)
    assert page.count("<option selected") == 1
    assert "<b>" not in page.split('name="name"')[0][-300:] + page.split('name="name"')[1][:300]
    assert 'value="Ada &#34;&lt;b&gt;&amp;&#39;"' in page


def test_a_blank_form_offers_every_country_after_the_prompt(client: FlaskClient, session) -> None:
    make_letter(session, slug="blank")
    page = client.get("/letters/blank").get_data(as_text=True)
    select = page[page.index("<select") : page.index("</select>")]
    assert '<option value="">Choose your country</option>' in select
    assert select.count("<option") > 240
    assert "selected" not in select
    assert "required" in select.split(">")[0]


def test_the_blank_form_each_process_keeps_never_holds_one_signers_answers(
    client: FlaskClient, session
) -> None:
    make_letter(session, slug="kept-blank")
    before = client.get("/letters/kept-blank").get_data(as_text=True)
    refused = sign(client, "kept-blank", name="Grace Hopper", email="not an address")
    assert refused.status_code == 422
    assert "Grace Hopper" in refused.get_data(as_text=True)
    after = client.get("/letters/kept-blank").get_data(as_text=True)
    assert after == before
    assert "Grace Hopper" not in after and "error-summary" not in after
    assert 'name="csrf_token" value=""' in after
