"""One link for everything a signer did: requests for it, which the emailed token names.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 18:10:00

"""
import sqlalchemy as sa
from alembic import op

import app.db

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'signer_accesses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email_normalized', sa.String(length=320), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signer_accesses')),
    )
    op.create_index(
        op.f('ix_signer_accesses_created_at'), 'signer_accesses', ['created_at'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_signer_accesses_created_at'), table_name='signer_accesses')
    op.drop_table('signer_accesses')
