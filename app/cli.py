"""Command-line tools: `flask --app wsgi letters|signatures|mail|organisers|organisations|...`
(`flask --app wsgi --help` lists every group)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.accounts import organisers
from app.db import DbSession, db, utcnow
from app.emails import composer
from app.errors import DomainError
from app.letters import letters, milestones, updates
from app.mail.sender import ConsoleTransport, SMTPTransport, Transport, run_worker, smtp_settings
from app.models import Letter, LetterStatus, OrganiserRole
from app.moderation import exports, imports, retention
from app.organisations import affiliation_links, breakdown, on_behalf, registry
from app.signatories import public_list, snapshots
from app.signing import invitations, lifecycle
from app.signing.settings import signing_settings
from app.support.http_cache import console_changed
from app.support.languages import LANGUAGES

letters_cli = AppGroup(
    "letters", help="Create, list and launch letters; invite founding signatories; post updates."
)
signatures_cli = AppGroup("signatures", help="Import and export a letter's signatures.")
mail_cli = AppGroup("mail", help="Deliver queued email.")
organisers_cli = AppGroup("organisers", help="Organiser accounts and their letters.")
snapshots_cli = AppGroup("snapshots", help="Snapshots of a letter's public list.")
organisations_cli = AppGroup(
    "organisations", help="The registry of organisations, and the ones a letter watches."
)


def _closing_time(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2026-12-31T18:00:00+00:00") from None
    if moment.tzinfo is None:
        raise click.BadParameter("add a time zone, e.g. 2026-12-31T18:00:00+00:00")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise click.BadParameter("that time is out of range") from None


@letters_cli.command("create")
@click.argument("slug")
@click.option("--title", required=True, help="The letter's headline.")
@click.option(
    "--body-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Markdown file with the letter's text.",
)
@click.option("--draft", is_flag=True, help="Create as a draft, not yet public.")
@click.option("--closes-at", callback=_closing_time, help="ISO 8601 time the letter closes.")
@click.option("--exist-ok", is_flag=True, help="Do nothing if the slug already exists.")
@click.option("--organisers", default="", help="Who runs the campaign (share image, poster).")
@click.option(
    "--language",
    type=click.Choice(list(LANGUAGES)),
    default="en",
    help="The language the letter is written in.",
)
@click.option(
    "--embargo",
    is_flag=True,
    help="Hidden from the public until `letters launch`; invited people can sign it meanwhile.",
)
def create_letter(
    slug: str,
    title: str,
    body_file: Path,
    draft: bool,
    closes_at: datetime | None,
    exist_ok: bool,
    organisers: str,
    language: str,
    embargo: bool,
) -> None:
    """Create a letter (open unless --draft; hidden until launched with --embargo)."""
    if draft and embargo:
        raise click.UsageError("An embargoed letter takes invited signatures: not --draft.")
    if exist_ok and letters.find_letter(db.session, slug.strip().lower()) is not None:
        click.echo(f"Letter {slug} already exists; left as it is.")
        return
    try:
        body = body_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise click.ClickException(f"{body_file} is not UTF-8 text.") from None
    try:
        letter = letters.create_letter(
            db.session,
            slug=slug,
            title=title,
            body=body,
            status=LetterStatus.DRAFT if draft else LetterStatus.OPEN,
            closes_at=closes_at,
            embargoed=embargo,
            organisers_name=organisers,
            language=language,
            now=utcnow(),
            by=None,
        )
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    console_changed()  # the list of open letters on the front page
    url = f"{current_app.config['BASE_URL']}/letters/{letter.slug}"
    under = " under embargo (invite with `letters invite`)" if embargo else ""
    click.echo(f"Created {letter.status.value} letter {letter.slug}{under}: {url}")


@letters_cli.command("invite")
@click.argument("slug")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def invite_signatories(slug: str, csv_file: Path) -> None:
    """Invite founding signatories from a CSV file: name, email, and optionally affiliation,
    title, country, language (en, fr, de, es; the letter's own by default). Each gets a
    personal link to read and sign the letter, even under embargo. Any bad row stops it:
    every one is listed and nobody is invited."""
    letter = _letter(slug)
    try:
        result = invitations.invite(
            db.session,
            letter,
            csv_file.read_bytes(),
            settings=signing_settings(current_app.config),
            by=None,
            now=utcnow(),
        )
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(
        f"Invited {result.invited} people (emails queued); {result.already_invited} were"
        " invited already."
    )


@letters_cli.command("launch")
@click.argument("slug")
def launch_letter(slug: str) -> None:
    """Open an embargoed letter to everyone: its founding signatories are listed at once."""
    letter = _letter(slug)
    try:
        letters.launch(db.session, letter, by=None, now=utcnow())
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    console_changed()
    click.echo(f"Launched {letter.slug} at {letter.launched_at:%Y-%m-%d %H:%M:%S} UTC.")


@letters_cli.command("update")
@click.argument("slug")
@click.option("--subject", required=True, help="The update's subject line.")
@click.option(
    "--body-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Markdown file with the update's text.",
)
def publish_update(slug: str, subject: str, body_file: Path) -> None:
    """Publish an update: on the letter's updates page and feed, and emailed to the verified
    signers who asked for news."""
    letter = _letter(slug)
    try:
        update = updates.publish_update(
            db.session,
            letter,
            subject=subject,
            body=body_file.read_text(encoding="utf-8"),
            by=None,
            now=utcnow(),
            sender_domain=signing_settings(current_app.config).sender_domain,
        )
    except UnicodeDecodeError:
        raise click.ClickException(f"{body_file} is not UTF-8 text.") from None
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    console_changed()
    click.echo(f"Published update {update.id}; queued for {update.recipients} signers.")


def _letter(slug: str) -> Letter:
    letter = letters.find_letter(db.session, slug)
    if letter is None:
        raise click.ClickException(f"No letter with the slug {slug!r}.")
    return letter


@letters_cli.command("list")
def list_letters() -> None:
    """Every letter with its status and confirmed signature count."""
    every = letters.all_letters(db.session)
    counts = public_list.verified_counts(db.session, [letter.id for letter in every])
    for letter in every:
        count = counts.get(letter.id, 0)
        closes = f" closes {letter.closes_at.isoformat()}" if letter.closes_at else ""
        click.echo(
            f"{letter.slug}\t{letter.status.value}\t{count} verified\t{letter.title}{closes}"
        )


@signatures_cli.command("export")
@click.argument("slug")
@click.option("--format", "output_format", type=click.Choice(["csv", "json"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option(
    "--all", "include_all", is_flag=True, help="Include pending, withdrawn and hidden ones."
)
def export_signatures(
    slug: str, output_format: str, output: Path | None, include_all: bool
) -> None:
    """Export a letter's confirmed signatures (with emails: handle with care)."""
    letter = _letter(slug)
    export = exports.EXPORTERS[output_format]
    if output is None:
        export(db.session, letter, sys.stdout.buffer, include_all=include_all)
        return
    # Written beside the target and moved into place, so a failed export leaves no half file.
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("wb") as handle:
            count = export(db.session, letter, handle, include_all=include_all)
        partial.replace(output)
    except OSError as error:
        raise click.ClickException(f"Could not write {output}: {error.strerror}") from None
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"Exported {count} signatures to {output}", err=True)


