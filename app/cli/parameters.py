"""What the commands take: text that is UTF-8, a password line, a duration.

Bytes that are not UTF-8 are refused in one line (exit 1) like any other mistake:
every text a command takes, argument, option or standard input, goes through
`checked_text` (the TEXT parameter type).
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from typing import Any

import click

DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
LONGEST_DURATION = timedelta(days=36_525)  # reaching back past year 1 breaks dates


def checked_text(value: str, what: str) -> str:
    """Return `value`, or raise a one-line ClickException if it is not UTF-8 text.

    Click and Python hand on bytes they cannot decode as lone surrogates
    (U+DC80-U+DCFF); printed, stored or looked up they end in a UnicodeEncodeError
    traceback. The message names `what` and never repeats the value.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _not_utf8(what) from None
    return value


def _not_utf8(what: str) -> click.ClickException:
    return click.ClickException(
        f"{what} holds bytes that are not UTF-8 text; nothing changed."
    )


class Text(click.ParamType[str, str]):
    """Any text, refused in one line (exit 1) when it carries undecodable bytes."""

    name = "text"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> str:
        if isinstance(param, click.Option):
            what = param.opts[0]  # "--name"
        else:
            what = param.human_readable_name if param is not None else "The value"
        return checked_text(str(value), what)


TEXT = Text()


def read_password_line() -> str:
    """Read one password line from standard input, refusing bytes that are not UTF-8.

    A strict stdin (a UTF-8 locale) raises UnicodeDecodeError on them; an escaping
    one (the C locale) hands on lone surrogates: both are refused in one line.
    """
    what = "The password on standard input"
    try:
        line = sys.stdin.readline()
    except UnicodeDecodeError:
        raise _not_utf8(what) from None
    return checked_text(line.rstrip("\n"), what)


class Duration(click.ParamType[timedelta, str]):
    """A length of time written as a whole number and a unit: 30m, 12h, 7d, 2w."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = re.fullmatch(r"\s*(\d{1,6})\s*([mhdw])\s*", str(value))
        if match is None:
            self.fail(
                f"{value!r} is not a duration; write a number and m, h, d or w "
                "(for example 7d).",
                param,
                ctx,
            )
        number, unit = match.groups()
        duration = timedelta(**{DURATION_UNITS[unit]: int(number)})
        if duration > LONGEST_DURATION:
            self.fail(f"{value!r} is too long; give at most 100 years.", param, ctx)
        return duration
