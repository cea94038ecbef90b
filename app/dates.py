"""Dates and times as the site writes them, in the reader's language and time zone.

Written by Babel in the language of the page or mail being written (Flask-Babel's
locale): "5 December 2026" in English, "5. Dezember 2026" in German;
"5 December 2026, 08:24 CET" (the zone always named, by its abbreviation or its
offset); recent times as "2 minutes ago", "vor 2 Minuten" in a `<time>` element
whose title holds the exact time. Every time a member reads goes through here:
pages through the template filters (register_filters: in the signed-in member's
zone, else UTC), mail through the functions themselves, given the zone. So does
every length of time ("48 hours": a link's lifetime, the wait before a retry),
through describe_duration and its filter `duration`. English is written as in
Britain (day before month, a 24-hour clock), as the site always wrote it.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import format_timedelta, get_datetime_format
from babel.units import format_unit
from flask import Flask, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from app.config import SOURCE_LANGUAGE
from app.models.base import utcnow

DEFAULT_ZONE = "UTC"
# The locale whose formats a language's dates are written in, where not its own.
FORMATS_OF = {"en": "en_GB"}
# Not zones a member lives in: the server's own setting, and a placeholder.
NOT_PLACES = {"localtime", "Factory", "posixrules"}


@cache
def time_zones() -> tuple[str, ...]:
    """Return the IANA zone names a member may choose, sorted: "Africa/Abidjan"...

    Read once from the system's time zone database (Python's zoneinfo).
    """
    return tuple(sorted(available_timezones() - NOT_PLACES))


def is_time_zone(name: str | None) -> bool:
    """Tell whether `name` is an IANA zone a member may choose ("Europe/Berlin")."""
    return name is not None and name in _zone_set()


@cache
def _zone_set() -> frozenset[str]:
    return frozenset(time_zones())


def known_time_zone(name: object) -> str:
    """Return `name` when it is a zone a member may choose, else "".

    For a hidden field filled by the browser: a value it sends that is not a
    zone is dropped, not refused.
    """
    return name if isinstance(name, str) and is_time_zone(name) else ""


def zone_info(name: str | None) -> tzinfo:
    """Return the zone of that IANA name; UTC for None or a name not known."""
    if name is None or not is_time_zone(name):
        return UTC
    return ZoneInfo(name)


def zone_label(moment: datetime) -> str:
    """Name the zone of an aware datetime as its readers know it: "CET", "UTC+03".

    Where the zone has no abbreviation of letters, the offset from UTC names it.
    """
    abbreviation = moment.strftime("%Z")
    if abbreviation.isalpha():
        return abbreviation
    offset = moment.utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


def writing_locale() -> Locale:
    """Return the locale dates are written in now: the page's or the mail's language.

    English is written in en_GB's formats; outside any app, English too.
    """
    locale = get_locale()
    code = str(locale) if locale is not None else SOURCE_LANGUAGE
    return _formats_of(code)


@cache
def _formats_of(code: str) -> Locale:
    return Locale.parse(FORMATS_OF.get(code, code))


def format_date(moment: date, zone: tzinfo = UTC) -> str:
    """The day, the month's name and the year: "5 December 2026", "5. Dezember 2026".

    An aware datetime is first moved to `zone`, so the day is the reader's.
    """
    if isinstance(moment, datetime):
        moment = moment.astimezone(zone)
    return babel_format_date(moment, "long", locale=writing_locale())


def format_time(moment: datetime, zone: tzinfo = UTC) -> str:
    """The time of day as the language writes it, and the zone: "08:24 CET".

    `moment` is aware (the database gives UTC); it is written in `zone`.
    """
    local = moment.astimezone(zone)
    time = babel_format_time(local, "short", locale=writing_locale())
    return f"{time} {zone_label(local)}"


def format_date_time(moment: datetime, zone: tzinfo = UTC) -> str:
    """The date, the time of day and the zone: "5 December 2026, 08:24 CET".

    `moment` is aware (the database gives UTC); it is written in `zone`; the two
    are joined as the language joins them.
    """
    joined = get_datetime_format("medium", locale=writing_locale())
    return str(joined).format(format_time(moment, zone), format_date(moment, zone))


def describe_age(moment: datetime, now: datetime) -> str | None:
    """Say how long ago `moment` was: "just now", "3 minutes ago", "vor 1 Stunde".

    Whole minutes below an hour, whole hours below a day. None once it is a day
    old or more (or in the future by more than a minute): then the date and time
    say it better.
    """
    seconds = (now - moment).total_seconds()
    if -60 < seconds < 60:
        return str(_("just now"))
    if seconds < 0 or seconds >= 24 * 3600:
        return None
    whole = timedelta(minutes=seconds // 60)
    if seconds >= 3600:
        whole = timedelta(hours=seconds // 3600)
    # A threshold of 1 says the largest unit of which it holds one or more.
    return format_timedelta(
        -whole, threshold=1, add_direction=True, locale=writing_locale()
    )


def _amount(number: int, unit: str) -> str:
    """Say a number of units in the language being written: "48 hours", "2 Tage".

    Where Babel's data has no long form of the unit (Arabic's days: it writes
    "7 duration-day"), its short form, which is the same words there ("7 أيام").
    """
    unit_id, locale = f"duration-{unit}", writing_locale()
    said = format_unit(number, unit_id, length="long", locale=locale)
    if unit_id in said:
        said = format_unit(number, unit_id, length="short", locale=locale)
    return said


DAY, HOUR, MINUTE = 24 * 3600, 3600, 60


def describe_duration(length: float | timedelta) -> str:
    """Say a length of time in words: "48 hours", "7 days", "1 hour", "40 seconds".

    `length` is in seconds, or a timedelta. A whole number of days from 3 days
    up is said in days, else a whole number of hours in hours, of minutes in
    minutes (so 24 and 48 hours stay hours, 90 minutes stays minutes). Any
    other length is rounded up, never down (a wait said too short would be a
    promise broken): in hours above 90 minutes, in minutes from one minute
    (60 of them said as "1 hour"), else in seconds; at least "1 second".
    """
    if isinstance(length, timedelta):
        length = length.total_seconds()
    seconds = max(1, math.ceil(length))
    if seconds % DAY == 0 and seconds >= 3 * DAY:
        return _amount(seconds // DAY, "day")
    if seconds % HOUR == 0 or seconds > 90 * MINUTE:
        return _amount(math.ceil(seconds / HOUR), "hour")
    if seconds >= MINUTE:
        minutes = math.ceil(seconds / MINUTE)
        if minutes % 60 == 0:  # 3,599 seconds are "1 hour", not "60 minutes"
            return _amount(minutes // 60, "hour")
        return _amount(minutes, "minute")
    return _amount(seconds, "second")


def time_element(moment: datetime, zone: tzinfo, now: datetime) -> Markup:
    """Return `moment` as a `<time>` element: recent as "2 minutes ago", else dated.

    Its `datetime` attribute is the moment in ISO 8601, UTC; its title the exact
    time in `zone`, zone named.
    """
    exact = format_date_time(moment, zone)
    iso = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        iso, exact, describe_age(moment, now) or exact
    )


def reader_zone() -> tzinfo:
    """Return the signed-in member's zone; UTC for a visitor or a member with none.

    Outside a request (a mail rendered by the worker) there is no reader: UTC.
    """
    if has_request_context() and current_user.is_authenticated:
        return zone_info(current_user.time_zone)
    return UTC


def _date_filter(moment: date) -> str:
    return format_date(moment, reader_zone())


def _date_time_filter(moment: datetime) -> str:
    return format_date_time(moment, reader_zone())


def _time_filter(moment: datetime) -> str:
    return format_time(moment, reader_zone())


def _when_filter(moment: datetime) -> Markup:
    return time_element(moment, reader_zone(), utcnow())


def _local_filter(moment: datetime) -> datetime:
    return moment.astimezone(reader_zone())


def register_filters(app: Flask) -> None:
    """Offer the templates `date`, `time`, `date_time`, `when`, `local`, `duration`.

    All in the reader's zone; `local` gives the datetime itself in that zone
    (for the `datetime` attribute of a date's `<time>`). `duration` says a
    setting's length of time in words: `config.RESET_TOKEN_MAX_AGE|duration`.
    """
    app.add_template_filter(_date_filter, "date")
    app.add_template_filter(_date_time_filter, "date_time")
    app.add_template_filter(_time_filter, "time")
    app.add_template_filter(_when_filter, "when")
    app.add_template_filter(_local_filter, "local")
    app.add_template_filter(describe_duration, "duration")
