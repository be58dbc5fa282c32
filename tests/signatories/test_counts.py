"""The kept signature counts: every way a signature changes keeps them equal to COUNT(*)."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text, update

from app.db import utcnow
from app.models import PUBLICLY_COUNTED, Letter, Signature, SignatureCount, SignatureState
from app.moderation import imports, operations
from app.signatories import public_list
from app.signing import lifecycle
from app.signing.settings import signing_settings
from tests.factories import make_letter, make_signature
from tests.helpers import confirm_signature


def true_count(session: Any, letter: Letter) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Signature)
        .where(Signature.letter_id == letter.id, *PUBLICLY_COUNTED)
    )


def assert_counts_agree(session: Any, letter: Letter, expected: int) -> None:
    assert true_count(session, letter) == expected
    assert public_list.count_verified(session, letter) == expected


def test_every_path_that_changes_a_signature_keeps_the_count(app, session) -> None:
    letter = make_letter(session)
    other = make_letter(session)
    make_signature(session, letter=other)
    assert_counts_agree(session, letter, 0)

    first, second, third = (make_signature(session, letter=letter) for _ in range(3))
    pending = make_signature(session, letter=letter, state=SignatureState.PENDING)
    assert_counts_agree(session, letter, 3)

    confirm_signature(session, app, pending)
    session.commit()
    assert_counts_agree(session, letter, 4)

    operations.hide(session, [first, second], "fake")
    session.commit()
    assert_counts_agree(session, letter, 2)

    operations.unhide(session, [second])
    session.commit()
    assert_counts_agree(session, letter, 3)

    third.quarantined = True
    session.commit()
    assert_counts_agree(session, letter, 2)
    operations.approve(session, [third])
    session.commit()
    assert_counts_agree(session, letter, 3)

    lifecycle.withdraw(session, letter, pending, settings=signing_settings(app.config))
    session.commit()
    assert_counts_agree(session, letter, 2)

    operations.erase(session, [second])
    session.commit()
    assert_counts_agree(session, letter, 1)

    rows = imports.parse(
        b"name,email,affiliation,title,country\n"
        b"Ada One,ada1@example.org,Lab,Researcher,GB\n"
        b"Ada Two,ada2@example.org,Lab,Researcher,FR\n"
    )
    imports.import_rows(
        session,
        letter,
        rows,
        verified=True,
        source="test",
        settings=signing_settings(app.config),
        now=utcnow(),
    )
    session.commit()
    assert_counts_agree(session, letter, 3)
    assert public_list.count_verified(session, other) == 1


def test_a_rolled_back_change_leaves_the_count_alone(session) -> None:
    letter = make_letter(session)
    make_signature(session, letter=letter)
    session.execute(
        update(Signature).where(Signature.letter_id == letter.id).values(state="hidden")
    )
    assert public_list.count_verified(session, letter) == 0
    session.rollback()
    assert_counts_agree(session, letter, 1)


def test_recount_repairs_drift_and_reports_it(session, runner) -> None:
    letter = make_letter(session)
    for _ in range(4):
        make_signature(session, letter=letter)
    # Someone edits the counter by hand: the public count is now wrong by 7.
    session.execute(
        update(SignatureCount)
        .where(SignatureCount.letter_id == letter.id)
        .values(verified=SignatureCount.verified + 7)
    )
    session.commit()
    assert public_list.count_verified(session, letter) == 11

    result = runner.invoke(args=["signatures", "recount"])
    assert result.exit_code == 0, result.output
    assert f"Letter {letter.id}: count was off by +7; repaired." in result.output
    assert_counts_agree(session, letter, 4)

    again = runner.invoke(args=["signatures", "recount"])
    assert "All letters' counts agree" in again.output


_STATES = st.sampled_from(["pending", "verified", "withdrawn", "hidden"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 7), _STATES, st.booleans(), st.booleans()),
        min_size=1,
        max_size=12,
    )
)
def test_any_sequence_of_bulk_updates_keeps_the_count(session, steps) -> None:
    """Raw SQL, several rows per statement, including no-op updates: the triggers see it all."""
    letter = make_letter(session)
    for index in range(8):
        make_signature(session, letter=letter, name=f"Row {index}")
    ids = session.scalars(select(Signature.id).where(Signature.letter_id == letter.id)).all()
    for low, state, quarantined, delete in steps:
        chosen = ids[low : low + 3]
        if not chosen:
            continue
        if delete:
            session.execute(text("DELETE FROM signatures WHERE id = :id"), {"id": chosen[0]})
            ids.remove(chosen[0])
            continue
        session.execute(
            update(Signature)
            .where(Signature.id.in_(chosen))
            .values(state=state, quarantined=quarantined, verified_at=utcnow())
        )
    session.commit()
    assert public_list.count_verified(session, letter) == true_count(session, letter)


def test_the_letter_page_and_api_show_the_kept_count(client, session) -> None:
    letter = make_letter(session)
    for _ in range(3):
        make_signature(session, letter=letter)
    assert client.get(f"/api/letters/{letter.slug}").json["verified_signatures"] == 3
    page = client.get(f"/letters/{letter.slug}").get_data(as_text=True)
    assert 'data-testid="verified-count">3<' in page


def test_moving_a_signature_to_another_letter_moves_it_between_counts(session) -> None:
    first, second = make_letter(session), make_letter(session)
    moved = make_signature(session, letter=first)
    make_signature(session, letter=first)
    session.execute(update(Signature).where(Signature.id == moved.id).values(letter_id=second.id))
    session.commit()
    assert_counts_agree(session, first, 1)
    assert_counts_agree(session, second, 1)


def test_counts_for_several_letters_come_from_one_query(app, session) -> None:
    from sqlalchemy import event

    busy, quiet, other = make_letter(session), make_letter(session), make_letter(session)
    for _ in range(3):
        make_signature(session, letter=busy)
    make_signature(session, letter=other)
    ids = [busy.id, quiet.id, other.id]
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        counts = public_list.verified_counts(session, ids)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert counts == {ids[0]: 3, ids[2]: 1}  # a letter nobody signed is left out
    assert [s for s in statements if "signature_counts" in s] == statements
    assert len(statements) == 1
    assert public_list.count_verified(session, quiet) == 0
