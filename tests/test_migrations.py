"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from app.db import db, migration_filter
from config import PROJECT_ROOT


def test_models_and_migrations_agree(app) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_object": migration_filter(connection.dialect.name),
            },
        )
        assert compare_metadata(context, db.metadata) == []


def test_the_migration_head_is_the_one_we_know() -> None:
    script = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    assert script.get_heads() == ["0017"]
    names = sorted(p.name for p in (PROJECT_ROOT / "migrations" / "versions").glob("*.py"))
    assert names == [
        "0001_initial.py",
        "0002_organiser_console.py",
        "0003_maintained_counts.py",
        "0004_notable_index.py",
        "0005_name_lookalike_key.py",
        "0006_drop_email_trigram.py",
        "0007_mail_composed_at_delivery.py",
        "0008_organisations_and_evidence.py",
        "0009_signature_tallies.py",
        "0010_version_hashes.py",
        "0011_snapshots.py",
        "0012_confirm_reminders.py",
        "0013_launch_reaffirm_news.py",
        "0014_organisers_name.py",
        "0015_signer_accesses.py",
        "0016_languages.py",
        "0017_organisation_aliases.py",
    ]
