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

import random
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

import torch

from model_server import text as ktext
from model_server.copying import RUN, runs_of, words_of
from model_server.errors import GenerationError
from model_server.evaluate import context_window, passage_logprobs
from model_server.fluency import starts_like_a_sentence
from model_server.josa import keyword_words
from model_server.lexicon import BOUNDARY, Layer, Lexicon, story_layer
from model_server.memory import datastore_of
from model_server.mood import mood_of, mood_scores
from model_server.prompting import build_prompt, notes_that_fit
from model_server.judges.judge import CONTEXT_SENTENCES, Judge, last_sentences
from model_server.retrieval import Bank, Guide
from model_server.sampling import GenerationSettings, Plan, Start, sample_rows
from model_server.vocabulary import FORBIDDEN, Vocabulary
from model_server.voice import Voice, speaks_in, voice_of
from model_server.words import PLAIN_KEYWORD

MAX_SENTENCES = 10
# A sentence ends with a full stop, a question or an exclamation mark (inside a closing quote or
# not); one that trails off ("…") runs on into the next for the site's splitter.
FULL_STOP = re.compile(r"[.!?][\"'”’」』)]*$")
MAX_SHARED_PAIRS = 0.5  # a sentence sharing more of its word pairs with another candidate's repeats it
SAID_MIN_WORDS = 3      # a sentence of this many words that the story's recent text holds is not written again
SAID_CHARS = 2000       # ... its recent text, whose runs of words (``copying.RUN``) the model does not write again
SAID_EDGES = " \"'“”‘’.!?…,"
SEEN_CHARS = 3000       # the story's last pages, whose people and voice the bank's sentences must keep
# A plain sentence: where not even it can follow a sentence as one more (narration that ends in a
# speech line, 그는, "여보게…." takes in what comes after it), none can, and only the last may be it.
PLAIN_SENTENCE = "밤이 왔다."
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
        if not FULL_STOP.search(piece) or DANGLING_TAG.match(piece) or piece.count('"') % 2:
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
            if lexicon is None or not in_lexicon(word, lexicon):
                return False
    return True


@dataclass
class Written:
    """A candidate passage and how the judge saw it."""
    text: str
    score: float
    features: list[float]          # the judge's raw features (judges.judge.FEATURES), kept for story weights
    notes: list[str] = field(default_factory=list)  # names of the story bible's notes the prompt held
    given: list[int | None] = field(default_factory=list)  # the bank's entry each sentence was, if one


@dataclass
class Chain:
    """One candidate being written, a sentence at a time."""
    sentences: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)        # its sentences as the model reads them
    has_keyword: bool = False
    given: list[int | None] = field(default_factory=list)  # the bank's entry each sentence was, if one
    cast: dict[str, str] = field(default_factory=dict)      # the last entry's novel's people, as renamed


