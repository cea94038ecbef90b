"""The `account` blueprint, bare: its view modules add its routes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")
