"""Signatures keep their name's look-alike key (Unicode TS #39 skeleton after the usual
folding), indexed per letter: the watch-list, notable review and the console's hints compare
names by it, so "Bаrаck Obаmа" with Cyrillic letters meets "Barack Obama".

Existing signatures get their key here, in batches.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:30:00

"""
import sqlalchemy as sa
from alembic import op

from app.support.text import lookalike_key

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    op.add_column('signatures', sa.Column('name_key', sa.String(length=600), nullable=True))
    signatures = sa.table(
        'signatures', sa.column('id', sa.Integer), sa.column('name', sa.String),
        sa.column('name_key', sa.String),
    )
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(signatures.c.id, signatures.c.name)
            .where(signatures.c.id > last_id, signatures.c.name != '')
            .order_by(signatures.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            signatures.update()
            .where(signatures.c.id == sa.bindparam('row_id'))
            .values(name_key=sa.bindparam('key')),
            [{'row_id': ident, 'key': lookalike_key(name)[:600]} for ident, name in rows],
        )
        last_id = rows[-1][0]
    op.create_index(
        'ix_signatures_letter_name_key', 'signatures', ['letter_id', 'name_key'], unique=False
    )


def downgrade():
    op.drop_index('ix_signatures_letter_name_key', table_name='signatures')
    op.drop_column('signatures', 'name_key')
