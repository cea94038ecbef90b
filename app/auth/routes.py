"""Sign-up, e-mail verification, sign-in, sign-out and password recovery."""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import RateLimitExceeded
from flask_login import current_user
from werkzeug import Response

from app.auth.blueprint import bp
from app.auth.forms import (
    ConfirmSignUpForm,
    EmailForm,
    LoginForm,
    RegisterForm,
    ResetForm,
    TwoFactorForm,
)
from app.dates import describe_duration
from app.extensions import limiter
from app.models import User
from app.services import (
    accounts,
    email_change,
    lockouts,
    recovery,
    sessions,
    sign_in_alerts,
    sign_up,
    signin,
    two_factor,
)
from app.services.passwords import WeakPassword
from app.services.tokens import ExpiredLink, InvalidLink
from app.web.errors import FormPage, refuse_form, refused_form_page, too_many
from app.web.forms import ConfirmForm, add_error, form_status
from app.web.pending_sign_in import (
    PENDING_KEY,
    begin_second_step,
    end_second_step,
    is_trusted_browser,
    pending_key,
    pending_sign_in,
    trust_this_browser,
)
from app.web.ratelimits import (
    count_wrong_answer,
    describe_wait,
    failed_sign_in,
    ip_email_key,
    ip_key,
    led_to_check_inbox,
    refused_form,
    seconds_until_reset,
    setting,
    wrong_answer,
)
from app.web.security import client_info, safe_next, stale_token
from app.web.sign_in_cookie import current_session, forget_sign_in, sign_in, sign_out

Page = str | Response | tuple[str, int]

# Reset and verify links asked for by one client, counted together whatever the
# addresses: MAIL_LINK_LIMIT counts per address, which +tags and other people's
# addresses would otherwise multiply into a flood of mail. Only requests that
# queued a mail count: junk posts (422, no mail) must not lock out everyone
# behind the client's address.
MAIL_LINKS_PER_IP = limiter.shared_limit(
    setting("MAIL_LINK_LIMIT_PER_IP"),
    scope="mail-links",
    key_func=ip_key,
    methods=["POST"],
    deduct_when=led_to_check_inbox,
)

# The state-cookie key of the random key a signing-up browser keeps.
SIGN_UP_KEY = "sign_up_key"


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(setting("REGISTER_ATTEMPT_LIMIT"), key_func=ip_key, methods=["POST"])
@limiter.limit(
    setting("REGISTER_LIMIT"),
    key_func=ip_key,
    methods=["POST"],
    deduct_when=led_to_check_inbox,
)
def register() -> Page:
    if current_user.is_authenticated:  # as the sign-in page does
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            sign_up.register_user(
                form.name.data or "",
                form.email.data or "",
                form.password.data or "",
                browser_key=_sign_up_browser_key(),
            )
        except WeakPassword as error:
            add_error(form.password, error.reason)
        except accounts.InvalidProfile as error:
            add_error(form[error.field], str(error))
        else:
            return _check_inbox(form.email.data or "", after=SIGN_UP)
    return render_template("auth/register.html", form=form), form_status(form)


def _sign_up_browser_key() -> str:
    # One random key per browser, in its signed state cookie, kept whether or not
    # the address was free, so the cookie tells nobody which addresses exist.
    key: str = session.setdefault(SIGN_UP_KEY, secrets.token_urlsafe(16))
    return key


# The state-cookie key of what "check your inbox" says: the address typed, what the
# visitor asked for (SIGN_UP, VERIFY_LINK, RESET_LINK, or ADDRESS_BACK: the reset link
# of an e-mail change undone or a sign-in reported) and when it was sent (Unix time).
INBOX_KEY = "inbox"
SIGN_UP, VERIFY_LINK, RESET_LINK = "sign_up", "verify_link", "reset_link"
ADDRESS_BACK = "address_back"


def _check_inbox(email: str, *, after: str) -> Response:
    # The same answer whether or not the address has an account: every address
    # typed gets a mail (a link, or a note that there is nothing to link to).
    # As typed, in small letters: "bücher.de", not the stored "xn--bcher-kva.de".
    session[INBOX_KEY] = {
        "to": email.strip().lower(),
        "after": after,
        "at": int(time.time()),
    }
    return redirect(url_for("auth.check_inbox"))


def _inbox() -> dict[str, Any]:
    inbox = session.get(INBOX_KEY)
    return inbox if isinstance(inbox, dict) else {}


