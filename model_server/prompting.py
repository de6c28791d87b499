"""What a model reads before it writes: the story bible's notes that concern the recent story,
the end of the story, and for a story adapter the control line that asks for the keyword and
the length (generation, the judges' training and preference training all build it here)."""
from __future__ import annotations

from model_server.examples import control_prompt, sentence_spans
from model_server.vocabulary import SENTENCE_END


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


def note_line(name: str, text: str) -> str:
    """A note as the model reads it: "순이: 정거장 앞 국밥집 딸." on one line."""
    return f"{name}: {' '.join(text.split())}"


def notes_that_fit(tokenizer, notes, max_tokens: int, budget: int) -> list[tuple[str, str]]:
    """The notes, in the order given (the most relevant first), that fit ``max_tokens`` together,
    and never more than half the prompt's ``budget`` (the story itself matters most): each is
    kept if it still fits, so when they do not all fit, the last are the ones dropped."""
    kept, used, room = [], 0, min(max_tokens, budget // 2)
    for name, text in notes:
        cost = len(tokenizer(note_line(name, text) + "\n", add_special_tokens=False)["input_ids"])
        if used + cost <= room:
            kept.append((name, text))
            used += cost
    return kept


def build_prompt(tokenizer, story_text: str, keyword: str | None, sentences: int, budget: int,
                 control: bool = True, notes=(), mood: str | None = None) -> list[int]:
    """The story bible's ``notes`` (name, text; those ``notes_that_fit`` kept), the story's tail
    in the rest of the ``budget`` and, for a model that learned it (a story adapter), the control
    line asking for the keyword, length and mood; a bare base never saw that line, so it just
    reads on after a paragraph break."""
    heading = "".join(note_line(name, text) + "\n" for name, text in notes) + ("\n" if notes else "")
    render = ((lambda tail: control_prompt(heading + tail, keyword, sentences, mood)) if control
              else (lambda tail: f"{heading}{tail}\n\n"))
    line_cost = len(tokenizer(render(""), add_special_tokens=False)["input_ids"])
    tail = story_tail(tokenizer, story_text, max(budget - line_cost - 3, 0))
    ids = tokenizer(render(tail), add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    return ([bos] if bos is not None else []) + ids[-budget:]
