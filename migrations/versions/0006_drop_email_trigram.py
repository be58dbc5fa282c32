"""The addresses' trigram index goes: it cost every signature and every imported row about 40%
of its insert (200,000 rows: 6.4 s without it, 10-12 s with it), served only the console's
substring search of addresses, and the planner took it, with stale statistics, for the
import's look-up of a file's addresses, which it serves worst of all. Names and titles keep
theirs. Looking up an address is the unique (letter_id, email_normalized) index's work.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 19:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_signatures_email_normalized_trigram", table_name="signatures")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_signatures_email_normalized_trigram",
            "signatures",
            ["email_normalized"],
            postgresql_using="gin",
            postgresql_ops={"email_normalized": "gin_trgm_ops"},
        )
