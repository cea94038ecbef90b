"""Extension objects, created bare and bound to the app in the factory."""

from __future__ import annotations

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.database import RequestSession
from app.models.base import Base

# Objects stay readable after a service commits: no reload query per attribute.
db = SQLAlchemy(
    model_class=Base,
    session_options={"class_": RequestSession, "expire_on_commit": False},
)
login_manager = LoginManager()
# Translations; the language of each page is chosen in app/web/language.py.
babel = Babel()
csrf = CSRFProtect()
# Its refusals are counted and noted by ratelimits.on_refusal (set in init_limiter).
limiter = Limiter(key_func=get_remote_address)
