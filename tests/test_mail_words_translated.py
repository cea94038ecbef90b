"""Every mail the site sends is written in its reader's language, every word of it.

The app here serves the pseudo-language of tests/pseudo.py, in which each text a
catalog holds comes out between markers: "⟦Šíǧñ íñ⟧". Each flow below makes the
site send its mails through the pages, as a person would, to members who read that
language and from browsers that chose it; no word of a subject or body may stand
outside the markers but the reader's own data (names, addresses, links, numbers)
and what Babel writes (dates, lengths of time). Together the flows send every
template of app/templates/mail/, in each of its variants.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from werkzeug.test import TestResponse

from app.dates import describe_duration, format_date_time
from app.extensions import db
from app.models import OutboxMail, User
from app.models.base import utcnow
from app.services import mailer
from app.web.language import LANGUAGE_COOKIE
from tests import two_factor
from tests.authenticator import Authenticator
from tests.conftest import BrowserLikeClient, csrf_from, link_in, sign_in, submit
from tests.factories import PASSWORD
from tests.passkeys import add_passkey
from tests.pseudo import (
    PSEUDO_LANGUAGE,
    ROOT,
    TEMPLATE,
    pseudo_config,
    untranslated,
    visible_text,
    write_pseudo_catalog,
)

MAIL_TEMPLATES = ROOT / "app" / "templates" / "mail"
# Members' names in a script of their own, so that no name reads as an English word.
OWNER = "Ωμέγα Δέλτα"
HOLDER = "Ψιλή Κάππα"
ADMIN = "Λάμδα Σίγμα"
NEWCOMER = "Ζήτα Ήτα"
PASSKEY_NAMES = ("Φορητό", "Τηλέφωνο", "Κλειδί")  # the member names them
NAMES = (OWNER, HOLDER, ADMIN, NEWCOMER, *PASSKEY_NAMES)
NEW_PASSWORD = "quiet lantern harbour nineteen"
NEW_ADDRESS = "omega.new@example.com"
WRONG = "not the password at all"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a two-factor secret for rows made here
FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)
# What describe_browser makes of FIREFOX, less the words it adds ("on"): names.
FIREFOX_NAMES = ("Firefox 133", "Windows")
FORM_ACTION_RE = re.compile(r'<form method="post" action="(/admin/users/[^"]+)"')


@pytest.fixture(scope="module")
def pseudo_catalogs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not TEMPLATE.exists():
        pytest.fail(
            "app/translations/messages.pot is missing: run `make translations` "
            "(or pybabel extract as it does) first"
        )
    return write_pseudo_catalog(tmp_path_factory.mktemp("pseudo"))


@pytest.fixture
def app_config(pseudo_catalogs: Path) -> dict[str, Any]:
    # Each mail in a few requests: no rate limits, a lockout after three failures.
    return {
        **pseudo_config(pseudo_catalogs),
        "RATELIMIT_ENABLED": False,
        "LOCKOUT_THRESHOLD": 3,
    }


@pytest.fixture(autouse=True)
def held_clock(clock: Callable[[timedelta], None]) -> Callable[[timedelta], None]:
    """The clock held still, so that the date a mail writes is known."""
    return clock


# app.extensions key: each page the pseudo-language's browsers read, by request.
PAGES_READ = "tests.pages_read"


class PseudoBrowser(BrowserLikeClient):
    """A browser that keeps every page it reads, for its words to be checked too."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        # a redirect's body is Werkzeug's, for no reader: the page it leads to counts
        if response.mimetype == "text/html" and not response.location:
            where = f"{response.request.method} {response.request.path}"
            read = self.application.extensions.setdefault(PAGES_READ, [])
            read.append((where, response.get_data(as_text=True)))
        return response


def browser(app: Flask, **environ: str) -> FlaskClient:
    """A browser whose visitor chose the pseudo-language from the footer's menu."""
    client = PseudoBrowser(app, app.response_class, use_cookies=True)
    client.set_cookie(LANGUAGE_COOKIE, PSEUDO_LANGUAGE)
    client.environ_base.update(environ)
    return client


def english_browser(app: Flask, **environ: str) -> FlaskClient:
    """A browser that reads English: someone else's, or the member's new phone.

    A mail to a member it makes the site send is still in the member's language:
    one written in the page's would show here as English words.
    """
    client = app.test_client()
    client.environ_base.update(environ)
    return client


@pytest.fixture
def member(make_user: Callable[..., User]) -> Callable[..., User]:
    """Make a member who reads the site in the pseudo-language, unless told."""

    def make(**fields: Any) -> User:
        return make_user(**{"language": PSEUDO_LANGUAGE, **fields})

    return make


