"""Fuzzing: hostile values in every form and query string never crash the app.

Every POST route of the app is listed in FUZZED_FORMS with its fields, and a test
holds that list equal to the app's own POST routes, so a new form cannot be left
out. Hypothesis posts unicode, NUL, very long strings, SQL, HTML and format-string
fragments, uploads in place of text, missing, repeated and unknown fields, always
with the browser's own CSRF token so that the values reach the views.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from io import BytesIO
from typing import Any
from urllib.parse import quote, quote_from_bytes, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from app.extensions import db
from app.models import (
    OutboxMail,
    Passkey,
    SignInLockout,
    ThrottledClient,
    User,
    UserSession,
)
from app.models.base import utcnow
from app.services.accounts import BIO_MAX, NAME_MAX
from tests import two_factor
from tests.conftest import (
    csrf_from,
    link_in,
    sent_body,
    sign_in,
    snapshot,
    submit,
)
from tests.factories import PASSWORD, UserFactory

ADA = "ada@example.com"  # verified and active: the one whose password can be reset
UNA = "una@example.com"  # not verified yet
INA = "ina@example.com"  # deactivated
STRONG = "lantern orchard quietly sixteen"
RESET = "/auth/reset/<token>"
VERIFY = "/auth/verify/<token>"
UNLOCK = "/auth/unlock/<token>"
NOT_ME = "/auth/not-me/<token>"
EMAIL_CHANGE = "/auth/email-change/<token>"
EMAIL_UNDO = "/auth/email-undo/<token>"
REVOKE = "/account/sessions/<int:session_id>/revoke"
REVOKE_OTHERS = "/account/sessions/revoke-others"
SECOND_STEP = "/auth/two-factor"
CHECK_INBOX = "/auth/check-inbox"
ENABLE_TWO_FACTOR = "/account/two-factor"
RENAME_PASSKEY = "/account/passkeys/<int:passkey_id>/rename"
REMOVE_PASSKEY = "/account/passkeys/<int:passkey_id>/remove"
# Routes whose member has a passkey (open_form adds one): the second step shows its
# passkey form then, and the rename and remove forms act on it.
WITH_A_PASSKEY = {
    "/auth/two-factor/passkey",
    "/auth/two-factor/passkey/options",
    RENAME_PASSKEY,
    REMOVE_PASSKEY,
}
# Stand-ins among the plausible values, replaced when posted: the value the page
# itself holds in that field, and the code the member's app shows now.
PAGE_VALUE = "<the page's own value>"
APP_CODE = "<the app's code>"
SITE = "http://localhost"
FUZZ_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@dataclass(frozen=True)
class FormSpec:
    """A form as a browser finds it: its fields, the page it is on, who sees it."""

    fields: tuple[str, ...]
    page: str
    signed_in: bool = False
    # the member has two-factor sign-in on (and passed it when signed in)
    two_factor: bool = False
    # an admin is signed in (open_form makes what the form acts on)
    admin: bool = False


# Every POST route of the app (a test below keeps this equal to app.url_map).
FUZZED_FORMS: dict[str, FormSpec] = {
    "/auth/register": FormSpec(
        ("name", "email", "password", "confirm"), page="/auth/register"
    ),
    "/auth/login": FormSpec(
        ("email", "password", "remember", "next", "time_zone"), page="/auth/login"
    ),
    "/auth/verify/resend": FormSpec(("email",), page="/auth/verify/not-a-token"),
    "/auth/forgot": FormSpec(("email",), page="/auth/forgot"),
    # "send the link again": the page has its form once a link was asked for
    CHECK_INBOX: FormSpec(("email",), page=CHECK_INBOX),
    # the page is the reset link itself, fetched from the mail for each example
    RESET: FormSpec(("username", "password", "confirm"), page=RESET),
    VERIFY: FormSpec(("username", "password"), page=VERIFY),
    UNLOCK: FormSpec((), page=UNLOCK),
    NOT_ME: FormSpec((), page=NOT_ME),
    EMAIL_CHANGE: FormSpec((), page=EMAIL_CHANGE),
    EMAIL_UNDO: FormSpec((), page=EMAIL_UNDO),
    "/account/email": FormSpec(
        ("username", "email", "password"), page="/account/email", signed_in=True
    ),
    "/auth/logout": FormSpec((), page="/account/profile", signed_in=True),
    "/account/profile": FormSpec(
        ("name", "bio", "listed", "time_zone", "language"),
        page="/account/profile",
        signed_in=True,
    ),
    "/account/password": FormSpec(
        ("username", "current", "password", "confirm"),
        page="/account/password",
        signed_in=True,
    ),
    "/account/delete": FormSpec(
        ("username", "password"), page="/account/delete", signed_in=True
    ),
    # both need a second session of the member (open_form signs in again)
    REVOKE: FormSpec((), page="/account/sessions", signed_in=True),
    REVOKE_OTHERS: FormSpec((), page="/account/sessions", signed_in=True),
    # the second step opens after the password step (open_form takes it)
    SECOND_STEP: FormSpec(
        ("code", "recovery_code", "trust"), page=SECOND_STEP, two_factor=True
    ),
    ENABLE_TWO_FACTOR: FormSpec(
        ("username", "enrolment", "code", "password"),
        page="/account/two-factor",
        signed_in=True,
    ),
    "/account/two-factor/disable": FormSpec(
        ("username", "password", "code", "recovery_code"),
        page="/account/two-factor",
        signed_in=True,
        two_factor=True,
    ),
    "/account/two-factor/recovery-codes": FormSpec(
        ("username", "password", "code", "recovery_code"),
        page="/account/two-factor",
        signed_in=True,
        two_factor=True,
    ),
    **{
        f"/admin/users/<int:user_id>/{action}": FormSpec(
            (), page="/admin/users", admin=True
        )
        for action in (
            "deactivate",
            "activate",
            "make-admin",
            "revoke-admin",
            "disable-two-factor",
            "remove-passkeys",
        )
    },
    "/admin/abuse/clear-lockout": FormSpec(("email",), page="/admin/abuse", admin=True),
    "/admin/abuse/clear-limit": FormSpec(("key",), page="/admin/abuse", admin=True),
    "/admin/mail/<int:mail_id>/requeue": FormSpec((), page="/admin/mail", admin=True),
    # passkeys: passkeys.js posts a form's fields to its data-options address, then
    # the answer (credential) to its action
    "/auth/passkey/options": FormSpec(
        ("credential", "remember", "next", "time_zone"), page="/auth/login"
    ),
    "/auth/passkey": FormSpec(
        ("credential", "remember", "next", "time_zone"), page="/auth/login"
    ),
    "/auth/two-factor/passkey/options": FormSpec(
        ("credential", "trust"), page=SECOND_STEP, two_factor=True
    ),
    "/auth/two-factor/passkey": FormSpec(
        ("credential", "trust"), page=SECOND_STEP, two_factor=True
    ),
    "/account/passkeys/options": FormSpec(
        ("credential", "name", "username", "password"),
        page="/account/passkeys",
        signed_in=True,
    ),
    "/account/passkeys": FormSpec(
        ("credential", "name", "username", "password"),
        page="/account/passkeys",
        signed_in=True,
    ),
    RENAME_PASSKEY: FormSpec(("name",), page="/account/passkeys", signed_in=True),
    REMOVE_PASSKEY: FormSpec((), page=REMOVE_PASSKEY, signed_in=True),
    # the footer's menu; signed in, so that a choice is stored too
    "/language": FormSpec(("language", "next"), page="/", signed_in=True),
}

# Admin actions whose form is on a page of their own, which asks once.
ASKED_ONCE = {
    f"/admin/users/<int:user_id>/{action}"
    for action in (
        "deactivate",
        "revoke-admin",
        "disable-two-factor",
        "remove-passkeys",
    )
}

# Values a real user would type, so that part of the cases pass the form and reach
# the services. The order puts "password" before "confirm" (confirm may copy it).
PLAUSIBLE: dict[str, list[str]] = {
    "name": ["Ada Lovelace", "  Grace   Hopper ", "Ωmega Ünïcode"],
    "email": [ADA, " UNA@Example.COM ", INA, "newcomer@example.com"],
    "password": [PASSWORD, STRONG],
    "confirm": [PASSWORD, STRONG],
    "current": [PASSWORD],
    "username": [ADA],
    "bio": ["Wrote the first program.", "line one\r\nline two"],
    "listed": ["y", ""],
    "remember": ["y", ""],
    "next": ["/users/", "//evil.example/", "https://evil.example/"],
    "time_zone": [
        "Europe/Berlin",
        "UTC",
        "America/Argentina/Buenos_Aires",
        "Mars/Olympus",
    ],
    "language": ["fr", "en", "ar", "xx", "FR"],
    "code": [APP_CODE, "123456", " 12 34 56 ", "abcde-fghjk"],
    "recovery_code": ["", "abcde-fghjk", " ABCDE FGHJK "],
    "trust": ["y", ""],
    "enrolment": [PAGE_VALUE],
    "key": [PAGE_VALUE, "LIMITER/unknown"],
    "credential": [
        "",
        "{}",
        "not json",
        '{"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}',
    ],
}

SQL = [
    "' OR 1=1 --",
    "'; DROP TABLE users; --",
    '" OR ""="',
    "admin'--",
    "%' AND 1=1 AND '%'='",
    "1; SELECT pg_sleep(5)",
    "\\'; --",
    "_%_%",
]
HTML = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</textarea><script>alert(1)</script>",
    "{{ 7*7 }}",
    "{% print(1) %}",
    "javascript:alert(1)",
    "<!--",
    "]]>",
]
FORMAT = ["%s%n{0}", "%(password)s", "{0.__class__}", "%x%x%x%x", "${jndi:ldap://x/a}"]
TRAVERSAL = [
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "%2e%2e%2f%2e%2e%2f",
    "/%00/",
    "....//....//",
    "file:///etc/passwd",
]
TRICKY_UNICODE = [
    "\u202eevil\u202c",  # right-to-left override
    "\u200b\u200c\u200d\ufeff",  # zero-width characters
    "👩\u200d👩\u200d👧\u200d👦",
    "\U0001f4a9" * 50,
    "ﷺ",
    "İstanbul ß ﬃ",
    "a\u0301\u0301\u0301",
    "\u0085\u2028\u2029",
    "\x00",
    "\x1b[31m",
]
WHITESPACE = [" ", "   ", "\t\n", "\r\n\r\n", "\u00a0", "\u3000", "\u2003 \u2003"]
NUMBERS = [
    "0",
    "-1",
    "1e309",
    "NaN",
    "-Infinity",
    "0x10",
    "9" * 40,
    "9223372036854775808",
    "2147483648",
    "1.5",
]
NASTY = SQL + HTML + FORMAT + TRAVERSAL + TRICKY_UNICODE + WHITESPACE + NUMBERS

# Names that would be harmful if a form copied request data onto the model.
MASS_ASSIGNMENT = [
    "is_admin",
    "is_active",
    "email_verified_at",
    "id",
    "password_hash",
    "totp_secret",
    "csrf_token",
    "submit",
]

# Exception classes and frames that must never reach a page.
LEAKS = (
    "Traceback",
    'File "/',
    "IntegrityError",
    "OperationalError",
    "ProgrammingError",
    "DataError",
    "StatementError",
    "ValueError",
    "TypeError",
    "KeyError",
    "AttributeError",
    "OverflowError",
    "UnicodeEncodeError",
    "UnicodeDecodeError",
    "sqlalchemy.",
    "psycopg",
    "sqlite3.",
)
# A refusal; whatever the values, such an answer must not have written anything.
REFUSED = frozenset({400, 413, 422})
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,  # no example database: a failure prints the example to replay
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- strategies ---------------------------------------------------------------

# any unicode that UTF-8 can carry (all but lone surrogates): NUL and controls too
any_char = st.characters(codec="utf-8")
any_text = st.text(any_char, max_size=60)
with_nul = st.builds(lambda a, b: f"{a}\x00{b}", any_text, any_text)
long_text = st.builds(
    lambda unit, size: (unit * size)[:size],
    st.text(any_char, min_size=1, max_size=4),
    # under the 256 KiB body limit even when every character is percent-encoded
    st.integers(10_000, 12_000),
)
numbers = st.one_of(
    st.integers().map(str),
    st.integers(2**63 - 2, 10**30).map(str),
    st.floats().map(str),
)
hostile_text = st.one_of(any_text, with_nul, long_text, st.sampled_from(NASTY), numbers)


@dataclass(frozen=True)
class Upload:
    """A file sent where the form expects text."""

    content: bytes
    filename: str


Value = str | Upload

uploads = st.builds(Upload, st.binary(max_size=64), st.sampled_from(["a.txt", ""]))


def field_values(name: str) -> st.SearchStrategy[Value]:
    """Plausible, plausible with a hostile tail, hostile, or a file instead of text.

    Plausible values come often enough that every field of a form is fine in
    part of the cases, so the fuzzing gets past the form into the services.
    """
    plausible = st.sampled_from(PLAUSIBLE[name])
    with_tail = st.builds(lambda good, bad: good + bad, plausible, hostile_text)
    kinds: list[st.SearchStrategy[Value]] = [
        plausible,
        plausible,
        with_tail,
        hostile_text,
        hostile_text,
        uploads,
    ]
    return st.sampled_from(kinds).flatmap(lambda kind: kind)


# How often a field is sent: mostly once, sometimes left out or repeated.
SEND_COUNTS = [1, 1, 1, 0, 2, 3]


@dataclass(frozen=True)
class Submission:
    """What one hostile browser posts: values per field, extra fields, a path token.

    An empty list leaves the field out, two or more values repeat it. The path
    token of a reset link is None for the genuine one, else (keep_genuine, text):
    the text alone, or the text appended to the genuine token.
    """

    fields: dict[str, list[Value]] = field(default_factory=dict)
    extras: list[tuple[str, Value]] = field(default_factory=list)
    path_token: tuple[bool, str] | None = None


@st.composite
def submissions(draw: st.DrawFn) -> Submission:
    fields: dict[str, list[Value]] = {}
    for name in PLAUSIBLE:
        if name == "confirm" and fields["password"] and draw(st.booleans()):
            fields[name] = list(fields["password"])  # a confirmation that matches
        else:
            count = draw(st.sampled_from(SEND_COUNTS))
            fields[name] = [draw(field_values(name)) for _ in range(count)]
    extra_names = st.one_of(st.sampled_from(MASS_ASSIGNMENT), any_text)
    extras = draw(
        st.lists(st.tuples(extra_names, st.one_of(hostile_text, uploads)), max_size=3)
    )
    path_token = draw(st.one_of(st.none(), st.tuples(st.booleans(), hostile_text)))
    return Submission(fields, extras, path_token)


def queries(*names: str) -> st.SearchStrategy[MultiDict[str, str]]:
    """Query strings with hostile, missing and repeated values for `names`."""
    pairs = st.lists(
        st.tuples(st.sampled_from(names), hostile_text)
        | st.tuples(st.sampled_from(MASS_ASSIGNMENT) | any_text, hostile_text),
        max_size=6,
    )
    return pairs.map(MultiDict)


# -- helpers ------------------------------------------------------------------


def post_rules(app: Flask) -> set[str]:
    """The rule of every POST route, except the testing blueprint and static."""
    return {
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ())
        and not rule.endpoint.startswith("testing.")
        and rule.endpoint != "static"
    }


def form_data(fields: Iterable[str], submission: Submission) -> MultiDict[str, Any]:
    """The request body for a form of these fields."""
    data: MultiDict[str, Any] = MultiDict()
    for name in fields:
        for value in submission.fields.get(name, []):
            data.add(name, as_sent(value))
    for name, value in submission.extras:
        data.add(name, as_sent(value))
    return data


def as_sent(value: Value) -> Any:
    """Return the value as the test client sends it (a file as a stream)."""
    if isinstance(value, Upload):  # a fresh stream: an example may be replayed
        return (BytesIO(value.content), value.filename)
    return value


def newest_mail_link(app: Flask, recipient: str, subject: str) -> str:
    """Return the path of the link in the newest mail of this subject to recipient."""
    with app.app_context():
        mail = db.session.scalars(
            select(OutboxMail)
            .where(OutboxMail.recipient == recipient, OutboxMail.subject == subject)
            .order_by(OutboxMail.id.desc())
        ).first()
        db.session.remove()
    assert mail is not None
    return link_in(sent_body(app, mail))


def reset_link(browser: FlaskClient, app: Flask) -> str:
    """Ask for a reset link for Ada, as she would, and return its path."""
    assert submit(browser, "/auth/forgot", {"email": ADA}).status_code == 302
    return newest_mail_link(app, ADA, "Reset your password")


_SIGN_UPS = itertools.count()


def verify_link(browser: FlaskClient, app: Flask) -> str:
    """Sign up a newcomer in another browser; return the path of the mailed link.

    Opened in `browser`, the confirm page asks for the sign-up's password.
    """
    email = f"signup{next(_SIGN_UPS)}@example.com"
    data = {"name": "New Comer", "email": email, "password": STRONG, "confirm": STRONG}
    assert submit(app.test_client(), "/auth/register", data).status_code == 302
    return newest_mail_link(app, email, "Confirm your e-mail address")


def unlock_link(browser: FlaskClient, app: Flask) -> str:
    """Lock Ada out with wrong passwords from many addresses; return her unlock link."""
    for n in range(10):
        page = browser.get("/auth/login")
        browser.post(
            "/auth/login",
            data={"email": ADA, "password": "wrong", "csrf_token": csrf_from(page)},
            environ_base={"REMOTE_ADDR": f"127.0.1.{n + 1}"},
        )
    return newest_mail_link(app, ADA, "Sign-in to your account is paused")


def not_me_link(browser: FlaskClient, app: Flask) -> str:
    """Sign a member in from two browsers; return the second's "not me" link."""
    with app.app_context():
        email = UserFactory().email
        db.session.remove()
    for agent in ("Laptop/1.0", "Phone/2.0"):
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = agent
        assert sign_in(client, email).status_code == 302
    return newest_mail_link(app, email, "A new sign-in to your Vestibule account")


