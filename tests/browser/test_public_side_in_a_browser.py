"""The public side (and the organisers' console) in a real headless Chromium, in each of the
site's languages: signing by keyboard alone with a visible focus, the error summary, no
horizontal scrolling on a phone or at 200% zoom, axe-core on every public page, every email and
the console's main pages, and screenshots of the main pages at phone and desktop widths.

Expected words come from the catalogues (app/translations), never typed here in French, German
or Spanish: a page that says them is a page that is translated as the catalogue says."""

from __future__ import annotations

import csv
import functools
import os
import re
import shutil
import struct
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.support import NullTranslations, Translations
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)
from sqlalchemy import select, update

from app.db import db, utcnow
from app.extensions import limiter
from app.letters import letters, milestones, updates
from app.models import Letter, OrganiserRole, OutboundEmail, Signature, SignatureState
from app.organisations.breakdown import set_watch_list
from app.organisations.registry import OrganisationInput, save_organisation
from app.signatories import snapshots
from app.signing import emails as signing_emails
from app.signing import invitations, lifecycle, signer_access
from app.signing.settings import signing_settings
from app.support.countries import country_name
from app.support.languages import LANGUAGES
from config import PROJECT_ROOT
from tests.browser.test_signing_in_a_browser import (  # noqa: F401
    CHROMIUM,
    CHROMIUM_ARGS,
    _chromium_present,
    live_server,
    pytestmark,
)
from tests.browser.test_trust_pages_in_a_browser import _serious_violations
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import PASSWORD, confirm_link, deliver_mail, html_body, text_body

LANGS = list(LANGUAGES)  # en, fr, de, es
TITLE = "Ban deepfakes now"
PHONE = ViewportSize(width=360, height=740)
DESKTOP = ViewportSize(width=1280, height=900)
#: WCAG 2.2's reflow width (1.4.10): 320 CSS pixels.
NARROWEST = ViewportSize(width=320, height=640)
#: 200% zoom of a 1280 px wide window: the page lays out in 640 CSS px.
ZOOMED = ViewportSize(width=640, height=400)
#: The public pages of a letter, by what a reader would call them (paths under /letters/<slug>).
LETTER_PAGES = {
    "letter": "",
    "signatories": "/signatories",
    "breakdown": "/breakdown",
    "stats": "/stats",
    "history": "/history",
    "check": "/check",
    "updates": "/updates",
    "snapshots": "/snapshots",
    "poster": "/poster",
    "embed": "/embed",
}
SIGNERS = {
    "en": "Grace Hopper",
    "fr": "Émilie du Châtelet",
    "de": "Emmy Noether",
    "es": "Margarita Salas",
}


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    """The my-signatures and sign-in limits count per address: start each test afresh."""
    limiter.reset()


@pytest.fixture
def chromium(live_server: str) -> Iterator[Browser]:  # noqa: F811
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@functools.cache
def _catalogue(lang: str) -> NullTranslations:
    return Translations.load(str(PROJECT_ROOT / "app" / "translations"), [lang], domain="messages")


def t(lang: str, msgid: str, **values: Any) -> str:
    """`msgid` as the catalogue of `lang` words it (English is the msgid itself)."""
    text = _catalogue(lang).gettext(msgid)
    if lang != "en":
        assert text != msgid, f"{msgid!r} is not translated into {lang}"
    return text % values if values else text


def _in(lang: str) -> str:
    return f"?lang={lang}"


