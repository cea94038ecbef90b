"""The one stored form of an e-mail address."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

# The longest address the site takes: SMTP's limit, and the `email` columns' length.
EMAIL_MAX = 254


def is_email_address(text: str) -> bool:
    """Tell whether the text is an address the site's forms accept.

    The one rule for every way in (sign-up, sign-in, e-mail change, the CLI): once
    trimmed and NFKC-normalised as the forms tidy what is typed, at most EMAIL_MAX
    characters that email-validator takes for an address (without asking DNS).
    So "root@localhost", "a b@example.com" and "x@@example.com" are refused: an
    account under one could never sign in. Never raises.
    """
    tidy = unicodedata.normalize("NFKC", text).strip()
    if not tidy or len(tidy) > EMAIL_MAX:
        return False
    try:
        validate_email(tidy, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def normalize_email(email: str) -> str:
    """Return the canonical form of an address, the form accounts are stored under.

    Trimmed, NFKC-normalised and lowercased, with the domain in its IDNA (ASCII)
    form as email-validator gives it, so that every spelling of one mailbox
    (`A@Example.COM`, fullwidth letters, a Unicode domain) is one account. Text
    that is not an address is only trimmed, normalised and lowercased: it matches
    no account. Never raises.
    """
    text = unicodedata.normalize("NFKC", email.strip())
    try:
        address = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return text.lower()
    local_part = unicodedata.normalize("NFKC", address.local_part).lower()
    return f"{local_part}@{address.ascii_domain.lower()}"
