"""Kept tallies for the breakdown, and indexes for the integrity line's held count and the
organisational signatures: listed signatures of each letter counted by affiliation,
verified organisation and country, kept by triggers as signature_counts are (0003), so that
"who signed and who is absent" reads a few thousand rows, not a million signatures.

A signature is tallied while it is listed: verified, not held for review, and public (people
who asked not to be named are counted on the letter, but not by organisation: a count of one
at a small organisation would name them). organisation_id 0 stands for "no verified
organisation" (a primary key column cannot be NULL).

On PostgreSQL the triggers are statement-level with transition tables, so a bulk change costs
one aggregate; a transaction adds to one of 16 rows per group (chosen by its id), so
concurrent confirmations do not queue on one row. SQLite has row-level triggers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SHARDS = 16
LISTED = "state = 'verified' AND NOT quarantined AND is_public"
GROUP = "letter_id, affiliation_id, coalesce(email_organisation_id, 0), country"


def _postgres_add(changes: str) -> str:
    """Add the signed deltas of `changes` (letter_id, affiliation_id, organisation_id, country,
    delta) to this transaction's shard of each group, in key order (one lock order)."""
    return f"""
        INSERT INTO signature_tallies AS t
            (letter_id, affiliation_id, organisation_id, country, shard, signatures)
        SELECT c.letter_id, c.affiliation_id, c.organisation_id, c.country, chosen_shard,
            sum(c.delta)
        FROM ({changes}) c
        JOIN letters l ON l.id = c.letter_id
        JOIN affiliations a ON a.id = c.affiliation_id
        GROUP BY c.letter_id, c.affiliation_id, c.organisation_id, c.country
        HAVING sum(c.delta) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (letter_id, affiliation_id, organisation_id, country, shard)
        DO UPDATE SET signatures = t.signatures + excluded.signatures;"""


def _rows(table: str, delta: str) -> str:
    return (
        f"SELECT letter_id, affiliation_id, coalesce(email_organisation_id, 0) AS organisation_id,"
        f" country, {delta} AS delta FROM {table} WHERE {LISTED}"
    )


# Each branch is parsed only when it runs: an INSERT's trigger has no old_rows to name.
POSTGRES_FUNCTION = f"""
CREATE FUNCTION signature_tallies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    chosen_shard integer := txid_current() % {SHARDS};
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_postgres_add(_rows("new_rows", "1"))}
    ELSIF TG_OP = 'DELETE' THEN
        {_postgres_add(_rows("old_rows", "-1"))}
    ELSE
        {_postgres_add(_rows("new_rows", "1") + " UNION ALL " + _rows("old_rows", "-1"))}
    END IF;
    RETURN NULL;
END
$$
"""

POSTGRES_TRIGGERS = [
    """CREATE TRIGGER signature_tallies_insert AFTER INSERT ON signatures
       REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION signature_tallies_apply()""",
    """CREATE TRIGGER signature_tallies_update AFTER UPDATE ON signatures
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION signature_tallies_apply()""",
    """CREATE TRIGGER signature_tallies_delete AFTER DELETE ON signatures
       REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION signature_tallies_apply()""",
]

LISTED_NEW = "NEW.state = 'verified' AND NOT NEW.quarantined AND NEW.is_public"
LISTED_OLD = "OLD.state = 'verified' AND NOT OLD.quarantined AND OLD.is_public"


def _sqlite_add(row: str, delta: str, condition: str) -> str:
    # The WHERE is also what SQLite's grammar needs before an upsert in INSERT ... SELECT.
    return f"""
        INSERT INTO signature_tallies
            (letter_id, affiliation_id, organisation_id, country, shard, signatures)
        SELECT {row}.letter_id, {row}.affiliation_id, coalesce({row}.email_organisation_id, 0),
            {row}.country, 0, {delta}
        WHERE ({condition})
            AND EXISTS (SELECT 1 FROM letters WHERE id = {row}.letter_id)
            AND EXISTS (SELECT 1 FROM affiliations WHERE id = {row}.affiliation_id)
        ON CONFLICT (letter_id, affiliation_id, organisation_id, country, shard)
        DO UPDATE SET signatures = signatures + excluded.signatures;
    """


TALLIED_COLUMNS = (
    "state, quarantined, is_public, letter_id, affiliation_id, email_organisation_id, country"
)
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER signature_tallies_insert AFTER INSERT ON signatures
        WHEN {LISTED_NEW}
        BEGIN {_sqlite_add("NEW", "1", "1")} END""",
    f"""CREATE TRIGGER signature_tallies_update AFTER UPDATE OF {TALLIED_COLUMNS} ON signatures
        WHEN ({LISTED_OLD}) OR ({LISTED_NEW})
        BEGIN
            {_sqlite_add("OLD", "-1", LISTED_OLD)}
            {_sqlite_add("NEW", "1", LISTED_NEW)}
        END""",
    f"""CREATE TRIGGER signature_tallies_delete AFTER DELETE ON signatures
        WHEN {LISTED_OLD}
        BEGIN {_sqlite_add("OLD", "-1", "1")} END""",
]

TRIGGER_NAMES = ("signature_tallies_insert", "signature_tallies_update", "signature_tallies_delete")


def upgrade():
    op.create_table(
        "signature_tallies",
        sa.Column("letter_id", sa.Integer(), nullable=False),
        sa.Column("affiliation_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("shard", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("signatures", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["letter_id"],
            ["letters.id"],
            name=op.f("fk_signature_tallies_letter_id_letters"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["affiliation_id"],
            ["affiliations.id"],
            name=op.f("fk_signature_tallies_affiliation_id_affiliations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "letter_id",
            "affiliation_id",
            "organisation_id",
            "country",
            "shard",
            name=op.f("pk_signature_tallies"),
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    # The integrity line counts held signatures through this (a few among a million), as
    # the notable index does, its condition spelt as the queries spell it.
    op.create_index(
        "ix_signatures_letter_held",
        "signatures",
        ["letter_id"],
        unique=False,
        postgresql_where=sa.text("quarantined IS true"),
        sqlite_where=sa.text("quarantined IS 1"),
    )
    # The public list shows organisational signatures apart: found through this, not by
    # reading every signature of the letter (0.2 s at a million).
    op.create_index(
        "ix_signatures_letter_on_behalf",
        "signatures",
        ["letter_id"],
        unique=False,
        postgresql_where=sa.text("on_behalf IS true"),
        sqlite_where=sa.text("on_behalf IS 1"),
    )
    # Signatures that exist already.
    op.execute(
        "INSERT INTO signature_tallies "
        "(letter_id, affiliation_id, organisation_id, country, shard, signatures) "
        f"SELECT {GROUP}, 0, count(*) FROM signatures WHERE {LISTED} GROUP BY {GROUP}"
    )


def downgrade():
    op.drop_index("ix_signatures_letter_on_behalf", table_name="signatures")
    op.drop_index("ix_signatures_letter_held", table_name="signatures")
    for name in TRIGGER_NAMES:
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER {name} ON signatures")
        else:
            op.execute(f"DROP TRIGGER {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION signature_tallies_apply()")
    op.drop_table("signature_tallies")
