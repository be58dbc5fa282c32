"""Pages for signers. Thin: validate, call one domain function, commit, redirect or render."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable

from cachetools import LRUCache
from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale, gettext
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from app.db import db, utcnow
from app.errors import N_, InvalidInput, LetterClosed, NotFound
from app.extensions import check_budget, client_key, csrf, limiter
from app.letters import atom_feed, letters, updates
from app.models import Letter, SignatureState
from app.organisations import breakdown, on_behalf
from app.public import bp, share_views
from app.public.forms import CheckListForm, ConfirmForm, ResendForm, SignForm, WithdrawForm
from app.signatories import checking, integrity, public_list, snapshots
from app.signing import captcha, lifecycle
from app.signing.defences import Clues, block_hash, client_hash
from app.signing.links import withdraw_url
from app.signing.settings import signing_settings
from app.signing.tokens import TokenExpired
from app.support.countries import country_choices
from app.support.http_cache import shared_response
from app.support.identifiers import whole_number
from app.support.languages import LANGUAGE_PARAMETER, chosen_language
from app.support.markdown_html import render_markdown
from app.support.translation import local_country_name


def _sign_limit() -> str:
    return str(current_app.config["SIGN_RATE_LIMIT"])


def link_page_limit() -> str:
    # Generous for people, tight for anyone trying tokens by the thousand.
    return str(current_app.config["LINK_PAGE_RATE_LIMIT"])


def private(response: BaseResponse) -> BaseResponse:
    """Pages that hold a token or personal data: keep them out of caches and Referer headers."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/")
def index() -> Response:
    return shared_response(
        lambda: render_template(
            "public/index.html", letters=letters.open_letters(db.session, now=utcnow())
        )
    )


def _letter_page(letter: Letter, filled_in: SignForm | None = None) -> str:
    """The letter and its sign form: blank on the page every visitor shares (and that is
    cached as such; the form fetches a CSRF token of its own when someone starts filling it),
    or as a signer filled it in, with their errors and a token."""
    is_open = letter.is_open(utcnow())
    signatories = public_list.letter_summary(db.session, letter)
    translations = letters.translations_of(db.session, letter)
    # The organisers' translation in the page's language, if any; the original otherwise.
    translation = translations.get(str(get_locale()))
    return render_template(
        "public/letter.html",
        letter=letter,
        translation=translation,
        translated_into=sorted(translations),
        title=translation.title if translation else letter.title,
        share=share_views.sharing(letter, signatories.verified_count),
        responses=updates.responses_of(db.session, letter),
        body_html=render_markdown(translation.body if translation else letter.body),
        signatories=signatories,
        sign_form=_sign_form(letter.slug, filled_in) if is_open else None,
        is_open=is_open,
    )


#: Where each app keeps the blank sign forms it wrote (see _sign_form).
_BLANK_SIGN_FORMS = "undersigned_blank_sign_forms"


class _KeptForms:
    """Blank sign forms by what they depend on, bounded (one per public letter and setting a
    process has served lately), and safe across a worker's threads (gthread, `flask run`)."""

    def __init__(self) -> None:
        self._forms: LRUCache[tuple[str | None, ...], Markup] = LRUCache(maxsize=256)
        self._lock = threading.Lock()

    def get_or_write(self, key: tuple[str | None, ...], write: Callable[[], Markup]) -> Markup:
        with self._lock:
            kept = self._forms.get(key)
        if kept is None:
            kept = write()
            with self._lock:
                self._forms[key] = kept
        return kept


@bp.record_once
def _keep_blank_sign_forms(state: BlueprintSetupState) -> None:
    state.app.extensions[_BLANK_SIGN_FORMS] = _KeptForms()


