"""Milestones: the verified counts at which a letter's team wants an email ("we passed
10,000"). The mail worker looks now and then (queue_milestone_emails); each milestone is
announced once, however many workers look at the same moment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

from sqlalchemy import func, select, update

from app.db import DbSession
from app.mail.composing import ComposedEmail, KindComposer, render
from app.mail.outbox import Outgoing, queue_many
from app.models import Letter, LetterOrganiser, Organiser, OutboundEmail, SignatureCount

MILESTONE = "milestone"


def queue_milestone_emails(session: DbSession, *, sender_domain: str) -> int:
    """Email each letter's team about the highest milestone its verified count has passed
    since the last one announced; how many emails were queued. If the count jumped past
    several at once, one email names the highest. Flushes; the caller commits."""
    letters = session.execute(select(Letter.id, Letter.milestones, Letter.milestone_reached)).all()
    waiting = {
        letter_id: (milestones, reached)
        for letter_id, milestones, reached in letters
        if any(milestone > reached for milestone in milestones or [])
    }
    if not waiting:
        return 0
    counts = dict(
        session.execute(
            select(SignatureCount.letter_id, func.sum(SignatureCount.verified))
            .where(SignatureCount.letter_id.in_(waiting))
            .group_by(SignatureCount.letter_id)
        ).all()
    )
    queued = 0
    for letter_id, (milestones, reached) in waiting.items():
        count = int(counts.get(letter_id) or 0)
        passed = [milestone for milestone in milestones if reached < milestone <= count]
        if not passed:
            continue
        # Conditional: of two workers looking at once, only one moves it on and emails.
        moved = session.execute(
            update(Letter)
            .where(Letter.id == letter_id, Letter.milestone_reached == reached)
            .values(milestone_reached=max(passed))
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            continue
        team = session.scalars(
            select(Organiser.email)
            .join(LetterOrganiser, LetterOrganiser.organiser_id == Organiser.id)
            .where(LetterOrganiser.letter_id == letter_id)
        ).all()
        context = {"milestone": str(max(passed)), "count": str(count)}
        queued += queue_many(
            session,
            [
                Outgoing(kind=MILESTONE, to_address=address, letter_id=letter_id, context=context)
                for address in team
            ],
            sender_domain=sender_domain,
        )
    session.flush()
    return queued


def composers(base_url: str) -> dict[str, KindComposer]:
    def milestone(session: DbSession, rows: Sequence[OutboundEmail]) -> Mapping[int, ComposedEmail]:
        letters = {
            letter.id: letter
            for letter in session.scalars(
                select(Letter).where(Letter.id.in_({row.letter_id for row in rows}))
            )
        }
        written = {}
        for row in rows:
            letter = letters.get(row.letter_id or 0)
            if letter is None:
                continue
            context = row.context or {}
            written[row.id] = render(
                MILESTONE,
                letter=letter,
                milestone=int(context.get("milestone", 0)),
                count=int(context.get("count", 0)),
                letter_url=f"{base_url}/letters/{quote(letter.slug)}",
                console_url=f"{base_url}/admin/letters/{quote(letter.slug)}",
            )
        return written

    return {MILESTONE: milestone}
