"""News for signers who asked for it: updates by email with a one-click unsubscribe (RFC 8058),
on the updates page and its Atom feed; addressees' responses; milestone emails to the team."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.db import utcnow
from app.letters import letters, milestones, updates
from app.models import AuditEvent, LetterUpdate, OrganiserRole, OutboundEmail, Signature
from app.signing import lifecycle
from app.signing.settings import signing_settings
from tests.conftest import SMTPServer
from tests.factories import make_letter, make_organiser, make_signature
from tests.helpers import (
    confirm_signature,
    csrf_token,
    deliver_mail,
    log_in,
    path_of,
    sign,
    text_body,
)

ATOM = "{http://www.w3.org/2005/Atom}"


def _signer(
    client: FlaskClient, session, app: Flask, slug: str, email: str, **answers
) -> Signature:
    client.environ_base["REMOTE_ADDR"] = f"198.51.100.{len(email)}"
    assert sign(client, slug, email=email, name=email.split("@")[0], **answers).status_code == 303
    signature = session.scalars(select(Signature).where(Signature.email == email)).one()
    confirm_signature(session, app, signature)
    session.commit()
    return signature


def _news_emails(session) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(OutboundEmail).where(OutboundEmail.kind == "news")
        )
    )


def test_updates_reach_those_who_asked_and_one_post_stops_them(
    app: Flask, client: FlaskClient, runner, session, tmp_path: Path, mail_to_smtp: SMTPServer
) -> None:
    make_letter(session, slug="news")
    wants = _signer(client, session, app, "news", "wants@example.org", wants_news="y")
    _signer(client, session, app, "news", "quiet@example.org")  # the box is unticked by default
    assert wants.wants_news is True
    deliver_mail(app)  # the confirmations
    mail_to_smtp.recorder.messages.clear()

    body = tmp_path / "update.md"
    body.write_text("The Parliament **debates** the law on Tuesday.\n", encoding="utf-8")
    result = runner.invoke(
        args=[
            "letters",
            "update",
            "news",
            "--subject",
            "Debate on Tuesday",
            "--body-file",
            str(body),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "queued for 1 signers" in result.output
    deliver_mail(app)
    [message] = mail_to_smtp.recorder.messages
    assert message["To"] == "wants@example.org"
    assert message["Subject"] == "Debate on Tuesday (Ban non-consensual deepfakes)"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.fullmatch(r"<(https?://\S+/unsubscribe/\S+)>", message["List-Unsubscribe"].strip())
    assert link, message["List-Unsubscribe"]
    assert link.group(1) in text_body(message)  # and a visible link
    path = path_of(link.group(1), app.config["BASE_URL"])

    # Opening the link changes nothing; one POST, without cookies or a form token, stops it.
    assert "Stop these emails" in client.get(path).get_data(as_text=True)
    session.refresh(wants)
    assert wants.wants_news is True
    fresh = app.test_client()
    stopped = fresh.post(path, data={"List-Unsubscribe": "One-Click"})
    assert stopped.status_code == 200
    assert "No more news" in stopped.get_data(as_text=True)
    session.refresh(wants)
    assert wants.wants_news is False
    assert fresh.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200

    again = runner.invoke(
        args=["letters", "update", "news", "--subject", "Another", "--body-file", str(body)]
    )
    assert "queued for 0 signers" in again.output
    assert session.scalar(select(func.count()).select_from(LetterUpdate)) == 2


def test_the_updates_page_and_feed_list_updates_newest_first(client: FlaskClient, session) -> None:
    letter = make_letter(session, slug="feed")
    for days, subject in ((3, "Launched"), (1, "Debate <scheduled>")):
        updates.publish_update(
            session,
            letter,
            subject=subject,
            body=f"About *{subject}*.",
            by=None,
            now=utcnow() - timedelta(days=days),
            sender_domain="s.test",
        )
    session.commit()
    page = client.get("/letters/feed/updates").get_data(as_text=True)
    assert page.index("Debate &lt;scheduled&gt;") < page.index("Launched")
    assert "<em>Launched</em>" in page
    feed = client.get("/letters/feed/updates.atom")
    assert feed.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(feed.get_data())  # noqa: S314 (our own feed)
    titles = [entry.findtext(f"{ATOM}title") for entry in root.iter(f"{ATOM}entry")]
    assert titles == ["Debate <scheduled>", "Launched"]
    assert client.get("/letters/feed/updates.atom").get_data() == feed.get_data()
    assert "/letters/feed/updates" in client.get("/letters/feed").get_data(as_text=True)


def test_a_bad_update_stores_and_sends_nothing(runner, session, tmp_path: Path) -> None:
    make_letter(session, slug="careful")
    body = tmp_path / "update.md"
    body.write_text("Text.", encoding="utf-8")
    empty = runner.invoke(
        args=["letters", "update", "careful", "--subject", "   ", "--body-file", str(body)]
    )
    assert empty.exit_code == 1 and "subject must be 1 to 200" in empty.output
    body.write_bytes(b"\xff\xfe not utf-8")
    binary = runner.invoke(
        args=["letters", "update", "careful", "--subject", "Hi", "--body-file", str(body)]
    )
    assert binary.exit_code == 1 and "not UTF-8" in binary.output
    assert session.scalar(select(LetterUpdate.id)) is None


def test_responses_are_recorded_shown_and_sent_on_as_updates(
    app: Flask, client: FlaskClient, session
) -> None:
    letter = make_letter(session, slug="answered")
    subscriber = make_signature(session, letter=letter, email="sub@example.org")
    subscriber.wants_news = True
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    session.commit()
    log_in(client, owner.email)
    url = "/admin/letters/answered/updates"
    token = csrf_token(client, url)
    bad = client.post(
        url,
        data={
            "csrf_token": token,
            "response-csrf_token": token,
            "response-responder": "European Commission",
            "response-responded_on": "2026-11-30",
            "response-summary": "We will study it.",
            "response-url": "javascript:alert(1)",
        },
    )
    assert bad.status_code == 422 and "web address" in bad.get_data(as_text=True)
    good = client.post(
        url,
        data={
            "response-csrf_token": token,
            "response-responder": "European Commission",
            "response-responded_on": "2026-11-30",
            "response-summary": "We will study it.",
            "response-url": "https://ec.europa.eu/answer",
        },
    )
    assert good.status_code == 303, good.get_data(as_text=True)[:1500]
    page = client.get("/letters/answered").get_data(as_text=True)
    assert "European Commission" in page and "We will study it." in page
    [response] = updates.responses_of(session, letter)
    sent = client.post(
        f"/admin/letters/answered/responses/{response.id}/send", data={"csrf_token": token}
    )
    assert sent.status_code == 303
    [update] = updates.updates_of(session, letter)
    assert update.subject == "Response from European Commission"
    assert update.recipients == 1 and _news_emails(session) == 1
    assert "> We will study it." in update.body
    published = client.post(
        url,
        data={"update-csrf_token": token, "update-subject": "Thanks", "update-body": "All of you."},
    )
    assert published.status_code == 303
    assert updates.updates_of(session, letter)[0].subject == "Thanks"
    actions = set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.letter_id == letter.id))
    )
    assert {"response.record", "letter.update"} <= actions


def test_withdrawing_drops_the_news_still_queued(app: Flask, session) -> None:
    letter = make_letter(session, slug="leaving")
    signature = make_signature(session, letter=letter, email="leaving@example.org")
    signature.wants_news = True
    updates.publish_update(
        session, letter, subject="Hi", body="News.", by=None, now=utcnow(), sender_domain="s.test"
    )
    assert _news_emails(session) == 1
    lifecycle.withdraw(session, letter, signature, settings=signing_settings(app.config))
    session.commit()
    assert _news_emails(session) == 0 and signature.wants_news is False


def test_the_team_is_emailed_once_per_milestone_passed(
    app: Flask, runner, session, mail_to_smtp: SMTPServer
) -> None:
    letter = make_letter(session, slug="counting")
    owner = make_organiser(session, letters={letter: OrganiserRole.OWNER})
    make_organiser(session, letters={letter: OrganiserRole.VIEWER})
    letters.update_letter(
        session, letter, title=letter.title, body=letter.body, status=letter.status,
        closes_at=None, target=None, now=utcnow(), milestones=[3, 2, 10], by=None,
    )  # fmt: skip
    session.commit()
    assert letter.milestones == [2, 3, 10]
    make_signature(session, letter=letter)
    assert milestones.queue_milestone_emails(session, sender_domain="s.test") == 0
    make_signature(session, letter=letter)
    make_signature(session, letter=letter)  # 3: past 2 and 3 at once
    session.commit()

    result = runner.invoke(args=["mail", "work", "--once"])  # its chores announce milestones
    assert result.exit_code == 0, result.output
    to_owner = mail_to_smtp.recorder.to(owner.email)
    assert [m["Subject"] for m in to_owner] == [
        "Milestone: 3 confirmed signatures on Ban non-consensual deepfakes"
    ]
    assert len(mail_to_smtp.recorder.messages) == 2  # the owner and the viewer
    session.refresh(letter)
    assert letter.milestone_reached == 3
    assert milestones.queue_milestone_emails(session, sender_domain="s.test") == 0
