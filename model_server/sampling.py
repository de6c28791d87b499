"""Sampling K rows at once under steering: the loop that writes candidate passages.

Each step runs the model once for every row, then each row takes a token that keeps the rules:
whole-token rules first (``steer``: bans, the jamo grammar, quotes closed before a sentence
ends, a push to end an over-long sentence), then word by word (``fits``: with a lexicon, only
words the model read, put together as it read them; when the crowd's keyword is due, only its
forms). Sentences are counted as the site counts them, and a row that finishes its sentences
comes back to ``generation.generate`` to be judged.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
from transformers.generation.logits_process import (
    LogitsProcessorList,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

from model_server import text as ktext
from model_server.copying import RUN, copied_run
from model_server.lexicon import LINE_START, Lexicon
from model_server.memory import Datastore, MemorySettings, mix
from model_server.retrieval import MAX_COPIED
from model_server.vocabulary import OTHER, SENTENCE_END, Vocabulary
from model_server.words import PLAIN_KEYWORD, KeywordWords, TokenWords, WordState, walk

CLOSING_PUSH = 1.0  # logit added to sentence ends per token a sentence runs over its length
OPENING_CHOICES = 64  # a sentence's first word: the model's likeliest tokens the novels' openings weigh


@dataclass
class GenerationSettings:
    temperature: float = 0.7
    top_p: float = 0.92
    repetition_penalty: float = 1.15   # over the candidate's own tokens, not the story's names
    no_repeat_ngram_size: int = 4
    max_sentence_tokens: int = 28      # a sentence this long is pushed to end (longer than most of the novels')
    max_rounds: int = 4                # batches sampled for one sentence before giving up
    pool: int = 6                      # sentences sampled per candidate and position; the judge keeps one
    enough: int = 3                    # ... and once each candidate has this many that keep the rules, the rest stop
    draws: int = 4                     # a bound row samples among at most this many fitting tokens
    keyword_chance: float = 0.05       # probability of starting the keyword at which a row is made to
    keyword_within: int = 4            # ... and the number of words into its last sentence at the latest
    opening_prior: float = 1.0         # weight of the novels' sentence openings at a sentence's first word
    guides: int = 4                    # the bank's sentences (retrieval) that keep the rules, offered per candidate and place
    guides_first: bool = True          # the model's own sentence is kept only where no sentence of the bank fits
    follow: bool = False               # ... and the sentence that followed the last one in its novel, wherever it fits
    copied_words: int = MAX_COPIED     # words in a row of a novel a candidate may keep (follow needs a whole scene's)
    notes_tokens: int = 96             # the story bible's notes before the story's tail (at most half the prompt)
    memory: MemorySettings = field(default_factory=MemorySettings)


@dataclass
class Start:
    """Where a row starts: the prompt and what its passage holds so far, and whether the
    sentences it writes must hold the keyword."""
    prefix: list[int]                  # token ids the row continues
    written: list[int]                 # the passage's own tokens among them (repetition is judged over these)
    keyword_due: bool
    words_before: list[str] = field(default_factory=list)  # the passage's last words, NFD (no run copied across)


@dataclass
class Row:
    generated: list[int]
    keyword_after: int                 # words into the last sentence by which the keyword must start
    start: Start | None = None
    forced: list[int] = field(default_factory=list)  # tokens to emit first (a keyword with symbols)
    last_class: int = OTHER            # letter class of the last character written
    sentence_start: int = 0            # index in generated where the current sentence began
    sentence_words: int = 0            # words finished in the current sentence
    completed: int = 0                 # finished sentences so far
    quote_open: bool = False           # an odd number of '"' written so far
    ended_sentence: bool = True        # the last token closed a sentence (the prompt ends on one)
    words: WordState = field(default_factory=WordState)
    finished: list[str] = field(default_factory=list)  # the words the row finished, NFD
    keyword_due: bool = False          # in its last sentence without the keyword
    keyword_forced: bool = False       # the keyword was required rather than chosen by the model
    logprob: float = 0.0               # the model's log-probability of what the row wrote
    done: bool = False


@dataclass
class Plan:
    """What every row of one request shares."""
    keyword: str | None
    sentences: int
    vocabulary: Vocabulary
    lexicon: Lexicon | None
    settings: GenerationSettings
    window: int
    memories: list[tuple[Datastore, MemorySettings]] = field(default_factory=list)  # text looked up while writing
    copied: set[int] = field(default_factory=set)  # runs of words the base read, never written whole (``copying``)

    def __post_init__(self):
        plain = bool(self.keyword) and PLAIN_KEYWORD.fullmatch(self.keyword) is not None
        self.keyword_words = KeywordWords(self.keyword) if plain else None
        # a keyword with symbols or emoji is written as the tokenizer spells it, when it is due
        self.keyword_ids = ([] if plain or not self.keyword else
                            self.vocabulary.tokenizer(" " + self.keyword, add_special_tokens=False)["input_ids"])
        # the tokens that would start the keyword: after a word (with a space), and at a word's start
        self.keyword_openers = {False: torch.zeros(0, dtype=torch.long), True: torch.zeros(0, dtype=torch.long)}
        # (a keyword with symbols is written as forced tokens and needs none)
        if self.keyword_words is not None:
            first = {w[:i] for w in self.keyword_words.steps[0].words for i in range(1, len(w) + 1)}
            for at_start in (False, True):
                self.keyword_openers[at_start] = torch.tensor([
                    t for t, w in enumerate(self.vocabulary.words)
                    if (w.parts[0] in first if at_start else
                        len(w.parts) > 1 and not w.parts[0] and not w.punctuation[0] and w.parts[1] in first)],
                    dtype=torch.long)


def sample_rows(model, plan: Plan, starts: list[Start], generator: torch.Generator):
    """Sample one batch of rows together under steering, one row per ``starts``; after each
    step, yield the step's number and the (row, text) of each row that finished its sentences
    in it."""
    n_rows = len(starts)
    vocabulary, settings = plan.vocabulary, plan.settings
    device = next(model.parameters()).device
    pad_id = vocabulary.tokenizer.pad_token_id or 0
    processors = LogitsProcessorList([
        RepetitionPenaltyLogitsProcessor(settings.repetition_penalty),
        NoRepeatNGramLogitsProcessor(settings.no_repeat_ngram_size),
    ])
    warpers = LogitsProcessorList([TemperatureLogitsWarper(settings.temperature),
                                   TopPLogitsWarper(settings.top_p)])
    # where in its last sentence each row must start the keyword at the latest: rows differ
    within = torch.randint(0, settings.keyword_within + 1, (n_rows,), generator=generator).tolist()
    rows = [Row(generated=[], keyword_after=w, start=start,
                keyword_due=start.keyword_due and plan.sentences == 1 and bool(plan.keyword),
                words=WordState(sep=LINE_START), finished=list(start.words_before)) for w, start in zip(within, starts)]
    max_new = plan.sentences * settings.max_sentence_tokens * 2
    past, last, cached = None, None, 0
    for step in range(1, max_new + 1):
        if past is None or cached >= plan.window:
            # rows that start alike (one candidate's pool) read their prefix once, then part ways
            firsts, shared = shared_starts(rows) if past is None else (list(range(n_rows)), None)
            inputs = restart_inputs([rows[i] for i in firsts], plan.window, pad_id)
            out = model(**{k: v.to(device) for k, v in inputs.items()}, use_cache=True,
                        output_hidden_states=bool(plan.memories))
            if shared is not None:
                out.past_key_values.batch_select_indices(shared.to(device))
                out.logits = out.logits[shared.to(device)]
                if plan.memories:
                    out.hidden_states = (out.hidden_states[-1][shared.to(device)],)
                inputs = {name: value[shared] for name, value in inputs.items()}
            attention = inputs["attention_mask"]
            positions = inputs["position_ids"][:, -1:]
            cached = attention.size(1)
        else:
            cached += 1
            attention = torch.cat([attention, torch.ones(n_rows, 1, dtype=attention.dtype)], dim=1)
            positions = positions + 1
            out = model(input_ids=last.to(device), attention_mask=attention.to(device),
                        position_ids=positions.to(device), past_key_values=past, use_cache=True,
                        output_hidden_states=bool(plan.memories))
        past = out.past_key_values
        raw = out.logits[:, -1, : len(vocabulary.banned)].float().cpu()  # some bases pad the vocabulary
        if plan.memories:
            raw = mix(raw, out.hidden_states[-1][:, -1].float().cpu(), plan.memories)
        generated = left_padded([row.start.written + row.generated for row in rows], pad_id)
        penalised = processors(generated, raw.clone()) if generated.size(1) else raw
        logits = torch.stack([steer(row, raw[i], penalised[i], plan) for i, row in enumerate(rows)])
        # the nucleus is for rows free of a lexicon (sorting the vocabulary costs a step's worth)
        nucleus = torch.softmax(warpers(generated, logits), dim=-1) if plan.lexicon is None else None
        tempered = torch.softmax(logits / settings.temperature, dim=-1)
        model_logprobs = torch.log_softmax(raw, dim=-1)
        finished = []
        for i, row in enumerate(rows):
            if row.done:
                row.generated.append(pad_id)
                continue
            if keyword_now(row, tempered[i], plan):
                require_keyword(row, plan)
            token = row.forced.pop(0) if row.forced else draw(
                row, None if nucleus is None else nucleus[i], tempered[i], plan, generator)
            if token is None:  # no word the row may write fits here: given up, never judged
                row.done = True
                row.generated.append(pad_id)
                continue
            write(row, token, plan)
            row.logprob += float(model_logprobs[i, token])
            advance(row, token, plan)
            if row.done:
                finished.append((row, finish(row, vocabulary, plan.sentences)))
        yield step, finished
        last = torch.tensor([[row.generated[-1]] for row in rows])
        if all(row.done for row in rows):
            break


def steer(row: Row, raw: torch.Tensor, penalised: torch.Tensor, plan: Plan) -> torch.Tensor:
    """One row's logits under the rules that hold for whole tokens. Bans and the jamo grammar
    always hold (with a lexicon, so does plain text: Hangul and the common punctuation); the
    repetition controls give way when they would leave nothing; a sentence that ran too long
    is pushed to end; a row with no allowed token is given up."""
    vocabulary, settings = plan.vocabulary, plan.settings
    if row.done:
        return torch.zeros_like(raw)
    hard = vocabulary.banned | ~vocabulary.allowed[row.last_class]
    if plan.lexicon is not None:
        hard = hard | vocabulary.unusual
    # a sentence ends with its quotes closed, so the judge's splitter keeps speech whole
    hard = hard | (vocabulary.ends_sentence & (vocabulary.quote_parity != row.quote_open))
    if not row.ended_sentence:
        hard = hard | vocabulary.newline_first
    logits = penalised.masked_fill(hard, float("-inf"))
    if torch.isinf(logits).all():
        logits = raw.masked_fill(hard, float("-inf"))
    overrun = len(row.generated) - row.sentence_start - settings.max_sentence_tokens
    if overrun >= 0:
        # a sentence this long is pushed to end, harder with every token: where the word under
        # way or the lexicon forbid a full stop right now, forcing one would only kill the row
        logits = logits + vocabulary.ends_sentence * CLOSING_PUSH * (1 + overrun)
    if torch.isinf(logits).all():
        row.done = True  # given up: never judged, never returned
        return torch.zeros_like(raw)
    return logits


def keyword_now(row: Row, tempered: torch.Tensor, plan: Plan) -> bool:
    """Whether the row, in its last sentence without the keyword, must start it now: when the
    model itself gives starting it some chance here, or once the row has gone far enough."""
    if not row.keyword_due or row.forced or row.words.wrote_keyword:
        return False
    if row.words.due is not None or row.words.rule is not None:
        return False  # required already
    if row.sentence_words >= row.keyword_after:
        return True
    openers = plan.keyword_openers[not row.words.word]
    return len(openers) > 0 and float(tempered[openers].sum()) >= plan.settings.keyword_chance


def require_keyword(row: Row, plan: Plan) -> None:
    row.keyword_forced = True
    if plan.keyword_words is not None:
        row.words = replace(row.words, due=0)
    else:
        row.forced = list(plan.keyword_ids)


def draw(row: Row, nucleus: torch.Tensor | None, tempered: torch.Tensor, plan: Plan,
         generator: torch.Generator) -> int | None:
    """A token whose words fit. Free rows sample the nucleus; a row bound by a lexicon or the
    keyword samples the likeliest tokens that fit (at most ``draws`` of them, cut to ``top_p``
    of their mass), found among the lexicon's candidates, else among all tokens."""
    if plan.lexicon is None and not row.keyword_due and row.words.due is None and row.words.rule is None:
        return int(torch.multinomial(nucleus, 1, generator=generator))
    pool = candidates(row, plan)
    for ids in ([pool] if pool is not None else []) + [None]:
        weights = tempered if ids is None else tempered[ids]
        if opens_sentence(row, plan):
            # the novels' openings weigh the model's likeliest first words (the rest stay out)
            weights = weights * (weights >= torch.topk(weights, min(OPENING_CHOICES, len(weights))).values[-1])
            likely = torch.nonzero(weights).squeeze(1).tolist()
            prior = opening_prior([position if ids is None else int(ids[position]) for position in likely], plan)
            weights = weights.index_put((torch.tensor(likely),), weights[likely] * prior)
        fitting: list[int] = []
        chances: list[float] = []
        for position in likeliest_first(weights):
            token = position if ids is None else int(ids[position])
            if fits(row, token, plan):
                fitting.append(token)
                chances.append(float(weights[position]))
                if len(fitting) == plan.settings.draws:
                    break
        if fitting:
            probs = torch.tensor(chances) / sum(chances)
            keep = int((torch.cumsum(probs, 0) < plan.settings.top_p).sum()) + 1  # the nucleus of what fits
            return fitting[int(torch.multinomial(probs[:keep], 1, generator=generator))]
    return None