@torch.no_grad()
def generate(model, tokenizer, story_text: str, keyword: str | None, sentences: int, k: int,
             seed: int | None = None, settings: GenerationSettings | None = None,
             vocabulary: Vocabulary | None = None, lexicon: Lexicon | None = None,
             control: bool = True, judge: Judge | None = None, copied: set[int] | None = None,
             bank: Bank | None = None, notes: list[tuple[str, str]] = (), mood: str | None = None) -> list[Written]:
    """``k`` different passages continuing ``story_text``, each with ``sentences`` sentences
    and (when given) the ``keyword``, best first; GenerationError when that cannot be done.

    Each candidate is written a sentence at a time: ``settings.pool`` sentences are sampled for
    it, those that keep the rules are scored by the ``judge`` as what follows the story and the
    candidate's sentences so far, and the best that no other candidate took at that place is
    kept. Where the keyword goes is chosen the same way: some of a position's rows must hold it
    (all of them in the last sentence, if it is still missing), each placing it where the model
    first gives it a chance, and the judge keeps the likeliest. ``seed`` makes the result
    reproducible; without one every call samples afresh. With a ``lexicon`` every word written
    is one of its words, of the story's, or a keyword form; with ``copied`` (``copying``) no run
    of four words the model read is written whole. With a ``bank`` (``retrieval``), sentences of
    the novels the model read, edited for the story, are offered beside its own, and with
    ``settings.guides_first`` the judge's best of them is kept wherever one fits, and the model
    samples only for the candidates that too few fit. The story bible's ``notes`` (name, text;
    the most relevant first) that fit ``settings.notes_tokens`` open the prompt, and the names
    of those that name people come first among the names the bank's sentences are given. With a
    ``mood`` (one of ``mood.MOODS``) the control line asks for it, and until a candidate reads
    in it (``mood.mood_of``), the sentences holding one of its words come first among those of
    the same source; candidates that read in it come first."""
    if not 1 <= sentences <= MAX_SENTENCES:
        raise ValueError(f"sentences must be between 1 and {MAX_SENTENCES}, not {sentences}")
    if k < 1:
        raise ValueError("k must be at least 1")
    keyword = unicodedata.normalize("NFC", keyword.strip()) if keyword else None
    settings = settings or GenerationSettings()
    judge = judge or Judge.untrained()
    vocabulary = vocabulary or Vocabulary(tokenizer)
    if lexicon is not None:  # the story's own words (its names) and the keyword's forms may be written too
        lexicon = lexicon.with_layer(story_layer(story_text))
        if keyword:
            lexicon = lexicon.with_layer(Layer.of_forms(keyword_words(keyword)))
    window = context_window(model)
    budget = window - settings.max_sentence_tokens
    notes = notes_that_fit(tokenizer, notes, settings.notes_tokens, budget)
    if lexicon is not None and notes:  # a note's name may be written before the story has used it
        lexicon = lexicon.with_layer(Layer.of_forms(frozenset().union(
            *(keyword_words(name) for name, _ in notes if PLAIN_KEYWORD.fullmatch(name) and " " not in name))))
    prompt_ids = build_prompt(tokenizer, story_text, keyword, sentences, budget, control, notes, mood)
    # the story's own text as the model's memory: its names come back where they fit
    story = datastore_of(model, tokenizer, [story_text]) if settings.memory.weight > 0 and story_text else None
    # ... but not its phrases: read blind, rows that wrote four of its recent words in a row again
    # stitched them into nonsense (남의 집이라 고추장만 먹이며는 되는구나 하고 패는 것이다)
    plan = Plan(keyword, 1, vocabulary, lexicon, settings, window, [(story, settings.memory)] if story else [],
                (copied or set()) | runs_of([story_text[-SAID_CHARS:]]))
    seed = seed if seed is not None else random.SystemRandom().getrandbits(62)
    generator = torch.Generator().manual_seed(seed)
    rng = random.Random(seed)  # the bank's draws
    said = normalize_space(story_text[-SAID_CHARS:]) if story_text else ""
    told = last_sentences(story_text)  # what the judge reads before each option, with the candidate's sentences
    last_pages = story_text[-SEEN_CHARS:]
    seen = ktext.sentences(last_pages) if bank is not None else []
    recent = seen[-3:]
    names = bank.names_in(last_pages) if bank is not None and story_text else []
    if bank is not None:
        names = people_first(notes, names)
    met = [name for name, _ in notes] + ([keyword] if keyword else [])
    voice = voice_of(seen, met) if bank is not None else None
    if lexicon is not None and names:  # the bank's sentences give the story's people new particles
        lexicon = lexicon.with_layer(Layer.of_forms(frozenset().union(*map(keyword_words, names))))

    @cache  # asked twice of the bank's sentences at a place: whether to sample, then how to rank
    def joins(written: tuple[str, ...], text: str) -> bool:
        """Whether the site still counts ``text`` as one more sentence after ``written`` (a speech
        line and its tag, written after another speech line, would merge)."""
        return joined([*written, text], None, lexicon) is not None

    def fits(written: tuple[str, ...], text: str, remaining: int) -> bool:
        """Whether ``text`` joins ``written`` and, unless it is the last of ``remaining``, leaves
        room for one more: read in a benchmark, a candidate that took a sentence no other could
        follow failed its request."""
        return joins(written, text) and (remaining == 1 or joins((*written, text), PLAIN_SENTENCE))

    chains = [Chain() for _ in range(k)]
    for position in range(sentences):
        remaining = sentences - position
        for attempt in range(settings.max_rounds):
            waiting = [chain for chain in chains if len(chain.sentences) == position]
            if not waiting:
                break
            options: dict[int, list[str]] = {id(chain): [] for chain in waiting}
            sources: dict[tuple[int, str], Guide] = {}
            moods_due = {id(chain): mood_due(chain, mood) for chain in waiting}  # read once per place (Kiwi)
            if bank is not None:
                for chain in waiting:
                    for guide in guides_for(bank, chain, recent, names, keyword, remaining, settings, lexicon,
                                            said, rng, voice, moods_due[id(chain)], seen):
                        if guide.text not in options[id(chain)]:
                            options[id(chain)].append(guide.text)
                            sources[(id(chain), guide.text)] = guide
            # where the bank's sentences come first, the model writes only for a candidate that fewer of
            # them fit than there are candidates waiting (the others may take them all), or that a first
            # try left waiting: its sentences would not be kept elsewhere, and sampling is most of a
            # request's time
            writing = [chain for chain in waiting
                       if not (settings.guides_first and attempt == 0 and len(waiting) <= sum(
                           fits(tuple(chain.sentences), t, remaining) for t in options[id(chain)]))]
            # each row's prefix leaves room in the window for a sentence, so it is read once
            starts = [Start((prompt_ids + chain.ids)[-(window - settings.max_sentence_tokens - 8):], chain.ids,
                            bool(keyword) and not chain.has_keyword
                            and (remaining == 1 or row * remaining < settings.pool),
                            words_of(" ".join(chain.sentences))[-(RUN - 1):])
                      for chain in writing for row in range(settings.pool)]
            found = sample_sentences(model, plan, starts, generator, lexicon, said) if starts else []
            for i, chain in enumerate(writing):
                own = [t for t in found[i * settings.pool: (i + 1) * settings.pool] if t is not None]
                options[id(chain)] += [t for t in own if t not in options[id(chain)]]
            scores = score_options(model, tokenizer, judge, prompt_ids, told, waiting, options)
            for chain in waiting:
                # the best sentence that no other candidate took here, nor nearly repeats
                taken = [c.sentences[position] for c in chains if len(c.sentences) > position]
                ranked = [t for _, t in sorted(zip(scores[id(chain)], options[id(chain)]), key=lambda x: -x[0])
                          if t not in taken]
                # ... and that the site still counts as one more sentence once it joins the others, with room for more
                ranked = [t for t in ranked if fits(tuple(chain.sentences), t, remaining)]
                wanted = moods_due[id(chain)]

                def rank(text: str, chain: Chain = chain) -> tuple[bool, ...]:  # False first; stable: by score within
                    guide = sources.get((id(chain), text))
                    return (*followed(bank, chain, guide, keyword, remaining, settings),
                            settings.guides_first and guide is None,
                            wanted is not None and not mood_scores(text)[wanted])

                ranked.sort(key=rank)
                if not ranked:
                    continue
                best = next((t for t in ranked if not repeats(t, taken)), ranked[0])
                chain.sentences.append(best)
                chain.ids = tokenizer(join_sentences(chain.sentences, for_model=True), add_special_tokens=False)["input_ids"]
                chain.has_keyword = chain.has_keyword or (bool(keyword) and ktext.contains_keyword(best, keyword))
                guide = sources.get((id(chain), best))
                chain.given.append(guide.entry if guide else None)
                chain.cast = dict(guide.cast) if guide else {}
        missing = sum(len(chain.sentences) == position for chain in chains)
        if missing:
            raise GenerationError(
                f"could not write {k} passage(s) of {sentences} sentence(s)"
                + (f" containing {keyword!r}" if keyword else "") + f": sentence {position + 1} of "
                + f"{missing} found no fitting row in {settings.max_rounds} tries")

    texts = [joined(chain.sentences, keyword, lexicon) for chain in chains]
    if None in texts:
        raise GenerationError(f"a passage of {sentences} sentence(s) did not keep the count or the keyword once joined")
    for entry in (e for chain in chains for e in chain.given if e is not None):
        bank.give(entry)
    lm = passage_logprobs(model, tokenizer, prompt_ids, texts)
    features = judge.features(story_text, texts, lm)
    scores = judge.combine(features).tolist()
    order = sorted(range(k), key=lambda i: (mood is not None and mood_of(texts[i]) != mood, -scores[i]))
    used = [name for name, _ in notes]
    return [Written(texts[i], scores[i], features[i].tolist(), used, chains[i].given) for i in order]


