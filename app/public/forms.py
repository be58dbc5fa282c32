"""Forms a signer fills in."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.models import AFFILIATION_MAX, COMMENT_MAX, EMAIL_MAX, NAME_MAX, TITLE_MAX
from app.signing.lifecycle import SignatureInput
from app.support.form_fields import (
    CheckboxField,
    CountryField,
    EmailAddressField,
    TextBoxField,
    TextField,
    deliverable_looking_email,
    multi_line,
    no_stacked_marks,
    printable,
    single_line,
)

IDENTIFICATION = "identification"
ON_BEHALF = "on_behalf"


class SignForm(FlaskForm):
    name = TextField(
        _l("Full name"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Please enter your full name.")),
            Length(
                max=NAME_MAX,
                message=_l(
                    "Please keep your name under %(name_max)s characters.", name_max=NAME_MAX
                ),
            ),
            printable(),
            no_stacked_marks,
        ],
    )
    email = EmailAddressField(
        _l("Email address"),
        description=_l("We send a confirmation link here. It is never shown publicly."),
        filters=[single_line],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=EMAIL_MAX, message=_l("That email address is too long.")),
            deliverable_looking_email,
        ],
    )
    affiliation = TextField(
        _l("Affiliation (organisation)"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Please enter your organisation, or 'Independent'.")),
            Length(
                max=AFFILIATION_MAX,
                message=_l(
                    "Please keep this under %(affiliation_max)s characters.",
                    affiliation_max=AFFILIATION_MAX,
                ),
            ),
            printable(),
            no_stacked_marks,
        ],
    )
    title = TextField(
        _l("Title or role"),
        filters=[single_line],
        validators=[
            DataRequired(_l("Please enter your title or role.")),
            Length(
                max=TITLE_MAX,
                message=_l("Please keep this under %(title_max)s characters.", title_max=TITLE_MAX),
            ),
            printable(),
            no_stacked_marks,
        ],
    )
    country = CountryField(
        _l("Country"),
        placeholder=_l("Choose your country"),
        validators=[DataRequired(_l("Please choose your country."))],
    )
    comment = TextBoxField(
        _l("Comment (optional)"),
        filters=[multi_line],
        validators=[
            Optional(),
            Length(
                max=COMMENT_MAX,
                message=_l(
                    "Please keep your comment under %(comment_max)s characters.",
                    comment_max=COMMENT_MAX,
                ),
            ),
            printable(multiline=True),
            no_stacked_marks,
        ],
    )
    signing_as = RadioField(
        _l("How you sign"),
        choices=[
            SelectChoice(IDENTIFICATION, _l("My affiliation is for identification only")),
            SelectChoice(ON_BEHALF, _l("I sign on behalf of my organisation")),
        ],
        default=IDENTIFICATION,
        # A post without it (an older page, a script) signs as most people do.
        filters=[lambda value: value or IDENTIFICATION],
    )
    is_public = CheckboxField(_l("Show my name on the public list of signatories"), default=True)
    wants_news = CheckboxField(_l("Email me news about this letter"), default=False)
    #: A honeypot: hidden from people, filled in by many bots. Its content is never refused,
    #: only noted, so a bot cannot tell it was caught.
    website = TextField(
        _l("Leave this field empty"), filters=[single_line], validators=[Length(max=500)]
    )

    def answers(self, language: str = "en") -> SignatureInput:
        return SignatureInput(
            name=self.name.data,
            email=self.email.data,
            affiliation=self.affiliation.data,
            title=self.title.data,
            country=self.country.data,
            comment=self.comment.data or None,
            is_public=bool(self.is_public.data),
            on_behalf=self.signing_as.data == ON_BEHALF,
            wants_news=bool(self.wants_news.data),
            language=language,
        )


class InvitationSignForm(SignForm):
    """Signing from an invitation: under the invited address, which the form does not ask
    for (the signature is confirmed because the link was emailed there), nor a honeypot."""

    email = None  # type: ignore[assignment]
    website = None  # type: ignore[assignment]

    def answers(self, language: str = "en") -> SignatureInput:
        return SignatureInput(
            name=self.name.data,
            email="",  # the invitation's: lifecycle.sign_from_invitation puts it in
            affiliation=self.affiliation.data,
            title=self.title.data,
            country=self.country.data,
            comment=self.comment.data or None,
            is_public=bool(self.is_public.data),
            on_behalf=self.signing_as.data == ON_BEHALF,
            wants_news=bool(self.wants_news.data),
            language=language,
        )


class ConfirmForm(FlaskForm):
    """Only a POST of this form confirms: mail scanners that open links must change nothing."""


class ResendForm(FlaskForm):
    """Asks for a fresh confirmation link after the old one expired."""


class ReaffirmForm(FlaskForm):
    """After a change of substance: keep the signature under the new text, or withdraw it."""

    keep = SubmitField(_l("Keep my signature under the new text"))
    withdraw = SubmitField(_l("Withdraw my signature"))


class WithdrawForm(FlaskForm):
    """Only a POST of this form withdraws: opening the link changes nothing."""


#: Characters each box of the check form takes: 500 lines at the longest a line may be.
CHECK_TEXT_MAX = 500 * 201


class CheckListForm(FlaskForm):
    """Check a list: names and organisations, one per line."""

    names = TextBoxField(
        _l("Names, one per line"),
        description=_l(
            "A name, or a name and an affiliation separated by a comma, as pasted from a "
            "spreadsheet (“Ada Lovelace, University of London”)."
        ),
        filters=[multi_line],
        validators=[Length(max=CHECK_TEXT_MAX, message=_l("That is more than a check can take."))],
    )
    organisations = TextBoxField(
        _l("Organisations or email domains, one per line"),
        description=_l("An organisation's name or other name (“MIT”), or a domain (mit.edu)."),
        filters=[multi_line],
        validators=[Length(max=CHECK_TEXT_MAX, message=_l("That is more than a check can take."))],
    )


class MySignaturesForm(FlaskForm):
    """Ask for the link to everything one address signed."""

    email = EmailAddressField(
        _l("Your email address"),
        description=_l(
            "We email a link to the letters this address signed. Nothing is shown here."
        ),
        filters=[single_line],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=EMAIL_MAX, message=_l("That email address is too long.")),
            deliverable_looking_email,
        ],
    )


#: What a signer may do to one of their signatures on the /my-signatures page.
SIGNATURE_ACTIONS = ("withdraw", "show", "hide", "news-on", "news-off")


class MySignatureActionForm(FlaskForm):
    """One button on the /my-signatures page: which signature, and what to do."""

    signature = IntegerField(validators=[DataRequired()])
    action = RadioField(choices=[SelectChoice(action, action) for action in SIGNATURE_ACTIONS])
