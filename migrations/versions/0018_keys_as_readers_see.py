"""Names compared as a reader sees them: the keys of stored names, affiliations and registry
names made again without the characters that render as nothing (zero-width joiners, variation
selectors, Hangul fillers...) and with every kind of dot dropped as "." is.

"Bar\u200dack Obama" was stored under another look-alike key than "Barack Obama", so the
watch-list, the notable look-alikes and check a list missed him. Only text outside ASCII can
change. An affiliation whose new key another affiliation of its letter has already becomes a
variant of that one (as a merge does); an organisation's name or alias whose new key another
organisation has keeps its old key, and is printed for the organisers to look at. Also: an
index for the cap on my-signatures emails per mailbox.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 15:40:00

"""

import sqlalchemy as sa
from alembic import op

from app.support.text import lookalike_key, matching_key

# revision identifiers, used by Alembic.
revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

BATCH = 5000
KEY_MAX = 600
#: Each registry table: its rows (id, organisation, name, key), and how one's key is set.
REGISTRY_TABLES = {
    "organisations": (
        "SELECT id, id, name, key FROM organisations",
        "UPDATE organisations SET key = :key WHERE id = :id",
    ),
    "organisation_aliases": (
        "SELECT id, organisation_id, name, key FROM organisation_aliases",
        "UPDATE organisation_aliases SET key = :key WHERE id = :id",
    ),
}


def upgrade():
    # The cap on my-signatures emails counts one mailbox's requests of the last hour.
    op.create_index(
        "ix_signer_accesses_mailbox_created",
        "signer_accesses",
        ["email_normalized", "created_at"],
        unique=False,
    )
    _signatures()
    _affiliations()
    for table in REGISTRY_TABLES:
        _registry(table)
    _relink()


def _signatures():
    bind = op.get_bind()
    last_id = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, name, name_key FROM signatures WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last_id, "n": BATCH},
        ).all()
        if not rows:
            return
        last_id = rows[-1][0]
        changes = [
            {"row_id": ident, "key": key}
            for ident, name, stored in rows
            if name and not name.isascii()
            for key in (lookalike_key(name)[:KEY_MAX],)
            if key != stored
        ]
        if changes:
            bind.execute(
                sa.text("UPDATE signatures SET name_key = :key WHERE id = :row_id"), changes
            )


def _affiliation_key(name):
    return matching_key(name) or name.casefold()


def _affiliations():
    """Each affiliation's key made again; one whose new key its letter has already is merged."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, letter_id, name, key FROM affiliations")).all()
    owners = {(letter_id, key): ident for ident, letter_id, _, key in rows}
    for ident, letter_id, name, key in rows:
        if name.isascii() or (new_key := _affiliation_key(name)) == key:
            continue
        existing = owners.get((letter_id, new_key))
        if existing is None:
            bind.execute(
                sa.text("UPDATE affiliations SET key = :key WHERE id = :id"),
                {"key": new_key, "id": ident},
            )
            owners[(letter_id, new_key)] = ident
        elif existing != ident:
            # Merged into it, as the console's merge does: its signatures move, its key stays
            # as the target's other spelling, one hop from it.
            target = bind.execute(
                sa.text("SELECT coalesce(canonical_id, id) FROM affiliations WHERE id = :id"),
                {"id": existing},
            ).scalar()
            if target == ident:  # its own variant already has the key: it stays canonical
                continue
            values = {"target": target, "id": ident}
            bind.execute(
                sa.text(
                    "UPDATE signatures SET affiliation_id = :target WHERE affiliation_id = :id"
                ),
                values,
            )
            bind.execute(
                sa.text(
                    "UPDATE affiliations SET canonical_id = :target "
                    "WHERE id = :id OR canonical_id = :id"
                ),
                values,
            )


def _registry(table):
    bind = op.get_bind()
    rows_of, update = REGISTRY_TABLES[table]
    for ident, owner, name, key in bind.execute(sa.text(rows_of)).all():
        if name.isascii() or (new_key := matching_key(name)) == key or not new_key:
            continue
        try:
            with bind.begin_nested():
                bind.execute(sa.text(update), {"key": new_key, "id": ident})
        except sa.exc.IntegrityError:
            print(  # what the person upgrading must look at
                f"{table} {ident} ({name!r}, of organisation {owner}): its name folds to "
                f"{new_key!r}, which another organisation has; its key is left as it was"
            )


def _relink():
    """Every affiliation linked by the registry's names again, unless set by hand or merged
    into another: a re-keyed affiliation may now meet an organisation's name, and an
    organisation's re-keyed name may now meet an affiliation's (the rule of
    organisations.affiliation_links, in SQL: the migration must not change as the app does)."""
    op.execute(
        "UPDATE affiliations SET organisation_id = coalesce("
        "(SELECT o.id FROM organisations o WHERE o.key = affiliations.key), "
        "(SELECT a.organisation_id FROM organisation_aliases a WHERE a.key = affiliations.key)) "
        "WHERE NOT linked_by_hand AND canonical_id IS NULL"
    )


def downgrade():
    """The new keys stay: the old ones were the fault."""
    op.drop_index("ix_signer_accesses_mailbox_created", table_name="signer_accesses")
