"""Forms organisers fill in."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    Field,
    Form,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.accounts.organisers import PASSWORD_MAX
from app.errors import InvalidInput
from app.letters.letters import BODY_MAX
from app.models import (
    AFFILIATION_MAX,
    COMMENT_MAX,
    EMAIL_MAX,
    LETTER_TITLE_MAX,
    NAME_MAX,
    NOTABLE_CONTEXT_MAX,
    SLUG_MAX,
    SNAPSHOT_NOTE_MAX,
    SOURCE_MAX,
    TITLE_MAX,
    UPDATE_SUBJECT_MAX,
    URL_MAX,
    EvidenceMethod,
    LetterStatus,
    Organisation,
    OrganiserRole,
    Sector,
    Signature,
    SignatureState,
)
from app.moderation.operations import Correction, Evidence, SignatureFilter
from app.organisations.registry import MAX_ALIASES, OrganisationInput, split_aliases
from app.support.countries import is_country_code
from app.support.form_fields import CountryField, moment_from, multi_line, single_line
from app.support.identifiers import whole_number
from app.support.languages import DEFAULT_LANGUAGE, LANGUAGES


class LoginForm(FlaskForm):
    email = StringField(
        "Email address",
        filters=[single_line],
        validators=[DataRequired("Please enter your email address."), Length(max=EMAIL_MAX)],
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Please enter your password."), Length(max=PASSWORD_MAX)],
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Six-digit code from your authenticator app",
        filters=[single_line],
        validators=[DataRequired("Please enter the code."), Length(max=12)],
    )


class TwoFactorForm(CodeForm):
    """Turning the second factor on or off: the password as well as a code."""

    password = PasswordField(
        "Your password",
        validators=[DataRequired("Please enter your password."), Length(max=PASSWORD_MAX)],
    )


#: Longer than any console address with its filter.
REDIRECT_TARGET_MAX = 2000


def redirect_target(target: str | None, *, inside: str, default: str) -> str:
    """Where to send the browser after a form, when the request names it (`next=`, `back=`):
    `target` if it is a path on this site at or under `inside`, `default` otherwise.

    Called before the form does anything: a CR or LF in a Location header only fails when the
    response is sent, after the change has been committed; and nothing may lead off the site.
    """
    if (
        not target
        or len(target) > REDIRECT_TARGET_MAX
        or not (target.isascii() and target.isprintable())
        or "\\" in target
    ):
        return default
    parts = urlsplit(target)
    under = inside.rstrip("/") + "/"
    if (
        parts.scheme
        or parts.netloc
        or not (parts.path == inside or parts.path.startswith(under))
        or any(segment in {".", ".."} for segment in parts.path.split("/"))
    ):
        return default
    return target


class ConfirmActionForm(FlaskForm):
    """A button and nothing else: the CSRF token is the point."""


class LetterForm(FlaskForm):
    slug = StringField(
        "Address (slug)",
        description="Lower-case letters, digits and hyphens: /letters/<slug>. Fixed once created.",
        filters=[single_line],
        validators=[Length(max=SLUG_MAX)],
    )
    title = StringField(
        "Title",
        filters=[single_line],
        validators=[DataRequired("Please give the letter a title."), Length(max=LETTER_TITLE_MAX)],
    )
    body = TextAreaField(
        "Text (Markdown)",
        filters=[multi_line],
        validators=[DataRequired("Please write the letter's text."), Length(max=BODY_MAX)],
    )
    status = SelectField(
        "Status",
        choices={status.value: status.value.capitalize() for status in LetterStatus},
        default=LetterStatus.DRAFT.value,
    )
    closes_at = StringField(
        "Closes at (optional)",
        description="ISO 8601 with a time zone, e.g. 2026-12-31T18:00+00:00.",
        filters=[single_line],
        validators=[Optional(), Length(max=40)],
    )
    target = IntegerField(
        "Target number of signatures (optional)",
        validators=[Optional(), NumberRange(min=1, max=100_000_000)],
    )
    language = SelectField(
        "The letter's language",
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
        default=DEFAULT_LANGUAGE,
        description="The language it is written in; translations can be added afterwards.",
    )
    organisers_name = StringField(
        "Organised by (optional)",
        description="Shown on the share image and the poster, e.g. AI researchers for safe media.",
        filters=[single_line],
        validators=[Optional(), Length(max=NAME_MAX)],
    )
    milestones = StringField(
        "Milestones (optional)",
        description="Confirmed-signature counts at which the team is emailed, separated by commas: "
        "1000, 5000, 10000.",
        filters=[single_line],
        validators=[Optional(), Length(max=500)],
    )
    blocked_domains = TextAreaField(
        "Blocked email domains (one a line)",
        description="Signatures from these domains (and their subdomains) are held for review.",
        filters=[multi_line],
        validators=[Optional(), Length(max=50_000)],
    )
    blocked_ranges = TextAreaField(
        "Blocked address ranges (one a line, like 203.0.113.0/24)",
        description="Signatures sent from these ranges are held for review.",
        filters=[multi_line],
        validators=[Optional(), Length(max=50_000)],
    )
    edit_kind = SelectField(
        "If the text changes and people have signed",
        choices=[
            SelectChoice("correction", "A correction (typos, links): nobody is emailed"),
            SelectChoice("substance", "A change of substance: earlier signers are asked again"),
        ],
        default="correction",
        description="Either way the new text becomes a new version with its own SHA-256; "
        "every signature keeps the version it agreed to.",
    )
    watch_names = TextAreaField(
        "Watch-list (one name a line)",
        description="New signatures under these names are held for review until approved.",
        filters=[multi_line],
        validators=[Optional(), Length(max=50_000)],
    )

    def validate_closes_at(self, field: StringField) -> None:
        self.closing_time()

    def validate_milestones(self, field: StringField) -> None:
        try:
            self.milestone_counts()
        except InvalidInput as error:
            raise ValidationError(str(error)) from None

    def milestone_counts(self) -> list[int]:
        """The milestones as numbers; InvalidInput (shown on the form) if one is not."""
        text = (self.milestones.data or "").replace(";", ",")
        counts = []
        for part in (piece.strip().replace("_", "") for piece in text.split(",")):
            if not part:
                continue
            count = whole_number(part.replace(" ", ""), maximum=100_000_000)
            if count is None:
                raise InvalidInput(f"{part!r} is not a whole number from 1 to 100,000,000.")
            counts.append(count)
        return counts

    def closing_time(self) -> datetime | None:
        text = self.closes_at.data
        return moment_from(text, naive_means_utc=False) if text else None


class CorrectionForm(FlaskForm):
    name = StringField(
        "Name", filters=[single_line], validators=[DataRequired(), Length(max=NAME_MAX)]
    )
    title = StringField(
        "Title or role", filters=[single_line], validators=[DataRequired(), Length(max=TITLE_MAX)]
    )
    affiliation = StringField(
        "Affiliation",
        filters=[single_line],
        validators=[DataRequired(), Length(max=AFFILIATION_MAX)],
    )
    country = CountryField("Country", validators=[DataRequired("Choose a country from the list.")])
    notable_context = StringField(
        "Context shown with a notable signatory (optional)",
        filters=[single_line],
        validators=[Optional(), Length(max=NOTABLE_CONTEXT_MAX)],
    )

    @staticmethod
    def initial(signature: Signature) -> SimpleNamespace:
        return SimpleNamespace(
            name=signature.name,
            title=signature.title,
            affiliation=signature.affiliation.name,
            country=signature.country,
            notable_context=signature.notable_context or "",
        )

    def correction(self) -> Correction:
        return Correction(
            name=self.name.data,
            title=self.title.data,
            affiliation=self.affiliation.data,
            country=self.country.data,
            notable_context=self.notable_context.data or "",
        )


class ImportForm(FlaskForm):
    file = FileField(
        "CSV file",
        description="Columns: name, email, affiliation, title, country (name or ISO code), "
        "and optionally comment and signed_at (when each person signed, like 2026-03-01 or "
        "2026-03-01T14:30:00Z: the list and the statistics use it). UTF-8.",
        validators=[FileRequired("Choose a CSV file."), FileAllowed(["csv"], "Only .csv files.")],
    )
    source = StringField(
        "Where these signatures come from",
        description=(
            "Shown publicly beside each of them, on the list, in the API and in the open data "
            "(“Paper forms, Geneva 2026”). Do not put anything private here."
        ),
        filters=[single_line],
        validators=[
            DataRequired("Please say where these signatures come from, e.g. “Paper forms”."),
            Length(max=SOURCE_MAX),
        ],
    )
    verified = BooleanField("These people have already confirmed (no email will be sent)")


class InvitationListForm(FlaskForm):
    file = FileField(
        "CSV file",
        description="Columns: name, email, and optionally affiliation, title, country (name or "
        "ISO code), language (en, fr, de or es: the invitation's). UTF-8.",
        validators=[FileRequired("Choose a CSV file."), FileAllowed(["csv"], "Only .csv files.")],
    )


class TranslationForm(FlaskForm):
    language = SelectField(
        "Language",
        choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
    )
    title = StringField(
        "Title",
        filters=[single_line],
        validators=[DataRequired("Please translate the title."), Length(max=LETTER_TITLE_MAX)],
    )
    body = TextAreaField(
        "Text (Markdown)",
        filters=[multi_line],
        validators=[DataRequired("Please translate the text."), Length(max=BODY_MAX)],
    )


class UpdateForm(FlaskForm):
    subject = StringField(
        "Subject",
        filters=[single_line],
        validators=[
            DataRequired("Please give the update a subject."),
            Length(max=UPDATE_SUBJECT_MAX),
        ],
    )
    body = TextAreaField(
        "Text (Markdown)",
        filters=[multi_line],
        validators=[DataRequired("Please write the update."), Length(max=BODY_MAX)],
    )


class ResponseForm(FlaskForm):
    responder = StringField(
        "Who responded",
        description="For example: European Commission, DG CONNECT.",
        filters=[single_line],
        validators=[DataRequired("Say who responded."), Length(max=NAME_MAX)],
    )
    responded_on = DateField(
        "When", validators=[DataRequired("Give the date of the response (YYYY-MM-DD).")]
    )
    summary = TextAreaField(
        "What they said",
        filters=[multi_line],
        validators=[DataRequired("Say what they answered."), Length(max=COMMENT_MAX)],
    )
    url = StringField(
        "Link (optional)", filters=[single_line], validators=[Optional(), Length(max=URL_MAX)]
    )


class EvidenceForm(FlaskForm):
    """How an organiser checked that a notable signatory really signed."""

    method = SelectField(
        "How you checked",
        choices=[
            SelectChoice(method.value, method.label.capitalize()) for method in EvidenceMethod
        ],
        validators=[DataRequired("Choose how you checked.")],
    )
    public_url = StringField(
        "Public link (optional)",
        description="A statement or page anyone can read; shown on the list.",
        filters=[single_line],
        validators=[Optional(), Length(max=URL_MAX)],
    )
    note = StringField(
        "Note for organisers (optional)",
        filters=[single_line],
        validators=[Optional(), Length(max=NOTABLE_CONTEXT_MAX)],
    )

    def evidence(self) -> Evidence:
        return Evidence(
            method=EvidenceMethod(self.method.data),
            public_url=self.public_url.data or None,
            note=self.note.data or None,
        )


class OrganisationForm(FlaskForm):
    """An organisation of the shared registry (superusers edit it)."""

    name = StringField(
        "Name",
        filters=[single_line],
        validators=[DataRequired("Please enter the name."), Length(max=AFFILIATION_MAX)],
    )
    domains = StringField(
        "Email domains, separated by spaces",
        description="Addresses at these domains, or at their subdomains, verify the affiliation.",
        filters=[single_line],
        validators=[Length(max=4000)],
    )
    aliases = TextAreaField(
        "Other names, one per line (optional)",
        description=(
            "Acronyms (MIT), the name in other languages (Université de Genève), former names. "
            "Signers who type any of them count for this organisation, and the watch-list and "
            "check a list understand them. A name may belong to one organisation only."
        ),
        filters=[multi_line],
        validators=[Length(max=MAX_ALIASES * (AFFILIATION_MAX + 1))],
    )
    sector = SelectField(
        "Sector", choices=[SelectChoice(sector.value, sector.label) for sector in Sector]
    )
    country = StringField(
        "Country (name or ISO code, optional)", filters=[single_line], validators=[Length(max=100)]
    )

    def organisation(self) -> OrganisationInput:
        return OrganisationInput(
            name=self.name.data or "",
            domains=(self.domains.data or "").replace(",", " ").split(),
            sector=self.sector.data or "other",
            country=self.country.data or "",
            aliases=split_aliases(self.aliases.data or ""),
        )

    @classmethod
    def initial(cls, organisation: Organisation) -> SimpleNamespace:
        return SimpleNamespace(
            name=organisation.name,
            domains=" ".join(row.domain for row in organisation.domains),
            aliases="\n".join(organisation.alias_names),
            sector=organisation.sector.value,
            country=organisation.country or "",
        )


class RegistryImportForm(FlaskForm):
    file = FileField(
        "CSV file",
        description=(
            "Columns: name, domains (separated by spaces), sector, country, and optionally "
            "aliases (other names, separated by semicolons: MIT;M.I.T.). UTF-8."
        ),
        validators=[FileRequired("Choose a CSV file."), FileAllowed(["csv"], "Only .csv files.")],
    )


class LetterOrganisationsForm(FlaskForm):
    """A letter's watch-list of organisations and the roles it accepts for organisational
    signatures, one per line."""

    watched = TextAreaField(
        "Organisations to watch, one per line (registry names)",
        filters=[multi_line],
        validators=[Length(max=200_000)],
    )
    roles = TextAreaField(
        "Accepted roles, one per line",
        description="A signer writing from their organisation's domain under one of these titles "
        "signs for it without your confirmation.",
        filters=[multi_line],
        validators=[Length(max=20_000)],
    )


class SnapshotForm(FlaskForm):
    note = StringField(
        "Note (what it is for)",
        description="For example: Delivered to the European Parliament, 14 March.",
        filters=[single_line],
        validators=[Optional(), Length(max=SNAPSHOT_NOTE_MAX)],
    )


class TeamForm(FlaskForm):
    email = StringField(
        "Organiser's email address",
        filters=[single_line],
        validators=[DataRequired("Please enter an email address."), Length(max=EMAIL_MAX)],
    )
    role = SelectField(
        "Role",
        choices={
            OrganiserRole.VIEWER.value: "Viewer: sees everything, changes nothing",
            OrganiserRole.MODERATOR.value: "Moderator: hides, corrects, features, imports, exports",
            OrganiserRole.OWNER.value: "Owner: all of that, plus editing, deleting and the team",
        },
        default=OrganiserRole.MODERATOR.value,
    )


class IdListField(Field):
    """The ids of ticked checkboxes that share one name."""

    data: list[int]

    def process_formdata(self, valuelist: list[Any]) -> None:
        ids = [whole_number(v) if isinstance(v, str) else None for v in valuelist]
        if None in ids:
            self.data = []
            raise ValueError("The selection is not valid.")
        self.data = sorted({ident for ident in ids if ident is not None})

    def _value(self) -> str:
        return ""


class SignatureActionForm(FlaskForm):
    """One action on the ticked signatures; the choices are set by the view from ACTIONS."""

    action = SelectField("Action")
    ids = IdListField("Signatures")
    reason = StringField("Reason", filters=[single_line], validators=[Length(max=500)])
    context = StringField(
        "Context", filters=[single_line], validators=[Length(max=NOTABLE_CONTEXT_MAX)]
    )
    confirmed = HiddenField()
    back = HiddenField(validators=[Length(max=2000)])

    def validate_ids(self, field: IdListField) -> None:
        if not field.data:
            raise ValidationError("Select at least one signature.")


class MergeForm(FlaskForm):
    target = IntegerField("Keep", validators=[DataRequired("Choose the affiliation to keep.")])
    ids = IdListField("Merge")
    name = StringField(
        "New name for the kept affiliation",
        filters=[single_line],
        validators=[Optional(), Length(max=AFFILIATION_MAX)],
    )


class InvalidateForm(FlaskForm):
    domain = StringField(
        "Email domain", filters=[single_line], validators=[Optional(), Length(max=253)]
    )
    address_range = StringField(
        "Address range (like 203.0.113.0/24; at most 256 addresses or 256 blocks)",
        filters=[single_line],
        validators=[Optional(), Length(max=64)],
    )
    #: A block picked from the trending alert (a hash: the address itself is never stored).
    block = HiddenField(
        validators=[Optional(), Regexp(r"^[0-9a-f]{32}$", message="Unknown block.")]
    )
    signed_from = StringField(
        "Signed from (UTC, e.g. 2026-11-26T14:00)",
        filters=[single_line],
        validators=[Optional(), Length(max=40)],
    )
    signed_until = StringField(
        "Signed until (UTC)", filters=[single_line], validators=[Optional(), Length(max=40)]
    )
    reason = StringField(
        "Reason",
        filters=[single_line],
        validators=[DataRequired("Please give a reason."), Length(max=500)],
    )
    confirmed = HiddenField()

    def moment(self, field: StringField) -> datetime | None:
        return moment_from(field.data, naive_means_utc=True) if field.data else None

    def validate_signed_from(self, field: StringField) -> None:
        self.moment(field)

    def validate_signed_until(self, field: StringField) -> None:
        self.moment(field)


def _day(field: Field) -> datetime | None:
    if not field.data:
        return None
    try:
        day = datetime.strptime(field.data, "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError(f"{field.label.text}: use a date like 2026-11-26.") from None
    if not 1900 <= day.year <= 9000:
        raise ValidationError(f"{field.label.text}: choose a date between 1900 and 9000.")
    return datetime.combine(day, time(), UTC)


class SignatureFilterForm(Form):
    """The moderation table's filter, read from the query string (a GET form, no CSRF token);
    its links carry these keys and nothing else."""

    # In the order they are checked, so the first error reported is the one it always was.
    state = StringField()
    affiliation = StringField()
    country = StringField(filters=[lambda value: (value or "").upper()])
    signed_until = StringField("To", name="until")
    q = StringField(filters=[lambda value: (value or "").strip()[:100]])
    signed_from = StringField("From", name="from")
    sort = StringField(default="newest")
    notable = StringField()
    held = StringField()

    @classmethod
    def read(cls, args: MultiDict[str, str]) -> SignatureFilterForm:
        return cls(formdata=args)

    def validate_q(self, field: StringField) -> None:
        if "\x00" in field.data:
            raise ValidationError("The search contains a character that cannot be searched for.")

    def validate_state(self, field: StringField) -> None:
        if field.data and field.data not in {state.value for state in SignatureState}:
            raise ValidationError("Unknown state.")

    def validate_country(self, field: StringField) -> None:
        if field.data and not (field.data.isascii() and is_country_code(field.data)):
            raise ValidationError("Unknown country code.")

    def validate_affiliation(self, field: StringField) -> None:
        if field.data and whole_number(field.data) is None:
            raise ValidationError("Unknown affiliation.")

    def validate_signed_from(self, field: StringField) -> None:
        _day(field)

    def validate_signed_until(self, field: StringField) -> None:
        _day(field)

    def signature_filter(self) -> SignatureFilter:
        """The filter; InvalidInput (400) for anything malformed."""
        if not self.validate():
            raise InvalidInput(next(iter(self.errors.values()))[0])
        until = _day(self.signed_until)
        return SignatureFilter(
            state=SignatureState(self.state.data) if self.state.data else None,
            country=self.country.data or None,
            affiliation_id=whole_number(self.affiliation.data) if self.affiliation.data else None,
            signed_from=_day(self.signed_from),
            signed_until=until + timedelta(days=1) if until else None,
            text=self.q.data or None,
            notable_only=self.notable.data == "1",
            held_only=self.held.data == "1",
            sort=self.sort.data or "newest",
        )

    def link_args(self) -> dict[str, str]:
        """The filter as it came, for links that keep it."""
        return {
            field.name: field.raw_data[0] for field in self if field.raw_data and field.raw_data[0]
        }
