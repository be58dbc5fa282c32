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

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


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
    op.execute(
        "UPDATE signatures SET source = 'Imported by the organisers' WHERE source LIKE 'import: %'"
    )


def downgrade():
    op.drop_index("ix_signatures_letter_imported", table_name="signatures")
    op.drop_index("ix_affiliations_key", table_name="affiliations")
    op.drop_column("affiliations", "linked_by_hand")
    op.drop_index(
        op.f("ix_organisation_aliases_organisation_id"), table_name="organisation_aliases"
    )
    op.drop_table("organisation_aliases")
