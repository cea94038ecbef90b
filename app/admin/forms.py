"""Forms of the admin area."""

from __future__ import annotations

from wtforms.validators import DataRequired, Length

from app.models.throttle import KEY_MAX
from app.web.forms import Form
from app.web.widgets import HiddenField


class LockoutForm(Form):
    """The button that clears one address's lockout."""

    email = HiddenField(validators=[DataRequired(), Length(max=254)])


class ThrottleForm(Form):
    """The button that clears one client's count of one rate limit."""

    key = HiddenField(validators=[DataRequired(), Length(max=KEY_MAX)])
