"""Four languages on the public side: chosen by `?lang=` (kept on every link, so a shared
link keeps it) or by Accept-Language; `<html lang>` right; form errors, numbers, dates and
emails in the reader's language; cached pages never served in another language; organisers'
translations of a letter offered beside the original."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache

from babel.support import Translations
from flask import Flask
from flask.testing import FlaskClient

from app.letters import letters
from app.mail.composing import TRANSLATIONS
from tests.conftest import SMTPServer
from tests.factories import make_letter
from tests.helpers import deliver_mail, sign_form_token, signing_answers


@cache
def _catalogue(language: str) -> Translations:
    return Translations.load(str(TRANSLATIONS), [language], domain="messages")


def t(language: str, msgid: str) -> str:
    """What the catalogue says for msgid in language (as the page escapes it)."""
    text = _catalogue(language).gettext(msgid)
    assert text != msgid or language == "en", f"{msgid!r} is not translated into {language}"
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")
    )


def test_a_chosen_language_is_written_and_kept_on_every_link(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="languages")
    letter.launched_at = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    session.commit()
    response = client.get("/letters/languages?lang=fr")
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert response.headers["Content-Language"] == "fr"
    assert t("fr", "Sign the letter") in page
    assert "14 mars 2026" in page  # dates the French way
    assert 'href="/letters/languages/signatories?lang=fr"' in page  # the choice stays
    # The switcher offers the same page in each language.
    for code in ("en", "de", "es"):
        assert f'href="/letters/languages?lang={code}"' in page
    english = client.get("/letters/languages").get_data(as_text=True)
    assert '<html lang="en">' in english and "Sign the letter" in english
    assert "14 March 2026" in english


def test_the_browser_language_is_followed_and_said_to_vary(client: FlaskClient, session) -> None:
    make_letter(session, slug="negotiated")
    response = client.get("/letters/negotiated", headers={"Accept-Language": "de-CH, de;q=0.9"})
    assert '<html lang="de">' in response.get_data(as_text=True)
    assert "Accept-Language" in response.headers["Vary"]
    pinned = client.get("/letters/negotiated?lang=es", headers={"Accept-Language": "de"})
    assert '<html lang="es">' in pinned.get_data(as_text=True)
    # The console and the API stay in English.
    assert (
        client.get("/admin/login", headers={"Accept-Language": "fr"}).headers.get(
            "Content-Language"
        )
        is None
    )


def test_a_warm_page_cache_never_answers_in_another_language(session) -> None:
    from app import create_app
    from config import TestingConfig

    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    make_letter(session, slug="replayed-languages")
    session.commit()
    reader = cached.test_client()
    pages = {
        language: reader.get(
            "/letters/replayed-languages", headers={"Accept-Language": language}
        ).get_data(as_text=True)
        for language in ("fr", "de", "fr", "es", "en")
    }
    for language, page in pages.items():
        assert f'<html lang="{language}">' in page
    by_parameter = reader.get(
        "/letters/replayed-languages?lang=de", headers={"Accept-Language": "fr"}
    )
    assert '<html lang="de">' in by_parameter.get_data(as_text=True)


def test_form_errors_and_emails_are_in_the_signers_language(
    app: Flask, client: FlaskClient, session, mail_to_smtp: SMTPServer
) -> None:
    make_letter(session, slug="sprachen", title="Stoppt Deepfakes")
    token = sign_form_token(client)
    refused = client.post(
        "/letters/sprachen/sign?lang=de",
        data={"csrf_token": token, "email": "anna@example.org"},
    )
    assert refused.status_code == 422
    assert t("de", "Please enter your full name.") in refused.get_data(as_text=True)

    signed = client.post(
        "/letters/sprachen/sign?lang=es",
        data={"csrf_token": token, **signing_answers(email="ana@example.org")},
    )
    assert signed.status_code == 303
    deliver_mail(app)
    [message] = mail_to_smtp.recorder.to("ana@example.org")
    subject = _catalogue("es").gettext("Confirm your signature: %(title)s") % {
        "title": "Stoppt Deepfakes"
    }
    assert message["Subject"] == subject
    html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert '<html lang="es">' in html


def test_a_translated_letter_is_offered_with_the_original(client: FlaskClient, session) -> None:
    letter = make_letter(
        session, slug="translated", title="Ban deepfakes", body="We call for laws."
    )
    letters.save_translation(
        session, letter, language="fr", title="Interdire les deepfakes",
        body="Nous demandons des lois.", by=None,
    )  # fmt: skip
    session.commit()
    french = client.get("/letters/translated?lang=fr").get_data(as_text=True)
    assert "Interdire les deepfakes" in french and "Nous demandons des lois." in french
    assert 'href="/letters/translated?lang=en"' in french  # the original, one click away
    assert re.search(r'data-testid="translation-note"', french)
    english = client.get("/letters/translated").get_data(as_text=True)
    assert "We call for laws." in english and "Nous demandons" not in english
    assert 'hreflang="fr"' in english


def test_owners_add_and_remove_translations_in_the_console(client: FlaskClient, session) -> None:
    from app.models import OrganiserRole
    from tests.factories import make_organiser
    from tests.helpers import csrf_token, log_in

    letter = make_letter(session, slug="console-translated")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    log_in(client, owner.email)
    url = "/admin/letters/console-translated/translations"
    token = csrf_token(client, url)
    same = client.post(url, data={"csrf_token": token, "language": "en", "title": "T", "body": "B"})
    assert same.status_code == 422  # not the letter's own language
    saved = client.post(
        url,
        data={"csrf_token": token, "language": "de", "title": "Titel", "body": "Text auf Deutsch."},
    )
    assert saved.status_code == 303
    assert "Text auf Deutsch." in client.get("/letters/console-translated?lang=de").get_data(
        as_text=True
    )
    client.post(f"{url}/de/remove", data={"csrf_token": token})
    assert letters.translations_of(session, letter) == {}
    assert client.post(f"{url}/xx/remove", data={"csrf_token": token}).status_code == 404


def test_the_replay_keeps_apart_a_chosen_and_a_negotiated_language(session) -> None:
    from app import create_app
    from config import TestingConfig

    cached = create_app(TestingConfig, PAGE_CACHE_SECONDS=60)
    make_letter(session, slug="kept-apart")
    session.commit()
    reader = cached.test_client()
    chosen = reader.get("/letters/kept-apart?lang=fr")
    assert 'href="/letters/kept-apart/signatories?lang=fr"' in chosen.get_data(as_text=True)
    negotiated = reader.get("/letters/kept-apart", headers={"Accept-Language": "fr"})
    page = negotiated.get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert 'href="/letters/kept-apart/signatories"' in page  # no choice made: none kept
    assert "Accept-Language" in negotiated.headers["Vary"]
    # A repeated language is answered as its first says, and never replayed as the last.
    repeated = reader.get("/letters/kept-apart?lang=es&lang=de")
    assert '<html lang="es">' in repeated.get_data(as_text=True)
    assert '<html lang="de">' in reader.get("/letters/kept-apart?lang=de").get_data(as_text=True)


def test_links_to_other_languages_keep_the_page_not_its_trackers(
    client: FlaskClient, session
) -> None:
    make_letter(session, slug="tracked")
    page = client.get("/letters/tracked/signatories?q=ada&fbclid=SECRET&utm_source=x").get_data(
        as_text=True
    )
    assert "SECRET" not in page and "utm_source" not in page
    assert "q=ada" in page  # the search stays on the switcher's links
    for odd in ("?_method=POST", "?_anchor=x", "?lang=" + "x" * 5000, "?lang=%C3%A9"):
        assert client.get(f"/letters/tracked{odd}").status_code == 200, odd
    assert client.get("/no-such-page?_method=DELETE").status_code == 404
    assert (
        client.get("/letters/tracked", headers={"Accept-Language": "*;q=x, ;;"}).status_code == 200
    )


def test_readers_are_told_when_a_translation_is_of_an_earlier_text(
    client: FlaskClient, runner, session, tmp_path
) -> None:
    from app.db import utcnow
    from tests.factories import make_signature

    body = tmp_path / "lettre.md"
    body.write_text("Nous demandons des lois.\n", encoding="utf-8")
    made = runner.invoke(
        args=[
            *("letters", "create", "en-francais", "--title", "Interdire les deepfakes"),
            *("--body-file", str(body), "--language", "fr"),
        ]
    )
    assert made.exit_code == 0, made.output
    letter = letters.find_letter(session, "en-francais")
    assert letter is not None and letter.language == "fr"
    letters.save_translation(
        session, letter, language="en", title="Ban deepfakes", body="We call for laws.", by=None
    )
    make_signature(session, letter=letter)
    session.commit()
    english = client.get("/letters/en-francais?lang=en").get_data(as_text=True)
    assert "We call for laws." in english and 'data-testid="translation-outdated"' not in english
    letters.update_letter(
        session, letter, title=letter.title, body="Nous exigeons des lois.", status=letter.status,
        closes_at=None, target=None, now=utcnow(), substantive=True, by=None,
    )  # fmt: skip
    session.commit()
    english = client.get("/letters/en-francais?lang=en").get_data(as_text=True)
    assert 'data-testid="translation-outdated"' in english


def test_a_refused_check_says_why_in_the_readers_language(client: FlaskClient, session) -> None:
    from tests.helpers import csrf_token

    make_letter(session, slug="checked-fr")
    url = "/letters/checked-fr/check?lang=fr"
    too_many = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "names": "\n".join(f"P {n}" for n in range(501)),
        },
    )
    assert too_many.status_code == 422
    expected = _catalogue("fr").gettext("Check at most %(max)s names and organisations at a time.")
    assert expected % {"max": 500} in too_many.get_data(as_text=True)