def _speaks(page: Page, lang: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", lang)


def _focus_ring(page: Page) -> dict[str, Any]:
    ring: dict[str, Any] = page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {
                element: el.outerHTML.slice(0, 120),
                focusVisible: el.matches(":focus-visible"),
                outlineStyle: style.outlineStyle,
                outlineWidth: style.outlineWidth,
                boxShadow: style.boxShadow,
            };
        }"""
    )
    return ring


def _assert_focus_is_visible(page: Page) -> None:
    ring = _focus_ring(page)
    outlined = ring["outlineStyle"] != "none" and ring["outlineWidth"] not in ("0px", "")
    shadowed = ring["boxShadow"] not in ("none", "")
    assert ring["focusVisible"] and (outlined or shadowed), f"no visible focus: {ring}"


def _horizontal_overflow(page: Page) -> dict[str, Any] | None:
    """None if the page fits the window's width; else the widths and the innermost elements
    that make it wider: boxes that stick out past the window's edge, or whose content (a long
    word, a wide table) spills out of them. What a scrolling or clipping box holds is its own
    business, not the page's."""
    found: dict[str, Any] = page.evaluate(
        """() => {
            const width = window.innerWidth;
            const clipped = (el) => {
                for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
                    if (getComputedStyle(up).overflowX !== "visible") return true;
                }
                return false;
            };
            const culprits = [];
            for (const el of document.querySelectorAll("body *")) {
                const box = el.getBoundingClientRect();
                if (box.width === 0 || clipped(el)) continue;
                const spills = getComputedStyle(el).overflowX === "visible"
                    && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1;
                if (box.right > width + 0.5 || spills) culprits.push(el);
            }
            const innermost = culprits.filter(
                (el) => !culprits.some((other) => other !== el && el.contains(other))
            );
            return {
                scrollWidth: document.documentElement.scrollWidth,
                innerWidth: width,
                culprits: innermost.slice(0, 4).map((el) => el.outerHTML.slice(0, 160)),
            };
        }"""
    )
    return None if found["scrollWidth"] <= found["innerWidth"] else found


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _a_letter_with_a_story(slug: str = "story") -> Letter:
    """A letter that has lived a little: signatories on several days (one notable), watched
    organisations, an update, an addressee's response, two snapshots, a corrected second
    version of the text and a French translation."""
    now = utcnow()
    letter = make_letter(
        db.session,
        slug=slug,
        title=TITLE,
        body="We, the undersigned, call for **laws** against non-consensual deepfakes.\n\n"
        "Platforms must take them down within a day of a report.",
    )
    letter.organisers_name = "Coalition for Digital Dignity"
    save_organisation(
        db.session,
        OrganisationInput("University of Oxford", ["ox.ac.uk"], "academia", "GB"),
        by=None,
    )
    save_organisation(
        db.session, OrganisationInput("OpenAI", ["openai.com"], "industry", "US"), by=None
    )
    db.session.commit()
    people = [
        ("Ada Lovelace", "University of Oxford", "Professor of Mathematics", "GB"),
        ("Alan Turing", "University of Manchester", "Reader", "GB"),
        ("Katherine Johnson", "NASA Langley Research Center", "Research Mathematician", "US"),
        ("Hedy Lamarr", "Max-Planck-Institut für Intelligente Systeme", "Inventor", "DE"),
        ("Sophie Germain", "Sorbonne Université", "Chercheuse", "FR"),
    ]
    for day, (name, affiliation, title, country) in enumerate(people):
        make_signature(
            db.session,
            letter=letter,
            name=name,
            affiliation=affiliation,
            title=title,
            country=country,
            signed_at=now - timedelta(days=day, hours=1),
        )
    ada = db.session.scalars(select(Signature).where(Signature.name == "Ada Lovelace")).one()
    ada.is_notable, ada.notable_context = True, "Pioneer of computing"
    set_watch_list(db.session, letter, ["OpenAI", "University of Oxford"], by=None)
    updates.publish_update(
        db.session,
        letter,
        subject="Delivered to Parliament",
        body="We delivered the letter **today**, with every name on it.",
        by=None,
        now=now,
        sender_domain="localhost",
    )
    updates.record_response(
        db.session,
        letter,
        responder="Minister for Digital Affairs",
        responded_on=date.today(),
        summary="The minister promised a bill before the summer.",
        url="https://example.org/reply",
        by=None,
    )
    snapshots.take_snapshot(db.session, letter, note="Delivered", by=None, now=now)
    snapshots.take_snapshot(db.session, letter, note=None, by=None, now=now + timedelta(seconds=1))
    letters.update_letter(
        db.session, letter, title=TITLE,
        body="We, the undersigned, call for **laws** against non-consensual deepfakes.\n\n"
        "Platforms must take them down within a day of a report, and say how many they took down.",
        status=letter.status, closes_at=None, target=100, now=now, substantive=False, by=None,
    )  # fmt: skip
    letters.save_translation(
        db.session,
        letter,
        language="fr",
        title="Interdire les hypertrucages",
        body="Nous, soussignés, demandons des **lois** contre les hypertrucages.",
        by=None,
    )
    db.session.commit()
    return letter