def followed(bank: Bank | None, chain: Chain, guide: Guide | None, keyword: str | None, remaining: int,
             settings: GenerationSettings) -> tuple[bool, bool]:
    """How ``guide`` (a sentence of the bank; None: the model's) ranks for ``chain``'s next place
    when candidates follow their novels, as a sort key (False first): the sentence that followed
    the chain's last one, then those from which the keyword comes within the passage's
    ``remaining`` places, if it is still due. Read blind, passages of sentences from different
    places made no sense as a whole, and a keyword sentence written apart broke a passage that
    had."""
    if not settings.follow or bank is None:
        return False, False
    due = bool(keyword) and not chain.has_keyword
    leads = guide is not None and (not due or bank.reaches(guide.entry, keyword, remaining))
    last = chain.given[-1] if chain.given else None
    goes_on = leads and last is not None and int(bank.after[last]) == guide.entry
    return not goes_on, not leads


def mood_due(chain: Chain, mood: str | None) -> str | None:
    """``mood``, while ``chain``'s passage does not read in it yet."""
    return mood if mood is not None and mood_of(join_sentences(chain.sentences)) != mood else None


def people_first(notes: list[tuple[str, str]], names: list[str], limit: int = 6) -> list[str]:
    """``names`` with the notes' names that Kiwi reads as proper nouns (people, mostly) before
    them: the notes are the story's own word on who is in it."""
    people = [name for name, _ in notes if ktext.is_proper_noun(name)]
    return list(dict.fromkeys(people + names))[:limit]


