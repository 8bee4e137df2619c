"""Forms for signing in and joining. Lengths are generous; the policy lives in passwords.py."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import Length

from intake.form_base import GroundworkForm


class SignInForm(GroundworkForm):
    username = StringField(_l("Username"), validators=[Length(max=200)])
    password = PasswordField(_l("Password"), validators=[Length(max=1000)])


class CodeForm(GroundworkForm):
    code = StringField(_l("6-digit code"), validators=[Length(max=20)])


class JoinForm(GroundworkForm):
    username = StringField(_l("Choose a username"), validators=[Length(max=80)])
    password = PasswordField(_l("Choose a password"), validators=[Length(max=1000)])
    password_again = PasswordField(_l("Type the password again"), validators=[Length(max=1000)])