# --- 1. signing by keyboard alone, in each language ---------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_signer_signs_by_keyboard_alone_in_each_language(
    app: Flask,
    live_server: str,  # noqa: F811
    mail_to_smtp: SMTPServer,
    chromium: Browser,
    lang: str,
) -> None:
    slug = f"keyboard-{lang}"
    make_letter(db.session, slug=slug, title=TITLE)
    db.session.commit()
    name = SIGNERS[lang]
    address = f"signer-{lang}@example.org"
    # The signer's browser speaks their language too: the emailed link (which names no
    # language) opens in it.
    context = chromium.new_context(locale=lang)
    page = context.new_page()

    page.goto(f"{live_server}/letters/{slug}{_in(lang)}")
    _speaks(page, lang)
    expect(page.get_by_role("heading", name=t(lang, "Sign this letter"))).to_be_visible()

    # From the top of the page: the first Tab shows the skip link, and Tab alone reaches the form.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name=t(lang, "Skip to content"))
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    _assert_focus_is_visible(page)
    for _ in range(100):
        if page.evaluate("document.activeElement.id") == "name":
            break
        page.keyboard.press("Tab")
    field = page.locator("form [name=name]")
    expect(field).to_be_focused()
    _assert_focus_is_visible(page)
    page.keyboard.type(name)

    answers = [
        ("email", address),
        ("affiliation", "Institut Pasteur"),
        ("title", "Directrice de recherche"),
        ("country", country_name("DE", lang)),  # typed into the closed list: type-ahead
        ("comment", "Deepfakes harm real people."),
    ]
    for field_name, typed in answers:
        page.keyboard.press("Tab")
        expect(page.locator(f"form [name={field_name}]")).to_be_focused()
        _assert_focus_is_visible(page)
        page.keyboard.type(typed)
    expect(page.locator("form [name=country]")).to_have_value("DE")
    page.keyboard.press("Tab")  # the two ways to sign: one stop, on the chosen one
    expect(page.locator("form [name=signing_as]:checked")).to_be_focused()
    _assert_focus_is_visible(page)
    page.keyboard.press("Tab")
    expect(page.locator("form [name=is_public]")).to_be_focused()
    expect(page.locator("form [name=is_public]")).to_be_checked()
    _assert_focus_is_visible(page)
    page.keyboard.press("Tab")
    expect(page.locator("form [name=wants_news]")).to_be_focused()
    _assert_focus_is_visible(page)
    page.keyboard.press("Tab")
    button = page.get_by_role("button", name=t(lang, "Sign the letter"))
    expect(button).to_be_focused()
    _assert_focus_is_visible(page)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name=t(lang, "Check your email"))).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/letters/{slug}/check-email\?lang={lang}$"))
    _speaks(page, lang)

    assert deliver_mail(app).sent == 1
    [message] = mail_to_smtp.recorder.to(address)
    assert message["Subject"] == t(lang, "Confirm your signature: %(title)s", title=TITLE)
    link = confirm_link(message)
    assert link.startswith(live_server)

    page.goto(link)
    _speaks(page, lang)
    confirm = page.get_by_role("button", name=t(lang, "Confirm my signature"))
    confirm.focus()
    page.keyboard.press("Enter")
    expect(
        page.get_by_role("heading", name=t(lang, "Thank you: your signature is confirmed"))
    ).to_be_visible()

    page.goto(f"{live_server}/letters/{slug}/signatories{_in(lang)}")
    _speaks(page, lang)
    expect(page.get_by_role("heading", name=t(lang, "Signatories"), exact=True)).to_be_visible()
    expect(page.locator(".signatories .name", has_text=name)).to_be_visible()
    context.close()

    db.session.remove()
    signature = db.session.scalars(select(Signature)).one()
    assert signature.state is SignatureState.VERIFIED
    assert (signature.name, signature.country, signature.language) == (name, "DE", lang)


