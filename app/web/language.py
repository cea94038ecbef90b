"""The language a page is written in: the member's choice, the visitor's, the browser's.

In this order (SPEC.md "Languages and time"): the signed-in member's choice
(`users.language`, set at sign-up and in the profile); else the language a visitor
picked from the footer's menu (a cookie); else the best of `Accept-Language`; else
English. Only the languages of the setting LANGUAGES are ever served.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from urllib.parse import urlsplit

from babel import Locale
from babel.support import NullTranslations
from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import get_locale, get_translations
from flask_login import current_user

from app.config import SOURCE_LANGUAGE
from app.extensions import babel
from app.web.security import keeps_csrf_secret

LANGUAGE_COOKIE = "vestibule_language"
# app.extensions key: each language's catalog, as Flask-Babel loaded it, by locale.
CATALOGS = "vestibule.catalogs"
LANGUAGE_COOKIE_MAX_AGE = timedelta(days=365)


def offered_languages() -> tuple[str, ...]:
    """Return the codes of the languages the site serves: ("en", "de", ...)."""
    languages: tuple[str, ...] = current_app.config["LANGUAGES"]
    return languages


def select_language() -> str:
    """Return the code of the language this request's page is written in ("de").

    Outside a request (the CLI, a script in an app context) there is no reader:
    English, as the CLI and the logs are written.
    """
    if not has_request_context():
        return SOURCE_LANGUAGE
    offered = offered_languages()
    if current_user.is_authenticated and current_user.language in offered:
        return str(current_user.language)
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in offered:
        return str(chosen)
    return request.accept_languages.best_match(offered) or offered[0]


def page_language() -> str:
    """Return the code of the language being written now ("de"); English outside one.

    Inside `flask_babel.force_locale` (a mail in its recipient's language), that one.
    """
    locale = get_locale()
    return str(locale) if locale is not None else SOURCE_LANGUAGE


@cache
def language_name(code: str) -> str:
    """Return a language's name in itself, as a language menu shows it: "Deutsch"."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


@cache
def text_direction(code: str) -> str:
    """Return "rtl" for a language written right to left ("ar"), else "ltr"."""
    return "rtl" if Locale.parse(code).text_direction == "rtl" else "ltr"


def remember_language(response: Response, code: str) -> None:
    """Have the visitor's browser remember the language picked from the menu."""
    response.set_cookie(
        LANGUAGE_COOKIE,
        code,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


def language_tag(code: str) -> str:
    """Return a language's tag as HTML's `lang` attribute writes it: "en-001"."""
    return code.replace("_", "-")


def current_page() -> str:
    """Return this page's path and query ("/users/?q=ada"), for a form to come back to.

    As the browser asked for it, quoted again: a `next` the menu posts.
    """
    parts = urlsplit(request.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def writing_catalog() -> NullTranslations:
    """Return the catalog of the language being written now: the page's, or a mail's.

    The one Flask-Babel loads (`get_translations`), kept by locale: a template's
    text is looked up for the locale alone, not through the three lookups of the
    request's context that Flask-Babel's own gettext makes for each text.
    """
    locale = get_locale()
    catalogs = current_app.extensions.setdefault(CATALOGS, {})
    catalog: NullTranslations | None = catalogs.get(locale)
    if catalog is None:
        catalog = catalogs[locale] = get_translations()
    return catalog


def _template_gettext(text: str) -> str:
    return writing_catalog().ugettext(text)


def _template_ngettext(singular: str, plural: str, count: int) -> str:
    return writing_catalog().ungettext(singular, plural, count)


def _page_language_context() -> dict[str, object]:
    code = page_language()
    return {
        "page_language": code,
        "page_language_tag": language_tag(code),
        "page_direction": text_direction(code),
    }


def init_language(app: Flask) -> None:
    """Bind Flask-Babel: catalogs in app/translations, the language chosen per page.

    Templates get `_`, `gettext` and `ngettext` (Jinja's i18n extension, with
    whitespace trimmed in `{% trans %}` blocks, as babel.cfg extracts them) and
    `page_language`, `page_language_tag` ("de", "en-001"), `page_direction`, and
    for the footer's language menu (app/templates/_language_menu.html) the
    functions `offered_languages()`, `language_name(code)`, `language_tag(code)`,
    `current_page()` and `keeps_csrf_secret()`.
    """
    babel.init_app(app, locale_selector=select_language)
    # Flask-Babel's own callables for templates, with the catalog looked up once per
    # text instead of through the request's context three times (bench/README.md).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        _template_gettext, _template_ngettext, newstyle=True
    )
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.context_processor(_page_language_context)
    # Globals, not context: the menu's macro is then imported without the page's
    # context, and so compiled once, not again for every page.
    for function in (
        offered_languages,
        language_name,
        language_tag,
        current_page,
        keeps_csrf_secret,
    ):
        app.add_template_global(function)
