"""A member's language: the one their pages and mails are written in."""

from __future__ import annotations

from flask import current_app

from app.extensions import db
from app.models import User
from app.services import ServiceError


class UnknownLanguage(ServiceError):
    """The code is not one of the languages the site serves (the setting LANGUAGES)."""


def is_offered(code: str) -> bool:
    """Tell whether `code` ("de") is one of the languages the site serves."""
    return code in current_app.config["LANGUAGES"]


def choose_language(user: User, code: str) -> None:
    """Store `code` ("de") as the language `user` reads pages and mails in; commits.

    Raises UnknownLanguage, writing nothing, unless `code` is one of the setting
    LANGUAGES.
    """
    if not is_offered(code):
        raise UnknownLanguage(code)
    user.language = code
    db.session.commit()