def _inbox_page(form: EmailForm | None = None, refusal: str | None = None) -> str:
    inbox = _inbox()
    to, sent_at = inbox.get("to"), inbox.get("at")
    wait = 0
    if isinstance(sent_at, int):
        wait = max(0, _send_again_after() - (int(time.time()) - sent_at))
    if form is None and isinstance(to, str):
        form = EmailForm(email=to)
    return render_template(
        "auth/check_inbox.html",
        to=to,
        after=inbox.get("after"),
        form=form,
        wait=describe_wait(wait) if wait else None,
        refusal=refusal,
    )


def _send_again_after() -> int:
    seconds: int = current_app.config["SEND_AGAIN_AFTER"]
    return seconds


@bp.get("/check-inbox")
def check_inbox() -> str:
    return _inbox_page()


@bp.post("/check-inbox")
@MAIL_LINKS_PER_IP
@limiter.limit(setting("MAIL_LINK_LIMIT"), key_func=ip_email_key)
def send_again() -> Page:
    """Send the link of "check your inbox" again, after a short wait."""
    form = EmailForm()
    after = _inbox().get("after")
    if not form.validate_on_submit() or not isinstance(after, str):
        return _inbox_page(form), 422
    sent_at = _inbox().get("at")
    if isinstance(sent_at, int) and time.time() - sent_at < _send_again_after():
        # The page says how long is left: the wait in words.
        refusal = "The link was sent a moment ago."
        seconds = _send_again_after() - (time.time() - sent_at)
        return too_many(_inbox_page(form, refusal), seconds)
    if after in (SIGN_UP, VERIFY_LINK):
        sign_up.resend_link(form.email.data or "")
    else:
        recovery.request_password_reset(form.email.data or "")
    return _check_inbox(form.email.data or "", after=after)


@bp.route("/verify/<token>", methods=["GET", "POST"])
@limiter.limit(
    setting("LOGIN_LIMIT_PER_IP"),
    key_func=ip_key,
    methods=["POST"],
    deduct_when=wrong_answer,
)
def verify(token: str) -> Page:
    try:
        claim = sign_up.read_claim(token)
    except sign_up.AlreadyVerified as error:
        return _already_verified(error)
    except InvalidLink as error:
        return _verify_failed(error)
    browser_key: str | None = session.get(SIGN_UP_KEY)
    form = ConfirmSignUpForm()
    if form.validate_on_submit():
        try:
            user = sign_up.confirm_sign_up(
                token,
                browser_key=browser_key,
                password=form.password.data or "",
                client=client_info(),
            )
        except sign_up.NotYourSignUp:
            if form.password.data:
                count_wrong_answer()
            add_error(
                form.password,
                "That is not the password chosen for this sign-up."
                if form.password.data
                else "Type the password you chose when you signed up.",
            )
        except sign_up.AlreadyVerified as error:
            return _already_verified(error)
        except InvalidLink as error:
            return _verify_failed(error)
        else:
            return _signed_up(user)
    return render_template(
        "auth/verify.html",
        form=form,
        email=claim.email,
        from_signing_up_browser=sign_up.signed_up_in(claim, browser_key),
    ), form_status(form)


def _signed_up(user: User) -> Response:
    # A member confirming someone else's link stays who they are.
    if current_user.is_authenticated:
        flash(
            f"{user.email} is confirmed. You are still signed in as "
            f"{current_user.name}; sign out to use the new account.",
            "success",
        )
    else:
        sign_in(user, remember=False, client=client_info())
        flash("Your e-mail address is verified. Welcome to Vestibule!", "success")
    return redirect(url_for("main.index"))


def _already_verified(error: sign_up.AlreadyVerified) -> Response:
    if current_user.is_authenticated and current_user.id == error.user_id:
        flash("Your e-mail address is already verified.", "info")
        return redirect(url_for("main.index"))
    flash("This address is already verified. Please sign in.", "info")
    return redirect(url_for("auth.login"))


def _link_failed(error: InvalidLink) -> tuple[str, int]:
    """The page of a mailed link that is too old, tampered with or used."""
    expired = isinstance(error, ExpiredLink)
    return render_template("auth/link_failed.html", expired=expired), 400


def _forget_sign_in_of(user: User) -> None:
    # After every session of `user` ended: this browser's cookie goes too if it was
    # one of them.
    if current_user.is_authenticated and current_user.id == user.id:
        forget_sign_in()


