"""Writing candidate passages that keep the crowd's keyword and sentence count.

The guarantees are not hopes: every row of a batch is steered while it is sampled (the
keyword is written at the start of the last sentence if the model has not used it yet; a
sentence that runs too long is closed), and every finished row is judged by the same
``sentences()`` the site uses. Rows that fail are dropped and the batch is sampled again, a
bounded number of times; then GenerationError.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import torch
from transformers.generation.logits_process import (
    LogitsProcessorList,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

from model_server import text as ktext
from model_server.errors import GenerationError
from model_server.evaluate import context_window
from model_server.examples import control_prompt, sentence_spans

MAX_SENTENCES = 10
SENTENCE_END = re.compile(r"[.!?…]+[\"'”’」』)]*\s*$")
# A quoting tag cut off from its speech ("하고," alone) is the leftover the KoAlpaca novel
# project saw most; a sentence may not start with one.
DANGLING_TAG = re.compile(r"^(하고|하며|하면서|라고|이라고|하니|하자)[,\s.]")
FORBIDDEN = ("[", "]", "이어쓰기")  # the model must not write our control line back


# Hangul letters (conjoining jamo) as a jamo tokenizer writes them: a syllable is L V (T).
JAMO_L = set(range(0x1100, 0x1160)) | set(range(0xA960, 0xA980))
JAMO_V = set(range(0x1160, 0x11A8)) | set(range(0xD7B0, 0xD7C7))
JAMO_T = set(range(0x11A8, 0x1200)) | set(range(0xD7CB, 0xD7FC))
OTHER, LEAD, VOWEL, TAIL = range(4)
# which letter class may follow which: a lead needs a vowel; a vowel or tail never starts a syllable
MAY_FOLLOW = {OTHER: {OTHER, LEAD}, LEAD: {VOWEL}, VOWEL: {OTHER, LEAD, TAIL}, TAIL: {OTHER, LEAD}}
BYTE_TOKEN = re.compile(r"^<0x[0-9A-F]{2}>$")


def letter_class(char: str) -> int:
    code = ord(char)
    return LEAD if code in JAMO_L else VOWEL if code in JAMO_V else TAIL if code in JAMO_T else OTHER


def well_formed(piece: str) -> bool:
    return all(letter_class(b) in MAY_FOLLOW[letter_class(a)] for a, b in zip(piece, piece[1:]))


@dataclass
class GenerationSettings:
    temperature: float = 0.9
    top_p: float = 0.92
    repetition_penalty: float = 1.15   # over the candidate's own tokens, not the story's names
    no_repeat_ngram_size: int = 4
    max_sentence_tokens: int = 64      # a sentence this long is closed by force
    max_rounds: int = 4                # batches sampled before giving up
    oversample: int = 2                # rows per wanted candidate in each batch


@dataclass
class Row:
    forced: list[int] = field(default_factory=list)  # tokens to emit before sampling again
    last_class: int = OTHER            # letter class of the last character written
    generated: list[int] = field(default_factory=list)
    sentence_start: int = 0            # index in generated where the current sentence began
    completed: int = 0                 # finished sentences so far
    quote_open: bool = False           # an odd number of '"' written so far
    ended_sentence: bool = False       # the last token closed a sentence
    after_keyword: bool = False        # the last token finished the forced keyword
    done: bool = False


class Vocabulary:
    """Per-tokenizer facts the steering needs, computed once."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        size = len(tokenizer)
        pieces = [tokenizer.decode([i]) for i in range(size)]
        names = tokenizer.convert_ids_to_tokens(list(range(size)))
        self.ends_sentence = torch.tensor([bool(SENTENCE_END.search(p.strip()) and p.strip()) for p in pieces])
        self.may_end = torch.tensor([any(c in p for c in ".!?…\n\"") for p in pieces])
        # never sampled: our control line, special tokens, raw UTF-8 bytes of a byte-fallback
        # vocabulary, and jamo runs that cannot be part of a syllable
        self.banned = torch.tensor([any(f in p for f in FORBIDDEN) or not well_formed(p) for p in pieces])
        self.banned |= torch.tensor([bool(BYTE_TOKEN.match(name or "")) for name in names])
        for token_id in tokenizer.all_special_ids:
            self.banned[token_id] = True
        self.quote_parity = torch.tensor([p.count('"') % 2 == 1 for p in pieces])
        # A line break splits sentences for the judge, so it may only follow a sentence's end:
        # in the token itself (".\n") or in the token before ("\n" alone).
        heads = [p.split("\n", 1)[0].strip() if "\n" in p else None for p in pieces]
        self.newline_first = torch.tensor([h == "" for h in heads])
        self.banned |= torch.tensor([bool(h) and not SENTENCE_END.search(h) for h in heads])
        self.first_class = [letter_class(p[0]) if p else OTHER for p in pieces]
        self.last_class = [letter_class(p[-1]) if p else None for p in pieces]
        first = torch.tensor(self.first_class)
        # after a forced keyword, a final consonant would fuse into its last syllable (바다 + ㄹ = 바달)
        self.starts_with_tail = first == TAIL
        # allowed[c]: the tokens that may come after a token ending in letter class c
        self.allowed = torch.stack([torch.isin(first, torch.tensor(sorted(MAY_FOLLOW[c])))
                                    for c in (OTHER, LEAD, VOWEL, TAIL)])

    def decode(self, ids: list[int]) -> str:
        # NFC: jamo tokenizers (the starter's) decode to decomposed Hangul
        return unicodedata.normalize("NFC", self.tokenizer.decode(ids, skip_special_tokens=True))