def opens_sentence(row: Row, plan: Plan) -> bool:
    return (plan.lexicon is not None and plan.settings.opening_prior > 0
            and not row.words.word and row.words.next_opens)


def opening_prior(tokens: list[int], plan: Plan) -> torch.Tensor:
    """At a sentence's first word, each token weighed by how often the novels opened a sentence
    with a word it starts, to the power ``opening_prior``: a product of the model and the novels'
    openings. A base that read little gives the commonest syllables (에, 은, 도) most of its
    mass, and the lexicon then grew them into the rare words they start (에이, 은행, 도에나)."""
    shares = []
    for token in tokens:
        parts = plan.vocabulary.words[token].parts
        start = parts[0] or (parts[1] if len(parts) > 1 else "")
        shares.append(plan.lexicon.opening_share(start) if start else 1.0)
    return torch.tensor(shares).clamp_min(1e-4) ** plan.settings.opening_prior


def likeliest_first(weights: torch.Tensor, head: int = 64):
    """Positions of the non-zero ``weights``, largest first: the top few by a partial sort,
    the rest only if they are asked for."""
    allowed = int((weights > 0).sum())
    top = torch.topk(weights, min(head, allowed))
    yield from top.indices.tolist()
    if allowed > head:
        yield from torch.argsort(weights, descending=True)[head:allowed].tolist()


