"""The `main` blueprint, bare: its view modules add its routes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("main", __name__)
