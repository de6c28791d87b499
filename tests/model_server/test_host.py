import pytest
import torch

from model_server.host import ModelHost
from model_server.training import TrainSettings, train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def three_adapters(tiny_base, novel_paths, tmp_path_factory):
    root = tmp_path_factory.mktemp("stories")
    settings = TrainSettings(steps=3, batch_size=2, max_tokens=64)
    return [train(str(tiny_base), [path], root / f"story{i}", settings=settings)
            for i, path in enumerate(novel_paths)]


def lora_param(model, adapter_name):
    for name, param in model.named_parameters():
        if "lora_A" in name and adapter_name in name:
            return param
    raise AssertionError(f"no LoRA weights for {adapter_name}")


def test_switching_stories_keeps_one_base_and_loads_each_adapter_once(tiny_base, three_adapters, monkeypatch):
    import model_server.host as host_module

    loads = []
    real_load_base = host_module.load_base
    monkeypatch.setattr(host_module, "load_base", lambda *a, **kw: loads.append(1) or real_load_base(*a, **kw))
    host = ModelHost(str(tiny_base), max_adapters=4)
    base_weight = host.model.get_input_embeddings().weight
    story = "바다는 잔잔하였다. 배가 떠났다."
    for adapter in [three_adapters[0], three_adapters[1], three_adapters[0], None, three_adapters[1]]:
        host.generate(adapter, story, None, 1, k=1, seed=1)
    assert loads == [1]
    assert host.adapter_loads == 2
    assert host.model.get_input_embeddings().weight is base_weight


def test_each_story_gets_its_own_adapter_weights(tiny_base, three_adapters):
    host = ModelHost(str(tiny_base), max_adapters=4)
    model = host.activate(three_adapters[0])
    first = lora_param(model, host.adapter_name(three_adapters[0])).detach().clone()
    host.activate(three_adapters[1])
    assert model.active_adapter == host.adapter_name(three_adapters[1])
    second = lora_param(model, host.adapter_name(three_adapters[1]))
    assert not torch.equal(first, second)


def test_least_recently_used_adapter_is_evicted(tiny_base, three_adapters):
    host = ModelHost(str(tiny_base), max_adapters=2)
    for adapter in three_adapters:
        host.activate(adapter)
    kept = list(host.adapters)
    assert kept == [str(a.resolve()) for a in three_adapters[1:]]
    assert host.adapter_name(three_adapters[0]) not in host.activate(three_adapters[2]).peft_config
    host.activate(three_adapters[0])  # comes back by loading again
    assert host.adapter_loads == 4


def test_missing_adapter_folder_is_a_clear_error(tiny_base, tmp_path):
    host = ModelHost(str(tiny_base))
    with pytest.raises(FileNotFoundError, match="adapter_config.json"):
        host.activate(tmp_path)