def candidates(row: Row, plan: Plan) -> torch.Tensor | None:
    """The tokens that may fit a bound row, by the words they continue or start (a keyword's
    forms are among the request's words); None when only trying every token will tell (a
    keyword being written by a base without a lexicon)."""
    state, vocabulary, lexicon = row.words, plan.vocabulary, plan.lexicon
    found = [vocabulary.wordless]
    if state.due is not None:  # the keyword's first word must start next
        found.append(plan.keyword_openers[not state.word])
    if lexicon is None:
        return None if state.rule is not None else torch.cat(found)

    def add(index: dict[str, torch.Tensor], starts: frozenset[str]) -> None:
        found.extend(index[start] for start in starts if start in index)

    if state.word:
        add(vocabulary.continuing, lexicon.next_chars(state.word, state.opening, state.previous))
        if state.due is not None or not lexicon.allows(state.word, True, state.opening, state.previous):
            return torch.cat(found)
        previous, opens = state.word, False
    elif state.due is not None or not lexicon.separator(state.sep, True):
        return torch.cat(found)
    else:
        previous, opens = state.previous, state.next_opens
        add(vocabulary.continuing, lexicon.next_chars("", opens, previous))
    add(vocabulary.starting["space"], lexicon.next_chars("", opens, previous))
    add(vocabulary.starting["break"], lexicon.next_chars("", True))
    add(vocabulary.starting["punctuation"], lexicon.next_chars("", opens))
    return torch.cat(found)