@dataclass
class Mail:
    template: str
    recipient: str
    subject: str
    body: str


@dataclass
class Sent:
    """The mails the app queued, by what they hold, each with its template's name."""

    templates: dict[tuple[str, str, str], str] = field(default_factory=dict)


@pytest.fixture
def sent(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Sent:
    # Notes which template each queued mail came from: the outbox keeps no name.
    record = Sent()
    queue = mailer.queue_mail

    def queue_and_note(recipient: str, subject: str, template: str, **kw: Any) -> None:
        before = set(db.session.new)
        queue(recipient, subject, template, **kw)
        for mail in set(db.session.new) - before:
            if isinstance(mail, OutboxMail):
                key = (mail.recipient, mail.subject, mail.body)
                record.templates[key] = template

    monkeypatch.setattr(mailer, "queue_mail", queue_and_note)
    return record


def mails(outbox: Callable[[], list[OutboxMail]], sent: Sent) -> list[Mail]:
    """Every mail the app sent so far, oldest first, named by its template."""
    found = []
    for mail in outbox():
        template = sent.templates.get((mail.recipient, mail.subject, mail.body))
        assert template is not None, f"a mail no template made: {mail.subject!r}"
        found.append(Mail(template, mail.recipient, mail.subject, mail.body))
    return found


def written_by_babel(app: Flask) -> tuple[str, ...]:
    """What Babel writes in a mail in the pseudo-language: lengths of time, the date.

    Every setting that is a length of time (the links' lifetimes, the lockout's
    waits), and the present moment as a sign-in alert dates it (the clock is held).
    """
    lengths = [
        value
        for name, value in app.config.items()
        if isinstance(value, timedelta)
        or (name.endswith("_MAX_AGE") and isinstance(value, int))
    ]
    with app.test_request_context(), force_locale(PSEUDO_LANGUAGE):
        written = [describe_duration(length) for length in lengths]
        written.append(format_date_time(utcnow(), UTC))
    # The longest first, so that "48 hours" goes before "4 hours" could.
    return tuple(sorted(set(written), key=len, reverse=True))


def words_not_marked_on_pages(app: Flask) -> list[str]:
    """Say, per page a pseudo-language browser read, the words no catalog said."""
    own = (*NAMES, *FIREFOX_NAMES, *written_by_babel(app))
    problems = []
    for where, page in app.extensions.get(PAGES_READ, []):
        words = untranslated(visible_text(page), user_data=own)
        if words:
            problems.append(f"{where}: {' '.join(sorted(set(words)))}")
    return sorted(set(problems))


def words_not_marked(app: Flask, found: list[Mail]) -> list[str]:
    """Say, per mail, the words of its subject and body that no catalog said."""
    own = (*NAMES, *FIREFOX_NAMES, *written_by_babel(app))
    problems: dict[str, int] = {}  # the same words in several mails said once
    for mail in found:
        in_subject = untranslated(mail.subject, user_data=own)
        in_body = untranslated(mail.body, user_data=own)
        if in_subject or in_body:
            problem = (
                f"mail/{mail.template}.txt, subject {mail.subject!r}:\n"
                f"    subject: {' '.join(in_subject) or '-'}\n"
                f"    body: {' '.join(in_body) or '-'}"
            )
            problems[problem] = problems.get(problem, 0) + 1
    return [
        problem if times == 1 else f"{problem}\n    ({times} mails alike)"
        for problem, times in problems.items()
    ]


# -- the flows: each sends some mails, together every template ---------------------


def ask_once(client: FlaskClient, page: str) -> Any:
    """Open an admin page that asks once and press its button, as the admin would."""
    asked = client.get(page)
    assert asked.status_code == 200, page
    (action,) = FORM_ACTION_RE.findall(asked.get_data(as_text=True))
    return client.post(html.unescape(action), data={"csrf_token": csrf_from(asked)})


def mail_to(found: list[Mail], recipient: str, template: str) -> Mail:
    matching = [m for m in found if m.recipient == recipient and m.template == template]
    assert matching, f"no {template} mail to {recipient}"
    return matching[-1]


Flow = Callable[[Flask, Callable[..., User], Callable[[], list[Mail]], Any], None]


def signing_up(app: Flask, member: Callable[..., User], found: Any, clock: Any) -> None:
    owner = member(name=OWNER, email="omega@example.com")
    for name, email in ((NEWCOMER, "zeta@example.com"), (NEWCOMER, owner.email)):
        data = {"name": name, "email": email, "password": NEW_PASSWORD}
        signed_up = submit(
            browser(app), "/auth/register", {**data, "confirm": data["password"]}
        )
        assert signed_up.status_code == 302, "sign-up refused"
    # a new link asked for an address that has no sign-up waiting
    asked = submit(
        browser(app),
        "/auth/verify/not-a-token",
        {"email": "nobody@example.com"},
        action="/auth/verify/resend",
    )
    assert asked.status_code == 302, "a new link refused"


def forgetting(app: Flask, member: Callable[..., User], found: Any, clock: Any) -> None:
    owner = member(name=OWNER)
    for email in (owner.email, "nobody@example.com"):
        asked = submit(browser(app), "/auth/forgot", {"email": email})
        assert asked.status_code == 302, "forgot password refused"


def signing_in_elsewhere(
    app: Flask, member: Callable[..., User], found: Any, clock: Any
) -> None:
    owner = member(name=OWNER)
    assert sign_in(browser(app), owner.email).status_code == 302  # the first: no alert
    thief = english_browser(app, REMOTE_ADDR="203.0.113.66", HTTP_USER_AGENT=FIREFOX)
    assert sign_in(thief, owner.email).status_code == 302
    alert = mail_to(found(), owner.email, "sign_in_alert")
    # "this wasn't me": every session ends, a reset link is mailed
    assert submit(browser(app), link_in(alert.body), {}).status_code == 302


def guessing_passwords(
    app: Flask, member: Callable[..., User], found: Any, clock: Any
) -> None:
    owner = member(name=OWNER)
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        assert sign_in(english_browser(app), owner.email, WRONG).status_code == 401


def guessing_codes(
    app: Flask, member: Callable[..., User], found: Any, clock: Any
) -> None:
    # Wrong second-step codes: the password is known, the mail says so.
    owner = member(name=OWNER, totp_secret=SECRET)
    thief = english_browser(app)
    assert sign_in(thief, owner.email).status_code == 302
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        assert two_factor.second_step(thief, "000000").status_code == 401


def changing_the_password(
    app: Flask, member: Callable[..., User], found: Any, clock: Any
) -> None:
    owner = member(name=OWNER)
    laptop = browser(app)
    assert sign_in(laptop, owner.email).status_code == 302
    # one other browser signed out, then two: both sentences of the mail
    password = PASSWORD
    for others, new in ((1, NEW_PASSWORD), (2, "violet compass orchard seven")):
        for _ in range(others):
            assert sign_in(browser(app), owner.email, password).status_code == 302
        data = {"current": password, "password": new, "confirm": new}
        assert submit(laptop, "/account/password", data).status_code == 302
        password = new


def moving_the_account(
    app: Flask, member: Callable[..., User], found: Any, clock: Any
) -> None:
    owner = member(name=OWNER, email="omega@example.com")
    holder = member(name=HOLDER, email="psili@example.com")
    laptop = browser(app)
    assert sign_in(laptop, owner.email).status_code == 302
    for email in (holder.email, NEW_ADDRESS):  # taken, then free
        data = {"email": email, "password": PASSWORD}
        assert submit(laptop, "/account/email", data).status_code == 302
    change = mail_to(found(), NEW_ADDRESS, "email_change")
    assert submit(browser(app), link_in(change.body), {}).status_code == 302
    moved = mail_to(found(), owner.email, "email_changed")
    assert submit(browser(app), link_in(moved.body), {}).status_code == 302  # undo


def securing_with_two_factor(
    app: Flask, member: Callable[..., User], found: Any, clock: Any
) -> None:
    owner = member(name=OWNER)
    laptop = browser(app)
    assert sign_in(laptop, owner.email).status_code == 302
    secret, _ = two_factor.turn_on(laptop)
    clock(timedelta(minutes=1))
    renewed = submit(
        laptop,
        "/account/two-factor",
        {"password": PASSWORD, "code": two_factor.code_for(secret)},
        action="/account/two-factor/recovery-codes",
    )
    assert renewed.status_code == 200, "new recovery codes refused"
    codes = two_factor.recovery_codes_on(renewed)
    # all codes but one used: "8 codes are left" ... "1 code is left"
    for code in codes[:-1]:
        phone = english_browser(app)
        assert sign_in(phone, owner.email).status_code == 302
        assert two_factor.second_step(phone, code).status_code == 302
    clock(timedelta(minutes=1))
    turned_off = submit(
        laptop,
        "/account/two-factor",
        {"password": PASSWORD, "code": two_factor.code_for(secret)},
        action="/account/two-factor/disable",
    )
    assert turned_off.status_code == 302, "turning two-factor off refused"


def operator_turning_two_factor_off(
    app: Flask, member: Callable[..., User], found: Any, clock: Any
) -> None:
    owner = member(name=OWNER, totp_secret=SECRET)
    # the operator reads English, the member their own language
    admin = member(name=ADMIN, email="lambda@example.com", is_admin=True, language="en")
    desk = english_browser(app)
    assert sign_in(desk, admin.email).status_code == 302
    turned_off = ask_once(desk, f"/admin/users/{owner.id}/disable-two-factor")
    assert turned_off.status_code == 302, "the operator's turning off refused"


def using_passkeys(
    app: Flask, member: Callable[..., User], found: Any, clock: Any
) -> None:
    owner = member(name=OWNER)
    laptop = browser(app)
    assert sign_in(laptop, owner.email).status_code == 302
    for name in PASSKEY_NAMES:
        assert add_passkey(laptop, Authenticator(), name=name).status_code == 302
    page = laptop.get("/account/passkeys").get_data(as_text=True)
    first = re.search(r"/account/passkeys/(\d+)/remove", page)
    assert first is not None
    removed = submit(laptop, f"/account/passkeys/{first[1]}/remove", {})
    assert removed.status_code == 302, "removing a passkey refused"
    # a reset from a mailed link keeps the two left, and its notice lists them
    asked = submit(browser(app), "/auth/forgot", {"email": owner.email})
    assert asked.status_code == 302, "forgot password refused"
    reset = mail_to(found(), owner.email, "reset")
    new = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert submit(browser(app), link_in(reset.body), new).status_code == 302
    # the operator removes the two left: the mail names both
    admin = member(name=ADMIN, email="lambda@example.com", is_admin=True, language="en")
    desk = english_browser(app)
    assert sign_in(desk, admin.email).status_code == 302
    removed = ask_once(desk, f"/admin/users/{owner.id}/remove-passkeys")
    assert removed.status_code == 302, "the operator's removal refused"


def deleting_the_account(
    app: Flask, member: Callable[..., User], found: Any, clock: Any
) -> None:
    owner = member(name=OWNER)
    laptop = browser(app)
    assert sign_in(laptop, owner.email).status_code == 302
    deleted = submit(laptop, "/account/delete", {"password": PASSWORD})
    assert deleted.status_code == 302, "deleting refused"


# Each flow, and the templates of the mails it sends.
FLOWS: dict[str, tuple[Flow, set[str]]] = {
    "sign-up": (signing_up, {"verify", "already_registered", "no_sign_up"}),
    "forgot password": (forgetting, {"reset", "no_account"}),
    "sign-in alert": (signing_in_elsewhere, {"sign_in_alert", "reset"}),
    "lockout, wrong passwords": (guessing_passwords, {"lockout"}),
    "lockout, wrong codes": (guessing_codes, {"lockout"}),
    "password change": (changing_the_password, {"password_changed"}),
    "address change": (
        moving_the_account,
        {
            "email_taken",
            "email_change",
            "email_changed",
            "email_change_undone",
            "reset",
        },
    ),
    "two-factor": (
        securing_with_two_factor,
        {"two_factor_changed", "recovery_codes_renewed", "recovery_code_used"},
    ),
    "two-factor off by the operator": (
        operator_turning_two_factor_off,
        {"two_factor_changed", "reset"},
    ),
    "passkeys": (using_passkeys, {"passkey_changed", "reset", "password_changed"}),
    "account deletion": (deleting_the_account, {"account_deleted"}),
}


def test_the_flows_send_every_mail_template() -> None:
    covered = set().union(*(templates for _, templates in FLOWS.values()))
    on_disk = {path.stem for path in MAIL_TEMPLATES.glob("*.txt")}
    assert covered == on_disk, "a mail template no flow here sends, or one gone"


@pytest.mark.parametrize("flow", list(FLOWS))
def test_every_word_of_every_mail_and_page_is_translated(
    app: Flask,
    member: Callable[..., User],
    outbox: Callable[[], list[OutboxMail]],
    sent: Sent,
    held_clock: Callable[[timedelta], None],
    flow: str,
) -> None:
    walk, expected = FLOWS[flow]

    def found() -> list[Mail]:
        return mails(outbox, sent)

    walk(app, member, found, held_clock)

    every = found()
    assert {mail.template for mail in every} == expected, "not the mails expected"
    problems = words_not_marked(app, every)
    assert not problems, f"{flow}: words no catalog said:\n" + "\n".join(problems)
    on_pages = words_not_marked_on_pages(app)
    assert not on_pages, f"{flow}: pages with words no catalog said:\n" + "\n".join(
        on_pages
    )
