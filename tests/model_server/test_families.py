import json

import pytest
import torch
from transformers import AutoTokenizer

from model_server import text as ktext
from model_server.generation import GenerationSettings
from model_server.host import ModelHost
from model_server.judges.judge import Judge
from model_server.loading import LORA_TARGETS, build_bnb_config, build_lora_config, quantization_from_setting
from model_server.memory import MemorySettings
from model_server.training import TrainSettings, train

from .conftest import build_random_base

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kind", ["gpt2", "gpt_neox", "llama"])
def test_lora_trains_and_serves_on_each_architecture_family(kind, tiny_base, novel_paths, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    base = build_random_base(kind, tokenizer, tmp_path / kind)
    adapter = train(str(base), [novel_paths[1]], tmp_path / "v1",
                    settings=TrainSettings(steps=3, batch_size=2, max_tokens=64))
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert set(config["target_modules"]) == set(LORA_TARGETS[kind])
    host = ModelHost(str(base))
    model = host.activate(adapter)
    ids = tokenizer("바다는 잔잔하였다.", return_tensors="pt")["input_ids"].to(model.device)
    with torch.no_grad():
        with_adapter = model(input_ids=ids).logits
        with model.disable_adapter():
            without = model(input_ids=ids).logits
    assert not torch.allclose(with_adapter, without)  # the trained adapter changes the output


def test_conflicting_quantisation_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="4-bit and 8-bit"):
        build_bnb_config(load_in_4bit=True, load_in_8bit=True)
    with pytest.raises(ValueError, match="QUANTIZE must be one of"):
        quantization_from_setting("3bit")
    nf4 = build_bnb_config(load_in_4bit=True)
    assert nf4.bnb_4bit_quant_type == "nf4" and nf4.bnb_4bit_use_double_quant
    assert nf4.bnb_4bit_compute_dtype == torch.bfloat16
    assert quantization_from_setting("none") is None


def test_lora_builder_refuses_unknown_families_and_bad_ranks():
    with pytest.raises(ValueError, match="no LoRA target modules"):
        build_lora_config("mamba")
    with pytest.raises(ValueError, match="rank"):
        build_lora_config("gpt2", r=0)
    assert build_lora_config("gpt2").fan_in_fan_out


def test_a_base_named_by_model_name_writes_through_the_same_judge_and_memory(tiny_base, tmp_path):
    """A stronger base given by MODEL_NAME (here a random Llama, with no lexicon or copied-run
    file of its own) writes sentence by sentence under the same rules, and the story's memory
    lends it the story's own words."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    host = ModelHost(str(build_random_base("llama", tokenizer, tmp_path / "llama")))
    story = ("순이는 정거장 대합실에서 기차를 기다렸다. 오빠의 편지가 손에 쥐어져 있었다. "
             "순이는 편지를 다시 펴 보았다. 정거장 시계가 열 시를 가리켰다. ") * 3

    def written(settings: GenerationSettings) -> list[str]:
        return [w.text for w in host.generate(None, story, "기차", 2, 3, seed=5, judge=Judge.untrained(),
                                              settings=settings)]

    def story_words(candidates: list[str]) -> float:
        words = [w for c in candidates for w in c.split()]
        return sum(w.strip('.!?"') in story for w in words) / len(words)

    with_memory = written(GenerationSettings())
    without = written(GenerationSettings(memory=MemorySettings(weight=0.0)))
    for candidate in with_memory + without:
        assert ktext.count_sentences(candidate) == 2
        assert ktext.contains_keyword(candidate, "기차")
    assert story_words(with_memory) > story_words(without) + 0.2