# --- 2. the error summary ------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_an_empty_form_gets_an_error_summary_whose_links_lead_to_the_fields(
    live_server: str,  # noqa: F811
    chromium: Browser,
    lang: str,
) -> None:
    make_letter(db.session, slug="errors", title=TITLE)
    db.session.commit()
    page = chromium.new_page()
    page.goto(f"{live_server}/letters/errors{_in(lang)}")
    page.get_by_role("button", name=t(lang, "Sign the letter")).click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    _speaks(page, lang)
    expect(summary.get_by_role("heading")).to_have_text(t(lang, "Please check your answers"))
    # At the top of the form: before its first field, on the page and in the document.
    assert page.evaluate(
        """() => {
            const summary = document.querySelector(".error-summary");
            const form = document.querySelector("section.sign form");
            const after = summary.compareDocumentPosition(form);
            return Boolean(after & Node.DOCUMENT_POSITION_FOLLOWING);
        }"""
    )
    summary_box, name_box = summary.bounding_box(), page.locator("#name").bounding_box()
    assert summary_box and name_box and summary_box["y"] + summary_box["height"] <= name_box["y"]

    links = summary.get_by_role("link")
    wrong = ["name", "email", "affiliation", "title", "country"]
    expect(links).to_have_count(len(wrong))
    expect(links.first).to_have_text(t(lang, "Please enter your full name."))
    for link, field_name in zip(links.all(), wrong, strict=True):
        expect(link).to_have_attribute("href", f"#{field_name}")
        field = page.locator(f"#{field_name}")
        expect(field).to_have_attribute("name", field_name)
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_attribute("aria-describedby", re.compile(rf"{field_name}-error"))

    links.first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#name")).to_be_focused()
    _assert_focus_is_visible(page)


# --- 3. no horizontal scrolling on a phone, nor at 200% zoom -------------------------------


def _public_pages() -> dict[str, str]:
    pages = {name: f"/letters/story{path}" for name, path in LETTER_PAGES.items()}
    pages["my-signatures"] = "/my-signatures"
    return pages


def _pages_scrolling_sideways(page: Page, base_url: str, lang: str) -> dict[str, Any]:
    """Each public page that is wider than the window, with what sticks out."""
    overflowing = {}
    for name, path in _public_pages().items():
        response = page.goto(f"{base_url}{path}{_in(lang)}")
        assert response is not None and response.status == 200, name
        _speaks(page, lang)
        expect(page.locator("main")).to_be_visible()
        if (found := _horizontal_overflow(page)) is not None:
            overflowing[name] = found
    return overflowing


@pytest.mark.parametrize("lang", LANGS)
def test_no_page_scrolls_sideways_on_a_phone(
    live_server: str,  # noqa: F811
    chromium: Browser,
    lang: str,
) -> None:
    _a_letter_with_a_story()
    for viewport in (PHONE, NARROWEST):
        page = chromium.new_page(viewport=viewport)
        assert _pages_scrolling_sideways(page, live_server, lang) == {}, viewport
        page.close()


@pytest.mark.parametrize("lang", LANGS)
def test_no_page_scrolls_sideways_at_200_percent_zoom(
    live_server: str,  # noqa: F811
    chromium: Browser,
    lang: str,
) -> None:
    """A 1280 px window at 200% lays pages out in 640 CSS px (device_scale_factor would only
    sharpen the pixels, not enlarge the page)."""
    _a_letter_with_a_story()
    page = chromium.new_page(viewport=ZOOMED)
    page.goto(f"{live_server}/letters/story{_in(lang)}")
    _speaks(page, lang)
    expect(page.get_by_role("heading", name=t(lang, "Sign this letter"))).to_be_visible()
    assert _horizontal_overflow(page) is None  # the letter page first: where people sign
    assert _pages_scrolling_sideways(page, live_server, lang) == {}


def test_the_posters_qr_code_is_drawn_whole(
    live_server: str,  # noqa: F811
    chromium: Browser,
) -> None:
    """The poster's QR code is sized by CSS: all of it must be drawn inside the box it is
    given (an SVG without a viewBox is cropped, not scaled), or it cannot be scanned."""
    _a_letter_with_a_story()
    page = chromium.new_page(viewport=DESKTOP)
    page.goto(f"{live_server}/letters/story/poster")
    qr = page.locator(".poster-qr svg")
    expect(qr).to_be_visible()
    box, drawn = qr.bounding_box(), qr.locator("path").first.bounding_box()
    assert box and drawn
    assert drawn["x"] + drawn["width"] <= box["x"] + box["width"] + 0.5, (box, drawn)
    assert drawn["y"] + drawn["height"] <= box["y"] + box["height"] + 0.5, (box, drawn)


