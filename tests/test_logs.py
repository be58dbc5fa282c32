"""Nothing secret in logs: link tokens in request paths are redacted."""

from __future__ import annotations

import logging

from app.log_filters import RedactLinkTokens


def test_tokens_in_access_log_lines_are_redacted(caplog) -> None:
    logger = logging.getLogger("werkzeug")
    assert any(isinstance(f, RedactLinkTokens) for f in logger.filters)
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('127.0.0.1 - - "%s %s HTTP/1.1" 200 -', "GET", "/letters/x/confirm/MQ.abc.def")
        logger.info('127.0.0.1 - - "GET /letters/x/withdraw/NQ.ghi?x=1 HTTP/1.1" 303 -')
    assert "MQ.abc" not in caplog.text and "NQ.ghi" not in caplog.text
    assert "/letters/x/confirm/[token]" in caplog.text
    assert "/letters/x/withdraw/[token]" in caplog.text


def test_the_mail_worker_logs_ids_not_addresses(app, session, caplog) -> None:
    from app.db import db
    from app.mail.messages import ComposedEmail
    from app.mail.outbox import queue_email
    from app.mail.sender import SMTPSettings, SMTPTransport, run_worker

    message = ComposedEmail(kind="confirm", subject="s", body_text="t", body_html="h")
    queue_email(session, message, to_address="secret.person@example.org", sender_domain="x")
    session.commit()
    with caplog.at_level(logging.INFO, logger="app.mail.sender"):
        run_worker(
            db.session, SMTPTransport(SMTPSettings("127.0.0.1", 9)), sender="a@x.example", once=True
        )
    assert "secret.person" not in caplog.text
    assert "unavailable" in caplog.text