def story_tail(tokenizer, story_text: str, max_tokens: int) -> str:
    """The end of the story, whole sentences only, as many as fit ``max_tokens``; line breaks kept."""
    recent = story_text[-max_tokens * 6:]  # never split a 1,000-passage story for a 250-token tail
    spans = sentence_spans(recent)
    if len(recent) < len(story_text) and len(spans) > 1:
        spans = spans[1:]  # the first sentence may have been cut
    start = len(recent)
    for sentence_start, _ in reversed(spans):
        if len(tokenizer(recent[sentence_start:], add_special_tokens=False)["input_ids"]) > max_tokens:
            break
        start = sentence_start
    return recent[start:].strip()


def check_candidate(candidate: str, keyword: str | None, sentences: int) -> bool:
    """The guarantees, judged exactly as the site judges them, plus the leftovers we refuse."""
    pieces = ktext.sentences(candidate)
    if len(pieces) != sentences:
        return False
    if keyword and not ktext.contains_keyword(candidate, keyword):
        return False
    for piece in pieces:
        if not SENTENCE_END.search(piece) or DANGLING_TAG.match(piece) or piece.count('"') % 2:
            return False
        if sum(1 for c in piece if "가" <= c <= "힣") < 2 or any(f in piece for f in FORBIDDEN):
            return False
    return len(set(pieces)) == len(pieces)


