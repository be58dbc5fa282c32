"""Keeping personal data no longer than needed: purging what has served its purpose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from app import audit
from app.db import DbSession
from app.models import EmailStatus, OutboundEmail, Signature, SignatureState, SignerAccess
from app.support.identifiers import chunks

CLIENT_HASH_DAYS = 30


@dataclass(frozen=True)
class Purged:
    pending_signatures: int
    emails: int


def purge(
    session: DbSession,
    *,
    now: datetime,
    pending_days: int,
    email_days: int,
    access_max_age: int = 24 * 3600,
) -> Purged:
    """Delete pending signatures never confirmed within `pending_days` (and their emails),
    delivered or failed emails older than `email_days`, and requests for the link to an
    address's signatures once that link has expired (`access_max_age` seconds): all hold
    addresses."""
    traced = [getattr(Signature, column) for column in audit.TRACED]
    stale = select(Signature.id, Signature.letter_id, *traced).where(
        Signature.state == SignatureState.PENDING,
        Signature.signed_at < now - timedelta(days=pending_days),
    )
    stale_ids = []
    by_letter: dict[int, dict[int, list[str]]] = {}
    for row in session.execute(stale):
        stale_ids.append(row.id)
        by_letter.setdefault(row.letter_id, {})[row.id] = audit.traces(row[2:])
    # What the log said about them goes with them.
    for letter_id, people in by_letter.items():
        audit.forget(session, letter_id, people)
    emails = 0
    for chunk in chunks(stale_ids):
        emails += _count(
            session.execute(
                delete(OutboundEmail)
                .where(OutboundEmail.signature_id.in_(chunk))
                .execution_options(synchronize_session=False)
            )
        )
        session.execute(
            delete(Signature)
            .where(Signature.id.in_(chunk))
            .execution_options(synchronize_session=False)
        )
    emails += _count(
        session.execute(
            delete(OutboundEmail)
            .where(
                OutboundEmail.status.in_([EmailStatus.SENT, EmailStatus.FAILED]),
                OutboundEmail.created_at < now - timedelta(days=email_days),
            )
            .execution_options(synchronize_session=False)
        )
    )
    session.execute(
        delete(SignerAccess)
        .where(SignerAccess.created_at < now - timedelta(seconds=access_max_age))
        .execution_options(synchronize_session=False)
    )
    # Client-address hashes only serve the rate check: gone after 30 days.
    session.execute(
        update(Signature)
        .where(
            Signature.client_hash.is_not(None),
            Signature.signed_at < now - timedelta(days=CLIENT_HASH_DAYS),
        )
        .values(client_hash=None, client_block_hash=None)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return Purged(pending_signatures=len(stale_ids), emails=emails)


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