def _sign_form(slug: str, filled_in: SignForm | None) -> Markup:
    """The sign form's HTML: as a signer filled it in (their answers, errors and a token), or
    blank. Blank, it is the same for every visitor and depends on nothing but what its key
    holds (the letter's address, where the site is mounted and the captcha settings); writing
    it (WTForms' fields bound and rendered) was a quarter of the letter page's CPU, so each
    process keeps what it wrote."""
    provider = _captcha()
    site_key = current_app.config.get("CAPTCHA_SITE_KEY")
    if filled_in is not None:
        return _write_sign_form(slug, filled_in, generate_csrf(), provider, site_key)
    # In the page's language (a form kept for French readers is not one for German readers),
    # and its action keeps a language chosen in the URL (url_defaults), or none.
    language = str(get_locale())
    chosen = chosen_language(request.args.get(LANGUAGE_PARAMETER))
    captcha_name = provider.name if provider else None
    key = (slug, request.script_root, captcha_name, site_key, language, chosen)
    kept: _KeptForms = current_app.extensions[_BLANK_SIGN_FORMS]
    return kept.get_or_write(
        key,
        lambda: _write_sign_form(slug, SignForm(meta={"csrf": False}), None, provider, site_key),
    )


def _write_sign_form(
    slug: str,
    form: SignForm,
    csrf_token: str | None,
    provider: captcha.Provider | None,
    site_key: str | None,
) -> Markup:
    page = render_template(
        "public/_sign_form.html",
        slug=slug,
        form=form,
        csrf_token=csrf_token,
        captcha=provider,
        captcha_site_key=site_key,
    )
    return Markup(page)  # noqa: S704 (a template's output, escaped by Jinja)


