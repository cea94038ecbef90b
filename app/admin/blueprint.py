"""The `admin` blueprint, bare: its view modules add its routes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
