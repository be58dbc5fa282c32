"""The public list of signatories: verified and public only, searchable, keyset-paged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.db import utcnow
from app.errors import InvalidInput
from app.models import SignatureState
from app.signatories import public_list
from tests.factories import make_letter, make_signature


def test_only_verified_public_signatures_are_listed_and_no_email_ever(
    client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="list")
    make_signature(session, letter=letter, name="Verified Public", email="vp@example.org")
    make_signature(session, letter=letter, name="Verified Private", is_public=False)
    for state in (SignatureState.PENDING, SignatureState.WITHDRAWN, SignatureState.HIDDEN):
        make_signature(session, letter=letter, name=f"Not {state.value}", state=state)
    page = client.get("/letters/list/signatories").get_data(as_text=True)
    assert "Verified Public" in page
    assert "Verified Private" not in page
    for state in ("pending", "withdrawn", "hidden"):
        assert f"Not {state}" not in page
    assert "@" not in page.replace("@-sign", "")
    assert "1 confirmed signature" not in page  # the private one counts too
    assert "2 confirmed signatures" in page


def test_search_by_name_or_affiliation_and_filter_by_country(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="search")
    make_signature(session, letter=letter, name="Grace Hopper", affiliation="US Navy", country="US")
    make_signature(
        session, letter=letter, name="Alan Turing", affiliation="Manchester", country="GB"
    )
    make_signature(
        session, letter=letter, name="Karen Spärck Jones", affiliation="Cambridge", country="GB"
    )

    def names(query: str) -> set[str]:
        page = client.get(f"/letters/search/signatories?{query}").get_data(as_text=True)
        return {n for n in ("Grace Hopper", "Alan Turing", "Karen Spärck Jones") if n in page}

    assert names("q=hopper") == {"Grace Hopper"}
    assert names("q=cambridge") == {"Karen Spärck Jones"}
    assert names("country=GB") == {"Alan Turing", "Karen Spärck Jones"}
    assert names("country=gb&q=turing") == {"Alan Turing"}
    assert names("q=%25") == set()  # a literal %, not a wildcard
    assert names("q=_") == set()
    assert client.get("/letters/search/signatories?country=ZZ").status_code == 400


def test_keyset_pages_walk_every_signatory_once_newest_first(
    app: Flask, client: FlaskClient, session, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "SIGNATORIES_PAGE_SIZE", 4)
    letter = make_letter(session, slug="pages")
    moment = utcnow() - timedelta(days=1)
    for number in range(11):
        # Two share each timestamp, so the id must break ties.
        make_signature(
            session,
            letter=letter,
            name=f"Person {number:02d}",
            verified_at=moment + timedelta(minutes=number // 2),
        )
    seen: list[str] = []
    url = "/letters/pages/signatories"
    pages = 0
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += [f"Person {n:02d}" for n in range(11) if f"Person {n:02d}" in page]
        pages += 1
        marker = 'rel="next" href="'
        url = (
            page[page.index(marker) + len(marker) :].split('"')[0].replace("&amp;", "&")
            if marker in page
            else ""
        )
    assert pages == 3
    assert sorted(seen) == [f"Person {n:02d}" for n in range(11)]
    assert len(seen) == len(set(seen))


def test_the_domain_page_function_orders_newest_first_with_a_cursor(session) -> None:
    letter = make_letter(session)
    moment = utcnow() - timedelta(hours=1)
    for number in range(5):
        make_signature(
            session,
            letter=letter,
            name=f"P{number}",
            verified_at=moment + timedelta(minutes=number),
        )
    first = public_list.signatory_page(session, letter, limit=2)
    assert [s.name for s in first.items] == ["P4", "P3"]
    second = public_list.signatory_page(session, letter, limit=2, cursor=first.next_cursor)
    assert [s.name for s in second.items] == ["P2", "P1"]
    third = public_list.signatory_page(session, letter, limit=2, cursor=second.next_cursor)
    assert [s.name for s in third.items] == ["P0"]
    assert third.next_cursor is None


@pytest.mark.parametrize("cursor", ["garbage", "!!!", "MjAyNnxub3Q", "bm8tcGlwZQ"])
def test_a_broken_cursor_is_a_400_not_a_crash(client: FlaskClient, session, cursor: str) -> None:
    letter = make_letter(session, slug="cursor")
    response = client.get(f"/letters/cursor/signatories?cursor={cursor}")
    assert response.status_code == 400
    assert "start again from the first page" in response.get_data(as_text=True)
    with pytest.raises(InvalidInput):
        public_list.signatory_page(session, letter, limit=2, cursor=cursor)