# --- 4. axe-core on every page and every email; the organiser's console ---------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_axe_finds_nothing_serious_on_the_public_pages(
    app: Flask,
    live_server: str,  # noqa: F811
    mail_to_smtp: SMTPServer,
    chromium: Browser,
    lang: str,
) -> None:
    _a_letter_with_a_story()
    context = chromium.new_context(locale=lang)
    page = context.new_page()
    found: dict[str, list[str]] = {}

    def check(label: str) -> None:
        _speaks(page, lang)
        if violations := _serious_violations(page):
            found[label] = violations

    for label, path in LETTER_PAGES.items():
        page.goto(f"{live_server}/letters/story{path}{_in(lang)}")
        check(label)

    page.goto(f"{live_server}/letters/story/check{_in(lang)}")
    page.locator("[name=names]").fill("ada lovelace\nNobody Here")
    page.locator("[name=organisations]").fill("openai.com")
    page.get_by_role("button", name=t(lang, "Check"), exact=True).click()
    expect(page.get_by_role("table").first).to_be_visible()
    expect(page.get_by_text(t(lang, "Not found among the listed signatories"))).to_be_visible()
    check("check, with a result")

    assert page.goto(f"{live_server}/letters/no-such-letter{_in(lang)}").status == 404  # type: ignore[union-attr]
    check("404")

    page.goto(f"{live_server}/letters/story{_in(lang)}")
    page.get_by_role("button", name=t(lang, "Sign the letter")).click()
    expect(page.locator(".error-summary")).to_be_visible()
    check("sign form with errors")

    address = f"axe-{lang}@example.org"
    page.locator("form [name=name]").fill(SIGNERS[lang])
    page.locator("form [name=email]").fill(address)
    page.locator("form [name=affiliation]").fill("Institut Pasteur")
    page.locator("form [name=title]").fill("Researcher")
    page.locator("form [name=country]").select_option("FR")
    page.get_by_role("button", name=t(lang, "Sign the letter")).click()
    expect(page.get_by_role("heading", name=t(lang, "Check your email"))).to_be_visible()
    check("check your email")

    assert deliver_mail(app).sent >= 1
    [message] = mail_to_smtp.recorder.to(address)
    page.goto(confirm_link(message))
    expect(page.get_by_role("button", name=t(lang, "Confirm my signature"))).to_be_visible()
    check("confirm")
    page.get_by_role("button", name=t(lang, "Confirm my signature")).click()
    expect(
        page.get_by_role("heading", name=t(lang, "Thank you: your signature is confirmed"))
    ).to_be_visible()
    check("confirmed")
    page.get_by_role("link", name=t(lang, "withdraw your signature")).click()
    expect(page.locator("form button[type=submit]")).to_be_visible()
    check("withdraw")

    page.goto(f"{live_server}/my-signatures{_in(lang)}")
    check("my signatures: ask for the link")
    page.locator("[name=email]").fill(address)
    page.get_by_role("button", name=t(lang, "Email me the link")).click()
    expect(page.get_by_role("heading", name=t(lang, "Check your email"))).to_be_visible()
    check("my signatures: link sent")
    assert deliver_mail(app).sent == 1
    [sent] = [m for m in mail_to_smtp.recorder.to(address) if "/my-signatures/" in text_body(m)]
    link = re.search(r"(https?://\S+/my-signatures/\S+)", text_body(sent))
    assert link
    page.goto(link.group(1))
    expect(page.get_by_text(TITLE).first).to_be_visible()
    check("my signatures")
    context.close()

    assert found == {}


