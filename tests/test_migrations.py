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
    assert script.get_heads() == ["0018"]
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
        "0018_keys_as_readers_see.py",
    ]


#: A letter as any earlier release stored it, for the migrations' data tests.
OLD_LETTER = (
    "INSERT INTO letters (id, slug, title, body, status, version, created_at, updated_at,"
    " embargoed, language) VALUES (1, 'old', 'Old', 'Text', 'open', 1, :day, :day, false, 'en')"
)
DAY = "2026-01-01"


def _migrated(
    tmp_path, before: str, after: str, statements: list[str], queries: list[str], **values: str
) -> list[list[tuple]]:
    """Data written at revision `before` (the statements, with :day and `values`), migrated to
    `after`; each query's rows then."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from config import TestingConfig

    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade(revision=before)
        with db.engine.begin() as connection:
            for statement in [OLD_LETTER, *statements]:
                connection.execute(text(statement), {"day": DAY, **values})
        upgrade(revision=after)
        with db.engine.connect() as connection:
            return [[tuple(row) for row in connection.execute(text(q)).all()] for q in queries]


def test_0017_links_existing_affiliations_and_keeps_what_organisers_chose(tmp_path) -> None:
    """Existing data: an unlinked affiliation named as an organisation is linked (imports never
    were); a link to another organisation was an organiser's (kept, by hand); an affiliation
    an organiser unlinked stays unlinked; file names as import sources leave the public eye."""
    [rows] = _migrated(
        tmp_path,
        "0016",
        "0017",
        [
            "INSERT INTO organisations (id, name, key, sector, created_at, updated_at) VALUES"
            " (1, 'Anthropic', 'anthropic', 'industry', :day, :day),"
            " (2, 'Google', 'google', 'industry', :day, :day)",
            "INSERT INTO affiliations (id, letter_id, name, key, organisation_id, created_at)"
            " VALUES (1, 1, 'Anthropic', 'anthropic', NULL, :day),"
            " (2, 1, 'Google Brain', 'google brain', 2, :day),"
            " (3, 1, 'google', 'google', NULL, :day)",
            "INSERT INTO audit_events (created_at, organiser_email, letter_id, action,"
            " signature_ids, details) VALUES (:day, 'o@example.org', 1, 'affiliations.link',"
            " '[]', :details)",
        ],
        ["SELECT name, organisation_id, linked_by_hand FROM affiliations ORDER BY id"],
        details='{"affiliation": "google", "before": "Google", "after": null}',
    )
    assert rows == [
        ("Anthropic", 1, False),  # linked by the rule now
        ("Google Brain", 2, True),  # the organiser's link, kept
        ("google", None, True),  # the organiser unlinked it: stays so
    ]


def test_0018_gives_stored_names_the_keys_a_reader_would(tmp_path) -> None:
    """A name stored with a zero-width joiner gets Barack Obama's look-alike key; an
    affiliation whose new key another of its letter has is merged into it, signatures and all;
    one that only a hidden character kept from a registered name is linked to it."""
    from app.support.text import lookalike_key

    keys, moved, affiliations = _migrated(
        tmp_path,
        "0017",
        "0018",
        [
            "INSERT INTO organisations (id, name, key, sector, created_at, updated_at) VALUES"
            " (1, 'Anthropic', 'anthropic', 'industry', :day, :day)",
            "INSERT INTO affiliations (id, letter_id, name, key, organisation_id, created_at)"
            " VALUES (1, 1, 'Oxford', 'oxford', NULL, :day),"
            " (2, 1, 'Ox\u200bford', 'ox\u200bford', NULL, :day),"
            " (3, 1, 'Anthro\u200dpic', 'anthro pic', NULL, :day)",
            "INSERT INTO signatures (letter_id, state, name, name_key, email, email_normalized,"
            " affiliation_id, title, country, is_public, emails_sent, signed_at, verified_at,"
            " letter_version, quarantined, review_flags) VALUES"
            " (1, 'verified', 'Bar\u200dack Obama', 'bar ack obarna', 'a@example.org',"
            " 'a@example.org', 2, 'T', 'GB', 1, 1, :day, :day, 1, 0, '[]'),"
            " (1, 'verified', 'Ada', 'ada', 'b@example.org', 'b@example.org', 3, 'T', 'GB', 1, 1,"
            " :day, :day, 1, 0, '[]')",
        ],
        [
            "SELECT name_key FROM signatures ORDER BY id",
            "SELECT affiliation_id FROM signatures ORDER BY affiliation_id",
            "SELECT id, key, canonical_id, organisation_id FROM affiliations ORDER BY id",
        ],
    )
    assert [key for (key,) in keys] == [lookalike_key("Barack Obama"), "ada"]
    assert [ident for (ident,) in moved] == [1, 3]
    assert affiliations == [
        (1, "oxford", None, None),
        (2, "ox\u200bford", 1, None),  # merged into Oxford, its key kept as another spelling
        (3, "anthropic", None, 1),  # linked by the registry's name now
    ]
