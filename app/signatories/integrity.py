"""An honest count: how many signatures the letter lists, how many were removed and why, and
how many wait for review, so readers can judge the list. Numbers only, never names."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import ScalarSelect, bindparam, func, select

from app.db import DbSession
from app.models import Letter, Signature, SignatureCount, SignatureState


@dataclass(frozen=True)
class Integrity:
    #: Counted on the letter: confirmed and not held (those who asked not to be named too).
    listed: int
    #: Taken back by their signers.
    withdrawn: int
    #: Hidden by the organisers (fakes, duplicates).
    hidden: int
    #: Confirmed, but held for review (a soft defence, or a notable name awaiting evidence).
    held: int
    #: Never confirmed by their email link (until retention deletes them).
    unconfirmed: int
    #: Of the counted ones, those the organisers imported (paper forms, another site): not
    #: confirmed by email here.
    imported: int = 0

    @property
    def confirmed_here(self) -> int:
        """Counted signatures confirmed by their signers' email link on this site."""
        return self.listed - self.imported

    def as_json(self) -> dict[str, int]:
        return asdict(self)


def integrity(session: DbSession, letter: Letter) -> Integrity:
    """One statement; each count reads an index range of its own (the state index, the held
    index), never the million listed rows."""
    row = session.connection().execute(_INTEGRITY, {"letter_id": letter.id}).one()
    return Integrity(*(int(value or 0) for value in row))


def _in_state(state: SignatureState) -> ScalarSelect[int]:
    return (
        select(func.count())
        .where(Signature.letter_id == bindparam("letter_id"), Signature.state == state)
        .scalar_subquery()
    )


#: Each of Integrity's numbers as a scalar sub-select taking `letter_id`, in its fields' order:
#: the letter page asks them within its one summary statement (public_list.letter_summary).
COUNTS: dict[str, ScalarSelect[int]] = {
    "listed": select(func.sum(SignatureCount.verified))
    .where(SignatureCount.letter_id == bindparam("letter_id"))
    .scalar_subquery(),
    "withdrawn": _in_state(SignatureState.WITHDRAWN),
    "hidden": _in_state(SignatureState.HIDDEN),
    "held": select(func.count())
    .where(
        Signature.letter_id == bindparam("letter_id"),
        Signature.quarantined.is_(True),
        Signature.state == SignatureState.VERIFIED,
    )
    .scalar_subquery(),
    "unconfirmed": _in_state(SignatureState.PENDING),
    # Through the partial index of imported signatures: none, or the import's rows alone.
    "imported": select(func.count())
    .where(
        Signature.letter_id == bindparam("letter_id"),
        Signature.source.is_not(None),
        Signature.state == SignatureState.VERIFIED,
        Signature.quarantined.is_(False),
    )
    .scalar_subquery(),
}
_INTEGRITY = select(*COUNTS.values())
