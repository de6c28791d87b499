"""The particle after a word the site did not write itself: a title, a name.

「비 오는 정거장」으로 but 「달빛 아래」로, 민지나 but 서준이나: which form fits depends on the
word's last syllable. The choice is ``model_server.josa``'s, the code that picks the keyword's
particles in generation (torch-free, so web processes may import it). A word that ends in a
digit is read as Sino-Korean (3 → 삼, 10 → 십, 2.50 → 영); any other ending (a Latin letter, an emoji)
gets both forms, as Korean writes them when it cannot tell: 을(를), (으)로.
"""
from model_server.josa import particles

# The form after a final consonant -> the form after a vowel.
PAIRS = {"을": "를", "이": "가", "은": "는", "과": "와", "으로": "로", "이나": "나", "이라는": "라는", "이야": "야"}
BOTH = {"으로": "(으)로", "이나": "(이)나", "이라는": "(이)라는", "이야": "(이)야"}
DIGITS = "영일이삼사오육칠팔구"
# A number ending in zeros is read by its last unit: 10 십, 100 백, 1000 천, then 만 and 억.
UNITS = {1: "십", 2: "백", 3: "천"}


def spoken_end(word: str) -> str | None:
    """The syllable a reader says last, or None when it cannot be told. Closing quotes,
    brackets and punctuation are not said: 「편지」 and 편지! end like 편지."""
    word = word.rstrip(" \t\n\"'」』)]}>.,!?…~·-")
    if not word:
        return None
    last = word[-1]
    if "가" <= last <= "힣":
        return last
    if last.isascii() and last.isdigit():
        before = word.rstrip("0123456789")
        digits = word[len(before):]
        if before.endswith(".") and before[:-1][-1:].isdigit():
            return DIGITS[int(last)]  # decimals are said digit by digit: 3.30 삼 점 삼영
        zeros = len(digits) - len(digits.rstrip("0"))
        if zeros == len(digits):
            return "영"
        if zeros == 0:
            return DIGITS[int(last)]
        return UNITS.get(zeros) or ("만" if zeros < 8 else "억" if zeros < 12 else None)
    return None


def particle(word: str, after_consonant: str) -> str:
    """The particle to write after ``word``, named by its form after a consonant ("을", "이",
    "은", "과", "으로", "이나", ...)."""
    after_vowel = PAIRS[after_consonant]
    end = spoken_end(word)
    if end is None:
        return BOTH.get(after_consonant, f"{after_consonant}({after_vowel})")
    fitting = particles(end)
    if after_vowel in fitting and after_consonant not in fitting:
        return after_vowel
    return after_consonant
