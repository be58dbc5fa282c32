"""Maintained signature counts: a counter table kept by triggers, so no page runs COUNT(*).

A signature counts publicly when it is verified and not held for review. Triggers on
`signatures` add the difference every INSERT, UPDATE or DELETE makes to one of the letter's
counter rows. On PostgreSQL they are statement-level with transition tables, so a bulk import or
a bulk moderation action costs one aggregate, not one trigger call per row; a transaction
always adds to the same row (chosen by its id), so concurrent confirmations spread over 16 rows
instead of queueing on one; rows are taken in letter order, so transactions that touch several
letters take their locks in one order. SQLite has only row-level triggers, which is fine for the
embedded default.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:05:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SHARDS = 16
COUNTED_NEW = "NEW.state = 'verified' AND NOT NEW.quarantined"
COUNTED_OLD = "OLD.state = 'verified' AND NOT OLD.quarantined"

POSTGRES_FUNCTION = f"""
CREATE FUNCTION signature_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    chosen_shard integer := txid_current() % {SHARDS};
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO signature_counts AS c (letter_id, shard, verified)
        SELECT n.letter_id, chosen_shard, count(*)
        FROM new_rows n JOIN letters l ON l.id = n.letter_id
        WHERE n.state = 'verified' AND NOT n.quarantined
        GROUP BY n.letter_id ORDER BY n.letter_id
        ON CONFLICT (letter_id, shard) DO UPDATE SET verified = c.verified + excluded.verified;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO signature_counts AS c (letter_id, shard, verified)
        SELECT o.letter_id, chosen_shard, -count(*)
        FROM old_rows o JOIN letters l ON l.id = o.letter_id
        WHERE o.state = 'verified' AND NOT o.quarantined
        GROUP BY o.letter_id ORDER BY o.letter_id
        ON CONFLICT (letter_id, shard) DO UPDATE SET verified = c.verified + excluded.verified;
    ELSE
        INSERT INTO signature_counts AS c (letter_id, shard, verified)
        SELECT changes.letter_id, chosen_shard, sum(changes.delta)
        FROM (
            SELECT letter_id, 1 AS delta FROM new_rows
            WHERE state = 'verified' AND NOT quarantined
            UNION ALL
            SELECT letter_id, -1 FROM old_rows
            WHERE state = 'verified' AND NOT quarantined
        ) changes JOIN letters l ON l.id = changes.letter_id
        GROUP BY changes.letter_id
        HAVING sum(changes.delta) <> 0
        ORDER BY changes.letter_id
        ON CONFLICT (letter_id, shard) DO UPDATE SET verified = c.verified + excluded.verified;
    END IF;
    RETURN NULL;
END
$$
"""

POSTGRES_TRIGGERS = [
    """CREATE TRIGGER signature_counts_insert AFTER INSERT ON signatures
       REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION signature_counts_apply()""",
    """CREATE TRIGGER signature_counts_update AFTER UPDATE ON signatures
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION signature_counts_apply()""",
    """CREATE TRIGGER signature_counts_delete AFTER DELETE ON signatures
       REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION signature_counts_apply()""",
]


def _sqlite_add(letter: str, delta: str, condition: str = "1") -> str:
    # The WHERE is also what SQLite's grammar needs before an upsert in INSERT ... SELECT.
    return f"""
        INSERT INTO signature_counts (letter_id, shard, verified)
        SELECT {letter}, 0, {delta}
        WHERE ({condition}) AND EXISTS (SELECT 1 FROM letters WHERE id = {letter})
        ON CONFLICT (letter_id, shard) DO UPDATE SET verified = verified + excluded.verified;
    """


SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER signature_counts_insert AFTER INSERT ON signatures
        WHEN {COUNTED_NEW}
        BEGIN {_sqlite_add("NEW.letter_id", "1")} END""",
    # Out of the old letter's count and into the new one's (the same letter, usually).
    f"""CREATE TRIGGER signature_counts_update
        AFTER UPDATE OF state, quarantined, letter_id ON signatures
        WHEN ({COUNTED_OLD}) IS NOT ({COUNTED_NEW}) OR OLD.letter_id IS NOT NEW.letter_id
        BEGIN
            {_sqlite_add("OLD.letter_id", "-1", COUNTED_OLD)}
            {_sqlite_add("NEW.letter_id", "1", COUNTED_NEW)}
        END""",
    f"""CREATE TRIGGER signature_counts_delete AFTER DELETE ON signatures
        WHEN {COUNTED_OLD}
        BEGIN {_sqlite_add("OLD.letter_id", "-1")} END""",
]

TRIGGER_NAMES = ("signature_counts_insert", "signature_counts_update", "signature_counts_delete")


def upgrade():
    op.create_table(
        "signature_counts",
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("verified", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_signature_counts_letter_id_letters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("letter_id", "shard", name=op.f("pk_signature_counts")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    # Signatures that exist already.
    op.execute(
        "INSERT INTO signature_counts (letter_id, shard, verified) "
        "SELECT letter_id, 0, count(*) FROM signatures "
        "WHERE state = 'verified' AND NOT quarantined GROUP BY letter_id"
    )


def downgrade():
    for name in TRIGGER_NAMES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER {name} ON signatures")
        else:
            op.execute(f"DROP TRIGGER {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION signature_counts_apply()")
    op.drop_table("signature_counts")