def guides_for(bank: Bank, chain: Chain, recent: list[str], names: list[str], keyword: str | None,
               remaining: int, settings: GenerationSettings, lexicon: Lexicon | None, said: str,
               rng: random.Random, voice: Voice, mood: str | None = None, story: list[str] = ()) -> list[Guide]:
    """The bank's sentences for ``chain``'s next place that keep the rules and speak in the
    story's ``voice``: some without the keyword (unless the place must hold it), some with it
    (while the passage lacks it: where the novels have none, before a verb it takes in the
    ``story``'s sentences); those holding ``mood``'s words rank higher."""
    due = bool(keyword) and not chain.has_keyword
    moments = bank.moments(recent + chain.sentences)  # read once for the place, with or without the keyword
    found = []
    for with_keyword in ([False] if not due else [True] if remaining == 1 else [False, True]):

        def keeps(text: str, with_keyword: bool = with_keyword) -> bool:
            return check_candidate(text, keyword if with_keyword else None, 1, lexicon) \
                and in_lexicon(text, lexicon) and not said_before(text, said) and speaks_in(text, voice)

        found += bank.guides(recent + chain.sentences, names, keyword, with_keyword, settings.guides,
                             written=chain.sentences, last=chain.given[-1] if chain.given else None, rng=rng,
                             skip=[e for e in chain.given if e is not None], moments=moments, mood=mood,
                             cast=chain.cast, copied=settings.copied_words,
                             ahead=remaining - 1 if settings.follow else 0, keeps=keeps, story=story)
    return found


