"""Every signature tied to its text: each version of a letter keeps the SHA-256 of its body's
exact bytes (UTF-8 Markdown as stored), so anyone can download a version and check it, and
whether it was a change of substance or a correction.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 16:10:00

"""
import hashlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('letter_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column('substantive', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    versions = sa.table(
        'letter_versions',
        sa.column('id', sa.Integer),
        sa.column('body', sa.Text),
        sa.column('sha256', sa.String),
    )
    bind = op.get_bind()
    for version_id, body in bind.execute(sa.select(versions.c.id, versions.c.body)).all():
        bind.execute(
            versions.update()
            .where(versions.c.id == version_id)
            .values(sha256=hashlib.sha256(body.encode('utf-8')).hexdigest())
        )
    with op.batch_alter_table('letter_versions', schema=None) as batch_op:
        batch_op.alter_column('sha256', existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table('letter_versions', schema=None) as batch_op:
        batch_op.drop_column('substantive')
        batch_op.drop_column('sha256')