_MOVES = itertools.count()


def email_change_link(browser: FlaskClient, app: Flask) -> str:
    """Have a member ask to move to a new address; return the link mailed there."""
    with app.app_context():
        email = UserFactory().email
        db.session.remove()
    member = app.test_client()
    assert sign_in(member, email).status_code == 302
    new = f"moved{next(_MOVES)}@example.com"
    data = {"email": new, "password": PASSWORD}
    assert submit(member, "/account/email", data).status_code == 302
    return newest_mail_link(app, new, "Confirm your new e-mail address")


def email_undo_link(browser: FlaskClient, app: Flask) -> str:
    """Move a member to a new address; return the undo link mailed to the old one."""
    link = email_change_link(browser, app)
    assert submit(app.test_client(), link, {}).status_code == 302
    with app.app_context():
        mail = db.session.scalars(
            select(OutboxMail)
            .where(
                OutboxMail.subject == "Your Vestibule account moved to another address"
            )
            .order_by(OutboxMail.id.desc())
        ).first()
        db.session.remove()
    assert mail is not None
    return link_in(sent_body(app, mail))


LINK_PAGES: dict[str, Callable[[FlaskClient, Flask], str]] = {
    RESET: reset_link,
    VERIFY: verify_link,
    UNLOCK: unlock_link,
    NOT_ME: not_me_link,
    EMAIL_CHANGE: email_change_link,
    EMAIL_UNDO: email_undo_link,
}


