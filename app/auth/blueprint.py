"""The `auth` blueprint, bare: its view modules add its routes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")