def _verify_failed(error: InvalidLink) -> tuple[str, int]:
    expired = isinstance(error, ExpiredLink)
    return render_template(
        "auth/verify_failed.html", form=EmailForm(), expired=expired
    ), 400


@bp.route("/verify/resend", methods=["POST"])
@MAIL_LINKS_PER_IP
@limiter.limit(setting("MAIL_LINK_LIMIT"), key_func=ip_email_key)
def verify_resend() -> Page:
    form = EmailForm()
    if form.validate_on_submit():
        sign_up.resend_link(form.email.data or "")
        return _check_inbox(form.email.data or "", after=VERIFY_LINK)
    return render_template("auth/verify_failed.html", form=form, expired=False), 422


# The state-cookie key of the address the sign-in form is filled in with once, after
# a link of that address set its password or unlocked its sign-in.
SIGN_IN_AS = "sign_in_as"


def _sign_in_as(email: str) -> Response:
    session[SIGN_IN_AS] = email
    return redirect(url_for("auth.login"))


# The sign-in page is the most viewed page: GET and POST are two views so that
# showing it skips the rate limiter, which cost it 7 %; only posting is limited.
@bp.get("/login")
def login() -> Page:
    form = LoginForm(next=request.args.get("next", ""))
    if SIGN_IN_AS in session:
        form.email.data = str(session.pop(SIGN_IN_AS))
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data, url_for("main.index")))
    return render_template("auth/login.html", form=form, problem=None)


@bp.post("/login")
@limiter.limit(setting("LOGIN_LIMIT_PER_IP"), key_func=ip_key)
@limiter.limit(
    setting("LOGIN_LIMIT_PER_EMAIL"), key_func=ip_email_key, deduct_when=failed_sign_in
)
def login_submit() -> Page:
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data, url_for("main.index")))
    problem = None
    if form.validate_on_submit():
        try:
            user = signin.authenticate(
                form.email.data or "", form.password.data or "", client_info()
            )
        except lockouts.LockedOut as error:
            seconds = error.wait.total_seconds()
            return refuse_form(
                LOGIN_PAGE,
                "Too many failed sign-ins for this address. Please try again "
                f"{describe_wait(seconds)}, or reset your password.",
                seconds,
                form=form,
            )
        except signin.BadCredentials:
            problem = "bad_credentials"
        except signin.Unverified:
            problem = "unverified"
        except signin.Inactive:
            problem = "inactive"
        else:
            next_url = safe_next(form.next.data, url_for("main.index"))
            if user.totp_secret is not None:
                if not is_trusted_browser(user):
                    begin_second_step(
                        user,
                        remember=form.remember.data,
                        next_url=next_url,
                        time_zone=form.time_zone.data or "",
                    )
                    return redirect(url_for("auth.two_factor"))
                two_factor.trusted_browser_signed_in(user)
            sign_in(
                user,
                remember=form.remember.data,
                client=client_info(),
                time_zone=form.time_zone.data or "",
            )
            return redirect(next_url)
    status = {"bad_credentials": 401, "unverified": 403, "inactive": 403}.get(
        problem or "", form_status(form)
    )
    resend_form = EmailForm(email=form.email.data) if problem == "unverified" else None
    return render_template(
        "auth/login.html", form=form, problem=problem, resend_form=resend_form
    ), status


@bp.route("/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@limiter.limit(
    setting("TWO_FACTOR_LIMIT"),
    key_func=pending_key,
    methods=["POST"],
    deduct_when=failed_sign_in,
)
def second_step() -> Page:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    pending = pending_sign_in()
    if pending is None:
        step = describe_duration(current_app.config["TWO_FACTOR_STEP_MAX_AGE"])
        flash(
            f"This sign-in no longer waits for a code: it took longer than {step}, "
            "or the account signed in elsewhere meanwhile. Please sign in again."
            if PENDING_KEY in session
            else "Sign in with your e-mail address and password first.",
            "info",
        )
        end_second_step()
        return redirect(url_for("auth.login"))
    form = TwoFactorForm()
    status = None
    if form.validate_on_submit():
        try:
            used_recovery_code = two_factor.finish_sign_in(
                pending.user, form.code.data or "", client_info()
            )
        except lockouts.LockedOut as error:
            seconds = error.wait.total_seconds()
            return refuse_form(
                TWO_FACTOR_PAGE,
                "Too many failed sign-ins for this account. Please try again "
                f"{describe_wait(seconds)}.",
                seconds,
                form=form,
            )
        except two_factor.ReusedCode:
            status = 401  # a failed sign-in, as a wrong password is
            add_error(
                form.code,
                "That code was used already. Wait for your app to show the next one.",
            )
        except two_factor.WrongCode:
            status = 401
            add_error(
                form.code,
                "That is not the code. Check that your app shows the code for "
                "Vestibule and your phone's clock is right, or use a recovery code.",
            )
        else:
            sign_in(
                pending.user,
                remember=pending.remember,
                client=client_info(),
                time_zone=pending.time_zone,
            )
            if used_recovery_code:
                left = two_factor.recovery_codes_left(pending.user.id)
                flash(
                    f"You signed in with a recovery code; {left} left. If you lost "
                    "your app, set two-factor up again on your new phone.",
                    "info",
                )
            response = redirect(safe_next(pending.next_url, url_for("main.index")))
            if form.trust.data:
                trust_this_browser(response, pending.user)
            return response
    return render_template("auth/two_factor.html", form=form), (
        status or form_status(form)
    )