@bp.get("/privacy")
def privacy() -> Response:
    config = current_app.config
    return shared_response(
        lambda: render_template(
            "public/privacy.html",
            pending_days=config["PENDING_RETENTION_DAYS"],
            email_days=config["EMAIL_RETENTION_DAYS"],
            confirm_days=max(1, int(config["CONFIRM_MAX_AGE"]) // 86400),
        )
    )


@bp.get("/csrf-token")
def csrf_token() -> BaseResponse:
    """This visitor's own token for the sign form, which cached letter pages leave blank."""
    return private(jsonify(csrf_token=generate_csrf()))


@bp.get("/letters/<slug>")
def letter(slug: str) -> Response:
    return shared_response(lambda: _letter_page(letters.public_letter(db.session, slug)))


def _address_and_letter() -> str:
    # Per letter: one address signing two letters is two campaigns' business.
    return f"{client_key()}:{(request.view_args or {}).get('slug', '')}"


@bp.post("/letters/<slug>/sign")
@csrf.exempt  # checked below, where a failure can keep what the signer typed
@limiter.limit(_sign_limit, key_func=_address_and_letter)
def sign(slug: str) -> BaseResponse:
    letter = letters.public_letter(db.session, slug)
    if not letter.is_open(utcnow()):
        raise LetterClosed(N_("This letter is closed and no longer takes signatures."))
    # A browser that says the form came from our own page needs no token to prove it; one that
    # says it came from elsewhere is refused outright (echoing the posted answers back with a
    # fresh token would let a forged post become a real one at the victim's next click); the
    # token is for clients that send neither Sec-Fetch-Site nor Origin.
    came_from = _where_posted_from()
    if came_from is PostOrigin.ELSEWHERE:
        abort(
            403,
            gettext("This form was sent from another site. To sign, use the form on this page."),
        )
    form = SignForm(meta={"csrf": came_from is PostOrigin.UNKNOWN})
    valid = form.validate_on_submit()
    if form.meta.csrf and form.csrf_token.errors:
        form.csrf_token.errors = []
        form.form_errors.append(
            gettext(
                "This form had been open too long or came without its security code. "
                "Your answers are kept: please press the button again."
            )
        )
    if not valid or not _captcha_passed(form):
        page = _letter_page(letter, filled_in=form)
        return private(make_response(page, 422))
    settings = signing_settings(current_app.config)
    clues = Clues(
        honeypot=form.website.data or "",
        client_hash=client_hash(settings.current_key, request.remote_addr),
        client_block_hash=block_hash(settings.current_key, request.remote_addr),
        client_address=request.remote_addr,
    )
    answers = form.answers(language=str(get_locale()))
    lifecycle.sign(db.session, letter, answers, settings=settings, now=utcnow(), clues=clues)
    db.session.commit()
    # `slug`, not letter.slug: the commit expired the letter, and reading it would query again.
    return redirect(url_for("public.check_email", slug=slug), code=303)


class PostOrigin(enum.Enum):
    OURS = "ours"
    ELSEWHERE = "elsewhere"
    UNKNOWN = "unknown"


def _where_posted_from() -> PostOrigin:
    """What the browser says about the page a form was posted from. Browsers set these
    headers themselves; a page on another site cannot forge them (an `Origin: null`, which a
    sandboxed frame sends, counts as elsewhere)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site == "same-origin":
        return PostOrigin.OURS
    if fetch_site in ("same-site", "cross-site"):
        return PostOrigin.ELSEWHERE
    origin = request.headers.get("Origin")
    if origin is None:
        return PostOrigin.UNKNOWN
    return PostOrigin.OURS if origin == request.host_url.rstrip("/") else PostOrigin.ELSEWHERE


def _captcha() -> captcha.Provider | None:
    name = current_app.config.get("CAPTCHA_PROVIDER")
    return captcha.PROVIDERS[name] if name else None


def _captcha_passed(form: SignForm) -> bool:
    """When a captcha is on, the provider must vouch for this form; the error goes on the form."""
    provider = _captcha()
    if provider is None:
        return True
    config = current_app.config
    try:
        passed = captcha.verify(
            provider,
            secret=config["CAPTCHA_SECRET"],
            site_key=config["CAPTCHA_SITE_KEY"],
            answer=request.form.get(provider.response_field, ""),
            remote_ip=request.remote_addr,
            verify_url=config.get("CAPTCHA_VERIFY_URL"),
        )
    except captcha.CaptchaUnavailable:
        form.form_errors.append(
            gettext("We could not check the anti-spam test just now. Please try again.")
        )
        return False
    if not passed:
        form.form_errors.append(gettext("Please complete the anti-spam test above the button."))
    return passed


@bp.get("/letters/<slug>/check-email")
def check_email(slug: str) -> str:
    return render_template(
        "public/check_email.html", letter=letters.public_letter(db.session, slug)
    )


@bp.route("/letters/<slug>/confirm/<token>", methods=["GET", "POST"])
@limiter.shared_limit(link_page_limit, scope="link-pages")
def confirm(slug: str, token: str) -> BaseResponse:
    settings = signing_settings(current_app.config)
    try:
        if request.method == "POST":  # past CSRFProtect, which checked the form's token
            lifecycle.confirm_by_link(db.session, slug, token, settings=settings, now=utcnow())
            db.session.commit()
            return _confirmed(slug, token)
        letter = letters.public_letter(db.session, slug)
        signature = lifecycle.signature_from_token(db.session, letter, token, settings=settings)
    except TokenExpired:
        page = render_template(
            "public/link_expired.html",
            letter=letters.public_letter(db.session, slug),
            token=token,
            form=ResendForm(),
        )
        return private(make_response(page, 410))
    form = ConfirmForm()
    verified = signature.state is SignatureState.VERIFIED
    page = render_template(
        "public/confirm.html",
        letter=letter,
        signature=signature,
        form=form,
        token=token,
        is_open=letter.is_open(utcnow()),
        verified_count=public_list.count_verified(db.session, letter) if verified else 0,
        withdraw_url=withdraw_url(settings, slug, signature.id) if verified else None,
    )
    return private(make_response(page))


def _confirmed(slug: str, token: str) -> BaseResponse:
    # Back to the link's address, which now thanks them and offers the withdraw link.
    return private(redirect(url_for("public.confirm", slug=slug, token=token), code=303))


@bp.post("/letters/<slug>/confirm/<token>/resend")
@limiter.shared_limit(link_page_limit, scope="link-pages")
def resend(slug: str, token: str) -> BaseResponse:
    letter = letters.public_letter(db.session, slug)
    settings = signing_settings(current_app.config)
    try:
        lifecycle.signature_from_token(db.session, letter, token, settings=settings)
        # Still valid after all: nothing to resend, the link works.
        return private(redirect(url_for("public.confirm", slug=slug, token=token), code=303))
    except TokenExpired as expired:
        signature_id = expired.subject_id
    lifecycle.resend_confirmation(db.session, letter, signature_id, settings=settings, now=utcnow())
    db.session.commit()
    return private(redirect(url_for("public.check_email", slug=slug), code=303))


@bp.route("/letters/<slug>/withdraw/<token>", methods=["GET", "POST"])
@limiter.shared_limit(link_page_limit, scope="link-pages")
def withdraw(slug: str, token: str) -> BaseResponse:
    # Founding signatories may withdraw before the launch, under embargo.
    letter = letters.letter_for_link(db.session, slug)
    settings = signing_settings(current_app.config)
    signature = lifecycle.signature_for_withdrawal(db.session, letter, token, settings=settings)
    if request.method == "POST":  # past CSRFProtect, like confirm's
        lifecycle.withdraw(db.session, letter, signature, settings=settings)
        db.session.commit()
        return withdrawn_response(letter)
    page = render_template(
        "public/withdraw.html", letter=letter, signature=signature, form=WithdrawForm(), token=token
    )
    return private(make_response(page))


def withdrawn_response(letter: Letter) -> BaseResponse:
    """After a withdrawal: to the public "withdrawn" page (POST/redirect/GET), or, for a letter
    under embargo, whose public pages are all 404, that page at once."""
    if letter.embargoed:
        return private(make_response(render_template("public/withdrawn.html", letter=letter)))
    return private(redirect(url_for("public.withdrawn", slug=letter.slug), code=303))


@bp.get("/letters/<slug>/withdrawn")
def withdrawn(slug: str) -> str:
    return render_template("public/withdrawn.html", letter=letters.public_letter(db.session, slug))


@bp.get("/letters/<slug>/signatories")
def signatory_list(slug: str) -> Response:
    return shared_response(lambda: _signatory_list_page(slug))


def _signatory_list_page(slug: str) -> str:
    letter = letters.public_letter(db.session, slug)
    search = public_list.clean_search(request.args.get("q", ""))
    country = public_list.clean_country(request.args.get("country", ""))
    verified_only = public_list.clean_flag(request.args.get("verified", ""), "verified")
    organisation = public_list.clean_name_filter(request.args.get("organisation", ""))
    affiliation = public_list.clean_name_filter(request.args.get("affiliation", ""))
    page = public_list.signatory_page(
        db.session,
        letter,
        limit=current_app.config["SIGNATORIES_PAGE_SIZE"],
        cursor=request.args.get("cursor") or None,
        search=search,
        country=country,
        verified_only=verified_only,
        organisation=organisation,
        affiliation=affiliation,
    )
    return render_template(
        "public/signatories.html",
        organisation=organisation or "",
        affiliation=affiliation or "",
        letter=letter,
        page=page,
        search=search or "",
        country=country or "",
        verified_only=verified_only,
        countries=country_choices(str(get_locale())),
        verified_count=public_list.count_verified(db.session, letter),
        imported_count=integrity.integrity(db.session, letter).imported,
        is_first_page=not request.args.get("cursor"),
        notables=public_list.notable_signatories(db.session, letter),
        organisational=on_behalf.organisational_signatures(db.session, letter, confirmed_only=True),
    )


@bp.get("/letters/<slug>/history")
def history(slug: str) -> Response:
    def page() -> str:
        letter = letters.public_letter(db.session, slug)
        versions = letters.versions_of(db.session, letter)
        return render_template(
            "public/history.html",
            letter=letter,
            versions=versions,
            changes=letters.changes_between(versions),
            per_version=public_list.counts_by_version(db.session, letter),
            render=render_markdown,
        )

    return shared_response(page)


@bp.get("/letters/<slug>/versions/<int:number>.md")
def version_text(slug: str, number: int) -> Response:
    """One version's exact text, byte for byte as stored: its SHA-256 is the version's."""

    def text() -> bytes:
        letter = letters.public_letter(db.session, slug)
        if whole_number(str(number)) is None:
            raise NotFound(N_("This letter has no such version."))
        return letters.version_of(db.session, letter, number).body.encode("utf-8")

    response = shared_response(text, mimetype="text/markdown")
    response.headers["Content-Type"] = "text/markdown; charset=utf-8"
    return response


@bp.get("/letters/<slug>/breakdown")
def breakdown_page(slug: str) -> Response:
    """Who signed and who is absent: counts by organisation, sector and country."""

    def page() -> str:
        letter = letters.public_letter(db.session, slug)
        return render_template(
            "public/breakdown.html",
            letter=letter,
            result=breakdown.letter_breakdown(db.session, letter),
            country_name=local_country_name,
        )

    return shared_response(page)


@bp.before_app_request
def _larger_body_for_checks() -> None:
    """Check a list, on its page and in the API, takes what its form promises (500 names of
    200 characters, escaped: checking.CHECK_BODY_MAX); set before anything reads the body."""
    if request.endpoint in ("public.check_list", "api.check"):
        request.max_content_length = checking.CHECK_BODY_MAX
        request.max_form_memory_size = checking.CHECK_BODY_MAX  # a multipart post too


@bp.route("/letters/<slug>/check", methods=["GET", "POST"])
@check_budget
def check_list(slug: str) -> BaseResponse:
    """Check a list of names and organisations against the letter's public signatories."""
    letter = letters.public_letter(db.session, slug)
    form = CheckListForm()
    result = None
    problem = None
    if form.validate_on_submit():
        names, affiliations = checking.pasted_names((form.names.data or "").splitlines())
        try:
            result = checking.check_list(
                db.session,
                letter,
                checking.clean_queries(names, gettext("names")),
                checking.clean_queries(
                    (form.organisations.data or "").splitlines(), gettext("organisations")
                ),
                affiliations=[
                    next(iter(checking.clean_queries([a], gettext("affiliations"))), None)
                    if a
                    else None
                    for a in affiliations
                ],
            )
        except InvalidInput as error:
            problem = error.shown(gettext)
        if result is not None and request.form.get("download") == "csv":
            download = make_response(result.as_csv())
            download.mimetype = "text/csv"
            download.headers["Content-Disposition"] = (
                f'attachment; filename="{letter.slug}-check.csv"'
            )
            return private(download)
    status = 422 if problem or form.errors else 200
    page = render_template(
        "public/check.html",
        letter=letter,
        form=form,
        result=result,
        problem=problem,
        max_items=checking.MAX_ITEMS,
    )
    return private(make_response(page, status))


@bp.get("/letters/<slug>/snapshots")
def snapshot_list(slug: str) -> Response:
    def page() -> str:
        letter = letters.public_letter(db.session, slug)
        return render_template(
            "public/snapshots.html",
            letter=letter,
            snapshots=snapshots.snapshots_of(db.session, letter),
        )

    return shared_response(page)


@bp.get("/letters/<slug>/snapshots/<int:number>.csv")
def snapshot_file(slug: str, number: int) -> Response:
    """A snapshot's file, byte for byte as published: its SHA-256 is the snapshot's."""

    def content() -> bytes:
        letter = letters.public_letter(db.session, slug)
        if whole_number(str(number)) is None:
            raise NotFound(N_("This letter has no such snapshot."))
        return snapshots.snapshot_file(db.session, letter, number)

    response = shared_response(content, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}-snapshot-{number}.csv"'
    return response


@bp.get("/letters/<slug>/updates")
def update_list(slug: str) -> Response:
    """The organisers' updates, newest first, and the addressees' responses."""

    def page() -> str:
        letter = letters.public_letter(db.session, slug)
        return render_template(
            "public/updates.html",
            letter=letter,
            updates=updates.updates_of(db.session, letter),
            responses=updates.responses_of(db.session, letter),
            render=render_markdown,
        )

    return shared_response(page)


@bp.get("/letters/<slug>/updates.atom")
def update_feed(slug: str) -> Response:
    """The updates as an Atom feed, for feed readers."""

    def feed() -> bytes:
        letter = letters.public_letter(db.session, slug)
        page = url_for("public.update_list", slug=slug, _external=True)
        return atom_feed.atom(
            letter,
            updates.updates_of(db.session, letter),
            page_url=page,
            feed_url=url_for("public.update_feed", slug=slug, _external=True),
            render=render_markdown,
        )

    response = shared_response(feed, mimetype="application/atom+xml")
    response.headers["Content-Type"] = "application/atom+xml; charset=utf-8"
    return response