@signatures_cli.command("import")
@click.argument("slug")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--verified", is_flag=True, help="Count them as confirmed (no email is sent).")
@click.option(
    "--source",
    default=imports.DEFAULT_SOURCE,
    show_default=True,
    help='Where they came from ("Paper forms, Geneva 2026"), shown publicly beside each.',
)
def import_signatures(slug: str, csv_file: Path, verified: bool, source: str) -> None:
    """Import signatories from a CSV file: name, email, affiliation, title, country, and
    optionally comment and signed_at (ISO 8601: when each person signed).

    Imported signatures are marked as such in public, with --source beside them.

    The whole file is checked first; any bad row stops the import and nothing is written.
    Without --verified each imported signatory is emailed a confirmation link.
    """
    letter = _letter(slug)
    try:
        result = imports.import_file(
            db.session,
            letter,
            csv_file.read_bytes(),
            file_name=csv_file.name,
            source=source,
            verified=verified,
            settings=signing_settings(current_app.config),
            now=utcnow(),
            organiser=None,
        )
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    how = "verified" if verified else f"pending, {result.emails_queued} confirmation emails queued"
    click.echo(
        f"Imported {result.imported} signatures ({how});"
        f" skipped {result.skipped_already_signed} already signed"
        f" and {result.skipped_repeated_in_file} repeated in the file."
    )


