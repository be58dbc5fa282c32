"""An index for featured (notable) signatories, shown on every letter page and public list
(its condition spelt as the queries spell it, `is_notable IS true`, or the planner ignores it):
without it, finding the handful among a million signatures read the whole letter (135 ms).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 11:55:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_signatures_letter_notable',
        'signatures',
        ['letter_id', 'notable_rank'],
        unique=False,
        postgresql_where=sa.text('is_notable IS true'),
        sqlite_where=sa.text('is_notable IS 1'),
    )


def downgrade():
    op.drop_index('ix_signatures_letter_notable', table_name='signatures')