def in_lexicon(text: str, lexicon: Lexicon | None) -> bool:
    """Whether every word of ``text`` is one ``lexicon`` allows (any, without one): the bank's
    sentences keep the rule the model's rows are sampled under."""
    return lexicon is None or all(lexicon.allows(unicodedata.normalize("NFD", word), finished=True)
                                  for word in BOUNDARY.split(unicodedata.normalize("NFC", text)) if word)


def score_options(model, tokenizer, judge: Judge, prompt_ids: list[int], told: tuple[str, ...], chains: list[Chain],
                  options: dict[int, list[str]]) -> dict[int, list[float]]:
    """The judge's score of each chain's options as the passage that follows the story's last
    sentences (``told``) and the chain's own: read blind, sentences that each suited the story
    but not the one before them made no sense as a whole."""
    found = {id(chain): [] for chain in chains}
    for chain in (chain for chain in chains if options[id(chain)]):
        texts = options[id(chain)]
        context = " ".join([*told, *chain.sentences][-CONTEXT_SENTENCES:])
        lm = passage_logprobs(model, tokenizer, prompt_ids + chain.ids, texts)
        found[id(chain)] = judge.score(context, texts, lm)
    return found


def sample_sentences(model, plan: Plan, starts: list[Start], generator: torch.Generator,
                     lexicon: Lexicon | None, said: str) -> list[str | None]:
    """One sentence for each of ``starts`` (None where the row gave up or broke a rule, or
    says again what the story just ``said``: see ``said_before``)."""
    found: list[str | None] = [None] * len(starts)
    where = {id(start): i for i, start in enumerate(starts)}
    pool = plan.settings.pool
    for _, finished in sample_rows(model, plan, starts, generator):
        for row, text in finished:
            i = where[id(row.start)]
            due = plan.keyword if row.start.keyword_due else None
            if check_candidate(text, due, 1, lexicon) and not said_before(text, said):
                found[i] = text
        # the rows still writing are the long ones, which read worst: stop once every
        # candidate has enough to choose from
        if all(sum(text is not None for text in found[c: c + pool]) >= plan.settings.enough
               for c in range(0, len(found), pool)):
            break
    return found


def word_pairs(text: str) -> set[tuple[str, str]]:
    words = text.split()
    return set(zip(words, words[1:]))


def repeats(text: str, others: list[str]) -> bool:
    """Whether ``text`` shares more than half its word pairs with one of ``others``: the
    crowd should choose between different passages."""
    pairs = word_pairs(text)
    return any(len(pairs & word_pairs(other)) > MAX_SHARED_PAIRS * max(1, len(pairs)) for other in others)


def normalize_space(text: str) -> str:
    return " ".join(text.split())


def said_before(sentence: str, said: str) -> bool:
    """Whether ``sentence`` is a sentence, or the end of one, that the story's recent text
    ``said`` (spaces normalised) already holds: the story's memory pulls a row back to what
    the story just wrote ("...저녁을 마친 뒤에 레스토랑을 나와 한길로 걸었다." then
    "레스토랑을 나와 한길로 걸었다."). A short one (그는 웃었다.) may come again."""
    words = normalize_space(sentence).strip(SAID_EDGES)
    return len(words.split()) >= SAID_MIN_WORDS and words in said


def joined(sentences: list[str], keyword: str | None, lexicon: Lexicon | None) -> str | None:
    """The sentences as one passage that the site counts as that many, or None: run on with
    spaces, else (where the splitter would read two as one) a line each."""
    for text in (join_sentences(sentences), "\n".join(sentences)):
        if check_candidate(text, keyword, len(sentences), lexicon):
            return text
    return None


def join_sentences(sentences: list[str], for_model: bool = False) -> str:
    """A candidate's sentences as one passage: speech on lines of its own, narration run on
    with spaces; the model reads every sentence on its own line, as it read its prompt."""
    if for_model:
        return "".join(s + "\n" for s in sentences)
    text = ""
    for i, sentence in enumerate(sentences):
        if i:
            text += "\n" if sentence.startswith('"') or sentences[i - 1].endswith('"') else " "
        text += sentence
    return text