@dataclass
class Visit:
    """A browser that has the form's page open: where it posts, and its token.

    `secret` is the two-factor secret whose codes the member's app shows, if any.
    """

    browser: FlaskClient
    path: str
    page: TestResponse
    csrf_token: str
    secret: str | None = None


def open_form(
    app: Flask,
    make_user: Callable[..., User],
    route: str,
    path_token: tuple[bool, str] | None = None,
) -> Visit:
    """Open the page of a route's form in a fresh browser (signed in if needed)."""
    spec = FUZZED_FORMS[route]
    browser = app.test_client()
    page, path = spec.page, route
    secret = FUZZ_SECRET if spec.two_factor else None
    if spec.signed_in or spec.two_factor:
        # a new member each time: a fuzzed password change must not lock out the next
        member = make_user(totp_secret=secret)
        if route in WITH_A_PASSKEY:
            passkey_id = add_passkey_row(app, member.id)
            page = page.replace("<int:passkey_id>", str(passkey_id))
            path = path.replace("<int:passkey_id>", str(passkey_id))
        assert sign_in(browser, member.email).status_code == 302
        if spec.two_factor and spec.signed_in:
            # The code of now: APP_CODE posts the next one (one step early is
            # accepted), which stays unused, whatever the clock does meanwhile.
            code = two_factor.code_for(FUZZ_SECRET)
            assert two_factor.second_step(browser, code).status_code == 302
        if route in (REVOKE, REVOKE_OTHERS):
            other = app.test_client()
            assert sign_in(other, member.email).status_code == 302
            path = f"/account/sessions/{newest_session_id(app, member.id)}/revoke"
            path = path if route == REVOKE else route
    if spec.admin:
        boss = make_user(is_admin=True)
        assert sign_in(browser, boss.email).status_code == 302
        path = admin_form_path(app, make_user, route)
        if route in ASKED_ONCE:  # the list's button opens the page that asks once
            page = path
    if route == CHECK_INBOX:
        assert submit(browser, "/auth/forgot", {"email": ADA}).status_code == 302
    if route in LINK_PAGES:
        page = path = LINK_PAGES[route](browser, app)
        if path_token is not None:
            keep_genuine, text = path_token
            prefix, genuine = path.rsplit("/", 1)
            token = genuine + text if keep_genuine else text
            path = f"{prefix}/{quote(token, safe='')}"
    response = browser.get(page)
    assert response.status_code in {200, 400}, page  # a broken verify link is 400
    if route == ENABLE_TWO_FACTOR:
        secret = two_factor.secret_on(response)
    return Visit(browser, path, response, csrf_from(response), secret)


