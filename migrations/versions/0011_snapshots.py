"""Snapshots anyone can check: the public list as it stood, written once as a CSV file kept
byte for byte, with its SHA-256 and the previous snapshot's, so a letter's snapshots chain.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 16:11:42.193079

"""
from alembic import op
import sqlalchemy as sa

import app.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('taken_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('signatures', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('previous_sha256', sa.String(length=64), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_snapshots_letter_id_letters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_snapshots')),
    sa.UniqueConstraint('letter_id', 'number', name=op.f('uq_snapshots_letter_id_number'))
    )


def downgrade():
    op.drop_table('snapshots')
