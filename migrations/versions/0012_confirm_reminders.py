"""One reminder to confirm: signatures remember when it was queued, and pending ones not yet
reminded are found by age through a partial index.

The column is added in place (SQLite's own ADD COLUMN): a batch rebuild of `signatures` would
drop the count and tally triggers.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:35:00

"""
import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

WAITING = "state = 'pending' AND reminded_at IS NULL"


def upgrade():
    op.add_column(
        'signatures', sa.Column('reminded_at', app.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.create_index(
        'ix_signatures_to_remind',
        'signatures',
        ['signed_at'],
        unique=False,
        postgresql_where=sa.text(WAITING),
        sqlite_where=sa.text(WAITING),
    )


def downgrade():
    op.drop_index('ix_signatures_to_remind', table_name='signatures')
    op.drop_column('signatures', 'reminded_at')
