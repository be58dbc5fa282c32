"""A letter's life in a real headless Chromium: a founding signatory signs from the emailed
invitation before the launch, and a signer keeps their signature after a change of substance.
axe-core finds no serious or critical accessibility problem on either page."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from app.db import db, utcnow
from app.letters import letters
from app.models import Signature, SignatureState
from app.signing import invitations
from app.signing.settings import signing_settings
from tests.browser.test_signing_in_a_browser import (  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    _chromium_present,
    live_server,
    pytestmark,
)
from tests.browser.test_trust_pages_in_a_browser import _serious_violations
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_signature
from tests.helpers import deliver_mail, text_body


def _link(smtp: SMTPServer, to: str, kind: str) -> str:
    [message] = smtp.recorder.to(to)
    found = re.search(rf"(https?://\S+/{kind}/\S+)", text_body(message))
    assert found, f"no {kind} link in the email to {to}"
    return found.group(1)


def test_a_founding_signatory_signs_from_the_invitation_in_a_browser(
    app: Flask,
    live_server: str,  # noqa: F811
    mail_to_smtp: SMTPServer,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    letter = make_letter(db.session, slug="founding", title="Ban deepfakes now")
    letter.embargoed, letter.launched_at = True, None
    invitations.invite(
        db.session,
        letter,
        b"name,email,affiliation,title,country\n"
        b"Ada Lovelace,ada@example.org,University of London,Professor,GB\n",
        settings=signing_settings(app.config),
        by=None,
        now=utcnow(),
    )
    db.session.commit()
    assert deliver_mail(app).sent == 1
    link = _link(mail_to_smtp, "ada@example.org", "invitation")
    assert link.startswith(live_server)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            assert page.goto(f"{live_server}/letters/founding").status == 404  # type: ignore[union-attr]
            page.goto(link)
            expect(page.get_by_test_id("embargo-notice")).to_be_visible()
            expect(page.get_by_label("Full name")).to_have_value("Ada Lovelace")
            expect(page.get_by_label("Affiliation (organisation)")).to_have_value(
                "University of London"
            )
            assert _serious_violations(page) == []
            page.get_by_label("Title or role").fill("Professor of Mathematics")
            page.get_by_label("Email me news about this letter").check()
            page.get_by_role("button", name="Sign the letter").click()
            expect(page.get_by_role("heading", name="Thank you for signing")).to_be_visible()
        finally:
            browser.close()

    db.session.remove()
    signature = db.session.scalars(select(Signature)).one()
    assert signature.state is SignatureState.VERIFIED and signature.initial
    assert signature.title == "Professor of Mathematics" and signature.wants_news


def test_a_signer_keeps_their_signature_after_a_change_of_substance_in_a_browser(
    app: Flask,
    live_server: str,  # noqa: F811
    mail_to_smtp: SMTPServer,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    letter = make_letter(db.session, slug="changed", body="We call for laws.")
    make_signature(db.session, letter=letter, name="Grace Hopper", email="grace@example.org")
    letters.update_letter(
        db.session, letter, title=letter.title, body="We call for binding laws.",
        status=letter.status, closes_at=None, target=None, now=utcnow(), substantive=True,
        by=None,
    )  # fmt: skip
    db.session.commit()
    assert deliver_mail(app).sent == 1
    link = _link(mail_to_smtp, "grace@example.org", "reaffirm")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(link)
            expect(
                page.get_by_role("heading", name="The text you signed has changed")
            ).to_be_visible()
            expect(page.get_by_test_id("diff")).to_contain_text("binding laws")
            assert _serious_violations(page) == []
            db.session.remove()
            assert db.session.scalars(select(Signature.reaffirmed_version)).one() is None
            page.get_by_role("button", name="Keep my signature under the new text").click()
            expect(page.get_by_role("heading", name="Your signature stays")).to_be_visible()
        finally:
            browser.close()

    db.session.remove()
    assert db.session.scalars(select(Signature.reaffirmed_version)).one() == 2
