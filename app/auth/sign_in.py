"""Signing in (the password, then the second step when one is needed) and out."""

from __future__ import annotations

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.auth.blueprint import Page, bp
from app.auth.forms import (
    EmailForm,
    LoginForm,
    PasskeySecondStepForm,
    TwoFactorForm,
)
from app.auth.link_pages import SIGN_IN_AS
from app.auth.passkeys import passkey_sign_in_form
from app.auth.refusals import LOGIN_PAGE, TWO_FACTOR_PAGE
from app.dates import describe_duration
from app.extensions import limiter
from app.models import User
from app.services import lockouts, passkeys, sign_in, two_factor
from app.web.errors import refuse_form
from app.web.forms import ConfirmForm, add_error, form_status
from app.web.passkeys import unavailable_here
from app.web.pending_sign_in import (
    PENDING_KEY,
    begin_second_step,
    end_second_step,
    pending_key,
    pending_sign_in,
    trust_this_browser,
    trusted_browser,
)
from app.web.ratelimits import (
    failed_sign_in,
    ip_email_key,
    ip_key,
    setting,
)
from app.web.security import client_info, safe_next, stale_token
from app.web.sign_in_cookie import set_sign_in_cookie, sign_out


def passkey_sign_in() -> dict[str, object]:
    """What the sign-in page shows of passkeys: their form, or why they cannot work."""
    return {
        "passkey_form": passkey_sign_in_form(),
        "passkeys_unavailable": unavailable_here(),
    }


def passkey_second_step(user: User) -> dict[str, object]:
    """What the second step shows of passkeys, for an account that has some."""
    if not passkeys.count_passkeys(user.id):
        return {"has_passkeys": False}
    return {
        "has_passkeys": True,
        "passkey_form": PasskeySecondStepForm(formdata=None),
        "passkeys_unavailable": unavailable_here(),
    }


# The sign-in page is the most viewed page: GET and POST are two views so that
# showing it skips the rate limiter, which cost it 7 %; only posting is limited.
@bp.get("/login")
def login() -> Page:
    form = LoginForm(next=request.args.get("next", ""))
    if SIGN_IN_AS in session:
        form.email.data = str(session.pop(SIGN_IN_AS))
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data, url_for("main.index")))
    return render_template(
        "auth/login.html", form=form, problem=None, **passkey_sign_in()
    )


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
            outcome = sign_in.sign_in(
                form.email.data or "",
                form.password.data or "",
                client_info(),
                remember=form.remember.data,
                time_zone=form.time_zone.data or "",
                trusted_browser=trusted_browser(),
            )
        except lockouts.LockedOut as error:
            seconds = error.wait.total_seconds()
            return refuse_form(
                LOGIN_PAGE,
                _(
                    "Too many failed sign-ins for this address. Please try again "
                    "in %(duration)s, or reset your password.",
                    duration=describe_duration(seconds),
                ),
                seconds,
                form=form,
            )
        except sign_in.BadCredentials:
            problem = "bad_credentials"
        except sign_in.Unverified:
            problem = "unverified"
        except sign_in.Inactive:
            problem = "inactive"
        else:
            next_url = safe_next(form.next.data, url_for("main.index"))
            if isinstance(outcome, sign_in.SecondStepNeeded):
                begin_second_step(outcome, next_url=next_url)
                return redirect(url_for("auth.two_factor"))
            set_sign_in_cookie(outcome.token, outcome.remember)
            return redirect(next_url)
    status = {"bad_credentials": 401, "unverified": 403, "inactive": 403}.get(
        problem or "", form_status(form)
    )
    resend_form = EmailForm(email=form.email.data) if problem == "unverified" else None
    return render_template(
        "auth/login.html",
        form=form,
        problem=problem,
        resend_form=resend_form,
        **passkey_sign_in(),
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
            _(
                "This sign-in no longer waits for a code: it took longer than "
                "%(duration)s, or the account signed in elsewhere meanwhile. "
                "Please sign in again.",
                duration=step,
            )
            if PENDING_KEY in session
            else _("Sign in with your e-mail address and password first."),
            "info",
        )
        end_second_step()
        return redirect(url_for("auth.login"))
    form = TwoFactorForm()
    status = None
    if form.validate_on_submit():
        try:
            signed_in = sign_in.finish_second_step(
                pending.user,
                form.code.data or "",
                client_info(),
                remember=pending.remember,
                time_zone=pending.time_zone,
                trust=form.trust.data,
            )
        except lockouts.LockedOut as error:
            seconds = error.wait.total_seconds()
            return refuse_form(
                TWO_FACTOR_PAGE,
                _(
                    "Too many failed sign-ins for this account. Please try again "
                    "in %(duration)s.",
                    duration=describe_duration(seconds),
                ),
                seconds,
                form=form,
            )
        except two_factor.ReusedCode:
            status = 401  # a failed sign-in, as a wrong password is
            add_error(
                form.code,
                _(
                    "That code was used already. Wait for your app to show the next "
                    "one."
                ),
            )
        except two_factor.WrongCode:
            status = 401
            add_error(
                form.code,
                # "Vestibule" as authenticator apps name the site: untranslated
                _(
                    "That is not the code. Check that your app shows the code for "
                    "Vestibule and your phone's clock is right, or use a recovery "
                    "code."
                ),
            )
        else:
            set_sign_in_cookie(signed_in.token, signed_in.remember)
            if signed_in.used_recovery_code:
                flash(
                    ngettext(
                        "You signed in with a recovery code; %(num)d left. If you "
                        "lost your app, set two-factor up again on your new phone.",
                        "You signed in with a recovery code; %(num)d left. If you "
                        "lost your app, set two-factor up again on your new phone.",
                        signed_in.recovery_codes_left,
                    ),
                    "info",
                )
            response = redirect(safe_next(pending.next_url, url_for("main.index")))
            if signed_in.trusted_browser is not None:
                trust_this_browser(response, signed_in.trusted_browser)
            return response
    return render_template(
        "auth/two_factor.html", form=form, **passkey_second_step(pending.user)
    ), (status or form_status(form))


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
        flash(_("You are signed out."), "info")  # as they asked, already
        return redirect(url_for("main.index"))
    sign_out(client_info())
    flash(_("You are signed out."), "info")
    return redirect(url_for("main.index"))