@signatures_cli.command("purge")
def purge_signatures() -> None:
    """Delete pending signatures older than PENDING_RETENTION_DAYS, and old delivered emails."""
    config = current_app.config
    purged = retention.purge(
        db.session,
        now=utcnow(),
        pending_days=int(config["PENDING_RETENTION_DAYS"]),
        email_days=int(config["EMAIL_RETENTION_DAYS"]),
        access_max_age=int(config["MY_SIGNATURES_MAX_AGE"]),
    )
    db.session.commit()
    click.echo(
        f"Purged {purged.pending_signatures} unconfirmed signatures older than "
        f"{config['PENDING_RETENTION_DAYS']} days and {purged.emails} emails."
    )


@signatures_cli.command("remind")
def remind_signers() -> None:
    """Queue the one reminder to confirm for signatures pending CONFIRM_REMINDER_HOURS or more
    (never twice, never once the link has expired); run from cron every few minutes."""
    queued = lifecycle.queue_reminders(
        db.session, settings=signing_settings(current_app.config), now=utcnow()
    )
    db.session.commit()
    click.echo(f"Queued {queued} reminders to confirm.")


@signatures_cli.command("recount")
def recount_signatures() -> None:
    """Check every letter's kept signature count (and the breakdown's tallies) against the
    signatures themselves, and repair any drift.

    The counts are kept by database triggers, so drift means someone changed the tables by
    hand with the triggers off; run this from cron (hourly is plenty) to catch it.
    """
    drifts = public_list.reconcile_counts(db.session)
    rematched = registry.rematch_email_organisations(db.session)
    relinked = affiliation_links.relink(db.session)
    # Whatever changed behind its back (an upgrade's migration linking affiliations, say):
    # organisational signatures are few, deciding them all again is cheap.
    on_behalf.review_again(db.session)
    tallies = breakdown.reconcile_tallies(db.session)
    db.session.commit()
    if relinked.affiliations:
        console_changed()  # the breakdowns and lists of the letters concerned
        click.echo(
            f"{relinked.affiliations} affiliations stood for the wrong organisation (or none) "
            f"on {len(relinked.letter_ids)} letters; linked again by the registry's names."
        )
    if rematched:
        click.echo(f"{rematched} signatures' verified organisations were out of date; updated.")
    if tallies:
        click.echo(f"{tallies} breakdown tallies were off; repaired.")
    if not drifts:
        click.echo("All letters' counts agree with their signatures.")
        return
    for letter_id, drift in drifts.items():
        click.echo(f"Letter {letter_id}: count was off by {-drift:+d}; repaired.")


def _transport(app: Flask) -> Transport:
    settings = smtp_settings(app.config)
    return SMTPTransport(settings) if settings else ConsoleTransport()


@mail_cli.command("work")
@click.option("--once", is_flag=True, help="Deliver everything due, then exit.")
def mail_work(once: bool) -> None:
    """Deliver queued email over SMTP (or to the console without MAIL_SERVER)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    # Finish the message in hand on SIGTERM/Ctrl-C instead of dying mid-delivery.
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        stats = run_worker(
            db.session,
            _transport(app),
            sender=app.config["MAIL_DEFAULT_SENDER"],
            compose=composer(app.config),
            once=once,
            poll_interval=app.config["MAIL_POLL_INTERVAL"],
            stop=stop,
            chores=[_milestone_chore(app)],
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(
        f"Mail worker done: {stats.sent} sent, {stats.deferred} deferred, {stats.failed} failed."
    )


def _milestone_chore(app: Flask) -> Callable[[DbSession], int]:
    sender_domain = signing_settings(app.config).sender_domain

    def announce(session: DbSession) -> int:
        return milestones.queue_milestone_emails(session, sender_domain=sender_domain)

    return announce


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    raise click.ClickException("No terminal to ask for a password on: use --password-stdin.")


@organisers_cli.command("create")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--superuser", is_flag=True, help="Sees and runs every letter.")
def create_organiser(email: str, password_stdin: bool, superuser: bool) -> None:
    """Create an organiser account (asks for the password on a terminal)."""
    password = _read_password(password_stdin)
    try:
        organiser = organisers.create_organiser(
            db.session, email=email, password=password, is_superuser=superuser, by=None
        )
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    kind = "superuser" if organiser.is_superuser else "organiser"
    click.echo(f"Created {kind} {organiser.email}")


@organisers_cli.command("list")
def list_organisers() -> None:
    """Every organiser account, with superuser and two-factor flags."""
    for organiser in organisers.all_organisers(db.session):
        flags = [
            name
            for name, on in (
                ("superuser", organiser.is_superuser),
                ("two-factor", organiser.totp_secret is not None),
            )
            if on
        ]
        last = organiser.last_login_at.isoformat() if organiser.last_login_at else "never"
        click.echo(f"{organiser.email}\t{','.join(flags) or '-'}\tlast sign-in {last}")


@organisers_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_organiser_password(email: str, password_stdin: bool) -> None:
    """Set an organiser's password; their other sessions end."""
    organiser = organisers.find_organiser(db.session, email)
    if organiser is None:
        raise click.ClickException(f"No organiser with the email {email!r}.")
    try:
        organisers.set_password(db.session, organiser, _read_password(password_stdin), by=None)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Password changed for {organiser.email}")


