"""A letter's public statistics: listed signatures per day since the first, and by country.
Only what the public list shows (verified, not held, and listed: a signer who asked not to be
named must not be found by their country and day); days as UTC dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from app.db import DbSession
from app.models import PUBLICLY_COUNTED, Letter, Signature
from app.signatories.overview import Chart, DayCount, bar_chart

#: Days the chart shows at most (the latest ones).
MAX_DAYS = 366


@dataclass(frozen=True)
class Statistics:
    per_day: list[DayCount]
    chart: Chart
    #: (ISO code, count), most first.
    countries: list[tuple[str, int]]
    total: int


def letter_statistics(session: DbSession, letter: Letter, *, today: date) -> Statistics:
    day = func.date(Signature.verified_at)
    rows = session.execute(
        select(day, func.count())
        .where(Signature.letter_id == letter.id, *PUBLICLY_COUNTED, Signature.is_public.is_(True))
        .group_by(day)
    ).all()
    # SQLite gives the day as text, PostgreSQL as a date.
    found = {(d if isinstance(d, date) else date.fromisoformat(str(d))): n for d, n in rows}
    first = max(min(found, default=today), today - timedelta(days=MAX_DAYS - 1))
    days = (today - first).days + 1
    per_day = [
        DayCount(first + timedelta(i), found.get(first + timedelta(i), 0)) for i in range(days)
    ]
    countries = session.execute(
        select(Signature.country, func.count())
        .where(Signature.letter_id == letter.id, *PUBLICLY_COUNTED, Signature.is_public.is_(True))
        .group_by(Signature.country)
        .order_by(func.count().desc(), Signature.country)
    ).all()
    return Statistics(
        per_day=per_day,
        chart=bar_chart(per_day),
        countries=[(code, int(count)) for code, count in countries],
        total=sum(found.values()),
    )
