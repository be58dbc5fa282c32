"""A letter's life: embargo and launch with invited founding signatories, signers re-affirming
after a change of substance, news for signers who asked for it, addressees' responses and the
organisers' milestones.

Columns are added in place (SQLite's own ADD COLUMN): a batch rebuild of `signatures` would
drop the count and tally triggers. Letters already public were launched when they were made.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:40:00

"""
import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'letters', sa.Column('embargoed', sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        'letters', sa.Column('launched_at', app.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column('letters', sa.Column('milestones', sa.JSON(), server_default='[]', nullable=False))
    op.add_column(
        'letters', sa.Column('milestone_reached', sa.Integer(), server_default='0', nullable=False)
    )
    op.execute("UPDATE letters SET launched_at = created_at WHERE status != 'draft'")

    op.add_column('signatures', sa.Column('reaffirmed_version', sa.Integer(), nullable=True))
    op.add_column(
        'signatures', sa.Column('reaffirmed_at', app.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        'signatures', sa.Column('initial', sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        'signatures',
        sa.Column('wants_news', sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        'ix_signatures_letter_news',
        'signatures',
        ['letter_id'],
        unique=False,
        postgresql_where=sa.text('wants_news IS true'),
        sqlite_where=sa.text('wants_news IS 1'),
    )

    op.create_table(
        'invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('email_normalized', sa.String(length=320), nullable=False),
        sa.Column('affiliation', sa.String(length=200), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('country', sa.String(length=2), nullable=False),
        sa.Column('emails_sent', sa.Integer(), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('opened_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('signature_id', sa.Integer(), nullable=True),
        sa.Column('signed_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['letter_id'], ['letters.id'], name=op.f('fk_invitations_letter_id_letters'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['signature_id'], ['signatures.id'],
            name=op.f('fk_invitations_signature_id_signatures'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
        sa.UniqueConstraint(
            'letter_id', 'email_normalized', name=op.f('uq_invitations_letter_id_email_normalized')
        ),
    )
    op.create_index(
        op.f('ix_invitations_signature_id'), 'invitations', ['signature_id'], unique=False
    )

    op.create_table(
        'letter_updates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('published_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['letter_id'], ['letters.id'], name=op.f('fk_letter_updates_letter_id_letters'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_letter_updates')),
    )
    op.create_index(
        op.f('ix_letter_updates_letter_id'), 'letter_updates', ['letter_id'], unique=False
    )

    op.create_table(
        'addressee_responses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('letter_id', sa.Integer(), nullable=False),
        sa.Column('responder', sa.String(length=200), nullable=False),
        sa.Column('responded_on', sa.Date(), nullable=False),
        sa.Column('summary', sa.String(length=2000), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=True),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['letter_id'], ['letters.id'], name=op.f('fk_addressee_responses_letter_id_letters'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_addressee_responses')),
    )
    op.create_index(
        op.f('ix_addressee_responses_letter_id'), 'addressee_responses', ['letter_id'],
        unique=False,
    )


def downgrade():
    op.drop_index(op.f('ix_addressee_responses_letter_id'), table_name='addressee_responses')
    op.drop_table('addressee_responses')
    op.drop_index(op.f('ix_letter_updates_letter_id'), table_name='letter_updates')
    op.drop_table('letter_updates')
    op.drop_index(op.f('ix_invitations_signature_id'), table_name='invitations')
    op.drop_table('invitations')
    op.drop_index('ix_signatures_letter_news', table_name='signatures')
    op.drop_column('signatures', 'wants_news')
    op.drop_column('signatures', 'initial')
    op.drop_column('signatures', 'reaffirmed_at')
    op.drop_column('signatures', 'reaffirmed_version')
    op.drop_column('letters', 'milestone_reached')
    op.drop_column('letters', 'milestones')
    op.drop_column('letters', 'launched_at')
    op.drop_column('letters', 'embargoed')