@organisers_cli.command("grant")
@click.argument("email")
@click.argument("slug")
@click.option("--role", type=click.Choice([role.value for role in OrganiserRole]), default="owner")
def grant_role(email: str, slug: str, role: str) -> None:
    """Make an organiser the owner, moderator or viewer of a letter."""
    organiser = organisers.find_organiser(db.session, email)
    if organiser is None:
        raise click.ClickException(f"No organiser with the email {email!r}.")
    letter = _letter(slug)
    try:
        organisers.change_role(db.session, letter, organiser, OrganiserRole(role), by=None)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{organiser.email} is now {role} of {letter.slug}")


@organisations_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_organisations(csv_file: Path) -> None:
    """Add or update organisations from a CSV file: name, domains (separated by spaces),
    sector (academia, industry, civil society, government, other), country (name or ISO
    code, may be empty), and optionally aliases: other names, separated by semicolons
    (MIT;M.I.T.). With an aliases column, each organisation's other names become the file's.

    An organisation already in the registry (same name, ignoring case, accents and
    punctuation) is updated, never duplicated. Any bad row stops the import: every one is
    listed and nothing is written.
    """
    try:
        result = registry.import_registry(db.session, csv_file.read_bytes(), by=None)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    console_changed()
    click.echo(
        f"Added {result.added} organisations, updated {result.updated},"
        f" {result.unchanged} unchanged; {result.relinked} letters' affiliations now stand"
        " for another organisation (or none)."
    )


@organisations_cli.command("watch")
@click.argument("slug")
@click.argument("names", nargs=-1)
@click.option("--clear", is_flag=True, help="Watch no organisation.")
def watch_organisations(slug: str, names: tuple[str, ...], clear: bool) -> None:
    """Set the organisations a letter's breakdown always shows, signed or not (registry
    names; they replace the current list)."""
    if clear == bool(names):
        raise click.UsageError("Give the organisations' names, or --clear (not both).")
    letter = _letter(slug)
    try:
        watched = breakdown.set_watch_list(db.session, letter, list(names), by=None)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    console_changed()
    if not watched:
        click.echo(f"{letter.slug} watches no organisation.")
    for organisation in watched:
        click.echo(f"{letter.slug} watches {organisation.name}")


@snapshots_cli.command("take")
@click.argument("slug")
@click.option("--note", help='What it is for ("Delivered to the European Parliament, 14 March").')
def take_snapshot(slug: str, note: str | None) -> None:
    """Write the public list as it stands to a new snapshot (a CSV file that never changes);
    prints its number and SHA-256."""
    letter = _letter(slug)
    try:
        snapshot = snapshots.take_snapshot(db.session, letter, note=note, by=None, now=utcnow())
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    console_changed()
    click.echo(f"{snapshot.number} {snapshot.sha256}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(letters_cli)
    app.cli.add_command(signatures_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(organisers_cli)
    app.cli.add_command(organisations_cli)
    app.cli.add_command(snapshots_cli)
