"""Forms a signer fills in."""

from __future__ import annotations

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
        "Full name",
        filters=[single_line],
        validators=[
            DataRequired("Please enter your full name."),
            Length(max=NAME_MAX, message=f"Please keep your name under {NAME_MAX} characters."),
            printable(),
            no_stacked_marks,
        ],
    )
    email = EmailAddressField(
        "Email address",
        description="We send a confirmation link here. It is never shown publicly.",
        filters=[single_line],
        validators=[
            DataRequired("Please enter your email address."),
            Length(max=EMAIL_MAX, message="That email address is too long."),
            deliverable_looking_email,
        ],
    )
    affiliation = TextField(
        "Affiliation (organisation)",
        filters=[single_line],
        validators=[
            DataRequired("Please enter your organisation, or 'Independent'."),
            Length(
                max=AFFILIATION_MAX, message=f"Please keep this under {AFFILIATION_MAX} characters."
            ),
            printable(),
            no_stacked_marks,
        ],
    )
    title = TextField(
        "Title or role",
        filters=[single_line],
        validators=[
            DataRequired("Please enter your title or role."),
            Length(max=TITLE_MAX, message=f"Please keep this under {TITLE_MAX} characters."),
            printable(),
            no_stacked_marks,
        ],
    )
    country = CountryField(
        "Country",
        placeholder="Choose your country",
        validators=[DataRequired("Please choose your country.")],
    )
    comment = TextBoxField(
        "Comment (optional)",
        filters=[multi_line],
        validators=[
            Optional(),
            Length(
                max=COMMENT_MAX, message=f"Please keep your comment under {COMMENT_MAX} characters."
            ),
            printable(multiline=True),
            no_stacked_marks,
        ],
    )
    signing_as = RadioField(
        "How you sign",
        choices=[
            SelectChoice(IDENTIFICATION, "My affiliation is for identification only"),
            SelectChoice(ON_BEHALF, "I sign on behalf of my organisation"),
        ],
        default=IDENTIFICATION,
        # A post without it (an older page, a script) signs as most people do.
        filters=[lambda value: value or IDENTIFICATION],
    )
    is_public = CheckboxField("Show my name on the public list of signatories", default=True)
    wants_news = CheckboxField("Email me news about this letter", default=False)
    #: A honeypot: hidden from people, filled in by many bots. Its content is never refused,
    #: only noted, so a bot cannot tell it was caught.
    website = TextField(
        "Leave this field empty", filters=[single_line], validators=[Length(max=500)]
    )

    def answers(self) -> SignatureInput:
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
        )


class InvitationSignForm(SignForm):
    """Signing from an invitation: under the invited address, which the form does not ask
    for (the signature is confirmed because the link was emailed there), nor a honeypot."""

    email = None  # type: ignore[assignment]
    website = None  # type: ignore[assignment]

    def answers(self) -> SignatureInput:
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
        )


class ConfirmForm(FlaskForm):
    """Only a POST of this form confirms: mail scanners that open links must change nothing."""


class ResendForm(FlaskForm):
    """Asks for a fresh confirmation link after the old one expired."""


class ReaffirmForm(FlaskForm):
    """After a change of substance: keep the signature under the new text, or withdraw it."""

    keep = SubmitField("Keep my signature under the new text")
    withdraw = SubmitField("Withdraw my signature")


class WithdrawForm(FlaskForm):
    """Only a POST of this form withdraws: opening the link changes nothing."""


#: Characters each box of the check form takes: 500 lines at the longest a line may be.
CHECK_TEXT_MAX = 500 * 201


class CheckListForm(FlaskForm):
    """Check a list: names and organisations, one per line."""

    names = TextBoxField(
        "Names, one per line",
        filters=[multi_line],
        validators=[Length(max=CHECK_TEXT_MAX, message="That is more than a check can take.")],
    )
    organisations = TextBoxField(
        "Organisations or email domains, one per line",
        filters=[multi_line],
        validators=[Length(max=CHECK_TEXT_MAX, message="That is more than a check can take.")],
    )


class MySignaturesForm(FlaskForm):
    """Ask for the link to everything one address signed."""

    email = EmailAddressField(
        "Your email address",
        description="We email a link to the letters this address signed. Nothing is shown here.",
        filters=[single_line],
        validators=[
            DataRequired("Please enter your email address."),
            Length(max=EMAIL_MAX, message="That email address is too long."),
            deliverable_looking_email,
        ],
    )


#: What a signer may do to one of their signatures on the /my-signatures page.
SIGNATURE_ACTIONS = ("withdraw", "show", "hide", "news-on", "news-off")


class MySignatureActionForm(FlaskForm):
    """One button on the /my-signatures page: which signature, and what to do."""

    signature = IntegerField(validators=[DataRequired()])
    action = RadioField(choices=[SelectChoice(action, action) for action in SIGNATURE_ACTIONS])
