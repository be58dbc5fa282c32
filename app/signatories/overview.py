"""A letter at a glance for its organisers: counts, signatures per day, top affiliations and
countries, the latest arrivals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from app.db import DbSession
from app.models import PUBLICLY_COUNTED, Affiliation, Letter, Signature, SignatureState
from app.signatories.integrity import Integrity, integrity
from app.support.countries import country_name


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True)
class Bar:
    """One day's bar in the chart, in SVG user units."""

    day: date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    bars: Sequence[Bar]
    width: int
    height: int
    peak: int


@dataclass(frozen=True)
class Overview:
    #: The public integrity line's own numbers: what the console says adds up to what the
    #: letter page says (held ones apart from the counted, imported ones within them).
    counts: Integrity
    per_day: Sequence[DayCount]
    chart: Chart
    top_affiliations: Sequence[tuple[str, int]]
    top_countries: Sequence[tuple[str, int]]
    recent: Sequence[Signature]


def signatures_per_day(
    session: DbSession, letter: Letter, *, days: int, today: date
) -> list[DayCount]:
    """Signatures made each day (any state but hidden), the last `days` days, gaps as zero."""
    start = today - timedelta(days=days - 1)
    day = func.date(Signature.signed_at)
    rows = session.execute(
        select(day, func.count())
        .where(
            Signature.letter_id == letter.id,
            Signature.state != SignatureState.HIDDEN,
            Signature.signed_at >= datetime.combine(start, time(), UTC),
        )
        .group_by(day)
    ).all()
    # SQLite gives the day as text, PostgreSQL as a date.
    found = {(d if isinstance(d, date) else date.fromisoformat(str(d))): n for d, n in rows}
    return [DayCount(start + timedelta(i), found.get(start + timedelta(i), 0)) for i in range(days)]


def bar_chart(points: Sequence[DayCount], *, width: int = 600, height: int = 160) -> Chart:
    peak = max((p.count for p in points), default=0)
    slot = width / max(len(points), 1)
    bars = []
    for index, point in enumerate(points):
        bar_height = (point.count / peak) * (height - 20) if peak else 0
        bars.append(
            Bar(
                day=point.day,
                count=point.count,
                x=round(index * slot + 1, 2),
                y=round(height - bar_height, 2),
                width=round(max(slot - 2, 1), 2),
                height=round(bar_height, 2),
            )
        )
    return Chart(bars=bars, width=width, height=height, peak=peak)


def overview(session: DbSession, letter: Letter, *, today: date, days: int = 30) -> Overview:
    verified = (Signature.letter_id == letter.id, *PUBLICLY_COUNTED)
    top_affiliations = session.execute(
        select(Affiliation.name, func.count())
        .join(Signature, Signature.affiliation_id == Affiliation.id)
        .where(*verified)
        .group_by(Affiliation.id, Affiliation.name)
        .order_by(func.count().desc(), Affiliation.name)
        .limit(10)
    ).all()
    top_countries = session.execute(
        select(Signature.country, func.count())
        .where(*verified)
        .group_by(Signature.country)
        .order_by(func.count().desc(), Signature.country)
        .limit(10)
    ).all()
    recent = session.scalars(
        select(Signature)
        .where(Signature.letter_id == letter.id)
        .order_by(Signature.signed_at.desc(), Signature.id.desc())
        .limit(10)
    ).all()
    per_day = signatures_per_day(session, letter, days=days, today=today)
    return Overview(
        counts=integrity(session, letter),
        per_day=per_day,
        chart=bar_chart(per_day),
        top_affiliations=[(name, count) for name, count in top_affiliations],
        top_countries=[(country_name(code), count) for code, count in top_countries],
        recent=recent,
    )