_LOCKED = itertools.count()


def admin_form_path(app: Flask, make_user: Callable[..., User], route: str) -> str:
    """Make what an admin form acts on; return the path its form posts to.

    An account whose row shows the action's button, one locked address, or one
    undelivered mail: each page then has exactly one form posting to the path.
    """
    if route.startswith("/admin/users/"):
        action = route.rsplit("/", 1)[1]
        member = make_user(
            is_active=action != "activate",
            is_admin=action == "revoke-admin",
            totp_secret=FUZZ_SECRET if action == "disable-two-factor" else None,
        )
        if action == "remove-passkeys":
            add_passkey_row(app, member.id)
        return route.replace("<int:user_id>", str(member.id))
    with app.app_context():
        if route == "/admin/abuse/clear-limit":
            db.session.add(
                ThrottledClient(
                    key=f"LIMITER/fuzz/{next(_LOCKED)}",
                    endpoint="auth.login_submit",
                    rate_limit="5 per 1 minute",
                    refusals=1,
                    last_refused_at=utcnow(),
                )
            )
        elif route == "/admin/abuse/clear-lockout":
            db.session.add(
                SignInLockout(
                    email=f"locked{next(_LOCKED)}@example.com",
                    failures=10,
                    locked_until=utcnow() + timedelta(hours=1),
                )
            )
        else:
            mail = OutboxMail(
                recipient=ADA,
                subject="Undelivered",
                body="It failed every attempt.",
                attempts=app.config["MAIL_MAX_ATTEMPTS"],
            )
            db.session.add(mail)
            db.session.flush()
            route = route.replace("<int:mail_id>", str(mail.id))
        db.session.commit()
        db.session.remove()
    return route