def _queue_every_email(app: Flask, lang: str) -> set[str]:
    """One email of each kind, for signers who read the site in `lang`; the kinds queued."""
    settings = signing_settings(app.config)
    now = utcnow()
    letter = make_letter(db.session, slug=f"mail-{lang}", title=TITLE)
    db.session.commit()

    def answers(name: str, email: str, **more: Any) -> lifecycle.SignatureInput:
        return lifecycle.SignatureInput(
            name=name, email=email, affiliation="Institut Pasteur", title="Researcher",
            country="FR", comment=None, is_public=True, language=lang, **more,
        )  # fmt: skip

    lifecycle.sign(
        db.session,
        letter,
        answers("Ana Confirm", "confirm@example.org"),
        settings=settings,
        now=now,
    )
    verified = make_signature(
        db.session, letter=letter, name="Vera Verified", email="verified@example.org"
    )
    verified.language, verified.wants_news = lang, True
    db.session.commit()
    signing_emails.queue_about_signature(
        db.session, signing_emails.REMINDER, verified, settings
    )  # the reminder's words, even for a confirmed signature: written all the same
    signing_emails.queue_about_signature(
        db.session, signing_emails.ALREADY_SIGNED, verified, settings
    )
    signing_emails.queue_withdrawal_receipt(
        db.session, letter, name="Wanda Withdrawn", to_address="withdrawn@example.org",
        language=lang, settings=settings,
    )  # fmt: skip
    signer_access.request_access(
        db.session, "verified@example.org", language=lang, settings=settings, now=now
    )
    updates.publish_update(
        db.session, letter, subject="Delivered to Parliament",
        body="We delivered the letter **today**.", by=None, now=now, sender_domain="localhost",
    )  # fmt: skip
    letters.update_letter(
        db.session, letter, title=TITLE, body="We call for binding laws against deepfakes.",
        status=letter.status, closes_at=None, target=None, now=now, substantive=True,
        milestones=[1], by=None, sender_domain="localhost",
    )  # fmt: skip
    make_organiser(
        db.session, email="owner@campaign.example", letters={letter: OrganiserRole.OWNER}
    )
    milestones.queue_milestone_emails(db.session, sender_domain="localhost")

    embargoed = make_letter(db.session, slug=f"invited-{lang}", title=TITLE)
    embargoed.embargoed, embargoed.launched_at = True, None
    invited = b"name,email,affiliation,title,country\nIvy Invited,ivy@example.org,Oxford,Prof,GB\n"
    invitations.invite(db.session, embargoed, invited, settings=settings, by=None, now=now)
    # The invitation names no signer yet: written in the language of the list it came with.
    db.session.execute(
        update(OutboundEmail).where(OutboundEmail.kind == "invitation").values(language=lang)
    )
    db.session.commit()
    return set(db.session.scalars(select(OutboundEmail.kind)))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_axe_finds_nothing_serious_in_any_email(
    app: Flask,
    live_server: str,  # noqa: F811
    mail_to_smtp: SMTPServer,
    chromium: Browser,
    lang: str,
) -> None:
    kinds = _queue_every_email(app, lang)
    every_kind = {
        path.name.split(".")[0] for path in (PROJECT_ROOT / "templates" / "mail").glob("*.html")
    }
    assert kinds >= every_kind | {"reminder"}, f"not queued: {every_kind - kinds}"
    stats = deliver_mail(app)
    assert stats.sent == len(mail_to_smtp.recorder.messages) >= len(kinds)

    page = chromium.new_page()
    found: dict[str, list[str]] = {}
    for message in mail_to_smtp.recorder.messages:
        page.set_content(html_body(message))
        milestone = message["To"] == "owner@campaign.example"  # to the team: in English
        expect(page.locator("html")).to_have_attribute("lang", "en" if milestone else lang)
        if violations := _serious_violations(page):
            found[f"{message['Subject']} (to {message['To']})"] = violations
    assert found == {}


def test_the_organiser_console_in_a_browser(
    live_server: str,  # noqa: F811
    chromium: Browser,
    tmp_path: Path,
) -> None:
    letter = _a_letter_with_a_story()
    fake = make_signature(
        db.session, letter=letter, name="Mallory Fake", email="mallory@example.org"
    )
    owner = make_organiser(db.session, letters={letter: OrganiserRole.OWNER})
    fake_id, slug = fake.id, letter.slug
    page = chromium.new_context(accept_downloads=True).new_page()
    found: dict[str, list[str]] = {}

    def check(label: str) -> None:
        if violations := _serious_violations(page):
            found[label] = violations

    page.goto(f"{live_server}/admin/login")
    expect(page.get_by_role("heading", name="Organiser sign-in")).to_be_visible()
    check("login")
    page.get_by_label("Email address").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your letters")).to_be_visible()
    check("letters")

    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    check("overview")

    tools = page.get_by_role("navigation", name="Letter tools")
    tools.get_by_role("link", name="Signatures", exact=True).click()
    expect(page.get_by_role("heading", name="Signatures")).to_be_visible()
    check("signatures")

    # Moderation: hide the fake, with a reason.
    page.get_by_role("checkbox", name="Select Mallory Fake").check()
    page.get_by_label("Action").select_option("hide")
    page.get_by_label("Reason (for hiding)").fill("Not a real person")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("Done: hide 1 signature(s)")
    fake_row = page.get_by_role("row").filter(has_text="Mallory Fake")
    expect(fake_row).to_contain_text("hidden")
    expect(fake_row).to_contain_text("Not a real person")
    db.session.remove()
    assert db.session.get(Signature, fake_id).state is SignatureState.HIDDEN  # type: ignore[union-attr]

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Export these as CSV").click()
    download = waiting.value
    assert download.suggested_filename == "story-signatures.csv"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = list(csv.reader(saved.read_text(encoding="utf-8-sig").splitlines()))
    assert "name" in rows[0]
    names = {row[rows[0].index("name")] for row in rows[1:]}
    assert {"Ada Lovelace", "Mallory Fake"} <= names

    tools.get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", name="Import signatories")).to_be_visible()
    check("import")

    # And every other page of the console a letter's owner can open.
    for address in _console_pages(slug, fake_id):
        page.goto(f"{live_server}{address}")
        expect(page.locator("h1")).to_be_visible()
        check(address)

    assert found == {}


