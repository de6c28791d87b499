"""Password rules for new passwords, and a password check that takes as long for a name that
does not exist as for one that does."""
import functools
import secrets
import unicodedata
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
COMMON_MESSAGE = "너무 흔한 비밀번호입니다. 남이 짐작하기 어려운 비밀번호를 골라 주세요."
USERNAME_MESSAGE = "아이디가 들어간 비밀번호는 쓸 수 없습니다."
# Shorter names occur inside too many good passwords to refuse them for containing one.
MIN_NAME_INSIDE = 4


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(_fold(line) for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, username: str) -> str | None:
    """Why ``password`` may not be chosen by ``username`` (a Korean message), or None."""
    folded, name = _fold(password), _fold(username)
    if folded in common_passwords():
        return COMMON_MESSAGE
    if folded in (name, name[::-1]) or (len(name) >= MIN_NAME_INSIDE and (name in folded or name[::-1] in folded)):
        return USERNAME_MESSAGE
    return None


@functools.cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def password_matches(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash (no such user), check it against a dummy hash anyway,
    so that the answer's timing does not tell which usernames exist."""
    if password_hash is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)
