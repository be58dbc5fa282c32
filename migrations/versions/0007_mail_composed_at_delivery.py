"""Mail is data first: an outbox row says what to send (kind, recipient, the signature and
letter it is about, the language, and the little context that may be gone by delivery), and
the sender composes the message and mints its links when it delivers it. The stored subjects
and bodies go, and with them the live confirm and withdraw links they held.

Queued confirmations and "already signed" notices name their signature, so the sender can
compose them; their letter is filled in here. A queued withdrawal receipt cannot be composed
again (its signature was cleared, its letter was never recorded): it is marked failed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('letter_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('language', sa.String(length=16), server_default='en', nullable=False)
        )
        batch_op.add_column(sa.Column('context', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_outbound_emails_letter_id_letters'), 'letters', ['letter_id'], ['id'],
            ondelete='CASCADE',
        )
    op.execute(
        "UPDATE outbound_emails SET letter_id = "
        "(SELECT letter_id FROM signatures WHERE signatures.id = outbound_emails.signature_id) "
        "WHERE signature_id IS NOT NULL"
    )
    op.execute(
        "UPDATE outbound_emails SET status = 'failed', claimed_at = NULL, claim_token = NULL, "
        "last_error = 'composed before 0007 and cannot be composed again' "
        "WHERE status IN ('queued', 'sending') AND signature_id IS NULL"
    )
    # Blanked before they go: PostgreSQL's DROP COLUMN leaves the old values in the table's
    # pages until rows are rewritten (docs/DEPLOY.md: VACUUM FULL after upgrading).
    op.execute("UPDATE outbound_emails SET subject = '', body_text = '', body_html = ''")
    with op.batch_alter_table('outbound_emails', schema=None) as batch_op:
        batch_op.drop_column('body_html')
        batch_op.drop_column('body_text')
        batch_op.drop_column('subject')


def downgrade():
    # Bodies were never kept, so the release before this one could only send blank messages:
    # what is still queued is marked failed instead (the organisers' console shows it).
    op.execute(
        "UPDATE outbound_emails SET status = 'failed', claimed_at = NULL, claim_token = NULL, "
        "last_error = 'queued after 0007, which keeps no bodies' "
        "WHERE status IN ('queued', 'sending')"
    )
    with op.batch_alter_table('outbound_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('body_text', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('body_html', sa.Text(), server_default='', nullable=False))
        batch_op.drop_constraint(batch_op.f('fk_outbound_emails_letter_id_letters'), type_='foreignkey')
        batch_op.drop_column('context')
        batch_op.drop_column('language')
        batch_op.drop_column('letter_id')
