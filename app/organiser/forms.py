"""Forms organisers fill in."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.forms import single_line
from app.models import EMAIL_MAX
from app.organisers import PASSWORD_MAX


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


class ConfirmActionForm(FlaskForm):
    """A button and nothing else: the CSRF token is the point."""
