"""The whole signing story in a real headless Chromium, against a live server."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app.db import db
from app.models import Signature, SignatureState
from tests.conftest import SMTPServer, free_port
from tests.factories import make_letter
from tests.helpers import confirm_link, deliver_mail

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _chromium_present() -> None:
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    message = f"no Chromium at {CHROMIUM}: `apt-get install chromium` (make test does it as root)"
    if os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def live_server(app: Flask, committed_db, monkeypatch) -> Iterator[str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    monkeypatch.setitem(app.config, "BASE_URL", base_url)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base_url
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_a_signer_signs_and_confirms_in_a_real_browser(
    app: Flask, live_server: str, mail_to_smtp: SMTPServer, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    make_letter(db.session, slug="browser", title="Ban deepfakes now")
    db.session.commit()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/letters/browser")
            expect(page.get_by_role("heading", name="Ban deepfakes now")).to_be_visible()

            # A mistake first: the error appears by the field and the other answers stay.
            page.get_by_label("Full name").fill("Grace Hopper")
            # The shared, cached page has no token; the form fetched this visitor's own.
            expect(page.locator("input[name=csrf_token]")).not_to_have_value("")
            page.get_by_label("Email address").fill("grace@navy")
            page.get_by_label("Affiliation (organisation)").fill("Yale University")
            page.get_by_label("Title or role").fill("Rear Admiral")
            page.get_by_label("Country").select_option(label="United States")
            page.get_by_role("button", name="Sign the letter").click()
            expect(page.locator("#email-error")).to_contain_text("period")
            expect(page.get_by_label("Full name")).to_have_value("Grace Hopper")

            page.get_by_label("Email address").fill("grace@navy.example.mil")
            page.get_by_role("button", name="Sign the letter").click()
            expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
            page.screenshot(path=str(tmp_path / "check-email.png"))

            assert deliver_mail(app).sent == 1
            link = confirm_link(mail_to_smtp.recorder.messages[0])
            assert link.startswith(live_server)

            page.goto(link)
            expect(page.get_by_role("button", name="Confirm my signature")).to_be_visible()
            db.session.remove()
            assert db.session.scalars(select(Signature)).one().state is SignatureState.PENDING

            page.get_by_role("button", name="Confirm my signature").click()
            expect(page.get_by_role("heading", name="Thank you")).to_be_visible()

            page.goto(f"{live_server}/letters/browser/signatories")
            expect(page.get_by_text("Grace Hopper")).to_be_visible()
            expect(page.get_by_text("Yale University")).to_be_visible()
            page.screenshot(path=str(tmp_path / "signatories.png"), full_page=True)
            if os.environ.get("SCREENSHOT_DIR"):
                for shot in tmp_path.glob("*.png"):
                    shutil.copy(shot, os.environ["SCREENSHOT_DIR"])
        finally:
            browser.close()

    db.session.remove()
    assert db.session.scalars(select(Signature)).one().state is SignatureState.VERIFIED


def test_without_javascript_the_cached_form_still_signs(live_server: str) -> None:
    """No script fetches a token: the browser's own Sec-Fetch-Site/Origin proves the origin."""
    from playwright.sync_api import expect, sync_playwright

    make_letter(db.session, slug="no-script", title="Signed without scripts")
    db.session.commit()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(f"{live_server}/letters/no-script")
            page.get_by_label("Full name").fill("Alan Turing")
            page.get_by_label("Email address").fill("alan@example.org")
            page.get_by_label("Affiliation (organisation)").fill("University of Manchester")
            page.get_by_label("Title or role").fill("Reader")
            page.get_by_label("Country").select_option(label="United Kingdom")
            expect(page.locator("input[name=csrf_token]")).to_have_value("")
            page.get_by_role("button", name="Sign the letter").click()
            expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        finally:
            browser.close()

    db.session.remove()
    assert db.session.scalars(select(Signature)).one().name == "Alan Turing"
