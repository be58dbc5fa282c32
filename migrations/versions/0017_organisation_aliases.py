"""Organisations' other names (aliases), affiliations linked to the registry by its names and
aliases unless an organiser linked them by hand, and imported signatures counted apart.

Existing data: an unlinked affiliation named as a registered organisation is linked to it
(imports never were); a link to an organisation whose name is not the affiliation's was an
organiser's, so it is marked as set by hand. Import sources were file names, never meant to be
public: they become a plain "Imported by the organisers".

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 12:10:00

"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


#: A folded name belongs to one organisation, as its name or as an alias: each table's unique
#: key covers itself, these triggers the other table. On PostgreSQL the check takes a lock
#: on the name first, so two transactions giving it to two organisations at once queue, and
#: the second sees the first's row (each statement in plpgsql reads committed rows anew).
PG_NAME_FREE = """
CREATE FUNCTION organisation_name_free() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('organisation name ' || NEW.key));
  IF TG_TABLE_NAME = 'organisation_aliases' THEN
    IF EXISTS (SELECT 1 FROM organisations WHERE key = NEW.key AND id <> NEW.organisation_id)
    THEN RAISE EXCEPTION USING ERRCODE = 'unique_violation',
      MESSAGE = 'the name "' || NEW.key || '" belongs to another organisation';
    END IF;
  ELSIF EXISTS (SELECT 1 FROM organisation_aliases WHERE key = NEW.key AND organisation_id <> NEW.id)
    THEN RAISE EXCEPTION USING ERRCODE = 'unique_violation',
      MESSAGE = 'the name "' || NEW.key || '" belongs to another organisation';
  END IF;
  RETURN NEW;
END $$
"""
PG_TRIGGERS = [
    "CREATE TRIGGER organisation_aliases_name_free BEFORE INSERT OR UPDATE OF key "
    "ON organisation_aliases FOR EACH ROW EXECUTE FUNCTION organisation_name_free()",
    "CREATE TRIGGER organisations_name_free BEFORE INSERT OR UPDATE OF key "
    "ON organisations FOR EACH ROW EXECUTE FUNCTION organisation_name_free()",
]
_SQLITE_ALIAS_CHECK = (
    "WHEN EXISTS (SELECT 1 FROM organisations WHERE key = NEW.key AND id <> NEW.organisation_id) "
    "BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: organisation name'); END"
)
_SQLITE_NAME_CHECK = (
    "WHEN EXISTS (SELECT 1 FROM organisation_aliases WHERE key = NEW.key "
    "AND organisation_id <> NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: organisation name'); END"
)
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER organisation_aliases_name_free_insert BEFORE INSERT ON organisation_aliases "
    f"{_SQLITE_ALIAS_CHECK}",
    f"CREATE TRIGGER organisation_aliases_name_free_update BEFORE UPDATE OF key "
    f"ON organisation_aliases {_SQLITE_ALIAS_CHECK}",
    f"CREATE TRIGGER organisations_name_free_insert BEFORE INSERT ON organisations "
    f"{_SQLITE_NAME_CHECK}",
    f"CREATE TRIGGER organisations_name_free_update BEFORE UPDATE OF key ON organisations "
    f"{_SQLITE_NAME_CHECK}",
]


def upgrade():
    op.create_table(
        "organisation_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_organisation_aliases_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_aliases")),
        sa.UniqueConstraint("key", name=op.f("uq_organisation_aliases_key")),
    )
    op.create_index(
        op.f("ix_organisation_aliases_organisation_id"),
        "organisation_aliases",
        ["organisation_id"],
        unique=False,
    )
    # In place (SQLite's own ADD COLUMN): a batch rebuild would drop the tables' triggers.
    op.add_column(
        "affiliations",
        sa.Column("linked_by_hand", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index("ix_affiliations_key", "affiliations", ["key"], unique=False)
    op.create_index(
        "ix_signatures_letter_imported",
        "signatures",
        ["letter_id"],
        unique=False,
        postgresql_where=sa.text("source IS NOT NULL"),
        sqlite_where=sa.text("source IS NOT NULL"),
    )
    op.execute(
        "UPDATE affiliations SET linked_by_hand = true WHERE organisation_id IS NOT NULL "
        "AND organisation_id NOT IN "
        "(SELECT id FROM organisations WHERE organisations.key = affiliations.key)"
    )
    op.execute(
        "UPDATE affiliations SET organisation_id = "
        "(SELECT id FROM organisations WHERE organisations.key = affiliations.key) "
        "WHERE organisation_id IS NULL AND canonical_id IS NULL "
        "AND key IN (SELECT key FROM organisations)"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_NAME_FREE)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    # An import confirmed later by its own link (verified after it was signed) was confirmed
    # here: no longer imported. The others' sources were never said to be public.
    op.execute(
        "UPDATE signatures SET source = NULL WHERE source IS NOT NULL "
        "AND state = 'verified' AND verified_at <> signed_at"
    )
    op.execute(
        "UPDATE signatures SET source = 'Imported by the organisers' WHERE source IS NOT NULL"
    )
    _keep_organisers_choices_of_none()


def _keep_organisers_choices_of_none():
    """An organiser who unlinked an affiliation (the audit log's affiliations.link with no
    organisation after it, the latest such entry per affiliation) chose "none": kept as such
    (by hand), however the registry names it. Read in Python: the details are JSON."""
    bind = op.get_bind()
    events = bind.execute(
        sa.text(
            "SELECT letter_id, details FROM audit_events "
            "WHERE action = 'affiliations.link' ORDER BY id"
        )
    ).all()
    latest = {}
    for letter_id, details in events:
        if isinstance(details, str):
            details = json.loads(details)
        if letter_id is not None and isinstance(details, dict) and "affiliation" in details:
            latest[(letter_id, details["affiliation"])] = details.get("after")
    for (letter_id, name), after in latest.items():
        if after is None:
            bind.execute(
                sa.text(
                    "UPDATE affiliations SET organisation_id = NULL, linked_by_hand = true "
                    "WHERE letter_id = :letter_id AND name = :name AND canonical_id IS NULL"
                ),
                {"letter_id": letter_id, "name": name},
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER organisations_name_free ON organisations")
        op.execute("DROP TRIGGER organisation_aliases_name_free ON organisation_aliases")
        op.execute("DROP FUNCTION organisation_name_free()")
    else:
        for name in (
            "organisation_aliases_name_free_insert",
            "organisation_aliases_name_free_update",
            "organisations_name_free_insert",
            "organisations_name_free_update",
        ):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_signatures_letter_imported", table_name="signatures")
    op.drop_index("ix_affiliations_key", table_name="affiliations")
    op.drop_column("affiliations", "linked_by_hand")
    op.drop_index(
        op.f("ix_organisation_aliases_organisation_id"), table_name="organisation_aliases"
    )
    op.drop_table("organisation_aliases")
