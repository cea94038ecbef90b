"""Test data, written straight to the database."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.services.passwords import hash_password

PASSWORD = "correct horse battery staple"


class UserFactory(SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"

    name = factory.Sequence(lambda n: f"Member {n:05d}")
    email = factory.Sequence(lambda n: f"member{n}@example.com")
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    bio = ""
    is_active = True
    is_admin = False
    is_listed = True
    email_verified_at = factory.LazyFunction(utcnow)