def add_passkey_row(app: Flask, user_id: int) -> int:
    """Give the member a passkey (its key is not one: nothing here signs with it)."""
    with app.app_context():
        passkey = Passkey(
            user_id=user_id,
            credential_id=f"fuzz-{next(_LOCKED)}".encode(),
            public_key=b"not a key",
            name="Fuzzed laptop",
        )
        db.session.add(passkey)
        db.session.commit()
        passkey_id = passkey.id
        db.session.remove()
    return passkey_id


def newest_session_id(app: Flask, user_id: int) -> int:
    """The id of the member's newest session."""
    with app.app_context():
        found = db.session.scalars(
            select(UserSession.id)
            .where(UserSession.user_id == user_id)
            .order_by(UserSession.id.desc())
        ).first()
    assert found is not None
    return found


def post(visit: Visit, route: str, submission: Submission) -> TestResponse:
    """Post the submission with the page's CSRF token, as the browser would."""
    data = form_data(FUZZED_FORMS[route].fields, submission)
    data.setlist("csrf_token", [visit.csrf_token, *data.getlist("csrf_token")])
    page = visit.page.get_data(as_text=True)
    for name, values in data.lists():
        if PAGE_VALUE in values:
            found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
            genuine = html.unescape(found[1]) if found else ""
            data.setlist(name, [genuine if v == PAGE_VALUE else v for v in values])
        if APP_CODE in values:
            code = two_factor.code_for(visit.secret, 1) if visit.secret else "000000"
            data.setlist(name, [code if v == APP_CODE else v for v in values])
    return visit.browser.post(visit.path, data=data)


