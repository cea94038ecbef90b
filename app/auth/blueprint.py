"""The `auth` blueprint, bare: its view modules add its routes."""

from __future__ import annotations

from flask import Blueprint
from werkzeug import Response

bp = Blueprint("auth", __name__, url_prefix="/auth")

# What a view of the blueprint answers: a page, a redirect, or a page and its status.
Page = str | Response | tuple[str, int]
