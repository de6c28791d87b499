import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from model_server.evaluate import bits_per_char, token_logprobs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_and_tokenizer(tiny_base):
    return AutoModelForCausalLM.from_pretrained(tiny_base), AutoTokenizer.from_pretrained(tiny_base)


def direct_bpc(model, tokenizer, text):
    """Every token scored with all the context before it, for a text shorter than the window."""
    ids = [tokenizer.eos_token_id] + tokenizer(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0, :-1]
    nll = torch.nn.functional.cross_entropy(logits, torch.tensor(ids[1:]), reduction="sum").item()
    return nll / math.log(2) / len(text)


def test_short_text_bpc_equals_scoring_every_token_once(model_and_tokenizer, novel_texts):
    model, tokenizer = model_and_tokenizer
    text = novel_texts[1][:60]
    assert bits_per_char(model, tokenizer, [text]) == pytest.approx(direct_bpc(model, tokenizer, text), rel=1e-4)


def test_sliding_window_scores_long_text_close_to_full_window(model_and_tokenizer, novel_texts):
    model, tokenizer = model_and_tokenizer
    text = novel_texts[1][:3000]
    half = bits_per_char(model, tokenizer, [text])
    full = bits_per_char(model, tokenizer, [text], stride=model.config.n_positions)
    assert 0 < half < 12 and half <= full * 1.02  # more context per token never hurts much


def test_stride_below_half_the_window_is_refused(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    with pytest.raises(ValueError, match="stride"):
        bits_per_char(model, tokenizer, ["가나다"], stride=model.config.n_positions // 2 - 1)


def test_token_logprobs_score_each_token_once_in_order(model_and_tokenizer, novel_texts):
    model, tokenizer = model_and_tokenizer
    short = novel_texts[1][:60]
    ids = [tokenizer.eos_token_id] + tokenizer(short, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0, :-1]
    direct = torch.log_softmax(logits.float(), -1)[torch.arange(len(ids) - 1), torch.tensor(ids[1:])]
    assert torch.allclose(token_logprobs(model, tokenizer, short), direct, atol=1e-4)

    long = novel_texts[1][:3000]  # many windows: still one figure per token, and they sum to bpc
    logprobs = token_logprobs(model, tokenizer, long)
    assert len(logprobs) == len(tokenizer(long, add_special_tokens=False)["input_ids"])
    assert (logprobs <= 0).all()
    bpc = -logprobs.sum().item() / math.log(2) / len(long)
    assert bpc == pytest.approx(bits_per_char(model, tokenizer, [long]), rel=1e-6)