def _console_pages(slug: str, signature_id: int) -> list[str]:
    """Every GET page of the console for one letter (and the account-wide ones), from the
    app's own routes, so a new console page is checked without being listed here."""
    from flask import current_app

    pages = []
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in (rule.methods or ()):
            continue
        if rule.endpoint in {"organiser.login", "organiser.login_code"} or "export" in rule.rule:
            continue
        address = rule.rule.replace("<slug>", slug)
        address = address.replace("<int:signature_id>", str(signature_id))
        if "<" not in address:
            pages.append(address)
    return sorted(pages)


# --- 5. screenshots -----------------------------------------------------------------------


def test_screenshots_of_every_public_page_at_phone_and_desktop_widths(
    live_server: str,  # noqa: F811
    chromium: Browser,
    tmp_path: Path,
) -> None:
    _a_letter_with_a_story()
    shots = []
    for width_name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context: BrowserContext = chromium.new_context(viewport=viewport, locale="en")
        page = context.new_page()
        for name, path in LETTER_PAGES.items():
            page.goto(f"{live_server}/letters/story{path}{_in('en')}")
            expect(page.locator("h1, .embed-title").first).to_be_visible()
            shot = tmp_path / f"{name}-{width_name}.png"
            page.screenshot(path=str(shot), full_page=True)
            # A full-page shot is as wide as the page: wider than the window if it scrolls sideways.
            width, height = _png_size(shot)
            assert width == viewport["width"], f"{shot.name} is {width} px wide"
            assert height >= viewport["height"]
            shots.append(shot)
        context.close()
    if os.environ.get("SCREENSHOT_DIR"):
        for shot in shots:
            shutil.copy(shot, os.environ["SCREENSHOT_DIR"])


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_axe_finds_nothing_serious_on_the_error_pages(
    app: Flask,
    live_server: str,  # noqa: F811
    chromium: Browser,
    monkeypatch: pytest.MonkeyPatch,
    lang: str,
) -> None:
    """Every kind of error page a reader may meet: not found, a link expired, a form refused
    (my-signatures, the check page), a closed letter."""
    from app.models import LetterStatus
    from app.signing.tokens import TokenPurpose, make_token

    letter = _a_letter_with_a_story()
    signature = make_signature(db.session, letter=letter, state=SignatureState.PENDING)
    closed = make_letter(db.session, slug="closed-one", status=LetterStatus.CLOSED)
    db.session.commit()
    settings = signing_settings(app.config)
    expired = make_token(settings.secret_key, TokenPurpose.CONFIRM, signature.id)
    monkeypatch.setitem(app.config, "CONFIRM_MAX_AGE", -1)  # every confirm link has expired
    page = chromium.new_page()
    found: dict[str, list[str]] = {}

    def check(label: str, status: int) -> None:
        assert page.locator("html").get_attribute("lang") == lang, label
        if violations := _serious_violations(page):
            found[f"{label} ({status})"] = violations

    for label, path, status in (
        ("no such letter", "/letters/no-such-letter", 404),
        ("expired link", f"/letters/story/confirm/{expired}", 410),
        ("closed letter", f"/letters/{closed.slug}", 200),
    ):
        response = page.goto(f"{live_server}{path}{_in(lang)}")
        assert response is not None and response.status == status, label
        check(label, status)

    page.goto(f"{live_server}/my-signatures{_in(lang)}")
    page.locator("input[name=email]").fill("not an address")
    page.locator("form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    check("my-signatures refused", 422)

    page.goto(f"{live_server}/letters/story/check{_in(lang)}")
    page.locator("textarea[name=names]").fill("\n".join(f"Person {n}" for n in range(501)))
    page.locator("form button[type=submit]").click()
    expect(page.locator("[role=alert]").first).to_be_visible()
    check("check refused", 422)
    assert found == {}