@bp.get("/logout")
def logout_page() -> Page:
    # The address typed or bookmarked: a page with the button, never a sign-out,
    # which only its POST does (a link or a prefetch must not sign anyone out).
    if not current_user.is_authenticated:
        return redirect(url_for("main.index"))
    return render_template("auth/logout_confirm.html", form=ConfirmForm())


@bp.post("/logout")
def logout() -> Page:
    # check_csrf already refused forged posts; an expired but genuine token may sign out
    if stale_token():  # from a page shown before a sign-in or sign-out
        if current_user.is_authenticated:
            # Signed in again since that page was shown: an old button proves less
            # than a fresh one, so a fresh one is asked for rather than obeyed.
            return render_template(
                "auth/logout_confirm.html", form=ConfirmForm(), signed_in_again=True
            )
        flash("You are signed out.", "info")  # as they asked, already
        return redirect(url_for("main.index"))
    sign_out(client_info())
    flash("You are signed out.", "info")
    return redirect(url_for("main.index"))


@bp.route("/forgot", methods=["GET", "POST"])
@MAIL_LINKS_PER_IP
@limiter.limit(setting("MAIL_LINK_LIMIT"), key_func=ip_email_key, methods=["POST"])
def forgot() -> Page:
    form = EmailForm()
    if form.validate_on_submit():
        recovery.request_password_reset(form.email.data or "")
        return _check_inbox(form.email.data or "", after=RESET_LINK)
    return render_template("auth/forgot.html", form=form), form_status(form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(
    setting("RESET_LIMIT"), key_func=ip_key, methods=["POST"], deduct_when=refused_form
)
def reset(token: str) -> Page:
    try:
        user = recovery.user_for_reset(token)
    except InvalidLink as error:
        expired = isinstance(error, ExpiredLink)
        return render_template(
            "auth/reset_failed.html", form=EmailForm(), expired=expired
        ), 400
    form = ResetForm()
    if form.validate_on_submit():
        try:
            ended = recovery.reset_password(
                token,
                form.password.data or "",
                keep=current_session(),
                client=client_info(),
            )
        except WeakPassword as error:
            add_error(form.password, error.reason)
        else:
            return _password_reset(user, ended)
    return render_template(
        "auth/reset.html",
        form=form,
        email=user.email,
    ), form_status(form)


def _password_reset(user: User, ended: int) -> Response:
    # Said from where this browser stands: signed out, signed in to the account (it
    # stays signed in), or signed in to another account.
    if not current_user.is_authenticated:
        signed_out = sessions.signed_out_note(ended, other=False)
        flash(
            f"Your new password is set.{signed_out} You can sign in with it now.",
            "success",
        )
        return _sign_in_as(user.email)
    if current_user.id == user.id:
        flash(f"Your new password is set.{sessions.signed_out_note(ended)}", "success")
    else:
        signed_out = sessions.signed_out_note(ended, other=False)
        flash(
            f"The new password of {user.email} is set.{signed_out} "
            f"You are still signed in as {current_user.name}.",
            "success",
        )
    return redirect(url_for("main.index"))


@bp.route("/unlock/<token>", methods=["GET", "POST"])
def unlock(token: str) -> Page:
    try:
        lockout = lockouts.read_unlock_link(token)
    except InvalidLink as error:
        return _link_failed(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            lockouts.unlock(token, client_info())
        except InvalidLink as error:  # used in another tab meanwhile
            return _link_failed(error)
        flash("Sign-in is unlocked. You can sign in now.", "success")
        return _sign_in_as(lockout.email)
    return render_template(
        "auth/unlock.html", form=form, email=lockout.email
    ), form_status(form)


@bp.route("/not-me/<token>", methods=["GET", "POST"])
@limiter.limit(setting("LOGIN_LIMIT_PER_IP"), key_func=ip_key, methods=["POST"])
def not_me(token: str) -> Page:
    try:
        user = sign_in_alerts.read_not_me_link(token)
    except InvalidLink as error:
        return _link_failed(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            sign_in_alerts.report_sign_in(token, client_info())
        except InvalidLink as error:  # used in another tab meanwhile
            return _link_failed(error)
        _forget_sign_in_of(user)
        flash(
            "Every browser signed in to your account is signed out and its password "
            "no longer works.",
            "success",
        )
        return _check_inbox(user.email, after=ADDRESS_BACK)
    return render_template(
        "auth/not_me.html", form=form, email=user.email
    ), form_status(form)


TAKEN_MEANWHILE = "Another account took that address meanwhile; nothing changed."


@bp.route("/email-change/<token>", methods=["GET", "POST"])
@limiter.limit(setting("LOGIN_LIMIT_PER_IP"), key_func=ip_key, methods=["POST"])
def confirm_email_change(token: str) -> Page:
    try:
        _, new_email = email_change.read_change_link(token)
    except InvalidLink as error:
        return _link_failed(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            email_change.confirm_email_change(token, client_info())
        except email_change.AddressTaken:
            flash(TAKEN_MEANWHILE, "error")
            return redirect(url_for("main.index"))
        except InvalidLink as error:  # used in another tab meanwhile
            return _link_failed(error)
        flash(f"Your account now signs in with {new_email}.", "success")
        return redirect(url_for("main.index"))
    return render_template(
        "auth/email_change.html", form=form, email=new_email
    ), form_status(form)


@bp.route("/email-undo/<token>", methods=["GET", "POST"])
@limiter.limit(setting("LOGIN_LIMIT_PER_IP"), key_func=ip_key, methods=["POST"])
def undo_email_change(token: str) -> Page:
    try:
        user, old_email, _ = email_change.read_undo_link(token)
    except InvalidLink as error:
        return _link_failed(error)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            email_change.undo_email_change(token, client_info())
        except email_change.AddressTaken:
            flash(TAKEN_MEANWHILE, "error")
            return redirect(url_for("main.index"))
        except InvalidLink as error:
            return _link_failed(error)
        _forget_sign_in_of(user)
        flash(
            "Your account is back at its old address, and every browser is signed "
            "out. Its password no longer works.",
            "success",
        )
        return _check_inbox(old_email, after=ADDRESS_BACK)
    return render_template(
        "auth/email_undo.html", form=form, email=old_email
    ), form_status(form)


# A form refused by a rate limit comes back with what was typed (never passwords),
# why, when to try again and the page's own ways out.
LOGIN_PAGE = FormPage(
    lambda: LoginForm(next=request.args.get("next", "")),
    "auth/login.html",
    {"problem": None},
)
TWO_FACTOR_PAGE = FormPage(TwoFactorForm, "auth/two_factor.html")
_CHECK_INBOX = "Many links were asked for from here: check your inbox for those sent."
_REFUSED_FORMS = {
    "auth.register": (
        "Too many sign-ups from your network.",
        FormPage(RegisterForm, "auth/register.html"),
    ),
    "auth.login_submit": ("Too many sign-in attempts.", LOGIN_PAGE),
    "auth.two_factor": ("Too many codes tried.", TWO_FACTOR_PAGE),
    "auth.forgot": (_CHECK_INBOX, FormPage(EmailForm, "auth/forgot.html")),
    "auth.verify_resend": (
        _CHECK_INBOX,
        FormPage(EmailForm, "auth/verify_failed.html", {"expired": False}),
    ),
    "auth.reset": (
        "Too many attempts to set a password.",
        FormPage(ResetForm, "auth/reset.html", {"email": None}),
    ),
}


@bp.errorhandler(RateLimitExceeded)
def rate_limited(error: RateLimitExceeded) -> Response:
    seconds = seconds_until_reset()
    if request.endpoint == "auth.send_again" and seconds is not None:
        refusal = f"{_CHECK_INBOX} You can send it again {describe_wait(seconds)}."
        return too_many(_inbox_page(EmailForm(), refusal), seconds)
    return refused_form_page(error, _REFUSED_FORMS)
