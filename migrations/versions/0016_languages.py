"""Four languages: the language each signature was made in (its emails follow it), the
letter's original language, each invitation's language, and organisers' translations of a
letter's title and text.

Columns are added in place (SQLite's own ADD COLUMN): a batch rebuild of `signatures` would
drop the count and tally triggers.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:30:00

"""
import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'signatures', sa.Column('language', sa.String(length=16), server_default='en', nullable=False)
    )
    op.add_column(
        'letters', sa.Column('language', sa.String(length=16), server_default='en', nullable=False)
    )
    op.add_column(
        'invitations',
        sa.Column('language', sa.String(length=16), server_default='en', nullable=False),
    )
    op.create_table(
        'letter_translations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['letter_id'], ['letters.id'],
            name=op.f('fk_letter_translations_letter_id_letters'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_letter_translations')),
        sa.UniqueConstraint(
            'letter_id', 'language', name=op.f('uq_letter_translations_letter_id_language')
        ),
    )


def downgrade():
    op.drop_table('letter_translations')
    op.drop_column('invitations', 'language')
    op.drop_column('letters', 'language')
    op.drop_column('signatures', 'language')
