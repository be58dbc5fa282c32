"""Delivering the outbox: claim rows atomically, send over one SMTP connection, record results.

Several workers may run at once. A claim is a single UPDATE ... RETURNING whose candidate rows are
locked with FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite serialises writers instead), so no two
workers hold the same row. Each result is committed as soon as it is known, which keeps the window
for a double send (a worker dying between the SMTP server's "250 OK" and our commit) to one message.
A claim older than the lease is treated as a dead worker's and taken again: nothing is lost.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Protocol

from sqlalchemy import and_, or_, select, update

from app.db import DbSession, utcnow
from app.models import EmailStatus, OutboundEmail

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=10)
BATCH_SIZE = 50


class TemporaryFailure(Exception):
    """Worth trying again later: the server is down, busy, or said 4xx."""


class PermanentFailure(Exception):
    """Trying again will not help: the server said 5xx about this message."""


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SMTPSettings:
    host: str
    port: int
    use_tls: bool = False
    use_ssl: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0


class SMTPTransport:
    """One SMTP connection, opened on first use and reused for every message after it."""

    def __init__(self, settings: SMTPSettings) -> None:
        self.settings = settings
        self._connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        connection: smtplib.SMTP
        if s.use_ssl:
            connection = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
            )
        else:
            connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            if s.use_tls:
                connection.starttls(context=ssl.create_default_context())
        if s.username:
            connection.login(s.username, s.password or "")
        return connection

    def send(self, message: EmailMessage) -> None:
        try:
            if self._connection is None:
                self._connection = self._connect()
            self._connection.send_message(message)
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _ in refused.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused ({codes[0]})") from None
            raise TemporaryFailure(f"recipient deferred ({codes[0] if codes else '?'})") from None
        except smtplib.SMTPResponseException as error:
            self._reset_unless_usable()
            if error.smtp_code >= 500:
                raise PermanentFailure(f"SMTP {error.smtp_code}") from None
            raise TemporaryFailure(f"SMTP {error.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise TemporaryFailure(f"{type(error).__name__}: {error}"[:300]) from None

    def _reset_unless_usable(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (smtplib.SMTPException, OSError):
                self._connection.close()
            self._connection = None


class ConsoleTransport:
    """Without MAIL_SERVER: write each message, links included, to the log."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger("undersigned.mail.console")

    def send(self, message: EmailMessage) -> None:
        text_part = message.get_body(preferencelist=("plain",))
        body = text_part.get_content() if text_part is not None else ""
        self.logger.warning(
            "Email (console, not sent)\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            body,
        )

    def close(self) -> None:
        return None


def build_message(row: OutboundEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    name, address = parseaddr(sender)
    message["From"] = formataddr((name, address))
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    # Tells auto-responders (vacation replies) not to answer.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body_text)
    message.add_alternative(row.body_html, subtype="html")
    return message


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def claim_batch(session: DbSession, *, now: datetime, limit: int = BATCH_SIZE) -> list[int]:
    """Atomically mark up to `limit` due messages as ours; commits the claim."""
    due = or_(
        and_(OutboundEmail.status == EmailStatus.QUEUED, OutboundEmail.next_attempt_at <= now),
        and_(OutboundEmail.status == EmailStatus.SENDING, OutboundEmail.claimed_at < now - LEASE),
    )
    candidates = (
        select(OutboundEmail.id)
        .where(due)
        .order_by(OutboundEmail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(candidates), due)
        .values(status=EmailStatus.SENDING, claimed_at=now, attempts=OutboundEmail.attempts + 1)
        .returning(OutboundEmail.id)
        .execution_options(synchronize_session=False)
    )
    ids = sorted(claimed.scalars())
    session.commit()
    return ids


def _record(session: DbSession, email_id: int, **values: object) -> None:
    session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == email_id, OutboundEmail.status == EmailStatus.SENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def deliver(
    session: DbSession,
    email_id: int,
    transport: Transport,
    *,
    sender: str,
    now: Callable[[], datetime] = utcnow,
) -> EmailStatus:
    """Send one claimed message and record what happened."""
    row = session.get(OutboundEmail, email_id, populate_existing=True)
    if row is None or row.status is not EmailStatus.SENDING:
        return row.status if row is not None else EmailStatus.FAILED
    message = build_message(row, sender)
    kind, attempts = row.kind, row.attempts
    # End the read transaction before the slow network call; `row` is not touched after this,
    # since reloading it would start a read that SQLite cannot then turn into a write.
    session.rollback()
    try:
        transport.send(message)
    except PermanentFailure as failure:
        log.warning("email %s (%s) failed permanently: %s", email_id, kind, failure)
        _record(session, email_id, status=EmailStatus.FAILED, last_error=str(failure)[:500])
        return EmailStatus.FAILED
    except TemporaryFailure as failure:
        if attempts >= MAX_ATTEMPTS:
            log.warning("email %s gave up after %s attempts: %s", email_id, attempts, failure)
            _record(session, email_id, status=EmailStatus.FAILED, last_error=str(failure)[:500])
            return EmailStatus.FAILED
        log.info("email %s deferred (attempt %s): %s", email_id, attempts, failure)
        _record(
            session,
            email_id,
            status=EmailStatus.QUEUED,
            claimed_at=None,
            next_attempt_at=now() + backoff(attempts),
            last_error=str(failure)[:500],
        )
        return EmailStatus.QUEUED
    _record(session, email_id, status=EmailStatus.SENT, sent_at=now(), last_error=None)
    log.info("email %s (%s) sent", email_id, kind)
    return EmailStatus.SENT


@dataclass
class WorkerStats:
    sent: int = 0
    deferred: int = 0
    failed: int = 0


def run_worker(
    session: DbSession,
    transport: Transport,
    *,
    sender: str,
    once: bool = False,
    poll_interval: float = 2.0,
    stop: threading.Event | None = None,
    now: Callable[[], datetime] = utcnow,
) -> WorkerStats:
    """Deliver until stopped; with once=True, until nothing is due, then return."""
    stop = stop or threading.Event()
    stats = WorkerStats()
    try:
        while not stop.is_set():
            ids = claim_batch(session, now=now())
            if not ids:
                if once:
                    break
                stop.wait(poll_interval)
                continue
            for position, email_id in enumerate(ids):
                if stop.is_set():
                    _release(session, ids[position:])
                    break
                result = deliver(session, email_id, transport, sender=sender, now=now)
                if result is EmailStatus.SENT:
                    stats.sent += 1
                elif result is EmailStatus.QUEUED:
                    stats.deferred += 1
                else:
                    stats.failed += 1
    finally:
        transport.close()
    return stats


def _release(session: DbSession, ids: list[int]) -> None:
    """Hand claimed but unsent messages back at once when asked to stop."""
    session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(ids), OutboundEmail.status == EmailStatus.SENDING)
        .values(status=EmailStatus.QUEUED, claimed_at=None, attempts=OutboundEmail.attempts - 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()
