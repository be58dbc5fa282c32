"""Delivering the outbox: claim rows atomically, send over one SMTP connection, record results.

Several workers may run at once. A claim is a single UPDATE ... RETURNING whose candidate rows are
locked with FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite serialises writers instead), so no two
workers hold the same row. Each result is committed as soon as it is known, which keeps the window
for a double send (a worker dying between the SMTP server's "250 OK" and our commit) to one message.
A claim older than the lease is treated as a dead worker's and taken again: nothing is lost.

The worker loop is its own transaction boundary, as a request is for a view: it commits each
claim and each result itself, because holding a transaction open across SMTP calls would hold
row locks for seconds.
"""

from __future__ import annotations

import enum
import logging
import secrets
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Protocol

from sqlalchemy import ColumnElement, and_, or_, select, text, update
from sqlalchemy.sql.dml import ReturningUpdate

from app.db import DbSession, utcnow
from app.models import EmailStatus, OutboundEmail

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: A claim older than this is a dead worker's. Renewed before a message once it is half
#: through, so it only has to outlast one SMTP exchange (30 s timeout), not a whole batch.
LEASE = timedelta(minutes=10)
#: Messages claimed, read and marked sent together. Bigger batches cost fewer statements per
#: message; after a crash, at most this many may be sent a second time.
BATCH_SIZE = 50
#: How long to leave the queue alone when the mail server cannot be reached at all.
TRANSPORT_RETRY = timedelta(seconds=60)


class TemporaryFailure(Exception):
    """Worth trying this message again later: the server is busy, or said 4xx about it."""


class PermanentFailure(Exception):
    """Trying this message again will not help: the server said 5xx about it."""


class TransportUnavailable(TemporaryFailure):
    """Nothing can be sent right now: no connection, login refused, our sender refused.

    Not the message's fault, so it does not count against the message's attempts: a mistyped
    MAIL_PASSWORD must delay the queue, never throw it away.
    """


