"""Who runs a letter's campaign, as its share image and poster show it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 18:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'letters',
        sa.Column('organisers_name', sa.String(length=200), server_default='', nullable=False),
    )


def downgrade():
    op.drop_column('letters', 'organisers_name')
