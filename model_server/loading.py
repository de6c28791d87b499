"""Loading a base (plain, 8-bit or 4-bit NF4) and building its LoRA settings.

Training and inference share this module and nothing else. The builders refuse
contradictory options with a message that says what to change (as trl's
``get_quantization_config`` and peft's sft examples do).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

from model_server.errors import ModelServerError
from model_server.paths import downloads_allowed

QUANTIZE_CHOICES = ("none", "4bit", "8bit")

# Which linear layers LoRA adapts, per architecture family: attention and MLP projections.
LORA_TARGETS = {
    "gpt2": ["c_attn", "c_proj", "c_fc"],
    "gpt_neox": ["query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"],       # Polyglot-ko
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}


class BaseNotFound(ModelServerError, ValueError):
    """The base named by MODEL_NAME / --base is neither a local model folder nor a cached hub id."""


def default_quantize() -> str:
    """QUANTIZE from the environment; otherwise 4-bit on CUDA (QLoRA) and none on the CPU."""
    chosen = os.environ.get("QUANTIZE")
    if chosen:
        return chosen
    return "4bit" if torch.cuda.is_available() else "none"


def build_bnb_config(load_in_4bit: bool = False, load_in_8bit: bool = False,
                     compute_dtype: torch.dtype = torch.bfloat16) -> BitsAndBytesConfig | None:
    """NF4 with double quantisation and bf16 compute (the QLoRA recipe), or 8-bit, or None."""
    if load_in_4bit and load_in_8bit:
        raise ValueError("choose one quantisation: 4-bit and 8-bit were both asked for")
    if load_in_4bit:
        return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                  bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute_dtype,
                                  bnb_4bit_quant_storage=compute_dtype)
    if load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True)
    return None


def quantization_from_setting(quantize: str) -> BitsAndBytesConfig | None:
    if quantize not in QUANTIZE_CHOICES:
        raise ValueError(f"QUANTIZE must be one of {', '.join(QUANTIZE_CHOICES)}, not {quantize!r}")
    return build_bnb_config(load_in_4bit=quantize == "4bit", load_in_8bit=quantize == "8bit")


def build_lora_config(model_type: str, r: int = 16, alpha: int = 32, dropout: float = 0.05,
                      target_modules: list[str] | None = None) -> LoraConfig:
    if r < 1:
        raise ValueError(f"LoRA rank must be at least 1, not {r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"LoRA dropout must be in [0, 1), not {dropout}")
    targets = target_modules or LORA_TARGETS.get(model_type)
    if not targets:
        raise ValueError(f"no LoRA target modules known for model type {model_type!r}; "
                         f"known: {', '.join(sorted(LORA_TARGETS))}")
    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets,
                      bias="none", task_type="CAUSAL_LM",
                      fan_in_fan_out=model_type == "gpt2")  # GPT-2 stores Conv1D weights transposed


@dataclass
class LoadedBase:
    model: torch.nn.Module
    tokenizer: object
    name: str
    quantize: str


def load_base(name: str, quantize: str | None = None, for_training: bool = False) -> LoadedBase:
    """Load a base and its tokenizer from a local folder or the local hub cache."""
    quantize = quantize or default_quantize()
    bnb = quantization_from_setting(quantize)
    local_only = not Path(name).expanduser().is_dir() and not downloads_allowed()
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=local_only)
        kwargs = {"local_files_only": local_only}
        if bnb is not None:
            kwargs["quantization_config"] = bnb
            kwargs["device_map"] = {"": 0} if torch.cuda.is_available() else "cpu"
        else:
            kwargs["dtype"] = torch.float32 if not torch.cuda.is_available() else torch.bfloat16
        model = AutoModelForCausalLM.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as error:
        if Path(name).expanduser().exists() or "quantis" in str(error):
            raise
        raise BaseNotFound(f"unknown base {name!r}: not a model folder here and not in the local "
                           f"Hugging Face cache (nothing is downloaded unless MODEL_DOWNLOAD=1)") from error
    if bnb is None and torch.cuda.is_available():
        model = model.to("cuda")
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if bnb is not None and for_training:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=torch.cuda.is_available())
    model.train(for_training)
    return LoadedBase(model=model, tokenizer=tokenizer, name=name, quantize=quantize)