class Transport(Protocol):
    def send(self, message: Message) -> None: ...

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


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


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
        try:
            if s.use_tls and not s.use_ssl:
                connection.starttls(context=ssl.create_default_context())
            if s.username:
                connection.login(s.username, s.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def _connected(self) -> smtplib.SMTP:
        if self._connection is None:
            try:
                self._connection = self._connect()
            except (smtplib.SMTPException, OSError) as error:
                self.close()
                raise TransportUnavailable(_describe(error)) from None
        return self._connection

    def send(self, message: Message) -> None:
        reused = self._connection is not None
        try:
            self._connected().send_message(message)
        except smtplib.SMTPServerDisconnected:
            self.close()
            if not reused:
                raise TransportUnavailable("server closed the connection") from None
            # Servers drop idle connections; one fresh connection is worth a try at once.
            self.send(message)
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _ in refused.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused (SMTP {codes[0]})") from None
            raise TemporaryFailure(
                f"recipient deferred (SMTP {codes[0] if codes else '?'})"
            ) from None
        except smtplib.SMTPSenderRefused as refused:
            self._reset_unless_usable()
            raise TransportUnavailable(
                f"our sender address was refused (SMTP {refused.smtp_code})"
            ) from None
        except smtplib.SMTPNotSupportedError as error:
            # An internationalised address for a server without SMTPUTF8: no retry will help.
            raise PermanentFailure(_describe(error)) from None
        except smtplib.SMTPResponseException as error:
            self._reset_unless_usable()
            if error.smtp_code >= 500:
                raise PermanentFailure(f"SMTP {error.smtp_code}") from None
            raise TemporaryFailure(f"SMTP {error.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise TemporaryFailure(_describe(error)) from None

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

    def send(self, message: Message) -> None:
        body = next(
            (
                bytes(part.get_payload(decode=True)).decode("utf-8")
                for part in message.walk()
                if part.get_content_type() == "text/plain"
            ),
            "",
        )
        self.logger.warning(
            "Email (console, not sent)\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            body,
        )

    def close(self) -> None:
        return None


#: Bodies as quoted-printable UTF-8: readable in the raw message, and what filters expect.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def build_message(row: OutboundEmail, sender: str) -> Message:
    """The MIME message (text and HTML alternatives) for an outbox row.

    Built with the email package's compat32 classes, about four times faster than
    EmailMessage's header registry: at hundreds of messages a second that was the worker's
    main cost. Every address here is ASCII (forms and imports refuse non-ASCII mailboxes and
    keep domains in their IDNA form); names and subjects may not be, hence the encodings.
    """
    message = MIMEMultipart("alternative")
    name, address = parseaddr(sender)
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = row.to_address
    # A Header encodes non-ASCII text (RFC 2047); the Message stubs only admit str here.
    message["Subject"] = row.subject if row.subject.isascii() else Header(row.subject, "utf-8")  # type: ignore[assignment]
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = row.message_id
    # Tells auto-responders (vacation replies) not to answer.
    message["Auto-Submitted"] = "auto-generated"
    message.attach(MIMEText(row.body_text, "plain", _UTF8))  # type: ignore[arg-type]
    message.attach(MIMEText(row.body_html, "html", _UTF8))  # type: ignore[arg-type]
    return message


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at 1 h."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


class Delivery(enum.Enum):
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    #: Another worker took the message over (our claim had lapsed): not ours to send.
    SKIPPED = "skipped"


def new_claim_token() -> str:
    return secrets.token_hex(16)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(OutboundEmail.status == EmailStatus.QUEUED, OutboundEmail.next_attempt_at <= now),
        and_(OutboundEmail.status == EmailStatus.SENDING, OutboundEmail.claimed_at < now - LEASE),
    )


def claim_statement(*, now: datetime, limit: int, claim_token: str) -> ReturningUpdate[int]:
    """UPDATE ... RETURNING over due rows; on PostgreSQL the candidates are row-locked with
    SKIP LOCKED, so concurrent workers pass over each other's rows instead of queueing."""
    candidates = (
        select(OutboundEmail.id)
        .where(_due(now))
        .order_by(OutboundEmail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(candidates), _due(now))
        .values(
            status=EmailStatus.SENDING,
            claimed_at=now,
            claim_token=claim_token,
            attempts=OutboundEmail.attempts + 1,
        )
        .returning(OutboundEmail.id)
        .execution_options(synchronize_session=False)
    )


def claim_batch(
    session: DbSession, *, now: datetime, claim_token: str, limit: int = BATCH_SIZE
) -> list[int]:
    """Atomically mark up to `limit` due messages as ours; commits the claim."""
    ids = sorted(
        session.execute(claim_statement(now=now, limit=limit, claim_token=claim_token)).scalars()
    )
    session.commit()
    return ids


def _all_ours(ids: list[int], claim_token: str) -> ColumnElement[bool]:
    return and_(
        OutboundEmail.id.in_(ids),
        OutboundEmail.status == EmailStatus.SENDING,
        OutboundEmail.claim_token == claim_token,
    )


def _update_if_ours(
    session: DbSession, email_id: int, claim_token: str, values: dict[str, object]
) -> bool:
    changed = session.execute(
        update(OutboundEmail)
        .where(_all_ours([email_id], claim_token))
        .values(values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return bool(getattr(changed, "rowcount", 0))


@dataclass(frozen=True)
class _Claimed:
    """A message this worker claimed, read and built before any network call."""

    id: int
    kind: str
    attempts: int
    claimed_at: datetime | None
    message: Message


def _load_claimed(
    session: DbSession, ids: list[int], claim_token: str, sender: str
) -> list[_Claimed]:
    """The claimed messages still ours, in one query; the read ends before anything is sent."""
    rows = session.scalars(
        select(OutboundEmail)
        .where(_all_ours(ids, claim_token))
        .order_by(OutboundEmail.id)
        .execution_options(populate_existing=True)
    ).all()
    claimed = [
        _Claimed(row.id, row.kind, row.attempts, row.claimed_at, build_message(row, sender))
        for row in rows
    ]
    # Rows are not touched after this: reloading one would start a read that SQLite could
    # not then turn into a write.
    session.rollback()
    return claimed


def _record_sent(session: DbSession, ids: list[int], claim_token: str, moment: datetime) -> None:
    """Mark sent messages in one statement. Not waited onto disk (asynchronous commit on
    PostgreSQL): if the database crashed first, they would be sent again after their lease,
    never lost. Waiting for the disk per message was most of what limited the outbox."""
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    session.execute(
        update(OutboundEmail)
        .where(_all_ours(ids, claim_token))
        .values(status=EmailStatus.SENT, sent_at=moment, last_error=None)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _young(claimed: _Claimed, moment: datetime) -> bool:
    return claimed.claimed_at is not None and moment - claimed.claimed_at < LEASE / 2


def _send(
    session: DbSession,
    claimed: _Claimed,
    transport: Transport,
    *,
    claim_token: str,
    now: Callable[[], datetime],
) -> Delivery:
    """Send one claimed message. Failures are recorded at once; SENT is left to the caller,
    which records a batch of them together (_record_sent).

    Raises TransportUnavailable after putting the message back, so the caller can stop.
    """
    email_id = claimed.id
    # Nobody may take a claim over before its lease runs out. A young claim (the usual case:
    # a batch takes well under a second) outlasts this send, SMTP timeouts included; an old one
    # is renewed first, and if another worker took the message over meanwhile, it is theirs.
    if not _young(claimed, now()) and not _update_if_ours(
        session, email_id, claim_token, {"claimed_at": now()}
    ):
        return Delivery.SKIPPED

    def requeue(retry_in: timedelta, error: Exception, **extra: object) -> None:
        _update_if_ours(
            session,
            email_id,
            claim_token,
            {
                "status": EmailStatus.QUEUED,
                "claimed_at": None,
                "claim_token": None,
                "next_attempt_at": now() + retry_in,
                "last_error": str(error)[:500],
                **extra,
            },
        )

    def fail(error: Exception) -> Delivery:
        values = {"status": EmailStatus.FAILED, "last_error": str(error)[:500]}
        _update_if_ours(session, email_id, claim_token, values)
        return Delivery.FAILED

    attempts = claimed.attempts
    try:
        transport.send(claimed.message)
    except TransportUnavailable as unavailable:
        requeue(TRANSPORT_RETRY, unavailable, attempts=attempts - 1)
        raise
    except PermanentFailure as failure:
        log.warning("email %s (%s) failed permanently: %s", email_id, claimed.kind, failure)
        return fail(failure)
    except TemporaryFailure as failure:
        if attempts >= MAX_ATTEMPTS:
            log.warning("email %s gave up after %s attempts: %s", email_id, attempts, failure)
            return fail(failure)
        log.info("email %s deferred (attempt %s): %s", email_id, attempts, failure)
        requeue(backoff(attempts), failure)
        return Delivery.DEFERRED
    log.info("email %s (%s) sent", email_id, claimed.kind)
    return Delivery.SENT


def deliver(
    session: DbSession,
    email_id: int,
    transport: Transport,
    *,
    sender: str,
    claim_token: str,
    now: Callable[[], datetime] = utcnow,
) -> Delivery:
    """Send one message this worker claimed and record what happened.

    Raises TransportUnavailable after putting the message back, so the caller can stop.
    """
    found = _load_claimed(session, [email_id], claim_token, sender)
    if not found:
        return Delivery.SKIPPED
    result = _send(session, found[0], transport, claim_token=claim_token, now=now)
    if result is Delivery.SENT:
        _record_sent(session, [email_id], claim_token, now())
    return result


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
            claim_token = new_claim_token()
            ids = claim_batch(session, now=now(), claim_token=claim_token)
            if not ids:
                if once:
                    break
                transport.close()  # servers drop idle connections anyway
                stop.wait(poll_interval)
                continue
            batch = _load_claimed(session, ids, claim_token, sender)
            sent: list[int] = []
            server_down = False
            try:
                for position, claimed in enumerate(batch):
                    if stop.is_set():
                        _release(session, [c.id for c in batch[position:]], claim_token)
                        break
                    if sent and not _young(claimed, now()):
                        # A slow batch: record what went out while its claims still hold, or
                        # another worker could take those over once the lease ran out.
                        _record_sent(session, sent, claim_token, now())
                        sent = []
                    try:
                        result = _send(
                            session, claimed, transport, claim_token=claim_token, now=now
                        )
                    except TransportUnavailable as unavailable:
                        log.error("mail server unavailable, will retry: %s", unavailable)
                        stats.deferred += len(batch) - position
                        _release(session, [c.id for c in batch[position + 1 :]], claim_token)
                        server_down = True
                        break
                    if result is Delivery.SENT:
                        stats.sent += 1
                        sent.append(claimed.id)
                    elif result is Delivery.DEFERRED:
                        stats.deferred += 1
                    elif result is Delivery.FAILED:
                        stats.failed += 1
            finally:
                # Also when stopping or when the server went away: what left is recorded.
                _record_sent(session, sent, claim_token, now())
            if server_down:
                if once:
                    return stats
                stop.wait(max(poll_interval, TRANSPORT_RETRY.total_seconds()))
    finally:
        transport.close()
    return stats


def _release(session: DbSession, ids: list[int], claim_token: str) -> None:
    """Hand claimed but unsent messages back at once, their attempt not counted."""
    if not ids:
        return
    session.execute(
        update(OutboundEmail)
        .where(_all_ours(ids, claim_token))
        .values(
            status=EmailStatus.QUEUED,
            claimed_at=None,
            claim_token=None,
            attempts=OutboundEmail.attempts - 1,
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()
