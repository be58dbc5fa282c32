"""The breakdown and check-a-list pages in a real headless Chromium: they work by keyboard and
mouse, and axe-core finds no serious or critical accessibility problem on them."""

from __future__ import annotations

from playwright.sync_api import Page

from app.db import db
from app.organisations.breakdown import set_watch_list
from app.organisations.registry import OrganisationInput, save_organisation
from tests.browser.test_signing_in_a_browser import (  # noqa: F401  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    _chromium_present,
    live_server,
    pytestmark,
)
from tests.factories import make_letter, make_signature


def _serious_violations(page: Page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): "
        + "; ".join(node["html"][:120] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_the_breakdown_and_the_check_page_in_a_real_browser(live_server: str) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    letter = make_letter(db.session, slug="trust", title="Ban deepfakes now")
    oxford = save_organisation(
        db.session,
        OrganisationInput("University of Oxford", ["ox.ac.uk"], "academia", "GB"),
        by=None,
    )
    save_organisation(
        db.session, OrganisationInput("OpenAI", ["openai.com"], "industry", "US"), by=None
    )
    db.session.commit()
    assert oxford.id
    make_signature(
        db.session, letter=letter, name="Ada Lovelace", affiliation="University of Oxford"
    )
    make_signature(
        db.session, letter=letter, name="Alan Turing", affiliation="Oxford", country="FR"
    )
    set_watch_list(db.session, letter, ["OpenAI", "University of Oxford"], by=None)
    db.session.commit()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/letters/trust/breakdown")
            expect(
                page.get_by_role("heading", name="Who signed, and who is absent")
            ).to_be_visible()
            expect(page.get_by_text("No one from 1 of these 2 has signed: OpenAI.")).to_be_visible()
            expect(page.get_by_role("img", name="Signatories by country")).to_be_visible()
            oxford_row = page.get_by_role("row", name="University of Oxford Academia 0 1").first
            expect(oxford_row).to_be_visible()
            assert _serious_violations(page) == []

            page.goto(f"{live_server}/letters/trust/check")
            # By keyboard alone: type in the boxes, tab to the button, press Enter.
            page.get_by_label("Names, one per line").fill("ada lovelace\nNobody Here")
            page.get_by_label("Organisations or email domains, one per line").fill("openai.com")
            page.get_by_label("Organisations or email domains, one per line").press("Tab")
            expect(page.get_by_role("button", name="Check")).to_be_focused()
            page.keyboard.press("Enter")
            expect(page.get_by_role("row", name="ada lovelace Yes")).to_be_visible()
            expect(page.get_by_text("Not found among the listed signatories")).to_be_visible()
            expect(page.get_by_role("row", name="openai.com OpenAI 0 0")).to_be_visible()
            assert _serious_violations(page) == []
        finally:
            browser.close()