def fits(row: Row, token: int, plan: Plan) -> bool:
    """Whether ``token`` writes only allowed words, copies no run of words the base read, and
    ends no sentence that still owes the keyword."""
    words, state, lexicon = plan.vocabulary.words[token], row.words, plan.lexicon
    if plan.copied and len(words.parts) > 1 and copies(row.finished, finished_by(state.word, words), plan.copied):
        return False
    if lexicon is not None and state.rule is None and state.due is None:
        # the two common cases, where the rest of ``walk`` is moot: a token inside one word, and
        # one that ends a word with a space and starts the next
        if len(words.parts) == 1:
            if state.word:
                return lexicon.allows(state.word + words.parts[0], False, state.opening, state.previous)
            return (lexicon.separator(state.sep, True)
                    and lexicon.allows(words.parts[0], False, state.next_opens, state.previous))
        if len(words.parts) == 2 and state.word and not words.parts[0] and words.parts[1] \
                and not words.punctuation[0] and not words.breaks[0]:
            return (lexicon.allows(state.word, True, state.opening, state.previous)
                    and lexicon.separator(words.seps[0], True)
                    and lexicon.allows(words.parts[1], False, False, state.word))
    after = walk(row.words, plan.vocabulary.words[token], plan.keyword_words, plan.lexicon)
    if after is None:
        return False
    return not (row.keyword_due and not after.wrote_keyword and bool(plan.vocabulary.ends_sentence[token]))