def server_errors(response: TestResponse) -> list[str]:
    """What is wrong with the response as an answer to hostile input."""
    problems = []
    if response.status_code >= 500:
        problems.append(f"status {response.status_code}")
    body = response.get_data(as_text=True)
    problems += [f"{leak!r} in the body" for leak in LEAKS if leak in body]
    return problems


def _controls(text: str, allowed: str = "") -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in allowed]


def _format_characters(text: str) -> list[str]:
    # Bidirectional controls, zero-width space ...; the joiners a name may need pass.
    joiners = "\u200c\u200d"
    return [ch for ch in text if unicodedata.category(ch) == "Cf" and ch not in joiners]


def malformed_accounts(app: Flask, admin_forms: bool = False) -> list[str]:
    """Every stored account that breaks the data rules, with what is wrong.

    An admin is wrong unless the forms fuzzed are the admin area's, whose admins
    are the test's own and may make others.
    """
    problems = []
    with app.app_context():
        for user in db.session.scalars(select(User)):
            name, email, bio = user.name, user.email, user.bio
            if not 1 <= len(name) <= NAME_MAX or name != " ".join(name.split()):
                problems.append(f"name {name!r}")
            if _controls(name):
                problems.append(f"control characters in name {name!r}")
            if _format_characters(name):
                problems.append(f"format characters in name {name!r}")
            if email != email.strip().lower() or len(email) > 254 or _controls(email):
                problems.append(f"e-mail {email!r}")
            if len(bio) > BIO_MAX or _controls(bio, allowed="\t\r\n"):
                problems.append(f"bio {bio[:100]!r}")
            if user.is_admin and not admin_forms:
                problems.append(f"{email} became an admin")
        db.session.remove()
    return problems


