"""Tiny models built inside the tests (nothing is downloaded): a starter base pretrained for a
few steps on corpus text, and random GPT-2 / GPT-NeoX / Llama bases sharing its tokenizer."""
from pathlib import Path

import pytest

from model_server.data import read_texts
from model_server.starter import StarterConfig, pretrain

TRAIN_NOVELS = ["46_Sunrise.txt", "36_Presence.txt", "17_Good_Sentences.txt"]


@pytest.fixture(scope="session")
def novel_paths(novels_dir) -> list[Path]:
    return [novels_dir / name for name in TRAIN_NOVELS]


@pytest.fixture(scope="session")
def novel_texts(novel_paths) -> list[str]:
    return [t.text for t in read_texts(novel_paths)]


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, novel_paths) -> Path:
    """A starter base in seconds: it writes Korean-looking text, which is all these tests need."""
    out = tmp_path_factory.mktemp("bases") / "starter"
    return pretrain(novel_paths, out, steps=150, seed=0, config=StarterConfig.tiny())


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