def finished_by(word: str, token: TokenWords) -> list[str]:
    """The words a token of more than one part finishes: the one under way, and any whole ones."""
    return [part for part in (word + token.parts[0],) + token.parts[1:-1] if part]


def copies(before: list[str], new: list[str], runs: set[int]) -> bool:
    words = before[-(RUN - 1):] + new
    return any(copied_run(words[: i + 1], runs) for i in range(len(words) - len(new), len(words)))


def write(row: Row, token: int, plan: Plan) -> None:
    """The row after ``token``: its text, quotes, letter class and the words it is writing."""
    vocabulary = plan.vocabulary
    row.generated.append(token)
    row.quote_open ^= bool(vocabulary.quote_parity[token])
    row.ended_sentence = bool(vocabulary.ends_sentence[token])
    if vocabulary.last_class[token] is not None:
        row.last_class = vocabulary.last_class[token]
    words = vocabulary.words[token]
    if len(words.parts) > 1:
        done = finished_by(row.words.word, words)
        row.sentence_words += len(done)
        row.finished += done
    row.words = walk(row.words, words, plan.keyword_words, plan.lexicon, check=False)
    if row.keyword_due and plan.keyword_words is None and not row.forced and row.keyword_forced:
        row.words = replace(row.words, wrote_keyword=True)  # a keyword with symbols, written out


def advance(row: Row, token: int, plan: Plan) -> None:
    """Count the sentences a token may have ended (a token may end one and start the next:
    ".\n그"): end the row, or make the keyword due."""
    if row.forced or not plan.vocabulary.may_end[token]:
        return
    so_far = plan.vocabulary.decode(row.generated)
    pieces = ktext.sentences(so_far)
    completed = len(pieces) - (0 if pieces and SENTENCE_END.search(pieces[-1]) else 1)
    if completed >= plan.sentences:
        row.done = True
        return
    if completed > row.completed:
        row.completed = completed
        row.sentence_start = len(row.generated)
        row.sentence_words = 0
        if plan.keyword and completed == plan.sentences - 1 and not ktext.contains_keyword(so_far, plan.keyword):
            row.keyword_due = True


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


def shared_starts(rows: list[Row]) -> tuple[list[int], torch.Tensor]:
    """The first row of each distinct prefix, and for every row the place of its prefix among them."""
    firsts, place, index = [], {}, []
    for i, row in enumerate(rows):
        key = tuple(row.start.prefix)
        if key not in place:
            place[key] = len(firsts)
            firsts.append(i)
        index.append(place[key])
    return firsts, torch.tensor(index)


def restart_inputs(rows: list[Row], window: int, pad_id: int) -> dict[str, torch.Tensor]:
    """Each row's prefix plus what it wrote, left-padded, cut to the last half window once
    one outgrows the window (GPT-2's learned positions stop at the window)."""
    sequences = [row.start.prefix + row.generated for row in rows]
    keep = window if max(len(s) for s in sequences) < window else window // 2
    input_ids = left_padded([s[-keep:] for s in sequences], pad_id)
    attention = left_padded([[1] * len(s[-keep:]) for s in sequences], 0)
    positions = (attention.cumsum(dim=1) - 1).clamp(min=0)
    return {"input_ids": input_ids, "attention_mask": attention, "position_ids": positions}


def left_padded(sequences: list[list[int]], pad: int) -> torch.Tensor:
    longest = max(len(s) for s in sequences)
    batch = torch.full((len(sequences), longest), pad, dtype=torch.long)
    for i, seq in enumerate(sequences):
        if seq:
            batch[i, longest - len(seq):] = torch.tensor(seq)
    return batch
