import json

import pytest
import torch
from transformers import AutoTokenizer

from model_server.host import ModelHost
from model_server.loading import LORA_TARGETS, build_bnb_config, build_lora_config, quantization_from_setting
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
