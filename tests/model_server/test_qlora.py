"""The 4-bit QLoRA path, on the CPU (bitsandbytes runs NF4 there too)."""
import pytest

from model_server import text as ktext
from model_server.host import ModelHost
from model_server.training import TrainSettings, train

pytestmark = pytest.mark.slow


def test_qlora_trains_an_adapter_and_generates_on_a_4bit_base(tiny_base, novel_paths, novel_texts, tmp_path):
    adapter = train(str(tiny_base), [novel_paths[0]], tmp_path / "q1",
                    settings=TrainSettings(steps=4, batch_size=2, max_tokens=64, quantize="4bit"))
    host = ModelHost(str(tiny_base), quantize="4bit")
    assert host.quantize == "4bit"
    assert any("4bit" in type(m).__name__ for m in host.model.modules())
    for written in host.generate(str(adapter), novel_texts[0][:1500], "바다", 2, k=2, seed=4):
        assert ktext.count_sentences(written.text) == 2 and ktext.contains_keyword(written.text, "바다")
