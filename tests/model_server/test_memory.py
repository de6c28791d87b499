"""The story's memory: the nearest hidden states' next tokens, mixed into the model's."""
import math

import pytest
import torch

from model_server.loading import load_base
from model_server.memory import Datastore, MemorySettings, datastore_of, mix


def test_a_datastore_answers_with_the_token_that_followed_the_nearest_state():
    keys = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    store = Datastore(keys, torch.tensor([3, 4, 5]), float(keys.pow(2).sum(1).mean()))
    probs = store.distribution(torch.tensor([[9.0, 1.0]]), vocab_size=6, k=3, temperature=0.01)
    assert probs.argmax().item() == 4 and probs.sum().item() == pytest.approx(1.0)


def test_mixing_keeps_a_distribution_and_nothing_changes_without_memory():
    logits = torch.randn(2, 6)
    keys = torch.randn(4, 3)
    store = Datastore(keys, torch.tensor([1, 1, 2, 3]), float(keys.pow(2).sum(1).mean()))
    mixed = mix(logits, torch.randn(2, 3), [(store, MemorySettings(weight=0.3, k=4))])
    assert mixed.exp().sum(-1).tolist() == pytest.approx([1.0, 1.0])
    assert torch.allclose(mix(logits, torch.randn(2, 3), []), torch.log_softmax(logits, -1))


@pytest.mark.slow
def test_the_story_remembered_makes_its_own_name_likelier_where_it_was_said(tiny_base):
    loaded = load_base(str(tiny_base))
    model, tokenizer = loaded.model.eval(), loaded.tokenizer
    story = "점복이는 바다를 보았다. 점복이는 웃었다. 그날 밤 점복이는 배를 탔다. " * 3
    store = datastore_of(model, tokenizer, [story])
    ids = [tokenizer.eos_token_id] + tokenizer(story + "그날 밤", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids[-100:]]), output_hidden_states=True)
    logits, hidden = out.logits[0, -1:], out.hidden_states[-1][0, -1:]
    name = tokenizer(" 점복이는", add_special_tokens=False)["input_ids"][0]
    alone = torch.log_softmax(logits.float(), -1)[0, name].item()
    remembered = mix(logits, hidden, [(store, MemorySettings(weight=0.2))])[0, name].item()
    assert remembered > alone + math.log(2)
