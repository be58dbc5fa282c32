"""News about a letter: the organisers' updates to signers, and its addressees' responses."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import UTCDateTime, db, utcnow
from app.models.base import COMMENT_MAX, NAME_MAX, UPDATE_SUBJECT_MAX, URL_MAX


class LetterUpdate(db.Model):  # type: ignore[name-defined]
    """An update the organisers published: on the letter's updates page and feed, and
    emailed to the verified signers who asked for news."""

    __tablename__ = "letter_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(UPDATE_SUBJECT_MAX))
    #: Markdown, rendered and sanitised on display.
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Signers it was queued for.
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class AddresseeResponse(db.Model):  # type: ignore[name-defined]
    """What one of the letter's addressees answered (who, when, what, a link), shown on the
    letter page."""

    __tablename__ = "addressee_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    #: Who responded ("European Commission, DG CONNECT").
    responder: Mapped[str] = mapped_column(String(NAME_MAX))
    responded_on: Mapped[date] = mapped_column(Date)
    #: What they said, in the organisers' words or quoted.
    summary: Mapped[str] = mapped_column(String(COMMENT_MAX))
    url: Mapped[str | None] = mapped_column(String(URL_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
