"""Forms of the auth blueprint: shape only, the rules live in the services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import DataRequired

from app.dates import known_time_zone
from app.web.fields import (
    EMAIL,
    SecondFactorForm,
    at_most,
    code_field,
    new_password_fields,
    passkey_answer_field,
    path_on_this_site,
    recovery_code_field,
    strip,
    typed_password_length,
)
from app.web.forms import Form
from app.web.widgets import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    StringField,
)


class RegisterForm(Form):
    name = StringField(_l("Name"), [DataRequired(_l("Enter your name.")), at_most(80)])
    email = EmailField(_l("E-mail"), EMAIL, filters=[strip])
    password, confirm = new_password_fields()


class LoginForm(Form):
    email = EmailField(_l("E-mail"), EMAIL, filters=[strip])
    password = PasswordField(
        _l("Password"),
        [DataRequired(_l("Enter your password.")), typed_password_length()],
    )
    # auth/login.html adds for how long, from REMEMBER_LIFETIME
    remember = BooleanField(_l("Remember me"))
    next = HiddenField(filters=[path_on_this_site])
    # the browser's IANA zone, filled by time-zone.js; anything else is dropped
    time_zone = HiddenField(filters=[known_time_zone])


class EmailForm(Form):
    email = EmailField(_l("E-mail"), EMAIL, filters=[strip])


class ResetForm(Form):
    password, confirm = new_password_fields(
        _l("New password"), _l("Confirm new password")
    )


class ConfirmSignUpForm(Form):
    """The verify link's button; a browser that did not sign up types the password."""

    password = PasswordField(
        _l("The password you chose when you signed up"), [typed_password_length()]
    )


class TwoFactorForm(SecondFactorForm):
    code = code_field(
        _l("Code"), _l("Enter the code from your app, or a recovery code.")
    )
    recovery_code = recovery_code_field()
    # auth/two_factor.html adds for how long, from TRUSTED_BROWSER_MAX_AGE
    trust = BooleanField(_l("Trust this browser"))


class PasskeySignInForm(Form):
    """The sign-in page's passkey button: the browser's answer, and where to go."""

    credential = passkey_answer_field()
    remember = BooleanField(_l("Remember me"))
    next = HiddenField(filters=[path_on_this_site])
    time_zone = HiddenField(filters=[known_time_zone])


class PasskeySecondStepForm(Form):
    """The second step's passkey button, and "trust this browser"."""

    credential = passkey_answer_field()
    trust = BooleanField(_l("Trust this browser"), id="passkey-trust")