@torch.no_grad()
def generate(model, tokenizer, story_text: str, keyword: str | None, sentences: int, k: int,
             seed: int | None = None, settings: GenerationSettings | None = None,
             vocabulary: Vocabulary | None = None) -> list[str]:
    """``k`` different passages continuing ``story_text``, each with ``sentences`` sentences
    and (when given) the ``keyword``; GenerationError when that cannot be done."""
    if not 1 <= sentences <= MAX_SENTENCES:
        raise ValueError(f"sentences must be between 1 and {MAX_SENTENCES}, not {sentences}")
    if k < 1:
        raise ValueError("k must be at least 1")
    keyword = keyword.strip() if keyword else None
    settings = settings or GenerationSettings()
    vocabulary = vocabulary or Vocabulary(tokenizer)
    window = context_window(model)
    reserve = min(window // 2, sentences * settings.max_sentence_tokens // 2 + 16)
    prompt_ids = build_prompt(tokenizer, story_text, keyword, sentences, window - reserve)
    keyword_ids = tokenizer(" " + keyword, add_special_tokens=False)["input_ids"] if keyword else []

    found: list[str] = []
    for attempt in range(settings.max_rounds):
        generator = torch.Generator().manual_seed((seed or 0) * 1000 + attempt)
        sample_rows(model, vocabulary, prompt_ids, keyword, keyword_ids, sentences,
                    k * settings.oversample, settings, generator, window, found, k)
        if len(found) >= k:
            return found[:k]
    raise GenerationError(
        f"could not write {k} passage(s) of {sentences} sentence(s)"
        + (f" containing {keyword!r}" if keyword else "") + f" in {settings.max_rounds} tries"
        + f" (only {len(found)} met the guarantees)")


def build_prompt(tokenizer, story_text: str, keyword: str | None, sentences: int, budget: int) -> list[int]:
    line_cost = len(tokenizer(control_prompt("", keyword, sentences), add_special_tokens=False)["input_ids"])
    tail = story_tail(tokenizer, story_text, max(budget - line_cost - 2, 0))
    ids = tokenizer(control_prompt(tail, keyword, sentences), add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    return ([bos] if bos is not None else []) + ids[-budget:]


def sample_rows(model, vocabulary: Vocabulary, prompt_ids: list[int], keyword: str | None,
                keyword_ids: list[int], sentences: int, n_rows: int, settings: GenerationSettings,
                generator: torch.Generator, window: int, found: list[str], wanted: int) -> None:
    """Sample one batch of rows together under steering; each row that finishes and passes the
    judge joins ``found``, and sampling stops as soon as ``found`` holds ``wanted``."""
    device = next(model.parameters()).device
    pad_id = vocabulary.tokenizer.pad_token_id or 0
    processors = LogitsProcessorList([
        RepetitionPenaltyLogitsProcessor(settings.repetition_penalty),
        NoRepeatNGramLogitsProcessor(settings.no_repeat_ngram_size),
    ])
    warpers = LogitsProcessorList([TemperatureLogitsWarper(settings.temperature),
                                   TopPLogitsWarper(settings.top_p)])
    # The keyword is written at the start of the last sentence when the model has not used it;
    # for a one-sentence passage that is the very start.
    # The prompt ends on a whole sentence, so a row may open with a paragraph break.
    rows = [Row(forced=list(keyword_ids) if sentences == 1 else [], ended_sentence=True) for _ in range(n_rows)]
    max_new = sentences * settings.max_sentence_tokens + 16
    past, last, cached = None, None, 0
    for _ in range(max_new):
        if past is None or cached >= window:
            inputs = restart_inputs(prompt_ids, rows, window, pad_id)
            out = model(**{k: v.to(device) for k, v in inputs.items()}, use_cache=True)
            attention = inputs["attention_mask"]
            positions = inputs["position_ids"][:, -1:]
            cached = attention.size(1)
        else:
            cached += 1
            attention = torch.cat([attention, torch.ones(n_rows, 1, dtype=attention.dtype)], dim=1)
            positions = positions + 1
            out = model(input_ids=last.to(device), attention_mask=attention.to(device),
                        position_ids=positions.to(device), past_key_values=past, use_cache=True)
        past = out.past_key_values
        raw = out.logits[:, -1, : len(vocabulary.banned)].float().cpu()  # some bases pad the vocabulary
        generated = torch.tensor([row.generated for row in rows], dtype=torch.long).view(n_rows, -1)
        penalised = processors(generated, raw.clone()) if generated.size(1) else raw
        logits = torch.stack([steer(row, raw[i], penalised[i], vocabulary, settings)
                              for i, row in enumerate(rows)])
        probs = torch.softmax(warpers(generated, logits), dim=-1)
        sampled = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        for i, row in enumerate(rows):
            if row.done:
                row.generated.append(pad_id)
                continue
            was_forced = bool(row.forced)
            token = row.forced.pop(0) if row.forced else int(sampled[i])
            row.generated.append(token)
            row.after_keyword = was_forced and not row.forced
            row.quote_open ^= bool(vocabulary.quote_parity[token])
            row.ended_sentence = bool(vocabulary.ends_sentence[token])
            if vocabulary.last_class[token] is not None:
                row.last_class = vocabulary.last_class[token]
            advance(row, vocabulary, token, keyword, keyword_ids, sentences)
            if row.done:
                candidate = finish(row, vocabulary, sentences)
                if candidate not in found and check_candidate(candidate, keyword, sentences):
                    found.append(candidate)
        last = torch.tensor([[row.generated[-1]] for row in rows])
        if len(found) >= wanted or all(row.done for row in rows):
            break


def steer(row: Row, raw: torch.Tensor, penalised: torch.Tensor, vocabulary: Vocabulary,
          settings: GenerationSettings) -> torch.Tensor:
    """One row's logits under the rules. Bans and the jamo grammar always hold; the repetition
    controls give way when they would leave nothing; a sentence that ran too long is closed
    when some closing token is allowed; a row with no allowed token at all is given up."""
    if row.done:
        return torch.zeros_like(raw)
    hard = vocabulary.banned | ~vocabulary.allowed[row.last_class]
    # a sentence ends with its quotes closed, so the judge's splitter keeps speech whole
    hard = hard | (vocabulary.ends_sentence & (vocabulary.quote_parity != row.quote_open))
    if not row.ended_sentence:
        hard = hard | vocabulary.newline_first
    if row.after_keyword:
        hard = hard | vocabulary.starts_with_tail
    logits = penalised.masked_fill(hard, float("-inf"))
    if torch.isinf(logits).all():
        logits = raw.masked_fill(hard, float("-inf"))
    if len(row.generated) - row.sentence_start >= settings.max_sentence_tokens:
        closing = logits.masked_fill(~vocabulary.ends_sentence, float("-inf"))
        if not torch.isinf(closing).all():
            logits = closing
    if torch.isinf(logits).all():
        row.done = True  # given up: never judged, never returned
        return torch.zeros_like(raw)
    return logits


def advance(row: Row, vocabulary: Vocabulary, token: int, keyword: str | None, keyword_ids: list[int],
            sentences: int) -> None:
    """Update a row after its new token: count sentences, end it, or force the keyword."""
    if row.forced or not vocabulary.may_end[token]:
        return
    so_far = vocabulary.decode(row.generated)
    if not SENTENCE_END.search(so_far):
        return
    completed = len(ktext.sentences(so_far))
    if completed >= sentences:
        row.done = True
        return
    if completed > row.completed:
        row.completed = completed
        row.sentence_start = len(row.generated)
        if keyword and completed == sentences - 1 and not ktext.contains_keyword(so_far, keyword):
            row.forced = list(keyword_ids)


def finish(row: Row, vocabulary: Vocabulary, sentences: int) -> str:
    """The row's text cut after its ``sentences``-th sentence, in the stored form (``normalize``:
    the model sometimes starts a line with a space, which the stored story never has)."""
    text = ktext.normalize(vocabulary.decode(row.generated))
    pieces = ktext.sentences(text)
    if len(pieces) <= sentences:
        return text
    end = 0
    for piece in pieces[:sentences]:
        end = text.index(piece, end) + len(piece)
    return text[:end]


def restart_inputs(prompt_ids: list[int], rows: list[Row], window: int, pad_id: int) -> dict[str, torch.Tensor]:
    """Each row's prompt plus what it wrote, left-padded, cut to the last half window once it
    outgrows the window (GPT-2's learned positions stop at the window)."""
    keep = window if len(prompt_ids) + len(rows[0].generated) < window else window // 2
    sequences = [(prompt_ids + row.generated)[-keep:] for row in rows]
    longest = max(len(s) for s in sequences)
    input_ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), longest), dtype=torch.long)
    for i, seq in enumerate(sequences):
        input_ids[i, longest - len(seq):] = torch.tensor(seq)
        attention[i, longest - len(seq):] = 1
    positions = (attention.cumsum(dim=1) - 1).clamp(min=0)
    return {"input_ids": input_ids, "attention_mask": attention, "position_ids": positions}
