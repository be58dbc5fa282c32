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


def test_the_breakdown_and_check_pages_with_unregistered_affiliations_at_phone_and_desktop_widths(
    live_server: str,  # noqa: F811
    tmp_path,
) -> None:
    """What an import of real data gives: registered organisations reached by other names,
    affiliations outside the registry, imported signatures. Axe-clean at 390 and 1366 px, no
    chart text under 12 px on the phone, each name linking to the list filtered to it."""
    import os
    import shutil

    from playwright.sync_api import expect, sync_playwright

    letter = make_letter(db.session, slug="real-data", title="Ban deepfakes now")
    save_organisation(
        db.session,
        OrganisationInput(
            "Massachusetts Institute of Technology", ["mit.edu"], "academia", "US", aliases=["MIT"]
        ),
        by=None,
    )
    save_organisation(
        db.session, OrganisationInput("Anthropic", ["anthropic.com"], "industry", "US"), by=None
    )
    db.session.commit()
    for number, affiliation in enumerate(
        ["MIT"] * 4
        + ["Massachusetts Institute of Technology"] * 2
        + ["Harvard University"] * 3
        + ["Independent researcher"] * 2
        + ["Anthropic"]
    ):
        signature = make_signature(
            db.session, letter=letter, name=f"Person {number}", affiliation=affiliation
        )
        if number % 3 == 0:
            signature.source = "Paper forms, Geneva 2026"
    set_watch_list(db.session, letter, ["MIT", "Anthropic"], by=None)
    db.session.commit()

    shots = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for width_name, viewport in (
                ("phone", {"width": 390, "height": 844}),
                ("desktop", {"width": 1366, "height": 900}),
            ):
                page = browser.new_page(viewport=viewport)
                page.goto(f"{live_server}/letters/real-data/breakdown")
                expect(
                    page.get_by_text("People from every one of them have signed.")
                ).to_be_visible()
                expect(
                    page.get_by_role("heading", name="Affiliations not in the registry")
                ).to_be_visible()
                expect(page.get_by_role("row", name="Harvard University 3")).to_be_visible()
                expect(page.get_by_text("named it as their affiliation")).to_be_visible()
                # The chart's words as drawn on the screen: 12 px at least.
                smallest = page.evaluate(
                    """() => Math.min(...[...document.querySelectorAll('svg.chart text')].map(
                        t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a))"""
                )
                assert smallest >= 12, f"chart text of {smallest:.1f} px at {width_name} width"
                assert _serious_violations(page) == []
                shot = tmp_path / f"breakdown-unregistered-{width_name}.png"
                page.screenshot(path=str(shot), full_page=True)
                shots.append(shot)

                page.get_by_role("link", name="Massachusetts Institute of Technology").first.click()
                expect(
                    page.get_by_text(
                        "Only signatories who named Massachusetts Institute of Technology."
                    )
                ).to_be_visible()
                assert page.locator("ul.signatories li").count() == 6
                expect(page.get_by_text("imported: Paper forms, Geneva 2026").first).to_be_visible()
                assert _serious_violations(page) == []
                shot = tmp_path / f"signatories-of-an-organisation-{width_name}.png"
                page.screenshot(path=str(shot), full_page=True)
                shots.append(shot)

                page.goto(f"{live_server}/letters/real-data/check")
                page.get_by_label("Names, one per line").fill(
                    "Name, Affiliation\nPerson 1, MIT\nNobody Here, Oxford"
                )
                page.get_by_label("Organisations or email domains, one per line").fill(
                    "MIT\nmit.edu\nHarvard University\nOpenAI"
                )
                page.get_by_role("button", name="Check").click()
                expect(page.get_by_text("1 of 2 names signed.")).to_be_visible()
                expect(page.get_by_text("People from 3 of 4 organisations signed.")).to_be_visible()
                expect(
                    page.get_by_role("row", name="MIT Massachusetts Institute of Technology 0 6")
                ).to_be_visible()
                expect(
                    page.get_by_role("button", name="Download the results (CSV)")
                ).to_be_visible()
                assert _serious_violations(page) == []
                shot = tmp_path / f"check-a-list-results-{width_name}.png"
                page.screenshot(path=str(shot), full_page=True)
                shots.append(shot)
                page.close()
        finally:
            browser.close()
    if os.environ.get("SCREENSHOT_DIR"):
        for shot in shots:
            shutil.copy(shot, os.environ["SCREENSHOT_DIR"])
