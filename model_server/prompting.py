"""What a model reads before it writes: the end of the story, and for a story adapter the
control line that asks for the keyword and the length (generation, the judges' training and
preference training all build it here)."""
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
