"""A list people can trust: the shared registry of organisations and their email domains,
affiliations linked to it, signatures that know the organisation their address is at (a
verified affiliation once confirmed) and whether they sign on behalf of it, the organisations
a letter watches, the roles a letter accepts for organisational signatures, and the evidence
behind each listed notable signatory.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 15:02:28.362709

"""
import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import app.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('sector', sa.Enum('academia', 'industry', 'civil_society', 'government', 'other', name='sector', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('key', name=op.f('uq_organisations_key'))
    )
    op.create_table('organisation_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_domains_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_domains')),
    sa.UniqueConstraint('domain', name=op.f('uq_organisation_domains_domain'))
    )
    with op.batch_alter_table('organisation_domains', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_domains_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('watched_organisations',
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_watched_organisations_letter_id_letters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_watched_organisations_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('letter_id', 'organisation_id', name=op.f('pk_watched_organisations'))
    )
    with op.batch_alter_table('watched_organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_watched_organisations_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('notable_evidence',
    sa.Column('signature_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.Enum('institutional', 'statement', 'call', 'known', name='evidence_method', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('checked_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_by_email', sa.String(length=320), nullable=False),
    sa.Column('public_url', sa.String(length=500), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['checked_by_id'], ['organisers.id'], name=op.f('fk_notable_evidence_checked_by_id_organisers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['signature_id'], ['signatures.id'], name=op.f('fk_notable_evidence_signature_id_signatures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('signature_id', name=op.f('pk_notable_evidence'))
    )
    with op.batch_alter_table('affiliations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_affiliations_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_affiliations_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepted_roles', sa.JSON(), server_default='[]', nullable=False))

    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_organisation_id', sa.Integer(), nullable=True))
        for column in ('on_behalf', 'on_behalf_confirmed', 'on_behalf_confirmed_by_organiser'):
            batch_op.add_column(
                sa.Column(column, sa.Boolean(), server_default=sa.false(), nullable=False)
            )
        batch_op.create_index(
            'ix_signatures_letter_email_organisation', ['letter_id', 'email_organisation_id'],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_signatures_email_organisation_id_organisations'), 'organisations',
            ['email_organisation_id'], ['id'], ondelete='SET NULL',
        )
    _restore_sqlite_count_triggers()
    _hold_notables_without_evidence()


def _hold_notables_without_evidence():
    """Notable signatories are listed only with evidence from now on: those featured before are
    held for review (the console's "Notables to check") until an organiser records it."""
    signatures = sa.table(
        'signatures',
        sa.column('id', sa.Integer),
        sa.column('is_notable', sa.Boolean),
        sa.column('quarantined', sa.Boolean),
        sa.column('review_flags', sa.JSON),
    )
    bind = op.get_bind()
    featured = bind.execute(
        sa.select(signatures.c.id, signatures.c.review_flags).where(
            signatures.c.is_notable == sa.true()
        )
    ).all()
    for signature_id, flags in featured:
        bind.execute(
            signatures.update()
            .where(signatures.c.id == signature_id)
            .values(quarantined=True, review_flags=[*(flags or []), 'notable-unchecked'])
        )


def _restore_sqlite_count_triggers():
    """On SQLite, batch mode rebuilds the table, and a rebuilt table has lost its triggers: the
    signature counts' triggers (0003) are made again, from that migration's own definitions."""
    if op.get_bind().dialect.name != 'sqlite':
        return
    path = Path(__file__).with_name('0003_maintained_counts.py')
    spec = importlib.util.spec_from_file_location('migration_0003', path)
    assert spec is not None and spec.loader is not None
    counts = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(counts)
    for name in counts.TRIGGER_NAMES:
        op.execute(f'DROP TRIGGER IF EXISTS {name}')
    for statement in counts.SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_signatures_email_organisation_id_organisations'), type_='foreignkey'
        )
        batch_op.drop_index('ix_signatures_letter_email_organisation')
        for column in (
            'on_behalf_confirmed_by_organiser', 'on_behalf_confirmed', 'on_behalf',
            'email_organisation_id',
        ):
            batch_op.drop_column(column)
    _restore_sqlite_count_triggers()

    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_column('accepted_roles')

    with op.batch_alter_table('affiliations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_affiliations_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_affiliations_organisation_id'))
        batch_op.drop_column('organisation_id')

    op.drop_table('notable_evidence')
    with op.batch_alter_table('watched_organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_watched_organisations_organisation_id'))

    op.drop_table('watched_organisations')
    with op.batch_alter_table('organisation_domains', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_domains_organisation_id'))

    op.drop_table('organisation_domains')
    op.drop_table('organisations')
