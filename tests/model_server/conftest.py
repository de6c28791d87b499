"""Corpus texts and tiny random GPT-2 / GPT-NeoX / Llama bases sharing the tiny starter's tokenizer
(the starter itself, ``tiny_base``, is built once for the whole suite in tests/conftest.py)."""
from pathlib import Path

import pytest

from model_server.data import read_texts


@pytest.fixture(scope="session")
def novel_paths(tiny_base_novels) -> list[Path]:
    return tiny_base_novels


@pytest.fixture(scope="session")
def novel_texts(novel_paths) -> list[str]:
    return [t.text for t in read_texts(novel_paths)]


def build_random_base(kind: str, tokenizer, out: Path) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel, GPTNeoXConfig, GPTNeoXForCausalLM
    from transformers import LlamaConfig, LlamaForCausalLM

    common = dict(vocab_size=len(tokenizer), bos_token_id=tokenizer.eos_token_id,
                  eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    if kind == "gpt2":
        model = GPT2LMHeadModel(GPT2Config(n_positions=128, n_embd=32, n_layer=2, n_head=2, **common))
    elif kind == "gpt_neox":
        model = GPTNeoXForCausalLM(GPTNeoXConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                                 intermediate_size=64, max_position_embeddings=128, **common))
    elif kind == "llama":
        model = LlamaForCausalLM(LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                             num_key_value_heads=2, intermediate_size=64,
                                             max_position_embeddings=128, **common))
    else:
        raise ValueError(kind)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
