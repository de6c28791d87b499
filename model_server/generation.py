"""Writing candidate passages that keep the crowd's keyword and sentence count, in words.

The guarantees are not hopes: every row of a batch is steered while it is sampled
(``sampling``: when the model has not used the keyword by its last sentence, the keyword must
come within that sentence's first words, with a particle that fits it; with a lexicon, every
word is one the model read), and every finished row is judged by the same ``sentences()`` the
site uses, plus Kiwi's view of how each sentence starts and whether the keyword is woven in.
More rows are sampled than wanted and the K that read best (``rerank``) are returned. Rows
that fail are dropped and the batch is sampled again, a bounded number of times; then
GenerationError.
"""
from __future__ import annotations

import math
import random
import re
import unicodedata

import torch

from model_server import text as ktext
from model_server.errors import GenerationError
from model_server.evaluate import context_window
from model_server.examples import control_prompt, sentence_spans
from model_server.fluency import starts_like_a_sentence
from model_server.josa import keyword_words
from model_server.lexicon import BOUNDARY, Layer, Lexicon, words_of
from model_server.rerank import Scored, choose
from model_server.sampling import GenerationSettings, Plan, sample_rows
from model_server.vocabulary import FORBIDDEN, SENTENCE_END, Vocabulary
from model_server.words import PLAIN_KEYWORD

MAX_SENTENCES = 10
# A quoting tag cut off from its speech ("하고," alone) is the leftover the KoAlpaca novel
# project saw most; a sentence may not start with one.
DANGLING_TAG = re.compile(r"^(하고|하며|하면서|라고|이라고|하니|하자)[,\s.]")


def check_candidate(candidate: str, keyword: str | None, sentences: int, lexicon: Lexicon | None = None) -> bool:
    """The guarantees, judged exactly as the site judges them, plus the leftovers we refuse."""
    pieces = ktext.sentences(candidate)
    if len(pieces) != sentences:
        return False
    if keyword and not (ktext.contains_keyword(candidate, keyword) and keyword_woven_in(candidate, keyword, lexicon)):
        return False
    for piece in pieces:
        if not SENTENCE_END.search(piece) or DANGLING_TAG.match(piece) or piece.count('"') % 2:
            return False
        if sum(1 for c in piece if "가" <= c <= "힣") < 2 or any(f in piece for f in FORBIDDEN):
            return False
        if not starts_like_a_sentence(piece):
            return False
    return len(set(pieces)) == len(pieces)


def keyword_woven_in(candidate: str, keyword: str, lexicon: Lexicon | None = None) -> bool:
    """Every word holding a one-word keyword is the keyword with a fitting particle, or a
    word of the lexicon (편지봉투를); never a fusion such as 편지개를히더니."""
    keyword = unicodedata.normalize("NFC", keyword.strip())
    if not PLAIN_KEYWORD.fullmatch(keyword) or " " in keyword:
        return True
    forms = keyword_words(keyword)
    for word in BOUNDARY.split(unicodedata.normalize("NFC", candidate)):
        if keyword in word and word not in forms:
            if lexicon is None or not lexicon.allows(unicodedata.normalize("NFD", word), finished=True):
                return False
    return True


@torch.no_grad()
def generate(model, tokenizer, story_text: str, keyword: str | None, sentences: int, k: int,
             seed: int | None = None, settings: GenerationSettings | None = None,
             vocabulary: Vocabulary | None = None, lexicon: Lexicon | None = None,
             control: bool = True) -> list[str]:
    """``k`` different passages continuing ``story_text``, each with ``sentences`` sentences
    and (when given) the ``keyword``; GenerationError when that cannot be done.

    ``seed`` makes the result reproducible; without one every call samples afresh. With a
    ``lexicon`` every word written is one of its words, of the story's, or a keyword form."""
    if not 1 <= sentences <= MAX_SENTENCES:
        raise ValueError(f"sentences must be between 1 and {MAX_SENTENCES}, not {sentences}")
    if k < 1:
        raise ValueError("k must be at least 1")
    keyword = unicodedata.normalize("NFC", keyword.strip()) if keyword else None
    settings = settings or GenerationSettings()
    vocabulary = vocabulary or Vocabulary(tokenizer)
    if lexicon is not None:  # the story's own words (its names) and the keyword's forms may be written too
        lexicon = lexicon.with_layer(Layer(words_of(story_text)))
        if keyword:
            lexicon = lexicon.with_layer(Layer.of_forms(keyword_words(keyword)))
    window = context_window(model)
    reserve = min(window // 2, sentences * settings.max_sentence_tokens // 2 + 16)
    prompt_ids = build_prompt(tokenizer, story_text, keyword, sentences, window - reserve, control)
    plan = Plan(keyword, sentences, vocabulary, lexicon, settings, window)
    generator = torch.Generator().manual_seed(seed if seed is not None else random.SystemRandom().getrandbits(62))

    found: dict[str, Scored] = {}
    for _ in range(settings.max_rounds):
        enough_at = None  # the step after which the batch stops, once k rows passed
        for step, finished in sample_rows(model, plan, prompt_ids, k * settings.oversample, generator):
            for row, text in finished:
                if text not in found and check_candidate(text, keyword, sentences, lexicon):
                    found[text] = Scored(text, row.logprob / step, row.keyword_forced)
            if len(found) >= k and enough_at is None:
                enough_at = step * (1 + settings.patience)
            if len(found) >= math.ceil(k * settings.choose_from) or (enough_at is not None and step >= enough_at):
                break
        if len(found) >= k:
            return choose(list(found.values()), k)
    raise GenerationError(
        f"could not write {k} passage(s) of {sentences} sentence(s)"
        + (f" containing {keyword!r}" if keyword else "") + f" in {settings.max_rounds} tries"
        + f" (only {len(found)} met the guarantees)")


def story_tail(tokenizer, story_text: str, max_tokens: int) -> str:
    """The end of the story, whole sentences only, as many as fit ``max_tokens``; line breaks
    kept. A story that stops mid-sentence is given a full stop, so the model starts a new one."""
    recent = story_text[-max_tokens * 6:]  # never split a 1,000-passage story for a 250-token tail
    spans = sentence_spans(recent)
    if len(recent) < len(story_text) and len(spans) > 1:
        spans = spans[1:]  # the first sentence may have been cut
    start = len(recent)
    for sentence_start, _ in reversed(spans):
        if len(tokenizer(recent[sentence_start:], add_special_tokens=False)["input_ids"]) > max_tokens:
            break
        start = sentence_start
    tail = recent[start:].strip()
    if tail and not SENTENCE_END.search(tail):
        tail += "."
    return tail


def build_prompt(tokenizer, story_text: str, keyword: str | None, sentences: int, budget: int,
                 control: bool = True) -> list[int]:
    """The story's tail and, for a model that learned it (a story adapter), the control line
    asking for the keyword and length; a bare base never saw that line, so it just reads on
    after a paragraph break."""
    render = (lambda tail: control_prompt(tail, keyword, sentences)) if control else (lambda tail: f"{tail}\n\n")
    line_cost = len(tokenizer(render(""), add_special_tokens=False)["input_ids"])
    tail = story_tail(tokenizer, story_text, max(budget - line_cost - 3, 0))
    ids = tokenizer(render(tail), add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    return ([bos] if bos is not None else []) + ids[-budget:]
