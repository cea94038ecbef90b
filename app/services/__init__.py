"""The rules of the product; routes call these and nothing below them."""

from __future__ import annotations


class ServiceError(Exception):
    """A rule refused the request; nothing was written."""
