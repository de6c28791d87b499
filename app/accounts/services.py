"""Accounts: sign-up, passwords, API tokens, roles."""
import hashlib
import re
import secrets
import threading
import unicodedata
from dataclasses import dataclass

from cachetools import TTLCache
from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from app.accounts import throttle
from app.accounts.models import ApiToken, User
from app.accounts.schemas import USERNAME_PATTERN
from app.accounts.passwords import password_matches
from app.database import autocommit_connection
from app.errors import Conflict, Forbidden, Unauthorized
from app.extensions import db


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


USERNAME_TAKEN = "이미 사용 중인 아이디입니다."


def username_key(username: str) -> str:
    """What makes two usernames the same: NFC, then case ("Minji" is "minji")."""
    return unicodedata.normalize("NFC", username).strip().lower()


def find_user(username: str) -> User | None:
    key = username_key(username)
    if not re.fullmatch(USERNAME_PATTERN, key) or len(key) > 30:  # no such name can exist (NUL, say)
        return None
    return db.session.scalar(select(User).where(func.lower(User.username) == key))


def sign_up(username: str, password: str, role: str = "participant") -> User:
    if find_user(username) is not None:
        raise Conflict(USERNAME_TAKEN, code="username_taken")
    user = User(username=username, password_hash=generate_password_hash(password), role=role)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # the same name, signed up at the same moment (uq_users_username_lower)
        db.session.rollback()
        raise Conflict(USERNAME_TAKEN, code="username_taken")
    return user


def authenticate(username: str, password: str) -> User:
    account = username_key(username)[:30]  # no longer name exists; keeps throttle keys small
    throttle.check(account)
    user = find_user(username)
    if not password_matches(user.password_hash if user else None, password):
        throttle.failed(account)
        raise Unauthorized("아이디 또는 비밀번호가 올바르지 않습니다.", code="bad_credentials")
    throttle.succeeded(account)
    if user.blocked:
        raise Forbidden("차단된 계정입니다.", code="blocked")
    return user


def end_sessions(user_id: int) -> None:
    """Every session and remember cookie of the user stops working, wherever it was copied to
    (logout, a new password). API tokens keep working."""
    db.session.execute(update(User).where(User.id == user_id)
                       .values(session_generation=User.session_generation + 1))
    db.session.commit()


def issue_token(user: User) -> str:
    """A new bearer token for the user; earlier tokens keep working until revoked."""
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    db.session.commit()
    return token


def replace_tokens(user: User) -> str:
    """Revoke every token of the user and issue one new one (the profile page's button)."""
    db.session.execute(db.delete(ApiToken).where(ApiToken.user_id == user.id))
    token = issue_token(user)
    forget_cached_tokens(user.id)
    return token


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the API needs it: plain values, no ORM object to load per request."""

    id: int
    username: str
    role: str
    blocked: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


_TOKEN_QUERY = (
    select(User.id, User.username, User.role, User.blocked)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def user_for_token(token: str) -> Caller | None:
    token_hash = hash_token(token)
    cache, lock = _token_cache()
    if cache is not None:
        with lock:
            caller = cache.get(token_hash)
        if caller is not None:
            return caller
    with autocommit_connection() as connection:
        row = connection.execute(_TOKEN_QUERY, {"token_hash": token_hash}).first()
    caller = Caller(*row) if row else None
    # Admins are looked up every time, so a role or token taken from one ends at once.
    if cache is not None and caller is not None and not caller.is_admin and not caller.blocked:
        with lock:
            cache[token_hash] = caller
    return caller


def forget_cached_tokens(user_id: int) -> None:
    """Drop the user's remembered tokens in this process (others forget within the TTL)."""
    cache, lock = _token_cache()
    if cache is not None:
        with lock:
            for token_hash in [h for h, c in cache.items() if c.id == user_id]:
                cache.pop(token_hash, None)


def _token_cache() -> tuple[TTLCache | None, threading.Lock]:
    """Each API call resolves its token, and a vote is otherwise one statement, so the lookup
    was about a third of a vote's cost. Each process remembers a participant's token for
    TOKEN_CACHE_SECONDS: a token replaced, or a user blocked, in another process stops
    working within that time (0 turns the cache off)."""
    extensions = current_app.extensions
    if "relay.token_cache" not in extensions:
        seconds = current_app.config.get("TOKEN_CACHE_SECONDS", 0)
        cache = TTLCache(maxsize=10_000, ttl=seconds) if seconds > 0 else None
        extensions.setdefault("relay.token_cache", (cache, threading.Lock()))
    return extensions["relay.token_cache"]


def create_or_promote_admin(username: str, password: str | None) -> tuple[User, bool]:
    """The CLI's create-admin: returns the user and whether it was created."""
    user = find_user(username)
    if user is None:
        if not password:
            raise ValueError("a new admin needs --password")
        user = User(username=username, password_hash=generate_password_hash(password), role="admin")
        db.session.add(user)
        created = True
    else:
        user.role = "admin"
        user.blocked = False
        if password:
            user.password_hash = generate_password_hash(password)
            user.session_generation += 1  # a new password signs out every browser
        created = False
    db.session.commit()
    return user, created
