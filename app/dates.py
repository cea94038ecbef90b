"""Dates as the site writes them: "5 December 2026", the day without a leading zero.

Registered as the templates' `date` and `date_time` filters; the mail written in
Python uses the functions themselves.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask


def format_date(moment: date) -> str:
    """The day, the month's name and the year: "5 December 2026"."""
    return f"{moment.day} {moment:%B %Y}"


def format_date_time(moment: datetime) -> str:
    """The date and the time of day: "5 December 2026, 07:24"."""
    return f"{format_date(moment)}, {moment:%H:%M}"


def register_filters(app: Flask) -> None:
    """Offer both functions to the templates, as `date` and `date_time`."""
    app.add_template_filter(format_date, "date")
    app.add_template_filter(format_date_time, "date_time")
