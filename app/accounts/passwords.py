"""Password rules for new passwords, and a password check that takes as long for a name that
does not exist as for one that does.

A new password is judged by zxcvbn (the Python port of Dropbox's estimator), which counts the
guesses an attacker needs from dictionaries, names, keyboard walks, l33t, dates and repeats,
and the words of this user and this site; a hand list cannot foresee "Passw0rd!" or
"qazwsx12". zxcvbn's dictionaries are English, so the list of common passwords typed on Korean
keyboards (Hangul typed in Latin mode, such as dkssudgktpdy) stays in front of it."""
import functools
import secrets
import unicodedata
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
COMMON_MESSAGE = "너무 흔한 비밀번호입니다. 남이 짐작하기 어려운 비밀번호를 골라 주세요."
USERNAME_MESSAGE = "아이디가 들어간 비밀번호는 쓸 수 없습니다."
WEAK_MESSAGE = ("짐작하기 쉬운 비밀번호입니다. 흔한 낱말, 키보드 배열(qazwsx), 글자 바꾸기(Passw0rd), "
                "이름이나 날짜는 금방 풀립니다. 서로 관계없는 낱말 서너 개를 이어 보세요 (예: 우산-기차-달빛-7).")
# Shorter names occur inside too many good passwords to refuse them for containing one.
MIN_NAME_INSIDE = 4
# zxcvbn's score: 3 is "safely unguessable", about 10^8 guesses or more, which still holds
# against guessing offline at the speed our slow password hashes allow.
MIN_SCORE = 3
# zxcvbn refuses longer passwords (its cost grows with the length); the first 72 characters
# of a longer one are what it judges.
ESTIMATED_CHARS = 72
# Words an attacker of this site tries first, besides the user's own.
SITE_WORDS = ("relay", "novel", "릴레이", "소설", "relaynovel")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(_fold(line) for line in lines if line.strip() and not line.startswith("#"))


# The keys of the standard Korean keyboard (두벌식) that type each part of a Hangul syllable:
# "김민지" typed with the keyboard left in Latin mode is "rlaalswl".
INITIAL_KEYS = "r R s e E f a q Q t T d w W c z x v g".split()
VOWEL_KEYS = "k o i O j p u P h hk ho hl y n nj np nl b m ml l".split()
FINAL_KEYS = ["", *"r R rt s sw sg e f fr fa fq ft fx fv fg a q qt t T d w c z x v g".split()]


def latin_keystrokes(text: str) -> str:
    """What typing ``text`` on a Korean keyboard left in Latin mode gives; other characters stay."""
    typed = []
    for char in unicodedata.normalize("NFC", text):
        index = ord(char) - 0xAC00
        if 0 <= index < 11172:
            initial, rest = divmod(index, 21 * 28)
            vowel, final = divmod(rest, 28)
            typed.append(INITIAL_KEYS[initial] + VOWEL_KEYS[vowel] + FINAL_KEYS[final])
        else:
            typed.append(char)
    return "".join(typed)


def _made_of_name(folded: str, name: str) -> bool:
    return folded in (name, name[::-1]) or (len(name) >= MIN_NAME_INSIDE and (name in folded or name[::-1] in folded))


def password_problem(password: str, username: str, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Why ``password`` may not be chosen by ``username`` (a Korean message), or None.
    ``user_inputs``: anything else the user told the site, which an attacker would try too."""
    folded, name = _fold(password), _fold(username)
    if folded in common_passwords():
        return COMMON_MESSAGE
    names = {name, _fold(latin_keystrokes(name))}  # 김민지, and rlaalswl as typed in Latin mode
    if any(_made_of_name(folded, form) for form in names):
        return USERNAME_MESSAGE
    words = [username, *names, *(form[::-1] for form in names), *user_inputs, *SITE_WORDS]
    if zxcvbn(password[:ESTIMATED_CHARS], user_inputs=words)["score"] < MIN_SCORE:
        return WEAK_MESSAGE
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
