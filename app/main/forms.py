"""Forms of the main blueprint: shape only."""

from __future__ import annotations

from app.web.fields import path_on_this_site
from app.web.forms import Form
from app.web.widgets import HiddenField, StringField


class LanguageForm(Form):
    """The footer's language menu (app/templates/_language_menu.html).

    Its `language` is checked against the languages the site serves by the view;
    `next` is the page the menu was on, dropped unless a path on this site.
    """

    language = StringField()
    next = HiddenField(filters=[path_on_this_site])