def fields_posted_to(path: str, page: str) -> list[set[str]]:
    """The field names of each POST form on the page that submits to `path`."""
    found = []
    for attributes, inner in re.findall(r"<form\b([^>]*)>(.*?)</form>", page, re.S):
        action = re.search(r'action="([^"]*)"', attributes)
        # passkeys.js posts the form's fields to its data-options address too
        options = re.search(r'data-options="([^"]*)"', attributes)
        # a form without an action posts to the page itself, the reset link
        if 'method="post"' in attributes and (
            (action[1] if action else path) == path or (options and options[1] == path)
        ):
            names = set(re.findall(r'\bname="([^"]+)"', inner))
            found.append(names - {"csrf_token"})
    return found


def on_this_site(location: str) -> bool:
    """Tell whether a browser following this Location stays on the site."""
    # Browsers drop tabs and newlines, trim controls and read "\" as "/".
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(33))))
    target = urlsplit(urljoin(f"{SITE}/auth/login", cleaned.replace("\\", "/")))
    return target.scheme == "http" and target.netloc == "localhost"


# -- fixtures -------------------------------------------------------------------


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Rate limits off, so that a 429 cannot hide what the fuzzing finds."""
    return {"RATELIMIT_ENABLED": False}


@pytest.fixture
def accounts(make_user: Callable[..., User]) -> None:
    """Accounts the plausible e-mail addresses belong to."""
    make_user(name="Ada Lovelace", email=ADA)
    make_user(name="Una Verified", email=UNA, email_verified_at=None)
    make_user(name="Ina Active", email=INA, is_active=False)


ROUTES = sorted(FUZZED_FORMS)
NUL_EVERYWHERE = Submission(
    fields={name: ["\x00"] for name in PLAUSIBLE}, extras=[("\x00", "\x00")]
)
TOO_LARGE = Submission(fields={name: ["x" * 300_000] for name in PLAUSIBLE})

# -- the route table ------------------------------------------------------------


def test_every_post_route_of_the_app_is_fuzzed(app: Flask) -> None:
    assert set(FUZZED_FORMS) == post_rules(app)


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize("route", ROUTES)
def test_fuzzed_fields_are_the_fields_the_form_shows(
    app: Flask, make_user: Callable[..., User], route: str
) -> None:
    visit = open_form(app, make_user, route)

    shown = fields_posted_to(visit.path, visit.page.get_data(as_text=True))

    assert shown == [set(FUZZED_FORMS[route].fields)]


def test_every_fuzzed_field_has_plausible_values() -> None:
    fuzzed = {name for spec in FUZZED_FORMS.values() for name in spec.fields}

    assert fuzzed <= set(PLAUSIBLE)


# -- forms ----------------------------------------------------------------------


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize("route", ROUTES)
@FUZZ
@given(submission=submissions())
@example(submission=NUL_EVERYWHERE)
@example(submission=TOO_LARGE)
def test_hostile_post_gets_a_page_never_a_server_error(
    app: Flask, make_user: Callable[..., User], route: str, submission: Submission
) -> None:
    visit = open_form(app, make_user, route, submission.path_token)

    response = post(visit, route, submission)

    event(f"status {response.status_code}")  # shown by --hypothesis-show-statistics
    assert server_errors(response) == []


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize("route", ROUTES)
@FUZZ
@given(submission=submissions())
@example(submission=NUL_EVERYWHERE)
@example(submission=Submission(fields={"name": ["Ada\x9bLovelace"]}))
def test_hostile_post_never_stores_bad_data(
    app: Flask, make_user: Callable[..., User], route: str, submission: Submission
) -> None:
    visit = open_form(app, make_user, route, submission.path_token)
    before = snapshot(app)

    response = post(visit, route, submission)

    event(f"status {response.status_code}")
    if response.status_code in REFUSED:
        after = snapshot(app)
        assert [name for name in after if after[name] != before[name]] == []
    assert malformed_accounts(app, FUZZED_FORMS[route].admin) == []


# -- query strings and paths ------------------------------------------------------


@settings(FUZZ, max_examples=40)
@given(query=queries("q", "page"))
@example(query=MultiDict([("page", "9" * 30), ("q", "%_\\\x00")]))
def test_directory_answers_any_query_string(
    client: FlaskClient, signed_in: User, query: MultiDict[str, str]
) -> None:
    response = client.get("/users/", query_string=query)

    assert server_errors(response) == []
    assert response.status_code == 200


@settings(FUZZ, max_examples=40)
@given(query=queries("next"))
def test_login_page_answers_any_next(
    client: FlaskClient, query: MultiDict[str, str]
) -> None:
    response = client.get("/auth/login", query_string=query)

    assert server_errors(response) == []
    assert response.status_code == 200


redirect_targets = st.one_of(
    hostile_text,
    st.sampled_from(
        [
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "https://evil.example/",
            "https:evil.example",
            "http://localhost@evil.example/",
            " //evil.example",
            "\x00//evil.example",
            "/%2F%2Fevil.example",
            "javascript:alert(1)",
        ]
    ),
    st.builds(lambda tail: "/" + tail, hostile_text),
)


@settings(FUZZ, max_examples=40)
@given(target=redirect_targets)
def test_signed_in_visit_to_login_redirects_only_within_the_site(
    client: FlaskClient, signed_in: User, target: str
) -> None:
    response = client.get("/auth/login", query_string={"next": target})

    assert server_errors(response) == []
    assert response.status_code == 302
    assert on_this_site(response.headers["Location"])


@pytest.mark.usefixtures("accounts")
@settings(FUZZ, max_examples=30)
@given(target=redirect_targets)
def test_sign_in_redirects_only_within_the_site(app: Flask, target: str) -> None:
    browser = app.test_client()

    response = submit(
        browser, "/auth/login", {"email": ADA, "password": PASSWORD, "next": target}
    )

    assert server_errors(response) == []
    # a target with control characters is refused by the form (422)
    assert response.status_code in {302, 422}
    assert on_this_site(response.headers.get("Location", "/"))


@pytest.mark.parametrize("prefix", ["/users/", "/auth/verify/", "/auth/reset/"])
@settings(FUZZ, max_examples=30)
@given(segment=st.one_of(hostile_text, numbers))
@example(segment="99999999999999999999")
@example(segment="9223372036854775808")
@example(segment="2147483648")
def test_any_path_segment_is_answered_without_a_server_error(
    client: FlaskClient, signed_in: User, prefix: str, segment: str
) -> None:
    response = client.get(prefix + quote(segment, safe=""))

    assert server_errors(response) == []


# -- bodies that are not forms ----------------------------------------------------

CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "application/json",
    "text/plain",
    "application/octet-stream",
    "",
]


# Percent-encoded bytes of any kind: they decode to text that is not UTF-8.
encoded_pairs = st.lists(
    st.tuples(st.sampled_from(list(PLAUSIBLE)) | st.binary(max_size=8), st.binary()),
    max_size=5,
).map(
    lambda pairs: "&".join(
        f"{quote(k) if isinstance(k, str) else quote_from_bytes(k)}"
        f"={quote_from_bytes(v)}"
        for k, v in pairs
    ).encode()
)
bodies = st.one_of(
    st.binary(max_size=300),
    st.text(any_char, max_size=200).map(str.encode),  # stray "&", "=" and "%"
    encoded_pairs,
    st.sampled_from([b"%ZZ=%FF&email=%C0%AE", b"\xff\xfe\x00", b"{", b"--xyz\r\n"]),
)


@pytest.mark.usefixtures("accounts")
@settings(FUZZ, max_examples=40)
@given(
    route=st.sampled_from(ROUTES),
    # a form's own type half of the time, so that part of the bodies reach the view
    content_type=st.just(CONTENT_TYPES[0]) | st.sampled_from(CONTENT_TYPES),
    body=bodies,
)
@example(route="/auth/register", content_type=CONTENT_TYPES[0], body=b"name=%FF%00")
def test_malformed_body_gets_a_page_never_a_server_error(
    app: Flask,
    make_user: Callable[..., User],
    route: str,
    content_type: str,
    body: bytes,
) -> None:
    visit = open_form(app, make_user, route)
    # the genuine token first, so that what follows reaches the view
    data = b"csrf_token=" + quote(visit.csrf_token).encode() + b"&" + body

    response = visit.browser.post(visit.path, data=data, content_type=content_type)

    event(f"status {response.status_code}")
    assert server_errors(response) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=3)
    ),
    max_leaves=8,
)
json_bodies = st.one_of(
    st.dictionaries(st.sampled_from(list(PLAUSIBLE)) | any_text, json_values),
    json_values,
)


@pytest.mark.usefixtures("accounts")
@settings(FUZZ, max_examples=60)
@given(route=st.sampled_from(ROUTES), body=json_bodies)
@example(route="/account/profile", body={"name": [1, 2], "bio": {"a": None}})
def test_json_body_gets_a_page_never_a_server_error(
    app: Flask, make_user: Callable[..., User], route: str, body: Any
) -> None:
    visit = open_form(app, make_user, route)

    # the token in the header, as a script on the site would send it
    response = visit.browser.post(
        visit.path, json=body, headers={"X-CSRFToken": visit.csrf_token}
    )

    assert server_errors(response) == []
